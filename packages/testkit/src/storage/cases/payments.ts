import assert from 'node:assert/strict'
import { isCommerceError, type Commerce, type Order } from '@cartwright/core'
import { checkPaymentBooks } from '../../payments/payment-scenario.js'
import { testGateway, type TestGateway } from '../../payments/test-gateway.js'
import { num } from '../raw.js'
import { key, placed, readyCart, seedVariant } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'
import type { StorageFixture } from '../storage-fixture.js'

/** `writers` engines sharing one scriptable gateway, and a placed order paid through it. */
async function paidOrder(t: StorageFixture, gateway: TestGateway): Promise<{ engines: Commerce[]; order: Order }> {
  const engines = (await t.writerEngines({ extraPayments: [gateway], clock: 'real' })).map((e) => e.commerce)
  const commerce = engines[0]!
  const { variantId } = await seedVariant(commerce, { stock: 10, amount: 10_000 })
  const cart = await readyCart(commerce, [[variantId, 1]])
  const order = placed(await commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
  return { engines, order }
}

/** The payment row as stored, through the backdoor. */
async function storedPayment(t: StorageFixture, orderId: string): Promise<{ authorized: number; captured: number; refunded: number; status: string }> {
  const row = await t.raw.one('select authorized_amount, captured_amount, refunded_amount, status from cw_payments where order_id = ?', [orderId])
  return { authorized: num(row['authorized_amount']), captured: num(row['captured_amount']), refunded: num(row['refunded_amount']), status: String(row['status']) }
}

export const paymentCases: StorageGroup = {
  group: 'payments',
  cases: [
    {
      name: 'refunds racing from every writer never exceed what was captured, and the stored refunded amount is what the gateway refunded',
      async run(t) {
        const gateway = testGateway({ defaults: { refund: { delayMs: 2 } } })
        const { engines, order } = await paidOrder(t, gateway)
        await engines[0]!.orders.capturePayment(order.id)
        const amount = Math.floor((order.totals.total * 40) / 100)
        const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => engines[i % engines.length]!.orders.refund(order.id, { amount })))
        const won = results.filter((r) => r.status === 'fulfilled').length
        const unexpected = results.flatMap((r) => (r.status === 'rejected' && !isCommerceError(r.reason, 'VALIDATION') ? [String(r.reason)] : []))
        assert.deepEqual(unexpected, [], 'a refund beyond what is left is refused before the gateway, with VALIDATION')
        assert.equal(won, 2)
        const stored = await storedPayment(t, order.id)
        const charge = gateway.chargeFor(order.payments[0]!.id)!
        assert.deepEqual([stored.captured, stored.refunded], [charge.captured, charge.refunded])
        assert.equal(stored.refunded, 2 * amount)
        assert.equal(gateway.calls.filter((c) => c.operation === 'refund').length, 2, 'losers never reach the gateway')
        const ops = await t.raw.rows("select amount from cw_payment_operations where kind = 'refund' and status = 'succeeded'")
        assert.equal(ops.reduce((sum, r) => sum + num(r['amount']), 0), stored.refunded)
      },
    },
    {
      name: 'one refund key sent from every writer at once moves money once',
      async run(t) {
        const gateway = testGateway({ defaults: { refund: { delayMs: 2 } } })
        const { engines, order } = await paidOrder(t, gateway)
        await engines[0]!.orders.capturePayment(order.id)
        const results = await Promise.allSettled(engines.flatMap((e) => [e, e]).map((e) => e.orders.refund(order.id, { amount: 500, idempotencyKey: 'one-refund-key' })))
        for (const r of results) if (r.status === 'rejected') assert.ok(isCommerceError(r.reason, 'CONFLICT'), `only an in-progress CONFLICT may fail: ${String(r.reason)}`)
        await engines[0]!.orders.refund(order.id, { amount: 500, idempotencyKey: 'one-refund-key' })
        assert.equal((await storedPayment(t, order.id)).refunded, 500)
        assert.equal(gateway.chargeFor(order.payments[0]!.id)!.refunded, 500)
        assert.equal(await t.raw.count("cw_payment_operations where kind = 'refund'"), 1)
      },
    },
    {
      name: 'a capture and a cancel of one payment from different writers: storage and gateway agree, whichever wins',
      async run(t) {
        const gateway = testGateway({ defaults: { capture: { delayMs: 2 }, void: { delayMs: 1 } } })
        const { engines } = await paidOrder(t, gateway)
        const commerce = engines[0]!
        const { variantId } = await seedVariant(commerce, { stock: 20 })
        for (let i = 0; i < 6; i++) {
          const cart = await readyCart(commerce, [[variantId, 1]])
          const order = placed(await commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
          const a = engines[i % engines.length]!
          const b = engines[(i + 1) % engines.length]!
          const [capture, cancel] = await Promise.allSettled([a.orders.capturePayment(order.id), b.orders.cancel(order.id)])
          if (capture.status === 'rejected') assert.ok(isCommerceError(capture.reason, 'INVALID_STATE'), String(capture.reason))
          if (cancel.status === 'rejected') {
            assert.ok(isCommerceError(cancel.reason, 'CONFLICT'), String(cancel.reason))
            await b.orders.cancel(order.id)
          }
          assert.deepEqual(await checkPaymentBooks(commerce, gateway, order.id), [])
          const stored = await storedPayment(t, order.id)
          assert.ok(stored.status === 'voided' || (stored.captured > 0 && stored.refunded === stored.captured), `money given back: ${JSON.stringify(stored)}`)
        }
      },
    },
  ],
}
