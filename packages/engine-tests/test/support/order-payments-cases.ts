import { afterEach, describe, expect, it } from 'vitest'
import type { Commerce, CommerceEventName, CommerceEvents, CommerceOptions, Order, PaymentCapabilities, PaymentDetails } from '@cartwright/core'
import { checkPaymentBooks, testGateway, type GatewayBehaviour, type TestGateway } from '@cartwright/testkit'
import { openShop, placed, readyCart, key, type Shop, type StorageKind } from './shop.js'
import { failure, gate, sleep, until } from './util.js'

/**
 * Captures, voids, refunds and cancels on one kind of storage, against the scriptable test
 * gateway, whose ledger every case compares with the engine's books. Run from
 * test/core/order-payments.test.ts (SQLite) and test/postgres/order-payments.test.ts.
 */

interface PaymentShop extends Shop {
  gateway: TestGateway
  order(quantity?: number): Promise<Order>
  payment(orderId: string): Promise<PaymentDetails>
  /** The engine's books for the order's payment against the gateway's ledger: [] when they agree. */
  books(orderId: string): Promise<string[]>
}

/** A test point body that stops the calls matching `when` until `release()`; `reached` settles when one stops there. */
function stopAt<C>(when: (context: C) => boolean) {
  const reached = gate()
  const released = gate()
  return {
    reached: reached.promise,
    release: () => released.open(),
    point: async (context: C) => {
      if (!when(context)) return
      reached.open()
      await released.promise
    },
  }
}

function record<K extends CommerceEventName>(commerce: Commerce, ...types: K[]) {
  const seen: Array<{ type: K; payload: CommerceEvents[K] }> = []
  for (const type of types) commerce.events.on(type, (payload) => void seen.push({ type, payload }))
  return seen
}

