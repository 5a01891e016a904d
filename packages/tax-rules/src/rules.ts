import { z } from 'zod'
import { percent, validationError, type Address, type TaxInput, type TaxRate, type TaxResult } from '@cartwright/core'
import { EU_COUNTRIES } from './vat.js'

/**
 * One rate of a tax class, in force from `from` (inclusive) until `until` (exclusive), both ISO 8601
 * dates or instants compared with the moment the cart is priced. Either may be left out (open).
 *
 * @example
 * ```ts
 * // Germany's temporary cut in 2020, then back to 19%:
 * const standard: DatedRate[] = [
 *   { rate: '19', until: '2020-07-01' },
 *   { rate: '16', from: '2020-07-01', until: '2021-01-01' },
 *   { rate: '19', from: '2021-01-01' },
 * ]
 * ```
 */
export interface DatedRate {
  /** A percentage in decimal: `'20'`, `'8.875'`, `'0'`. */
  rate: string
  from?: string
  until?: string
}

/**
 * A place with its own taxes: a country, a region (state, province) of one, or postal-code areas.
 * An address matches it when its country is `country`, its `region` is one of `region` (when
 * given; compared in upper case) and its postal code starts with one of `postalPrefixes` (when
 * given; spaces and dashes ignored).
 *
 * @example
 * ```ts
 * const newYork: Jurisdiction = { id: 'US-NY', name: 'NY State sales tax', country: 'US', region: ['NY', 'New York'], rates: { standard: '4' } }
 * const nyc: Jurisdiction = { id: 'US-NY-NYC', name: 'NYC sales tax', country: 'US', region: 'NY', postalPrefixes: ['100', '101', '102', '103', '104'], stack: true, rates: { standard: '4.875' } }
 * ```
 */
export interface Jurisdiction {
  /** Named on every tax line it gives (`TaxLine.jurisdiction`), e.g. `'FR'`, `'US-NY'`. Unique. */
  id: string
  /** What its tax is called on a tax line (`'TVA'`, `'State sales tax'`). */
  name?: string
  /** ISO 3166-1 alpha-2. */
  country: string
  /** The address's `region` values it covers: a code, a name, or several. */
  region?: string | string[]
  /** Postal-code prefixes it covers. */
  postalPrefixes?: string[]
  /**
   * `true`: its rates are added to those of the place that applies (a county's or a city's on top
   * of a state's). `false` (the default): the most specific matching place replaces the others.
   */
  stack?: boolean
  /**
   * Rates per tax class: one rate, or dated rates. A class it does not name (or names with no rate
   * in force) is taxed at its default class; give a class `'0'` to exempt it here.
   */
  rates: Record<string, string | DatedRate[]>
  /** Its class for lines without one (default: the plugin's `defaultClass`, else `'standard'`). */
  defaultClass?: string
  /** Shipping here: `false` untaxed; a class name to tax it as; default: the plugin's `shippingClass`. */
  shipping?: boolean | string
}

/**
 * Options of `taxRules`.
 *
 * @example
 * ```ts
 * const options: TaxRulesOptions = {
 *   origin: 'FR',
 *   jurisdictions: [
 *     { id: 'FR', name: 'TVA', country: 'FR', rates: { standard: '20', reduced: '5.5' } },
 *     { id: 'DE', name: 'MwSt', country: 'DE', rates: { standard: '19', reduced: '7' } },
 *   ],
 *   exemptGroups: [{ group: 'diplomats', reason: 'Diplomatic exemption (Art. 151 Directive 2006/112/EC)' }],
 * }
 * ```
 */
