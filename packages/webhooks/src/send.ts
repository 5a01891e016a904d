import { HEADER_ID, HEADER_REPLAY, HEADER_SIGNATURE, HEADER_TIMESTAMP, signWebhook } from './signature.js'

/** One POST of a delivery, as `send` makes it. */
export interface SendInput {
  url: string
  body: string
  deliveryId: string
  replayOf: string | null
  /** The secrets to sign with: the current one, then a rotated one still in its grace period. */
  secrets: string[]
  /** The attempt's time (the engine's clock), in ms. */
  at: number
  timeoutMs: number
  userAgent: string
}

/** What came of one POST. */
export interface SendOutcome {
  outcome: 'delivered' | 'failed' | 'error'
  statusCode: number | null
  error: string | null
  responseBody: string | null
  durationMs: number
}

const RESPONSE_BYTES = 1024

/** The request's headers, signed for the attempt's time. */
export function signedHeaders(input: Pick<SendInput, 'body' | 'deliveryId' | 'replayOf' | 'secrets' | 'at' | 'userAgent'>): Record<string, string> {
  const timestamp = Math.floor(input.at / 1000)
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': input.userAgent,
    [HEADER_ID]: input.deliveryId,
    [HEADER_TIMESTAMP]: String(timestamp),
    [HEADER_SIGNATURE]: input.secrets.map((secret) => `v1=${signWebhook({ secret, timestamp, body: input.body })}`).join(','),
  }
  if (input.replayOf) headers[HEADER_REPLAY] = input.replayOf
  return headers
}

/** At most 1 KB of the answer, without reading the rest. */
async function head(response: Response): Promise<string | null> {
  if (!response.body) return null
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < RESPONSE_BYTES) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
  const text = Buffer.concat(chunks).subarray(0, RESPONSE_BYTES).toString('utf8')
  return text.length > 0 ? text : null
}

/**
 * POSTs a delivery once. Never throws: no answer (refused, reset, timed out) is an `error`
 * outcome. Redirects are not followed (a redirect could lead to a host the URL check refused).
 */
export async function send(input: SendInput): Promise<SendOutcome> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  try {
    const response = await fetch(input.url, {
      method: 'POST',
      headers: signedHeaders(input),
      body: input.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(input.timeoutMs),
    })
    const responseBody = await head(response).catch(() => null)
    const ok = response.status >= 200 && response.status < 300
    return {
      outcome: ok ? 'delivered' : 'failed',
      statusCode: response.status,
      error: ok ? null : `the endpoint answered ${response.status}`,
      responseBody,
      durationMs: elapsed(),
    }
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } })?.cause
    const timedOut = (error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError'
    const message = timedOut ? `no answer within ${input.timeoutMs} ms` : [String((error as Error)?.message ?? error), cause?.code ?? cause?.message].filter(Boolean).join(': ')
    return { outcome: 'error', statusCode: null, error: message.slice(0, 1000), responseBody: null, durationMs: elapsed() }
  }
}
