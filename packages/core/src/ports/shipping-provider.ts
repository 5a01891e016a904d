import type { Address } from '../validation.js'

/** What a shipping provider is asked to quote for. */
export interface ShippingQuoteInput {
  currency: string
  address: Address
  /** Sum of line subtotals before discounts, in minor units. */
  subtotal: number
  /** Total weight in grams of lines whose variants have a weight. */
  weightGrams: number
  items: Array<{ variantId: string; sku: string; quantity: number; weightGrams: number | null }>
}

/** One way to ship a cart, with its price. */
export interface ShippingQuote {
  /** Stable id within the provider, e.g. `standard`. Cartwright prefixes it with the provider id. */
  id: string
  name: string
  /** Price in minor units of the cart's currency. */
  amount: number
  /** Human estimate, e.g. `3–5 business days`. */
  estimate?: string
}

/**
 * Quotes shipping options for a cart. Quotes are requested again at checkout, so a price
 * the shopper saw earlier is never trusted.
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
  quote(input: ShippingQuoteInput): Promise<ShippingQuote[]>
}
