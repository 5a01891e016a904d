import { z } from 'zod'
import { CommerceError, type ShippingProvider } from '@cartwright/core'

const zoneSchema = z.strictObject({
  /** Part of the option id (`courier:zone-a`): lower case letters, digits, `-`. */
  id: z.string().regex(/^[a-z0-9-]{1,40}$/),
  name: z.string().min(1).max(60),
  /** Postcodes starting with one of these (spaces and case ignored) are in the zone. */
  prefixes: z.array(z.string().regex(/^[0-9A-Za-z]{1,10}$/)).min(1),
  /** Price in minor units of the courier's currency. */
  amount: z.number().int().min(0),
  /** Delivered within this many days (0: the same day). */
  days: z.number().int().min(0).max(30),
})

const optionsSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]{1,64}$/).default('courier'),
  /** What the shopper sees, before the zone's name. */
  name: z.string().min(1).max(60).default('Local courier'),
  /** ISO 3166-1 alpha-2: the one country the courier rides in. */
  country: z.string().length(2).transform((c) => c.toUpperCase()),
  /** The currency of the zones' prices; carts in another get no courier option. */
  currency: z.string().length(3).transform((c) => c.toUpperCase()),
  zones: z.array(zoneSchema).min(1).max(50),
})

/**
 * Options of {@link localCourier}.
 *
 * @example
 * ```ts
 * const options: LocalCourierOptions = { country: 'NL', currency: 'EUR', zones: [{ id: 'a', name: 'City centre', prefixes: ['1011', '1012'], amount: 495, days: 0 }] }
 * ```
 */
export type LocalCourierOptions = z.input<typeof optionsSchema>

/** A postcode as the zones compare it: upper case, letters and digits only. */
const compact = (postcode: string) => postcode.toUpperCase().replace(/[^0-9A-Z]/g, '')

/**
 * A local courier priced by postcode zone. The longest matching prefix picks the zone, so a
 * district can be carved out of a wider zone. An address outside every zone, in another country,
 * or a cart in another currency gets no courier option; so does a cart without an address.
 *
 * @example
 * ```ts
 * localCourier({
 *   country: 'NL',
 *   currency: 'EUR',
 *   zones: [
 *     { id: 'a', name: 'City centre', prefixes: ['1011', '1012', '1015', '1016', '1017'], amount: 495, days: 0 },
 *     { id: 'b', name: 'Amsterdam', prefixes: ['10', '11'], amount: 795, days: 1 },
 *     { id: 'c', name: 'Noord-Holland', prefixes: ['13', '14', '15', '16', '17', '18', '19', '20', '21'], amount: 1295, days: 2 },
 *   ],
 * })
 * ```
 */
export function localCourier(options: LocalCourierOptions): ShippingProvider {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) throw new CommerceError('CONFIGURATION', `[cartwright:local-courier] ${z.prettifyError(parsed.error)}`)
  const config = parsed.data
  // Every prefix with its zone, longest first: the first that matches is the most precise.
  const prefixes = config.zones.flatMap((zone) => zone.prefixes.map((prefix) => ({ prefix: compact(prefix), zone }))).sort((a, b) => b.prefix.length - a.prefix.length)

  return {
    id: config.id,
    quote({ address, currency }) {
      if (!address || address.country.toUpperCase() !== config.country || currency !== config.currency) return []
      const postcode = compact(address.postalCode ?? '')
      const zone = prefixes.find((p) => postcode.startsWith(p.prefix))?.zone
      if (!zone) return []
      const estimate = zone.days === 0 ? 'Today' : zone.days === 1 ? 'Tomorrow' : `Within ${zone.days} days`
      return [{ id: `zone-${zone.id}`, name: `${config.name} (${zone.name})`, amount: zone.amount, estimate, minDays: zone.days, maxDays: zone.days }]
    },
  }
}
