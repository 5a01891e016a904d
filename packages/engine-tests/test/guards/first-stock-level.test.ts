import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GUARDED_STORAGES, openShop, type Shop } from '../support/index.js'

/**
 * The first stock of a (variant, location) makes its level. Found by the simulation on PostgreSQL
 * (seed 43 of 100): two first adjustments at once both found no level, both inserted, and the
 * second failed with the unique constraint's STORAGE error. Each must count, once.
 */
describe.each(GUARDED_STORAGES)('the first stock of a level, given at once by several callers, on %s', (storage) => {
  let shop: Shop
  beforeAll(async () => {
    shop = await openShop({ storage, ...(storage === 'postgres' ? { postgres: (url: string) => ({ connectionString: url, pool: { max: 8 } }) } : {}) })
  })
  afterAll(async () => {
    await shop?.close()
  })

  it('counts every adjustment once, and none fails', async () => {
    for (let round = 0; round < 5; round++) {
      const location = await shop.commerce.inventory.createLocation({ name: `Depot ${round}`, code: `first-level-${round}` })
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          i % 2 === 0
            ? shop.commerce.inventory.adjust({ variantId: shop.variantId, locationId: location.id, delta: 1 })
            : shop.commerce.inventory.adjust({ variantId: shop.variantId, locationId: location.id, delta: 2 }),
        ),
      )
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([])
      const level = (await shop.commerce.inventory.levels(shop.variantId)).find((l) => l.locationId === location.id)!
      expect(level.onHand).toBe(4 * 1 + 4 * 2)
    }
  })
})
