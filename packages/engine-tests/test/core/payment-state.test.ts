import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import {
  assertTransition,
  canTransition,
  isCommerceError,
  paymentChangeProblems,
  paymentStateMachine,
  type CommerceOptions,
  type Order,
  type PaymentCapabilities,
  type PaymentStatus,
  type TestPoints,
} from '@cartwright/core'
import { checkPaymentBooks, testGateway, type GatewayBehaviour, type GatewayOperation, type TestGateway } from '@cartwright/testkit'
import { failure, GUARDED_STORAGES, key, openShop, placed, readyCart, type Shop, type StorageKind } from '../support/index.js'

/**
 * The payment state machine (payment-state.ts): exported as data, refusing every change it does
 * not list with INVALID_STATE and changing nothing, through the API and in storage; and the money
 * bounds under concurrency: 10 captures of one authorization at once, 10 refunds at once, the
 * books equal to the gateway's ledger after each.
 */

const ALL: PaymentStatus[] = ['pending', 'requires_action', 'authorized', 'partially_captured', 'captured', 'partially_refunded', 'refunded', 'voided', 'declined']

/** The changes of status a payment may make, written out independently of the machine: the machine must list exactly these. */
const ALLOWED = new Set([
  'pending>authorized',
  'pending>captured',
  'pending>declined',
  'pending>requires_action',
  'pending>voided',
  'requires_action>authorized',
  'requires_action>captured',
  'requires_action>declined',
  'requires_action>voided',
  'authorized>partially_captured',
  'authorized>captured',
  'authorized>voided',
  'partially_captured>partially_refunded',
  'partially_captured>refunded',
  'captured>partially_refunded',
  'captured>refunded',
  'partially_refunded>partially_refunded',
  'partially_refunded>refunded',
])
/** Allowed only for a provider that captures an authorization several times. */
const MULTI_CAPTURE = new Set(['partially_captured>partially_captured', 'partially_captured>captured'])

