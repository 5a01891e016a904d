import { CommerceError } from './errors.js'
import { assertMinor, percent, toSafeNumber, type Rate } from './money.js'

/**
 * Tax amounts from rates, exactly: the one place where a tax rate becomes minor units. A tax
 * provider says which rates apply; this module rounds, by the store's policy, and back-calculates
 * tax-inclusive amounts so that net + tax = gross to the minor unit. Pure: no I/O, no floats.
 */

/**
 * Where tax is rounded to a minor unit: on each unit's tax (`'unit'`), on each line's (`'line'`, the
 * default), or once on the order's (`'total'`, then split back over the lines and shipping by largest
 * remainder). Whichever, line taxes add up to the order's tax.
 */
export type TaxRoundingLevel = 'unit' | 'line' | 'total'

/** How a half minor unit is rounded: away from zero (`'half-up'`, the default) or to the even neighbour (`'half-even'`, banker's rounding). */
export type TaxRoundingMode = 'half-up' | 'half-even'

/**
 * The store's tax rounding policy (`CommerceOptions.taxRounding`).
 *
 * @example
 * ```ts
 * const policy: TaxRounding = { level: 'unit', mode: 'half-even' }
 * ```
 */
export interface TaxRounding {
  level: TaxRoundingLevel
  mode: TaxRoundingMode
}

/** One amount to tax: a line after its discounts (`quantity` its units), or the shipping charge (`quantity` 1). */
export interface TaxItem {
  /** Minor units, a safe non-negative integer, with tax included when `taxInclusive`. */
  amount: number
  quantity: number
  taxInclusive: boolean
  /** The rates that apply, added together; none: no tax. */
  rates: readonly Rate[]
}

/** The tax of one item: in all, per rate (in the rates' order, adding up to `tax`), and the item without and with it. */
export interface ItemTax {
  tax: number
  parts: number[]
  net: number
  gross: number
}

/** A non-negative fraction. */
interface Fraction {
  num: bigint
  den: bigint
}

/**
 * Rounds a non-negative fraction to an integer by `mode`.
 *
 * @example
 * ```ts
 * roundFraction(5n, 2n, 'half-up') // 3n
 * roundFraction(5n, 2n, 'half-even') // 2n
 * ```
 */
export function roundFraction(num: bigint, den: bigint, mode: TaxRoundingMode): bigint {
  if (num < 0n || den <= 0n) throw new CommerceError('VALIDATION', 'roundFraction takes a non-negative fraction')
  const q = num / den
  const twice = (num - q * den) * 2n
  if (twice > den) return q + 1n
  if (twice < den) return q
  return mode === 'half-up' || q % 2n === 1n ? q + 1n : q
}

/** The rates added together, over one denominator (every percentage's is 100 × a power of ten). */
function combined(rates: readonly Rate[]): Fraction {
  let den = 100n
  for (const r of rates) if (r.denominator > den) den = r.denominator
  let num = 0n
  for (const r of rates) num += r.numerator * (den / r.denominator)
  return { num, den }
}

/** The exact tax on `amount` at the combined rate `r`: on top of it, or inside it when inclusive. */
function exactTax(amount: bigint, r: Fraction, inclusive: boolean): Fraction {
  return inclusive ? { num: amount * r.num, den: r.den + r.num } : { num: amount * r.num, den: r.den }
}

/** The item's tax rounded at `'line'` or `'unit'` level. */
function roundedTax(item: TaxItem, r: Fraction, rounding: TaxRounding): bigint {
  const amount = BigInt(item.amount)
  if (r.num === 0n) return 0n
  if (rounding.level !== 'unit' || item.quantity <= 1) {
    const t = exactTax(amount, r, item.taxInclusive)
    return roundFraction(t.num, t.den, rounding.mode)
  }
  // The amount over its units as evenly as they go: `high` units of `low + 1`, the rest of `low`.
  const quantity = BigInt(item.quantity)
  const low = amount / quantity
  const high = amount - low * quantity
  const lowTax = exactTax(low, r, item.taxInclusive)
  const highTax = exactTax(low + 1n, r, item.taxInclusive)
  return (quantity - high) * roundFraction(lowTax.num, lowTax.den, rounding.mode) + (high === 0n ? 0n : high * roundFraction(highTax.num, highTax.den, rounding.mode))
}

