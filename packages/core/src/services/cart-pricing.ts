import { CommerceError, isCommerceError, type FieldIssue } from '../errors.js'
import { compiledQuery } from '../db/compiled-query.js'
import type { CartTable, Executor, Timestamp } from '../db/database.js'
import { iso, parseJson } from '../db/rows.js'
import { multiplyAmount, sumAmounts } from '../money.js'
import type { ShippingQuote } from '../ports/shipping-provider.js'
import type { Runtime } from '../runtime.js'
import { applyAdjustments, computeTotals } from '../totals.js'
import type { Adjustment, Cart, Price, ShippingMethod } from '../types.js'
import type { Address } from '../validation.js'
import { unitPriceFor } from './catalog-service.js'
import { resolveLinePrices } from './price-resolution.js'
import { overriddenPrice } from './draft-prices.js'

/**
 * A cart as stored and as priced: loading it with its lines and their price tiers, quoting
 * shipping, and computing its totals on the server (adjustments, shipping, tax). Used by carts and
 * by checkout; nothing here writes.
 */

/** A shipping option offered for a cart: `id` is what `carts.setShippingOption` takes. */
export interface ShippingOption extends ShippingQuote {
  provider: string
}

interface LineRow {
  id: string
  variant_id: string
  quantity: number
  product_id: string
  sku: string
  variant_title: string
  weight_grams: number | null
  manage_inventory: number
  title: string
  product_status: string
  created_at: Timestamp
  /** JSON: the price staff set for a draft's line (see drafts), or null. */
  price_override?: string | null
}

/** @internal A cart line as loaded: its variant, its price tiers in the cart's currency, and the unit price for its quantity. */
export type LoadedLine = LineRow & { unitPrice: number | null; tiers: Price[] }

/** @internal A cart as loaded from storage, before totals. */
export interface LoadedCart {
  row: CartTable
  lines: LoadedLine[]
}

const cartById = compiledQuery((db, $: { cartId: string }) => db.selectFrom('cw_carts').selectAll().where('id', '=', $.cartId))

/** A cart's lines with their variant and product: one row per price tier in `currency`, one with null tier columns when there is none. */
const cartLinesWithPrices = compiledQuery((db, $: { cartId: string; currency: string }) =>
  db
    .selectFrom('cw_cart_lines as l')
    .innerJoin('cw_variants as v', 'v.id', 'l.variant_id')
    .innerJoin('cw_products as p', 'p.id', 'v.product_id')
    .leftJoin('cw_prices as pr', (join) => join.onRef('pr.variant_id', '=', 'l.variant_id').on('pr.currency', '=', $.currency))
    .select([
      'l.id',
      'l.variant_id',
      'l.quantity',
      'v.product_id',
      'v.sku',
      'v.title as variant_title',
      'v.weight_grams',
      'v.manage_inventory',
      'p.title',
      'p.status as product_status',
      'l.created_at',
      'l.price_override',
      'pr.amount',
      'pr.min_quantity',
    ])
    .where('l.cart_id', '=', $.cartId)
    .orderBy('l.created_at')
    .orderBy('l.id'),
)

/**
 * @internal Loads a cart and its lines with current prices: core's price for each line's quantity,
 * then, when the engine has price sources, the winning price by the precedence of
 * `price-resolution.ts`, asked once for the whole cart on `db`, for the cart's customer.
 */
export async function loadCart(rt: Runtime, db: Executor, cartId: string): Promise<LoadedCart | null> {
  const row = await cartById.first(db, { cartId })
  if (!row) return null
  const lines = await loadLines(db, cartId, row.currency)
  // Checked here so that an engine without sources pays nothing for them.
  if (rt.priceSources.length) await resolveLinePrices(rt, db, row, lines)
  return { row, lines }
}

/**
 * @internal Prices again, by the engine's price sources, the lines of a cart changed in memory (a
 * quantity changed, a line added): their `unitPrice` is then core's tier price for the new
 * quantity. Does nothing when the engine has no price sources.
 */
export async function resolveChangedLines(rt: Runtime, db: Executor, cart: LoadedCart): Promise<void> {
  if (rt.priceSources.length) await resolveLinePrices(rt, db, cart.row, cart.lines)
}

/** The lines of a cart with their unit prices in its currency (null when a line has none). */
async function loadLines(db: Executor, cartId: string, currency: string): Promise<LoadedCart['lines']> {
  const rows = await cartLinesWithPrices.rows(db, { cartId, currency })
  const lines: LoadedCart['lines'] = []
  // A line's tier rows are adjacent: the order is by line.
  for (let i = 0; i < rows.length; ) {
    const r = rows[i]!
    const tiers: Price[] = []
    for (; i < rows.length && rows[i]!.id === r.id; i++) {
      const tier = rows[i]!
      if (tier.amount !== null && tier.min_quantity !== null) tiers.push({ currency, amount: tier.amount, minQuantity: tier.min_quantity })
    }
    // Spelled out, not `{ ...r, unitPrice }`: V8 leaves spread copies that gain keys in the old generation.
    lines.push({
      id: r.id,
      variant_id: r.variant_id,
      quantity: r.quantity,
      product_id: r.product_id,
      sku: r.sku,
      variant_title: r.variant_title,
      weight_grams: r.weight_grams,
      manage_inventory: r.manage_inventory,
      title: r.title,
      product_status: r.product_status,
      created_at: r.created_at,
      price_override: r.price_override ?? null,
      unitPrice: unitPriceFor(tiers, currency, r.quantity),
      tiers,
    })
  }
  return lines
}

