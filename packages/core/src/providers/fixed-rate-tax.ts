import { z } from 'zod'
import { allocate, applyRate, percent, sumAmounts } from '../money.js'
import type { TaxProvider } from '../ports/tax-provider.js'
import { parseOptions } from '../validation.js'

const rateText = z.union([z.string(), z.number()]).refine((value) => {
  try {
    percent(value)
    return true
  } catch {
    return false
  }
}, 'a percentage such as "8.875"')

const optionsSchema = z.strictObject({
  id: z.string().min(1).max(64).default('fixed-rate'),
  /** Percentage applied everywhere unless a country has its own, e.g. `'20'` or `'8.875'`. */
  rate: rateText,
  /** Percentage per ISO 3166-1 country, overriding `rate`. */
  countries: z.record(z.string().length(2), rateText).optional(),
  /** Tax shipping too (default true). */
  shipping: z.boolean().default(true),
})

/** Options of {@link fixedRateTax}. */
export type FixedRateTaxOptions = z.input<typeof optionsSchema>

/**
 * A tax provider with one percentage (per country if given). Tax is computed on the sum of
 * the taxable lines, rounded half up once, then split back over the lines by largest
 * remainder — so line taxes always add up to the cart's tax, with no cent lost.
 *
 * @example
 * ```ts
 * fixedRateTax({ rate: '8', countries: { DE: '19', FR: '20' } })
 * ```
 */
export function fixedRateTax(options: FixedRateTaxOptions): TaxProvider {
  const config = parseOptions(optionsSchema, options, 'cartwright:fixed-rate-tax')
  const base = percent(config.rate)
  const byCountry = new Map(Object.entries(config.countries ?? {}).map(([c, r]) => [c.toUpperCase(), percent(r)]))
  return {
    id: config.id,
    async calculate(input) {
      const rate = (input.address && byCountry.get(input.address.country)) || base
      const amounts = input.lines.map((l) => l.amount)
      const linesTax = applyRate(sumAmounts(amounts), rate)
      const parts = input.lines.length ? allocate(linesTax, amounts) : []
      return {
        lines: input.lines.map((l, i) => ({ id: l.id, amount: parts[i]! })),
        shipping: config.shipping ? applyRate(input.shipping, rate) : 0,
      }
    },
  }
}

/** A tax provider that charges nothing; the default when none is configured. */
export function noTax(): TaxProvider {
  return {
    id: 'none',
    async calculate(input) {
      return { lines: input.lines.map((l) => ({ id: l.id, amount: 0 })), shipping: 0 }
    },
  }
}
