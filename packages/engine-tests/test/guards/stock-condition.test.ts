import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import type { Commerce, TestPoints } from '@cartwright/core'
import { checkout, failure, GUARDED_STORAGES, readyCart, shopPerTest, type StorageKind } from '../support/index.js'

/**
 * Guards: the stock condition of the reservation write (`on_hand - reserved >= n` in
 * inventory-service.ts) and, behind it, the CHECK constraint `cw_inventory_levels_available`.
 *
 * A checkout plans its reservation from the levels it read, then writes it; on PostgreSQL the
 * plan of a single-level variant holds no lock, so another checkout may take the units in
 * between, and only the conditional write stops an oversell. Racing checkouts on SQLite never
 * interleave there (BEGIN IMMEDIATE runs each write transaction to its end), so the interleaving
 * is forced at the point 'checkout.claim.planned', between the plan and the write:
 * - on SQLite the units are taken in the paused checkout's own transaction, standing in for the
 *   concurrent writer SQLite cannot have there;
 * - on PostgreSQL a second engine, on its own connections, checks out another cart for the units
 *   and commits while the first checkout waits at the point.
 */

const open = shopPerTest()

/** Units another writer takes from the level between the paused checkout's plan and its write. */
async function takeUnits(storage: StorageKind, other: Commerce | null, variantId: string, units: number, context: Parameters<TestPoints['checkout.claim.planned']>[0]) {
  if (storage === 'postgres') {
    const cart = await readyCart(other!, variantId, units)
    await checkout(other!, cart.id)
  } else {
    await sql`update cw_inventory_levels set reserved = reserved + ${units} where variant_id = ${variantId}`.execute(context.tx)
  }
}

describe.each(GUARDED_STORAGES)('a checkout whose units are taken between its plan and its reservation, on %s', (storage) => {
  it('fails with OUT_OF_STOCK, charges nobody, and never leaves the level oversold', async () => {
    let atPlanned: TestPoints['checkout.claim.planned'] = () => undefined
    const shop = await open({ storage, stock: 3, testPoints: { 'checkout.claim.planned': (context) => atPlanned(context) } })
    const { commerce, variantId, payments } = shop
    const other = storage === 'postgres' ? await shop.engine() : null
    const cart = await readyCart(commerce, variantId, 2)
    let taken = 0
    atPlanned = async (context) => {
      if (context.cartId !== cart.id || taken) return
      // The plan saw 3 available and chose to reserve 2; now only 1 is left.
      await takeUnits(storage, other, variantId, 2, context)
      taken = 2
    }

    const error = await failure(checkout(commerce, cart.id), 'OUT_OF_STOCK')
    expect(taken).toBe(2)
    expect(error.details.shortages).toEqual([expect.objectContaining({ variantId, requested: 2 })])
    // Refused before the gateway: nothing was authorized for this cart.
    expect(payments.calls).toEqual([])
    expect(await commerce.db.selectFrom('cw_payments').select('id').where('cart_id', '=', cart.id).execute()).toEqual([])
    expect(await commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cart.id).execute()).toEqual([])
    expect((await commerce.carts.get(cart.id)).status).toBe('open')
    // Persisted: never more reserved than on hand. On PostgreSQL the other checkout keeps its 2
    // units; on SQLite the stand-in write rolled back with the refused transaction.
    const [level] = await commerce.inventory.levels(variantId)
    expect(level).toMatchObject({ onHand: 3, reserved: storage === 'postgres' ? 2 : 0 })
    const held = await commerce.db.selectFrom('cw_reservations').select(['cart_id', 'quantity']).where('status', '=', 'held').where('variant_id', '=', variantId).execute()
    expect(held.reduce((sum, r) => sum + r.quantity, 0)).toBe(level!.reserved)
    expect(held.filter((r) => r.cart_id === cart.id)).toEqual([])

    // The remaining unit still sells.
    await checkout(commerce, (await readyCart(commerce, variantId, 1)).id)
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: 3, reserved: level!.reserved + 1 })
  })
})
