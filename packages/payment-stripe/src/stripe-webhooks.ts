import { createHmac, timingSafeEqual } from 'node:crypto'
import { CommerceError, type GatewayEvent, type WebhookRequest } from '@cartwright/core'
import { fromStripeAmount } from './stripe-amounts.js'

/** Why a webhook was refused. */
export type StripeWebhookFailure =
  /** No `Stripe-Signature` header. */
  | 'missing_header'
  /** The header is not `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`. */
  | 'malformed_header'
  /** No `v1` signature matches the raw body under the webhook secret (a changed byte, a re-serialized body, another secret). */
  | 'signature_mismatch'
  /** The signed timestamp is older than the tolerance: a replay. */
  | 'timestamp_too_old'
  /** The signed timestamp is further in the future than the tolerance. */
  | 'timestamp_in_future'
  /** The signature holds but the body is not a Stripe event (JSON with `id` and `type`). */
  | 'malformed_body'

/**
 * A webhook request refused by `webhooks.verify`: a `VALIDATION` {@link CommerceError} (answer it
 * with HTTP 400) whose `reason` says why. Nothing in the request is trusted or returned.
 *
 * @example
 * ```ts
 * import { isCommerceError } from '@cartwright/core'
 *
 * function status(error: unknown): number {
 *   if (error instanceof StripeWebhookError) return 400 // error.reason: 'signature_mismatch', 'timestamp_too_old', …
 *   return isCommerceError(error) ? 422 : 500
 * }
 * ```
 */
export class StripeWebhookError extends CommerceError<'VALIDATION'> {
  readonly reason: StripeWebhookFailure

  constructor(reason: StripeWebhookFailure, message: string) {
    const path = reason === 'malformed_body' || reason === 'signature_mismatch' ? 'rawBody' : 'headers.stripe-signature'
    super('VALIDATION', `[cartwright:payment-stripe] webhook refused (${reason}): ${message}`, {
      details: { reason, issues: [{ path, message }], fields: [path] },
    })
    this.reason = reason
  }
}

/** What {@link verifyStripeSignature} needs. */
export interface StripeSignatureCheck {
  /** The body exactly as received. */
  rawBody: string | Uint8Array
  /** The `Stripe-Signature` header's value (or the request's headers, looked up case-insensitively). */
  header: string | readonly string[] | undefined
  /** The endpoint's signing secret (`whsec_…`). */
  secret: string
  /** Allowed distance between the signed timestamp and now, in seconds, either way. */
  toleranceSeconds: number
  /** Now, in Unix seconds (default the system clock). */
  now?: number
}

const HEX_SIGNATURE = /^[0-9a-f]{64}$/

/**
 * Checks a Stripe webhook signature with no help from the SDK: HMAC-SHA256 of `${t}.${rawBody}`
 * under the secret, compared in constant time with every `v1` value of the header (any one
 * matching is enough: Stripe sends several while a secret is being rolled), then the timestamp
 * within `toleranceSeconds` of now in both directions (the SDK refuses only old ones). Returns
 * the body as text; throws {@link StripeWebhookError}.
 *
 * @example
 * ```ts
 * declare const rawBody: string
 * declare const header: string | undefined
 * const body = verifyStripeSignature({ rawBody, header, secret: 'whsec_…', toleranceSeconds: 300 })
 * const event = JSON.parse(body) as { id: string; type: string }
 * ```
 */