export interface TaxRulesOptions {
  /** The shop's country (ISO 3166-1): decides reverse charge, origin-based EU distance sales and carts without an address. */
  origin?: string
  jurisdictions: Jurisdiction[]
  /** The class of a line without one, where a jurisdiction names no `defaultClass` (default `'standard'`). */
  defaultClass?: string
  /** The class of a shipping charge whose option names none (default: taxed like the jurisdiction's default class). */
  shippingClass?: string
  /**
   * EU sales to consumers in another member state: `'destination'` (the default, the OSS rule since
   * July 2021) taxes them at the buyer's country's rates; `'origin'` at the shop's (a seller under the
   * €10,000 threshold).
   */
  distanceSales?: 'destination' | 'origin'
  /** A cart with no address yet: `'origin'` (the default) shows the origin country's rates; `'none'` no tax. */
  withoutAddress?: 'origin' | 'none'
  /** The note on reverse-charged lines. */
  reverseChargeNote?: string
  /** Customer groups (`customers_groups.code` of `@cartwright/customers`) whose members pay no tax, with the reason noted on their lines. */
  exemptGroups?: Array<{ group: string; reason: string }>
}

/**
 * The default note on reverse-charged lines.
 *
 * @example
 * ```ts
 * taxRules({ jurisdictions: [], origin: 'FR', reverseChargeNote: `${REVERSE_CHARGE_NOTE} / Autoliquidation` })
 * ```
 */
export const REVERSE_CHARGE_NOTE = 'Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)'

const text = (max: number) => z.string().trim().min(1).max(max)
const country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code')
  .transform((c) => c.toUpperCase())
const rateText = z.string().refine((value) => {
  try {
    percent(value)
    return true
  } catch {
    return false
  }
}, 'must be a decimal percentage such as "20" or "8.875"')
const instant = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 date')
const datedRate = z
  .strictObject({ rate: rateText, from: instant.optional(), until: instant.optional() })
  .refine((r) => r.from === undefined || r.until === undefined || Date.parse(r.from) < Date.parse(r.until), { message: 'from must be before until', path: ['until'] })

const jurisdictionSchema = z.strictObject({
  id: text(64),
  name: text(64).optional(),
  country,
  region: z.union([text(100), z.array(text(100)).min(1)]).optional(),
  postalPrefixes: z.array(z.string().trim().min(1).max(20)).min(1).optional(),
  stack: z.boolean().default(false),
  rates: z.record(text(64), z.union([rateText, z.array(datedRate).min(1)])),
  defaultClass: text(64).optional(),
  shipping: z.union([z.boolean(), text(64)]).optional(),
})

export const optionsSchema = z
  .strictObject({
    origin: country.optional(),
    jurisdictions: z.array(jurisdictionSchema).max(10_000),
    defaultClass: text(64).default('standard'),
    shippingClass: text(64).optional(),
    distanceSales: z.enum(['destination', 'origin']).default('destination'),
    withoutAddress: z.enum(['origin', 'none']).default('origin'),
    reverseChargeNote: text(500).default(REVERSE_CHARGE_NOTE),
    exemptGroups: z.array(z.strictObject({ group: text(200), reason: text(400) })).default([]),
  })
  .superRefine((o, ctx) => {
    const seen = new Set<string>()
    o.jurisdictions.forEach((j, i) => {
      if (seen.has(j.id)) ctx.addIssue({ code: 'custom', path: ['jurisdictions', i, 'id'], message: `duplicate jurisdiction id ${JSON.stringify(j.id)}` })
      seen.add(j.id)
      for (const [taxClass, rates] of Object.entries(j.rates)) {
        if (typeof rates === 'string') continue
        const spans = rates.map((r) => [r.from ? Date.parse(r.from) : -Infinity, r.until ? Date.parse(r.until) : Infinity] as const).sort((a, b) => a[0] - b[0])
        for (let k = 1; k < spans.length; k++) {
          if (spans[k]![0] < spans[k - 1]![1]) ctx.addIssue({ code: 'custom', path: ['jurisdictions', i, 'rates', taxClass], message: 'dated rates overlap' })
        }
      }
    })
  })

type ParsedOptions = z.output<typeof optionsSchema>
type ParsedJurisdiction = ParsedOptions['jurisdictions'][number]