describe('the payment state machine, as data', () => {
  it('names every PaymentStatus as a state, and no other', () => {
    expectTypeOf<(typeof paymentStateMachine.states)[number]>().toEqualTypeOf<PaymentStatus>()
    expect([...paymentStateMachine.states].sort()).toEqual([...ALL].sort())
    expect(paymentStateMachine.initial).toBe('pending')
    expect([...paymentStateMachine.final].sort()).toEqual(['declined', 'refunded', 'voided'])
  })

  it('lists exactly the allowed transitions, each with its cause, the multi-capture ones marked', () => {
    const listed = paymentStateMachine.transitions.map((t) => `${t.from}>${t.to}`)
    expect(new Set(listed).size).toBe(listed.length)
    expect(new Set(listed)).toEqual(new Set([...ALLOWED, ...MULTI_CAPTURE]))
    for (const t of paymentStateMachine.transitions) {
      expect(t.on.length, `${t.from}>${t.to} has a cause`).toBeGreaterThan(0)
      expect(t.requires === 'multiCapture', `${t.from}>${t.to}`).toBe(MULTI_CAPTURE.has(`${t.from}>${t.to}`))
    }
  })

  it(`refuses every one of the ${ALL.length ** 2 - ALLOWED.size} illegal (from, to) pairs with INVALID_STATE naming both states (${MULTI_CAPTURE.size} of them allowed for a multi-capture provider)`, () => {
    let illegal = 0
    for (const from of ALL) {
      for (const to of ALL) {
        const pair = `${from}>${to}`
        expect(canTransition(from, to), pair).toBe(ALLOWED.has(pair))
        expect(canTransition(from, to, { multiCapture: true }), pair).toBe(ALLOWED.has(pair) || MULTI_CAPTURE.has(pair))
        if (ALLOWED.has(pair)) {
          expect(() => assertTransition(from, to)).not.toThrow()
          continue
        }
        illegal++
        if (MULTI_CAPTURE.has(pair)) expect(() => assertTransition(from, to, { multiCapture: true })).not.toThrow()
        const error = failure(() => assertTransition(from, to, { paymentId: 'pay_1' }), 'INVALID_STATE')
        expect(error.details, pair).toMatchObject({ from, to, paymentId: 'pay_1' })
        expect(error.message, pair).toContain(`from ${from} to ${to}`)
      }
    }
    expect(illegal).toBe(ALL.length ** 2 - ALLOWED.size)
  })

  it('its guards catch a change that moves back, overshoots or shrinks, and pass every listed transition', () => {
    const captured = { status: 'captured', authorizedAmount: 1000, capturedAmount: 1000, refundedAmount: 0 } as const
    expect(paymentChangeProblems(captured, { ...captured, status: 'authorized', capturedAmount: 0 })).toEqual(['transition', 'never_backwards', 'amounts_never_shrink'])
    expect(paymentChangeProblems(captured, { ...captured, status: 'refunded', refundedAmount: 1200 })).toEqual(['refunded_within_captured'])
    expect(paymentChangeProblems({ ...captured, status: 'authorized', capturedAmount: 0 }, { ...captured, capturedAmount: 1100 })).toEqual(['captured_within_authorized'])
    expect(paymentChangeProblems(captured, { ...captured, authorizedAmount: 2000 })).toEqual(['transition', 'amounts_never_shrink'])
    expect(paymentChangeProblems(captured, { ...captured, status: 'voided' })).toEqual(['transition'])
    expect(paymentChangeProblems(captured, captured)).toEqual([])
    expect(paymentStateMachine.guards.map((g) => g.name)).toEqual(['never_backwards', 'captured_within_authorized', 'refunded_within_captured', 'amounts_never_shrink'])
    const forward = paymentStateMachine.guards.find((g) => g.name === 'never_backwards')!
    for (const t of paymentStateMachine.transitions) {
      const at = (status: PaymentStatus) => ({ status, authorizedAmount: 0, capturedAmount: 0, refundedAmount: 0 })
      expect(forward.holds(at(t.from), at(t.to)), `${t.from}>${t.to}`).toBe(true)
    }
  })
})

const NOW = Date.parse('2026-03-01T12:00:00.000Z')
const LEASE_MS = 60_000

interface StateShop extends Shop {
  gateway: TestGateway
  /** Moves the engine's clock (it does not move by itself): past a lease, for recovery. */
  advance(ms: number): void
  order(): Promise<Order>
  /** Everything stored about the order's money, and what the gateway was asked: equal before and after a refused call. */
  stored(orderId: string): Promise<unknown>
  books(orderId: string): Promise<string[]>
  calls(operation: GatewayOperation): number
}

function shops(storage: StorageKind) {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })
  return async (
    options: { capabilities?: Partial<PaymentCapabilities>; defaults?: Partial<Record<GatewayOperation, GatewayBehaviour>> } & Partial<CommerceOptions> = {},
  ): Promise<StateShop> => {
    const { capabilities, defaults, ...rest } = options
    const gateway = testGateway({ id: 'gateway', ...(capabilities ? { capabilities } : {}), ...(defaults ? { defaults } : {}) })
    let clock = NOW
    const shop = await openShop({ storage, payments: [gateway], stock: 100, now: () => new Date(clock), checkoutLeaseMs: LEASE_MS, ...rest })
    open.push(shop)
    const db = shop.commerce.db
    return Object.assign(shop, {
      gateway,
      advance: (ms: number) => void (clock += ms),
      async order() {
        const cart = await readyCart(shop.commerce, shop.variantId, 1)
        return placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
      },
      async stored(orderId: string) {
        return {
          order: await db.selectFrom('cw_orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow(),
          payments: await db.selectFrom('cw_payments').selectAll().where('order_id', '=', orderId).orderBy('id').execute(),
          operations: await db.selectFrom('cw_payment_operations').selectAll().where('order_id', '=', orderId).orderBy('id').execute(),
          outbox: (await db.selectFrom('cw_outbox').select('id').execute()).length,
          gatewayCalls: gateway.calls.length,
          ledger: gateway.charges(),
        }
      },
      books: (orderId: string) => checkPaymentBooks(shop.commerce, gateway, orderId),
      calls: (operation: GatewayOperation) => gateway.calls.filter((c) => c.operation === operation).length,
    })
  }
}

