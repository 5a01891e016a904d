import type { Context } from 'hono'

/** Where the HTTP layer writes: one line per request (`info`) and one per failure (`error`), each with the request id. */
export interface HttpLogger {
  info?(message: string, fields: Record<string, unknown>): void
  error(message: string, fields: Record<string, unknown>): void
}

/**
 * Options of `storeApi` and `adminApi`.
 *
 * @example
 * ```ts
 * const options: ApiOptions = {
 *   trustedOrigins: ['https://shop.example'],
 *   cors: { origins: ['https://shop.example'] },
 *   bodyLimit: 64 * 1024,
 *   statuses: { PROMOTION_CODE_REFUSED: 400 },
 * }
 * ```
 */
export interface ApiOptions {
  /** Largest request body in bytes (default 100 KB); larger ones are refused with 413. */
  bodyLimit?: number
  /** HTTP statuses by error code, over the defaults (`DEFAULT_STATUSES`); unknown plugin codes answer 422. */
  statuses?: Record<string, number>
  /** Parse every response with the endpoint's `output` schema (a mismatch is a logged 500). Default: on when `NODE_ENV` is `test`. */
  validateOutput?: boolean
  /** Log sink; by default failures go to `console.error` and nothing else is logged. */
  logger?: HttpLogger
  /** Cookie names: the cart token (default `cw_cart`) and the session (default `cw_session`). */
  cookies?: { cart?: string; session?: string }
  /**
   * Origins a cookie-authenticated state-changing request may come from (CSRF). Default: the
   * request's own origin; the `cors` origins are trusted too.
   */
  trustedOrigins?: string[]
  /** Cross-origin requests from these origins (with credentials); off when not given. */
  cors?: { origins: string[] }
  /** Trust `X-Forwarded-For` (its last address), `X-Forwarded-Proto` and `X-Forwarded-Host` from a proxy in front. */
  trustProxy?: boolean
  /**
   * The client a rate limit counts for; default the socket's address (or the forwarded one with
   * `trustProxy`). An IP address returned here counts as the socket's would: an IPv6 one by its /64.
   */
  clientKey?: (c: Context) => string | undefined
}
