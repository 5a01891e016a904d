import { afterEach, describe, expect, it } from 'vitest'
import type { CommerceOptions, Order, TestPoints } from '@cartwright/core'
import { checkPaymentBooks, testGateway, type TestGateway } from '@cartwright/testkit'
import { failure, gate, GUARDED_STORAGES, key, openShop, placed as orderOf, readyCart, until, type Shop, type StorageKind } from '../support/index.js'

/**
 * Guards of orders.cancel, voidPayment and the amount inputs (order-service.ts) that a mutation
 * run found untested (see docs/mutation-testing.md):
 * - a cancel's idempotency key belongs to one operation: a key already used by a capture, or by an
 *   operation of another order, is a CONFLICT and nothing moves;
 * - only a placed, unfulfilled order can be canceled;
 * - a cancel refunds only what is not already being refunded, and a refund in flight is not
 *   mistaken for a capture in flight;
 * - a cancel resumes a void whose sender is gone (lease run out, even to the millisecond) and
 *   never resends one that another caller holds the lease of, a lease it just took included;
 * - a refused void or cancel says so with PAYMENT_FAILED, and a retry with the same key sends a
 *   new void under a key of its own;
 * - amounts of refunds and captures are positive.
 * Every test compares the engine's books with the gateway's ledger.
 */

const NOW = Date.parse('2026-03-01T12:00:00.000Z')