describe.each(GUARDED_STORAGES)('illegal transitions through the API change nothing, on %s', (storage) => {
  const open = shops(storage)

  /** Makes the call, expects INVALID_STATE naming `from` and `to`, and nothing stored or sent. */
  async function refused(s: StateShop, order: Order, call: () => Promise<unknown>, from: PaymentStatus, to: PaymentStatus) {
    const before = await s.stored(order.id)
    const error = await failure(call(), 'INVALID_STATE', `${from} > ${to}`)
    expect(error.details, `${from} > ${to}`).toMatchObject({ from, to })
    expect(error.message).toContain(`from ${from} to ${to}`)
    expect(await s.stored(order.id)).toEqual(before)
  }

  it('capture after void, void after void, refund after void', async () => {
    const s = await open()
    const order = await s.order()
    await s.commerce.orders.voidPayment(order.id)
    await refused(s, order, () => s.commerce.orders.capturePayment(order.id), 'voided', 'captured')
    await refused(s, order, () => s.commerce.orders.capturePayment(order.id, { amount: 100, idempotencyKey: key() }), 'voided', 'partially_captured')
    await refused(s, order, () => s.commerce.orders.voidPayment(order.id, { idempotencyKey: key() }), 'voided', 'voided')
    await refused(s, order, () => s.commerce.orders.refund(order.id, { amount: 100 }), 'voided', 'refunded')
    expect(s.calls('capture') + s.calls('refund')).toBe(0)
    expect(await s.books(order.id)).toEqual([])
  })

  it('refund before capture, then void after capture, capture after capture', async () => {
    const s = await open()
    const order = await s.order()
    await refused(s, order, () => s.commerce.orders.refund(order.id, { amount: 100 }), 'authorized', 'refunded')
    await s.commerce.orders.capturePayment(order.id)
    await refused(s, order, () => s.commerce.orders.voidPayment(order.id), 'captured', 'voided')
    await refused(s, order, () => s.commerce.orders.capturePayment(order.id, { amount: 1, idempotencyKey: key() }), 'captured', 'captured')
    expect(s.calls('void')).toBe(0)
    expect(await s.books(order.id)).toEqual([])
  })

  it('a second capture of a partly captured payment when the provider captures once; capture and void of a refunded one', async () => {
    const s = await open()
    const order = await s.order()
    await s.commerce.orders.capturePayment(order.id, { amount: 1000 })
    await refused(s, order, () => s.commerce.orders.capturePayment(order.id, { amount: 100 }), 'partially_captured', 'partially_captured')
    await refused(s, order, () => s.commerce.orders.capturePayment(order.id), 'partially_captured', 'captured')
    await refused(s, order, () => s.commerce.orders.voidPayment(order.id), 'partially_captured', 'voided')
    await s.commerce.orders.refund(order.id, { amount: 1000 })
    await refused(s, order, () => s.commerce.orders.capturePayment(order.id, { amount: 100 }), 'refunded', 'partially_captured')
    await refused(s, order, () => s.commerce.orders.voidPayment(order.id), 'refunded', 'voided')
    expect(s.calls('capture')).toBe(1)
    expect(await s.books(order.id)).toEqual([])
  })

  // A declined payment never has an order, so no order operation can reach it: the storage guard
  // below is what refuses moving one on, whoever asks.
})

