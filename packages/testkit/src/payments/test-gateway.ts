import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type {
  AuthorizeInput,
  AuthorizeResult,
  PaymentCapabilities,
  PaymentOperationInput,
  PaymentOperationResult,
  PaymentProvider,
} from '@cartwright/core'

/** The four calls a gateway receives. */
export type GatewayOperation = 'authorize' | 'capture' | 'void' | 'refund'

/**
 * What the gateway does with one call:
 * - `'ok'`: does it and answers at once (an authorization is approved);
 * - `'refuse'` or `{ refuse: reason }`: refuses (a declined card, a failed capture); nothing moves;
 * - `'error'`: the request never reaches the gateway (the caller sees an error, nothing moves, the
 *   key may be used again);
 * - `'lost'`: the gateway does it, but the answer is lost (the caller sees an error; a retry with
 *   the same key replays the first result);
 * - `{ delayMs, then }`: is reached late, then behaves as `then` (default `'ok'`);
 * - `{ answerDelayMs, then }`: does the work at once (as `then`), and answers late: a repeat of the
 *   key meanwhile is answered from the ledger first;
 * - `{ until, then }`: answers when the promise settles, for interleavings forced by a test.
 */
export type GatewayBehaviour =
  | 'ok'
  | 'refuse'
  | 'error'
  | 'lost'
  | { refuse: string }
  | { delayMs: number; then?: GatewayBehaviour }
  | { answerDelayMs: number; then?: GatewayBehaviour }
  | { until: Promise<unknown>; then?: GatewayBehaviour }

/** What the gateway holds for one authorization, in minor units. */
export interface GatewayCharge {
  reference: string
  paymentId: string
  currency: string
  authorized: number
  captured: number
  refunded: number
  voided: boolean
  /** How many captures succeeded. */
  captures: number
}

/** A call the gateway received. */
export interface GatewayCall {
  operation: GatewayOperation
  idempotencyKey: string
  amount: number
  /** `replayed`: the key was known and its first answer returned. */
  outcome: 'done' | 'refused' | 'error' | 'lost' | 'replayed'
}

/** Options of {@link testGateway}. */
export interface TestGatewayOptions {
  /** Provider id (default `'gateway'`). */
  id?: string
  /**
   * A file holding the ledger (charges and the answer recorded for every key), rewritten
   * atomically after each change and read back at start: a gateway made again on the same file
   * after a process is killed remembers everything, as a real gateway would.
   */
  ledgerFile?: string
  /** Capabilities to declare; all true by default except `multiCapture`. */
  capabilities?: Partial<PaymentCapabilities>
  /** Authorizations capture at once (default false). */
  autoCapture?: boolean
  /** Behaviour when nothing is scripted for an operation (default `'ok'` for each). */
  defaults?: Partial<Record<GatewayOperation, GatewayBehaviour>>
}

/** The scriptable gateway: a {@link PaymentProvider} with a ledger you can read. */
export interface TestGateway extends PaymentProvider {
  /** Queues behaviours for the next calls of `operation` that are not replays, in order. */
  script(operation: GatewayOperation, ...behaviours: GatewayBehaviour[]): void
  /** Drops every queued behaviour. */
  unscript(): void
  /** Behaviour for `operation` when its queue is empty. */
  setDefault(operation: GatewayOperation, behaviour: GatewayBehaviour): void
  /** Every charge, by reference. */
  charges(): GatewayCharge[]
  /** The charge made for a Cartwright payment id, if any. */
  chargeFor(paymentId: string): GatewayCharge | undefined
  /** The calls received, oldest first. */
  readonly calls: readonly GatewayCall[]
}

interface LedgerFile {
  sequence: number
  charges: Record<string, GatewayCharge>
  /** The answer given to each key, per operation: replayed when the key comes again. */
  answers: Record<GatewayOperation, Record<string, AuthorizeResult | PaymentOperationResult>>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A payment gateway for tests that behaves like a real one: a ledger of charges with the rules
 * gateways enforce (capture at most what is authorized and, unless `multiCapture`, once; no void
 * after a capture; refund at most what was captured), an idempotency record per key, and every
 * call scriptable: late, refused, failing before it arrives, or losing its answer after it did
 * the work. Keep the ledger in a file to let it survive a process kill.
 *
 * The conformance suites, crash tests and simulation compare the engine's books with
 * {@link TestGateway.charges}: they must always agree.
 *
 * @example
 * ```ts
 * import { testGateway } from '@cartwright/testkit'
 *
 * const gateway = testGateway({ ledgerFile: '/tmp/gateway.json' })
 * gateway.script('capture', 'lost') // the next capture happens, but its answer is lost
 * gateway.script('refund', { delayMs: 50, then: { refuse: 'insufficient_funds' } })
 * ```
 */
export function testGateway(options: TestGatewayOptions = {}): TestGateway {
  const id = options.id ?? 'gateway'
  const capabilities: PaymentCapabilities = { capture: true, partialCapture: true, refund: true, void: true, multiCapture: false, ...options.capabilities }
  const file = options.ledgerFile
  const ledger: LedgerFile =
    file && existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as LedgerFile)
      : { sequence: 0, charges: {}, answers: { authorize: {}, capture: {}, void: {}, refund: {} } }
  const queues: Record<GatewayOperation, GatewayBehaviour[]> = { authorize: [], capture: [], void: [], refund: [] }
  const defaults: Record<GatewayOperation, GatewayBehaviour> = { authorize: 'ok', capture: 'ok', void: 'ok', refund: 'ok', ...options.defaults }
  const calls: GatewayCall[] = []
  // Calls in flight per key, so that a concurrent repeat waits for the first instead of doing it twice.
  const inFlight = new Map<string, Promise<unknown>>()