/** `promise`, or a failure naming `what` once `ms` have passed: a guard that is gone must fail the test, not hang it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)))
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

interface CancelShop extends Shop {
  gateway: TestGateway
  order(): Promise<Order>
  books(orderId: string): Promise<string[]>
  voids(): Array<{ idempotencyKey: string; outcome: string }>
}

function shops(storage: StorageKind) {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })
  return async (options: Partial<CommerceOptions> = {}): Promise<CancelShop> => {
    const gateway = testGateway({ id: 'gateway' })
    const shop = await openShop({ storage, payments: [gateway], stock: 100, ...options })
    open.push(shop)
    return Object.assign(shop, {
      gateway,
      async order() {
        const cart = await readyCart(shop.commerce, shop.variantId, 1)
        return orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
      },
      books: (orderId: string) => checkPaymentBooks(shop.commerce, gateway, orderId),
      voids: () => gateway.calls.filter((c) => c.operation === 'void').map((c) => ({ idempotencyKey: c.idempotencyKey, outcome: c.outcome })),
    })
  }
}

describe.each(GUARDED_STORAGES)('orders.cancel and its guards, on %s', (storage) => {
  const open = shops(storage)

  it("refuses a key already used by this order's capture or by another order's refund with CONFLICT, and moves nothing", async () => {
    const s = await open()
    const captured = await s.order()
    await s.commerce.orders.capturePayment(captured.id, { idempotencyKey: 'capture-key-0001' })
    const other = await s.order()
    await s.commerce.orders.capturePayment(other.id)
    await s.commerce.orders.refund(other.id, { amount: 100, idempotencyKey: 'refund-key-0001' })
    const placed = await s.order()

    await failure(s.commerce.orders.cancel(captured.id, { idempotencyKey: 'capture-key-0001' }), 'CONFLICT')
    await failure(s.commerce.orders.cancel(placed.id, { idempotencyKey: 'refund-key-0001' }), 'CONFLICT')

    expect(await s.commerce.orders.get(captured.id)).toMatchObject({ status: 'placed', paymentStatus: 'captured' })
    expect(await s.commerce.orders.get(placed.id)).toMatchObject({ status: 'placed', paymentStatus: 'authorized' })
    expect(s.voids()).toEqual([])
    expect(s.gateway.calls.filter((c) => c.operation === 'refund')).toHaveLength(1)
    expect((await s.commerce.inventory.reservations({ orderId: placed.id })).map((r) => r.status)).toEqual(['held'])
    for (const order of [captured, other, placed]) expect(await s.books(order.id)).toEqual([])
  })

  it('refuses to cancel a fulfilled order whose payment is not captured (INVALID_STATE): no stock released, no void', async () => {
    const s = await open()
    const order = await s.order()
    const fulfilled = await s.commerce.orders.fulfill(order.id)
    expect(fulfilled).toMatchObject({ status: 'placed', fulfillmentStatus: 'fulfilled', paymentStatus: 'authorized' })

    const error = await failure(s.commerce.orders.cancel(order.id), 'INVALID_STATE')

    expect(error.details).toMatchObject({ orderId: order.id, status: 'placed', fulfillmentStatus: 'fulfilled' })
    expect(await s.commerce.orders.get(order.id)).toEqual(fulfilled)
    expect(s.voids()).toEqual([])
    expect((await s.commerce.inventory.reservations({ orderId: order.id })).map((r) => r.status)).toEqual(['committed'])
    expect(await s.books(order.id)).toEqual([])
  })

  it('cancels while a refund is in flight, refunding only the rest: never more than was captured', async () => {
    const s = await open()
    const order = await s.order()
    await s.commerce.orders.capturePayment(order.id)
    const answer = gate()
    s.gateway.script('refund', { until: answer.promise })
    const refunding = s.commerce.orders.refund(order.id, { amount: 1000, idempotencyKey: 'refund-in-flight' })
    refunding.catch(() => undefined)
    // Claimed (pending, its lease held by the refunding call) and waiting for the gateway's answer.
    await until(async () => {
      const operations = (await s.commerce.payments.list({ orderId: order.id })).items[0]!.operations
      return operations.some((o) => o.kind === 'refund' && o.status === 'pending') ? true : undefined
    }, 'the refund to be claimed')

    const canceled = await within(s.commerce.orders.cancel(order.id), 5_000, 'the cancel').finally(() => answer.open())

    expect(canceled.status).toBe('canceled')
    await refunding
    const payment = (await s.commerce.payments.list({ orderId: order.id })).items[0]!
    expect(payment).toMatchObject({ status: 'refunded', capturedAmount: order.totals.total, refundedAmount: order.totals.total })
    expect(payment.operations.filter((o) => o.kind === 'refund').map((o) => [o.amount, o.status])).toEqual([
      [1000, 'succeeded'],
      [order.totals.total - 1000, 'succeeded'],
    ])
    expect(s.gateway.chargeFor(payment.id)).toMatchObject({ captured: order.totals.total, refunded: order.totals.total })
    expect(await s.books(order.id)).toEqual([])
  })

  it('resumes a lost void once its lease has run out, to the millisecond, and never resends one another cancel is sending', async () => {
    let hold = false
    const reached = gate()
    const release = gate()
    const atSend: TestPoints['payment.operation.before'] = async ({ kind }) => {
      if (kind !== 'void' || !hold) return
      hold = false
      reached.open()
      await release.promise
    }
    // A clock that does not move: the lost void's lease ends exactly at "now".
    const s = await open({ now: () => new Date(NOW), testPoints: { 'payment.operation.before': atSend } })
    const order = await s.order()
    s.gateway.script('void', 'lost')
    const lost = await failure(s.commerce.orders.cancel(order.id), 'PAYMENT_FAILED')
    const voidId = (await s.commerce.payments.list({ orderId: order.id })).items[0]!.operations[0]!.id
    expect(lost.details).toMatchObject({ orderId: order.id, operationIds: [voidId], outcomeUnknown: true })

    // A resumes the void (taking its lease) and stops before the gateway; B comes meanwhile.
    hold = true
    const a = s.commerce.orders.cancel(order.id)
    a.catch(() => undefined)
    await within(
      Promise.race([reached.promise, a.then(() => Promise.reject(new Error('the cancel finished without resending the lost void')))]),
      5_000,
      'the resumed void',
    )
    const b = await within(s.commerce.orders.cancel(order.id), 5_000, 'the second cancel').finally(() => release.open())
    expect(b).toMatchObject({ status: 'canceled', paymentStatus: 'authorized' })
    expect(await a).toMatchObject({ status: 'canceled', paymentStatus: 'voided' })

    // One void operation, sent twice under its own key: lost, then replayed by the gateway.
    const payment = (await s.commerce.payments.list({ orderId: order.id })).items[0]!
    expect(payment.operations.map((o) => [o.id, o.kind, o.status])).toEqual([[voidId, 'void', 'succeeded']])
    expect(s.voids()).toEqual([
      { idempotencyKey: payment.operations[0]!.gatewayKey, outcome: 'lost' },
      { idempotencyKey: payment.operations[0]!.gatewayKey, outcome: 'replayed' },
    ])
    expect(await s.books(order.id)).toEqual([])
  })

  it('says PAYMENT_FAILED without outcomeUnknown when the gateway refuses the void, and a retry with the same key sends a new void', async () => {
    const s = await open()
    const order = await s.order()
    s.gateway.script('void', 'refuse')
    const refused = await failure(s.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-key-0001' }), 'PAYMENT_FAILED')
    expect(refused.details.outcomeUnknown).toBeUndefined()

    expect(await s.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-key-0001' })).toMatchObject({ status: 'canceled', paymentStatus: 'voided' })

    const operations = (await s.commerce.payments.list({ orderId: order.id })).items[0]!.operations
    expect(operations.map((o) => [o.kind, o.status])).toEqual([
      ['void', 'failed'],
      ['void', 'succeeded'],
    ])
    // The caller's key stays with the first void; the second has a key of its own.
    expect(operations[0]!.idempotencyKey).toBe('cancel-key-0001')
    expect(operations[1]!.idempotencyKey).toBe(operations[1]!.id)
    expect(s.voids().map((v) => v.outcome)).toEqual(['refused', 'done'])
    expect(await s.books(order.id)).toEqual([])
  })
})

describe.each(GUARDED_STORAGES)('orders.voidPayment, refund and capturePayment amounts, on %s', (storage) => {
  const open = shops(storage)

  it('throws PAYMENT_FAILED when the gateway refuses a void, and the payment stays authorized', async () => {
    const s = await open()
    const order = await s.order()
    s.gateway.script('void', 'refuse')
    const error = await failure(s.commerce.orders.voidPayment(order.id), 'PAYMENT_FAILED')
    expect(error.details).toMatchObject({ orderId: order.id })
    expect(await s.commerce.orders.get(order.id)).toMatchObject({ status: 'placed', paymentStatus: 'authorized' })
    expect(await s.books(order.id)).toEqual([])
  })

  it('refuses a refund or capture of 0 with VALIDATION naming amount, and sends nothing', async () => {
    const s = await open()
    const order = await s.order()
    const capture = await failure(s.commerce.orders.capturePayment(order.id, { amount: 0 }), 'VALIDATION')
    expect(capture.details.issues).toEqual([expect.objectContaining({ path: 'amount' })])
    await s.commerce.orders.capturePayment(order.id)
    const refund = await failure(s.commerce.orders.refund(order.id, { amount: 0 }), 'VALIDATION')
    expect(refund.details.issues).toEqual([expect.objectContaining({ path: 'amount' })])
    expect((await s.commerce.payments.list({ orderId: order.id })).items[0]!.operations.map((o) => o.kind)).toEqual(['capture'])
    expect(s.gateway.calls.map((c) => c.operation)).toEqual(['authorize', 'capture'])
    expect(await s.books(order.id)).toEqual([])
  })
})