/** @internal Quotes every shipping provider for a cart. */
export async function quoteShipping(rt: Runtime, cart: LoadedCart): Promise<ShippingOption[]> {
  const address = parseJson<Address | null>(cart.row.shipping_address, null)
  if (!address) return []
  const items = cart.lines.map((l) => ({ variantId: l.variant_id, sku: l.sku, quantity: l.quantity, weightGrams: l.weight_grams }))
  // Exact: a sum past 2^53 − 1 throws instead of handing the provider a rounded amount.
  const subtotal = sumAmounts(cart.lines.map((l) => multiplyAmount(overriddenPrice(l)?.unitPrice ?? l.unitPrice ?? 0, l.quantity)))
  const weightGrams = items.reduce((sum, i) => sum + (i.weightGrams ?? 0) * i.quantity, 0)
  const options: ShippingOption[] = []
  for (const provider of rt.shipping) {
    const quotes = await provider.quote({ currency: cart.row.currency, address, subtotal, weightGrams, items })
    for (const quote of quotes) {
      if (!Number.isSafeInteger(quote.amount) || quote.amount < 0) {
        throw new CommerceError('PROVIDER', `Shipping provider ${provider.id} quoted a non-integer amount for ${quote.id}`)
      }
      // Not `{ ...quote, provider }`: V8 leaves spread copies that gain keys in the old generation.
      options.push(Object.assign({}, quote, { id: `${provider.id}:${quote.id}`, provider: provider.id }))
    }
  }
  return options
}

/**
 * Why a cart's amounts could not be computed: its arithmetic leaves the range of exact amounts,
 * or the tax or shipping provider refused its amounts as invalid. Internal: `priceCart` turns it
 * into the cart's `pricingProblem`.
 */
class Unpriceable extends Error {}

/** Runs a step of pricing; an invalid amount (`VALIDATION` from money arithmetic or a provider) makes the cart unpriceable. */
function exact<T>(step: () => T): T {
  try {
    return step()
  } catch (error) {
    throw unpriceable(error)
  }
}

/** {@link exact} for a step that calls a provider. */
async function exactAsync<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    throw unpriceable(error)
  }
}

function unpriceable(error: unknown): unknown {
  if (!isCommerceError(error, 'VALIDATION')) return error
  return new Unpriceable(
    `The cart cannot be priced: its amounts would pass 2^53 − 1 minor units, the largest exact amount (${error.message}); lower or remove lines`,
    { cause: error },
  )
}

/**
 * @internal Computes a cart's lines and totals on the server: prices, adjustments, shipping, tax.
 * A cart whose amounts cannot be computed exactly is returned with its `pricingProblem` set, every
 * amount 0 and no shipping method, so that a stored cart is always readable (see `CartService`).
 */
export async function priceCart(rt: Runtime, cart: LoadedCart): Promise<Cart> {
  try {
    return await computeCart(rt, cart)
  } catch (error) {
    if (!(error instanceof Unpriceable)) throw error
    const shell = cartShell(cart, null)
    shell.pricingProblem = error.message
    return shell
  }
}

