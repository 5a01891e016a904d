import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Commerce, StockLocation, TestPoints } from '@cartwright/core'
import { checkout, gate, GUARDED_STORAGES, openShop, readyCart, until, type Shop } from '../support/index.js'

/**
 * Guards of where a checkout's units come from when a variant is stocked at two locations:
 * - location priority in allocation.ts: the first location by priority that holds the whole
 *   quantity ships it; when none does, the quantity is split in priority order;
 * - on PostgreSQL, the row lock planReservation takes on a multi-location variant's levels
 *   (`levelsToReserveForUpdate`), so that a second checkout cannot plan from levels the first is
 *   about to change: without it the second plan goes stale and a checkout that fits is refused.
 */

let tag = 0

/**
 * A new variant stocked at two new locations: `first` (priority 0) and `second` (priority 1).
 * Ids are random and break ties between equal priorities, so `first` is made to sort after
 * `second` by id: an allocation that ignored priority would pick the wrong one.
 */
async function stockedTwice(commerce: Commerce, holds: { first: number; second: number }) {
  const n = ++tag
  const product = await commerce.catalog.createProduct({ title: `Trail Sock ${n}`, variants: [{ sku: `SOCK-${n}`, prices: [{ currency: 'USD', amount: 900 }] }] })
  const variantId = product.variants[0]!.id
  const second = await commerce.inventory.createLocation({ name: `Paris ${n}`, code: `paris-${n}`, priority: 1 })
  let first: StockLocation
  let attempt = 0
  do {
    first = await commerce.inventory.createLocation({ name: `Berlin ${n}`, code: `berlin-${n}-${++attempt}`, priority: 0 })
  } while (first.id < second.id)
  await commerce.inventory.setStock({ variantId, locationId: first.id, onHand: holds.first })
  await commerce.inventory.setStock({ variantId, locationId: second.id, onHand: holds.second })
  return { variantId, first: first.id, second: second.id }
}

/** Units the cart holds, by location. */
async function reservedFor(commerce: Commerce, cartId: string): Promise<Record<string, number>> {
  const rows = await commerce.db.selectFrom('cw_reservations').select(['location_id', 'quantity']).where('cart_id', '=', cartId).where('status', '=', 'held').execute()
  return Object.fromEntries(rows.map((r) => [r.location_id, r.quantity]))
}

/** Reserved units of the variant, by location, as the inventory reports them. */
async function reservedAt(commerce: Commerce, variantId: string): Promise<Record<string, number>> {
  return Object.fromEntries((await commerce.inventory.levels(variantId)).map((l) => [l.locationId, l.reserved]))
}

describe.each(GUARDED_STORAGES)('a variant stocked at two locations, on %s', (storage) => {
  let shop: Shop
  let atPlanned: TestPoints['checkout.claim.planned'] = () => undefined
  beforeAll(async () => {
    shop = await openShop({ storage, testPoints: { 'checkout.claim.planned': (context) => atPlanned(context) } })
  })
  afterAll(async () => {
    atPlanned = () => undefined
    await shop?.close()
  })

  it('ships the whole quantity from the first location by priority that holds it all', async () => {
    const { commerce } = shop
    const { variantId, first, second } = await stockedTwice(commerce, { first: 2, second: 5 })
    const cart = await readyCart(commerce, variantId, 2)
    await checkout(commerce, cart.id)
    expect(await reservedFor(commerce, cart.id)).toEqual({ [first]: 2 })
    expect(await reservedAt(commerce, variantId)).toEqual({ [first]: 2, [second]: 0 })
  })

  it('ships from a later location that holds it all rather than split the quantity', async () => {
    const { commerce } = shop
    const { variantId, first, second } = await stockedTwice(commerce, { first: 2, second: 5 })
    const cart = await readyCart(commerce, variantId, 3)
    await checkout(commerce, cart.id)
    expect(await reservedFor(commerce, cart.id)).toEqual({ [second]: 3 })
    expect(await reservedAt(commerce, variantId)).toEqual({ [first]: 0, [second]: 3 })
  })

  it('splits the quantity in priority order when no location holds it all', async () => {
    const { commerce } = shop
    const { variantId, first, second } = await stockedTwice(commerce, { first: 2, second: 5 })
    const cart = await readyCart(commerce, variantId, 6)
    await checkout(commerce, cart.id)
    expect(await reservedFor(commerce, cart.id)).toEqual({ [first]: 2, [second]: 4 })
    expect(await reservedAt(commerce, variantId)).toEqual({ [first]: 2, [second]: 4 })
  })

  it('places both of two checkouts that fit together when the second arrives while the first is between its plan and its write', async () => {
    const { commerce } = shop
    // Berlin (priority 0) holds 2, Paris holds 5: A's 3 come from Paris; B's 4 then need Berlin's 2 and Paris's last 2.
    const { variantId, first, second } = await stockedTwice(commerce, { first: 2, second: 5 })
    const a = await readyCart(commerce, variantId, 3)
    const b = await readyCart(commerce, variantId, 4)
    let placingB: Promise<unknown> | null = null

    if (storage === 'postgres') {
      // B runs on a second engine (its own connections) while A waits at the point.
      const other = await shop.engine()
      const reached = gate()
      const release = gate()
      atPlanned = async ({ cartId }) => {
        if (cartId !== a.id) return
        reached.open()
        await release.promise
      }
      const placingA = checkout(commerce, a.id)
      await reached.promise
      let settled = false
      placingB = checkout(other, b.id).finally(() => (settled = true))
      placingB.catch(() => undefined)
      // A holds its plan open until B has either finished or stopped at a row lock that A holds.
      await until(async () => (settled || (await waitingForLocks(commerce)) > 0 ? true : undefined), 'B to finish or to wait for a lock')
      release.open()
      const [resultA, resultB] = await Promise.allSettled([placingA, placingB])
      expect([resultA.status, resultB.status], String((resultA as PromiseRejectedResult).reason ?? (resultB as PromiseRejectedResult).reason ?? '')).toEqual(['fulfilled', 'fulfilled'])
    } else {
      // SQLite runs one write transaction at a time: B, started while A waits at the point, goes after A's commit.
      atPlanned = ({ cartId }) => {
        if (cartId === a.id && !placingB) placingB = checkout(commerce, b.id)
      }
      await checkout(commerce, a.id)
      expect(placingB).not.toBeNull()
      await placingB
    }

    expect(await reservedFor(commerce, a.id)).toEqual({ [second]: 3 })
    expect(await reservedFor(commerce, b.id)).toEqual({ [first]: 2, [second]: 2 })
    expect(await reservedAt(commerce, variantId)).toEqual({ [first]: 2, [second]: 5 })
    expect(await commerce.db.selectFrom('cw_orders').select('cart_id').where('cart_id', 'in', [a.id, b.id]).execute()).toHaveLength(2)
  })
})

/** Sessions of this database waiting for a lock (PostgreSQL). */
async function waitingForLocks(commerce: Commerce): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(commerce.db)
  return rows[0]!.n
}
