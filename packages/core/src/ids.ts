import { randomBytes } from 'node:crypto'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32, lower case

function base32(bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
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
 * A new identifier: a prefix, then 128 random bits in base32 (26 characters). Random
 * ids are unguessable, so a cart id doubles as the shopper's bearer secret.
 */
export function newId(prefix: string): string {
  return `${prefix}_${base32(randomBytes(16))}`
}
