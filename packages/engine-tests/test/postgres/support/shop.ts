// Moved to test/support (one support module for every engine test); kept as a re-export for
// the files not yet moved over. Import from '../support/index.js' instead.
import type { Commerce } from '@cartwright/core'
import { seedShop } from '../../support/index.js'

export { address, mapLimit, readyCart, seededRandom, shopProviders, shuffled, sleep } from '../../support/index.js'

/** The shop fixture's seed: `onHand` units of the Trail Runner 42 blue at the main warehouse. */
export async function seedVariant(commerce: Commerce, onHand: number): Promise<{ variantId: string; locationId: string }> {
  const { variantId, warehouse } = await seedShop(commerce, { stock: onHand })
  return { variantId, locationId: warehouse.id }
}
