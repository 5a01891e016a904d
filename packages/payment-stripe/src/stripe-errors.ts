import { CommerceError } from '@cartwright/core'

/** The fields of the SDK's `StripeError` this adapter reads (typed here, so no SDK class is matched by identity). */
interface StripeErrorLike {
  type?: string
  rawType?: string
  statusCode?: number
  code?: string
  decline_code?: string
  message?: string
  requestId?: string
  payment_intent?: { id?: string; status?: string }
}

/** What a failed SDK call means for money. */
export type StripeFailure =
  /** The card was declined (HTTP 402): nothing is held or charged. */
  | { kind: 'declined'; reason: string; paymentIntent?: string }
  /** Stripe refused the request as invalid (HTTP 400/404, not an idempotency error): it did nothing. */
  | { kind: 'refused'; reason: string }
  /** The same idempotency key was used before with other parameters: Stripe did nothing now, but the first request may have moved money. */
  | { kind: 'idempotency'; reason: string }
  /** Bad credentials or a missing permission: nothing happened, and retrying will not help. */
  | { kind: 'configuration'; reason: string }
  /** No answer, a 5xx, a rate limit, a request still in flight under the key: the outcome is unknown. */
  | { kind: 'unknown'; reason: string }

/** Sorts an error thrown by the SDK into what it means for money. */
export function classifyStripeError(error: unknown): StripeFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as StripeErrorLike
  const reason = e.decline_code || e.code || e.message || String(error)
  const status = e.statusCode
  if (e.rawType === 'card_error' || status === 402) {
    return { kind: 'declined', reason, ...(e.payment_intent?.id ? { paymentIntent: e.payment_intent.id } : {}) }
  }
  if (e.rawType === 'idempotency_error' && status === 400) return { kind: 'idempotency', reason: e.message || 'idempotency_error' }
  if ((status === 400 || status === 404) && e.rawType !== 'idempotency_error') return { kind: 'refused', reason: e.code || e.message || 'invalid_request' }
  if (status === 401 || status === 403) return { kind: 'configuration', reason: e.message || 'authentication failed' }
  return { kind: 'unknown', reason: e.message || String(error) }
}

/**
 * The adapter's error for a call whose outcome it cannot report as a result: `CONFLICT` for an
 * idempotency key reused with other parameters, `CONFIGURATION` for refused credentials,
 * `PROVIDER` (retryable, `details.outcomeUnknown`) when Stripe did not answer. The SDK's error is the `cause`.
 */
export function stripeCallError(operation: string, failure: StripeFailure, cause: unknown, details: Record<string, unknown>): CommerceError {
  const prefix = `[cartwright:payment-stripe] ${operation}`
  switch (failure.kind) {
    case 'idempotency':
      return new CommerceError('CONFLICT', `${prefix}: Stripe refused the idempotency key, already used with other parameters: ${failure.reason}`, {
        cause,
        details: { ...details, stripeError: 'idempotency_error' },
      })
    case 'configuration':
      return new CommerceError('CONFIGURATION', `${prefix}: Stripe refused the API key: ${failure.reason}`, { cause, details })
    case 'refused':
    case 'declined':
      return new CommerceError('PROVIDER', `${prefix}: Stripe refused the request: ${failure.reason}`, { cause, details })
    case 'unknown':
      return new CommerceError('PROVIDER', `${prefix}: no answer from Stripe, the outcome is unknown; retry with the same key: ${failure.reason}`, {
        cause,
        retryable: true,
        details: { ...details, outcomeUnknown: true },
      })
  }
}