/** A jurisdiction ready to match: normalized regions and prefixes, dated rates per class. */
interface Place {
  j: ParsedJurisdiction
  order: number
  regions: string[] | null
  prefixes: string[] | null
  rates: Map<string, Array<{ rate: string; from: number; until: number }>>
  defaultClass: string
}

/** Options checked and indexed once, when the plugin is made. */
export interface CompiledRules {
  options: ParsedOptions
  byCountry: Map<string, Place[]>
}

const postal = (code: string) => code.replace(/[\s-]/g, '').toUpperCase()

export function compileRules(input: unknown): CompiledRules {
  const result = optionsSchema.safeParse(input)
  if (!result.success) {
    throw validationError(
      'tax rules options',
      result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    )
  }
  const options = result.data
  const byCountry = new Map<string, Place[]>()
  options.jurisdictions.forEach((j, order) => {
    const rates = new Map<string, Array<{ rate: string; from: number; until: number }>>()
    for (const [taxClass, value] of Object.entries(j.rates)) {
      const list: Array<{ rate: string; from?: string; until?: string }> = typeof value === 'string' ? [{ rate: value }] : value
      rates.set(
        taxClass,
        list.map((r) => ({ rate: r.rate.trim(), from: r.from ? Date.parse(r.from) : -Infinity, until: r.until ? Date.parse(r.until) : Infinity })),
      )
    }
    const place: Place = {
      j,
      order,
      regions: j.region === undefined ? null : (Array.isArray(j.region) ? j.region : [j.region]).map((r) => r.toUpperCase()),
      prefixes: j.postalPrefixes ? j.postalPrefixes.map(postal) : null,
      rates,
      defaultClass: j.defaultClass ?? options.defaultClass,
    }
    const list = byCountry.get(j.country) ?? []
    list.push(place)
    byCountry.set(j.country, list)
  })
  return { options, byCountry }
}

/** Where the buyer is, as matching needs it. */
interface Location {
  country: string
  region: string | null
  postalCode: string | null
}

/** A match's specificity: country 1, region 2, postal 3; then the longer matching prefix. */
interface Match {
  place: Place
  level: number
  prefixLength: number
}

function matchPlaces(rules: CompiledRules, at: Location): { base: Match | null; stacked: Match[] } {
  const matches: Match[] = []
  for (const place of rules.byCountry.get(at.country) ?? []) {
    if (place.regions && (at.region === null || !place.regions.includes(at.region))) continue
    let prefixLength = 0
    if (place.prefixes) {
      if (at.postalCode === null) continue
      for (const p of place.prefixes) if (at.postalCode.startsWith(p) && p.length > prefixLength) prefixLength = p.length
      if (prefixLength === 0) continue
    }
    matches.push({ place, level: place.prefixes ? 3 : place.regions ? 2 : 1, prefixLength })
  }
  const specific = (a: Match, b: Match) => a.level - b.level || a.prefixLength - b.prefixLength || b.place.order - a.place.order
  let base: Match | null = null
  for (const m of matches) if (!m.place.j.stack && (base === null || specific(m, base) > 0)) base = m
  const stacked = matches.filter((m) => m.place.j.stack).sort((a, b) => a.level - b.level || a.prefixLength - b.prefixLength || a.place.order - b.place.order)
  return { base, stacked }
}

function rateAt(place: Place, taxClass: string, at: number): string | null {
  const inForce = (c: string) => place.rates.get(c)?.find((r) => r.from <= at && at < r.until)?.rate ?? null
  return inForce(taxClass) ?? inForce(place.defaultClass)
}

/** What the plugin knows about the buyer, from its tables. */
export interface Buyer {
  /** A validated VAT number's country, or null. */
  vatCountry: string | null
  /** Why the buyer pays no tax (their profile's or their group's), or null. */
  exemption: string | null
}