  function save(): void {
    if (!file) return
    writeFileSync(`${file}.tmp`, JSON.stringify(ledger))
    renameSync(`${file}.tmp`, file)
  }

  async function behave<T>(
    operation: GatewayOperation,
    input: { idempotencyKey: string; amount: number },
    act: (refusal: string | null) => T,
  ): Promise<T> {
    const known = ledger.answers[operation][input.idempotencyKey]
    if (known !== undefined) {
      calls.push({ operation, idempotencyKey: input.idempotencyKey, amount: input.amount, outcome: 'replayed' })
      return known as T
    }
    const flightKey = `${operation}:${input.idempotencyKey}`
    const running = inFlight.get(flightKey)
    if (running) {
      await running.catch(() => undefined)
      return behave(operation, input, act)
    }
    let behaviour: GatewayBehaviour = queues[operation].shift() ?? defaults[operation]
    let answerDelay = 0
    const work = (async () => {
      for (;;) {
        if (typeof behaviour === 'object' && 'answerDelayMs' in behaviour) {
          answerDelay += behaviour.answerDelayMs
          behaviour = behaviour.then ?? 'ok'
          continue
        }
        if (typeof behaviour === 'object' && 'delayMs' in behaviour) {
          await sleep(behaviour.delayMs)
          behaviour = behaviour.then ?? 'ok'
        } else if (typeof behaviour === 'object' && 'until' in behaviour) {
          await behaviour.until.catch(() => undefined)
          behaviour = behaviour.then ?? 'ok'
        } else break
      }
      const record = (outcome: GatewayCall['outcome']) => calls.push({ operation, idempotencyKey: input.idempotencyKey, amount: input.amount, outcome })
      if (behaviour === 'error') {
        record('error')
        throw new Error(`test gateway: ${operation} failed before reaching the gateway`)
      }
      const refusal = behaviour === 'refuse' ? `${operation}_refused` : typeof behaviour === 'object' && 'refuse' in behaviour ? behaviour.refuse : null
      const answer = act(refusal)
      ledger.answers[operation][input.idempotencyKey] = answer as AuthorizeResult | PaymentOperationResult
      save()
      if (answerDelay > 0) {
        // Recorded: from here a repeat of the key is answered from the ledger, not made to wait.
        inFlight.delete(flightKey)
        await sleep(answerDelay)
      }
      if (behaviour === 'lost') {
        record('lost')
        throw new Error(`test gateway: the ${operation} answer was lost`)
      }
      record(refusal ? 'refused' : 'done')
      return answer
    })()
    inFlight.set(flightKey, work)
    try {
      return await work
    } finally {
      inFlight.delete(flightKey)
    }
  }

  function failed(reason: string): PaymentOperationResult {
    return { status: 'failed', reason }
  }

  function operate(operation: 'capture' | 'void' | 'refund', input: PaymentOperationInput): Promise<PaymentOperationResult> {
    return behave(operation, input, (refusal) => {
      if (refusal) return failed(refusal)
      const charge = ledger.charges[input.reference]
      if (!charge) return failed('no_such_charge')
      if (input.currency !== charge.currency) return failed('currency_mismatch')
      if (!Number.isSafeInteger(input.amount) || input.amount < 0) return failed('invalid_amount')
      if (operation === 'capture') {
        if (charge.voided) return failed('charge_voided')
        if (charge.captures > 0 && !capabilities.multiCapture) return failed('charge_already_captured')
        if (input.amount <= 0 || charge.captured + input.amount > charge.authorized) return failed('amount_too_large')
        charge.captured += input.amount
        charge.captures++
      } else if (operation === 'void') {
        if (charge.voided) return failed('charge_already_voided')
        if (charge.captured > 0) return failed('charge_already_captured')
        charge.voided = true
      } else {
        if (input.amount <= 0 || charge.refunded + input.amount > charge.captured) return failed('amount_too_large')
        charge.refunded += input.amount
      }
      return { status: 'succeeded', reference: `${operation}_${++ledger.sequence}` }
    })
  }

  const gateway: TestGateway = {
    id,
    capabilities,
    authorize(input: AuthorizeInput) {
      return behave('authorize', input, (refusal): AuthorizeResult => {
        if (refusal) return { status: 'declined', reason: refusal }
        const reference = `ch_${++ledger.sequence}`
        const captured = options.autoCapture ? input.amount : 0
        ledger.charges[reference] = {
          reference,
          paymentId: input.paymentId,
          currency: input.currency,
          authorized: input.amount,
          captured,
          refunded: 0,
          voided: false,
          captures: captured > 0 ? 1 : 0,
        }
        return options.autoCapture ? { status: 'captured', reference } : { status: 'authorized', reference }
      })
    },
    capture: (input) => operate('capture', input),
    void: (input) => operate('void', input),
    refund: (input) => operate('refund', input),
    script(operation, ...behaviours) {
      queues[operation].push(...behaviours)
    },
    unscript() {
      for (const queue of Object.values(queues)) queue.length = 0
    },
    setDefault(operation, behaviour) {
      defaults[operation] = behaviour
    },
    charges() {
      return Object.values(ledger.charges).map((c) => ({ ...c }))
    },
    chargeFor(paymentId) {
      const charge = Object.values(ledger.charges).find((c) => c.paymentId === paymentId)
      return charge ? { ...charge } : undefined
    },
    get calls() {
      return calls
    },
  }
  return gateway
}
