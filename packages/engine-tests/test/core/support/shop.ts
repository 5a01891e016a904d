// Moved to test/support (one support module for every engine test); kept as a re-export for
// the files not yet moved over. Import from '../support/index.js' instead.
export { address, key, openShop, readyCart, shopPerTest, tempDir, type Shop } from '../../support/index.js'