function location(address: Address): Location {
  return {
    country: address.country.toUpperCase(),
    region: address.region ? address.region.trim().toUpperCase() : null,
    postalCode: address.postalCode ? postal(address.postalCode) : null,
  }
}

/**
 * The rates for a cart, by the documented order: an exempt buyer pays 0 with the reason; a buyer
 * with a VAT number of another EU state than the shop's, whose goods go to another EU state than
 * the shop's, is reverse-charged; anyone else pays the rates of the places their address matches.
 */
export function resolveRates(rules: CompiledRules, input: TaxInput, buyer: Buyer): TaxResult {
  const { options } = rules
  const at = Date.parse(input.at)
  // A moment that is not one would match no dated rate and tax nothing: refused instead.
  if (Number.isNaN(at)) throw validationError('tax input', [{ path: 'at', message: `${JSON.stringify(input.at)} is not an ISO 8601 instant` }])
  const origin = options.origin ?? null
  let where: Location | null = input.address ? location(input.address) : options.withoutAddress === 'origin' && origin ? { country: origin, region: null, postalCode: null } : null

  const zero = (jurisdiction: string, name: string, note: string): TaxRate[] => [{ rate: '0', jurisdiction, name, note }]
  const uniform = (rates: TaxRate[]): TaxResult => ({
    lines: input.lines.map((l) => ({ id: l.id, rates: rates.map((r) => ({ ...r })) })),
    shipping: input.shipping ? rates.map((r) => ({ ...r })) : [],
  })

  if (buyer.exemption !== null) {
    const place = where ? matchPlaces(rules, where).base?.place.j.id ?? where.country : (origin ?? '*')
    return uniform(zero(place, 'Tax exempt', `Tax exempt: ${buyer.exemption}`.slice(0, 500)))
  }
  const destination = where?.country ?? buyer.vatCountry
  if (
    origin !== null &&
    EU_COUNTRIES.has(origin) &&
    buyer.vatCountry !== null &&
    buyer.vatCountry !== origin &&
    EU_COUNTRIES.has(buyer.vatCountry) &&
    destination !== null &&
    destination !== origin &&
    EU_COUNTRIES.has(destination)
  ) {
    return uniform(zero(destination, 'VAT', options.reverseChargeNote))
  }
  if (where && options.distanceSales === 'origin' && origin !== null && EU_COUNTRIES.has(origin) && where.country !== origin && EU_COUNTRIES.has(where.country)) {
    where = { country: origin, region: null, postalCode: null }
  }
  if (where === null) return { lines: input.lines.map((l) => ({ id: l.id, rates: [] })), shipping: [] }

  const { base, stacked } = matchPlaces(rules, where)
  const places = [...(base ? [base.place] : []), ...stacked.map((m) => m.place)]
  const memo = new Map<string, TaxRate[]>()
  const ratesFor = (taxClass: string | null, shipping: boolean): TaxRate[] => {
    const key = `${shipping ? 's' : 'l'}:${taxClass ?? ''}`
    const known = memo.get(key)
    if (known) return known.map((r) => ({ ...r }))
    const found: TaxRate[] = []
    for (const place of places) {
      let c = taxClass
      if (shipping) {
        if (place.j.shipping === false) continue
        c ??= typeof place.j.shipping === 'string' ? place.j.shipping : (options.shippingClass ?? null)
      }
      const rate = rateAt(place, c ?? place.defaultClass, at)
      if (rate === null) continue
      found.push(place.j.name ? { rate, jurisdiction: place.j.id, name: place.j.name } : { rate, jurisdiction: place.j.id })
    }
    memo.set(key, found)
    return found.map((r) => ({ ...r }))
  }
  return {
    lines: input.lines.map((l) => ({ id: l.id, rates: ratesFor(l.taxClass, false) })),
    shipping: input.shipping ? ratesFor(input.shipping.taxClass, true) : [],
  }
}
