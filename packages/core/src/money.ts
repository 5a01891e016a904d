import { CommerceError } from './errors.js'

/**
 * ISO 4217 minor-unit exponents. Codes not listed here are rejected: an amount in an
 * unknown currency cannot be interpreted.
 */
const EXPONENTS: Record<string, number> = Object.freeze({
  // zero-decimal
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0,
  UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  // three-decimal
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  // four-decimal
  CLF: 4, UYW: 4,
  // two-decimal
  AED: 2, AFN: 2, ALL: 2, AMD: 2, ANG: 2, AOA: 2, ARS: 2, AUD: 2, AWG: 2, AZN: 2,
  BAM: 2, BBD: 2, BDT: 2, BGN: 2, BMD: 2, BND: 2, BOB: 2, BRL: 2, BSD: 2, BTN: 2,
  BWP: 2, BYN: 2, BZD: 2, CAD: 2, CDF: 2, CHF: 2, CNY: 2, COP: 2, CRC: 2, CUP: 2,
  CVE: 2, CZK: 2, DKK: 2, DOP: 2, DZD: 2, EGP: 2, ERN: 2, ETB: 2, EUR: 2, FJD: 2,
  FKP: 2, GBP: 2, GEL: 2, GHS: 2, GIP: 2, GMD: 2, GTQ: 2, GYD: 2, HKD: 2, HNL: 2,
  HTG: 2, HUF: 2, IDR: 2, ILS: 2, INR: 2, IRR: 2, JMD: 2, KES: 2, KGS: 2, KHR: 2,
  KPW: 2, KYD: 2, KZT: 2, LAK: 2, LBP: 2, LKR: 2, LRD: 2, LSL: 2, MAD: 2, MDL: 2,
  MGA: 2, MKD: 2, MMK: 2, MNT: 2, MOP: 2, MRU: 2, MUR: 2, MVR: 2, MWK: 2, MXN: 2,
  MYR: 2, MZN: 2, NAD: 2, NGN: 2, NIO: 2, NOK: 2, NPR: 2, NZD: 2, PAB: 2, PEN: 2,
  PGK: 2, PHP: 2, PKR: 2, PLN: 2, QAR: 2, RON: 2, RSD: 2, RUB: 2, SAR: 2, SBD: 2,
  SCR: 2, SDG: 2, SEK: 2, SGD: 2, SHP: 2, SLE: 2, SOS: 2, SRD: 2, SSP: 2, STN: 2,
  SVC: 2, SYP: 2, SZL: 2, THB: 2, TJS: 2, TMT: 2, TOP: 2, TRY: 2, TTD: 2, TWD: 2,
  TZS: 2, UAH: 2, USD: 2, UYU: 2, UZS: 2, VES: 2, WST: 2, XCD: 2, YER: 2, ZAR: 2,
  ZMW: 2, ZWG: 2,
})

/** The ISO 4217 codes Cartwright knows, sorted. */
export const CURRENCY_CODES: readonly string[] = Object.freeze(Object.keys(EXPONENTS).sort())

/**
 * An amount of money: an integer count of the currency's minor units (cents for USD,
 * yen for JPY, fils for KWD) and its ISO 4217 code.
 *
 * @example
 * ```ts
 * const price: Money = { amount: 1999, currency: 'USD' } // $19.99
 * ```
 */
export interface Money {
  amount: number
  currency: string
}

/**
 * True when `code` is an ISO 4217 currency Cartwright knows.
 *
 * @example
 * ```ts
 * isCurrency('KWD') // true
 * isCurrency('XYZ') // false
 * ```
 */
export function isCurrency(code: string): boolean {
  return Object.prototype.hasOwnProperty.call(EXPONENTS, code)
}

/**
 * Number of minor-unit digits of a currency (JPY 0, USD 2, KWD 3).
 *
 * @example
 * ```ts
 * currencyExponent('KWD') // 3
 * ```
 */
export function currencyExponent(currency: string): number {
  const exponent = EXPONENTS[currency]
  if (exponent === undefined) {
    throw new CommerceError('VALIDATION', `Unknown currency ${JSON.stringify(currency)}: use an ISO 4217 code such as USD`, {
      details: { issues: [{ path: 'currency', message: 'unknown currency' }], fields: ['currency'] },
    })
  }
  return exponent
}

/** True for an integer amount within the safe range. */
export function isMinorUnits(value: number): boolean {
  return Number.isSafeInteger(value)
}

/** @internal Throws `VALIDATION` naming `label` unless `value` is a safe integer. */
export function assertMinor(value: number, label: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new CommerceError('VALIDATION', `${label} must be an integer number of minor units, got ${value}`, {
      details: { issues: [{ path: label, message: 'not an integer amount' }], fields: [label] },
    })
  }
}

/** @internal A bigint amount as a number, or `VALIDATION` naming `label` outside the safe range. */
export function toSafeNumber(value: bigint, label: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new CommerceError('VALIDATION', `${label} exceeds the largest representable amount`, {
      details: { issues: [{ path: label, message: 'amount too large' }], fields: [label] },
    })
  }
  return Number(value)
}

