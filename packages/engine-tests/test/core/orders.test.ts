import { describe, expect, it } from 'vitest'
import {
  CommerceError,
  isCommerceError,
  testPayments,
  type Commerce,
  type CommerceEventName,
  type CommerceEvents,
  type Order,
  type PaymentProvider,
} from '@cartwright/core'
import { key, readyCart, shopPerTest, type Shop } from './support/shop.js'

const open = shopPerTest()

async function placeOrder(s: Shop, quantity = 1, provider = 'test'): Promise<Order> {
  const cart = await readyCart(s.commerce, s.variantId, quantity)
  return s.commerce.checkout.complete(cart.id, { payment: { provider }, idempotencyKey: key() })
}

/** Records the given events, in order, as `[type, payload]`. */
function record<K extends CommerceEventName>(commerce: Commerce, ...types: K[]) {
  const seen: Array<{ type: K; payload: CommerceEvents[K] }> = []
  for (const type of types) commerce.events.on(type, (payload) => void seen.push({ type, payload }))
  return seen
}

const gatewayCalls = (s: Shop, operation: 'authorize' | 'capture' | 'void' | 'refund') => s.payments.calls.filter((c) => c.operation === operation)

async function reservations(s: Shop) {
  return s.commerce.db.selectFrom('cw_reservations').select(['status', 'quantity', 'order_id']).execute()
}

async function expectError(promise: Promise<unknown>, code: CommerceError['code']): Promise<CommerceError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(isCommerceError(error, code), `expected ${code}, got ${String(error)}`).toBe(true)
  return error as CommerceError
}

describe('orders.capturePayment', () => {
  it('captures the whole authorization by default, with one charge at the gateway', async () => {
    const s = await open()
    const events = record(s.commerce, 'payment.captured')
    const order = await placeOrder(s)
    const payment = order.payments[0]!
    const captured = await s.commerce.orders.capturePayment(order.id)
    expect(captured.paymentStatus).toBe('captured')
    expect(captured.payments[0]).toMatchObject({ status: 'captured', authorizedAmount: order.totals.total, capturedAmount: order.totals.total })
    expect(gatewayCalls(s, 'capture')).toEqual([
      { operation: 'capture', idempotencyKey: `${payment.id}:capture`, amount: order.totals.total, currency: 'USD', charged: true },
    ])
    expect(events).toHaveLength(1)
    expect(events[0]!.payload.payment).toMatchObject({ id: payment.id, status: 'captured', capturedAmount: order.totals.total })
  })

  it('returns the order unchanged when called again, without calling the gateway', async () => {
    const s = await open()
    const events = record(s.commerce, 'payment.captured')
    const order = await placeOrder(s)
    const first = await s.commerce.orders.capturePayment(order.id)
    const second = await s.commerce.orders.capturePayment(order.id)
    expect(second).toEqual(first)
    expect(gatewayCalls(s, 'capture')).toHaveLength(1)
    expect(gatewayCalls(s, 'capture')[0]!.charged).toBe(true)
    expect(events).toHaveLength(1)
  })

  it('charges once when captures race (client and webhook at the same moment)', async () => {
    const s = await open()
    const events = record(s.commerce, 'payment.captured')
    const order = await placeOrder(s)
    const results = await Promise.all(Array.from({ length: 5 }, () => s.commerce.orders.capturePayment(order.id)))
    for (const result of results) expect(result.payments[0]).toMatchObject({ status: 'captured', capturedAmount: order.totals.total })
    expect(gatewayCalls(s, 'capture').filter((c) => c.charged)).toHaveLength(1)
    expect(new Set(gatewayCalls(s, 'capture').map((c) => c.idempotencyKey)).size).toBe(1)
    expect(events).toHaveLength(1)
  })

  it('captures part of the authorization when the provider can, and never more than was authorized', async () => {
    const s = await open()
    const order = await placeOrder(s)
    const tooMuch = await expectError(s.commerce.orders.capturePayment(order.id, { amount: order.totals.total + 1 }), 'VALIDATION')
    expect(tooMuch.details).toMatchObject({ fields: ['amount'] })
    expect(gatewayCalls(s, 'capture')).toHaveLength(0)

    const part = Math.floor(order.totals.total / 2)
    const captured = await s.commerce.orders.capturePayment(order.id, { amount: part })
    expect(captured.paymentStatus).toBe('captured')
    expect(captured.payments[0]).toMatchObject({ authorizedAmount: order.totals.total, capturedAmount: part })
    expect(gatewayCalls(s, 'capture').map((c) => c.amount)).toEqual([part])
    // Refunds are bounded by what was captured, not by what was authorized.
    await expectError(s.commerce.orders.refund(order.id, { amount: part + 1 }), 'INVALID_STATE')
    const refunded = await s.commerce.orders.refund(order.id, { amount: part })
    expect(refunded.payments[0]).toMatchObject({ status: 'refunded', refundedAmount: part })
  })

  it('refuses a partial capture when the provider cannot capture part of an authorization', async () => {
    const gateway = testPayments({ id: 'whole-only' })
    const wholeOnly: PaymentProvider = { ...gateway, capabilities: { ...gateway.capabilities, partialCapture: false } }
    const s = await open({ payments: [wholeOnly] })
    const order = await placeOrder(s, 1, 'whole-only')
    const error = await expectError(s.commerce.orders.capturePayment(order.id, { amount: order.totals.total - 1 }), 'VALIDATION')
    expect(error.message).toContain('whole-only')
    expect(gateway.calls.filter((c) => c.operation === 'capture')).toHaveLength(0)
    const captured = await s.commerce.orders.capturePayment(order.id)
    expect(captured.payments[0]).toMatchObject({ status: 'captured', capturedAmount: order.totals.total })
  })

  it('refuses to capture the payment of a canceled order', async () => {
    const s = await open()
    const order = await placeOrder(s)
    await s.commerce.orders.cancel(order.id)
    await expectError(s.commerce.orders.capturePayment(order.id), 'INVALID_STATE')
    expect(gatewayCalls(s, 'capture')).toHaveLength(0)
  })
})

