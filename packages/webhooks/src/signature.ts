import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * The header carrying the delivery's id: the same on every retry of a delivery (receivers drop a
 * repeat by it), a new one for a replay. Part of what is signed.
 *
 * @example
 * ```ts
 * const deliveryId = (headers: Headers) => headers.get(HEADER_ID)
 * ```
 */
export const HEADER_ID = 'Cartwright-Webhook-Id'
/**
 * The header carrying the attempt's time, in Unix seconds: part of what is signed.
 *
 * @example
 * ```ts
 * const sentAt = (headers: Headers) => new Date(Number(headers.get(HEADER_TIMESTAMP)) * 1000)
 * ```
 */
export const HEADER_TIMESTAMP = 'Cartwright-Webhook-Timestamp'
/**
 * The header carrying `v1=<hex>` signatures, comma-separated (two while a rotated secret is in its
 * grace period).
 *
 * @example
 * ```ts
 * const signatures = (headers: Headers) => (headers.get(HEADER_SIGNATURE) ?? '').split(',')
 * ```
 */
export const HEADER_SIGNATURE = 'Cartwright-Signature'
/**
 * On a replay only: the id of the delivery it repeats.
 *
 * @example
 * ```ts
 * const isReplay = (headers: Headers) => headers.has(HEADER_REPLAY)
 * ```
 */
export const HEADER_REPLAY = 'Cartwright-Webhook-Replay'

/**
 * The prefix of every endpoint secret.
 *
 * @example
 * ```ts
 * const looksLikeASecret = (value: string) => value.startsWith(SECRET_PREFIX)
 * ```
 */
export const SECRET_PREFIX = 'whsec_'

/** A new endpoint secret: `whsec_` and 32 random bytes in base64url. */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url')
}

/**
 * The `v1` signature of a delivery: hex HMAC-SHA256 of `"<id>.<timestamp>.<body>"` (the
 * `Cartwright-Webhook-Id` header, the `Cartwright-Webhook-Timestamp` header, the raw body), keyed
 * with the endpoint's secret as written (the whole `whsec_…` string, as UTF-8). The id is signed so
 * that a captured request cannot be sent again under a new id to get past a receiver's repeat check.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ id: 'evt_1', type: 'order.placed', payload: {} })
 * const header = `v1=${signWebhook({ secret: 'whsec_test', id: 'whd_1', timestamp: 1_900_000_000, body })}`
 * ```
 */
export function signWebhook(input: { secret: string; id: string; timestamp: number; body: string }): string {
  return createHmac('sha256', input.secret).update(`${input.id}.${input.timestamp}.${input.body}`).digest('hex')
}

/**
 * What a receiver passes to {@link verifyWebhookSignature}: the raw body exactly as received (not
 * parsed and serialized again), the request's headers (any case), the endpoint's secret, and how
 * old a timestamp may be (default 300 s). `now` is for tests.
 *
 * @example
 * ```ts
 * const input: VerifyWebhookInput = { body: '{"id":"evt_1"}', headers: { 'cartwright-signature': 'v1=…' }, secret: 'whsec_…', toleranceSeconds: 300 }
 * ```
 */
export interface VerifyWebhookInput {
  body: string | Uint8Array
  headers: Headers | Record<string, string | string[] | undefined>
  secret: string
  /** How far the timestamp may be from now, either way, in seconds (default 300). */
  toleranceSeconds?: number
  /** The receiver's current time (default `new Date()`). */
  now?: Date
}

/**
 * The outcome of {@link verifyWebhookSignature}: `ok`, or why not.
 *
 * @example
 * ```ts
 * const explain = (r: VerifyWebhookResult) => (r.ok ? `delivery ${r.deliveryId}` : `refused: ${r.reason}`)
 * ```
 */
export type VerifyWebhookResult =
  | { ok: true; deliveryId: string; timestamp: number; replayOf: string | null }
  | { ok: false; reason: 'missing_headers' | 'bad_timestamp' | 'timestamp_out_of_tolerance' | 'no_matching_signature' }

function header(headers: VerifyWebhookInput['headers'], wanted: string): string | null {
  const name = wanted.toLowerCase()
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') return (headers as Headers).get(name)
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() !== name) continue
    if (Array.isArray(value)) return value.join(',')
    return value ?? null
  }
  return null
}

/**
 * Checks a webhook as its receiver gets it: the timestamp is within `toleranceSeconds` of now (so
 * a captured request cannot be replayed later), and one of the `v1=` signatures is the HMAC of
 * `"<id>.<timestamp>.<raw body>"` with the secret, compared in constant time, the id and the
 * timestamp taken from the request's headers (so neither can be changed without the secret). Never throws for a bad
 * request: it answers `{ ok: false, reason }`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 *
 * createServer((req, res) => {
 *   const chunks: Buffer[] = []
 *   req.on('data', (c: Buffer) => chunks.push(c))
 *   req.on('end', () => {
 *     const body = Buffer.concat(chunks).toString('utf8')
 *     const check = verifyWebhookSignature({ body, headers: req.headers, secret: process.env.WEBHOOK_SECRET!, toleranceSeconds: 300 })
 *     res.statusCode = check.ok ? 204 : 400
 *     res.end()
 *   })
 * })
 * ```
 */
export function verifyWebhookSignature(input: VerifyWebhookInput): VerifyWebhookResult {
  const id = header(input.headers, HEADER_ID)
  const stamp = header(input.headers, HEADER_TIMESTAMP)
  const signatures = header(input.headers, HEADER_SIGNATURE)
  if (!id || !stamp || !signatures) return { ok: false, reason: 'missing_headers' }
  if (!/^\d{1,12}$/.test(stamp.trim())) return { ok: false, reason: 'bad_timestamp' }
  const timestamp = Number(stamp.trim())
  const tolerance = input.toleranceSeconds ?? 300
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000)
  if (!(Math.abs(now - timestamp) <= tolerance)) return { ok: false, reason: 'timestamp_out_of_tolerance' }
  const body = typeof input.body === 'string' ? input.body : Buffer.from(input.body).toString('utf8')
  const expected = Buffer.from(signWebhook({ secret: input.secret, id, timestamp, body }), 'hex')
  let match = false
  for (const part of signatures.split(',')) {
    const [scheme, value] = part.trim().split('=', 2)
    if (scheme !== 'v1' || !value || !/^[0-9a-f]{64}$/i.test(value)) continue
    // Every candidate is compared, so the time taken does not say which one matched.
    if (timingSafeEqual(Buffer.from(value, 'hex'), expected)) match = true
  }
  if (!match) return { ok: false, reason: 'no_matching_signature' }
  return { ok: true, deliveryId: id, timestamp, replayOf: header(input.headers, HEADER_REPLAY) }
}
