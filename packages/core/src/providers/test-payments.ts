import { z } from 'zod'
import { systemClock, type Clock } from '../clock.js'
import type { AuthorizeInput, AuthorizeResult, PaymentOperationInput, PaymentOperationResult, PaymentProvider } from '../ports/payment-provider.js'
import { parseOptions } from '../validation.js'

/** What the test gateway does with one authorization. */
export type TestOutcome =
  | 'approve'
  | 'decline'
  | 'capture'
  /** The request fails before reaching the gateway: nothing is charged. */
  | 'error'
  /** The gateway authorizes, but the response is lost: the caller sees an error, the ledger has the charge. */
  | 'lost'
  | { decline: string }
  | { delayMs: number; then?: TestOutcome }

const optionsSchema = z.strictObject({
  id: z.string().min(1).max(64).default('test'),
  /** Capture at authorization, as some gateways do. */
  autoCapture: z.boolean().default(false),
  /** Outcome for authorizations that nothing scripted; default `approve`. */
  defaultOutcome: z.custom<TestOutcome>().optional(),
  /**
   * How many of the most recent calls `calls` keeps (default 1000; `Infinity` keeps them all), so a
   * long-running demo does not grow without bound. The idempotency ledger is never trimmed.
   */
  keepCalls: z.number().int().min(0).or(z.literal(Number.POSITIVE_INFINITY)).default(1000),
  /**
   * The clock a `{ delayMs }` outcome sleeps on (default the system clock): give it the engine's
   * virtual clock and a stalled gateway stalls in virtual time.
   */
  clock: z.custom<Pick<Clock, 'sleep'>>((v) => typeof (v as Clock)?.sleep === 'function', { message: 'pass a clock with sleep(ms)' }).optional(),
})

/** Options of {@link testPayments}. */
export type TestPaymentsOptions = z.input<typeof optionsSchema>

/** A record of one call the test gateway received. */
export interface TestGatewayCall {
  operation: 'authorize' | 'capture' | 'void' | 'refund'
  idempotencyKey: string
  amount: number
  currency: string
  /** False when the key was seen before and the first result was replayed. */
  charged: boolean
}

/** The test gateway: a {@link PaymentProvider} you can script, and its ledger. */
export interface TestPayments extends PaymentProvider {
  /** Queue outcomes for the next authorizations, in order. */
  script(...outcomes: TestOutcome[]): void
  /** Outcome used when the queue is empty. `data.outcome` from the shopper's client overrides it per call. */
  setDefault(outcome: TestOutcome): void
  /** The calls received, oldest first: the most recent `keepCalls` (default 1000) of them. */
  readonly calls: readonly TestGatewayCall[]
  /** Authorizations that reached the ledger (repeats of a key are not counted), over the gateway's whole life. */
  authorizations(): number
}

/** What the ledger remembers of a call that reached the gateway. */
type Entry = AuthorizeResult | PaymentOperationResult

/**
 * An in-memory payment gateway for tests and demos. It keeps a ledger keyed by idempotency
 * key like a real gateway (a repeated key replays the first result, charging nothing), and
 * can be scripted to approve, decline, fail or stall. The shopper's client can choose an
 * outcome with `payment.data.outcome` (`'decline'`, for instance), as test card numbers do.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const payments = testPayments()
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: ':memory:' }), payments: [payments] })
 * payments.script('decline') // the next authorization is declined
 * ```
 */
export function testPayments(options: TestPaymentsOptions = {}): TestPayments {
  const config = parseOptions(optionsSchema, options, 'cartwright:test-payments')
  const clock = config.clock ?? systemClock()
  const queue: TestOutcome[] = []
  let fallback: TestOutcome = config.defaultOutcome ?? 'approve'
  const calls: TestGatewayCall[] = []
  // The idempotency ledger, one map per operation, keyed by the caller's key: the call in flight,
  // then (once it succeeded) its result alone, which is all a replay needs.
  const ledgers: Record<TestGatewayCall['operation'], Map<string, Entry | Promise<Entry>>> = {
    authorize: new Map(),
    capture: new Map(),
    void: new Map(),
    refund: new Map(),
  }
  let charges = 0
  let sequence = 0
  const lost = new Set<string>()

  async function decide(outcome: TestOutcome, input: AuthorizeInput): Promise<AuthorizeResult> {
    if (typeof outcome === 'object' && 'delayMs' in outcome) {
      await clock.sleep(outcome.delayMs)
      return decide(outcome.then ?? 'approve', input)
    }
    if (outcome === 'error') throw new Error('test gateway: connection reset')
    if (outcome === 'decline') return { status: 'declined', reason: 'card_declined' }
    if (typeof outcome === 'object' && 'decline' in outcome) return { status: 'declined', reason: outcome.decline }
    const reference = `tp_${++sequence}_${input.paymentId}`
    return outcome === 'capture' || config.autoCapture ? { status: 'captured', reference } : { status: 'authorized', reference }
  }

  function once<T extends Entry>(operation: TestGatewayCall['operation'], input: { idempotencyKey: string; amount: number; currency: string }, run: () => Promise<T>): Promise<T> {
    const ledger = ledgers[operation]
    const key = input.idempotencyKey
    const seen = ledger.get(key) as T | Promise<T> | undefined
    const call: TestGatewayCall = { operation, idempotencyKey: key, amount: input.amount, currency: input.currency, charged: seen === undefined }
    calls.push(call)
    if (calls.length > config.keepCalls) calls.shift()
    if (seen !== undefined) return Promise.resolve(seen)
    if (operation === 'authorize') charges++
    const result = run()
    ledger.set(key, result)
    result.then(
      (value) => {
        if (ledger.get(key) === result) ledger.set(key, value)
      },
      () => {
        // A failed call did not reach the ledger: the same key may try again.
        call.charged = false
        if (operation === 'authorize') charges--
        ledger.delete(key)
      },
    )
    return result
  }

  const operation = (name: 'capture' | 'void' | 'refund') => (input: PaymentOperationInput) =>
    once(name, input, async () => ({ status: 'succeeded', reference: `${name}_${input.reference}` }) as PaymentOperationResult)

  return {
    id: config.id,
    capabilities: { capture: true, partialCapture: true, refund: true, void: true },
    authorize(input) {
      return once('authorize', input, () => {
        const requested = input.data['outcome'] as TestOutcome | undefined
        const outcome = requested ?? queue.shift() ?? fallback
        if (outcome === 'lost') {
          lost.add(input.idempotencyKey)
          return decide('approve', input)
        }
        return decide(outcome, input)
      }).then((result) => {
        if (lost.delete(input.idempotencyKey)) throw new Error('test gateway: response lost')
        return result
      })
    },
    capture: operation('capture'),
    void: operation('void'),
    refund: operation('refund'),
    script(...outcomes) {
      queue.push(...outcomes)
    },
    setDefault(outcome) {
      fallback = outcome
    },
    get calls() {
      return calls
    },
    authorizations() {
      return charges
    },
  }
}
