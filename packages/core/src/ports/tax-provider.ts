import type { Address } from '../validation.js'

/** One taxable amount: a cart line after discounts. */
export interface TaxableLine {
  id: string
  variantId: string
  sku: string
  quantity: number
  /** Line subtotal minus its share of discounts, in minor units. */
  amount: number
}

/** What a tax provider is asked for. */
export interface TaxInput {
  currency: string
  /** Where the goods go; null until the shopper gives an address. */
  address: Address | null
  lines: TaxableLine[]
  /** The chosen shipping option's amount less the discounts on it, in minor units (0 without one). */
  shipping: number
}

/** Tax per line and on shipping, in minor units. Missing lines are taxed 0. */
export interface TaxResult {
  lines: Array<{ id: string; amount: number }>
  shipping: number
}

/**
 * Computes tax for a cart. Called on the server for every totals computation; the result
 * is persisted with the order.
 *
 * @example
 * ```ts
 * const noTax: TaxProvider = {
 *   id: 'none',
 *   calculate: async (input) => ({ lines: input.lines.map((l) => ({ id: l.id, amount: 0 })), shipping: 0 }),
 * }
 * ```
 */
export interface TaxProvider {
  readonly id: string
  calculate(input: TaxInput): Promise<TaxResult>
}