export function verifyStripeSignature(check: StripeSignatureCheck): string {
  const header = check.header
  if (header === undefined || (typeof header !== 'string' && header.length === 0)) throw new StripeWebhookError('missing_header', 'no Stripe-Signature header')
  if (typeof header !== 'string' && header.length > 1) throw new StripeWebhookError('malformed_header', 'more than one Stripe-Signature header')
  const value = typeof header === 'string' ? header : header[0]!
  if (value.trim() === '') throw new StripeWebhookError('missing_header', 'the Stripe-Signature header is empty')

  let timestamp: string | undefined
  const signatures: Buffer[] = []
  for (const item of value.split(',')) {
    const at = item.indexOf('=')
    if (at <= 0) throw new StripeWebhookError('malformed_header', 'each part of the Stripe-Signature header must be key=value')
    const key = item.slice(0, at).trim()
    const part = item.slice(at + 1).trim()
    if (key === 't') {
      if (timestamp !== undefined) throw new StripeWebhookError('malformed_header', 'the timestamp t appears twice')
      if (!/^\d{1,12}$/.test(part)) throw new StripeWebhookError('malformed_header', 'the timestamp t is not a number of seconds')
      timestamp = part
    } else if (key === 'v1') {
      // A value of another shape can match nothing; it is skipped rather than compared.
      if (HEX_SIGNATURE.test(part)) signatures.push(Buffer.from(part, 'hex'))
    }
    // Other schemes (v0, Stripe's test-mode signature) are not trusted.
  }
  if (timestamp === undefined) throw new StripeWebhookError('malformed_header', 'no timestamp t')
  if (signatures.length === 0) throw new StripeWebhookError('malformed_header', 'no v1 signature')

  const body = typeof check.rawBody === 'string' ? Buffer.from(check.rawBody, 'utf8') : Buffer.from(check.rawBody.buffer, check.rawBody.byteOffset, check.rawBody.byteLength)
  const expected = createHmac('sha256', check.secret).update(`${timestamp}.`, 'utf8').update(body).digest()
  // Every value is compared, in constant time, without stopping at the first match.
  let matched = false
  for (const signature of signatures) matched = timingSafeEqual(signature, expected) || matched
  if (!matched) throw new StripeWebhookError('signature_mismatch', 'no v1 signature matches the raw body under the webhook secret')

  const now = check.now ?? Math.floor(Date.now() / 1000)
  const age = now - Number(timestamp)
  if (age > check.toleranceSeconds) throw new StripeWebhookError('timestamp_too_old', `signed ${age} s ago, more than ${check.toleranceSeconds} s`)
  if (-age > check.toleranceSeconds) throw new StripeWebhookError('timestamp_in_future', `signed ${-age} s ahead, more than ${check.toleranceSeconds} s`)
  return body.toString('utf8')
}

/** The `Stripe-Signature` header of a request, looked up case-insensitively. */
export function signatureHeader(headers: WebhookRequest['headers']): string | readonly string[] | undefined {
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === 'stripe-signature') return value
  return undefined
}

/** The parts of a Stripe event this adapter reads. */
interface StripeEventLike {
  id: string
  type: string
  created?: number
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> }
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined)
const int = (value: unknown): number | undefined => (typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined)
/** An expandable field: an id, or the object with its id. */
const idOf = (value: unknown): string | undefined => str(value) ?? (typeof value === 'object' && value !== null ? str((value as { id?: unknown }).id) : undefined)

function parseEvent(body: string): StripeEventLike {
  let event: unknown
  try {
    event = JSON.parse(body)
  } catch {
    throw new StripeWebhookError('malformed_body', 'the body is not JSON')
  }
  const e = event as Partial<StripeEventLike> | null
  if (!e || typeof e !== 'object' || !str(e.id) || !str(e.type) || typeof e.data !== 'object' || e.data === null || typeof e.data.object !== 'object' || e.data.object === null) {
    throw new StripeWebhookError('malformed_body', 'the body is not a Stripe event (id, type, data.object)')
  }
  return e as StripeEventLike
}

/** Why a PaymentIntent failed, from its last error: the issuer's decline code first. */
export function failureReason(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const e = error as { decline_code?: unknown; code?: unknown; message?: unknown }
  return str(e.decline_code) ?? str(e.code) ?? str(e.message)
}

/**
 * Maps one Stripe event to the normalized gateway events core understands; `[]` for types this
 * adapter does not use (they are acknowledged and ignored). Amounts are converted to ISO minor units.
 */
