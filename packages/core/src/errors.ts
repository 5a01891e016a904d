/**
 * The closed set of error codes Cartwright throws. Codes are stable across
 * versions; messages are for people and may change.
 */
export type CommerceErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'OUT_OF_STOCK'
  | 'PAYMENT_DECLINED'
  | 'PAYMENT_FAILED'
  | 'INVALID_STATE'
  | 'CONFLICT'
  | 'VETOED'
  | 'CONFIGURATION'
  | 'STORAGE'
  | 'PROVIDER'

/** One problem with one input field, as reported in `details.issues` for `VALIDATION`. */
export interface FieldIssue {
  /** Dotted path of the failing field, e.g. `lines.0.quantity`; `''` for the whole input. */
  path: string
  message: string
}

const MARK = Symbol.for('cartwright.CommerceError')

/** Options for constructing a {@link CommerceError}. */
export interface CommerceErrorOptions {
  details?: Record<string, unknown>
  cause?: unknown
  /** True when retrying the same call later may succeed (lost connection, lock timeout). */
  retryable?: boolean
}

/**
 * The one error class Cartwright throws. Check `code`, not the message.
 * Recognised across duplicate installs of the package with {@link isCommerceError}.
 *
 * @example
 * ```ts
 * const idempotencyKey = crypto.randomUUID() // one per checkout attempt; send it again on retry
 * try {
 *   await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey })
 * } catch (error) {
 *   if (isCommerceError(error) && error.code === 'OUT_OF_STOCK') logger.info('sold out', error.details)
 *   else throw error
 * }
 * ```
 */
export class CommerceError<C extends string = CommerceErrorCode> extends Error {
  override readonly name = 'CommerceError'
  /** Core's codes ({@link CommerceErrorCode}) or, for a plugin's error, one of the plugin's `errorCodes`. */
  readonly code: C
  readonly details: Record<string, unknown>
  readonly retryable: boolean

  constructor(code: NoInfer<C>, message: string, options: CommerceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details ?? {}
    this.retryable = options.retryable ?? false
    Object.defineProperty(this, MARK, { value: true })
  }

  /** Serialisable form for HTTP responses and logs. */
  toJSON(): { code: C; message: string; details: Record<string, unknown>; retryable: boolean } {
    return { code: this.code, message: this.message, details: this.details, retryable: this.retryable }
  }
}

/**
 * True when `error` is a {@link CommerceError}, even one thrown by another copy of the package.
 * For a plugin's own codes, name them: `isCommerceError<ErrorCodeOf<typeof commerce>>(error, 'COUPON_USED')`.
 *
 * @example
 * ```ts
 * function httpStatus(error: unknown): number {
 *   if (isCommerceError(error, 'NOT_FOUND')) return 404
 *   if (isCommerceError(error, 'VALIDATION')) return 400
 *   return 500
 * }
 * ```
 */
export function isCommerceError<C extends string = CommerceErrorCode>(error: unknown, code?: NoInfer<C>): error is CommerceError<C> {
  if (typeof error !== 'object' || error === null || !(MARK in error)) return false
  return code === undefined || (error as unknown as CommerceError<string>).code === code
}

/** Builds a `VALIDATION` error that names every failing field. */
export function validationError(subject: string, issues: FieldIssue[]): CommerceError {
  const list = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')
  return new CommerceError('VALIDATION', `Invalid ${subject}: ${list}`, {
    details: { issues, fields: issues.map((i) => i.path) },
  })
}

/** Builds a `NOT_FOUND` error; the same message whether the thing is missing or not yours. */
export function notFound(entity: string, id: string): CommerceError {
  return new CommerceError('NOT_FOUND', `${entity} ${JSON.stringify(id)} was not found`, {
    details: { entity, id },
  })
}
