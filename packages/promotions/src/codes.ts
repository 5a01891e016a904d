import { createHash, randomInt } from 'node:crypto'

/**
 * The alphabet of generated codes: digits and capitals without the look-alikes (`0`/`O`, `1`/`I`/`L`,
 * `U`/`V`), 30 symbols. 16 of them are about 78 bits of randomness.
 *
 * @example
 * ```ts
 * const looksGenerated = (code: string) => [...code.replace(/-/g, '').slice(-CODE_RANDOM_LENGTH)].every((c) => CODE_ALPHABET.includes(c))
 * ```
 */
export const CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ'
/**
 * Random characters in a generated code: 16 (at least 12 are needed to resist guessing; 16 leave margin).
 *
 * @example
 * ```ts
 * const input = `<input name="code" maxlength="${CODE_RANDOM_LENGTH + 20}">`
 * ```
 */
export const CODE_RANDOM_LENGTH = 16

/**
 * A code as compared: upper case, without spaces and `-`, so `summer-10`, `SUMMER10` and
 * ` Summer 10 ` are the same code.
 *
 * @example
 * ```ts
 * normalizeCode(' spring-7kqm ') // 'SPRING7KQM'
 * ```
 */
export function normalizeCode(code: string): string {
  return code.normalize('NFKC').toUpperCase().replace(/[\s-]+/g, '')
}

/** The stored key of a code: SHA-256 of its normalized form, hex. */
export function codeHash(code: string): string {
  return createHash('sha256').update(normalizeCode(code)).digest('hex')
}

/** A new code: `prefix-` then 16 random characters from {@link CODE_ALPHABET} in groups of 4, from `node:crypto`. */
export function randomCode(prefix?: string): string {
  let random = ''
  for (let i = 0; i < CODE_RANDOM_LENGTH; i++) random += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]
  const groups = random.match(/.{4}/g)!.join('-')
  return prefix ? `${prefix.toUpperCase()}-${groups}` : groups
}

/** What the admin shows of a generated code: its prefix and its last 4 characters. */
export function codeHint(code: string): string {
  const n = normalizeCode(code)
  return `…${n.slice(-4)}`
}
