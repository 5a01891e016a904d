import assert from 'node:assert/strict'
import { isCommerceError, type CommerceError, type CommerceErrorCode } from '@cartwright/core'

/** Resolves to the error `promise` rejects with; fails the case if it resolves. */
export async function rejection(promise: Promise<unknown>, what = 'the operation'): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  assert.fail(`${what} succeeded; it must fail`)
}

/** Resolves to the `CommerceError` `promise` rejects with, which must have `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: CommerceErrorCode): Promise<CommerceError> {
  const error = await rejection(promise, `an operation expected to fail with ${code}`)
  if (!isCommerceError(error, code)) {
    const got = isCommerceError(error) ? `${error.code}: ${error.message}` : String((error as Error)?.stack ?? error)
    assert.fail(`expected a CommerceError ${code}, got ${got}`)
  }
  return error
}

/** The text must be the same sequence of UTF-8 bytes, not merely look the same. */
export function sameBytes(actual: unknown, expected: string, label: string): void {
  assert.equal(typeof actual, 'string', `${label}: expected text, got ${typeof actual}`)
  const a = Buffer.from(actual as string, 'utf8')
  const e = Buffer.from(expected, 'utf8')
  if (!a.equals(e)) {
    assert.fail(`${label}: bytes differ\n  stored:   ${a.toString('hex')} ${JSON.stringify(actual)}\n  expected: ${e.toString('hex')} ${JSON.stringify(expected)}`)
  }
}

/** A promise with its resolve function outside, to hold a subscriber or gateway in place. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
