import { CommerceError, type Address, type ShippingProvider, type ShippingQuote, type ShippingQuoteInput } from '@cartwright/core'
import { normalizePostalCode, tableRatesSchema, type ParsedMethod, type ParsedRate, type ParsedTableRates, type ParsedZone, type TableRatesOptions } from './rate-options.js'

/**
 * Shipping rates from tables in code: zones, each with its methods, and pickup at stock locations
 * (click and collect).
 *
 * - **Zones.** A zone lists countries and, optionally, regions (`address.region`, compared case
 *   insensitively) and postal-code prefixes (upper case, spaces and dashes ignored). An address
 *   matches a zone when its country is listed and, when the zone has them, its region and its
 *   postal code match too. **The most specific matching zone wins, alone**: a postal-prefix match
 *   beats a region match, which beats a country match; a longer prefix beats a shorter one; on a
 *   tie the zone declared first wins. Only that zone's methods are offered.
 * - **Rates** per currency: `flat`, `weight` tiers (each up to and including its `maxGrams`),
 *   `subtotal` tiers (each from its `minSubtotal`, inclusive), and on any of them `freeFrom`: free
 *   when the subtotal is at least that amount. The subtotal is the one the port gives: **after line
 *   discounts**, in the cart's price convention.
 * - **Eligibility**: a method is not offered to a cart heavier than its `maxWeightGrams`, nor to an
 *   address in one of its `excludeRegions` or `excludePostalPrefixes`, nor in a currency it has no
 *   rate for. Checkout then refuses a cart whose chosen method is no longer offered.
 * - **Pickup** options are offered whatever the address, and with no address at all; each names
 *   the stock location (`pickupLocationId`) that checkout reserves every line from.
 *
 * Options are checked when the factory is called (`CONFIGURATION`, naming the field).
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const rates = tableRates({
 *   zones: [
 *     {
 *       id: 'us-west',
 *       name: 'US West Coast',
 *       countries: ['US'],
 *       regions: ['CA', 'OR', 'WA'],
 *       methods: [{ id: 'ground', name: 'Ground', rates: { USD: { type: 'flat', amount: 599 } }, minDays: 2, maxDays: 3 }],
 *     },
 *     {
 *       id: 'us',
 *       name: 'United States',
 *       countries: ['US'],
 *       methods: [
 *         {
 *           id: 'ground',
 *           name: 'Ground',
 *           rates: { USD: { type: 'weight', tiers: [{ maxGrams: 1000, amount: 799 }, { maxGrams: 10000, amount: 1299 }], freeFrom: 10000 } },
 *           minDays: 3,
 *           maxDays: 6,
 *           excludeRegions: ['AK', 'HI'],
 *         },
 *       ],
 *     },
 *   ],
 *   pickup: [{ id: 'sf-store', name: 'Pick up in San Francisco', locationId: 'loc_sf', minDays: 0, maxDays: 1 }],
 * })
 * const shop = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), shipping: [rates] })
 * ```
 */
export function tableRates(options: TableRatesOptions): ShippingProvider {
  const config = parseRateOptions(options)
  return {
    id: config.id,
    quote: (input) => quoteTable(config, input),
  }
}

/** @internal Parses {@link TableRatesOptions}, or throws `CONFIGURATION` naming every bad field. */
export function parseRateOptions(options: TableRatesOptions): ParsedTableRates {
  const result = tableRatesSchema.safeParse(options)
  if (result.success) return result.data
  const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }))
  throw new CommerceError('CONFIGURATION', `[cartwright:shipping-rates] invalid options: ${issues.map((i) => `${i.path || '(options)'}: ${i.message}`).join('; ')}`, {
    details: { issues, fields: issues.map((i) => i.path) },
  })
}

/**
 * @internal The quotes for one cart: pure, reads nothing but its arguments, and leaves them as
 * they are. Pickups first (in declaration order), then the winning zone's methods.
 */
export function quoteTable(config: ParsedTableRates, input: ShippingQuoteInput): ShippingQuote[] {
  const quotes: ShippingQuote[] = []
  for (const pickup of config.pickup) {
    const amount = pickup.amounts ? pickup.amounts[input.currency] : 0
    if (amount === undefined) continue
    quotes.push({
      id: pickup.id,
      name: pickup.name,
      amount,
      pickupLocationId: pickup.locationId,
      ...delivery(pickup),
      ...(pickup.taxClass ? { taxClass: pickup.taxClass } : {}),
    })
  }
  if (!input.address) return quotes
  const zone = matchZone(config.zones, input.address)
  if (!zone) return quotes
  for (const method of zone.methods) {
    if (!eligible(method, input.address, input.weightGrams)) continue
    const rate = method.rates[input.currency]
    if (!rate) continue
    const amount = rateAmount(rate, input.subtotal, input.weightGrams)
    if (amount === null) continue
    quotes.push({ id: method.id, name: method.name, amount, ...delivery(method), ...(method.taxClass ? { taxClass: method.taxClass } : {}) })
  }
  return quotes
}

