import { CommerceError, isCommerceError, type FieldIssue } from '../errors.js'
import { compiledQuery } from '../db/compiled-query.js'
import type { CartTable, Executor, Timestamp } from '../db/database.js'
import { iso, parseJson } from '../db/rows.js'
import { multiplyAmount, sumAmounts } from '../money.js'
import type { ShippingQuote } from '../ports/shipping-provider.js'
import type { Runtime } from '../runtime.js'
import type { Kysely } from 'kysely'
import type { Rate } from '../money.js'
import type { TaxRate } from '../ports/tax-provider.js'
import { itemTaxes, taxRate, type TaxItem } from '../tax.js'
import { applyAdjustments, computeTotals } from '../totals.js'
import type { Adjustment, Cart, Price, ShippingMethod, TaxLine, Totals } from '../types.js'
import type { Address } from '../validation.js'
import { tierFor, unitPriceFor } from './catalog-service.js'
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
  /** The variant's tax class (migration 0016), null: the provider's default. */
  tax_class: string | null
  manage_inventory: number
  title: string
  product_status: string
  created_at: Timestamp
  /** JSON: the price staff set for a draft's line (see drafts), or null. */
  price_override?: string | null
}

/**
 * @internal A cart line as loaded: its variant, its price tiers in the cart's currency, and the unit
 * price for its quantity; `sourced` when a price source, not core's tier, set that price.
 */
export type LoadedLine = LineRow & { unitPrice: number | null; tiers: Price[]; sourced: boolean }

/** @internal A price tier from its columns. */
export function tierOf(currency: string, amount: number, minQuantity: number, taxInclusive: number | null | undefined): Price {
  return taxInclusive === null || taxInclusive === undefined ? { currency, amount, minQuantity } : { currency, amount, minQuantity, taxInclusive: Number(taxInclusive) === 1 }
}

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
      'v.tax_class',
      'v.manage_inventory',
      'p.title',
      'p.status as product_status',
      'l.created_at',
      'l.price_override',
      'pr.amount',
      'pr.min_quantity',
      'pr.tax_inclusive',
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
      if (tier.amount !== null && tier.min_quantity !== null) tiers.push(tierOf(currency, tier.amount, tier.min_quantity, tier.tax_inclusive))
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
      tax_class: r.tax_class ?? null,
      manage_inventory: r.manage_inventory,
      title: r.title,
      product_status: r.product_status,
      created_at: r.created_at,
      price_override: r.price_override ?? null,
      unitPrice: unitPriceFor(tiers, currency, r.quantity),
      tiers,
      sourced: false,
    })
  }
  return lines
}

/**
 * @internal Quotes every shipping provider for a cart whose lines come to `subtotal` after line
 * discounts (in the cart's convention). Without an address only options that need none (pickup) are
 * quoted: the providers are asked with `address: null`.
 */
export async function quoteShipping(rt: Runtime, cart: LoadedCart, subtotal: number): Promise<ShippingOption[]> {
  const address = parseJson<Address | null>(cart.row.shipping_address, null)
  const items = cart.lines.map((l) => ({ variantId: l.variant_id, productId: l.product_id, sku: l.sku, quantity: l.quantity, weightGrams: l.weight_grams }))
  const weightGrams = items.reduce((sum, i) => sum + (i.weightGrams ?? 0) * i.quantity, 0)
  const input = {
    currency: cart.row.currency,
    address,
    subtotal,
    taxInclusive: Number(cart.row.tax_inclusive ?? 0) === 1,
    weightGrams,
    items,
    cartId: cart.row.id,
    customerId: cart.row.customer_id,
    channelId: cart.row.channel_id ?? null,
  }
  const options: ShippingOption[] = []
  for (const provider of rt.shipping) {
    const quotes = await provider.quote(input, rt.db as Kysely<any>)
    for (const quote of quotes) {
      if (!Number.isSafeInteger(quote.amount) || quote.amount < 0) {
        throw new CommerceError('PROVIDER', `Shipping provider ${provider.id} quoted a non-integer amount for ${quote.id}`)
      }
      if (quote.pickupLocationId !== undefined && (typeof quote.pickupLocationId !== 'string' || quote.pickupLocationId === '')) {
        throw new CommerceError('PROVIDER', `Shipping provider ${provider.id} named no location for its pickup option ${quote.id}`)
      }
      // An option that ships needs an address: a provider that offers one without is not believed.
      if (!address && quote.pickupLocationId === undefined) continue
      // Not `{ ...quote, provider }`: V8 leaves spread copies that gain keys in the old generation.
      options.push(Object.assign({}, quote, { id: `${provider.id}:${quote.id}`, provider: provider.id }))
    }
  }
  return options
}