describe('orders.fulfill', () => {
  it('commits the reserved stock: on-hand and reserved both go down and the reservations are committed', async () => {
    const s = await open()
    const events = record(s.commerce, 'order.fulfilled')
    const quantity = 2
    const [before] = await s.commerce.inventory.levels(s.variantId)
    const order = await placeOrder(s, quantity)
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ onHand: before!.onHand, reserved: quantity })

    const fulfilled = await s.commerce.orders.fulfill(order.id)
    expect(fulfilled.fulfillmentStatus).toBe('fulfilled')
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({
      onHand: before!.onHand - quantity,
      reserved: 0,
      available: before!.onHand - quantity,
    })
    expect(await reservations(s)).toEqual([{ status: 'committed', quantity, order_id: order.id }])
    expect(events.map((e) => e.payload)).toEqual([{ orderId: order.id, number: order.number }])

    // Fulfilling again changes nothing.
    await s.commerce.orders.fulfill(order.id)
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ onHand: before!.onHand - quantity, reserved: 0 })
    expect(events).toHaveLength(1)
  })

  it('refuses to fulfill a canceled order', async () => {
    const s = await open()
    const order = await placeOrder(s)
    await s.commerce.orders.cancel(order.id)
    await expectError(s.commerce.orders.fulfill(order.id), 'INVALID_STATE')
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ onHand: 10, reserved: 0 })
  })
})

