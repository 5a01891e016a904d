import type { Kysely } from 'kysely'
import type { Address } from '../validation.js'

/** What a shipping provider is asked to quote for. */
export interface ShippingQuoteInput {
  currency: string
  /**
   * Where the goods go. Null until the shopper gives an address: only options that need none
   * (pickup at a stock location) can be quoted then.
   */
  address: Address | null
  /**
   * Sum of line subtotals **after line discounts**, in minor units, in the cart's price convention
   * (`taxInclusive`): a free-over-threshold rate compares this.
   */
  subtotal: number
  /** Whether the cart's prices (and so the amounts quoted) are tax-inclusive. */
  taxInclusive: boolean
  /** Total weight in grams of lines whose variants have a weight. */
  weightGrams: number
  items: Array<{ variantId: string; productId: string; sku: string; quantity: number; weightGrams: number | null }>
  /** The cart, its customer and channel: for rates per channel or customer. */
  cartId: string
  customerId: string | null
  channelId: string | null
}

/** One way to ship a cart, with its price. */
export interface ShippingQuote {
  /** Stable id within the provider, e.g. `standard`. Cartwright prefixes it with the provider id. */
  id: string
  name: string
  /** Price in minor units of the cart's currency, in the cart's price convention. */
  amount: number
  /** Human estimate, e.g. `3–5 business days`. */
  estimate?: string
  /** Delivery estimate in days, when known. */
  minDays?: number
  maxDays?: number
  /** The tax class of the charge, e.g. `'shipping'`; absent: the tax provider's default for shipping. */
  taxClass?: string
  /**
   * Click and collect: the stock location the shopper collects from. Checkout then reserves every
   * line from this location only, and needs no shipping address.
   */
  pickupLocationId?: string
}

/**
 * Quotes shipping options for a cart. Quotes are requested again at checkout, so a price the
 * shopper saw earlier is never trusted. `quote` runs on every pricing of a cart with an option
 * chosen, outside the engine's write transactions, so keep it fast; `db` is the engine's database
 * handle (committed state): read your own tables through it.
 *
 * @example
 * ```ts
 * const pickup: ShippingProvider = {
 *   id: 'pickup',
 *   quote: async () => [{ id: 'store', name: 'Pick up in store', amount: 0 }],
 * }
 * ```
 */
export interface ShippingProvider {
  readonly id: string
  quote(input: ShippingQuoteInput, db: Kysely<any>): Promise<ShippingQuote[]> | ShippingQuote[]
}
