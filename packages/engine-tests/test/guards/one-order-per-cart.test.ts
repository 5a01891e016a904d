import { describe, expect, it } from 'vitest'
import type { Commerce, TestPoints } from '@cartwright/core'
import { orderRow } from '../../../testkit/src/storage/shop.js'
import { checkout, GUARDED_STORAGES, key, readyCart, shopPerTest, type StorageKind } from '../support/index.js'

/**
 * Guard: the unique constraint on `cw_orders.cart_id` (one order per cart). The engine's own
 * checks (the payment's state, read under a row lock on PostgreSQL) keep its own placements from
 * writing two orders; the constraint is what holds when anything else writes an order for the
 * cart at the same time. The interleaving is forced at 'checkout.place.before', between the
 * placement's read of the payment and its order write: another writer places an order row for
 * the same cart, in the same transaction on SQLite (which cannot have a concurrent writer there),
 * on a second connection that commits on PostgreSQL.
 */

const open = shopPerTest()
const HOUR = 60 * 60 * 1000

async function placeBehind(storage: StorageKind, other: Commerce | null, context: Parameters<TestPoints['checkout.place.before']>[0], id: string) {
  const at = new Date().toISOString()
  const row = orderRow({ id, number: 990_001, cart_id: context.cartId, email: 'other@example.com', at })
  if (storage === 'postgres') await other!.db.insertInto('cw_orders').values(row).execute()
  else await context.tx.insertInto('cw_orders').values(row).execute()
}

describe.each(GUARDED_STORAGES)('an order written for the cart by another writer while checkout places its own, on %s', (storage) => {
  it('never leaves two orders for one cart: every call fails or returns the one order there is', async () => {
    let later = 0
    let atPlace: TestPoints['checkout.place.before'] = () => undefined
    const shop = await open({
      storage,
      now: () => new Date(Date.now() + later),
      checkoutLeaseMs: 1000,
      testPoints: { 'checkout.place.before': (context) => atPlace(context) },
    })
    const { commerce, variantId } = shop
    const other = storage === 'postgres' ? await shop.engine() : null
    const cart = await readyCart(commerce, variantId, 1)
    const foreignId = `order_${'0'.repeat(26)}`
    let written = 0
    atPlace = async (context) => {
      if (context.cartId !== cart.id || written++) return
      await placeBehind(storage, other, context, foreignId)
    }

    const ordersOfCart = () => commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cart.id).execute()
    const idempotencyKey = key()
    const [first] = await Promise.allSettled([checkout(commerce, cart.id, idempotencyKey)])
    expect(written).toBe(1)
    expect((await ordersOfCart()).length).toBeLessThanOrEqual(1)
    // Once the claim's lease has run out, the same key resumes the checkout.
    later = HOUR
    const [second] = await Promise.allSettled([checkout(commerce, cart.id, idempotencyKey)])

    const orders = await ordersOfCart()
    expect(orders).toHaveLength(1)
    for (const answer of [first!, second!]) if (answer.status === 'fulfilled') expect(answer.value.id).toBe(orders[0]!.id)
  })
})
