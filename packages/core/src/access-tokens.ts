import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { CommerceError } from './errors.js'
import { isStorableText } from './validation.js'

/**
 * Access tokens: the shopper's bearer secrets for a cart and for an order, apart from their ids.
 *
 * A token is `ct_` (cart) or `ot_` (order), the id of what it opens, a dot, and 32 random bytes
 * in base64url: `ct_cart_0f3….Hk9x…`. Only its SHA-256 is stored, in the row it opens
 * (`access_token_hash`), so a database dump, a backup or a log of rows gives no working token.
 *
 * Naming the id in the token (a "split token": selector and verifier) lets a token be looked up
 * by primary key, then checked by comparing hashes in constant time. A lookup by hash would need
 * a unique index on random values in `cw_carts` and `cw_orders`: one more B-tree insert at a
 * random page for every cart and every order, which on SQLite is WAL pages per checkout. Ids are
 * not secrets any more (they may be seeded or time-ordered), so a token naming one gives nothing
 * away; its 256 random bits are what cannot be guessed.
 */

/** What a token opens. */
export type AccessTokenKind = 'cart' | 'order'

const PREFIX: Record<AccessTokenKind, string> = { cart: 'ct_', order: 'ot_' }

/** Random bytes in a token's secret: 256 bits. */
const SECRET_BYTES = 32
/** Characters of the secret: base64url of 32 bytes, without padding. */
const SECRET_LENGTH = 43
/** The longest token this engine issues: prefix, an id of at most 64 characters, the dot, the secret. */
const MAX_TOKEN_LENGTH = 3 + 64 + 1 + SECRET_LENGTH

/** Where a token's random bytes come from: node:crypto's CSPRNG unless a seeded run gives its own. */
export type SecretBytes = (size: number) => Uint8Array

/** @internal A token just minted, and the hash that is stored in its place. */
export interface MintedToken {
  token: string
  hash: string
}

/** @internal The SHA-256 of a token, in hex: what `access_token_hash` holds. */
export function hashAccessToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** @internal A new token for the cart or order `id`, with its hash. */
export function mintAccessToken(kind: AccessTokenKind, id: string, bytes: SecretBytes = randomBytes): MintedToken {
  const secret = Buffer.from(bytes(SECRET_BYTES)).toString('base64url')
  if (secret.length !== SECRET_LENGTH) throw new Error(`[cartwright] an access token needs ${SECRET_BYTES} random bytes`)
  const token = `${PREFIX[kind]}${id}.${secret}`
  return { token, hash: hashAccessToken(token) }
}

/**
 * @internal What a presented value claims to open: the kind and id it names, and its hash, or
 * null when it is not shaped like a token this engine issues. The hash is computed before any
 * lookup, so a miss costs the same whether the id exists or not.
 */
export function readAccessToken(value: unknown): { kind: AccessTokenKind; id: string; hash: string } | null {
  if (typeof value !== 'string' || value.length > MAX_TOKEN_LENGTH) return null
  const hash = hashAccessToken(value)
  const dot = value.lastIndexOf('.')
  if (dot < 0 || value.length - dot - 1 !== SECRET_LENGTH) return null
  const kind: AccessTokenKind | null = value.startsWith(PREFIX.cart) ? 'cart' : value.startsWith(PREFIX.order) ? 'order' : null
  if (!kind) return null
  const id = value.slice(3, dot)
  // No engine id holds a NUL or half a surrogate pair; PostgreSQL would refuse the lookup.
  if (id.length === 0 || !isStorableText(id)) return null
  return { kind, id, hash }
}

/**
 * @internal True when `hash` (the SHA-256 hex of a presented token) equals the stored one,
 * compared in constant time. A row without a token (`null`, e.g. one written before tokens
 * existed) matches nothing.
 */
export function sameTokenHash(stored: string | null | undefined, hash: string): boolean {
  if (!stored) return false
  const a = Buffer.from(stored)
  const b = Buffer.from(hash)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * @internal `NOT_FOUND` for a token that opens nothing: the same answer for a malformed token,
 * an unknown one, one that was rotated away and one for something else. The token is not echoed:
 * errors end up in logs.
 */
export function noMatchFor(entity: 'Cart' | 'Order'): CommerceError {
  return new CommerceError('NOT_FOUND', `No ${entity.toLowerCase()} matches this access token`, { details: { entity } })
}

/**
 * @internal Mints a token for a row about to be written: sets the row's `access_token_hash` and
 * returns the token, which is then handed to the caller and never stored.
 */
export function attachAccessToken(kind: AccessTokenKind, row: { id: string; access_token_hash: string | null }, bytes?: SecretBytes): string {
  const minted = mintAccessToken(kind, row.id, bytes)
  row.access_token_hash = minted.hash
  return minted.token
}