describe('orders.cancel', () => {
  it('before capture, voids the authorization and releases the stock', async () => {
    const s = await open()
    const events = record(s.commerce, 'order.canceled', 'payment.voided', 'payment.refunded')
    const quantity = 3
    const order = await placeOrder(s, quantity)
    const payment = order.payments[0]!

    const canceled = await s.commerce.orders.cancel(order.id, { reason: 'customer changed their mind' })
    expect(canceled).toMatchObject({ status: 'canceled', paymentStatus: 'voided', fulfillmentStatus: 'unfulfilled' })
    expect(canceled.canceledAt).not.toBeNull()
    expect(canceled.payments[0]).toMatchObject({ status: 'voided', capturedAmount: 0, refundedAmount: 0 })
    expect(gatewayCalls(s, 'void')).toEqual([
      { operation: 'void', idempotencyKey: `${payment.id}:cancel`, amount: payment.authorizedAmount, currency: 'USD', charged: true },
    ])
    expect(gatewayCalls(s, 'refund')).toHaveLength(0)
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ onHand: 10, reserved: 0, available: 10 })
    expect(await reservations(s)).toEqual([{ status: 'released', quantity, order_id: order.id }])
    expect(events.map((e) => e.type)).toEqual(['order.canceled', 'payment.voided'])
    expect(events[0]!.payload).toEqual({ orderId: order.id, number: order.number, reason: 'customer changed their mind' })
    expect(events[1]!.payload).toMatchObject({ payment: { id: payment.id, status: 'voided' } })
  })

  it('after capture, refunds the captured amount', async () => {
    const s = await open()
    const events = record(s.commerce, 'order.canceled', 'payment.voided', 'payment.refunded')
    const order = await placeOrder(s)
    const payment = order.payments[0]!
    await s.commerce.orders.capturePayment(order.id)

    const canceled = await s.commerce.orders.cancel(order.id)
    expect(canceled).toMatchObject({ status: 'canceled', paymentStatus: 'refunded' })
    expect(canceled.payments[0]).toMatchObject({ status: 'refunded', capturedAmount: order.totals.total, refundedAmount: order.totals.total })
    expect(gatewayCalls(s, 'refund')).toEqual([
      { operation: 'refund', idempotencyKey: `${payment.id}:cancel`, amount: order.totals.total, currency: 'USD', charged: true },
    ])
    expect(gatewayCalls(s, 'void')).toHaveLength(0)
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ reserved: 0, available: 10 })
    expect(events.map((e) => e.type)).toEqual(['order.canceled', 'payment.refunded'])
    expect(events[1]!.payload).toMatchObject({ amount: order.totals.total, payment: { status: 'refunded', refundedAmount: order.totals.total } })
  })

  it('after a partial refund, refunds what is left of the captured amount', async () => {
    const s = await open()
    const order = await placeOrder(s)
    await s.commerce.orders.capturePayment(order.id)
    const first = 1000
    await s.commerce.orders.refund(order.id, { amount: first })

    const canceled = await s.commerce.orders.cancel(order.id)
    expect(canceled).toMatchObject({ status: 'canceled', paymentStatus: 'refunded' })
    expect(canceled.payments[0]).toMatchObject({ status: 'refunded', capturedAmount: order.totals.total, refundedAmount: order.totals.total })
    expect(gatewayCalls(s, 'refund').map((c) => c.amount)).toEqual([first, order.totals.total - first])
  })

  it('is a no-op when called twice: one void, one event', async () => {
    const s = await open()
    const events = record(s.commerce, 'order.canceled', 'payment.voided')
    const order = await placeOrder(s)
    const first = await s.commerce.orders.cancel(order.id)
    const second = await s.commerce.orders.cancel(order.id)
    expect(second).toEqual(first)
    expect(gatewayCalls(s, 'void')).toHaveLength(1)
    expect(events.map((e) => e.type)).toEqual(['order.canceled', 'payment.voided'])
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ reserved: 0, available: 10 })
  })

  it('refuses to cancel a fulfilled order, changing nothing', async () => {
    const s = await open()
    const order = await placeOrder(s)
    await s.commerce.orders.capturePayment(order.id)
    const fulfilled = await s.commerce.orders.fulfill(order.id)
    const error = await expectError(s.commerce.orders.cancel(order.id), 'INVALID_STATE')
    expect(error.details).toMatchObject({ orderId: order.id, fulfillmentStatus: 'fulfilled' })
    expect(await s.commerce.orders.get(order.id)).toEqual(fulfilled)
    expect(gatewayCalls(s, 'refund')).toHaveLength(0)
    expect(gatewayCalls(s, 'void')).toHaveLength(0)
  })

  it('lets an order.beforeCancel hook veto, leaving the order and its stock as they were', async () => {
    const s = await open()
    s.commerce.hooks.hook('order.beforeCancel', ({ reason }) => {
      if (!reason) throw new Error('a reason is required')
    })
    const order = await placeOrder(s)
    await expectError(s.commerce.orders.cancel(order.id), 'VETOED')
    expect(await s.commerce.orders.get(order.id)).toEqual(order)
    expect((await s.commerce.inventory.levels(s.variantId))[0]!.reserved).toBe(1)
    expect((await s.commerce.orders.cancel(order.id, { reason: 'fraud' })).status).toBe('canceled')
  })
})

