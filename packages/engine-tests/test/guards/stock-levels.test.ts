import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Commerce } from '@cartwright/core'
import { address, checkout, failure, gate, GUARDED_STORAGES, openShop, readyCart, until, type Shop } from '../support/index.js'

/**
 * Guards of inventory-service.ts that a mutation run found untested (see docs/mutation-testing.md):
 * - a stock take or adjustment cannot take on-hand below what is reserved (`CONFLICT`, before the
 *   CHECK constraint would answer `STORAGE`), nor above 1,000,000,000;
 * - a stock take of an unknown variant or location is `NOT_FOUND`, and writes nothing;
 * - a cart mixing stock-managed and unmanaged variants still reserves the managed units, and a
 *   managed variant with no stock level anywhere is out of stock;
 * - on PostgreSQL, a stock take reads the level under a row lock (`forUpdate`), so that a write
 *   committed meanwhile by another connection is not overwritten.
 */

const MAX_ON_HAND = 1_000_000_000

async function level(commerce: Commerce, variantId: string) {
  const [row] = await commerce.inventory.levels(variantId)
  return { onHand: row!.onHand, reserved: row!.reserved }
}

describe.each(GUARDED_STORAGES)('stock levels, on %s', (storage) => {
  let shop: Shop
  beforeAll(async () => {
    shop = await openShop({ storage, stock: 10 })
  })
  afterAll(async () => {
    await shop?.close()
  })

  it('refuses a stock take or adjustment below the units reserved for orders with CONFLICT, and leaves the level as it was', async () => {
    const { commerce, warehouse } = shop
    const product = await commerce.catalog.createProduct({ title: 'Gaiter', variants: [{ sku: 'GAITER-1', prices: [{ currency: 'USD', amount: 3000 }] }] })
    const variantId = product.variants[0]!.id
    await commerce.inventory.setStock({ variantId, locationId: warehouse.id, onHand: 10 })
    await checkout(commerce, (await readyCart(commerce, variantId, 3)).id)
    expect(await level(commerce, variantId)).toEqual({ onHand: 10, reserved: 3 })

    const take = await failure(commerce.inventory.setStock({ variantId, locationId: warehouse.id, onHand: 2 }), 'CONFLICT')
    expect(take.details).toMatchObject({ variantId, locationId: warehouse.id, reserved: 3, requestedOnHand: 2 })
    const adjustment = await failure(commerce.inventory.adjust({ variantId, locationId: warehouse.id, delta: -8 }), 'CONFLICT')
    expect(adjustment.details).toMatchObject({ reserved: 3, requestedOnHand: 2 })
    expect(await level(commerce, variantId)).toEqual({ onHand: 10, reserved: 3 })

    // Down to exactly what is reserved is allowed.
    expect(await commerce.inventory.adjust({ variantId, locationId: warehouse.id, delta: -7 })).toMatchObject({ onHand: 3, reserved: 3, available: 0 })
    expect(await level(commerce, variantId)).toEqual({ onHand: 3, reserved: 3 })
  })

  it('refuses an adjustment past 1,000,000,000 units on hand with VALIDATION naming delta, and allows exactly that many', async () => {
    const { commerce, warehouse } = shop
    const product = await commerce.catalog.createProduct({ title: 'Bulk Lace', variants: [{ sku: 'LACE-1', prices: [{ currency: 'USD', amount: 100 }] }] })
    const variantId = product.variants[0]!.id
    await commerce.inventory.setStock({ variantId, locationId: warehouse.id, onHand: MAX_ON_HAND - 1 })
    expect(await commerce.inventory.adjust({ variantId, locationId: warehouse.id, delta: 1 })).toMatchObject({ onHand: MAX_ON_HAND })

    const error = await failure(commerce.inventory.adjust({ variantId, locationId: warehouse.id, delta: 1 }), 'VALIDATION')
    expect(error.details.issues).toEqual([expect.objectContaining({ path: 'delta' })])
    expect(await level(commerce, variantId)).toEqual({ onHand: MAX_ON_HAND, reserved: 0 })
  })

  it('answers NOT_FOUND for a stock take of an unknown variant or location, and writes no level', async () => {
    const { commerce, warehouse, variantId } = shop
    const before = await level(commerce, variantId)
    await failure(commerce.inventory.setStock({ variantId: 'var_missing', locationId: warehouse.id, onHand: 5 }), 'NOT_FOUND')
    await failure(commerce.inventory.setStock({ variantId, locationId: 'loc_missing', onHand: 5 }), 'NOT_FOUND')
    await failure(commerce.inventory.adjust({ variantId, locationId: 'loc_missing', delta: 5 }), 'NOT_FOUND')
    expect(await level(commerce, variantId)).toEqual(before)
    const rows = await commerce.db.selectFrom('cw_inventory_levels').select('id').where((eb) => eb.or([eb('variant_id', '=', 'var_missing'), eb('location_id', '=', 'loc_missing')])).execute()
    expect(rows).toEqual([])
  })

  it("reserves a managed variant's units when the cart also holds a variant that does not manage stock", async () => {
    const { commerce, warehouse } = shop
    const product = await commerce.catalog.createProduct({
      title: 'Trail Kit',
      options: [{ name: 'Kind', values: ['Bottle', 'Gift card'] }],
      variants: [
        { sku: 'KIT-BOTTLE', options: { Kind: 'Bottle' }, prices: [{ currency: 'USD', amount: 1800 }] },
        { sku: 'KIT-CARD', options: { Kind: 'Gift card' }, manageInventory: false, prices: [{ currency: 'USD', amount: 2500 }] },
      ],
    })
    const [bottle, card] = product.variants.map((v) => v.id) as [string, string]
    await commerce.inventory.setStock({ variantId: bottle, locationId: warehouse.id, onHand: 4 })
    const cart = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(cart.id, { variantId: bottle, quantity: 2 })
    await commerce.carts.addItem(cart.id, { variantId: card, quantity: 1 })
    await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
    await commerce.carts.setShippingOption(cart.id, 'flat:standard')

    await checkout(commerce, cart.id)

    expect(await level(commerce, bottle)).toEqual({ onHand: 4, reserved: 2 })
    expect((await commerce.inventory.reservations({ cartId: cart.id })).map((r) => [r.variantId, r.quantity, r.status])).toEqual([[bottle, 2, 'held']])
  })

  it('refuses with OUT_OF_STOCK a variant that manages stock but has no level at any location, and charges nobody', async () => {
    const { commerce, payments } = shop
    // Sold without stock management at first, so it has no level; the shop starts managing it with a cart open.
    const product = await commerce.catalog.createProduct({ title: 'Unstocked Vest', variants: [{ sku: 'VEST-1', manageInventory: false, prices: [{ currency: 'USD', amount: 4000 }] }] })
    const variantId = product.variants[0]!.id
    const cart = await readyCart(commerce, variantId, 1)
    await commerce.catalog.updateVariant(variantId, { manageInventory: true })
    const calls = payments.calls.length

    const error = await failure(checkout(commerce, cart.id), 'OUT_OF_STOCK')

    expect(error.details.shortages).toEqual([expect.objectContaining({ variantId, requested: 1, available: 0 })])
    expect(payments.calls.length).toBe(calls)
    expect(await commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cart.id).execute()).toEqual([])
    expect(await commerce.inventory.reservations({ cartId: cart.id })).toEqual([])
    expect((await commerce.carts.get(cart.id)).status).toBe('open')
  })
})