/**
 * @internal The shipping options for a cart, as checkout will quote them: on its subtotal after the
 * line discounts `cart.adjust` hooks give (the pricing order).
 */
export async function listShippingOptions(rt: Runtime, cart: LoadedCart): Promise<ShippingOption[]> {
  const shell = cartShell(cart, null)
  for (const line of shell.lines) line.subtotal = multiplyAmount(line.unitPrice, line.quantity)
  const adjustments: Adjustment[] = []
  if (shell.lines.length && rt.hooks.has('cart.adjust')) await rt.hooks.run('cart.adjust', { cart: shell, adjustments })
  assertAdjustments(adjustments, 'cart.adjust')
  const discounts = applyAdjustments(shell.lines, adjustments, 0).lineDiscounts
  return quoteShipping(rt, cart, sumAmounts(shell.lines.map((l) => l.subtotal - discounts.get(l.id)!)))
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

const ZERO_VIEW = { subtotal: 0, discountTotal: 0, total: 0 }

/** Every amount of a cart 0, in its convention. */
function zeroTotals(taxInclusive: boolean): Totals {
  const view = { subtotal: 0, discountTotal: 0, shippingTotal: 0 }
  return { subtotal: 0, discountTotal: 0, shippingTotal: 0, taxTotal: 0, rounding: 0, total: 0, taxInclusive, net: { ...view }, gross: { ...view } }
}

/** The cart with its lines at their unit prices and every amount 0. */
function cartShell(cart: LoadedCart, shippingMethod: ShippingMethod | null): Cart {
  const { row } = cart
  const taxInclusive = Number(row.tax_inclusive ?? 0) === 1
  return {
    id: row.id,
    currency: row.currency,
    status: row.status as Cart['status'],
    email: row.email,
    customerId: row.customer_id,
    channelId: row.channel_id ?? null,
    taxInclusive,
    shippingAddress: parseJson<Address | null>(row.shipping_address, null),
    billingAddress: parseJson<Address | null>(row.billing_address, null),
    shippingMethod,
    shippingTaxLines: [],
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
        // Core's tier may say how it was entered; staff's and sources' prices are in the cart's convention.
        taxInclusive: override || l.sourced ? taxInclusive : (tierFor(l.tiers, row.currency, l.quantity)?.taxInclusive ?? taxInclusive),
        taxClass: l.tax_class ?? null,
        taxLines: [],
        net: { ...ZERO_VIEW },
        gross: { ...ZERO_VIEW },
        ...(override ? { priceOverride: override } : {}),
      }
    }),
    adjustments: [],
    totals: zeroTotals(taxInclusive),
    version: row.version,
    pricingProblem: null,
    orderId: row.order_id,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

/**
 * The pricing order, in one place (docs/pricing.md): line prices → line discounts (`cart.adjust`) →
 * shipping quoted on the discounted subtotal → shipping discounts (`cart.adjust` on shipping, then
 * `cart.adjustShipping`) → tax from the provider's rates, rounded by the store's policy. Rounding to
 * the payment provider's charge step comes last, at checkout's claim.
 */