describe.each(GUARDED_STORAGES)('the conditional write of a payment, on %s', (storage) => {
  const open = shops(storage)

  it('refuses to record a capture when the payment changed under it after it was read (a declined payment is never captured): nothing recorded, then recovery records it once', async () => {
    let slip: PaymentStatus | null = 'declined'
    const testPoints: Partial<TestPoints> = {
      // A write that slipped past the lock: the payment is no longer what settle read.
      'payment.operation.settling': async ({ paymentId, tx }) => {
        if (slip) await tx.updateTable('cw_payments').set({ status: slip }).where('id', '=', paymentId).execute()
      },
    }
    const s = await open({ testPoints })
    const order = await s.order()
    const before = await s.stored(order.id)
    const error = await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'slipped-capture' }), 'INVALID_STATE')
    expect(error.details).toMatchObject({ from: 'declined', to: 'captured', expected: 'authorized', actual: 'declined' })
    const after = (await s.stored(order.id)) as { payments: unknown; order: unknown; operations: Array<{ status: string }> }
    // The gateway captured; storage recorded nothing: the payment as it was, the capture still pending for a retry.
    expect(after.payments).toEqual((before as typeof after).payments)
    expect(after.order).toEqual((before as typeof after).order)
    expect(after.operations.map((o) => o.status)).toEqual(['pending'])
    expect(s.gateway.charges()[0]).toMatchObject({ captured: order.totals.total })

    slip = null
    s.advance(LEASE_MS)
    expect(await s.books(order.id)).toEqual([])
    const payment = (await s.commerce.payments.list({ orderId: order.id })).items[0]!
    expect(payment).toMatchObject({ status: 'captured', capturedAmount: order.totals.total })
    expect(payment.operations.map((o) => [o.kind, o.status])).toEqual([['capture', 'succeeded']])
  })

  it('refuses to place an order when its payment changed under the placement (declined meanwhile): no order, nothing written; recovery then places it once', async () => {
    let slip = true
    const s = await open({
      testPoints: {
        'checkout.place.before': async ({ paymentId, tx }) => {
          if (slip) await tx.updateTable('cw_payments').set({ status: 'declined' }).where('id', '=', paymentId).execute()
        },
      },
    })
    const cart = await readyCart(s.commerce, s.variantId, 1)
    const error = await failure(s.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }), 'INVALID_STATE')
    expect(error.details).toMatchObject({ from: 'declined', to: 'authorized', expected: 'pending', actual: 'declined' })
    const db = s.commerce.db
    expect(await db.selectFrom('cw_orders').select('id').execute()).toEqual([])
    expect(await db.selectFrom('cw_payments').select(['status', 'order_id']).where('cart_id', '=', cart.id).execute()).toEqual([{ status: 'pending', order_id: null }])
    expect(await db.selectFrom('cw_carts').select('status').where('id', '=', cart.id).executeTakeFirstOrThrow()).toEqual({ status: 'completing' })

    slip = false
    s.advance(LEASE_MS)
    expect(await s.commerce.checkout.recover()).toMatchObject({ placed: 1 })
    const orders = await db.selectFrom('cw_orders').select(['id', 'payment_status']).where('cart_id', '=', cart.id).execute()
    expect(orders).toEqual([{ id: expect.any(String), payment_status: 'authorized' }])
    expect(s.gateway.charges()).toHaveLength(1)
    expect(await s.books(orders[0]!.id)).toEqual([])
  })

  it('answers a retryable CONFLICT when the payment moved on legally under a refund (another refund slipped in), and records nothing', async () => {
    let slip = false
    const s = await open({
      testPoints: {
        'payment.operation.settling': async ({ paymentId, kind, tx }) => {
          if (slip && kind === 'refund') await tx.updateTable('cw_payments').set({ status: 'partially_refunded', refunded_amount: 1 }).where('id', '=', paymentId).execute()
        },
      },
    })
    const order = await s.order()
    await s.commerce.orders.capturePayment(order.id)
    const before = await s.stored(order.id)
    slip = true
    const error = await failure(s.commerce.orders.refund(order.id, { amount: 500 }), 'CONFLICT')
    expect(error.retryable).toBe(true)
    expect(error.details).toMatchObject({ expected: 'captured', actual: 'partially_refunded' })
    const after = (await s.stored(order.id)) as { payments: unknown }
    expect(after.payments).toEqual((before as typeof after).payments)
    slip = false
    s.advance(LEASE_MS)
    expect(await s.books(order.id)).toEqual([])
  })
})

