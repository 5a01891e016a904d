import { createHash, randomBytes } from 'node:crypto'

/**
 * The characters of a gift-card code: upper-case letters and digits without `0`, `1`, `I` and `O`,
 * which people confuse when they read a code aloud or type it from a printed card. 32 characters,
 * so each random byte maps onto one without bias (256 is a multiple of 32).
 *
 * @example
 * ```ts
 * const looksLikeACode = (text: string) => [...text.replace(/[\s-]/g, '').toUpperCase()].every((c) => GIFT_CARD_CODE_ALPHABET.includes(c))
 * ```
 */
export const GIFT_CARD_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'

/**
 * Characters in a code (80 bits of randomness), shown in groups of four: `K7QM-2XRB-9TFA-WH3D`.
 *
 * @example
 * ```ts
 * const input = `<input name="code" maxlength="${GIFT_CARD_CODE_LENGTH + 3}">` // with the dashes
 * ```
 */
export const GIFT_CARD_CODE_LENGTH = 16

/** A new code from the operating system's random source, grouped by four with dashes. */
export function generateCode(): string {
  const bytes = randomBytes(GIFT_CARD_CODE_LENGTH)
  let code = ''
  for (const byte of bytes) code += GIFT_CARD_CODE_ALPHABET[byte % GIFT_CARD_CODE_ALPHABET.length]
  return code.match(/.{4}/g)!.join('-')
}

/** A code as typed by a shopper, in the one form it is hashed in: upper case, without spaces or dashes (`' k7qm-2xrb 9tfa-wh3d '` is `K7QM2XRB9TFAWH3D`). */
export function normalizeCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase()
}

/** The SHA-256 of the normalized code, hex: what is stored and looked up; the code itself is not stored. */
export function hashCode(code: string): string {
  return createHash('sha256').update(normalizeCode(code), 'utf8').digest('hex')
}

/** The last four characters of the normalized code: what staff and shoppers are shown to tell cards apart. */
export function lastFour(code: string): string {
  return normalizeCode(code).slice(-4)
}

/** A card's code with all but its last four characters hidden. */
export function maskCode(last4: string): string {
  return `••••-••••-••••-${last4}`
}