async function computeCart(rt: Runtime, cart: LoadedCart): Promise<Cart> {
  const { row } = cart
  const shell = cartShell(cart, null)
  const lines = shell.lines
  for (const line of lines) line.subtotal = exact(() => multiplyAmount(line.unitPrice, line.quantity))
  const adjustments: Adjustment[] = []
  if (lines.length && rt.hooks.has('cart.adjust')) await rt.hooks.run('cart.adjust', { cart: shell, adjustments })
  assertAdjustments(adjustments, 'cart.adjust')
  const lineDiscounts = exact(() => applyAdjustments(lines, adjustments, 0)).lineDiscounts
  for (const line of lines) line.discountTotal = lineDiscounts.get(line.id)!

  let shippingMethod: ShippingMethod | null = null
  if (row.shipping_option_id && lines.length) {
    const subtotal = exact(() => sumAmounts(lines.map((l) => l.subtotal - l.discountTotal)))
    const option = (await exactAsync(() => quoteShipping(rt, cart, subtotal))).find((o) => o.id === row.shipping_option_id)
    if (option) shippingMethod = toShippingMethod(option)
  }
  shell.shippingMethod = shippingMethod
  if (shippingMethod && rt.hooks.has('cart.adjustShipping')) {
    const onShipping: Adjustment[] = []
    const applied = Object.freeze(adjustments.filter((a) => a.target === 'shipping').map((a) => Object.freeze({ ...a })))
    await rt.hooks.run('cart.adjustShipping', { cart: shell, shipping: shippingMethod, applied, adjustments: onShipping })
    assertAdjustments(onShipping, 'cart.adjustShipping')
    adjustments.push(...onShipping)
  }
  const shipping = shippingMethod?.amount ?? 0
  const applied = exact(() => applyAdjustments(lines, adjustments, shipping))
  const shippingAfter = shipping - applied.shippingDiscount

  const rates = lines.length ? await taxRates(rt, shell, shippingMethod, shippingAfter) : { lines: new Map<string, RatedTax[]>(), shipping: [] as RatedTax[] }
  const policy = rt.taxPolicy.rounding
  const lineRates = lines.map((l) => rates.lines.get(l.id) ?? [])
  const items: TaxItem[] = lines.map((l, i) => ({ amount: l.subtotal - l.discountTotal, quantity: l.quantity, taxInclusive: l.taxInclusive, rates: lineRates[i]!.map((r) => r.parsed) }))
  items.push({ amount: shippingAfter, quantity: 1, taxInclusive: shell.taxInclusive, rates: rates.shipping.map((r) => r.parsed) })
  const taxed = exact(() => itemTaxes(items, policy))
  const views = (i: number, before: number, after: number, inclusive: boolean, rated: readonly RatedTax[], taxClass: string | null) => {
    const t = taxed[i]!
    // The discount's own tax, rounded once: so neither view of a discount is negative.
    const discount = before - after
    const discountTax = discount === 0 ? 0 : exact(() => itemTaxes([{ amount: discount, quantity: 1, taxInclusive: inclusive, rates: items[i]!.rates }], { level: 'line', mode: policy.mode })[0]!.tax)
    const netDiscount = inclusive ? discount - discountTax : discount
    const grossDiscount = inclusive ? discount : discount + discountTax
    return {
      tax: t.tax,
      net: { subtotal: t.net + netDiscount, discountTotal: netDiscount, total: t.net },
      gross: { subtotal: t.gross + grossDiscount, discountTotal: grossDiscount, total: t.gross },
      taxLines: rated.map((r, k) => taxLine(r, taxClass, t.net, t.parts[k]!)),
    }
  }
  lines.forEach((l, i) => {
    const v = views(i, l.subtotal, l.subtotal - l.discountTotal, l.taxInclusive, lineRates[i]!, l.taxClass)
    l.taxTotal = v.tax
    l.total = v.gross.total
    l.net = v.net
    l.gross = v.gross
    l.taxLines = v.taxLines
  })
  const s = views(lines.length, shipping, shippingAfter, shell.taxInclusive, rates.shipping, shippingMethod?.taxClass ?? null)
  shell.shippingTaxLines = s.taxLines
  shell.adjustments = adjustments.map((a, i) => appliedAdjustment(a, applied.adjustments[i]!.amount))
  shell.totals = exact(() =>
    computeTotals({
      taxInclusive: shell.taxInclusive,
      lines: lines.map((l) => ({ net: l.net, gross: l.gross, taxTotal: l.taxTotal })),
      shipping: { net: { amount: s.net.subtotal, discount: s.net.discountTotal }, gross: { amount: s.gross.subtotal, discount: s.gross.discountTotal }, taxTotal: s.tax },
    }),
  )
  return shell
}

function toShippingMethod(option: ShippingOption): ShippingMethod {
  const method: ShippingMethod = { id: option.id, provider: option.provider, name: option.name, amount: option.amount }
  if (option.estimate) method.estimate = option.estimate
  if (option.minDays !== undefined) method.minDays = option.minDays
  if (option.maxDays !== undefined) method.maxDays = option.maxDays
  if (option.taxClass !== undefined) method.taxClass = option.taxClass
  if (option.pickupLocationId !== undefined) method.pickupLocationId = option.pickupLocationId
  return method
}

/** A provider's rate with its exact value. */
interface RatedTax {
  rate: TaxRate
  parsed: Rate
}

