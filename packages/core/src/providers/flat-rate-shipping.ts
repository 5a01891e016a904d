import { z } from 'zod'
import type { ShippingProvider } from '../ports/shipping-provider.js'
import { fields, parseOptions } from '../validation.js'

const rateSchema = z.strictObject({
  id: z.string().min(1).max(64).regex(/^[a-z0-9_-]+$/),
  name: z.string().min(1).max(100),
  /** Price per currency, in minor units. A currency without a price does not get this option. */
  amounts: z.record(fields.currency, fields.amount),
  /** Free when the subtotal after line discounts reaches this amount in the cart's currency. */
  freeAbove: z.record(fields.currency, fields.amount).optional(),
  /** ISO 3166-1 alpha-2 countries served; all when omitted. */
  countries: z.array(z.string().length(2).transform((c) => c.toUpperCase())).optional(),
  estimate: z.string().max(100).optional(),
  /** The charge's tax class; absent: the tax provider's default for shipping. */
  taxClass: z.string().min(1).max(64).optional(),
})

const optionsSchema = z.strictObject({
  id: z.string().min(1).max(64).default('flat'),
  rates: z.array(rateSchema).min(1).max(50),
})

/** Options of {@link flatRateShipping}. */
export type FlatRateShippingOptions = z.input<typeof optionsSchema>

/**
 * Fixed-price shipping options, optionally free above a subtotal and limited to countries.
 *
 * @example
 * ```ts
 * flatRateShipping({
 *   rates: [
 *     { id: 'standard', name: 'Standard', amounts: { USD: 500, EUR: 450 }, freeAbove: { USD: 10000 } },
 *     { id: 'express', name: 'Express', amounts: { USD: 1500 }, countries: ['US'] },
 *   ],
 * })
 * ```
 */
export function flatRateShipping(options: FlatRateShippingOptions): ShippingProvider {
  const config = parseOptions(optionsSchema, options, 'cartwright:flat-rate-shipping')
  return {
    id: config.id,
    async quote(input) {
      // Every option ships to an address: none is offered before the shopper gives one.
      const address = input.address
      if (!address) return []
      return config.rates.flatMap((rate) => {
        const amount = rate.amounts[input.currency]
        if (amount === undefined) return []
        if (rate.countries && !rate.countries.includes(address.country)) return []
        const threshold = rate.freeAbove?.[input.currency]
        const free = threshold !== undefined && input.subtotal >= threshold
        return [{ id: rate.id, name: rate.name, amount: free ? 0 : amount, ...(rate.estimate ? { estimate: rate.estimate } : {}), ...(rate.taxClass ? { taxClass: rate.taxClass } : {}) }]
      })
    },
  }
}
