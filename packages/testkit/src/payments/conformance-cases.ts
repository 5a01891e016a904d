import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { isCommerceError, type ActionRequired, type CheckoutResult } from '@cartwright/core'
import type { GatewayNotification } from './conformance.js'
import { LEASE_MS, until, type PaymentFixture } from './conformance-fixture.js'

/** One payment conformance case; `capture` is how the gateway captures in it (default manual). */
export interface PaymentCase {
  name: string
  capture?: 'manual' | 'automatic'
  run(t: PaymentFixture): Promise<void>
}

/** A named group of cases. */
export interface PaymentCaseGroup {
  group: string
  cases: PaymentCase[]
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isCommerceError(error), `expected a CommerceError ${code}, got ${String(error)}`)
    assert.equal(error.code, code)
    return true
  })
}

function waiting(result: CheckoutResult): ActionRequired {
  assert.equal(result.status, 'requires_action', 'the checkout should wait for the shopper (requires_action)')
  return result as ActionRequired
}

/** A cart paid through a customer action: the action, and the events the gateway sent when the shopper completed it. */
async function paidWithAction(t: PaymentFixture): Promise<{ cartId: string; action: ActionRequired; events: GatewayNotification[] }> {
  const cartId = await t.cart()
  const action = waiting(await t.pay(cartId, 'action'))
  const payment = await t.commerce.payments.get(action.paymentId)
  assert.ok(payment.reference, 'a payment waiting for the shopper has the gateway reference')
  const events = [...(await t.harness.driver.completeAction(payment.reference))]
  assert.ok(events.length > 0, 'completing the action sends at least one event')
  return { cartId, action, events }
}

/** Exactly one order for the cart, one authorization at the gateway captured once in full, books equal to the ledger. */
async function assertOnePaidOrder(t: PaymentFixture, cartId: string): Promise<void> {
  const orders = await t.orders(cartId)
  assert.equal(orders.length, 1, 'exactly one order for the cart')
  const order = await t.commerce.orders.get(orders[0]!)
  const ledger = await t.ledger()
  assert.equal(ledger.length, 1, 'exactly one charge at the gateway')
  assert.deepEqual({ captured: ledger[0]!.captured, captures: ledger[0]!.captures }, { captured: order.totals.total, captures: 1 }, 'captured once, in full')
  await t.assertBooks(cartId)
}

const contract: PaymentCaseGroup = {
  group: 'contract',
  cases: [
    {
      name: 'authorize, capture in full, refund in part: the books equal the ledger after each',
      async run(t) {
        const cartId = await t.cart()
        const order = t.placed(await t.pay(cartId, 'approve'))
        const paymentId = order.payments[0]!.id
        const held = await t.charge(paymentId)
        assert.deepEqual({ authorized: held.authorized, captured: held.captured, voided: held.voided }, { authorized: order.totals.total, captured: 0, voided: false })
        await t.assertBooks(cartId)
        await t.commerce.orders.capturePayment(order.id, { idempotencyKey: randomUUID() })
        assert.equal((await t.charge(paymentId)).captured, order.totals.total, 'captured in full at the gateway')
        await t.assertBooks(cartId)
        await t.commerce.orders.refund(order.id, { amount: 500, idempotencyKey: randomUUID() })
        assert.equal((await t.charge(paymentId)).refunded, 500)
        assert.equal((await t.commerce.payments.get(paymentId)).refundedAmount, 500)
        await t.assertBooks(cartId)
      },
    },
    {
      name: 'a partial capture takes only that amount at the gateway (refused with VALIDATION, nothing sent, without partialCapture)',
      async run(t) {
        const cartId = await t.cart()
        const order = t.placed(await t.pay(cartId, 'approve'))
        const part = order.totals.total - 700
        if (!t.provider.capabilities.partialCapture) {
          await rejectsWith(t.commerce.orders.capturePayment(order.id, { amount: part, idempotencyKey: randomUUID() }), 'VALIDATION')
          assert.equal(t.provider.chaos.calls.filter((c) => c.operation === 'capture').length, 0, 'no capture sent to the gateway')
          assert.equal((await t.charge(order.payments[0]!.id)).captured, 0)
          await t.assertBooks(cartId)
          return
        }
        await t.commerce.orders.capturePayment(order.id, { amount: part, idempotencyKey: randomUUID() })
        const charge = await t.charge(order.payments[0]!.id)
        assert.deepEqual({ captured: charge.captured, captures: charge.captures }, { captured: part, captures: 1 })
        await t.assertBooks(cartId)
      },
    },
    {
      name: 'a void releases the authorization at the gateway',
      async run(t) {
        const cartId = await t.cart()
        const order = t.placed(await t.pay(cartId, 'approve'))
        await t.commerce.orders.voidPayment(order.id, { idempotencyKey: randomUUID() })
        const charge = await t.charge(order.payments[0]!.id)
        assert.deepEqual({ voided: charge.voided, captured: charge.captured }, { voided: true, captured: 0 })
        assert.equal((await t.commerce.payments.get(order.payments[0]!.id)).status, 'voided')
        await t.assertBooks(cartId)
      },
    },
    {
      name: 'the same checkout key twice, at once and after: one order, one charge',
      async run(t) {
        const cartId = await t.cart()
        const key = randomUUID()
        const data = await t.prepare('approve')
        // The repeat waits for the first call on the engine's clock: time is let pass meanwhile.
        const [a, b] = await t.whileTimePasses(Promise.all([t.complete(cartId, key, data), t.complete(cartId, key, data)]))
        const c = await t.complete(cartId, key, data)
        const ids = new Set([a, b, c].map((r) => t.placed(r).id))
        assert.equal(ids.size, 1, 'every answer is the same order')
        assert.equal((await t.orders(cartId)).length, 1)
        assert.equal((await t.ledger()).length, 1, 'one charge at the gateway')
        await t.assertBooks(cartId)
      },
    },
    {
      name: 'a decline is a decline: PAYMENT_DECLINED, no order, the stock released, nothing held',
      async run(t) {
        const cartId = await t.cart(3)
        await rejectsWith(t.pay(cartId, 'decline'), 'PAYMENT_DECLINED')
        assert.deepEqual(await t.orders(cartId), [])
        assert.equal((await t.commerce.carts.get(cartId)).status, 'open')
        assert.equal(await t.assertSettled(cartId), 'no order')
      },
    },
  ],
}

