import { isCommerceError, type Commerce, type PaymentDetails } from '@cartwright/core'
import type { GatewayBehaviour, GatewayCharge, TestGateway } from './test-gateway.js'

/** Which idempotency key a step sends: none, a new one, or the key of an earlier step (a retry). */
export type StepKey = 'none' | 'fresh' | { reuse: number }

/** One money-moving call on an order, with how the gateway behaves for it. */
export type PaymentStep =
  | { kind: 'capture'; amount: number | null; key: StepKey; gateway: GatewayBehaviour }
  | { kind: 'refund'; amount: number; key: StepKey; gateway: GatewayBehaviour }
  | { kind: 'void'; key: StepKey; gateway: GatewayBehaviour }
  | { kind: 'cancel'; key: StepKey; gateway: GatewayBehaviour }
  | { kind: 'recover' }

/** Steps run at the same time; rounds run one after another. */
export type PaymentRound = PaymentStep[]

/** What one step came to: `ok`, or the error code it threw. */
export interface StepOutcome {
  round: number
  step: number
  kind: PaymentStep['kind']
  result: string
}

const OPERATION = { capture: 'capture', refund: 'refund', void: 'void', cancel: null, recover: null } as const

/**
 * Runs rounds of concurrent captures, refunds, voids, cancels and recoveries against one order,
 * scripting the gateway's behaviour for each call. Errors are outcomes, not failures: the
 * invariants are checked afterwards by {@link checkPaymentBooks}. A cancel sends a void or a refund,
 * so its behaviour is queued for both.
 *
 * This is the first scenario of the simulation: steps are plain data, so a seeded generator
 * ({@link randomPaymentRounds}) or a property-testing library can produce them, and a failing
 * sequence prints as it ran.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict'
 * import { checkPaymentBooks, runPaymentRounds, testGateway } from '@cartwright/testkit'
 *
 * const gateway = testGateway() // composed into `commerce` as a payment provider
 * const outcomes = await runPaymentRounds(commerce, gateway, order.id, [
 *   [{ kind: 'capture', amount: null, key: 'fresh', gateway: 'lost' }, { kind: 'cancel', key: 'none', gateway: 'ok' }],
 *   [{ kind: 'recover' }],
 * ])
 * assert.deepEqual(await checkPaymentBooks(commerce, gateway, order.id), [])
 * ```
 */
export async function runPaymentRounds(commerce: Commerce, gateway: TestGateway, orderId: string, rounds: readonly PaymentRound[]): Promise<StepOutcome[]> {
  const keys: string[] = []
  const outcomes: StepOutcome[] = []
  let counter = 0
  for (const [r, round] of rounds.entries()) {
    const calls = round.map((step, s) => {
      const index = keys.length
      const key =
        step.kind === 'recover' || step.key === 'none'
          ? undefined
          : step.key === 'fresh'
            ? `${orderId}-step-${++counter}`
            : (keys[step.key.reuse % Math.max(1, keys.length)] ?? `${orderId}-step-${++counter}`)
      keys[index] = key ?? `${orderId}-unkeyed-${++counter}`
      if (step.kind !== 'recover') {
        const op = OPERATION[step.kind]
        if (op) gateway.script(op, step.gateway)
        else {
          gateway.script('void', step.gateway)
          gateway.script('refund', step.gateway)
        }
      }
      const keyed = key ? { idempotencyKey: key } : {}
      const run = async () => {
        switch (step.kind) {
          case 'capture':
            return commerce.orders.capturePayment(orderId, { ...(step.amount === null ? {} : { amount: step.amount }), ...keyed })
          case 'refund':
            return commerce.orders.refund(orderId, { amount: step.amount, ...keyed })
          case 'void':
            return commerce.orders.voidPayment(orderId, keyed)
          case 'cancel':
            return commerce.orders.cancel(orderId, keyed)
          case 'recover':
            return commerce.payments.recover()
        }
      }
      return run().then(
        () => ({ round: r, step: s, kind: step.kind, result: 'ok' }),
        (error: unknown) => {
          if (!isCommerceError(error)) throw error
          return { round: r, step: s, kind: step.kind, result: error.code }
        },
      )
    })
    outcomes.push(...(await Promise.all(calls)))
    gateway.unscript()
  }
  return outcomes
}

/**
 * Brings every pending operation of the order to an end against a gateway that now answers, then
 * lists what disagrees between the engine's books and the gateway's ledger (empty when they
 * agree): authorized, captured and refunded amounts, a void, `refunded ≤ captured ≤ authorized`,
 * and the sums of succeeded operations.
 */
