import { randomBytes } from 'node:crypto'
import type { WebhookRequest } from '@cartwright/core'
import Stripe from 'stripe'

/** A Stripe event as delivered: the exact bytes, and the headers that sign them. */
export interface SignedEvent {
  /** The event's id (`evt_…`): what a receiver deduplicates on. */
  id: string
  type: string
  /** The event object, as parsed from `payload`. */
  event: StripeTestEvent
  /** The raw body, byte for byte what was signed (pretty-printed JSON, as Stripe sends it). */
  payload: string
  /** `stripe-signature` (made by the SDK's `webhooks.generateTestHeaderString`) and `content-type`. */
  headers: { 'stripe-signature': string; 'content-type': 'application/json' }
}

/** The shape of a Stripe event (`object: 'event'`) as the fake server and {@link signedEvent} make it. */
export interface StripeTestEvent {
  id: string
  object: 'event'
  api_version: string
  created: number
  livemode: false
  pending_webhooks: number
  request: { id: string | null; idempotency_key: string | null }
  type: string
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> }
}

/** Options of {@link signedEvent}. */
export interface SignedEventOptions {
  /** The endpoint's signing secret (`whsec_…`). */
  secret: string
  /** Unix seconds to sign with (default now): an old or future one makes a stale or early delivery. */
  timestamp?: number
  /** The event id (default a new `evt_…`): reuse one to deliver the same event again. */
  id?: string
  /** `data.previous_attributes`, as Stripe sends with updates (`charge.refunded`: the refunded amount before). */
  previousAttributes?: Record<string, unknown>
  /** When the event happened, Unix seconds (default `timestamp`). */
  created?: number
}

/** A random id with Stripe's look: `prefix_` and 24 letters and digits. */
export function stripeId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  const bytes = randomBytes(24)
  let id = ''
  for (const byte of bytes) id += alphabet[byte % alphabet.length]
  return `${prefix}_${id}`
}

/**
 * Builds a Stripe event of `type` around `object` and signs it as Stripe would, with the SDK's own
 * `stripe.webhooks.generateTestHeaderString`. The payload is pretty-printed JSON, as Stripe sends:
 * a body re-serialized from parsed JSON no longer matches its signature.
 *
 * @example
 * ```ts
 * import { signedEvent } from '@cartwright/payment-stripe/testing'
 *
 * const delivery = signedEvent('payment_intent.succeeded', { id: 'pi_123', object: 'payment_intent', amount_received: 1234, currency: 'usd' }, { secret: 'whsec_test' })
 * // delivery.payload, delivery.headers['stripe-signature']
 * ```
 */
export function signedEvent(type: string, object: Record<string, unknown>, options: SignedEventOptions): SignedEvent {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000)
  const event: StripeTestEvent = {
    id: options.id ?? stripeId('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: options.created ?? timestamp,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object, ...(options.previousAttributes ? { previous_attributes: options.previousAttributes } : {}) },
  }
  return sign(event, options.secret, timestamp)
}

/**
 * Signs an event object you built (or one the fake server recorded) with `secret`, at `timestamp`
 * (Unix seconds, default now): to deliver the same event again, or late.
 *
 * @example
 * ```ts
 * import { sign, startFakeStripe } from '@cartwright/payment-stripe/testing'
 *
 * const server = await startFakeStripe()
 * for (const event of server.events()) {
 *   const again = sign(event, server.webhookSecret, Math.floor(Date.now() / 1000) - 60) // a minute late
 *   console.log(again.id, again.headers['stripe-signature'])
 * }
 * ```
 */
export function sign(event: StripeTestEvent, secret: string, timestamp = Math.floor(Date.now() / 1000)): SignedEvent {
  const payload = JSON.stringify(event, null, 2)
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp })
  return { id: event.id, type: event.type, event, payload, headers: { 'stripe-signature': header, 'content-type': 'application/json' } }
}

/** What became of one delivery by {@link sendWebhook}. */
export interface WebhookDelivery {
  /** True for a 2xx answer, or a handler that returned. */
  ok: boolean
  /** The HTTP status; for a handler, 200 when it returned, 400 when it threw a `VALIDATION` error, 500 otherwise. */
  status: number
  /** The response's body, for a URL. */
  body?: string
  /** What the handler returned. */
  result?: unknown
  /** What the handler threw. */
  error?: unknown
}

/** Something that receives webhooks: your endpoint's URL, or a function given the request as it would arrive. */
export type WebhookTarget = string | URL | ((request: WebhookRequest) => unknown)

/**
 * Delivers a signed event to your webhook endpoint, as Stripe would: a POST of the exact payload
 * with its signature header to a URL, or a call of a handler (`commerce.payments.handleWebhook`,
 * the provider's `webhooks.verify`) with `{ rawBody, headers }`.
 *
 * @example
 * ```ts
 * import { stripePayments } from '@cartwright/payment-stripe'
 * import { sendWebhook, signedEvent } from '@cartwright/payment-stripe/testing'
 *
 * const stripe = stripePayments({ secretKey: 'sk_test_x', webhookSecret: 'whsec_test' })
 * const delivery = await sendWebhook(
 *   (request) => stripe.webhooks!.verify(request),
 *   signedEvent('payment_intent.canceled', { id: 'pi_123', object: 'payment_intent' }, { secret: 'whsec_test' }),
 * )
 * // delivery.ok === true, delivery.result: [{ type: 'canceled', reference: 'pi_123', … }]
 * ```
 */
export async function sendWebhook(target: WebhookTarget, delivery: SignedEvent, headers: Record<string, string> = {}): Promise<WebhookDelivery> {
  const allHeaders = { ...delivery.headers, ...headers }
  if (typeof target === 'function') {
    try {
      const result = await target({ rawBody: delivery.payload, headers: allHeaders })
      return { ok: true, status: 200, result }
    } catch (error) {
      const code = (error as { code?: unknown })?.code
      return { ok: false, status: code === 'VALIDATION' ? 400 : 500, error }
    }
  }
  const response = await fetch(target, { method: 'POST', body: delivery.payload, headers: { ...allHeaders, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' } })
  return { ok: response.ok, status: response.status, body: await response.text() }
}
