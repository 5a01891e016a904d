export { promotions } from './promotions.js'
