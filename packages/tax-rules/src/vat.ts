/**
 * The EU member states by ISO 3166-1 code (Greece is `GR` here; its VAT numbers start with `EL`).
 *
 * @example
 * ```ts
 * EU_COUNTRIES.has('DE') // true
 * EU_COUNTRIES.has('GB') // false
 * ```
 */
export const EU_COUNTRIES: ReadonlySet<string> = new Set([
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE',
  'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE',
])

/**
 * What {@link checkVatNumber} found: the number in its compact form and the country it belongs to,
 * or why it is not a VAT number.
 *
 * @example
 * ```ts
 * const ok: VatNumberCheck = { valid: true, vatNumber: 'DE136695976', country: 'DE', checksum: true }
 * const bad: VatNumberCheck = { valid: false, reason: 'checksum' }
 * ```
 */
export type VatNumberCheck =
  | {
      valid: true
      /** Upper case, country prefix first, without spaces, dots or dashes: `'DE136695976'`, `'EL123456783'`. */
      vatNumber: string
      /** The ISO 3166-1 country (`'GR'` for an `EL` number). */
      country: string
      /** Whether a check digit was verified (false: the country's format only). */
      checksum: boolean
    }
  | {
      valid: false
      /** `'format'`: not a VAT number of an EU state in its shape; `'checksum'`: the shape is right, the check digits are not. */
      reason: 'format' | 'checksum'
    }

const digits = (text: string) => [...text].map(Number)

/** ISO 7064 MOD 11,10 (Germany). */
function de(n: string): boolean {
  let product = 10
  for (const d of digits(n.slice(0, 8))) {
    let sum = (d + product) % 10
    if (sum === 0) sum = 10
    product = (2 * sum) % 11
  }
  const check = (11 - product) % 10
  return check === Number(n[8])
}

/** Luhn over all the digits (Italy's last digit, France's SIREN). */
function luhn(n: string): boolean {
  let sum = 0
  const ds = digits(n).reverse()
  ds.forEach((d, i) => {
    if (i % 2 === 1) {
      const twice = d * 2
      sum += twice > 9 ? twice - 9 : twice
    } else sum += d
  })
  return sum % 10 === 0
}

/** France: a two-character key, then the 9-digit SIREN; a numeric key is (12 + 3 × (SIREN mod 97)) mod 97. */
function fr(n: string): boolean | 'format' {
  const key = n.slice(0, 2)
  const siren = n.slice(2)
  if (/^\d{2}$/.test(key)) return Number(key) === (12 + 3 * (Number(siren) % 97)) % 97
  // Keys with letters (numbers issued since 1995 to some businesses) have no published check on the SIREN alone.
  return 'format'
}

