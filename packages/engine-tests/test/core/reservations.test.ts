import { describe, expect, it } from 'vitest'
import { failure, key, placed as orderOf, readyCart, shopPerTest } from '../support/index.js'

const open = shopPerTest()

describe('inventory.reservations', () => {
  it('shows where a checkout set units aside and what became of them', async () => {
    const s = await open()
    const placed = async (quantity: number) => {
      const cart = await readyCart(s.commerce, s.variantId, quantity)
      return orderOf(await s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    }
    const kept = await placed(2)
    const canceled = await placed(1)
    const shipped = await placed(3)
    await s.commerce.orders.cancel(canceled.id)
    await s.commerce.orders.fulfill(shipped.id)

    const byOrder = await s.commerce.inventory.reservations({ orderId: kept.id })
    expect(byOrder).toEqual([
      expect.objectContaining({ variantId: s.variantId, locationId: s.warehouse.id, quantity: 2, cartId: kept.cartId, orderId: kept.id, status: 'held' }),
    ])
    expect(await s.commerce.inventory.reservations({ cartId: canceled.cartId })).toEqual([expect.objectContaining({ quantity: 1, status: 'released' })])
    const all = await s.commerce.inventory.reservations({ variantId: s.variantId })
    expect(all.map((r) => [r.orderId, r.status])).toEqual([
      [kept.id, 'held'],
      [canceled.id, 'released'],
      [shipped.id, 'committed'],
    ])
    // A level's reserved is the sum of its held reservations.
    const held = await s.commerce.inventory.reservations({ variantId: s.variantId, status: 'held' })
    expect((await s.commerce.inventory.levels(s.variantId))[0]!.reserved).toBe(held.reduce((sum, r) => sum + r.quantity, 0))
    await failure(s.commerce.inventory.reservations({}), 'VALIDATION')
  })
})
