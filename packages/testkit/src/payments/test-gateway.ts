import { createHmac, timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type {
  AuthorizeInput,
  AuthorizeResult,
  Clock,
  GatewayEvent,
  PaymentCapabilities,
  PaymentOperationInput,
  PaymentOperationResult,
  PaymentProvider,
  RetrieveResult,
  WebhookRequest,
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
 * - `{ until, then }`: answers when the promise settles, for interleavings forced by a test;
 * - `'action'` (authorize only): the bank wants the shopper to confirm (3-D Secure): the answer is
 *   `requires_action` with a redirect URL, and the charge waits for {@link TestGateway.confirmAction}.
 */
export type GatewayBehaviour =
  | 'ok'
  | 'refuse'
  | 'error'
  | 'lost'
  | 'action'
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
  /**
   * For an authorization that asked the shopper to confirm (`'action'`): `required` until they do
   * (nothing is held yet), then `confirmed` or `failed`. Null for one approved at once.
   */
  action?: 'required' | 'confirmed' | 'failed' | null
  /** For such a charge: the amount the shopper is asked to confirm. */
  requested?: number
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
  /**
   * The clock `{ delayMs }` and `{ answerDelayMs }` sleep on (default real time): give it the
   * engine's virtual clock and a gateway that hangs for ten minutes hangs in virtual time.
   */
  clock?: Pick<Clock, 'sleep'>
  /** The secret its webhooks are signed with (default `'whsec_test_gateway'`). */
  webhookSecret?: string
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
  /**
   * The shopper confirms (or fails to confirm) a charge that answered `requires_action`: it is
   * authorized (captured too with `autoCapture`), or fails. Returns the notifications this sent;
   * nothing happens to a charge already confirmed, failed or voided (a canceled attempt).
   */
  confirmAction(reference: string, outcome?: 'approve' | 'fail'): GatewayEvent[]
  /** Opens or closes a dispute (chargeback) on a charge; returns the notification. */
  dispute(reference: string, change: 'opened' | 'closed', reason?: string): GatewayEvent
  /**
   * Every notification the gateway has sent, oldest first: one per change it made (an
   * authorization, a capture, a refund, a void as `canceled`, a failure, a confirmation asked for,
   * a dispute), each with its own id, whatever the caller saw of the answer.
   */
  notifications(): GatewayEvent[]
  /**
   * A webhook request carrying `events`, signed as the gateway signs them (HMAC-SHA256 of
   * `<t>.<raw body>` in the `x-test-gateway-signature` header, `t=<seconds>,v1=<hex>`), for
   * `commerce.payments.handleWebhook(gateway.id, request.rawBody, request.headers)`.
   */
  webhook(events: GatewayEvent | readonly GatewayEvent[]): WebhookRequest & { rawBody: string; headers: Record<string, string> }
}

/** The header the test gateway signs its webhooks in. */
export const TEST_GATEWAY_SIGNATURE_HEADER = 'x-test-gateway-signature'

interface LedgerFile {
  sequence: number
  charges: Record<string, GatewayCharge>
  /** The notifications sent, oldest first. */
  notifications?: GatewayEvent[]
  /** The answer given to each key, per operation: replayed when the key comes again. */
  answers: Record<GatewayOperation, Record<string, AuthorizeResult | PaymentOperationResult>>
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

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
 *
 * // 3-D Secure: the next checkout answers requires_action; the shopper confirms at the bank, and
 * // the gateway's webhook reaches the engine.
 * gateway.script('authorize', 'action')
 * const result = await commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: 'k1' })
 * if (result.status === 'requires_action') {
 *   const { reference } = gateway.chargeFor(result.paymentId)!
 *   const request = gateway.webhook(gateway.confirmAction(reference))
 *   await commerce.payments.handleWebhook(gateway.id, request.rawBody, request.headers)
 * }
 * ```
 */
export function testGateway(options: TestGatewayOptions = {}): TestGateway {
  const id = options.id ?? 'gateway'
  const capabilities: PaymentCapabilities = {
    capture: true,
    partialCapture: true,
    refund: true,
    void: true,
    multiCapture: false,
    retrieve: true,
    webhooks: true,
    ...options.capabilities,
  }
  const sleep = options.clock ? (ms: number) => options.clock!.sleep(ms) : realSleep
  const secret = options.webhookSecret ?? 'whsec_test_gateway'
  const file = options.ledgerFile
  const ledger: LedgerFile =
    file && existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as LedgerFile)
      : { sequence: 0, charges: {}, answers: { authorize: {}, capture: {}, void: {}, refund: {} } }
  ledger.notifications ??= []
  const notifications = ledger.notifications
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
    act: (refusal: string | null, action: boolean) => T,
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
      const answer = act(refusal, behaviour === 'action')
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

  /** Records a notification (saved with the ledger by the caller). */
  function notify(event: Omit<GatewayEvent, 'id'>): GatewayEvent {
    const sent: GatewayEvent = { id: `evt_${++ledger.sequence}`, ...event }
    notifications.push(sent)
    return sent
  }

  function operate(operation: 'capture' | 'void' | 'refund', input: PaymentOperationInput): Promise<PaymentOperationResult> {
    return behave(operation, input, (refusal) => {
      if (refusal) return failed(refusal)
      const charge = ledger.charges[input.reference]
      if (!charge) return failed('no_such_charge')
      if (input.currency !== charge.currency) return failed('currency_mismatch')
      if (!Number.isSafeInteger(input.amount) || input.amount < 0) return failed('invalid_amount')
      const at = { reference: charge.reference, currency: charge.currency }
      if (operation === 'capture') {
        if (charge.voided) return failed('charge_voided')
        if (charge.action === 'required' || charge.action === 'failed') return failed('charge_not_authorized')
        if (charge.captures > 0 && !capabilities.multiCapture) return failed('charge_already_captured')
        if (input.amount <= 0 || charge.captured + input.amount > charge.authorized) return failed('amount_too_large')
        charge.captured += input.amount
        charge.captures++
        notify({ type: 'captured', ...at, amount: input.amount })
      } else if (operation === 'void') {
        if (charge.voided) return failed('charge_already_voided')
        if (charge.captured > 0) return failed('charge_already_captured')
        // Voiding an attempt that waits for the shopper cancels it: a later confirmation does nothing.
        charge.voided = true
        notify({ type: 'canceled', ...at, reason: 'voided' })
      } else {
        if (input.amount <= 0 || charge.refunded + input.amount > charge.captured) return failed('amount_too_large')
        charge.refunded += input.amount
        notify({ type: 'refunded', ...at, amount: input.amount })
      }
      return { status: 'succeeded', reference: `${operation}_${++ledger.sequence}` }
    })
  }

  const gateway: TestGateway = {
    id,
    capabilities,
    authorize(input: AuthorizeInput) {
      return behave('authorize', input, (refusal, action): AuthorizeResult => {
        if (refusal) return { status: 'declined', reason: refusal }
        const reference = `ch_${++ledger.sequence}`
        if (action) {
          ledger.charges[reference] = {
            reference,
            paymentId: input.paymentId,
            currency: input.currency,
            authorized: 0,
            captured: 0,
            refunded: 0,
            voided: false,
            captures: 0,
            action: 'required',
            requested: input.amount,
          }
          notify({ type: 'requires_action', reference, currency: input.currency })
          return { status: 'requires_action', reference, action: { type: 'redirect', url: `https://gateway.test/confirm/${reference}` } }
        }
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
        notify({ type: 'authorized', reference, currency: input.currency, amount: input.amount })
        if (captured > 0) notify({ type: 'captured', reference, currency: input.currency, amount: captured })
        return options.autoCapture ? { status: 'captured', reference } : { status: 'authorized', reference }
      })
    },
    capture: (input) => operate('capture', input),
    void: (input) => operate('void', input),
    refund: (input) => operate('refund', input),
    async retrieve({ reference }): Promise<RetrieveResult> {
      const charge = ledger.charges[reference]
      if (!charge) throw new Error(`test gateway: no charge ${reference}`)
      const amounts = { authorizedAmount: charge.authorized, capturedAmount: charge.captured, refundedAmount: charge.refunded }
      if (charge.voided) return { status: 'canceled', reason: 'voided', ...amounts }
      if (charge.action === 'required') return { status: 'requires_action', ...amounts }
      if (charge.action === 'failed') return { status: 'declined', reason: 'authentication_failed', ...amounts }
      return { status: charge.captured > 0 ? 'captured' : 'authorized', ...amounts }
    },
    webhooks: {
      verify(request: WebhookRequest): GatewayEvent[] {
        const raw = typeof request.rawBody === 'string' ? request.rawBody : Buffer.from(request.rawBody).toString('utf8')
        const header = request.headers[TEST_GATEWAY_SIGNATURE_HEADER]
        const value = Array.isArray(header) ? header[0] : header
        const parts = new Map(String(value ?? '').split(',').map((p) => p.split('=', 2) as [string, string]))
        const t = parts.get('t')
        const v1 = parts.get('v1')
        if (!t || !v1 || !/^[0-9a-f]{64}$/.test(v1)) throw new Error(`missing or malformed ${TEST_GATEWAY_SIGNATURE_HEADER} header`)
        const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest()
        if (!timingSafeEqual(expected, Buffer.from(v1, 'hex'))) throw new Error('signature does not match the body')
        const body = JSON.parse(raw) as { events: GatewayEvent[] }
        return body.events
      },
    },
    confirmAction(reference, outcome = 'approve') {
      const charge = ledger.charges[reference]
      if (!charge) throw new Error(`test gateway: no charge ${reference}`)
      if (charge.action !== 'required' || charge.voided) return []
      const at = { reference, currency: charge.currency }
      const sent: GatewayEvent[] = []
      if (outcome === 'fail') {
        charge.action = 'failed'
        sent.push(notify({ type: 'failed', ...at, reason: 'authentication_failed' }))
      } else {
        const amount = charge.requested ?? 0
        charge.action = 'confirmed'
        charge.authorized = amount
        sent.push(notify({ type: 'authorized', ...at, amount }))
        if (options.autoCapture) {
          charge.captured = amount
          charge.captures = 1
          sent.push(notify({ type: 'captured', ...at, amount }))
        }
      }
      save()
      return sent
    },
    dispute(reference, change, reason) {
      if (!ledger.charges[reference]) throw new Error(`test gateway: no charge ${reference}`)
      const sent = notify({ type: change === 'opened' ? 'dispute.opened' : 'dispute.closed', reference, ...(reason ? { reason } : {}) })
      save()
      return sent
    },
    notifications() {
      return notifications.map((n) => ({ ...n }))
    },
    webhook(events) {
      const rawBody = JSON.stringify({ events: Array.isArray(events) ? events : [events] })
      const t = String(Math.floor(Date.now() / 1000))
      const v1 = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex')
      return { rawBody, headers: { [TEST_GATEWAY_SIGNATURE_HEADER]: `t=${t},v1=${v1}`, 'content-type': 'application/json' } }
    },
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
