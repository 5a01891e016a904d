import { randomFillSync } from 'node:crypto'
import { CommerceError } from './errors.js'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32, lower case

/** Bytes of randomness in an id: 128 bits. */
const ID_BYTES = 16

// Random bytes for 256 ids, drawn from the CSPRNG in one call instead of one call per id
// (Node's randomUUID() keeps a similar cache). Each id uses its own 16 bytes, once.
const pool = new Uint8Array(ID_BYTES * 256)
let offset = pool.length

function base32(bytes: Uint8Array, start: number, end: number): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (let i = start; i < end; i++) {
    buffer = (buffer << 8) | bytes[i]!
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31]
  return out
}

/**
 * Makes the id of every row, event and dispatcher the engine creates, from a short prefix that
 * names the kind (`cart`, `order`, `pay`, `evt`, …). Each call must return an id never returned
 * before, of the default's shape: the prefix, `_`, and 26 characters of lower-case Crockford
 * base32 (`[0-9a-hjkmnp-tv-z]`), because paging cursors carry ids and accept only that form; the
 * engine refuses any other id with `CONFIGURATION`. The default is {@link newId}; tests pass
 * `seededIds(seed)` from `@cartwright/testkit`, so that a run replays with the same ids.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * let n = 0
 * const sequential: IdGenerator = (prefix) => `${prefix}_${String(++n).padStart(26, '0')}`
 * const engine = await createCommerce({ storage: sqliteStorage({ filename: ':memory:' }), ids: sequential })
 * ```
 */
export type IdGenerator = (prefix: string) => string

/**
 * The default {@link IdGenerator}: a prefix, then 128 random bits in base32 (26 characters).
 * An id is not a secret, whatever the generator: a shopper's secret for a cart or an order is its
 * access token (`carts.create`, `carts.findByToken`). E.g. `cart_` and 26 characters of
 * `[0-9a-hjkmnp-tv-z]`.
 */
export function newId(prefix: string): string {
  if (offset === pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const start = offset
  offset += ID_BYTES
  return `${prefix}_${base32(pool, start, offset)}`
}

const ID_SHAPE = /^[a-z]{1,32}_[0-9a-hjkmnp-tv-z]{26}$/

/**
 * @internal A generator given to `createCommerce`, checked at every call: an id of another shape
 * or prefix would be refused later by paging cursors, far from its cause.
 */
export function checkedIds(ids: IdGenerator): IdGenerator {
  return (prefix) => {
    const id = ids(prefix)
    if (typeof id !== 'string' || !ID_SHAPE.test(id) || !id.startsWith(`${prefix}_`)) {
      throw new CommerceError(
        'CONFIGURATION',
        `[cartwright] invalid options: ids: made ${JSON.stringify(id)} for prefix ${JSON.stringify(prefix)}; an id is the prefix, "_" and 26 characters of [0-9a-hjkmnp-tv-z]`,
        { details: { issues: [{ path: 'ids', message: 'an id is the prefix, "_" and 26 characters of [0-9a-hjkmnp-tv-z]' }] } },
      )
    }
    return id
  }
}
