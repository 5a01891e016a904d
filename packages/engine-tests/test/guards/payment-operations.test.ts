import { afterEach, describe, expect, it } from 'vitest'
import type { CommerceOptions, Order, PaymentCapabilities, PaymentDetails, TestPoints } from '@cartwright/core'
import { checkPaymentBooks, testGateway, type GatewayOperation, type TestGateway } from '@cartwright/testkit'
import { failure, gate, GUARDED_STORAGES, key, openShop, placed, readyCart, type Shop, type StorageKind } from '../support/index.js'

/**
 * Guards of the payment operations (payment-operations.ts) that a mutation run found untested
 * (see docs/mutation-testing.md), each forced at a test point rather than hoped for:
 * - settle once: when two senders of one operation both get the gateway's answer, only the first
 *   records it; the second reads what was recorded (succeeded or failed);
 * - leases: a retry under the key of an operation another caller is sending is a CONFLICT and sends
 *   nothing; an operation whose lease ran out (to the millisecond) is taken over by the retry, and
 *   the taker's new lease keeps a third caller out;
 * - a call without a key resumes the one capture or void left in doubt only when it asks for the
 *   same thing; anything else is a CONFLICT, and a refund without a key is always a new refund;
 * - a capture and a void of one payment never both go to the gateway, nor two voids;
 * - a key used by a void is not a capture's;
 * - with multi-capture, what is in flight and what was captured bound what can still be captured;
 * - a provider that cannot void is not asked to.
 * Every test compares the engine's books with the gateway's ledger.
 */

const NOW = Date.parse('2026-03-01T12:00:00.000Z')
const LEASE_MS = 60_000

type Point = 'payment.operation.before' | 'payment.operation.answered'

interface PaymentShop extends Shop {
  gateway: TestGateway
  /** Moves the engine's clock (it does not move by itself). */
  advance(ms: number): void
  /** Stops the next call of `kind` that reaches `point`; the caller releases it. */
  hold(point: Point, kind: 'capture' | 'void' | 'refund'): { reached: Promise<void>; release: () => void }
  order(): Promise<Order>
  payment(orderId: string): Promise<PaymentDetails>
  books(orderId: string): Promise<string[]>
  calls(operation: GatewayOperation): Array<{ idempotencyKey: string; amount: number; outcome: string }>
}

function shops(storage: StorageKind) {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })
  return async (options: { capabilities?: Partial<PaymentCapabilities> } & Partial<CommerceOptions> = {}): Promise<PaymentShop> => {
    const { capabilities, ...rest } = options
    const gateway = testGateway({ id: 'gateway', ...(capabilities ? { capabilities } : {}) })
    let clock = NOW
    const holds: Array<{ point: Point; kind: string; stop: (context: { kind: string }) => Promise<void> }> = []
    const at = (point: Point) => async (context: { kind: string }) => {
      const index = holds.findIndex((h) => h.point === point && h.kind === context.kind)
      if (index >= 0) await holds.splice(index, 1)[0]!.stop(context)
    }
    const testPoints: Partial<TestPoints> = { 'payment.operation.before': at('payment.operation.before'), 'payment.operation.answered': at('payment.operation.answered') }
    const shop = await openShop({ storage, payments: [gateway], stock: 100, now: () => new Date(clock), checkoutLeaseMs: LEASE_MS, testPoints, ...rest })
    open.push(shop)
    return Object.assign(shop, {
      gateway,
      advance: (ms: number) => void (clock += ms),
      hold(point: Point, kind: 'capture' | 'void' | 'refund') {
        const reached = gate()
        const released = gate()
        holds.push({
          point,
          kind,
          stop: async () => {
            reached.open()
            await released.promise
          },
        })
        return { reached: reached.promise, release: () => released.open() }
      },
      async order() {
        const cart = await readyCart(shop.commerce, shop.variantId, 1)
        return placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
      },
      async payment(orderId: string) {
        return (await shop.commerce.payments.list({ orderId })).items[0]!
      },
      books: (orderId: string) => checkPaymentBooks(shop.commerce, gateway, orderId),
      calls: (operation: GatewayOperation) =>
        gateway.calls.filter((c) => c.operation === operation).map((c) => ({ idempotencyKey: c.idempotencyKey, amount: c.amount, outcome: c.outcome })),
    })
  }
}

