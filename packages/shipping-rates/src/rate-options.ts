import { z } from 'zod'

const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code in upper case, e.g. EUR')
const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const grams = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const days = z.number().int().min(0).max(365)
const optionId = z.string().min(1).max(64).regex(/^[a-z0-9_-]+$/, 'lower case letters, digits, - and _ only')
const name = z.string().trim().min(1).max(100)
const country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
  .transform((c) => c.toUpperCase())
/** Regions compare case-insensitively and without surrounding spaces (`'CA'`, `'ca '`). */
const region = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .transform((r) => r.toUpperCase())
/** Postal prefixes compare upper case and without spaces (`'SW1'` matches `'sw1a 1aa'`). */
const postalPrefix = z
  .string()
  .min(1)
  .max(20)
  .transform((p) => normalizePostalCode(p))
  .refine((p) => p.length > 0, 'must hold at least one letter or digit')

/** A postal code as prefixes compare it: upper case, without spaces or dashes. */
export function normalizePostalCode(postalCode: string): string {
  return postalCode.toUpperCase().replace(/[\s-]+/g, '')
}

const flatRate = z.strictObject({
  type: z.literal('flat'),
  amount,
  freeFrom: amount.optional(),
})

const weightRate = z.strictObject({
  type: z.literal('weight'),
  /**
   * Ascending by `maxGrams`; a tier applies to weights up to and including its `maxGrams`. The last
   * tier may omit `maxGrams` (any weight above the others); without it, heavier carts are not offered
   * the method.
   */
  tiers: z
    .array(z.strictObject({ maxGrams: grams.optional(), amount }))
    .min(1)
    .max(50)
    .superRefine((tiers, ctx) => {
      for (const [i, tier] of tiers.entries()) {
        if (tier.maxGrams === undefined && i !== tiers.length - 1) ctx.addIssue({ code: 'custom', path: [i, 'maxGrams'], message: 'only the last tier may omit maxGrams' })
        const previous = tiers[i - 1]?.maxGrams
        if (i > 0 && tier.maxGrams !== undefined && previous !== undefined && tier.maxGrams <= previous)
          ctx.addIssue({ code: 'custom', path: [i, 'maxGrams'], message: 'tiers must be in ascending order of maxGrams' })
      }
    }),
  freeFrom: amount.optional(),
})

const subtotalRate = z.strictObject({
  type: z.literal('subtotal'),
  /**
   * Ascending by `minSubtotal`; a tier applies from its `minSubtotal` (inclusive) up to the next
   * tier's. A subtotal below the first tier's is not offered the method (a minimum order).
   */
  tiers: z
    .array(z.strictObject({ minSubtotal: amount, amount }))
    .min(1)
    .max(50)
    .superRefine((tiers, ctx) => {
      for (const [i, tier] of tiers.entries()) {
        if (i > 0 && tier.minSubtotal <= tiers[i - 1]!.minSubtotal)
          ctx.addIssue({ code: 'custom', path: [i, 'minSubtotal'], message: 'tiers must be in ascending order of minSubtotal' })
      }
    }),
  freeFrom: amount.optional(),
})

export const rateSchema = z.discriminatedUnion('type', [flatRate, weightRate, subtotalRate])

const methodSchema = z
  .strictObject({
    id: optionId,
    name,
    /** The method's rate in each currency it is offered in; a cart in another currency is not offered it. */
    rates: z.record(currency, rateSchema),
    minDays: days.optional(),
    maxDays: days.optional(),
    /** Shown to the shopper; made from `minDays`/`maxDays` when omitted. */
    estimate: z.string().trim().min(1).max(100).optional(),
    taxClass: z.string().trim().min(1).max(64).optional(),
    /** Not offered when the cart weighs more (grams, inclusive bound: exactly this weight is offered). */
    maxWeightGrams: grams.optional(),
    excludeRegions: z.array(region).max(500).optional(),
    excludePostalPrefixes: z.array(postalPrefix).max(500).optional(),
  })
  .refine((m) => m.minDays === undefined || m.maxDays === undefined || m.minDays <= m.maxDays, { path: ['maxDays'], message: 'must not be below minDays' })

const zoneSchema = z.strictObject({
  id: optionId,
  name,
  countries: z.array(country).min(1).max(300),
  /** When given, the zone matches only addresses whose `region` is one of these (compared case-insensitively). */
  regions: z.array(region).min(1).max(500).optional(),
  /** When given, the zone matches only postal codes starting with one of these (upper case, spaces ignored). */
  postalPrefixes: z.array(postalPrefix).min(1).max(5000).optional(),
  methods: z.array(methodSchema).min(1).max(50),
})

