import type { Kysely } from 'kysely'
import type { Address } from '../validation.js'

/**
 * One taxable line of a cart: its variant, its tax class and what the shopper pays for it after
 * line discounts. Core computes the tax amounts from the rates a provider answers; a provider only
 * says which rates apply.
 */
export interface TaxableLine {
  id: string
  variantId: string
  productId: string
  sku: string
  quantity: number
  /** The variant's tax class (`'standard'`, `'reduced'`, `'books'`…), or null: the provider's default class. */
  taxClass: string | null
  /** Line subtotal minus its share of discounts, in minor units, in the line's price convention (`taxInclusive`). */
  amount: number
  /** Whether `amount` includes tax (the price was entered tax-inclusive). */
  taxInclusive: boolean
}

/** The shipping charge to tax: the chosen option's amount after its discounts. */
export interface TaxableShipping {
  /** Minor units, after shipping discounts, in the cart's price convention (`taxInclusive`). */
  amount: number
  /** The option's tax class (`ShippingQuote.taxClass`), or null: the provider's default for shipping. */
  taxClass: string | null
  taxInclusive: boolean
}

/** What a tax provider is asked for. */
export interface TaxInput {
  currency: string
  /** Where the goods go (the shipping address, else the billing address); null until the shopper gives one. */
  address: Address | null
  /** The billing address, or null. */
  billingAddress: Address | null
  /** The cart being priced. Read your own per-cart rows (a guest's VAT number) by it. */
  cartId: string
  /** The cart's customer, or null for a guest. */
  customerId: string | null
  /** The cart's sales channel, or null. */
  channelId: string | null
  /** Whether the cart's prices are shown tax-inclusive (its channel's or the store's default). */
  taxInclusive: boolean
  /** The moment tax applies (the engine clock's now), ISO 8601: rates change on dates. */
  at: string
  lines: TaxableLine[]
  /** The shipping charge, or null when no option is chosen. */
  shipping: TaxableShipping | null
}

/**
 * One rate that applies to a line or to shipping. Rates of one item add up (a state's and a
 * county's); a rate of `'0'` with a `note` records why nothing is due (reverse charge, exemption).
 *
 * @example
 * ```ts
 * const vat: TaxRate = { rate: '20', jurisdiction: 'FR', name: 'TVA' }
 * const reverse: TaxRate = { rate: '0', jurisdiction: 'DE', name: 'VAT', note: 'Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)' }
 * ```
 */
export interface TaxRate {
  /** A percentage in decimal, e.g. `'20'`, `'8.875'`, `'0'`: at most 6 integer and 9 fractional digits. */
  rate: string
  /** Where the rate comes from, e.g. `'FR'`, `'US-CA'`, `'US-CA-SF'`. */
  jurisdiction: string
  /** What people call it, e.g. `'VAT'`, `'State sales tax'`. */
  name?: string
  /** A legal note printed with the line (reverse charge, exemption certificate), at most 500 characters. */
  note?: string
}

/** The rates per line (by `id`) and on shipping. A line left out, or with no rates, is taxed nothing. */
export interface TaxResult {
  lines: Array<{ id: string; rates: TaxRate[] }>
  shipping: TaxRate[]
}

/**
 * Says which tax rates apply to a cart's lines and shipping. Core turns rates into amounts, exactly,
 * by the store's rounding policy (`CommerceOptions.taxRounding`) and the prices' convention
 * (tax-inclusive prices are back-calculated so that net + tax = gross); a provider never rounds.
 *
 * `calculate` runs on every pricing of a cart, outside the engine's write transactions, so keep it
 * fast. `db` is the engine's database handle (committed state): read your own tables through it.
 *
 * @example
 * ```ts
 * const flatVat: TaxProvider = {
 *   id: 'flat-vat',
 *   calculate: (input) => ({
 *     lines: input.lines.map((l) => ({ id: l.id, rates: [{ rate: l.taxClass === 'reduced' ? '5.5' : '20', jurisdiction: 'FR', name: 'TVA' }] })),
 *     shipping: input.shipping ? [{ rate: '20', jurisdiction: 'FR', name: 'TVA' }] : [],
 *   }),
 * }
 * ```
 */
export interface TaxProvider {
  readonly id: string
  calculate(input: TaxInput, db: Kysely<any>): Promise<TaxResult> | TaxResult
}
