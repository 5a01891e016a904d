import { isCommerceError } from '@cartwright/core'

/**
 * HTTP statuses of error codes: core's, the first-party plugins', and this layer's own. A plugin
 * code missing here answers 422 (the request was understood and refused); the host overrides any
 * code with the `statuses` option.
 */
export const DEFAULT_STATUSES: Readonly<Record<string, number>> = Object.freeze({
  // core
  VALIDATION: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_STATE: 409,
  OUT_OF_STOCK: 409,
  PAYMENT_DECLINED: 402,
  PAYMENT_FAILED: 402,
  VETOED: 422,
  PROVIDER: 502,
  STORAGE: 503,
  CONFIGURATION: 500,
  // this layer
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  CSRF: 403,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  // first-party plugins
  INVALID_CREDENTIALS: 401,
  SESSION_INVALID: 401,
  TOKEN_INVALID: 400,
  EMAIL_TAKEN: 409,
  PROMOTION_CODE_REFUSED: 422,
  PROMOTION_UNAVAILABLE: 409,
  B2B_APPROVAL_REQUIRED: 422,
  B2B_QUANTITY_RULE: 422,
  B2B_CREDIT_LIMIT: 422,
  B2B_QUOTE_EXPIRED: 409,
  B2B_STATE: 409,
  // Not a 403 on the store: a buyer outside the company learns no more than that it was refused.
  B2B_FORBIDDEN: 422,
  REVIEW_STATE: 409,
})

/** The status of a code a plugin declares and nobody mapped: understood and refused. */
export const UNKNOWN_PLUGIN_CODE_STATUS = 422

/**
 * The JSON body of every error response. `details` names fields (`details.issues` for
 * `VALIDATION`); `requestId` is the response's `X-Request-Id`, also in the log line.
 *
 * @example
 * ```ts
 * declare const response: Response
 * const body = (await response.json()) as ErrorBody
 * if (body.code === 'OUT_OF_STOCK') console.log(body.details, body.requestId)
 * ```
 */
export interface ErrorBody {
  code: string
  message: string
  details: Record<string, unknown>
  requestId: string
}

/** Codes of failures on the server's side, answered with these words instead of their message. */
const OUR_SIDE: Readonly<Record<string, string>> = Object.freeze({
  STORAGE: 'The shop could not reach its database',
  PROVIDER: 'A service the shop relies on did not answer as expected',
  CONFIGURATION: 'The shop is not set up for this',
})

/** @internal The status and body for `error`; anything not a `CommerceError` is `INTERNAL`. */
export function describeError(error: unknown, statuses: Readonly<Record<string, number>>, requestId: string): { status: number; body: ErrorBody; internal: boolean } {
  if (isCommerceError<string>(error)) {
    const status = statuses[error.code] ?? UNKNOWN_PLUGIN_CODE_STATUS
    const ours = OUR_SIDE[error.code]
    // A failure on our side (the database, a provider, the setup) keeps its code, so a client knows
    // to retry, but not its message: that can hold a driver's SQL or a gateway's answer. It is logged.
    if (ours) return { status, body: { code: error.code, message: `${ours}; quote the request id when reporting it`, details: {}, requestId }, internal: true }
    return { status, body: { code: error.code, message: error.message, details: plainDetails(error.details), requestId }, internal: false }
  }
  return { status: 500, body: { code: 'INTERNAL', message: 'Something went wrong; quote the request id when reporting it', details: {}, requestId }, internal: true }
}

/** Details as JSON: a value that cannot be serialized (a cycle, a bigint) is dropped rather than failing the response. */
function plainDetails(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(details ?? {})) as Record<string, unknown>
  } catch {
    return {}
  }
}