describe('orders.refund', () => {
  it('refunds part, then the rest: partially_refunded, then refunded, then nothing more', async () => {
    const s = await open()
    const events = record(s.commerce, 'payment.refunded')
    const order = await placeOrder(s)
    await s.commerce.orders.capturePayment(order.id)
    const first = 2500
    const rest = order.totals.total - first

    const partly = await s.commerce.orders.refund(order.id, { amount: first, reason: 'damaged box' })
    expect(partly.paymentStatus).toBe('partially_refunded')
    expect(partly.payments[0]).toMatchObject({ status: 'partially_refunded', refundedAmount: first })

    const fully = await s.commerce.orders.refund(order.id, { amount: rest })
    expect(fully.paymentStatus).toBe('refunded')
    expect(fully.payments[0]).toMatchObject({ status: 'refunded', refundedAmount: order.totals.total })

    await expectError(s.commerce.orders.refund(order.id, { amount: 1 }), 'INVALID_STATE')
    expect(gatewayCalls(s, 'refund').map((c) => c.amount)).toEqual([first, rest])
    expect(new Set(gatewayCalls(s, 'refund').map((c) => c.idempotencyKey)).size).toBe(2)
    expect(events.map((e) => [e.payload.amount, e.payload.payment.status, e.payload.payment.refundedAmount])).toEqual([
      [first, 'partially_refunded', first],
      [rest, 'refunded', order.totals.total],
    ])
  })

  it('refuses to refund a payment that was never captured, without calling the gateway', async () => {
    const s = await open()
    const order = await placeOrder(s)
    await expectError(s.commerce.orders.refund(order.id, { amount: 100 }), 'INVALID_STATE')
    expect(gatewayCalls(s, 'refund')).toHaveLength(0)
    expect((await s.commerce.orders.get(order.id)).payments[0]).toMatchObject({ status: 'authorized', refundedAmount: 0 })
  })

  it('never refunds more than was captured when refunds race: 5 × 40% → exactly 2 succeed', async () => {
    const s = await open()
    const order = await placeOrder(s)
    await s.commerce.orders.capturePayment(order.id)
    const amount = Math.floor((order.totals.total * 40) / 100)
    const winners = Math.floor(order.totals.total / amount)
    expect(winners).toBe(2)

    const results = await Promise.allSettled(Array.from({ length: 5 }, () => s.commerce.orders.refund(order.id, { amount })))
    const succeeded = results.filter((r) => r.status === 'fulfilled')
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    expect(succeeded).toHaveLength(winners)
    expect(failed).toHaveLength(5 - winners)
    for (const error of failed) expect(isCommerceError(error, 'INVALID_STATE')).toBe(true)

    const after = await s.commerce.orders.get(order.id)
    expect(after.payments[0]).toMatchObject({ status: 'partially_refunded', capturedAmount: order.totals.total, refundedAmount: winners * amount })
    const refunds = gatewayCalls(s, 'refund')
    expect(refunds.filter((c) => c.charged)).toHaveLength(winners)
    expect(refunds.reduce((sum, c) => sum + c.amount, 0)).toBeLessThanOrEqual(order.totals.total)
  })
})

describe('orders.list, get and getByNumber', () => {
  it('pages through orders newest first with a cursor', async () => {
    let clock = Date.parse('2030-01-01T00:00:00.000Z')
    const s = await open({ now: () => new Date(clock) })
    const placed: Order[] = []
    for (let i = 0; i < 5; i++) {
      clock += 60_000
      placed.push(await placeOrder(s))
    }
    const newestFirst = [...placed].reverse().map((o) => o.id)

    const pages: string[][] = []
    let cursor: string | undefined
    for (;;) {
      const page = await s.commerce.orders.list({ limit: 2, ...(cursor ? { cursor } : {}) })
      pages.push(page.items.map((o) => o.id))
      if (!page.nextCursor) break
      cursor = page.nextCursor
    }
    expect(pages).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)])
    // A page holds whole orders, lines and payments included.
    expect((await s.commerce.orders.list({ limit: 1 })).items[0]).toEqual(placed[4])
    expect((await s.commerce.orders.list({ limit: 5 })).nextCursor).toBeNull()

    await s.commerce.orders.cancel(placed[1]!.id)
    expect((await s.commerce.orders.list({ status: 'canceled' })).items.map((o) => o.id)).toEqual([placed[1]!.id])
    await expectError(s.commerce.orders.list({ cursor: 'not-a-cursor' }), 'VALIDATION')
  })

  it('finds an order by id and by its sequential number, and says NOT_FOUND otherwise', async () => {
    const s = await open()
    const first = await placeOrder(s)
    const second = await placeOrder(s)
    expect(second.number).toBe(first.number + 1)
    expect(await s.commerce.orders.getByNumber(second.number)).toEqual(second)
    expect(await s.commerce.orders.get(first.id)).toEqual(first)
    await expectError(s.commerce.orders.getByNumber(second.number + 1), 'NOT_FOUND')
    await expectError(s.commerce.orders.get('order_missing'), 'NOT_FOUND')
  })
})