export async function checkPaymentBooks(commerce: Commerce, gateway: TestGateway, orderId: string): Promise<string[]> {
  const problems: string[] = []
  for (let i = 0; i < 5; i++) {
    const pending = (await commerce.payments.list({ orderId })).items.flatMap((p) => p.operations.filter((o) => o.status === 'pending'))
    if (pending.length === 0) break
    await commerce.payments.recover()
  }
  const { items } = await commerce.payments.list({ orderId })
  for (const payment of items) problems.push(...comparePaymentWithCharge(payment, gateway.chargeFor(payment.id)))
  const order = await commerce.orders.get(orderId)
  const payment = items.find((p) => p.orderId === orderId)
  if (payment && order.paymentStatus !== payment.status) problems.push(`order payment status ${order.paymentStatus}, payment ${payment.status}`)
  return problems
}

/**
 * What disagrees between one payment of the engine and the gateway's charge for it (empty when
 * they agree): authorized, captured and refunded amounts, a void, `refunded ≤ captured ≤
 * authorized`, the sums of succeeded operations, and operations still pending.
 * @internal Shared by {@link checkPaymentBooks} and the simulation's invariants.
 */
export function comparePaymentWithCharge(payment: PaymentDetails, charge: GatewayCharge | undefined): string[] {
  const problems: string[] = []
  const name = `payment ${payment.id}`
  if (!charge) {
    if (payment.authorizedAmount !== 0) problems.push(`${name}: authorized ${payment.authorizedAmount} but the gateway has no charge`)
    return problems
  }
  if (payment.authorizedAmount !== charge.authorized) problems.push(`${name}: authorized ${payment.authorizedAmount}, gateway ${charge.authorized}`)
  if (payment.capturedAmount !== charge.captured) problems.push(`${name}: captured ${payment.capturedAmount}, gateway ${charge.captured}`)
  if (payment.refundedAmount !== charge.refunded) problems.push(`${name}: refunded ${payment.refundedAmount}, gateway ${charge.refunded}`)
  // A void matters where money was held: an attempt the shopper never confirmed may be declined by
  // the engine and canceled at the gateway.
  if (charge.authorized > 0 && (payment.status === 'voided') !== charge.voided) problems.push(`${name}: status ${payment.status}, gateway voided=${charge.voided}`)
  if (!(payment.refundedAmount <= payment.capturedAmount && payment.capturedAmount <= payment.authorizedAmount)) {
    problems.push(`${name}: refunded ${payment.refundedAmount} ≤ captured ${payment.capturedAmount} ≤ authorized ${payment.authorizedAmount} does not hold`)
  }
  const sum = (kind: string) => payment.operations.filter((o) => o.kind === kind && o.status === 'succeeded').reduce((s, o) => s + o.amount, 0)
  if (sum('capture') !== payment.capturedAmount) problems.push(`${name}: succeeded captures sum to ${sum('capture')}, captured is ${payment.capturedAmount}`)
  if (sum('refund') !== payment.refundedAmount) problems.push(`${name}: succeeded refunds sum to ${sum('refund')}, refunded is ${payment.refundedAmount}`)
  const stuck = payment.operations.filter((o) => o.status === 'pending')
  if (stuck.length) problems.push(`${name}: ${stuck.length} operation(s) still pending after recovery`)
  return problems
}

/**
 * Rounds drawn from `random` (a seeded generator returning numbers in [0, 1)), for runs driven by
 * a seed rather than a property-testing library. `amount` bounds captures and refunds.
 *
 * @example
 * ```ts
 * import { randomPaymentRounds } from '@cartwright/testkit'
 *
 * let state = 42 // a seeded linear congruential generator; any seeded source of [0, 1) will do
 * const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
 * const rounds = randomPaymentRounds(random, { rounds: 6, amount: order.totals.total })
 * ```
 */
export function randomPaymentRounds(random: () => number, options: { rounds: number; amount: number; concurrency?: number }): PaymentRound[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const behaviours: GatewayBehaviour[] = ['ok', 'ok', 'ok', 'refuse', 'error', 'lost', { delayMs: 5 }, { delayMs: 15, then: 'lost' }]
  const amount = () => 1 + Math.floor(random() * options.amount)
  const key = (): StepKey => pick<StepKey>(['none', 'fresh', 'fresh', { reuse: Math.floor(random() * 8) }])
  const rounds: PaymentRound[] = []
  for (let r = 0; r < options.rounds; r++) {
    const size = 1 + Math.floor(random() * (options.concurrency ?? 3))
    const round: PaymentRound = []
    for (let s = 0; s < size; s++) {
      const kind = pick(['capture', 'capture', 'refund', 'refund', 'void', 'cancel', 'recover'] as const)
      if (kind === 'recover') round.push({ kind })
      else if (kind === 'capture') round.push({ kind, amount: random() < 0.5 ? null : amount(), key: key(), gateway: pick(behaviours) })
      else if (kind === 'refund') round.push({ kind, amount: amount(), key: key(), gateway: pick(behaviours) })
      else round.push({ kind, key: key(), gateway: pick(behaviours) })
    }
    rounds.push(round)
  }
  return rounds
}
