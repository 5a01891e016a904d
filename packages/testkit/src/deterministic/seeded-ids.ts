import type { IdGenerator } from '@cartwright/core'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32, lower case, as core's ids
const MASK = (1n << 64n) - 1n

/** splitmix64's finalizer: a bijection on 64-bit integers, so distinct inputs give distinct outputs. */
function mix64(value: bigint): bigint {
  let x = value & MASK
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & MASK
  return x ^ (x >> 31n)
}

/** FNV-1a over the UTF-8 bytes of `text`, 64 bits. */
function hash64(text: string): bigint {
  let h = 0xcbf29ce484222325n
  for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & MASK
  return h
}

/** 128 bits (two 64-bit halves) in 26 base32 characters, as core's ids: the last character carries 3 bits. */
function base32(hi: bigint, lo: bigint): string {
  const bytes = new Uint8Array(16)
  const view = new DataView(bytes.buffer)
  view.setBigUint64(0, hi)
  view.setBigUint64(8, lo)
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return out + ALPHABET[(buffer << (5 - bits)) & 31]
}

/**
 * An {@link IdGenerator} that makes the same ids, in the same order, for the same seed: give it to
 * `createCommerce({ ids })` and a scripted run writes the same rows every time. Ids have the shape
 * of real ones (`prefix_` and 26 base32 characters for 128 bits) and are distinct for as long as
 * the generator lives (the first half of each is a bijection of a per-prefix counter). Each prefix
 * counts on its own, so an extra event id does not shift every cart id after it. They are not
 * secret and not time-ordered: for tests and simulations only.
 *
 * One generator per engine: two engines on one database with the same seed would make the same ids.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const engine = await createCommerce({ storage: sqliteStorage({ filename: 'run.db' }), ids: seededIds(42), clock: virtualClock() })
 * const first = await engine.carts.create({ currency: 'USD' }) // the same cart id on every run
 * ```
 */
export function seededIds(seed: string | number): IdGenerator {
  if (!(typeof seed === 'string' || (typeof seed === 'number' && Number.isFinite(seed)))) {
    throw new TypeError(`[cartwright:testkit] seededIds: the seed must be a string or a finite number, got ${String(seed)}`)
  }
  const base = hash64(`${typeof seed}:${seed}`)
  const streams = new Map<string, { key: bigint; salt: bigint; count: bigint }>()
  return (prefix: string) => {
    let stream = streams.get(prefix)
    if (!stream) {
      const key = mix64(base ^ hash64(prefix))
      stream = { key, salt: mix64(key ^ 0x9e3779b97f4a7c15n), count: 0n }
      streams.set(prefix, stream)
    }
    stream.count++
    const hi = mix64(stream.count + stream.key)
    const lo = mix64(hi ^ stream.salt)
    return `${prefix}_${base32(hi, lo)}`
  }
}
