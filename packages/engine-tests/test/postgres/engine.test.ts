import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommerce, fixedRateTax, flatRateShipping, isCommerceError, testPayments, type Commerce, type TestPayments } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { freshDatabase, type FreshDatabase } from '../support/postgres.js'

const address = { line1: '1 Main St', city: 'Springfield', country: 'US' }

let database: FreshDatabase
let commerce: Commerce
let payments: TestPayments
let variantId: string

beforeAll(async () => {
  database = await freshDatabase()
  payments = testPayments()
  commerce = await createCommerce({
    storage: postgresStorage({ connectionString: database.url }),
    payments: [payments],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
    tax: fixedRateTax({ rate: '10' }),
  })
  const product = await commerce.catalog.createProduct({
    title: 'Trail Runner',
    options: [{ name: 'Size', values: ['42'] }],
    variants: [{ sku: 'TR-42', options: { Size: '42' }, prices: [{ currency: 'USD', amount: 12900 }] }],
  })
  variantId = product.variants[0]!.id
  const location = await commerce.inventory.createLocation({ name: 'Main', code: 'main' })
  await commerce.inventory.setStock({ variantId, locationId: location.id, onHand: 5 })
})

afterAll(async () => {
  await commerce?.close()
  await database?.drop()
})

async function readyCart(quantity = 1) {
  const cart = await commerce.carts.create({ currency: 'USD' })
  await commerce.carts.addItem(cart.id, { variantId, quantity })
  await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
  return commerce.carts.setShippingOption(cart.id, 'flat:standard')
}

describe('the engine on PostgreSQL', () => {
  it('places an order, captures, fulfills', async () => {
    const cart = await readyCart(2)
    const order = await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
    expect(order).toMatchObject({ subtotal: 25800, shippingTotal: 500, taxTotal: 2580 + 50, total: 25800 + 500 + 2630, number: 1001 })
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: 5, reserved: 2, available: 3 })
    const captured = await commerce.orders.capturePayment(order.id)
    expect(captured.paymentStatus).toBe('captured')
    const fulfilled = await commerce.orders.fulfill(order.id)
    expect(fulfilled.fulfillmentStatus).toBe('fulfilled')
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: 3, reserved: 0, available: 3 })
    expect(typeof order.createdAt).toBe('string')
    expect(order.createdAt.endsWith('Z')).toBe(true)
  })

  it('lets exactly the available units win a concurrent race', async () => {
    const carts = await Promise.all(Array.from({ length: 8 }, () => readyCart(1)))
    const results = await Promise.allSettled(carts.map((c) => commerce.checkout.complete(c.id, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })))
    const placed = results.filter((r) => r.status === 'fulfilled')
    const out = results.filter((r) => r.status === 'rejected' && isCommerceError(r.reason, 'OUT_OF_STOCK'))
    expect(placed).toHaveLength(3)
    expect(out).toHaveLength(5)
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ available: 0 })
  })

  it('delivers durable events through the outbox', async () => {
    const list = await commerce.outbox.list()
    expect(Array.isArray(list)).toBe(true)
    const page = await commerce.orders.list({ limit: 2 })
    expect(page.items).toHaveLength(2)
    const next = await commerce.orders.list({ limit: 2, cursor: page.nextCursor! })
    expect(next.items.length).toBeGreaterThan(0)
    expect(next.items[0]!.id).not.toBe(page.items[1]!.id)
  })

  it('places one order when a lease holder and its successor reach placement together', async () => {
    const shared = testPayments()
    const open = (checkoutLeaseMs: number) =>
      createCommerce({
        storage: postgresStorage({ connectionString: database.url }),
        payments: [shared],
        shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
        tax: fixedRateTax({ rate: '10' }),
        checkoutLeaseMs,
        outbox: { enabled: false },
      })
    const [first, second] = await Promise.all([open(1000), open(1000)])
    try {
      await commerce.inventory.adjust({ variantId, locationId: (await commerce.inventory.listLocations())[0]!.id, delta: 1 })
      const cart = await readyCart(1)
      const idempotencyKey = randomUUID()
      // The gateway answers after 1.5 s: the first caller's 1 s lease runs out meanwhile and a
      // second caller takes over with the same gateway key, so both get the same answer at once.
      shared.script({ delayMs: 1500 })
      const a = first.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey })
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const b = second.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey })
      const [orderA, orderB] = await Promise.all([a, b])
      expect(orderB.id).toBe(orderA.id)
      expect(shared.calls.filter((c) => c.operation === 'authorize' && c.charged)).toHaveLength(1)
      expect(await commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cart.id).execute()).toEqual([{ id: orderA.id }])
    } finally {
      await first.close()
      await second.close()
    }
  })
})
