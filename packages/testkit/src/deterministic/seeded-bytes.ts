import { createHash } from 'node:crypto'

/**
 * Random bytes drawn from a seed, for `createCommerce({ secretBytes })` next to `seededIds` and
 * `virtualClock()`: the access tokens of a scripted run (and the hashes stored for them) are then
 * the same on every run. SHA-256 in counter mode over the seed. Tokens made from it are as
 * guessable as the seed: for tests and simulations only.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const engine = await createCommerce({
 *   storage: sqliteStorage({ filename: 'run.db' }),
 *   ids: seededIds(7),
 *   clock: virtualClock(),
 *   secretBytes: seededBytes(7),
 * })
 * ```
 */
export function seededBytes(seed: string | number): (size: number) => Uint8Array {
  if (!(typeof seed === 'string' || (typeof seed === 'number' && Number.isFinite(seed)))) {
    throw new TypeError(`[cartwright:testkit] seededBytes: the seed must be a string or a finite number, got ${String(seed)}`)
  }
  const key = `${typeof seed}:${seed}`
  let block = 0
  let buffer = Buffer.alloc(0)
  return (size: number) => {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`[cartwright:testkit] seededBytes: size must be an integer ≥ 0, got ${size}`)
    while (buffer.length < size) {
      buffer = Buffer.concat([buffer, createHash('sha256').update(`${key}:${block++}`).digest()])
    }
    const out = new Uint8Array(buffer.subarray(0, size))
    buffer = buffer.subarray(size)
    return out
  }
}