/** Italy: 7 digits of the company, 3 of the office (001–100, 120, 121, 888, 999), a Luhn check digit. */
function it(n: string): boolean {
  if (/^0{7}/.test(n)) return false
  const office = Number(n.slice(7, 10))
  if (!((office >= 1 && office <= 100) || office === 120 || office === 121 || office === 888 || office === 999)) return false
  return luhn(n)
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE'

/** Spain: a DNI or NIE (number then letter), or a company's CIF (letter, 7 digits, control digit or letter). */
function es(n: string): boolean {
  if (/^\d{8}[A-Z]$/.test(n)) return DNI_LETTERS[Number(n.slice(0, 8)) % 23] === n[8]
  if (/^[XYZ]\d{7}[A-Z]$/.test(n)) return DNI_LETTERS[Number('XYZ'.indexOf(n[0]!) + n.slice(1, 8)) % 23] === n[8]
  if (/^[KLM]\d{7}[A-Z]$/.test(n)) return DNI_LETTERS[Number(n.slice(1, 8)) % 23] === n[8]
  if (/^[ABCDEFGHJNPQRSUVW]\d{7}[0-9A-J]$/.test(n)) {
    const ds = digits(n.slice(1, 8))
    let sum = 0
    ds.forEach((d, i) => {
      if (i % 2 === 0) {
        const twice = d * 2
        sum += Math.floor(twice / 10) + (twice % 10)
      } else sum += d
    })
    const check = (10 - (sum % 10)) % 10
    const control = n[8]!
    const asLetter = 'JABCDEFGHI'[check]!
    // Companies (A, B, E, H) end with the digit; public bodies and foreign entities with the letter.
    if ('ABEH'.includes(n[0]!)) return control === String(check)
    if ('KPQSNW'.includes(n[0]!)) return control === asLetter
    return control === String(check) || control === asLetter
  }
  return false
}

/** The Netherlands: 9 digits, `B`, 2 digits; the 11-test on the first 9, or (numbers issued since 2020) MOD 97 over the whole. */
function nl(n: string): boolean {
  const ds = digits(n.slice(0, 9))
  const eleven = ds.slice(0, 8).reduce((s, d, i) => s + d * (9 - i), 0) % 11
  if (eleven !== 10 && eleven === ds[8]) return true
  const numeric = `2321${n.slice(0, 9)}11${n.slice(10)}`
  return BigInt(numeric) % 97n === 1n
}

/** Belgium: 10 digits starting 0 or 1 (a 9-digit number gets a leading 0); 97 − (first 8 mod 97) = last 2. */
function be(n: string): boolean {
  return 97 - (Number(n.slice(0, 8)) % 97) === Number(n.slice(8))
}

/** Austria: `U` then 8 digits; the last from the first 7 with weights 1, 2, 1, 2… (digit sums), plus 4. */
function at(n: string): boolean {
  const ds = digits(n.slice(1))
  let sum = 0
  for (let i = 0; i < 7; i++) {
    const product = ds[i]! * (i % 2 === 0 ? 1 : 2)
    sum += product > 9 ? product - 9 : product
  }
  return (10 - ((sum + 4) % 10)) % 10 === ds[7]
}

/** Poland: 10 digits; the weighted sum of the first 9 (6, 5, 7, 2, 3, 4, 5, 6, 7) mod 11 is the last. */
function pl(n: string): boolean {
  const weights = [6, 5, 7, 2, 3, 4, 5, 6, 7]
  const ds = digits(n)
  const check = weights.reduce((s, w, i) => s + w * ds[i]!, 0) % 11
  return check !== 10 && check === ds[9]
}

interface CountryRule {
  /** The VAT prefix's ISO 3166-1 country. */
  country: string
  format: RegExp
  check?: (number: string) => boolean | 'format'
}

/** Per VAT prefix: the shape of the number after the prefix, and its checksum where implemented. */
const RULES: Record<string, CountryRule> = {
  AT: { country: 'AT', format: /^U\d{8}$/, check: at },
  BE: { country: 'BE', format: /^[01]\d{9}$/, check: be },
  BG: { country: 'BG', format: /^\d{9,10}$/ },
  CY: { country: 'CY', format: /^\d{8}[A-Z]$/ },
  CZ: { country: 'CZ', format: /^\d{8,10}$/ },
  DE: { country: 'DE', format: /^\d{9}$/, check: de },
  DK: { country: 'DK', format: /^\d{8}$/ },
  EE: { country: 'EE', format: /^\d{9}$/ },
  EL: { country: 'GR', format: /^\d{9}$/ },
  ES: { country: 'ES', format: /^[0-9A-Z]\d{7}[0-9A-Z]$/, check: es },
  FI: { country: 'FI', format: /^\d{8}$/ },
  FR: { country: 'FR', format: /^[0-9A-HJ-NP-Z]{2}\d{9}$/, check: fr },
  HR: { country: 'HR', format: /^\d{11}$/ },
  HU: { country: 'HU', format: /^\d{8}$/ },
  IE: { country: 'IE', format: /^(\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W])$/ },
  IT: { country: 'IT', format: /^\d{11}$/, check: it },
  LT: { country: 'LT', format: /^(\d{9}|\d{12})$/ },
  LU: { country: 'LU', format: /^\d{8}$/ },
  LV: { country: 'LV', format: /^\d{11}$/ },
  MT: { country: 'MT', format: /^\d{8}$/ },
  NL: { country: 'NL', format: /^\d{9}B\d{2}$/, check: nl },
  PL: { country: 'PL', format: /^\d{10}$/, check: pl },
  PT: { country: 'PT', format: /^\d{9}$/ },
  RO: { country: 'RO', format: /^[1-9]\d{1,9}$/ },
  SE: { country: 'SE', format: /^\d{10}01$/ },
  SI: { country: 'SI', format: /^[1-9]\d{7}$/ },
  SK: { country: 'SK', format: /^[1-9]\d{9}$/ },
}

/**
 * Checks an EU VAT number's shape and, for Germany, France, Italy, Spain, the Netherlands, Belgium,
 * Austria and Poland, its check digits (the other member states: the format only). Spaces, dots
 * and dashes are ignored and letters may be any case; the number must start with its country
 * prefix (`EL` for Greece). It says nothing about whether the number is registered: that is VIES's
 * answer, a network call this package never makes.
 *
 * @example
 * ```ts
 * checkVatNumber('de 136 695 976') // { valid: true, vatNumber: 'DE136695976', country: 'DE', checksum: true }
 * checkVatNumber('DE136695977')    // { valid: false, reason: 'checksum' }
 * ```
 */
export function checkVatNumber(input: string): VatNumberCheck {
  if (typeof input !== 'string' || input.length > 40) return { valid: false, reason: 'format' }
  const compact = input.replace(/[\s.\-]/g, '').toUpperCase()
  const rule = RULES[compact.slice(0, 2)]
  if (!rule) return { valid: false, reason: 'format' }
  let number = compact.slice(2)
  // Belgian numbers issued before 2005 had 9 digits: they are the same with a leading 0.
  if (rule.country === 'BE' && /^\d{9}$/.test(number)) number = `0${number}`
  if (!rule.format.test(number)) return { valid: false, reason: 'format' }
  const verdict = rule.check ? rule.check(number) : 'format'
  if (verdict === false) return { valid: false, reason: 'checksum' }
  return { valid: true, vatNumber: `${compact.slice(0, 2)}${number}`, country: rule.country, checksum: verdict === true }
}