export function orderPaymentCases(storage: StorageKind): void {
  let shops: Shop[] = []
  afterEach(async () => {
    for (const shop of shops.splice(0)) await shop.close()
  })

  async function open(
    options: { capabilities?: Partial<PaymentCapabilities>; defaults?: Partial<Record<'capture' | 'void' | 'refund', GatewayBehaviour>>; autoCapture?: boolean } & Partial<CommerceOptions> = {},
  ): Promise<PaymentShop> {
    const { capabilities, defaults, autoCapture, ...rest } = options
    const gateway = testGateway({ id: 'gateway', ...(capabilities ? { capabilities } : {}), ...(defaults ? { defaults } : {}), ...(autoCapture ? { autoCapture } : {}) })
    const shop = await openShop({ storage, payments: [gateway], stock: 100, ...rest })
    shops.push(shop)
    return Object.assign(shop, {
      gateway,
      async order(quantity = 1) {
        const cart = await readyCart(shop.commerce, shop.variantId, quantity)
        return placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
      },
      async payment(orderId: string) {
        return (await shop.commerce.payments.list({ orderId })).items[0]!
      },
      books: (orderId: string) => checkPaymentBooks(shop.commerce, gateway, orderId),
    })
  }

  const gatewayCalls = (s: PaymentShop, operation: 'capture' | 'void' | 'refund') => s.gateway.calls.filter((c) => c.operation === operation)

  describe(`orders.capturePayment (${storage})`, () => {
    it('captures what is left of the authorization by default, sent once with the operation key', async () => {
      const s = await open()
      const events = record(s.commerce, 'payment.captured')
      const order = await s.order()
      const captured = await s.commerce.orders.capturePayment(order.id)
      expect(captured.paymentStatus).toBe('captured')
      const payment = await s.payment(order.id)
      expect(payment).toMatchObject({ status: 'captured', authorizedAmount: order.totals.total, capturedAmount: order.totals.total })
      expect(payment.operations).toEqual([
        expect.objectContaining({ kind: 'capture', amount: order.totals.total, status: 'succeeded', gatewayKey: payment.operations[0]!.id }),
      ])
      expect(gatewayCalls(s, 'capture')).toEqual([
        { operation: 'capture', idempotencyKey: payment.operations[0]!.id, amount: order.totals.total, outcome: 'done' },
      ])
      expect(events.map((e) => [e.payload.amount, e.payload.operationId])).toEqual([[order.totals.total, payment.operations[0]!.id]])
      expect(await s.books(order.id)).toEqual([])
    })

    it('replays a capture sent again with its key; another capture of a captured payment is INVALID_STATE', async () => {
      const s = await open()
      const order = await s.order()
      const first = await s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-key-1' })
      expect(await s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-key-1' })).toEqual(first)
      const again = await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-key-2' }), 'INVALID_STATE')
      expect(again.message).toContain('already captured')
      await failure(s.commerce.orders.capturePayment(order.id), 'INVALID_STATE')
      expect(gatewayCalls(s, 'capture')).toHaveLength(1)
      // The same key for another operation or another order is a conflict, not a replay.
      await failure(s.commerce.orders.refund(order.id, { amount: 100, idempotencyKey: 'capture-key-1' }), 'CONFLICT')
      const other = await s.order()
      await failure(s.commerce.orders.capturePayment(other.id, { idempotencyKey: 'capture-key-1' }), 'CONFLICT')
      await failure(s.commerce.orders.capturePayment(order.id, { amount: 5, idempotencyKey: 'capture-key-1' }), 'CONFLICT')
      expect(gatewayCalls(s, 'capture')).toHaveLength(1)
      expect((await s.payment(other.id)).status).toBe('authorized')
    })

    it('records only what the gateway captured when partial captures race (one capture per authorization)', async () => {
      // The gateway records a capture at once and answers slowly: a repeat meanwhile is answered from its ledger.
      const s = await open({ defaults: { capture: { answerDelayMs: 20 } } })
      for (let i = 0; i < 10; i++) {
        const order = await s.order()
        const amounts = [100, 500]
        const results = await Promise.allSettled(amounts.map((amount, j) => s.commerce.orders.capturePayment(order.id, { amount, idempotencyKey: `race-${i}-${j}` })))
        const won = results.flatMap((r, j) => (r.status === 'fulfilled' ? [amounts[j]!] : []))
        expect(won, 'exactly one capture of the authorization succeeds').toHaveLength(1)
        for (const r of results) {
          if (r.status === 'rejected') expect(['CONFLICT', 'INVALID_STATE']).toContain((r.reason as { code: string }).code)
        }
        const payment = await s.payment(order.id)
        expect(payment.capturedAmount).toBe(won[0])
        expect(s.gateway.chargeFor(payment.id)!.captured).toBe(won[0])
        expect(payment.status).toBe('partially_captured')
        expect(await s.books(order.id)).toEqual([])
      }
    })

    it('captures part and releases the rest: a second capture is refused, refunds are bounded by the part', async () => {
      const s = await open()
      const order = await s.order()
      const tooMuch = await failure(s.commerce.orders.capturePayment(order.id, { amount: order.totals.total + 1 }), 'VALIDATION')
      expect(tooMuch.details).toMatchObject({ fields: ['amount'] })
      const part = Math.floor(order.totals.total / 2)
      const captured = await s.commerce.orders.capturePayment(order.id, { amount: part })
      expect(captured.paymentStatus).toBe('partially_captured')
      await failure(s.commerce.orders.capturePayment(order.id, { amount: 1 }), 'INVALID_STATE')
      const over = await failure(s.commerce.orders.refund(order.id, { amount: part + 1 }), 'VALIDATION')
      expect(over.message).toContain(`only ${part} can still be refunded`)
      await s.commerce.orders.refund(order.id, { amount: part })
      expect(await s.payment(order.id)).toMatchObject({ status: 'refunded', capturedAmount: part, refundedAmount: part })
      expect(await s.books(order.id)).toEqual([])
    })

    it('captures several times with a multiCapture provider, never beyond the authorization even when captures race', async () => {
      const s = await open({ capabilities: { multiCapture: true }, defaults: { capture: { delayMs: 10 } } })
      const order = await s.order()
      const third = Math.floor(order.totals.total / 3)
      await s.commerce.orders.capturePayment(order.id, { amount: third })
      expect((await s.payment(order.id)).status).toBe('partially_captured')
      const results = await Promise.allSettled([third, third, third].map((amount) => s.commerce.orders.capturePayment(order.id, { amount })))
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2)
      const payment = await s.payment(order.id)
      expect(payment.capturedAmount).toBe(3 * third)
      expect(payment.capturedAmount).toBeLessThanOrEqual(payment.authorizedAmount)
      expect(await s.books(order.id)).toEqual([])
    })

    it('refuses a partial capture when the provider cannot capture part of an authorization', async () => {
      const s = await open({ capabilities: { partialCapture: false } })
      const order = await s.order()
      const error = await failure(s.commerce.orders.capturePayment(order.id, { amount: order.totals.total - 1 }), 'VALIDATION')
      expect(error.message).toContain('gateway cannot capture part')
      expect(gatewayCalls(s, 'capture')).toHaveLength(0)
      expect((await s.commerce.orders.capturePayment(order.id)).paymentStatus).toBe('captured')
    })

    it('keeps a capture whose answer was lost pending, and sends the same capture again on retry: one capture at the gateway', async () => {
      const s = await open()
      const order = await s.order()
      s.gateway.script('capture', 'lost')
      const lost = await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'lost-capture' }), 'PAYMENT_FAILED')
      expect(lost.details).toMatchObject({ outcomeUnknown: true })
      let payment = await s.payment(order.id)
      expect(payment).toMatchObject({ status: 'authorized', capturedAmount: 0 })
      expect(payment.operations.map((o) => o.status)).toEqual(['pending'])
      // The gateway did capture: the books disagree until the operation is finished.
      expect(s.gateway.chargeFor(payment.id)!.captured).toBe(order.totals.total)

      await s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'lost-capture' })
      payment = await s.payment(order.id)
      expect(payment).toMatchObject({ status: 'captured', capturedAmount: order.totals.total })
      expect(gatewayCalls(s, 'capture').map((c) => [c.idempotencyKey, c.outcome])).toEqual([
        [payment.operations[0]!.gatewayKey, 'lost'],
        [payment.operations[0]!.gatewayKey, 'replayed'],
      ])
      expect(await s.books(order.id)).toEqual([])
    })

    it('resumes a lost capture sent without a key when the caller retries without one', async () => {
      const s = await open()
      const order = await s.order()
      s.gateway.script('capture', 'lost')
      await failure(s.commerce.orders.capturePayment(order.id), 'PAYMENT_FAILED')
      await s.commerce.orders.capturePayment(order.id)
      const payment = await s.payment(order.id)
      expect(payment.operations).toHaveLength(1)
      expect(new Set(gatewayCalls(s, 'capture').map((c) => c.idempotencyKey)).size).toBe(1)
      expect(await s.books(order.id)).toEqual([])
    })

    it('finishes a lost capture with payments.recover()', async () => {
      const s = await open()
      const order = await s.order()
      s.gateway.script('capture', 'lost')
      await failure(s.commerce.orders.capturePayment(order.id), 'PAYMENT_FAILED')
      expect(await s.commerce.payments.recover()).toEqual({ succeeded: 1, failed: 0, unanswered: 0 })
      expect(await s.commerce.payments.recover()).toEqual({ succeeded: 0, failed: 0, unanswered: 0 })
      expect((await s.commerce.orders.get(order.id)).paymentStatus).toBe('captured')
      expect(await s.books(order.id)).toEqual([])
    })

    it('records a refused capture as failed, changes nothing, and lets a new capture succeed', async () => {
      const s = await open()
      const events = record(s.commerce, 'payment.operation_failed', 'payment.captured')
      const order = await s.order()
      s.gateway.script('capture', { refuse: 'card_expired' })
      const error = await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'refused-capture' }), 'PAYMENT_FAILED')
      expect(error.message).toContain('card_expired')
      expect(await s.payment(order.id)).toMatchObject({ status: 'authorized', capturedAmount: 0, operations: [expect.objectContaining({ status: 'failed', failure: 'card_expired' })] })
      // The same key replays the refusal without calling the gateway.
      await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'refused-capture' }), 'PAYMENT_FAILED')
      expect(gatewayCalls(s, 'capture')).toHaveLength(1)
      await s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'second-capture' })
      expect(events.map((e) => e.type)).toEqual(['payment.operation_failed', 'payment.captured'])
      expect(await s.books(order.id)).toEqual([])
    })

    it('records a capture made at authorization as the payment\'s first operation, and refunds against it', async () => {
      const s = await open({ autoCapture: true })
      const order = await s.order()
      expect(order.paymentStatus).toBe('captured')
      const payment = await s.payment(order.id)
      expect(payment.operations).toEqual([expect.objectContaining({ kind: 'capture', status: 'succeeded', amount: order.totals.total, gatewayKey: `${payment.id}:authorize` })])
      await failure(s.commerce.orders.capturePayment(order.id), 'INVALID_STATE')
      await s.commerce.orders.refund(order.id, { amount: 1000 })
      expect(await s.books(order.id)).toEqual([])
    })

    it('refuses to capture the payment of a canceled order', async () => {
      const s = await open()
      const order = await s.order()
      await s.commerce.orders.cancel(order.id)
      await failure(s.commerce.orders.capturePayment(order.id), 'INVALID_STATE')
      expect(gatewayCalls(s, 'capture')).toHaveLength(0)
    })
  })

  describe(`orders.refund (${storage})`, () => {
    it('refunds part, then the rest, each with its own gateway key; then nothing is left', async () => {
      const s = await open()
      const events = record(s.commerce, 'payment.refunded')
      const order = await s.order()
      await s.commerce.orders.capturePayment(order.id)
      const first = 2500
      const rest = order.totals.total - first
      expect((await s.commerce.orders.refund(order.id, { amount: first, reason: 'damaged box' })).paymentStatus).toBe('partially_refunded')
      expect((await s.commerce.orders.refund(order.id, { amount: rest })).paymentStatus).toBe('refunded')
      const none = await failure(s.commerce.orders.refund(order.id, { amount: 1 }), 'VALIDATION')
      expect(none.details).toMatchObject({ fields: ['amount'] })
      expect(gatewayCalls(s, 'refund').map((c) => c.amount)).toEqual([first, rest])
      expect(new Set(gatewayCalls(s, 'refund').map((c) => c.idempotencyKey)).size).toBe(2)
      expect(events.map((e) => [e.payload.amount, e.payload.payment.status])).toEqual([
        [first, 'partially_refunded'],
        [rest, 'refunded'],
      ])
      const payment = await s.payment(order.id)
      expect(payment.operations.filter((o) => o.kind === 'refund').map((o) => o.reason)).toEqual(['damaged box', null])
      expect(await s.books(order.id)).toEqual([])
    })

    it('says why it refuses: nothing captured yet reads differently from too much', async () => {
      const s = await open()
      const order = await s.order()
      const early = await failure(s.commerce.orders.refund(order.id, { amount: 100 }), 'INVALID_STATE')
      expect(early.message).toContain('nothing has been captured')
      await s.commerce.orders.capturePayment(order.id)
      const much = await failure(s.commerce.orders.refund(order.id, { amount: order.totals.total + 1 }), 'VALIDATION')
      expect(much.message).toContain(`only ${order.totals.total} can still be refunded`)
      expect(gatewayCalls(s, 'refund')).toHaveLength(0)
    })

    it('never records a refund the gateway did not make when a refused refund settles after another claimed its share', async () => {
      const s = await open()
      const order = await s.order()
      await s.commerce.orders.capturePayment(order.id)
      const a = gate()
      const b = gate()
      s.gateway.script('refund', { until: a.promise, then: 'refuse' }, { until: b.promise })
      // Equal amounts for A and B: a key derived from the refunded total would give C the key B used.
      const refundA = s.commerce.orders.refund(order.id, { amount: 200 }).catch((e: unknown) => e)
      const refunds = async () => (await s.payment(order.id)).operations.filter((o) => o.kind === 'refund').length
      await until(async () => ((await refunds()) === 1 ? true : undefined), 'refund A claimed')
      const refundB = s.commerce.orders.refund(order.id, { amount: 200 })
      await until(async () => ((await refunds()) === 2 ? true : undefined), 'refund B claimed')
      a.open()
      expect(await refundA).toMatchObject({ code: 'PAYMENT_FAILED' })
      b.open()
      await refundB
      await s.commerce.orders.refund(order.id, { amount: 300 })
      const payment = await s.payment(order.id)
      expect(s.gateway.chargeFor(payment.id)!.refunded).toBe(500)
      expect(payment.refundedAmount).toBe(500)
      const keys = payment.operations.filter((o) => o.kind === 'refund').map((o) => o.gatewayKey)
      expect(new Set(keys).size).toBe(3)
      expect(gatewayCalls(s, 'refund').map((c) => c.outcome)).toEqual(['refused', 'done', 'done'])
      expect(await s.books(order.id)).toEqual([])
    })

    it('never refunds more than was captured when refunds race: 5 × 40% → exactly 2 succeed', async () => {
      const s = await open({ defaults: { refund: { delayMs: 5 } } })
      const order = await s.order()
      await s.commerce.orders.capturePayment(order.id)
      const amount = Math.floor((order.totals.total * 40) / 100)
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => s.commerce.orders.refund(order.id, { amount })))
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2)
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('VALIDATION')
      expect((await s.payment(order.id)).refundedAmount).toBe(2 * amount)
      expect(await s.books(order.id)).toEqual([])
    })

    it('replays a refund retried with its key after a lost answer: one refund at the gateway', async () => {
      const s = await open()
      const order = await s.order()
      await s.commerce.orders.capturePayment(order.id)
      s.gateway.script('refund', 'lost')
      await failure(s.commerce.orders.refund(order.id, { amount: 700, idempotencyKey: 'refund-once' }), 'PAYMENT_FAILED')
      // While in doubt the amount stays claimed: it cannot be refunded a second time by another call.
      const left = order.totals.total - 700
      await failure(s.commerce.orders.refund(order.id, { amount: left + 1 }), 'VALIDATION')
      await s.commerce.orders.refund(order.id, { amount: 700, idempotencyKey: 'refund-once' })
      await s.commerce.orders.refund(order.id, { amount: 700, idempotencyKey: 'refund-once' })
      expect(gatewayCalls(s, 'refund').map((c) => c.outcome)).toEqual(['lost', 'replayed'])
      expect((await s.payment(order.id)).refundedAmount).toBe(700)
      expect(await s.books(order.id)).toEqual([])
    })
  })

  describe(`orders.cancel (${storage})`, () => {
    it('before capture, voids the authorization and releases the stock', async () => {
      const s = await open()
      const events = record(s.commerce, 'order.canceled', 'payment.voided', 'payment.refunded')
      const order = await s.order(3)
      const canceled = await s.commerce.orders.cancel(order.id, { reason: 'customer changed their mind' })
      expect(canceled).toMatchObject({ status: 'canceled', paymentStatus: 'voided', fulfillmentStatus: 'unfulfilled' })
      expect(gatewayCalls(s, 'void')).toHaveLength(1)
      expect(gatewayCalls(s, 'refund')).toHaveLength(0)
      expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ reserved: 0, available: 100 })
      expect(events.map((e) => e.type)).toEqual(['order.canceled', 'payment.voided'])
      expect(await s.books(order.id)).toEqual([])
    })

    it('after capture, refunds (never voids); after a partial refund, refunds the rest', async () => {
      const s = await open()
      const order = await s.order()
      await s.commerce.orders.capturePayment(order.id)
      await s.commerce.orders.refund(order.id, { amount: 1000 })
      const canceled = await s.commerce.orders.cancel(order.id)
      expect(canceled).toMatchObject({ status: 'canceled', paymentStatus: 'refunded' })
      expect(gatewayCalls(s, 'refund').map((c) => c.amount)).toEqual([1000, order.totals.total - 1000])
      expect(gatewayCalls(s, 'void')).toHaveLength(0)
      expect(await s.books(order.id)).toEqual([])
    })

    it('is a no-op when called again once the money went back: one void, one event', async () => {
      const s = await open()
      const events = record(s.commerce, 'order.canceled', 'payment.voided')
      const order = await s.order()
      const first = await s.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-1' })
      expect(await s.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-1' })).toEqual(first)
      expect(await s.commerce.orders.cancel(order.id)).toEqual(first)
      expect(gatewayCalls(s, 'void')).toHaveLength(1)
      expect(events.map((e) => e.type)).toEqual(['order.canceled', 'payment.voided'])
    })

    it('keeps the order canceled when the gateway refuses the void, and retries it when cancel is called again', async () => {
      const s = await open()
      const order = await s.order()
      s.gateway.script('void', 'refuse')
      const error = await failure(s.commerce.orders.cancel(order.id), 'PAYMENT_FAILED')
      expect(error.retryable).toBe(true)
      expect(await s.commerce.orders.get(order.id)).toMatchObject({ status: 'canceled', paymentStatus: 'authorized' })
      expect(await s.books(order.id)).toEqual([])
      expect((await s.commerce.orders.cancel(order.id)).paymentStatus).toBe('voided')
      expect(gatewayCalls(s, 'void').map((c) => c.outcome)).toEqual(['refused', 'done'])
      expect(await s.books(order.id)).toEqual([])
    })

    it('resumes a void whose answer was lost with the same gateway key', async () => {
      const s = await open()
      const order = await s.order()
      s.gateway.script('void', 'lost')
      await failure(s.commerce.orders.cancel(order.id), 'PAYMENT_FAILED')
      expect((await s.commerce.orders.cancel(order.id)).paymentStatus).toBe('voided')
      expect(gatewayCalls(s, 'void').map((c) => c.outcome)).toEqual(['lost', 'replayed'])
      expect(await s.books(order.id)).toEqual([])
    })

    it('waits for a capture in flight: the cancel gets CONFLICT, then refunds what the capture took', async () => {
      const capturing = stopAt<{ kind: string }>(({ kind }) => kind === 'capture')
      const s = await open({ testPoints: { 'payment.operation.before': capturing.point } })
      const order = await s.order()
      const capture = s.commerce.orders.capturePayment(order.id)
      await capturing.reached
      const error = await failure(s.commerce.orders.cancel(order.id), 'CONFLICT')
      expect(error.retryable).toBe(true)
      expect(await s.commerce.orders.get(order.id)).toMatchObject({ status: 'placed' })
      expect((await s.commerce.inventory.levels(s.variantId))[0]!.reserved).toBe(1)
      capturing.release()
      await capture
      const canceled = await s.commerce.orders.cancel(order.id)
      expect(canceled).toMatchObject({ status: 'canceled', paymentStatus: 'refunded' })
      expect(gatewayCalls(s, 'void')).toHaveLength(0)
      expect(await s.books(order.id)).toEqual([])
    })

    it('refuses a capture that comes after the cancel claimed the payment, even while the void is in flight', async () => {
      const voiding = stopAt<{ kind: string }>(({ kind }) => kind === 'void')
      const s = await open({ testPoints: { 'payment.operation.before': voiding.point } })
      const order = await s.order()
      const cancel = s.commerce.orders.cancel(order.id)
      await voiding.reached
      await failure(s.commerce.orders.capturePayment(order.id), 'INVALID_STATE')
      voiding.release()
      expect((await cancel).paymentStatus).toBe('voided')
      expect(gatewayCalls(s, 'capture')).toHaveLength(0)
      expect(await s.books(order.id)).toEqual([])
    })

    it('keeps storage and gateway equal over 20 races of cancel against capture', async () => {
      const s = await open()
      for (let i = 0; i < 20; i++) {
        s.gateway.setDefault('capture', { delayMs: i % 4 })
        s.gateway.setDefault('void', { delayMs: (i * 3) % 5 })
        const order = await s.order()
        const [capture, cancel] = await Promise.allSettled([
          sleep(i % 3).then(() => s.commerce.orders.capturePayment(order.id)),
          sleep((i * 7) % 3).then(() => s.commerce.orders.cancel(order.id)),
        ])
        if (capture.status === 'rejected') expect((capture.reason as { code: string }).code).toBe('INVALID_STATE')
        if (cancel.status === 'rejected') {
          expect((cancel.reason as { code: string }).code).toBe('CONFLICT')
          await s.commerce.orders.cancel(order.id)
        }
        const after = await s.commerce.orders.get(order.id)
        expect(after.status).toBe('canceled')
        expect(['voided', 'refunded']).toContain(after.paymentStatus)
        expect(await s.books(order.id)).toEqual([])
      }
    })
  })

  describe(`orders.voidPayment (${storage})`, () => {
    it('voids an uncaptured authorization; then nothing can be captured or refunded', async () => {
      const s = await open()
      const order = await s.order()
      const voided = await s.commerce.orders.voidPayment(order.id, { idempotencyKey: 'void-it-once' })
      expect(voided).toMatchObject({ status: 'placed', paymentStatus: 'voided' })
      await failure(s.commerce.orders.capturePayment(order.id), 'INVALID_STATE')
      await failure(s.commerce.orders.refund(order.id, { amount: 1 }), 'INVALID_STATE')
      await failure(s.commerce.orders.voidPayment(order.id), 'INVALID_STATE')
      expect((await s.commerce.orders.cancel(order.id)).status).toBe('canceled')
      expect(gatewayCalls(s, 'void')).toHaveLength(1)
      expect(await s.books(order.id)).toEqual([])
    })
  })

  describe(`order completion (${storage})`, () => {
    it('completes an order once it is fulfilled and captured, in either order', async () => {
      const s = await open()
      const events = record(s.commerce, 'order.completed')
      const first = await s.order()
      await s.commerce.orders.capturePayment(first.id)
      expect((await s.commerce.orders.fulfill(first.id)).status).toBe('completed')
      const second = await s.order()
      expect((await s.commerce.orders.fulfill(second.id)).status).toBe('placed')
      expect((await s.commerce.orders.capturePayment(second.id)).status).toBe('completed')
      expect(events.map((e) => e.payload.orderId)).toEqual([first.id, second.id])
      expect((await s.commerce.orders.list({ status: 'completed' })).items).toHaveLength(2)
      // A completed order can still be refunded, and stays completed.
      expect((await s.commerce.orders.refund(first.id, { amount: 100 })).status).toBe('completed')
    })
  })

  describe(`payments reads (${storage})`, () => {
    it('lists a checkout in flight as a pending payment, and an order payment with its operations', async () => {
      const authorizing = stopAt(() => true)
      const s = await open({ testPoints: { 'checkout.authorize.before': authorizing.point } })
      const cart = await readyCart(s.commerce, s.variantId)
      const placing = s.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }).then(placed)
      await authorizing.reached
      const inFlight = await s.commerce.payments.list({ status: 'pending' })
      expect(inFlight.items.map((p) => [p.cartId, p.orderId, p.status])).toEqual([[cart.id, null, 'pending']])
      authorizing.release()
      const order = await placing
      await s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'read-capture' })
      const payment = await s.commerce.payments.get(order.payments[0]!.id)
      expect(payment).toMatchObject({ orderId: order.id, status: 'captured', operations: [{ kind: 'capture', idempotencyKey: 'read-capture', status: 'succeeded' }] })
      expect((await s.commerce.payments.list({ cartId: cart.id })).items).toEqual([payment])
      await failure(s.commerce.payments.get('pay_missing'), 'NOT_FOUND')
    })
  })
}