/** The cart with its lines at their unit prices and every amount 0. */
function cartShell(cart: LoadedCart, shippingMethod: ShippingMethod | null): Cart {
  const { row } = cart
  return {
    id: row.id,
    currency: row.currency,
    status: row.status as Cart['status'],
    email: row.email,
    customerId: row.customer_id,
    channelId: row.channel_id ?? null,
    taxInclusive: Number(row.tax_inclusive ?? 0) === 1,
    shippingAddress: parseJson<Address | null>(row.shipping_address, null),
    billingAddress: parseJson<Address | null>(row.billing_address, null),
    shippingMethod,
    lines: cart.lines.map((l) => {
      // A draft's line whose price staff set: it wins over every price source (see drafts).
      const override = overriddenPrice(l)
      return {
        id: l.id,
        variantId: l.variant_id,
        productId: l.product_id,
        sku: l.sku,
        title: l.title,
        variantTitle: l.variant_title,
        quantity: l.quantity,
        unitPrice: override ? override.unitPrice : (l.unitPrice ?? 0),
        subtotal: 0,
        discountTotal: 0,
        taxTotal: 0,
        total: 0,
        ...(override ? { priceOverride: override } : {}),
      }
    }),
    adjustments: [],
    totals: { subtotal: 0, discountTotal: 0, shippingTotal: 0, taxTotal: 0, rounding: 0, total: 0 },
    version: row.version,
    pricingProblem: null,
    orderId: row.order_id,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

async function computeCart(rt: Runtime, cart: LoadedCart): Promise<Cart> {
  const { row } = cart
  let shippingMethod: ShippingMethod | null = null
  if (row.shipping_option_id && row.shipping_address && cart.lines.length) {
    const option = (await exactAsync(() => quoteShipping(rt, cart))).find((o) => o.id === row.shipping_option_id)
    if (option) {
      shippingMethod = { id: option.id, provider: option.provider, name: option.name, amount: option.amount, ...(option.estimate ? { estimate: option.estimate } : {}) }
    }
  }
  const shell = cartShell(cart, shippingMethod)
  const baseLines = shell.lines
  for (const line of baseLines) line.subtotal = exact(() => multiplyAmount(line.unitPrice, line.quantity))
  const adjustments: Adjustment[] = []
  if (baseLines.length && rt.hooks.has('cart.adjust')) await rt.hooks.run('cart.adjust', { cart: shell, adjustments })
  assertAdjustments(adjustments)
  const shipping = shippingMethod?.amount ?? 0
  const applied = exact(() => applyAdjustments(baseLines, adjustments, shipping))
  const discounts = applied.lineDiscounts
  const tax = baseLines.length
    ? await exactAsync(() =>
        rt.tax.calculate({
          currency: row.currency,
          address: shell.shippingAddress,
          // Tax on shipping is on what the shopper pays for it.
          shipping: shipping - applied.shippingDiscount,
          lines: baseLines.map((l) => ({ id: l.id, variantId: l.variantId, sku: l.sku, quantity: l.quantity, amount: l.subtotal - discounts.get(l.id)! })),
        }),
      )
    : { lines: [], shipping: 0 }
  const taxByLine = new Map(tax.lines.map((t) => [t.id, t.amount]))
  for (const amount of [...taxByLine.values(), tax.shipping]) {
    if (!Number.isSafeInteger(amount) || amount < 0) throw new CommerceError('PROVIDER', `Tax provider ${rt.tax.id} returned a non-integer amount`)
  }
  const lines = baseLines
  for (const l of lines) {
    l.discountTotal = discounts.get(l.id)!
    l.taxTotal = taxByLine.get(l.id) ?? 0
    l.total = exact(() => sumAmounts([l.subtotal, -l.discountTotal, l.taxTotal]))
  }
  shell.adjustments = adjustments.map((a, i) => appliedAdjustment(a, applied.adjustments[i]!.amount))
  shell.totals = exact(() =>
    computeTotals({
      lineSubtotals: lines.map((l) => l.subtotal),
      lineDiscounts: lines.map((l) => l.discountTotal),
      lineTaxes: lines.map((l) => l.taxTotal),
      shipping,
      shippingDiscount: applied.shippingDiscount,
      shippingTax: tax.shipping,
    }),
  )
  return shell
}

/**
 * Refuses adjustments a `cart.adjust` hook pushed that cannot be applied or kept with an order:
 * `VETOED`, naming each field (`adjustments.<index>.<field>`).
 */
function assertAdjustments(adjustments: readonly Adjustment[]): void {
  const issues: FieldIssue[] = []
  adjustments.forEach((a, i) => {
    const at = (field: string, message: string) => issues.push({ path: `adjustments.${i}.${field}`, message })
    if (typeof a !== 'object' || a === null) return void at('', 'must be an object')
    if (typeof a.code !== 'string' || a.code.length === 0 || a.code.length > 200) at('code', 'must be a string of 1 to 200 characters')
    if (typeof a.label !== 'string' || a.label.length > 500) at('label', 'must be a string of at most 500 characters')
    if (!Number.isSafeInteger(a.amount) || a.amount < 0) at('amount', 'must be a non-negative integer amount in minor units')
    if (a.target !== undefined && a.target !== 'lines' && a.target !== 'shipping') at('target', "must be 'lines' or 'shipping'")
    if (a.source !== undefined && (typeof a.source !== 'string' || a.source.length === 0 || a.source.length > 200)) at('source', 'must be a string of 1 to 200 characters')
    if (a.lineIds !== undefined) {
      if (a.target === 'shipping') at('lineIds', 'an adjustment on shipping applies to no lines')
      else if (!Array.isArray(a.lineIds) || !a.lineIds.every((id) => typeof id === 'string')) at('lineIds', 'must be an array of line ids')
    }
  })
  if (issues.length) {
    const list = issues.map((i) => `${i.path}: ${i.message}`).join('; ')
    throw new CommerceError('VETOED', `cart.adjust pushed adjustments that cannot be applied: ${list}`, { details: { hook: 'cart.adjust', issues } })
  }
}

/** An adjustment as the cart reports it: with the amount it took off, its target and its source. */
function appliedAdjustment(a: Adjustment, amount: number): Adjustment {
  const target = a.target ?? 'lines'
  return {
    code: a.code,
    label: a.label,
    amount,
    target,
    ...(a.lineIds && target === 'lines' ? { lineIds: [...a.lineIds] } : {}),
    source: a.source ?? a.code,
  }
}
