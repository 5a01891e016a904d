import { z } from 'zod'
import { percent } from '../money.js'
import type { TaxProvider, TaxRate } from '../ports/tax-provider.js'
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
  /** Percentage per tax class (`variant.taxClass`, `ShippingQuote.taxClass`), overriding the country's and `rate`, everywhere. */
  classes: z.record(z.string().min(1).max(64), rateText).optional(),
  /** Tax shipping too (default true). */
  shipping: z.boolean().default(true),
  /** The jurisdiction named on tax lines when a country has no rate of its own (default `'*'`). */
  jurisdiction: z.string().min(1).max(64).default('*'),
  /** The name on tax lines (default `'Tax'`). */
  name: z.string().min(1).max(64).default('Tax'),
})

/** Options of {@link fixedRateTax}. */
export type FixedRateTaxOptions = z.input<typeof optionsSchema>

/**
 * A tax provider with one percentage, per country and per tax class if given. Core computes the
 * amounts from the rate by the store's rounding policy (`CommerceOptions.taxRounding`).
 *
 * @example
 * ```ts
 * fixedRateTax({ rate: '8', countries: { DE: '19', FR: '20' }, classes: { books: '5.5' } })
 * ```
 */
export function fixedRateTax(options: FixedRateTaxOptions): TaxProvider {
  const config = parseOptions(optionsSchema, options, 'cartwright:fixed-rate-tax')
  const text = (value: string | number) => (typeof value === 'number' ? String(value) : value.trim())
  const countries = new Map(Object.entries(config.countries ?? {}).map(([c, r]) => [c.toUpperCase(), text(r)]))
  const classes = new Map(Object.entries(config.classes ?? {}).map(([c, r]) => [c, text(r)]))
  const rateFor = (country: string | undefined, taxClass: string | null): TaxRate[] => {
    const byCountry = country === undefined ? undefined : countries.get(country)
    const rate = (taxClass !== null ? classes.get(taxClass) : undefined) ?? byCountry ?? text(config.rate)
    return [{ rate, jurisdiction: byCountry !== undefined ? country! : config.jurisdiction, name: config.name }]
  }
  return {
    id: config.id,
    calculate(input) {
      const country = input.address?.country
      return {
        lines: input.lines.map((l) => ({ id: l.id, rates: rateFor(country, l.taxClass) })),
        shipping: config.shipping && input.shipping ? rateFor(country, input.shipping.taxClass) : [],
      }
    },
  }
}

/** A tax provider that charges nothing; the default when none is configured. */
export function noTax(): TaxProvider {
  return {
    id: 'none',
    calculate(input) {
      return { lines: input.lines.map((l) => ({ id: l.id, rates: [] })), shipping: [] }
    },
  }
}
