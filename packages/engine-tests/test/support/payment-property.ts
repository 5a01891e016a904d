import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { checkPaymentBooks, runPaymentRounds, testGateway, type GatewayBehaviour, type PaymentRound, type PaymentStep, type StepKey, type TestGateway } from '@cartwright/testkit'
import { key, openShop, placed, readyCart, type Shop, type StorageKind } from './shop.js'

/**
 * The property of issue-level importance for money: whatever interleaving of captures, refunds,
 * voids, cancels and recoveries reaches one order, against a gateway that answers late, refuses,
 * fails before it is reached or loses its answer, the engine's books end equal to the gateway's
 * ledger, with refunded ≤ captured ≤ authorized — and a final cancel gives all the money back.
 * The steps are testkit's payment scenario, which the simulation runs too.
 */

const behaviour = fc.constantFrom<GatewayBehaviour>('ok', 'ok', 'refuse', 'error', 'lost', { delayMs: 3 }, { delayMs: 6, then: 'lost' }, { delayMs: 4, then: 'refuse' })
const stepKey: fc.Arbitrary<StepKey> = fc.oneof(fc.constant<StepKey>('none'), fc.constant<StepKey>('fresh'), fc.nat(7).map((reuse): StepKey => ({ reuse })))
const amount = fc.integer({ min: 1, max: 16_000 })
const step: fc.Arbitrary<PaymentStep> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('capture' as const), amount: fc.option(amount, { nil: null }), key: stepKey, gateway: behaviour }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('refund' as const), amount, key: stepKey, gateway: behaviour }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('void' as const), key: stepKey, gateway: behaviour }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), key: stepKey, gateway: behaviour }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'recover' as const }) },
)
/** Rounds of one to three concurrent steps. */
export const paymentRounds: fc.Arbitrary<PaymentRound[]> = fc.array(fc.array(step, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 })

/** Codes a step may end with; anything else (STORAGE, PROVIDER, a raw error) breaks the property. */
const EXPECTED = new Set(['ok', 'CONFLICT', 'INVALID_STATE', 'VALIDATION', 'PAYMENT_FAILED'])

export function paymentBooksProperty(storage: StorageKind, options: { runs: number; multiCapture?: boolean }): void {
  let shop: Shop
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = testGateway({ id: 'gateway', capabilities: { multiCapture: options.multiCapture ?? false } })
    shop = await openShop({ storage, payments: [gateway], stock: 10_000 })
  })
  afterAll(async () => {
    await shop?.close()
  })

  it(`keeps the books equal to the gateway's ledger over random interleavings (${storage}${options.multiCapture ? ', multi-capture' : ''}, ${options.runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(paymentRounds, async (rounds) => {
        const cart = await readyCart(shop.commerce, shop.variantId)
        const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
        const outcomes = await runPaymentRounds(shop.commerce, gateway, order.id, rounds)
        const unexpected = outcomes.filter((o) => !EXPECTED.has(o.result))
        expect(unexpected, 'steps ended with unexpected errors').toEqual([])
        expect(await checkPaymentBooks(shop.commerce, gateway, order.id)).toEqual([])

        // Whatever happened, cancelling gives every cent back and the books still agree.
        const canceled = await shop.commerce.orders.cancel(order.id)
        expect(canceled.status).toBe('canceled')
        const [payment] = (await shop.commerce.payments.list({ orderId: order.id })).items
        expect(payment!.status === 'voided' || payment!.capturedAmount === payment!.refundedAmount, `payment ${payment!.status} after cancel`).toBe(true)
        expect(await checkPaymentBooks(shop.commerce, gateway, order.id)).toEqual([])
      }),
      { numRuns: options.runs, seed: Number(process.env.CARTWRIGHT_PROPERTY_SEED ?? 20261130), endOnFailure: true },
    )
  }, 600_000)
}
