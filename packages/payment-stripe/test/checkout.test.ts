import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCommerce, fixedRateTax, flatRateShipping, type Commerce, type Order } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stripePayments } from '../src/index.js'
import { startFakeStripe, type FakeStripeServer } from '../src/testing/index.js'

// The adapter composed into an engine on a real SQLite file: a checkout through createCommerce,
// then a capture and a partial refund through orders.*, checked against the fake's ledger and
// against the rows on disk.

let dir: string
let filename: string
let server: FakeStripeServer
let commerce: Commerce

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cartwright-stripe-'))
  filename = join(dir, 'shop.db')
  server = await startFakeStripe()
  commerce = await createCommerce({
    storage: sqliteStorage({ filename }),
    payments: [stripePayments({ secretKey: server.secretKey, webhookSecret: server.webhookSecret, client: server.endpoint, maxNetworkRetries: 0 })],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
    tax: fixedRateTax({ rate: '8' }),
  })
})

afterEach(async () => {
  await commerce.close()
  await server.close()
  rmSync(dir, { recursive: true, force: true })
})

async function readyCart(): Promise<{ cartId: string; variantId: string }> {
  const boot = await commerce.catalog.createProduct({ title: 'Boot', variants: [{ sku: 'BOOT-1', prices: [{ currency: 'USD', amount: 4_999 }] }] })
  const variantId = boot.variants[0]!.id
  const warehouse = await commerce.inventory.createLocation({ name: 'Warehouse' })
  await commerce.inventory.setStock({ variantId, locationId: warehouse.id, onHand: 5 })
  let cart = await commerce.carts.create({ currency: 'USD' })
  cart = await commerce.carts.addItem(cart.id, { variantId, quantity: 2 })
  cart = await commerce.carts.update(cart.id, {
    email: 'ada@example.com',
    shippingAddress: { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' },
  })
  const [option] = await commerce.carts.listShippingOptions(cart.id)
  await commerce.carts.setShippingOption(cart.id, option!.id)
  return { cartId: cart.id, variantId }
}

/** The order of a completed checkout, whether complete answers the order or a result holding it. */
function placedOrder(result: unknown): Order {
  const r = result as { order?: Order }
  return (r.order ?? result) as Order
}

function rows<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(filename, { readonly: true })
  try {
    return db.prepare(sql).all(...params) as T[]
  } finally {
    db.close()
  }
}

describe('a checkout through createCommerce with the Stripe adapter, on SQLite', () => {
  it('authorizes exactly the order total, captures it and refunds part of it; the books equal the ledger', async () => {
    const { cartId, variantId } = await readyCart()
    const complete = () => commerce.checkout.complete(cartId, { payment: { provider: 'stripe', data: { paymentMethod: 'pm_card_visa' } }, idempotencyKey: 'checkout-stripe-1' })
    const order = placedOrder(await complete())
    // 2 × 49.99 + 5.00 shipping, 8 % tax on both: 104.98 + 8.40.
    expect(order.totals.total).toBe(11_338)
    expect(server.ledger.charges).toEqual([{ paymentIntent: expect.stringMatching(/^pi_/), amount: order.totals.total, currency: 'usd', captureMethod: 'manual' }])
    const reference = server.ledger.charges[0]!.paymentIntent
    const [payment] = rows<{ id: string; reference: string; status: string; amount: number }>('select id, reference, status, amount from cw_payments where cart_id = ?', cartId)
    expect(payment).toMatchObject({ reference, amount: order.totals.total })
    expect(server.paymentIntent(reference)?.metadata).toEqual({ cartwright_payment_id: payment!.id, cartwright_cart_id: cartId })
    expect(server.ledger.calls[0]?.idempotencyKey).toBe(`cw-authorize-${payment!.id}`)

    // The same checkout again: the same order, nothing more at Stripe.
    expect(placedOrder(await complete()).id).toBe(order.id)
    expect(server.ledger.charges).toHaveLength(1)

    const captured = await commerce.orders.capturePayment(order.id)
    expect(captured.paymentStatus).toBe('captured')
    expect(server.ledger.captures).toEqual([{ paymentIntent: reference, amount: order.totals.total, currency: 'usd' }])

    const refunded = await commerce.orders.refund(order.id, { amount: 1_500, reason: 'scuffed box', idempotencyKey: 'refund-stripe-1' })
    expect(refunded.paymentStatus).toBe('partially_refunded')
    await commerce.orders.refund(order.id, { amount: 1_500, reason: 'scuffed box', idempotencyKey: 'refund-stripe-1' })
    expect(server.ledger.refunds.map((r) => [r.paymentIntent, r.amount])).toEqual([[reference, 1_500]])

    expect(rows('select total, payment_status from cw_orders where id = ?', order.id)).toEqual([{ total: server.ledger.charges[0]!.amount, payment_status: 'partially_refunded' }])
    expect(rows('select authorized_amount, captured_amount, refunded_amount from cw_payments where id = ?', payment!.id)).toEqual([
      { authorized_amount: 11_338, captured_amount: server.ledger.captures[0]!.amount, refunded_amount: 1_500 },
    ])
    expect(await commerce.inventory.available(variantId)).toBe(3)
  })

  it('a declined card places no order, charges nothing and releases the stock', async () => {
    const { cartId, variantId } = await readyCart()
    await expect(
      commerce.checkout.complete(cartId, { payment: { provider: 'stripe', data: { paymentMethod: 'pm_card_chargeDeclined' } }, idempotencyKey: 'checkout-stripe-declined' }),
    ).rejects.toMatchObject({ code: 'PAYMENT_DECLINED', details: { reason: 'generic_decline' } })
    expect(server.ledger.charges).toEqual([])
    expect(server.ledger.declines).toHaveLength(1)
    expect(rows('select count(*) as n from cw_orders')).toEqual([{ n: 0 }])
    expect(await commerce.inventory.available(variantId)).toBe(5)
  })

  it('a voided order releases the authorization at Stripe', async () => {
    const { cartId } = await readyCart()
    const order = placedOrder(
      await commerce.checkout.complete(cartId, { payment: { provider: 'stripe', data: { paymentMethod: 'pm_card_visa' } }, idempotencyKey: 'checkout-stripe-void' }),
    )
    expect((await commerce.orders.voidPayment(order.id)).paymentStatus).toBe('voided')
    expect(server.ledger.cancels).toEqual([{ paymentIntent: server.ledger.charges[0]!.paymentIntent, released: order.totals.total, currency: 'usd' }])
  })
})
