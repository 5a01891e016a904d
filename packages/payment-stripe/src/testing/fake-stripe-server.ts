import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import Stripe from 'stripe'
import { FAKE_STRIPE_JS, TEST_CARD_NUMBERS } from './fake-stripe-js.js'
import { canonical, decodeForm, type FormValue } from './form-body.js'
import { sign, signedEvent, stripeId, type SignedEvent, type StripeTestEvent } from './webhook-helpers.js'

/** What a test payment method does when a PaymentIntent is confirmed with it. */
type TestCard = { outcome: 'succeed' } | { outcome: 'decline'; code: string; declineCode?: string; message: string } | { outcome: 'action' }

/**
 * The test PaymentMethods the fake knows, named as in Stripe's test mode. Any other `pm_…` is
 * `resource_missing`, as Stripe answers for a PaymentMethod that does not exist.
 */
export const TEST_PAYMENT_METHODS: Readonly<Record<string, TestCard>> = Object.freeze({
  pm_card_visa: { outcome: 'succeed' },
  pm_card_mastercard: { outcome: 'succeed' },
  pm_card_amex: { outcome: 'succeed' },
  pm_card_chargeDeclined: { outcome: 'decline', code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' },
  pm_card_visa_chargeDeclinedInsufficientFunds: { outcome: 'decline', code: 'card_declined', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  pm_card_chargeDeclinedExpiredCard: { outcome: 'decline', code: 'expired_card', message: 'Your card has expired.' },
  pm_card_threeDSecure2Required: { outcome: 'action' },
  pm_card_authenticationRequired: { outcome: 'action' },
})

const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd'])

/** A PaymentIntent as the fake keeps it (Stripe's field names; amounts in Stripe's units). */
export interface FakePaymentIntent {
  id: string
  object: 'payment_intent'
  amount: number
  amount_capturable: number
  amount_received: number
  currency: string
  status: 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'requires_capture' | 'canceled' | 'succeeded'
  capture_method: 'manual' | 'automatic'
  client_secret: string
  confirmation_method: 'automatic'
  created: number
  livemode: false
  metadata: Record<string, string>
  payment_method: string | null
  last_payment_error: { type: string; code: string; decline_code?: string; message: string } | null
  cancellation_reason: string | null
  canceled_at: number | null
  latest_charge: string | null
  next_action: { type: 'use_stripe_sdk'; use_stripe_sdk: { type: 'three_d_secure_redirect' } } | { type: 'redirect_to_url'; redirect_to_url: { url: string; return_url: string } } | null
  return_url: string | null
}

interface FakeCharge {
  id: string
  object: 'charge'
  amount: number
  amount_captured: number
  amount_refunded: number
  captured: boolean
  refunded: boolean
  paid: boolean
  status: 'succeeded' | 'failed'
  currency: string
  payment_intent: string
  created: number
}

interface FakeRefund {
  id: string
  object: 'refund'
  amount: number
  currency: string
  charge: string
  payment_intent: string
  status: 'succeeded'
  created: number
}

/** One request the fake received, and what it did with it. */
export interface FakeStripeCall {
  method: string
  path: string
  idempotencyKey: string | null
  /**
   * `real`: acted on; `replayed`: the first answer under its key sent again; `idempotency_error`:
   * its key was used with other parameters; `in_flight`: its key's first request was still running;
   * `lost`: acted on, then the connection dropped with no answer; `reset`: dropped before acting.
   */
  outcome: 'real' | 'replayed' | 'idempotency_error' | 'in_flight' | 'lost' | 'reset'
  status: number
}

/** Everything that moved money at the fake, in Stripe's units, oldest first. */
export interface FakeStripeLedger {
  /** Successful authorizations (money held, or taken at once with automatic capture): one per PaymentIntent. */
  readonly charges: ReadonlyArray<{ paymentIntent: string; amount: number; currency: string; captureMethod: 'manual' | 'automatic' }>
  /** Declined confirmations. */
  readonly declines: ReadonlyArray<{ paymentIntent: string; amount: number; currency: string; code: string }>
  /** Captures, including the one of an automatic-capture PaymentIntent. */
  readonly captures: ReadonlyArray<{ paymentIntent: string; amount: number; currency: string }>
  readonly refunds: ReadonlyArray<{ id: string; paymentIntent: string; amount: number; currency: string }>
  /** Cancellations, with the amount they released. */
  readonly cancels: ReadonlyArray<{ paymentIntent: string; released: number; currency: string }>
  /** Every request, oldest first. */
  readonly calls: readonly FakeStripeCall[]
  /** Counts of `calls` by outcome. */
  readonly requests: Readonly<Record<FakeStripeCall['outcome'], number>>
}

/** Which requests a fault applies to: all by default. */
export interface FaultMatch {
  method?: 'GET' | 'POST'
  /** The exact path (`/v1/refunds`), or a pattern (`/capture$/`). */
  path?: string | RegExp
  /** How many matching requests it applies to (default 1). */
  times?: number
}

/**
 * What goes wrong with a request, for chaos tests:
 * - `lose`: the fake acts (the charge, capture or refund happens and is stored under the
 *   idempotency key), then drops the connection without answering, like a response lost on the way back;
 * - `hang`: the fake holds the request, already in flight under its key, for `ms` milliseconds or until
 *   `release()`, then acts and answers (to nobody, if the client gave up): a gateway that stalls;
 * - `reset`: the fake drops the connection before acting: nothing happened.
 */
export type Fault = ({ fault: 'lose' } | { fault: 'hang'; ms?: number } | { fault: 'reset' }) & FaultMatch

/** Options of {@link startFakeStripe}. */
export interface FakeStripeOptions {
  /** The only API key the fake accepts (default: any `sk_test_…` or `rk_test_…` key). */
  secretKey?: string
  /** The secret the fake signs webhooks with (default `whsec_fake_stripe_test_secret`). */
  webhookSecret?: string
  /** The publishable key its Stripe.js accepts (default: any `pk_test_…` key). */
  publishableKey?: string
}

/** A fake Stripe API on 127.0.0.1, for tests that run offline. */
export interface FakeStripeServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** For `stripePayments({ client: server.endpoint })` or `new Stripe(key, server.endpoint)`. */
  readonly endpoint: { host: '127.0.0.1'; port: number; protocol: 'http' }
  /** A key the fake accepts. */
  readonly secretKey: string
  /** A publishable key its Stripe.js (and the browser's calls) accept. */
  readonly publishableKey: string
  /**
   * Where the fake serves its Stripe.js (`<url>/v3/`): load it instead of `https://js.stripe.com/v3/`
   * to run a card checkout in a test browser. It makes card PaymentMethods from Stripe's test card
   * numbers (`4242 4242 4242 4242` succeeds, `4000 0000 0000 0002` is declined,
   * `4000 0000 0000 3220` asks for 3-D Secure, shown as a dialog to complete or fail).
   */
  readonly jsUrl: string
  /** The secret it signs webhooks with. */
  readonly webhookSecret: string
  /** What moved, and every request. */
  readonly ledger: FakeStripeLedger
  /** A PaymentIntent as it stands now (a copy), or undefined. */
  paymentIntent(id: string): FakePaymentIntent | undefined
  /** Every PaymentIntent, oldest first (copies). */
  paymentIntents(): FakePaymentIntent[]
  /**
   * Ends the customer action of a PaymentIntent in `requires_action` (3-D Secure): `succeed` holds
   * or captures it as its capture method says, `fail` leaves it `requires_payment_method` with
   * `payment_intent_authentication_failure`. Records the events Stripe would send.
   */
  completeAction(paymentIntent: string, outcome: 'succeed' | 'fail'): FakePaymentIntent
  /** Opens (or closes, with `won` or `lost`) a dispute on a captured PaymentIntent's charge, recording the event. */
  dispute(paymentIntent: string, status?: 'needs_response' | 'won' | 'lost', reason?: string): StripeTestEvent
  /** Makes the next matching request(s) go wrong (see {@link Fault}). */
  fault(fault: Fault): void
  /** Lets every hung request go on. */
  release(): void
  /** The events Stripe would have sent for what happened, oldest first (not delivered anywhere). */
  events(type?: string): StripeTestEvent[]
  /** Signs a recorded event (or a new one of `type` around `object`) with the fake's webhook secret. */
  signedEvent(event: StripeTestEvent, timestamp?: number): SignedEvent
  signedEvent(type: string, object: Record<string, unknown>, options?: { timestamp?: number; previousAttributes?: Record<string, unknown> }): SignedEvent
  /** Stops listening and drops open connections. */
  close(): Promise<void>
}

class ApiError {
  constructor(
    readonly status: number,
    readonly error: Record<string, unknown>,
    /** Parameter errors are not stored under the idempotency key: Stripe had not started to act. */
    readonly validation = false,
  ) {}
}

const invalid = (message: string, extra: Record<string, unknown> = {}) => new ApiError(400, { type: 'invalid_request_error', message, ...extra }, true)

function intParam(params: Record<string, FormValue>, name: string, required: boolean): number | undefined {
  const value = params[name]
  if (value === undefined) {
    if (required) throw invalid(`Missing required param: ${name}.`, { code: 'parameter_missing', param: name })
    return undefined
  }
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw invalid(`Invalid integer: ${String(value)}`, { code: 'parameter_invalid_integer', param: name })
  return Number(value)
}

/**
 * Starts a fake Stripe API on 127.0.0.1 (a random port) implementing what `@cartwright/payment-stripe`
 * calls: create-and-confirm, capture, cancel and retrieve of PaymentIntents, and refunds, with
 * Stripe's idempotency (the same key and parameters replay the first answer byte for byte; the
 * same key with other parameters is a 400 `idempotency_error`; a key whose first request is still
 * running is a 409), form-encoded requests and Stripe-shaped JSON errors. Test cards:
 * `pm_card_visa` succeeds, `pm_card_chargeDeclined` is declined (`card_declined`),
 * `pm_card_threeDSecure2Required` waits in `requires_action` until `completeAction`.
 *
 * @example
 * ```ts
 * import { stripePayments } from '@cartwright/payment-stripe'
 * import { startFakeStripe } from '@cartwright/payment-stripe/testing'
 *
 * const server = await startFakeStripe()
 * const stripe = stripePayments({ secretKey: server.secretKey, webhookSecret: server.webhookSecret, client: server.endpoint })
 * // … run a checkout with payment: { provider: 'stripe', data: { paymentMethod: 'pm_card_visa' } }
 * console.log(server.ledger.charges.length)
 * await server.close()
 * ```
 */
export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripeServer> {
  const webhookSecret = options.webhookSecret ?? 'whsec_fake_stripe_test_secret'
  const acceptKey = (key: string) => (options.secretKey ? key === options.secretKey : /^(sk|rk)_test_\S+$/.test(key))
  const acceptPublishable = (key: string) => (options.publishableKey ? key === options.publishableKey : /^pk_test_\S+$/.test(key))
  /** The requests a browser makes with the publishable key (Stripe.js); every other needs the secret key. */
  const BROWSER_PATH = /^\/v1\/(payment_methods|test_helpers\/payment_intents\/[^/]+\/authenticate)$/

  const intents = new Map<string, FakePaymentIntent>()
  /** PaymentMethods made by the fake's Stripe.js, and the test PaymentMethod each behaves as. */
  const paymentMethods = new Map<string, string>()
  const testCard = (paymentMethod: string): TestCard | undefined => TEST_PAYMENT_METHODS[paymentMethods.get(paymentMethod) ?? paymentMethod]
  const charges = new Map<string, FakeCharge>()
  const refunds = new Map<string, FakeRefund>()
  const ledger = {
    charges: [] as Array<FakeStripeLedger['charges'][number]>,
    declines: [] as Array<FakeStripeLedger['declines'][number]>,
    captures: [] as Array<FakeStripeLedger['captures'][number]>,
    refunds: [] as Array<FakeStripeLedger['refunds'][number]>,
    cancels: [] as Array<FakeStripeLedger['cancels'][number]>,
    calls: [] as FakeStripeCall[],
    requests: { real: 0, replayed: 0, idempotency_error: 0, in_flight: 0, lost: 0, reset: 0 },
  }
  const recorded: StripeTestEvent[] = []
  type Stored = { state: 'running'; fingerprint: string } | { state: 'done'; fingerprint: string; status: number; body: string; requestId: string }
  const idempotency = new Map<string, Stored>()
  const faults: Array<Fault & { left: number }> = []
  const hung = new Set<() => void>()
  const sockets = new Set<Socket>()
  const now = () => Math.floor(Date.now() / 1000)

  function record(type: string, object: object, previous?: Record<string, unknown>, request?: { id: string; key: string | null }): StripeTestEvent {
    const event: StripeTestEvent = {
      id: stripeId('evt'),
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: now(),
      livemode: false,
      pending_webhooks: 1,
      request: { id: request?.id ?? null, idempotency_key: request?.key ?? null },
      type,
      data: { object: structuredClone(object) as Record<string, unknown>, ...(previous ? { previous_attributes: previous } : {}) },
    }
    recorded.push(event)
    return event
  }

  function checkAmount(amount: number, currency: string): void {
    if (amount < 1) throw invalid('This value must be greater than or equal to 1.', { code: 'amount_too_small', param: 'amount' })
    if (THREE_DECIMAL.has(currency) && amount % 10 !== 0) {
      throw invalid(`Invalid amount: ${currency.toUpperCase()} amounts must be rounded to the nearest ten (the last digit must be 0).`, { code: 'invalid_amount', param: 'amount' })
    }
    if (currency === 'isk' && amount % 100 !== 0) {
      throw invalid('Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts must be evenly divisible by 100.', {
        code: 'invalid_charge_amount_no_decimal_compatible',
        param: 'amount',
      })
    }
  }

  function intentOf(id: string): FakePaymentIntent {
    const pi = intents.get(id)
    if (!pi) throw new ApiError(404, { type: 'invalid_request_error', code: 'resource_missing', param: 'intent', message: `No such payment_intent: '${id}'` }, true)
    return pi
  }

  function unexpectedState(pi: FakePaymentIntent, action: string, allowed: string): ApiError {
    return new ApiError(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: `This PaymentIntent could not be ${action} because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be ${action}: ${allowed}.`,
      payment_intent: structuredClone(pi),
    })
  }

  /** Holds or takes the money of a PaymentIntent whose confirmation succeeded. */
  function succeed(pi: FakePaymentIntent, request?: { id: string; key: string | null }): void {
    const charge: FakeCharge = {
      id: stripeId('ch'),
      object: 'charge',
      amount: pi.amount,
      amount_captured: pi.capture_method === 'automatic' ? pi.amount : 0,
      amount_refunded: 0,
      captured: pi.capture_method === 'automatic',
      refunded: false,
      paid: true,
      status: 'succeeded',
      currency: pi.currency,
      payment_intent: pi.id,
      created: now(),
    }
    charges.set(charge.id, charge)
    pi.latest_charge = charge.id
    pi.next_action = null
    ledger.charges.push({ paymentIntent: pi.id, amount: pi.amount, currency: pi.currency, captureMethod: pi.capture_method })
    if (pi.capture_method === 'manual') {
      pi.status = 'requires_capture'
      pi.amount_capturable = pi.amount
      record('payment_intent.amount_capturable_updated', pi, undefined, request)
    } else {
      pi.status = 'succeeded'
      pi.amount_received = pi.amount
      ledger.captures.push({ paymentIntent: pi.id, amount: pi.amount, currency: pi.currency })
      record('charge.succeeded', charge, undefined, request)
      record('payment_intent.succeeded', pi, undefined, request)
    }
  }

  function decline(pi: FakePaymentIntent, card: Extract<TestCard, { outcome: 'decline' }>, request: { id: string; key: string | null }): ApiError {
    const charge: FakeCharge = {
      id: stripeId('ch'),
      object: 'charge',
      amount: pi.amount,
      amount_captured: 0,
      amount_refunded: 0,
      captured: false,
      refunded: false,
      paid: false,
      status: 'failed',
      currency: pi.currency,
      payment_intent: pi.id,
      created: now(),
    }
    charges.set(charge.id, charge)
    pi.latest_charge = charge.id
    pi.status = 'requires_payment_method'
    pi.last_payment_error = { type: 'card_error', code: card.code, ...(card.declineCode ? { decline_code: card.declineCode } : {}), message: card.message }
    ledger.declines.push({ paymentIntent: pi.id, amount: pi.amount, currency: pi.currency, code: card.declineCode ?? card.code })
    record('payment_intent.payment_failed', pi, undefined, request)
    return new ApiError(402, {
      type: 'card_error',
      code: card.code,
      ...(card.declineCode ? { decline_code: card.declineCode } : {}),
      message: card.message,
      charge: charge.id,
      payment_intent: structuredClone(pi),
      doc_url: `https://stripe.com/docs/error-codes/${card.code.replace(/_/g, '-')}`,
    })
  }

  function createIntent(params: Record<string, FormValue>, request: { id: string; key: string | null }): FakePaymentIntent {
    const amount = intParam(params, 'amount', true)!
    const currency = params['currency']
    if (typeof currency !== 'string' || !/^[a-z]{3}$/.test(currency)) throw invalid('Invalid currency: use a lowercase three-letter ISO code.', { code: 'parameter_invalid', param: 'currency' })
    checkAmount(amount, currency)
    const captureMethod = params['capture_method'] ?? 'automatic'
    if (captureMethod !== 'manual' && captureMethod !== 'automatic') throw invalid('Invalid capture_method.', { param: 'capture_method' })
    const paymentMethod = params['payment_method']
    if (paymentMethod !== undefined && typeof paymentMethod !== 'string') throw invalid('Invalid payment_method.', { param: 'payment_method' })
    if (paymentMethod !== undefined && !testCard(paymentMethod)) {
      throw invalid(`No such PaymentMethod: '${paymentMethod}'`, { code: 'resource_missing', param: 'payment_method' })
    }
    const confirm = params['confirm'] === 'true'
    if (confirm && !paymentMethod) throw invalid('You must provide a payment_method to confirm a PaymentIntent.', { code: 'parameter_missing', param: 'payment_method' })
    const returnUrl = typeof params['return_url'] === 'string' ? params['return_url'] : null
    const metadata = params['metadata']
    const id = stripeId('pi')
    const pi: FakePaymentIntent = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      currency,
      status: paymentMethod ? (confirm ? 'processing' : 'requires_confirmation') : 'requires_payment_method',
      capture_method: captureMethod,
      client_secret: `${id}_secret_${stripeId('x').slice(2)}`,
      confirmation_method: 'automatic',
      created: now(),
      livemode: false,
      metadata: typeof metadata === 'object' && !Array.isArray(metadata) ? (metadata as Record<string, string>) : {},
      payment_method: paymentMethod ?? null,
      last_payment_error: null,
      cancellation_reason: null,
      canceled_at: null,
      latest_charge: null,
      next_action: null,
      return_url: returnUrl,
    }
    intents.set(id, pi)
    record('payment_intent.created', pi, undefined, request)
    if (!confirm) return pi
    const card = testCard(paymentMethod!)!
    if (card.outcome === 'decline') throw decline(pi, card, request)
    if (card.outcome === 'action') {
      pi.status = 'requires_action'
      pi.next_action = returnUrl
        ? { type: 'redirect_to_url', redirect_to_url: { url: `http://127.0.0.1/3ds/${id}`, return_url: returnUrl } }
        : { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect' } }
      record('payment_intent.requires_action', pi, undefined, request)
      return pi
    }
    succeed(pi, request)
    return pi
  }

  function capture(pi: FakePaymentIntent, params: Record<string, FormValue>, request: { id: string; key: string | null }): FakePaymentIntent {
    if (pi.status !== 'requires_capture') throw unexpectedState(pi, 'captured', 'requires_capture')
    const amount = intParam(params, 'amount_to_capture', false) ?? pi.amount_capturable
    if (amount > pi.amount_capturable) {
      throw new ApiError(400, { type: 'invalid_request_error', code: 'amount_too_large', param: 'amount_to_capture', message: `The amount to capture (${amount}) is greater than the amount capturable (${pi.amount_capturable}).` }, true)
    }
    checkAmount(amount, pi.currency)
    const charge = charges.get(pi.latest_charge!)!
    pi.status = 'succeeded'
    pi.amount_received = amount
    pi.amount_capturable = 0
    charge.captured = true
    charge.amount_captured = amount
    ledger.captures.push({ paymentIntent: pi.id, amount, currency: pi.currency })
    record('charge.captured', charge, undefined, request)
    record('payment_intent.succeeded', pi, undefined, request)
    return pi
  }

  function cancel(pi: FakePaymentIntent, params: Record<string, FormValue>, request: { id: string; key: string | null }): FakePaymentIntent {
    if (pi.status === 'succeeded' || pi.status === 'canceled') {
      throw unexpectedState(pi, 'canceled', 'requires_payment_method, requires_capture, requires_confirmation, requires_action, processing')
    }
    const reason = params['cancellation_reason']
    const released = pi.amount_capturable
    pi.status = 'canceled'
    pi.cancellation_reason = typeof reason === 'string' ? reason : null
    pi.canceled_at = now()
    pi.amount_capturable = 0
    pi.next_action = null
    ledger.cancels.push({ paymentIntent: pi.id, released, currency: pi.currency })
    record('payment_intent.canceled', pi, undefined, request)
    return pi
  }

  function refund(params: Record<string, FormValue>, request: { id: string; key: string | null }): FakeRefund {
    const target = params['payment_intent'] ?? params['charge']
    if (typeof target !== 'string') throw invalid('Missing required param: payment_intent.', { code: 'parameter_missing', param: 'payment_intent' })
    const charge = target.startsWith('ch_') ? charges.get(target) : charges.get(intentOf(target).latest_charge ?? '')
    const pi = charge ? intents.get(charge.payment_intent) : undefined
    if (!charge || !pi || pi.status !== 'succeeded') {
      throw new ApiError(400, { type: 'invalid_request_error', code: 'charge_not_refundable', message: `This PaymentIntent has no captured charge to refund.` })
    }
    const left = charge.amount_captured - charge.amount_refunded
    const amount = intParam(params, 'amount', false) ?? left
    if (left === 0) throw new ApiError(400, { type: 'invalid_request_error', code: 'charge_already_refunded', message: `Charge ${charge.id} has already been refunded.` })
    if (amount > left) {
      throw new ApiError(400, { type: 'invalid_request_error', code: 'amount_too_large', param: 'amount', message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})` }, true)
    }
    checkAmount(amount, charge.currency)
    const before = { amount_refunded: charge.amount_refunded, refunded: charge.refunded }
    const created: FakeRefund = { id: stripeId('re'), object: 'refund', amount, currency: charge.currency, charge: charge.id, payment_intent: pi.id, status: 'succeeded', created: now() }
    refunds.set(created.id, created)
    charge.amount_refunded += amount
    charge.refunded = charge.amount_refunded === charge.amount_captured
    ledger.refunds.push({ id: created.id, paymentIntent: pi.id, amount, currency: charge.currency })
    record('charge.refunded', charge, before, request)
    record('refund.created', created, undefined, request)
    return created
  }

  function retrieveIntent(pi: FakePaymentIntent, query: Record<string, FormValue>): Record<string, unknown> {
    const expand = query['expand']
    const list = Array.isArray(expand) ? expand : typeof expand === 'string' ? [expand] : []
    const copy: Record<string, unknown> = structuredClone(pi) as unknown as Record<string, unknown>
    if (list.includes('latest_charge') && pi.latest_charge) copy['latest_charge'] = structuredClone(charges.get(pi.latest_charge))
    return copy
  }

  /** `POST /v1/payment_methods` from Stripe.js: a card PaymentMethod from a test card number. */
  function createPaymentMethod(params: Record<string, FormValue>): Record<string, unknown> {
    if (params['type'] !== 'card') throw invalid('The fake makes only card PaymentMethods (type=card).', { param: 'type' })
    const card = typeof params['card'] === 'object' && !Array.isArray(params['card']) ? (params['card'] as Record<string, FormValue>) : {}
    const number = typeof card['number'] === 'string' ? card['number'].replace(/\D/g, '') : ''
    const known = TEST_CARD_NUMBERS[number]
    if (!known) throw new ApiError(402, { type: 'card_error', code: 'incorrect_number', param: 'card[number]', message: 'Your card number is incorrect.' }, true)
    const month = Number(card['exp_month'])
    const year = Number(card['exp_year'])
    if (!Number.isInteger(month) || month < 1 || month > 12) throw new ApiError(402, { type: 'card_error', code: 'invalid_expiry_month', param: 'card[exp_month]', message: "Your card's expiration month is invalid." }, true)
    if (!Number.isInteger(year) || year < 0) throw new ApiError(402, { type: 'card_error', code: 'invalid_expiry_year', param: 'card[exp_year]', message: "Your card's expiration year is invalid." }, true)
    const fullYear = year < 100 ? 2000 + year : year
    const today = new Date()
    if (fullYear < today.getUTCFullYear() || (fullYear === today.getUTCFullYear() && month < today.getUTCMonth() + 1)) {
      throw new ApiError(402, { type: 'card_error', code: 'invalid_expiry_year', param: 'card[exp_year]', message: "Your card's expiration year is in the past." }, true)
    }
    if (typeof card['cvc'] !== 'string' || !/^\d{3,4}$/.test(card['cvc'])) throw new ApiError(402, { type: 'card_error', code: 'incomplete_cvc', param: 'card[cvc]', message: "Your card's security code is incomplete." }, true)
    const id = stripeId('pm')
    paymentMethods.set(id, known.paymentMethod)
    return { id, object: 'payment_method', type: 'card', card: { brand: known.brand, last4: number.slice(-4), exp_month: month, exp_year: fullYear }, created: now(), livemode: false }
  }

  /** The fields of a PaymentIntent Stripe shows a browser holding its client secret. */
  const publicIntent = (pi: FakePaymentIntent) => ({
    id: pi.id,
    object: pi.object,
    amount: pi.amount,
    currency: pi.currency,
    status: pi.status,
    capture_method: pi.capture_method,
    client_secret: pi.client_secret,
    last_payment_error: pi.last_payment_error,
    next_action: pi.next_action,
    payment_method: pi.payment_method,
    livemode: false,
  })

  /** The shopper completes or fails 3-D Secure (the fake's Stripe.js dialog): needs the PaymentIntent's client secret. */
  function authenticate(id: string, params: Record<string, FormValue>): Record<string, unknown> {
    const pi = intents.get(id)
    if (!pi || params['client_secret'] !== pi.client_secret) {
      throw new ApiError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such payment_intent: '${id}'` }, true)
    }
    const outcome = params['outcome']
    if (outcome !== 'succeed' && outcome !== 'fail') throw invalid('outcome must be succeed or fail.', { param: 'outcome' })
    if (pi.status !== 'requires_action') throw unexpectedState(pi, 'authenticated', 'requires_action')
    finishAction(pi, outcome)
    return publicIntent(pi)
  }

  function finishAction(pi: FakePaymentIntent, outcome: 'succeed' | 'fail'): void {
    if (outcome === 'succeed') return succeed(pi)
    pi.status = 'requires_payment_method'
    pi.next_action = null
    pi.last_payment_error = {
      type: 'invalid_request_error',
      code: 'payment_intent_authentication_failure',
      message: 'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
    }
    ledger.declines.push({ paymentIntent: pi.id, amount: pi.amount, currency: pi.currency, code: 'payment_intent_authentication_failure' })
    record('payment_intent.payment_failed', pi)
  }

  /** Runs one API call; returns the status and JSON body, or throws an ApiError. */
  function route(method: string, path: string, params: Record<string, FormValue>, request: { id: string; key: string | null }): { status: number; body: unknown } {
    if (method === 'POST' && path === '/v1/payment_intents') return { status: 200, body: createIntent(params, request) }
    let m = /^\/v1\/payment_intents\/([^/]+)$/.exec(path)
    if (m && method === 'GET') return { status: 200, body: retrieveIntent(intentOf(m[1]!), params) }
    m = /^\/v1\/payment_intents\/([^/]+)\/(capture|cancel)$/.exec(path)
    if (m && method === 'POST') {
      const pi = intentOf(m[1]!)
      return { status: 200, body: m[2] === 'capture' ? capture(pi, params, request) : cancel(pi, params, request) }
    }
    if (method === 'POST' && path === '/v1/refunds') return { status: 200, body: refund(params, request) }
    if (method === 'POST' && path === '/v1/payment_methods') return { status: 200, body: createPaymentMethod(params) }
    m = /^\/v1\/test_helpers\/payment_intents\/([^/]+)\/authenticate$/.exec(path)
    if (m && method === 'POST') return { status: 200, body: authenticate(m[1]!, params) }
    m = /^\/v1\/refunds\/([^/]+)$/.exec(path)
    if (m && method === 'GET') {
      const found = refunds.get(m[1]!)
      if (!found) throw new ApiError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such refund: '${m[1]}'` }, true)
      return { status: 200, body: found }
    }
    throw new ApiError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` }, true)
  }

  function takeFault(method: string, path: string): Fault | undefined {
    const index = faults.findIndex(
      (f) => (f.method === undefined || f.method === method) && (f.path === undefined || (typeof f.path === 'string' ? f.path === path : f.path.test(path))),
    )
    if (index < 0) return undefined
    const fault = faults[index]!
    if (--fault.left <= 0) faults.splice(index, 1)
    return fault
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = req.method ?? 'GET'
    const path = url.pathname
    const key = method === 'POST' ? (req.headers['idempotency-key'] as string | undefined) ?? null : null
    const requestId = stripeId('req')
    const call: FakeStripeCall = { method, path, idempotencyKey: key, outcome: 'real', status: 0 }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'request-id': requestId,
      'stripe-version': (req.headers['stripe-version'] as string | undefined) ?? Stripe.API_VERSION,
      ...(key ? { 'idempotency-key': key } : {}),
    }
    let fault: Fault | undefined
    const send = (status: number, body: string, extra: Record<string, string> = {}) => {
      call.status = status
      if (fault?.fault === 'lose') {
        // Whatever happened stays done (and stored under the key); the answer never arrives.
        call.outcome = 'lost'
        req.socket.destroy()
      } else if (!res.destroyed && !res.writableEnded) {
        res.writeHead(status, { ...headers, ...extra }).end(body)
      }
      ledger.calls.push(call)
      ledger.requests[call.outcome]++
    }
    const json = (value: unknown) => JSON.stringify(value, null, 2)

    // Stripe.js and the browser's calls, from the shop's pages on another origin.
    if (method === 'GET' && (path === '/v3/' || path === '/v3')) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'access-control-allow-origin': '*', 'cache-control': 'no-store' }).end(FAKE_STRIPE_JS)
      return
    }
    const browser = BROWSER_PATH.test(path)
    if (browser) headers['access-control-allow-origin'] = '*'
    if (method === 'OPTIONS' && browser) {
      res.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'authorization, content-type', 'access-control-max-age': '600' }).end()
      return
    }
    const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')
    if (!auth || !(browser ? acceptPublishable(auth[1]!) : acceptKey(auth[1]!))) {
      send(401, json({ error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } }))
      return
    }
    let params: Record<string, FormValue>
    try {
      params = decodeForm(method === 'GET' ? url.search.slice(1) : Buffer.concat(chunks).toString('utf8'))
    } catch (error) {
      send(400, json({ error: { type: 'invalid_request_error', message: (error as Error).message } }))
      return
    }
    fault = takeFault(method, path)
    if (fault?.fault === 'reset') {
      call.outcome = 'reset'
      ledger.calls.push(call)
      ledger.requests.reset++
      req.socket.destroy()
      return
    }

    const fingerprint = `${method} ${path} ${canonical(params)}`
    if (key) {
      const stored = idempotency.get(key)
      if (stored?.state === 'running') {
        call.outcome = 'in_flight'
        send(409, json({ error: { type: 'idempotency_error', code: 'idempotency_key_in_use', message: 'There is currently another in-progress request using this idempotency key. Please try again later.' } }))
        return
      }
      if (stored && stored.fingerprint !== fingerprint) {
        call.outcome = 'idempotency_error'
        send(
          400,
          json({
            error: {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            },
          }),
        )
        return
      }
      if (stored) {
        call.outcome = 'replayed'
        send(stored.status, stored.body, { 'idempotent-replayed': 'true', 'original-request': stored.requestId })
        return
      }
      idempotency.set(key, { state: 'running', fingerprint })
    }

    if (fault?.fault === 'hang') {
      await new Promise<void>((resolve) => {
        const done = () => {
          hung.delete(done)
          clearTimeout(timer)
          resolve()
        }
        const timer = fault.ms === undefined ? undefined : setTimeout(done, fault.ms)
        hung.add(done)
      })
    }

    let status: number
    let body: string
    let store = true
    try {
      const result = route(method, path, params, { id: requestId, key })
      status = result.status
      body = json(result.body)
    } catch (error) {
      if (!(error instanceof ApiError)) throw error
      status = error.status
      body = json({ error: { ...error.error, request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}` } })
      store = !error.validation
    }
    if (key) {
      if (store) idempotency.set(key, { state: 'done', fingerprint, status, body, requestId })
      else idempotency.delete(key)
    }
    send(status, body)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { type: 'api_error', message: String(error) } }))
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port

  function signed(eventOrType: StripeTestEvent | string, objectOrTimestamp?: Record<string, unknown> | number, more: { timestamp?: number; previousAttributes?: Record<string, unknown> } = {}): SignedEvent {
    if (typeof eventOrType !== 'string') return sign(eventOrType, webhookSecret, typeof objectOrTimestamp === 'number' ? objectOrTimestamp : undefined)
    return signedEvent(eventOrType, (objectOrTimestamp as Record<string, unknown>) ?? {}, { secret: webhookSecret, ...more })
  }

  return {
    url: `http://127.0.0.1:${port}`,
    endpoint: { host: '127.0.0.1', port, protocol: 'http' },
    secretKey: options.secretKey ?? 'sk_test_fake_stripe',
    publishableKey: options.publishableKey ?? 'pk_test_fake_stripe',
    jsUrl: `http://127.0.0.1:${port}/v3/`,
    webhookSecret,
    ledger,
    paymentIntent: (id) => {
      const pi = intents.get(id)
      return pi ? structuredClone(pi) : undefined
    },
    paymentIntents: () => [...intents.values()].map((pi) => structuredClone(pi)),
    completeAction(id, outcome) {
      const pi = intents.get(id)
      if (!pi) throw new Error(`fake Stripe: no PaymentIntent ${id}`)
      if (pi.status !== 'requires_action') throw new Error(`fake Stripe: PaymentIntent ${id} is ${pi.status}, not requires_action`)
      finishAction(pi, outcome)
      return structuredClone(pi)
    },
    dispute(id, status = 'needs_response', reason = 'fraudulent') {
      const pi = intents.get(id)
      const charge = pi?.latest_charge ? charges.get(pi.latest_charge) : undefined
      if (!pi || !charge || !charge.captured) throw new Error(`fake Stripe: PaymentIntent ${id} has no captured charge to dispute`)
      const dispute = { id: stripeId('dp'), object: 'dispute', amount: charge.amount_captured - charge.amount_refunded, currency: charge.currency, charge: charge.id, payment_intent: pi.id, reason, status, created: now() }
      return record(status === 'needs_response' ? 'charge.dispute.created' : 'charge.dispute.closed', dispute)
    },
    fault(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 })
    },
    release() {
      for (const done of [...hung]) done()
    },
    events: (type) => recorded.filter((e) => type === undefined || e.type === type),
    signedEvent: signed as FakeStripeServer['signedEvent'],
    async close() {
      for (const done of [...hung]) done()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
