import assert from 'node:assert/strict'
import { isCommerceError, type CommerceError, type CommerceErrorCode } from '@cartwright/core'

/** Small helpers of the engine tests and their worker processes (no vitest import). */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The error a call fails with; an assertion failure when it succeeds instead. Give a promise,
 * or a function that throws synchronously. With `code`, the error must be a `CommerceError`
 * with that code, and is returned typed.
 *
 * @example
 * ```ts
 * const error = await failure(commerce.checkout.complete(cart.id, input), 'OUT_OF_STOCK')
 * expect(error.details.shortages).toEqual([...])
 * const bad = failure(() => percent('abc'), 'VALIDATION')
 * ```
 */
export function failure(call: PromiseLike<unknown>): Promise<unknown>
export function failure(call: PromiseLike<unknown>, code: CommerceErrorCode, what?: string): Promise<CommerceError>
export function failure(call: () => unknown): unknown
export function failure(call: () => unknown, code: CommerceErrorCode, what?: string): CommerceError
export function failure(call: PromiseLike<unknown> | (() => unknown), code?: CommerceErrorCode, what = 'the call'): unknown {
  if (typeof call === 'function') {
    let result: unknown
    try {
      result = call()
    } catch (error) {
      return expectCode(error, code, what)
    }
    assert.ok(!isThenable(result), 'failure(fn) is for calls that throw synchronously; pass the promise instead')
    return assert.fail(`${what} succeeded; it must fail${code ? ` with ${code}` : ''}`)
  }
  return Promise.resolve(call).then(
    () => assert.fail(`${what} succeeded; it must fail${code ? ` with ${code}` : ''}`),
    (error: unknown) => expectCode(error, code, what),
  )
}

function expectCode(error: unknown, code: CommerceErrorCode | undefined, what: string): unknown {
  if (code && !isCommerceError(error, code)) {
    const got = isCommerceError(error) ? `${error.code}: ${error.message}` : String((error as Error)?.stack ?? error)
    assert.fail(`${what} must fail with a CommerceError ${code}; it failed with ${got}`)
  }
  return error
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown })?.then === 'function'
}

/** Polls `probe` until it returns something other than `undefined`, and returns that; fails after `timeoutMs`. */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what = 'a condition', timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** A promise with its resolve function outside: holds an operation at a test point until released. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => (open = resolve))
  return { promise, open }
}

/** Maps `items` with at most `limit` calls in flight, keeping the input order in the result. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return results
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence in every process. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A Fisher–Yates shuffle driven by `random`; returns a new array. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/**
 * The six amounts of a cart's or order's totals that a reader sees first, without the net and gross
 * views: what tests written against tax-exclusive prices compare. The views are checked by
 * {@link assertTotalsViews}.
 */
export function shownTotals(t: { subtotal: number; discountTotal: number; shippingTotal: number; taxTotal: number; rounding: number; total: number }) {
  return { subtotal: t.subtotal, discountTotal: t.discountTotal, shippingTotal: t.shippingTotal, taxTotal: t.taxTotal, rounding: t.rounding, total: t.total }
}

/** Checks the identities every totals object holds: net + tax = gross = total (less rounding), the shown view is the convention's. */
export function assertTotalsViews(t: import('@cartwright/core').Totals): void {
  const net = t.net.subtotal - t.net.discountTotal + t.net.shippingTotal + t.taxTotal + t.rounding
  const gross = t.gross.subtotal - t.gross.discountTotal + t.gross.shippingTotal + t.rounding
  const shown = t.taxInclusive ? t.gross : t.net
  if (net !== t.total || gross !== t.total || shown.subtotal !== t.subtotal || shown.discountTotal !== t.discountTotal || shown.shippingTotal !== t.shippingTotal) {
    throw new Error(`totals views do not add up: ${JSON.stringify(t)}`)
  }
}
