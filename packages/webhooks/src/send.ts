import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import type { LookupOptions } from 'node:dns'
import { HEADER_ID, HEADER_REPLAY, HEADER_SIGNATURE, HEADER_TIMESTAMP, signWebhook } from './signature.js'
import { resolveAllowed, systemResolver, type Resolver } from './url.js'

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
  /** Connect to addresses on this machine or a private network too. */
  allowPrivateHosts: boolean
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
    [HEADER_SIGNATURE]: input.secrets.map((secret) => `v1=${signWebhook({ secret, id: input.deliveryId, timestamp, body: input.body })}`).join(','),
  }
  if (input.replayOf) headers[HEADER_REPLAY] = input.replayOf
  return headers
}

/**
 * POSTs a delivery once. Never throws: no answer (refused, reset, timed out) is an `error`
 * outcome. Redirects are not followed (a redirect could lead to a host the URL check refused).
 *
 * The host name is resolved once, by the request's own `lookup`: unless `allowPrivateHosts`, an
 * answer with an address on this machine or a private network refuses the request before any
 * connection, and the connection goes to the addresses that were checked, so a name that answers
 * a public address to one lookup and a private one to the next (DNS rebinding) cannot slip
 * through. The `Host` header and the TLS server name stay the URL's host. `timeoutMs` covers the
 * lookup, the connection and the answer; at most 1 KB of the answer is read.
 */
export async function send(input: SendInput, resolver: Resolver = systemResolver): Promise<SendOutcome> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const signal = AbortSignal.timeout(input.timeoutMs)
  try {
    const { status, body } = await post(input, resolver, signal)
    const ok = status >= 200 && status < 300
    return {
      outcome: ok ? 'delivered' : 'failed',
      statusCode: status,
      error: ok ? null : `the endpoint answered ${status}`,
      responseBody: body,
      durationMs: elapsed(),
    }
  } catch (error) {
    const timedOut = signal.aborted || (error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError'
    const code = (error as { code?: string })?.code
    const text = String((error as Error)?.message ?? error)
    const message = timedOut ? `no answer within ${input.timeoutMs} ms` : code && !text.includes(code) ? `${text}: ${code}` : text
    return { outcome: 'error', statusCode: null, error: message.slice(0, 1000), responseBody: null, durationMs: elapsed() }
  }
}

/** The lookup the request connects with: {@link resolveAllowed}, in `dns.lookup`'s callback shape. */
function pinnedLookup(allowPrivateHosts: boolean, resolver: Resolver, signal: AbortSignal): LookupFunction {
  return ((hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) => {
    resolveAllowed(hostname, allowPrivateHosts, resolver, signal).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses
        if (wanted.length === 0) {
          callback(Object.assign(new Error(`the host name has no IPv${options.family} address`), { code: 'ENOTFOUND' }))
        } else if (options.all) {
          callback(null, wanted)
        } else {
          callback(null, wanted[0]!.address, wanted[0]!.family)
        }
      },
      (error: unknown) => callback(error),
    )
  }) as LookupFunction
}

function post(input: SendInput, resolver: Resolver, signal: AbortSignal): Promise<{ status: number; body: string | null }> {
  const url = new URL(input.url)
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { ...signedHeaders(input), 'Content-Length': String(Buffer.byteLength(input.body)) },
      // A socket of its own: a pooled one may have been opened under other options.
      agent: false,
      lookup: pinnedLookup(input.allowPrivateHosts, resolver, signal),
      signal,
    })
    req.on('error', (error) => reject(signal.aborted ? signal.reason : error))
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      let size = 0
      const finish = () => {
        const text = Buffer.concat(chunks).subarray(0, RESPONSE_BYTES).toString('utf8')
        resolve({ status: res.statusCode ?? 0, body: text.length > 0 ? text : null })
      }
      res.on('data', (chunk: Buffer) => {
        if (size >= RESPONSE_BYTES) return
        chunks.push(chunk)
        size += chunk.byteLength
        // Enough read: the rest of the answer is not wanted.
        if (size >= RESPONSE_BYTES) {
          finish()
          res.destroy()
        }
      })
      res.on('end', finish)
      // An answer cut short after its status still counts: its status is what decides.
      res.on('error', finish)
      res.on('close', finish)
    })
    req.end(input.body)
  })
}