export function mapStripeEvent(event: StripeEventLike): GatewayEvent[] {
  const object = event.data.object
  const base = { id: event.id, ...(int(event.created) !== undefined ? { occurredAt: new Date(int(event.created)! * 1000).toISOString() } : {}) }
  const currency = str(object['currency'])?.toUpperCase()
  const amount = (value: unknown): number | undefined => {
    const n = int(value)
    return n === undefined || currency === undefined ? undefined : fromStripeAmount(n, currency)
  }
  const withAmount = (value: unknown) => {
    const a = amount(value)
    return a === undefined ? {} : { amount: a, currency: currency! }
  }
  const one = (e: GatewayEvent | undefined): GatewayEvent[] => (e ? [e] : [])

  switch (event.type) {
    case 'payment_intent.amount_capturable_updated': {
      const reference = str(object['id'])
      return one(reference ? { ...base, type: 'authorized', reference, ...withAmount(object['amount_capturable']) } : undefined)
    }
    case 'payment_intent.succeeded': {
      const reference = str(object['id'])
      return one(reference ? { ...base, type: 'captured', reference, ...withAmount(object['amount_received']) } : undefined)
    }
    case 'payment_intent.payment_failed': {
      const reference = str(object['id'])
      const reason = failureReason(object['last_payment_error'])
      return one(reference ? { ...base, type: 'failed', reference, ...(reason ? { reason } : {}) } : undefined)
    }
    case 'payment_intent.canceled': {
      const reference = str(object['id'])
      const reason = str(object['cancellation_reason'])
      return one(reference ? { ...base, type: 'canceled', reference, ...(reason ? { reason } : {}) } : undefined)
    }
    case 'payment_intent.requires_action': {
      const reference = str(object['id'])
      return one(reference ? { ...base, type: 'requires_action', reference } : undefined)
    }
    case 'charge.refunded': {
      // The charge carries the running total; this refund is what it grew by.
      const reference = idOf(object['payment_intent'])
      const total = int(object['amount_refunded'])
      const before = int(event.data.previous_attributes?.['amount_refunded']) ?? 0
      if (!reference || total === undefined || total - before <= 0) return []
      return [{ ...base, type: 'refunded', reference, ...withAmount(total - before) }]
    }
    case 'refund.created':
    case 'refund.updated': {
      // A refund counts once it has succeeded: when created so (cards), or when it moves to succeeded.
      const reference = idOf(object['payment_intent'])
      if (!reference || object['status'] !== 'succeeded') return []
      const previous = event.data.previous_attributes?.['status']
      if (event.type === 'refund.updated' && (previous === undefined || previous === 'succeeded')) return []
      return [{ ...base, type: 'refunded', reference, ...withAmount(object['amount']) }]
    }
    case 'charge.dispute.created':
    case 'charge.dispute.closed': {
      const reference = idOf(object['payment_intent']) ?? idOf(object['charge'])
      const reason = event.type === 'charge.dispute.created' ? str(object['reason']) : str(object['status'])
      if (!reference) return []
      return [{ ...base, type: event.type === 'charge.dispute.created' ? 'dispute.opened' : 'dispute.closed', reference, ...withAmount(object['amount']), ...(reason ? { reason } : {}) }]
    }
    default:
      return []
  }
}

/**
 * Verifies a webhook request (see {@link verifyStripeSignature}) and returns its normalized events.
 *
 * @example
 * ```ts
 * declare const rawBody: string
 * declare const headers: Record<string, string>
 * const events = verifyStripeWebhook({ rawBody, headers }, { secret: 'whsec_…', toleranceSeconds: 300 })
 * ```
 */
export function verifyStripeWebhook(request: WebhookRequest, options: { secret: string; toleranceSeconds: number; now?: number }): GatewayEvent[] {
  const body = verifyStripeSignature({
    rawBody: request.rawBody,
    header: signatureHeader(request.headers),
    secret: options.secret,
    toleranceSeconds: options.toleranceSeconds,
    ...(options.now !== undefined ? { now: options.now } : {}),
  })
  return mapStripeEvent(parseEvent(body))
}