describe.each(GUARDED_STORAGES.filter((s) => s === 'postgres'))('a stock adjustment while another connection holds the level, on %s', (storage) => {
  let shop: Shop
  beforeAll(async () => {
    shop = await openShop({ storage, stock: 10 })
  })
  afterAll(async () => {
    await shop?.close()
  })

  it("waits for the other write and adds to it (the level is read under a row lock), so neither write is lost", async () => {
    const { commerce, variantId, warehouse } = shop
    const other = await shop.engine()
    const holding = gate()
    const release = gate()
    // Another connection adds 5 units and holds its transaction open until released.
    const writer = other.db.transaction().execute(async (trx) => {
      await sql`update cw_inventory_levels set on_hand = on_hand + 5 where variant_id = ${variantId} and location_id = ${warehouse.id}`.execute(trx)
      holding.open()
      await release.promise
    })
    await holding.promise
    const adjusting = commerce.inventory.adjust({ variantId, locationId: warehouse.id, delta: 1 })
    adjusting.catch(() => undefined)
    // The adjustment is blocked on the row lock, then the other write commits.
    await until(async () => ((await waitingForLocks(commerce)) > 0 ? true : undefined), 'the adjustment to wait for the row lock')
    release.open()
    await writer

    expect(await adjusting).toMatchObject({ onHand: 16 })
    expect(await level(commerce, variantId)).toEqual({ onHand: 16, reserved: 0 })
  })
})

/** Sessions of this database waiting for a lock (PostgreSQL). */
async function waitingForLocks(commerce: Commerce): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(commerce.db)
  return rows[0]!.n
}