describe.each(GUARDED_STORAGES)('money bounds under concurrency, on %s', (storage) => {
  const open = shops(storage)
  const codes = (results: PromiseSettledResult<unknown>[]) =>
    results.flatMap((r) => (r.status === 'rejected' ? [isCommerceError(r.reason) ? r.reason.code : String(r.reason)] : []))

  it('10 concurrent partial captures of one authorization with a provider that captures once: exactly one wins, the rest is released', async () => {
    const s = await open({ defaults: { capture: { delayMs: 20 } } })
    const order = await s.order()
    const part = Math.floor(order.totals.total / 10)
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.commerce.orders.capturePayment(order.id, { amount: part, idempotencyKey: `capture-10-${i}` })))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const code of codes(results)) expect(['CONFLICT', 'INVALID_STATE']).toContain(code)
    expect(await s.books(order.id)).toEqual([])
    const payment = (await s.commerce.payments.list({ orderId: order.id })).items[0]!
    expect(payment).toMatchObject({ status: 'partially_captured', capturedAmount: part, authorizedAmount: order.totals.total })
    expect(s.gateway.charges()[0]).toMatchObject({ captured: part, captures: 1 })
    // The rest was released: nothing more can be captured.
    await failure(s.commerce.orders.capturePayment(order.id, { amount: 1 }), 'INVALID_STATE')
    expect(s.calls('capture')).toBe(1)
  })

  it('10 concurrent 20% captures with a multi-capture provider: captured never passes the authorization (exactly 5 fit)', async () => {
    const s = await open({ capabilities: { multiCapture: true }, defaults: { capture: { delayMs: 10 } } })
    const order = await s.order()
    const part = Math.floor(order.totals.total / 5)
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.commerce.orders.capturePayment(order.id, { amount: part, idempotencyKey: `multi-10-${i}` })))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5)
    for (const code of codes(results)) expect(['VALIDATION', 'INVALID_STATE']).toContain(code)
    expect(await s.books(order.id)).toEqual([])
    const payment = (await s.commerce.payments.list({ orderId: order.id })).items[0]!
    expect(payment.capturedAmount).toBe(5 * part)
    expect(payment.capturedAmount).toBeLessThanOrEqual(payment.authorizedAmount)
    expect(s.gateway.charges()[0]).toMatchObject({ captured: 5 * part, captures: 5 })
  })

  it('10 concurrent 20% refunds of a captured payment: refunded never passes captured (exactly 5 fit)', async () => {
    const s = await open({ defaults: { refund: { delayMs: 10 } } })
    const order = await s.order()
    await s.commerce.orders.capturePayment(order.id)
    expect(await s.books(order.id)).toEqual([])
    const part = Math.floor(order.totals.total / 5)
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.commerce.orders.refund(order.id, { amount: part, idempotencyKey: `refund-10-${i}` })))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5)
    for (const code of codes(results)) expect(code).toBe('VALIDATION')
    expect(await s.books(order.id)).toEqual([])
    const payment = (await s.commerce.payments.list({ orderId: order.id })).items[0]!
    expect(payment.refundedAmount).toBe(5 * part)
    expect(payment.refundedAmount).toBeLessThanOrEqual(payment.capturedAmount)
    expect(s.gateway.charges()[0]).toMatchObject({ captured: order.totals.total, refunded: 5 * part })
  })
})