/**
 * @internal The zone an address falls in: the most specific match (postal prefix, longest first,
 * then region, then country), the first declared on a tie; null when none matches.
 */
export function matchZone(zones: readonly ParsedZone[], address: Address): ParsedZone | null {
  const country = address.country.toUpperCase()
  const region = address.region?.trim().toUpperCase() ?? ''
  const postal = normalizePostalCode(address.postalCode ?? '')
  let best: { zone: ParsedZone; score: number } | null = null
  for (const zone of zones) {
    if (!zone.countries.includes(country)) continue
    let prefixLength = 0
    if (zone.postalPrefixes) {
      for (const prefix of zone.postalPrefixes) if (postal.startsWith(prefix) && prefix.length > prefixLength) prefixLength = prefix.length
      if (prefixLength === 0) continue
    }
    if (zone.regions && !zone.regions.includes(region)) continue
    // A prefix of any length outranks a region, which outranks a country alone.
    const score = (prefixLength > 0 ? 1000 + prefixLength * 2 : 0) + (zone.regions ? 1 : 0)
    if (!best || score > best.score) best = { zone, score }
  }
  return best?.zone ?? null
}

function eligible(method: ParsedMethod, address: Address, weightGrams: number): boolean {
  if (method.maxWeightGrams !== undefined && weightGrams > method.maxWeightGrams) return false
  const region = address.region?.trim().toUpperCase()
  if (region && method.excludeRegions?.includes(region)) return false
  const postal = normalizePostalCode(address.postalCode ?? '')
  if (postal && method.excludePostalPrefixes?.some((p) => postal.startsWith(p))) return false
  return true
}

/** @internal A rate's amount for a subtotal and weight, or null when the rate offers nothing for them. */
export function rateAmount(rate: ParsedRate, subtotal: number, weightGrams: number): number | null {
  let amount: number | null
  switch (rate.type) {
    case 'flat':
      amount = rate.amount
      break
    case 'weight':
      amount = rate.tiers.find((t) => t.maxGrams === undefined || weightGrams <= t.maxGrams)?.amount ?? null
      break
    case 'subtotal': {
      let found: number | null = null
      for (const tier of rate.tiers) if (subtotal >= tier.minSubtotal) found = tier.amount
      amount = found
      break
    }
  }
  if (amount === null) return null
  return rate.freeFrom !== undefined && subtotal >= rate.freeFrom ? 0 : amount
}

/** Delivery days, and the estimate shown: the configured text, else made from the days. */
function delivery(option: { minDays?: number | undefined; maxDays?: number | undefined; estimate?: string | undefined }): Pick<ShippingQuote, 'minDays' | 'maxDays' | 'estimate'> {
  const out: Pick<ShippingQuote, 'minDays' | 'maxDays' | 'estimate'> = {}
  if (option.minDays !== undefined) out.minDays = option.minDays
  if (option.maxDays !== undefined) out.maxDays = option.maxDays
  const estimate = option.estimate ?? estimateText(option.minDays, option.maxDays)
  if (estimate) out.estimate = estimate
  return out
}

/**
 * A delivery estimate in words: `'2–4 business days'`, `'1 business day'`, `'up to 5 business
 * days'`, `'same business day'` for 0; undefined without days.
 *
 * @example
 * ```ts
 * estimateText(2, 4) // '2–4 business days'
 * estimateText(1, 1) // '1 business day'
 * ```
 */
export function estimateText(minDays: number | undefined, maxDays: number | undefined): string | undefined {
  const days = (n: number) => (n === 0 ? 'same business day' : `${n} business ${n === 1 ? 'day' : 'days'}`)
  if (minDays === undefined && maxDays === undefined) return undefined
  if (minDays === undefined) return `up to ${days(maxDays!)}`
  if (maxDays === undefined) return minDays === 0 ? 'from the same business day' : `at least ${days(minDays)}`
  if (minDays === maxDays) return days(minDays)
  return `${minDays}–${maxDays} business days`
}