/** Asks the tax provider which rates apply, and checks its answer (`PROVIDER` naming it otherwise). */
async function taxRates(rt: Runtime, cart: Cart, shipping: ShippingMethod | null, shippingAfter: number): Promise<{ lines: Map<string, RatedTax[]>; shipping: RatedTax[] }> {
  const provider = rt.tax
  const answer = await exactAsync(async () =>
    provider.calculate(
      {
        currency: cart.currency,
        address: cart.shippingAddress ?? cart.billingAddress,
        billingAddress: cart.billingAddress,
        cartId: cart.id,
        customerId: cart.customerId,
        channelId: cart.channelId,
        taxInclusive: cart.taxInclusive,
        at: rt.now().toISOString(),
        lines: cart.lines.map((l) => ({
          id: l.id,
          variantId: l.variantId,
          productId: l.productId,
          sku: l.sku,
          quantity: l.quantity,
          taxClass: l.taxClass,
          amount: l.subtotal - l.discountTotal,
          taxInclusive: l.taxInclusive,
        })),
        shipping: shipping ? { amount: shippingAfter, taxClass: shipping.taxClass ?? null, taxInclusive: cart.taxInclusive } : null,
      },
      rt.db as Kysely<any>,
    ),
  )
  const wrong = (what: string) => new CommerceError('PROVIDER', `Tax provider ${provider.id} answered ${what}`, { details: { provider: provider.id } })
  if (typeof answer !== 'object' || answer === null || !Array.isArray(answer.lines) || !Array.isArray(answer.shipping)) throw wrong('no { lines, shipping }')
  const ids = new Set(cart.lines.map((l) => l.id))
  const lines = new Map<string, RatedTax[]>()
  for (const entry of answer.lines) {
    if (typeof entry !== 'object' || entry === null || !ids.has(entry.id) || lines.has(entry.id) || !Array.isArray(entry.rates)) throw wrong(`an unknown, repeated or malformed line ${JSON.stringify((entry as { id?: unknown })?.id)}`)
    lines.set(entry.id, entry.rates.map((r) => rated(r, provider.id)))
  }
  return { lines, shipping: answer.shipping.map((r) => rated(r, provider.id)) }
}

function rated(rate: TaxRate, provider: string): RatedTax {
  const bad = (what: string) => new CommerceError('PROVIDER', `Tax provider ${provider} answered a rate with ${what}`, { details: { provider } })
  if (typeof rate !== 'object' || rate === null) throw bad('no object')
  if (typeof rate.jurisdiction !== 'string' || rate.jurisdiction.length === 0 || rate.jurisdiction.length > 100) throw bad('no jurisdiction of 1 to 100 characters')
  if (rate.name !== undefined && (typeof rate.name !== 'string' || rate.name.length > 100)) throw bad('a name that is not a string of at most 100 characters')
  if (rate.note !== undefined && (typeof rate.note !== 'string' || rate.note.length > 500)) throw bad('a note that is not a string of at most 500 characters')
  return { rate, parsed: taxRate(rate.rate, provider) }
}

function taxLine(r: RatedTax, taxClass: string | null, base: number, amount: number): TaxLine {
  return { jurisdiction: r.rate.jurisdiction, name: r.rate.name ?? null, taxClass, rate: r.rate.rate, taxableBase: base, amount, note: r.rate.note ?? null }
}

/**
 * Refuses adjustments a `cart.adjust` (or `cart.adjustShipping`) hook pushed that cannot be applied or
 * kept with an order: `VETOED`, naming each field (`adjustments.<index>.<field>`).
 */
function assertAdjustments(adjustments: readonly Adjustment[], hook: 'cart.adjust' | 'cart.adjustShipping'): void {
  const issues: FieldIssue[] = []
  adjustments.forEach((a, i) => {
    const at = (field: string, message: string) => issues.push({ path: `adjustments.${i}.${field}`, message })
    if (typeof a !== 'object' || a === null) return void at('', 'must be an object')
    if (typeof a.code !== 'string' || a.code.length === 0 || a.code.length > 200) at('code', 'must be a string of 1 to 200 characters')
    if (typeof a.label !== 'string' || a.label.length > 500) at('label', 'must be a string of at most 500 characters')
    if (!Number.isSafeInteger(a.amount) || a.amount < 0) at('amount', 'must be a non-negative integer amount in minor units')
    if (a.target !== undefined && a.target !== 'lines' && a.target !== 'shipping') at('target', "must be 'lines' or 'shipping'")
    else if (hook === 'cart.adjustShipping' && a.target !== 'shipping') at('target', "must be 'shipping': cart.adjustShipping discounts the shipping charge only")
    if (a.source !== undefined && (typeof a.source !== 'string' || a.source.length === 0 || a.source.length > 200)) at('source', 'must be a string of 1 to 200 characters')
    if (a.lineIds !== undefined) {
      if (a.target === 'shipping') at('lineIds', 'an adjustment on shipping applies to no lines')
      else if (!Array.isArray(a.lineIds) || !a.lineIds.every((id) => typeof id === 'string')) at('lineIds', 'must be an array of line ids')
    }
  })
  if (issues.length) {
    const list = issues.map((i) => `${i.path}: ${i.message}`).join('; ')
    throw new CommerceError('VETOED', `${hook} pushed adjustments that cannot be applied: ${list}`, { details: { hook, issues } })
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