/** Settles `promise` into a result that can be asserted whatever its outcome. */
function settle<T>(promise: Promise<T>) {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error as { code?: string; details?: Record<string, unknown>; retryable?: boolean } }),
  )
}

describe.each(GUARDED_STORAGES)('settling an operation once, on %s', (storage) => {
  const open = shops(storage)

  it('records a capture once when its first sender settles after a retry took it over and settled: captured once, the books equal the gateway', async () => {
    const s = await open()
    const order = await s.order()
    const first = s.hold('payment.operation.answered', 'capture')
    const a = settle(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-once-1' }))
    await first.reached
    // A has the gateway's answer but has not recorded it; its lease runs out and B retries the key.
    s.advance(LEASE_MS + 1)
    const b = await s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-once-1' })
    expect(b.paymentStatus).toBe('captured')
    first.release()
    const resultA = await a
    expect(resultA.ok, String(resultA.ok ? '' : resultA.error)).toBe(true)

    const payment = await s.payment(order.id)
    expect(payment).toMatchObject({ status: 'captured', capturedAmount: order.totals.total })
    expect(payment.operations.map((o) => [o.kind, o.amount, o.status])).toEqual([['capture', order.totals.total, 'succeeded']])
    expect(s.calls('capture').map((c) => c.outcome)).toEqual(['done', 'replayed'])
    expect(await s.books(order.id)).toEqual([])
  })

  it('answers PAYMENT_FAILED to both senders of a refused capture, and records the refusal once', async () => {
    const s = await open()
    const order = await s.order()
    s.gateway.script('capture', 'refuse')
    const first = s.hold('payment.operation.answered', 'capture')
    const a = settle(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-once-2' }))
    await first.reached
    s.advance(LEASE_MS + 1)
    await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-once-2' }), 'PAYMENT_FAILED')
    first.release()
    const resultA = await a
    expect(resultA.ok).toBe(false)
    expect(!resultA.ok && resultA.error.code).toBe('PAYMENT_FAILED')

    const payment = await s.payment(order.id)
    expect(payment).toMatchObject({ status: 'authorized', capturedAmount: 0 })
    expect(payment.operations.map((o) => [o.kind, o.status])).toEqual([['capture', 'failed']])
    expect(await s.books(order.id)).toEqual([])
  })
})

describe.each(GUARDED_STORAGES)('leases of operations, on %s', (storage) => {
  const open = shops(storage)

  it('answers a retry under the key of a capture another caller is sending with a retryable CONFLICT, and sends it once', async () => {
    const s = await open()
    const order = await s.order()
    const sending = s.hold('payment.operation.before', 'capture')
    const a = settle(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-lease-1' }))
    await sending.reached

    const conflict = await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-lease-1' }), 'CONFLICT')
    expect(conflict.retryable).toBe(true)
    expect(conflict.details).toMatchObject({ kind: 'capture' })
    sending.release()
    expect((await a).ok).toBe(true)

    expect(s.calls('capture').map((c) => c.outcome)).toEqual(['done'])
    expect(await s.payment(order.id)).toMatchObject({ status: 'captured', capturedAmount: order.totals.total })
    expect(await s.books(order.id)).toEqual([])
  })

  it('lets a retry take over a lost capture when its lease ends, to the millisecond, and keeps a third caller out while the retry sends it', async () => {
    const s = await open()
    const order = await s.order()
    s.gateway.script('capture', 'lost')
    const lost = await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-lease-2' }), 'PAYMENT_FAILED')
    expect(lost.details.outcomeUnknown).toBe(true)
    // The clock has not moved: the lost capture's lease ends exactly now.
    const resending = s.hold('payment.operation.before', 'capture')
    const b = settle(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-lease-2' }))
    await Promise.race([resending.reached, b.then((r) => Promise.reject(new Error(`the retry ended without resending: ${JSON.stringify(r)}`)))])

    await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-lease-2' }), 'CONFLICT')
    resending.release()
    expect((await b).ok).toBe(true)

    expect(s.calls('capture').map((c) => c.outcome)).toEqual(['lost', 'replayed'])
    expect(await s.payment(order.id)).toMatchObject({ status: 'captured', capturedAmount: order.totals.total })
    expect(await s.books(order.id)).toEqual([])
  })
})

describe.each(GUARDED_STORAGES)('calls without a key after a lost answer, on %s', (storage) => {
  const open = shops(storage)

  it('resumes a lost capture only for a capture of the same amount; another amount, another key or a void is a CONFLICT', async () => {
    const s = await open()
    const order = await s.order()
    s.gateway.script('capture', 'lost')
    await failure(s.commerce.orders.capturePayment(order.id, { amount: 500 }), 'PAYMENT_FAILED')
    s.advance(1)

    await failure(s.commerce.orders.capturePayment(order.id, { amount: 300 }), 'CONFLICT')
    await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-other-key' }), 'CONFLICT')
    await failure(s.commerce.orders.voidPayment(order.id), 'CONFLICT')
    expect(await s.commerce.orders.capturePayment(order.id, { amount: 500 })).toMatchObject({ paymentStatus: 'partially_captured' })

    const payment = await s.payment(order.id)
    expect(payment).toMatchObject({ capturedAmount: 500 })
    expect(payment.operations.map((o) => [o.kind, o.amount, o.status])).toEqual([['capture', 500, 'succeeded']])
    expect(s.calls('capture').map((c) => c.outcome)).toEqual(['lost', 'replayed'])
    expect(s.calls('void')).toEqual([])
    expect(await s.books(order.id)).toEqual([])
  })

  it('resumes a lost void when voidPayment is called again without a key', async () => {
    const s = await open()
    const order = await s.order()
    s.gateway.script('void', 'lost')
    await failure(s.commerce.orders.voidPayment(order.id), 'PAYMENT_FAILED')
    s.advance(1)
    expect(await s.commerce.orders.voidPayment(order.id)).toMatchObject({ paymentStatus: 'voided' })
    expect((await s.payment(order.id)).operations.map((o) => [o.kind, o.status])).toEqual([['void', 'succeeded']])
    expect(s.calls('void').map((c) => c.outcome)).toEqual(['lost', 'replayed'])
    expect(await s.books(order.id)).toEqual([])
  })

  it('makes a new refund of a refund call without a key, even of the same amount as one left in doubt', async () => {
    const s = await open()
    const order = await s.order()
    await s.commerce.orders.capturePayment(order.id)
    s.gateway.script('refund', 'lost')
    await failure(s.commerce.orders.refund(order.id, { amount: 100 }), 'PAYMENT_FAILED')
    s.advance(1)
    await s.commerce.orders.refund(order.id, { amount: 100 })
    await s.commerce.payments.recover()

    const payment = await s.payment(order.id)
    expect(payment.refundedAmount).toBe(200)
    const refunds = payment.operations.filter((o) => o.kind === 'refund')
    expect(refunds.map((o) => [o.amount, o.status])).toEqual([
      [100, 'succeeded'],
      [100, 'succeeded'],
    ])
    expect(new Set(s.calls('refund').map((c) => c.idempotencyKey)).size).toBe(2)
    expect(await s.books(order.id)).toEqual([])
  })
})

describe.each(GUARDED_STORAGES)('one payment, one operation at a time, on %s', (storage) => {
  const open = shops(storage)

  it('refuses a capture while a void is in flight (retryable CONFLICT naming the void), and the capture never reaches the gateway', async () => {
    const s = await open()
    const order = await s.order()
    const voiding = s.hold('payment.operation.before', 'void')
    const a = settle(s.commerce.orders.voidPayment(order.id))
    await voiding.reached
    const conflict = await failure(s.commerce.orders.capturePayment(order.id), 'CONFLICT')
    expect(conflict.details).toMatchObject({ kind: 'void' })
    voiding.release()
    expect((await a).ok).toBe(true)
    expect(await s.payment(order.id)).toMatchObject({ status: 'voided', capturedAmount: 0 })
    expect(s.calls('capture')).toEqual([])
    expect(await s.books(order.id)).toEqual([])
  })

  it('refuses a void while a capture is in flight, and a second void while a void is in flight', async () => {
    const s = await open()
    const captured = await s.order()
    const capturing = s.hold('payment.operation.before', 'capture')
    const a = settle(s.commerce.orders.capturePayment(captured.id))
    await capturing.reached
    expect((await failure(s.commerce.orders.voidPayment(captured.id), 'CONFLICT')).details).toMatchObject({ kind: 'capture' })
    capturing.release()
    expect((await a).ok).toBe(true)
    expect(await s.payment(captured.id)).toMatchObject({ status: 'captured' })

    const voided = await s.order()
    const voiding = s.hold('payment.operation.before', 'void')
    const b = settle(s.commerce.orders.voidPayment(voided.id, { idempotencyKey: 'void-first-0001' }))
    await voiding.reached
    await failure(s.commerce.orders.voidPayment(voided.id, { idempotencyKey: 'void-second-001' }), 'CONFLICT')
    voiding.release()
    expect((await b).ok).toBe(true)

    expect(s.calls('void').map((c) => c.outcome)).toEqual(['done'])
    for (const order of [captured, voided]) expect(await s.books(order.id)).toEqual([])
  })

  it("refuses a capture under a void's key (CONFLICT), and captures nothing", async () => {
    const s = await open()
    const order = await s.order()
    await s.commerce.orders.voidPayment(order.id, { idempotencyKey: 'void-key-00001' })
    await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'void-key-00001' }), 'CONFLICT')
    expect(s.calls('capture')).toEqual([])
    expect(await s.payment(order.id)).toMatchObject({ status: 'voided', capturedAmount: 0 })
  })

  it('does not ask a provider that cannot void to void (INVALID_STATE), and answers NOT_FOUND for an unknown order', async () => {
    const s = await open({ capabilities: { void: false } })
    const order = await s.order()
    await failure(s.commerce.orders.voidPayment(order.id), 'INVALID_STATE')
    expect(s.calls('void')).toEqual([])
    expect(await s.payment(order.id)).toMatchObject({ status: 'authorized' })
    await failure(s.commerce.orders.capturePayment('order_missing'), 'NOT_FOUND')
  })
})

describe.each(GUARDED_STORAGES)('multi-capture bounds, on %s', (storage) => {
  const open = shops(storage)

  it('never admits a capture beyond what is authorized, counting captures in flight and captured, and none after the whole was captured', async () => {
    const s = await open({ capabilities: { multiCapture: true } })
    const order = await s.order()
    const total = order.totals.total
    const capturing = s.hold('payment.operation.before', 'capture')
    const a = settle(s.commerce.orders.capturePayment(order.id, { amount: total - 100 }))
    await capturing.reached
    // 100 left while total - 100 is in flight.
    expect((await failure(s.commerce.orders.capturePayment(order.id, { amount: 200 }), 'VALIDATION')).details.issues).toEqual([expect.objectContaining({ path: 'amount' })])
    capturing.release()
    expect((await a).ok).toBe(true)
    // 100 left after total - 100 was captured.
    await failure(s.commerce.orders.capturePayment(order.id, { amount: 200 }), 'VALIDATION')
    // The last 100 in flight: nothing left for a capture of "the rest".
    const last = s.hold('payment.operation.before', 'capture')
    const b = settle(s.commerce.orders.capturePayment(order.id, { amount: 100 }))
    await last.reached
    await failure(s.commerce.orders.capturePayment(order.id), 'INVALID_STATE')
    last.release()
    expect((await b).ok).toBe(true)
    // All of it captured: no capture of any amount.
    await failure(s.commerce.orders.capturePayment(order.id, { amount: 1 }), 'INVALID_STATE')

    const payment = await s.payment(order.id)
    expect(payment).toMatchObject({ status: 'captured', capturedAmount: total })
    expect(payment.operations.map((o) => [o.amount, o.status]).sort(([a], [b]) => Number(b) - Number(a))).toEqual([
      [total - 100, 'succeeded'],
      [100, 'succeeded'],
    ])
    expect(s.calls('capture').map((c) => c.amount)).toEqual([total - 100, 100])
    expect(await s.books(order.id)).toEqual([])
  })
})