/** When the webhook arrives relative to the shopper's return; null: the shopper never returns. */
const OFFSETS: ReadonlyArray<[string, number | null]> = [
  ['before', -500],
  ['at the same time as', 0],
  ['after', 5_000],
  ['without', null],
]

const chaos: PaymentCaseGroup = {
  group: 'chaos',
  cases: [
    {
      name: 'duplicate webhooks, 5 at once and 3 more later, are applied once',
      capture: 'automatic',
      async run(t) {
        const { cartId, events } = await paidWithAction(t)
        const answers = await t.provider.chaos.duplicate(() => t.deliver(events), { atOnce: 5, later: 3 })
        // Grouped by the event ids the engine saw: each delivered 8 times, taken once, a duplicate 7 times.
        const byId = new Map<string, string[]>()
        for (const answer of answers) for (const e of answer.events) byId.set(e.id, [...(byId.get(e.id) ?? []), e.outcome])
        assert.ok(byId.size > 0, 'the webhooks carried events')
        for (const [id, outcomes] of byId) {
          assert.equal(outcomes.length, 8, `event ${id} is in every delivery`)
          assert.equal(outcomes.filter((o) => o === 'duplicate').length, 7, `event ${id}: every delivery but one is a duplicate`)
        }
        assert.ok(answers.slice(5).every((a) => a.events.every((e) => e.outcome === 'duplicate')), 'the later deliveries are all duplicates')
        await until(async () => ((await t.orders(cartId)).length ? true : undefined), 'the order placed by the webhook')
        await assertOnePaidOrder(t, cartId)
        const placed = await t.commerce.db.selectFrom('cw_outbox').select('id').where('type', '=', 'order.placed').execute()
        assert.equal(placed.length, 1, 'order.placed announced once')
      },
    },
    {
      name: 'events out of order (the last sent delivered first): one order, one capture',
      capture: 'automatic',
      async run(t) {
        const { cartId, events } = await paidWithAction(t)
        for (const event of [...events].reverse()) await t.deliver([event])
        await t.placed(await t.commerce.checkout.confirm(cartId))
        await assertOnePaidOrder(t, cartId)
      },
    },
    ...OFFSETS.map(
      ([when, offset]): PaymentCaseGroup['cases'][number] => ({
        name: `the webhook ${when} the shopper's return: exactly one order and one capture`,
        capture: 'automatic',
        async run(t) {
          const { cartId, action, events } = await paidWithAction(t)
          const webhook = () => t.deliver(events)
          const shopperReturns = () => t.commerce.checkout.confirm(cartId)
          const answers: CheckoutResult[] = []
          if (offset === null) await webhook()
          else if (offset < 0) {
            await webhook()
            await t.clock.advance(-offset)
            answers.push(await shopperReturns())
          } else if (offset === 0) {
            answers.push((await Promise.all([webhook(), shopperReturns()]))[1])
          } else {
            answers.push(await shopperReturns())
            await t.clock.advance(offset)
            await webhook()
          }
          // The webhook again, and the shopper's page reloaded: nothing more happens.
          assert.ok((await webhook()).events.every((e) => e.outcome === 'duplicate'), 'a repeated webhook is a duplicate')
          const order = t.placed(await shopperReturns())
          for (const answer of answers) {
            // A return before the webhook may still answer the action; otherwise it is this order.
            if (answer.status === 'requires_action') assert.deepEqual(answer, action)
            else assert.equal(answer.id, order.id)
          }
          await assertOnePaidOrder(t, cartId)
        },
      }),
    ),
    {
      name: 'a gateway that hangs past the timeout: recovery alone ends the checkout in one of the two allowed states',
      async run(t) {
        t.provider.chaos.next('authorize', { delayMs: 3 * 60_000 })
        const cartId = await t.cart()
        const data = await t.prepare('approve')
        const pending = t.clock.pending
        const paying = t.complete(cartId, randomUUID(), data).then(
          () => null,
          (e: unknown) => e,
        )
        await until(() => (t.provider.chaos.calls.some((c) => c.operation === 'authorize') ? true : undefined), 'the authorization to be in flight')
        await until(() => (t.clock.pending >= pending + 2 ? true : undefined), 'the checkout to wait on its lease')
        await t.clock.advance(LEASE_MS)
        const error = await paying
        assert.ok(isCommerceError(error) && error.code === 'PAYMENT_FAILED' && error.retryable, `the checkout gives up with a retryable PAYMENT_FAILED, got ${String(error)}`)
        await t.passTimeUntil(async () => {
          const cart = await t.commerce.carts.get(cartId)
          return cart.status === 'completed' || cart.status === 'open' ? cart.status : undefined
        }, 'recovery to settle the cart')
        // Let the hung call reach the gateway too, then check: it must not charge a second time.
        await t.clock.advance(3 * 60_000)
        assert.ok((await t.ledger()).length <= 1, 'at most one charge at the gateway')
        await t.assertSettled(cartId)
      },
    },
    {
      name: 'an authorization answer lost after the gateway charged: exactly one charge after recovery',
      async run(t) {
        t.provider.chaos.next('authorize', 'lose-response')
        const cartId = await t.cart()
        await rejectsWith(t.pay(cartId, 'approve'), 'PAYMENT_FAILED')
        await t.passTimeUntil(async () => ((await t.orders(cartId)).length ? true : undefined), 'the order placed by recovery')
        assert.equal((await t.ledger()).length, 1, 'exactly one charge at the gateway')
        assert.equal(await t.assertSettled(cartId), 'order')
      },
    },
    {
      name: 'a capture answer lost after the gateway captured: exactly one capture after recovery',
      async run(t) {
        const cartId = await t.cart()
        const order = t.placed(await t.pay(cartId, 'approve'))
        t.provider.chaos.next('capture', 'lose-response')
        await rejectsWith(t.commerce.orders.capturePayment(order.id, { idempotencyKey: randomUUID() }), 'PAYMENT_FAILED')
        const paymentId = order.payments[0]!.id
        await t.passTimeUntil(async () => ((await t.commerce.payments.get(paymentId)).status === 'captured' ? true : undefined), 'the capture recorded by recovery')
        const charge = await t.charge(paymentId)
        assert.deepEqual({ captured: charge.captured, captures: charge.captures }, { captured: order.totals.total, captures: 1 })
        await t.assertBooks(cartId)
      },
    },
    {
      name: 'an authorization that fails before reaching the gateway charges nothing, and the cart can be paid again',
      async run(t) {
        t.provider.chaos.next('authorize', 'throw-before')
        const cartId = await t.cart()
        await rejectsWith(t.pay(cartId, 'approve'), 'PAYMENT_FAILED')
        const order = await t.passTimeUntil(async () => {
          const cart = await t.commerce.carts.get(cartId)
          if (cart.status === 'completed') return t.commerce.orders.get((await t.orders(cartId))[0]!)
          if (cart.status === 'open') return t.placed(await t.pay(cartId, 'approve'))
          return undefined
        }, 'the cart paid')
        assert.equal((await t.ledger()).length, 1, 'exactly one charge at the gateway')
        assert.equal((await t.charge(order.payments[0]!.id)).authorized, order.totals.total)
        await t.assertBooks(cartId)
      },
    },
  ],
}

/** @internal Every group, in the order registered. */
export const paymentCaseGroups: PaymentCaseGroup[] = [contract, chaos]