/**
 * Splits `total` into parts proportional to `weights` with the largest-remainder
 * method: every part is the floor of its exact share, and the units left over go to
 * the parts with the largest remainders (earlier parts win ties). The parts always
 * sum to `total`, and each is within one minor unit of its exact share. All-zero
 * weights split evenly. Negative totals are split as their absolute value, negated.
 *
 * @example
 * ```ts
 * allocate(100, [1, 1, 1]) // [34, 33, 33]
 * allocate(1000, [3000, 1000]) // [750, 250]
 * ```
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  assertMinor(total, 'total')
  if (weights.length === 0) {
    if (total === 0) return []
    throw new CommerceError('VALIDATION', 'Cannot allocate a non-zero amount over no parts')
  }
  for (const w of weights) {
    if (!Number.isSafeInteger(w) || w < 0) {
      throw new CommerceError('VALIDATION', `Allocation weights must be non-negative integers, got ${w}`)
    }
  }
  if (total < 0) return allocate(-total, weights).map((part) => (part === 0 ? 0 : -part))
  const allZero = weights.every((w) => w === 0)
  const ws = weights.map((w) => BigInt(allZero ? 1 : w))
  const sum = ws.reduce((a, b) => a + b, 0n)
  const t = BigInt(total)
  const parts = ws.map((w) => (t * w) / sum)
  const remainders = ws.map((w, index) => ({ index, rem: (t * w) % sum }))
  let left = t - parts.reduce((a, b) => a + b, 0n)
  remainders.sort((a, b) => (a.rem === b.rem ? a.index - b.index : a.rem > b.rem ? -1 : 1))
  for (let i = 0; left > 0n; i++, left--) {
    const r = remainders[i % remainders.length]!
    parts[r.index] = parts[r.index]! + 1n
  }
  return parts.map((p) => Number(p))
}

/**
 * An exact rate as a fraction, parsed from a decimal string such as `'8.875'` (percent).
 * Used for tax and percentage discounts so that no floating point touches money.
 */
export interface Rate {
  readonly numerator: bigint
  readonly denominator: bigint
}

/**
 * Parses a percentage written in decimal (`'20'`, `'8.875'`, `7.5`) into an exact {@link Rate}.
 *
 * @example
 * ```ts
 * applyRate(1000, percent('8.875')) // 89 (88.75 rounded half up)
 * ```
 */
export function percent(value: string | number): Rate {
  const text = typeof value === 'number' ? String(value) : value.trim()
  const match = /^(\d{1,6})(?:\.(\d{1,9}))?$/.exec(text)
  if (!match) {
    throw new CommerceError('VALIDATION', `Invalid percentage ${JSON.stringify(value)}: use a decimal such as "8.875"`, {
      details: { issues: [{ path: 'rate', message: 'invalid percentage' }], fields: ['rate'] },
    })
  }
  const decimals = match[2] ?? ''
  const numerator = BigInt(match[1]! + decimals)
  const denominator = 100n * 10n ** BigInt(decimals.length)
  return { numerator, denominator }
}

/**
 * Multiplies an amount by a rate, rounding half away from zero to a whole minor unit.
 *
 * @example
 * ```ts
 * applyRate(1999, percent('20')) // 400
 * ```
 */
export function applyRate(amount: number, rate: Rate): number {
  assertMinor(amount, 'amount')
  const negative = amount < 0
  const product = BigInt(Math.abs(amount)) * rate.numerator
  const rounded = (product * 2n + rate.denominator) / (rate.denominator * 2n)
  return toSafeNumber(negative ? -rounded : rounded, 'amount')
}

/**
 * Sums integer amounts exactly, throwing if the result leaves the safe-integer range.
 *
 * @example
 * ```ts
 * sumAmounts([1999, 500, 160]) // 2659
 * ```
 */
export function sumAmounts(amounts: readonly number[]): number {
  let total = 0n
  for (const amount of amounts) {
    assertMinor(amount, 'amount')
    total += BigInt(amount)
  }
  return toSafeNumber(total, 'amount')
}

/**
 * Multiplies a unit price by a quantity exactly.
 *
 * @example
 * ```ts
 * multiplyAmount(1999, 3) // 5997
 * ```
 */
export function multiplyAmount(unit: number, quantity: number): number {
  assertMinor(unit, 'unitPrice')
  assertMinor(quantity, 'quantity')
  return toSafeNumber(BigInt(unit) * BigInt(quantity), 'amount')
}

/**
 * Formats minor units as a plain decimal string with the currency's exponent, without
 * locale rules: `formatAmount(1999, 'USD')` is `'19.99'`, `formatAmount(1500, 'KWD')` is `'1.500'`.
 *
 * @example
 * ```ts
 * `${formatAmount(order.totals.total, order.currency)} ${order.currency}` // "126.36 USD"
 * ```
 */
export function formatAmount(amount: number, currency: string): string {
  assertMinor(amount, 'amount')
  const exponent = currencyExponent(currency)
  const negative = amount < 0
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0')
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent)
  const fraction = exponent === 0 ? '' : `.${digits.slice(-exponent)}`
  return `${negative ? '-' : ''}${whole}${fraction}`
}

/**
 * Parses a decimal string in major units into minor units, exactly. More fraction digits
 * than the currency has are rejected rather than rounded.
 *
 * @example
 * ```ts
 * parseAmount('19.99', 'USD') // 1999
 * parseAmount('1.5', 'KWD') // 1500
 * ```
 */
export function parseAmount(text: string, currency: string): number {
  const exponent = currencyExponent(currency)
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text.trim())
  if (!match || (match[3]?.length ?? 0) > exponent) {
    throw new CommerceError('VALIDATION', `Invalid amount ${JSON.stringify(text)} for ${currency} (${exponent} decimals)`, {
      details: { issues: [{ path: 'amount', message: 'invalid amount' }], fields: ['amount'] },
    })
  }
  const fraction = (match[3] ?? '').padEnd(exponent, '0')
  const value = BigInt(match[2]! + fraction)
  return toSafeNumber(match[1] ? -value : value, 'amount')
}