const pickupSchema = z
  .strictObject({
    id: optionId,
    name,
    /** The stock location collected from: checkout reserves every line there. */
    locationId: z.string().min(1).max(64),
    /** Price per currency; free (0) in every currency when omitted. */
    amounts: z.record(currency, amount).optional(),
    minDays: days.optional(),
    maxDays: days.optional(),
    estimate: z.string().trim().min(1).max(100).optional(),
    taxClass: z.string().trim().min(1).max(64).optional(),
  })
  .refine((m) => m.minDays === undefined || m.maxDays === undefined || m.minDays <= m.maxDays, { path: ['maxDays'], message: 'must not be below minDays' })

export const tableRatesSchema = z
  .strictObject({
    id: optionId.default('rates'),
    zones: z.array(zoneSchema).max(500).default([]),
    pickup: z.array(pickupSchema).max(100).default([]),
  })
  .superRefine((o, ctx) => {
    const zoneIds = new Set<string>()
    for (const [zi, zone] of o.zones.entries()) {
      if (zoneIds.has(zone.id)) ctx.addIssue({ code: 'custom', path: ['zones', zi, 'id'], message: `zone id ${zone.id} is used twice` })
      zoneIds.add(zone.id)
      const methodIds = new Set<string>()
      for (const [mi, method] of zone.methods.entries()) {
        if (methodIds.has(method.id)) ctx.addIssue({ code: 'custom', path: ['zones', zi, 'methods', mi, 'id'], message: `method id ${method.id} is used twice in zone ${zone.id}` })
        methodIds.add(method.id)
      }
    }
    const methodIds = new Set(o.zones.flatMap((z) => z.methods.map((m) => m.id)))
    const pickupIds = new Set<string>()
    for (const [pi, pickup] of o.pickup.entries()) {
      if (methodIds.has(pickup.id) || pickupIds.has(pickup.id))
        ctx.addIssue({ code: 'custom', path: ['pickup', pi, 'id'], message: `option id ${pickup.id} is already used by another method or pickup` })
      pickupIds.add(pickup.id)
    }
    if (o.zones.length === 0 && o.pickup.length === 0) ctx.addIssue({ code: 'custom', path: ['zones'], message: 'give at least one zone or one pickup location' })
  })

/**
 * A rate in one currency, in minor units: `flat`, `weight` (tiers by the cart's weight in grams,
 * each up to and including its `maxGrams`) or `subtotal` (tiers by the subtotal after line
 * discounts, each from its `minSubtotal` inclusive). Any of them may add `freeFrom`: free when the
 * subtotal after line discounts is at least that amount.
 *
 * @example
 * ```ts
 * const byWeight: Rate = {
 *   type: 'weight',
 *   tiers: [
 *     { maxGrams: 1000, amount: 490 }, // up to and including 1 kg
 *     { maxGrams: 5000, amount: 890 }, // over 1 kg, up to and including 5 kg
 *     { amount: 1590 }, // anything heavier
 *   ],
 *   freeFrom: 10000, // free from 100.00 after discounts
 * }
 * ```
 */
export type Rate = z.input<typeof rateSchema>

/**
 * Options of {@link tableRates}: zones of methods, and pickup locations.
 *
 * @example
 * ```ts
 * const options: TableRatesOptions = {
 *   zones: [
 *     {
 *       id: 'germany',
 *       name: 'Germany',
 *       countries: ['DE'],
 *       methods: [{ id: 'standard', name: 'DHL Paket', rates: { EUR: { type: 'flat', amount: 490, freeFrom: 5000 } }, minDays: 1, maxDays: 3 }],
 *     },
 *   ],
 *   pickup: [{ id: 'berlin-store', name: 'Collect in our Berlin store', locationId: 'loc_berlin' }],
 * }
 * ```
 */
export type TableRatesOptions = z.input<typeof tableRatesSchema>
/** {@link TableRatesOptions} after parsing, with defaults applied. */
export type ParsedTableRates = z.output<typeof tableRatesSchema>
export type ParsedZone = ParsedTableRates['zones'][number]
export type ParsedMethod = ParsedZone['methods'][number]
export type ParsedRate = z.output<typeof rateSchema>
