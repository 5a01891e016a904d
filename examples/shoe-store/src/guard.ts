/**
 * What keeps the storefront's own forms safe on the internet: redirects that stay on this site,
 * form posts only from this site, the shopper's address behind a proxy, and small form bodies.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { getConnInfo } from '@hono/node-server/conninfo'

/** How the storefront sees the internet. */
export interface GuardOptions {
  /**
   * The app runs behind a reverse proxy that sets `X-Forwarded-For`, `X-Forwarded-Proto` and
   * `X-Forwarded-Host`: trust their last entries. Default: the `TRUST_PROXY=1` environment variable.
   */
  trustProxy?: boolean
}

/**
 * A path on this site to send the shopper back to, or `/`. Refuses other sites in every spelling a
 * browser would follow: `//host`, `/\host`, and control characters (a tab or newline, which
 * browsers drop, turns `/<tab>/host` into `//host`).
 *
 * @example
 * ```ts
 * safeBack('/products/trail-runner?colour=red') // '/products/trail-runner?colour=red'
 * safeBack('/\\evil.example') // '/'
 * ```
 */
export function safeBack(back: string): string {
  return /^\/(?![/\\])[^\x00-\x1f\x7f\\]*$/.test(back) ? back : '/'
}

/** This site's origin as the shopper's browser sees it (behind a trusted proxy, the forwarded one). */
export function requestOrigin(c: Context, options: GuardOptions): string {
  const url = new URL(c.req.url)
  if (options.trustProxy) {
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim()
    const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim()
    if (proto || host) return `${proto ?? url.protocol.slice(0, -1)}://${host ?? url.host}`
  }
  return url.origin
}

/**
 * Whether a form post comes from this site: its `Origin`, or when that is missing or `null` (a
 * page can make its posts say `null`), its `Referer`'s origin, must be this site's.
 */
export function fromThisSite(c: Context, options: GuardOptions): boolean {
  let origin = c.req.header('origin')
  if (!origin || origin === 'null') {
    const referer = c.req.header('referer')
    try {
      origin = referer ? new URL(referer).origin : undefined
    } catch {
      origin = undefined
    }
  }
  return origin !== undefined && origin === requestOrigin(c, options)
}

/** The shopper's address: the socket's, or behind a trusted proxy the last `X-Forwarded-For` entry. */
export function shopperAddress(c: Context, options: GuardOptions): string {
  if (options.trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').map((s) => s.trim()).filter(Boolean).pop()
    if (forwarded) return forwarded.slice(0, 100)
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

/** The storefront's forms are small: a body over `maxBytes` (default 16 KB) is refused with 413. */
export function formBodyLimit(maxBytes = 16 * 1024): MiddlewareHandler {
  return bodyLimit({ maxSize: maxBytes, onError: (c) => c.text('Payload too large', 413) })
}

/** Options from the environment: `TRUST_PROXY=1` behind a reverse proxy. */
export const guardOptionsFromEnv = (): GuardOptions => ({ trustProxy: process.env.TRUST_PROXY === '1' })
