import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { isCommerceError, type Commerce, type Order, type TestPoints } from '@cartwright/core'
import { checkout, failure, GUARDED_STORAGES, openShop, readyCart, type Shop } from '../support/index.js'

const ALLOWANCE = 5
const SHOPPERS = 20
const ENGINES = 4

let shop: Shop | undefined
afterEach(async () => {
  await shop?.close()
  shop = undefined
})

/** Everything the engine stores about a variant's stock policy and levels: what bad input must leave alone. */
async function stockState(commerce: Commerce, variantId: string) {
  const variant = await commerce.db
    .selectFrom('cw_variants')
    .select(['inventory_policy', 'backorder_limit', 'available_at', 'updated_at'])
    .where('id', '=', variantId)
    .executeTakeFirstOrThrow()
  const levels = await commerce.db.selectFrom('cw_inventory_levels').selectAll().where('variant_id', '=', variantId).orderBy('id').execute()
  return { variant, levels }
}

describe.each(GUARDED_STORAGES)('selling beyond stock on %s', (storage) => {
  // On a SQLite file the checkouts interleave in one engine (a second engine in the same process
  // would wait synchronously on the file lock); PostgreSQL races engines on their own connections.
  const racing = storage === 'sqlite-memory' ? 'sqlite-file' : storage
  const engineCount = storage === 'postgres' ? ENGINES : 1

  it(`a backorder variant with allowance ${ALLOWANCE} and no stock: ${SHOPPERS} concurrent checkouts of 1 place exactly ${ALLOWANCE} orders`, { timeout: 60_000 }, async () => {
    shop = await openShop({ storage: racing, stock: 0 })
    const { variantId } = shop
    expect((await shop.commerce.inventory.setPolicy(variantId, { policy: 'backorder', backorderLimit: ALLOWANCE }))).toEqual({
      policy: 'backorder',
      backorderLimit: ALLOWANCE,
      availableAt: null,
    })
    const engines = [shop.commerce]
    for (let i = 1; i < engineCount; i++) engines.push(await shop.engine())
    const events: Order[] = []
    for (const engine of engines) engine.events.on('order.placed', ({ order }) => void events.push(order))
    const carts = []
    for (let i = 0; i < SHOPPERS; i++) carts.push(await readyCart(engines[i % engineCount]!, variantId, 1))
    shop.payments.setDefault({ delayMs: 2 })

    const results = await Promise.allSettled(carts.map((cart, i) => checkout(engines[i % engineCount]!, cart.id)))
    const placed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    expect(placed).toHaveLength(ALLOWANCE)
    expect(rejected).toHaveLength(SHOPPERS - ALLOWANCE)
    for (const error of rejected) expect(isCommerceError(error, 'OUT_OF_STOCK'), String(error)).toBe(true)

    // Available went below zero by the allowance, not past it, and the database agrees.
    const [level] = await shop.commerce.inventory.levels(variantId)
    expect(level).toMatchObject({ onHand: 0, reserved: ALLOWANCE, available: -ALLOWANCE, backorderAllowance: ALLOWANCE })
    expect(await shop.commerce.db.selectFrom('cw_orders').select('id').execute()).toHaveLength(ALLOWANCE)
    const held = await shop.commerce.db.selectFrom('cw_reservations').select(['quantity', 'beyond_stock']).where('status', '=', 'held').execute()
    expect(held.reduce((n, r) => n + r.quantity, 0)).toBe(ALLOWANCE)
    expect(held.every((r) => r.beyond_stock === r.quantity)).toBe(true)

    // Each order shows its unit as backordered, in the stored order and in order.placed.
    for (const order of placed) {
      expect(order.lines).toHaveLength(1)
      expect(order.lines[0]!.beyondStock).toEqual({ policy: 'backorder', quantity: 1, availableAt: null })
      expect((await shop.commerce.orders.get(order.id)).lines[0]!.beyondStock).toEqual({ policy: 'backorder', quantity: 1, availableAt: null })
    }
    expect(new Set(events.map((o) => o.id))).toEqual(new Set(placed.map((o) => o.id)))
    for (const order of events) expect(order.lines[0]!.beyondStock?.quantity).toBe(1)

    // A backordered order cannot ship before the goods arrive; once they do, it ships.
    await failure(shop.commerce.orders.fulfill(placed[0]!.id), 'CONFLICT')
    await shop.commerce.inventory.setStock({ variantId, locationId: shop.warehouse.id, onHand: 3 })
    expect((await shop.commerce.orders.fulfill(placed[0]!.id)).fulfillmentStatus).toBe('fulfilled')
    expect((await shop.commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: 2, reserved: ALLOWANCE - 1, available: -2 })
  })

  it('the write that reserves refuses a backorder past the allowance when the units were taken after the plan', async () => {
    // The plan and the write are forced apart at 'checkout.claim.planned' (on SQLite nothing can
    // come between them otherwise): another writer takes 1 of the 2 units the allowance leaves.
    let atPlanned: TestPoints['checkout.claim.planned'] = () => undefined
    shop = await openShop({ storage, stock: 0, testPoints: { 'checkout.claim.planned': (context) => atPlanned(context) } })
    const { commerce, variantId } = shop
    await commerce.inventory.setPolicy(variantId, { policy: 'backorder', backorderLimit: 2 })
    const other = storage === 'postgres' ? await shop.engine() : null
    const cart = await readyCart(commerce, variantId, 2)
    let taken = false
    atPlanned = async (context) => {
      if (context.cartId !== cart.id || taken) return
      taken = true
      if (other) await checkout(other, (await readyCart(other, variantId, 1)).id)
      else await sql`update cw_inventory_levels set reserved = reserved + 1 where variant_id = ${variantId}`.execute(context.tx)
    }
    await failure(checkout(commerce, cart.id), 'OUT_OF_STOCK')
    expect(taken).toBe(true)
    // Refused before the gateway: nothing was authorized for this cart.
    expect(shop.payments.calls).toEqual([])
    expect(await commerce.db.selectFrom('cw_payments').select('id').where('cart_id', '=', cart.id).execute()).toEqual([])
    // On PostgreSQL the other checkout keeps its unit; on SQLite the stand-in write rolled back with the refused transaction.
    const reserved = other ? 1 : 0
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: 0, reserved, available: reserved ? -reserved : 0 })
    expect((await commerce.carts.get(cart.id)).status).toBe('open')
  })

  it('sells units in stock first and only the rest beyond it, and a deny variant never below zero', async () => {
    shop = await openShop({ storage, stock: 2 })
    const { commerce, variantId } = shop
    await commerce.inventory.setPolicy(variantId, { policy: 'backorder', backorderLimit: 3 })
    const order = await checkout(commerce, (await readyCart(commerce, variantId, 4)).id)
    expect(order.lines[0]!.beyondStock).toEqual({ policy: 'backorder', quantity: 2, availableAt: null })
    expect(await commerce.inventory.available(variantId)).toBe(-2)
    // One more unit is within the allowance, two are not: the cart says so before checkout does.
    await failure(commerce.carts.addItem((await commerce.carts.create({ currency: 'USD' })).id, { variantId, quantity: 2 }), 'OUT_OF_STOCK')
    const early = await readyCart(commerce, variantId, 1)
    const last = await checkout(commerce, (await readyCart(commerce, variantId, 1)).id)
    expect(last.lines[0]!.beyondStock).toEqual({ policy: 'backorder', quantity: 1, availableAt: null })
    await failure(commerce.carts.addItem((await commerce.carts.create({ currency: 'USD' })).id, { variantId, quantity: 1 }), 'OUT_OF_STOCK')

    // Back to deny: nothing more beyond stock is sold, even where the cart was filled before.
    await failure(commerce.inventory.setPolicy(variantId, { policy: 'deny' }), 'CONFLICT')
    await commerce.inventory.setStock({ variantId, locationId: shop.warehouse.id, onHand: 5 })
    await commerce.inventory.setPolicy(variantId, { policy: 'deny' })
    expect(await commerce.inventory.available(variantId)).toBe(0)
    await failure(checkout(commerce, early.id), 'OUT_OF_STOCK')
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: 5, reserved: 5, available: 0, backorderAllowance: 0 })
  })

  it('a preorder variant is bought before its date and the order shows it; from the date on it sells only stock', async () => {
    let now = new Date('2027-01-10T12:00:00.000Z')
    shop = await openShop({ storage, stock: 0, now: () => now })
    const { commerce, variantId } = shop
    const availableAt = '2027-02-01T00:00:00.000Z'
    await commerce.inventory.setPolicy(variantId, { policy: 'preorder', availableAt: '2027-02-01T01:00:00+01:00' })
    const variant = (await commerce.catalog.getProduct(shop.shoe.id)).variants.find((v) => v.id === variantId)!
    expect(variant.inventoryPolicy).toEqual({ policy: 'preorder', backorderLimit: null, availableAt })

    const order = await checkout(commerce, (await readyCart(commerce, variantId, 3)).id)
    expect(order.lines[0]!.beyondStock).toEqual({ policy: 'preorder', quantity: 3, availableAt })
    expect((await commerce.orders.get(order.id)).lines[0]!.beyondStock).toEqual({ policy: 'preorder', quantity: 3, availableAt })
    const row = await commerce.db.selectFrom('cw_order_lines').select(['beyond_stock', 'stock_policy']).where('order_id', '=', order.id).executeTakeFirstOrThrow()
    expect(row).toEqual({ beyond_stock: 3, stock_policy: 'preorder' })
    const placedEvent = await commerce.db.selectFrom('cw_outbox').select('payload').where('type', '=', 'order.placed').executeTakeFirstOrThrow()
    expect(JSON.parse(placedEvent.payload).order.lines[0].beyondStock).toEqual({ policy: 'preorder', quantity: 3, availableAt })

    // A cart filled before the date cannot check out after it: the allowance no longer applies.
    const late = await readyCart(commerce, variantId, 1)
    now = new Date('2027-02-01T00:00:00.000Z')
    await failure(checkout(commerce, late.id), 'OUT_OF_STOCK')
    await failure(commerce.carts.addItem((await commerce.carts.create({ currency: 'USD' })).id, { variantId, quantity: 1 }), 'OUT_OF_STOCK')
    // The preorders taken stay, and the stock that arrives goes to them first.
    await commerce.inventory.setStock({ variantId, locationId: shop.warehouse.id, onHand: 4 })
    expect(await commerce.inventory.available(variantId)).toBe(1)
    expect((await checkout(commerce, late.id)).lines[0]!.beyondStock).toBeNull()
  })

  it('bad input to setPolicy is a typed error naming the field, and changes nothing', async () => {
    shop = await openShop({ storage, stock: 2 })
    const { commerce, variantId } = shop
    await commerce.inventory.setPolicy(variantId, { policy: 'backorder', backorderLimit: 4 })
    await checkout(commerce, (await readyCart(commerce, variantId, 5)).id)
    const before = await stockState(commerce, variantId)
    const cases: Array<[unknown, unknown, string, string]> = [
      ['', { policy: 'deny' }, 'VALIDATION', 'variantId'],
      ['x'.repeat(65), { policy: 'deny' }, 'VALIDATION', 'variantId'],
      [variantId, { policy: 'sometimes' }, 'VALIDATION', 'policy'],
      [variantId, { policy: 'backorder' }, 'VALIDATION', 'backorderLimit'],
      [variantId, { policy: 'backorder', backorderLimit: -1 }, 'VALIDATION', 'backorderLimit'],
      [variantId, { policy: 'backorder', backorderLimit: 2.5 }, 'VALIDATION', 'backorderLimit'],
      [variantId, { policy: 'backorder', backorderLimit: '5' }, 'VALIDATION', 'backorderLimit'],
      [variantId, { policy: 'preorder' }, 'VALIDATION', 'availableAt'],
      [variantId, { policy: 'preorder', availableAt: 'next spring' }, 'VALIDATION', 'availableAt'],
      // A date already past would sell nothing beyond stock.
      [variantId, { policy: 'preorder', availableAt: '2020-01-01T00:00:00Z' }, 'VALIDATION', 'availableAt'],
      [variantId, { policy: 'preorder', availableAt: '2027-02-01T00:00:00Z', backorderLimit: 0 }, 'VALIDATION', 'backorderLimit'],
      [variantId, { policy: 'deny', backorderLimit: 3 }, 'VALIDATION', 'backorderLimit'],
      [variantId, { policy: 'backorder', backorderLimit: 2 }, 'CONFLICT', 'backorderLimit'],
      ['var_missing', { policy: 'deny' }, 'NOT_FOUND', ''],
    ]
    for (const [id, input, code, field] of cases) {
      const error = await failure(commerce.inventory.setPolicy(id as string, input as never), code as 'VALIDATION', JSON.stringify(input))
      if (field) expect(JSON.stringify(error.details), JSON.stringify(input)).toContain(field)
    }
    expect(await stockState(commerce, variantId)).toEqual(before)
    // A stock take may not take the level past its allowance either.
    await failure(commerce.inventory.setStock({ variantId, locationId: shop.warehouse.id, onHand: 0 }), 'CONFLICT')
    await failure(commerce.inventory.adjust({ variantId, locationId: shop.warehouse.id, delta: -3 }), 'CONFLICT')
    expect(await stockState(commerce, variantId)).toEqual(before)
  })
})