/** Splits `total` over `weights` in proportion, by largest remainder (ties to the earlier). */
function split(total: bigint, weights: readonly bigint[]): bigint[] {
  const sum = weights.reduce((a, b) => a + b, 0n)
  if (sum === 0n) return weights.map(() => 0n)
  const parts = weights.map((w) => (total * w) / sum)
  let left = total - parts.reduce((a, b) => a + b, 0n)
  const order = weights.map((w, index) => ({ index, rem: (total * w) % sum })).sort((a, b) => (a.rem === b.rem ? a.index - b.index : a.rem > b.rem ? -1 : 1))
  for (let i = 0; left > 0n; i++, left--) parts[order[i % order.length]!.index]! += 1n
  return parts
}

/**
 * The tax of each item by the rounding policy, each split over its rates, with its net and gross.
 * With `level: 'total'` the exact taxes of all items are added and rounded once, and that total is
 * split back over the items: each gets its exact tax rounded down, and the units left go to the
 * largest fractions (ties to the earlier item). So at every level the items' taxes add up to the
 * total tax, each item's parts to its tax, and `net + tax = gross`; a tax-inclusive item's `gross`
 * is its amount and a tax-exclusive item's `net` is.
 *
 * @example
 * ```ts
 * // 10 × 38.23 with 20% VAT included, rounded per unit then per line:
 * const item = { amount: 38230, quantity: 10, taxInclusive: true, rates: [percent('20')] }
 * itemTaxes([item], { level: 'unit', mode: 'half-up' })[0]!.tax // 6370
 * itemTaxes([item], { level: 'line', mode: 'half-up' })[0]!.tax // 6372
 * ```
 */
export function itemTaxes(items: readonly TaxItem[], rounding: TaxRounding): ItemTax[] {
  const rates = items.map((item) => {
    assertMinor(item.amount, 'amount')
    if (item.amount < 0) throw new CommerceError('VALIDATION', `A taxed amount must not be negative, got ${item.amount}`)
    if (!Number.isSafeInteger(item.quantity) || item.quantity < 1) throw new CommerceError('VALIDATION', `A taxed quantity must be a positive integer, got ${item.quantity}`)
    return combined(item.rates)
  })
  let taxes: bigint[]
  if (rounding.level === 'total') {
    const exact = items.map((item, i) => exactTax(BigInt(item.amount), rates[i]!, item.taxInclusive))
    let den = 1n
    for (const e of exact) den = lcm(den, e.den)
    const scaled = exact.map((e) => e.num * (den / e.den))
    const total = roundFraction(
      scaled.reduce((a, b) => a + b, 0n),
      den,
      rounding.mode,
    )
    taxes = scaled.map((s) => s / den)
    let left = total - taxes.reduce((a, b) => a + b, 0n)
    const order = scaled.map((s, index) => ({ index, rem: s % den })).sort((a, b) => (a.rem === b.rem ? a.index - b.index : a.rem > b.rem ? -1 : 1))
    for (let i = 0; left > 0n && i < order.length; i++) {
      if (order[i]!.rem === 0n) break
      taxes[order[i]!.index]! += 1n
      left--
    }
  } else {
    taxes = items.map((item, i) => roundedTax(item, rates[i]!, rounding))
  }
  return items.map((item, i) => {
    const tax = taxes[i]!
    const r = rates[i]!
    const parts = split(
      tax,
      item.rates.map((rate) => rate.numerator * (r.den / rate.denominator)),
    ).map((p) => toSafeNumber(p, 'tax'))
    const amount = BigInt(item.amount)
    const net = item.taxInclusive ? amount - tax : amount
    return { tax: toSafeNumber(tax, 'tax'), parts, net: toSafeNumber(net, 'amount'), gross: toSafeNumber(net + tax, 'amount') }
  })
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b]
  return a
}

function lcm(a: bigint, b: bigint): bigint {
  return (a / gcd(a, b)) * b
}

/**
 * Parses a tax provider's rate (`'20'`, `'8.875'`, `'0'`) into an exact {@link Rate}, or throws
 * `PROVIDER` naming the provider.
 *
 * @example
 * ```ts
 * taxRate('20', 'tax-rules') // { numerator: 20n, denominator: 100n }
 * ```
 */
export function taxRate(rate: unknown, provider: string): Rate {
  if (typeof rate === 'string') {
    try {
      return percent(rate)
    } catch {
      // fall through to the error below
    }
  }
  throw new CommerceError('PROVIDER', `Tax provider ${provider} answered an invalid rate ${JSON.stringify(rate)}: a decimal percentage such as "20" or "8.875"`, {
    details: { provider },
  })
}
