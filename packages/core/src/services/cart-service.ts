import { sql } from 'kysely'
import { z } from 'zod'
import { CommerceError, notFound, validationError } from '../errors.js'
import { compiledQuery } from '../db/compiled-query.js'
import type { CartTable, Executor, Tx } from '../db/database.js'
import { iso, json, parseJson } from '../db/rows.js'
import { newId } from '../ids.js'
import { multiplyAmount } from '../money.js'
import type { ShippingQuote } from '../ports/shipping-provider.js'
import { read, transact, type Emit, type Runtime } from '../runtime.js'
import { computeTotals, lineDiscounts } from '../totals.js'
import type { Adjustment, Cart, CartLine, Price, ShippingMethod } from '../types.js'
import { addressSchema, fields, parseArg, parseInput, type Address } from '../validation.js'
import { unitPriceFor } from './catalog-service.js'

const createCartSchema = z.strictObject({
  currency: fields.currency,
  email: fields.email.optional(),
  customerId: fields.id.optional(),
  metadata: fields.metadata.optional(),
})

const optionIdSchema = z.string().min(1).max(200)
const addItemSchema = z.strictObject({ variantId: fields.id, quantity: fields.quantity })
const updateItemSchema = z.strictObject({ quantity: fields.quantityOrZero })
const updateCartSchema = z.strictObject({
  email: fields.email.nullable().optional(),
  shippingAddress: addressSchema.nullable().optional(),
  billingAddress: addressSchema.nullable().optional(),
  metadata: fields.metadata.optional(),
})

/** Input of `carts.create`. */
export type CreateCartInput = z.input<typeof createCartSchema>
/** Input of `carts.update`. */
export type UpdateCartInput = z.input<typeof updateCartSchema>

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
}

/** @internal A cart as loaded from storage, before totals. */
export interface LoadedCart {
  row: CartTable
  lines: Array<LineRow & { unitPrice: number | null }>
}

const cartById = compiledQuery((db, $: { cartId: string }) => db.selectFrom('cw_carts').selectAll().where('id', '=', $.cartId))

const cartByIdForUpdate = compiledQuery((db, $: { cartId: string }) =>
  db.selectFrom('cw_carts').selectAll().where('id', '=', $.cartId).forUpdate(),
)

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
      'pr.amount',
      'pr.min_quantity',
    ])
    .where('l.cart_id', '=', $.cartId)
    .orderBy('l.created_at')
    .orderBy('l.id'),
)

/** @internal Loads a cart and its lines with current prices. */
export async function loadCart(db: Executor, cartId: string, lock = false, rowLocks = false): Promise<LoadedCart | null> {
  const row = await (lock && rowLocks ? cartByIdForUpdate : cartById).first(db, { cartId })
  if (!row) return null
  return { row, lines: await loadLines(db, cartId, row.currency) }
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
      unitPrice: unitPriceFor(tiers, currency, r.quantity),
    })
  }
  return lines
}

/** @internal Quotes every shipping provider for a cart. */
export async function quoteShipping(rt: Runtime, cart: LoadedCart): Promise<ShippingOption[]> {
  const address = parseJson<Address | null>(cart.row.shipping_address, null)
  if (!address) return []
  const items = cart.lines.map((l) => ({ variantId: l.variant_id, sku: l.sku, quantity: l.quantity, weightGrams: l.weight_grams }))
  const subtotal = cart.lines.reduce((sum, l) => sum + multiplyAmount(l.unitPrice ?? 0, l.quantity), 0)
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

/** @internal Computes a cart's lines and totals on the server: prices, adjustments, shipping, tax. */
export async function priceCart(rt: Runtime, cart: LoadedCart): Promise<Cart> {
  const { row } = cart
  const shippingAddress = parseJson<Address | null>(row.shipping_address, null)
  let shippingMethod: ShippingMethod | null = null
  if (row.shipping_option_id && shippingAddress && cart.lines.length) {
    const option = (await quoteShipping(rt, cart)).find((o) => o.id === row.shipping_option_id)
    if (option) {
      shippingMethod = { id: option.id, provider: option.provider, name: option.name, amount: option.amount, ...(option.estimate ? { estimate: option.estimate } : {}) }
    }
  }
  const baseLines: CartLine[] = cart.lines.map((l) => ({
    id: l.id,
    variantId: l.variant_id,
    productId: l.product_id,
    sku: l.sku,
    title: l.title,
    variantTitle: l.variant_title,
    quantity: l.quantity,
    unitPrice: l.unitPrice ?? 0,
    subtotal: multiplyAmount(l.unitPrice ?? 0, l.quantity),
    discountTotal: 0,
    taxTotal: 0,
    total: 0,
  }))
  const shell: Cart = {
    id: row.id,
    currency: row.currency,
    status: row.status as Cart['status'],
    email: row.email,
    customerId: row.customer_id,
    shippingAddress,
    billingAddress: parseJson<Address | null>(row.billing_address, null),
    shippingMethod,
    lines: baseLines,
    adjustments: [],
    totals: { subtotal: 0, discountTotal: 0, shippingTotal: 0, taxTotal: 0, total: 0 },
    orderId: row.order_id,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
  const adjustments: Adjustment[] = []
  if (baseLines.length && rt.hooks.has('cart.adjust')) await rt.hooks.run('cart.adjust', { cart: shell, adjustments })
  for (const a of adjustments) {
    if (!Number.isSafeInteger(a.amount) || a.amount < 0) throw new CommerceError('VETOED', `Adjustment ${a.code} must be a non-negative integer amount`)
  }
  const discounts = lineDiscounts(baseLines, adjustments)
  const shipping = shippingMethod?.amount ?? 0
  const tax = baseLines.length
    ? await rt.tax.calculate({
        currency: row.currency,
        address: shippingAddress,
        shipping,
        lines: baseLines.map((l) => ({ id: l.id, variantId: l.variantId, sku: l.sku, quantity: l.quantity, amount: l.subtotal - discounts.get(l.id)! })),
      })
    : { lines: [], shipping: 0 }
  const taxByLine = new Map(tax.lines.map((t) => [t.id, t.amount]))
  for (const amount of [...taxByLine.values(), tax.shipping]) {
    if (!Number.isSafeInteger(amount) || amount < 0) throw new CommerceError('PROVIDER', `Tax provider ${rt.tax.id} returned a non-integer amount`)
  }
  shell.lines = baseLines.map((l) => {
    const discountTotal = discounts.get(l.id)!
    const taxTotal = taxByLine.get(l.id) ?? 0
    return { ...l, discountTotal, taxTotal, total: l.subtotal - discountTotal + taxTotal }
  })
  shell.adjustments = adjustments
  shell.totals = computeTotals({
    lineSubtotals: shell.lines.map((l) => l.subtotal),
    lineDiscounts: shell.lines.map((l) => l.discountTotal),
    lineTaxes: shell.lines.map((l) => l.taxTotal),
    shipping,
    shippingTax: tax.shipping,
  })
  return shell
}

async function openCartForWrite(rt: Runtime, tx: Tx, cartId: string): Promise<LoadedCart> {
  const cart = await loadCart(tx, cartId, true, rt.storage.capabilities.rowLocks)
  if (!cart) throw notFound('Cart', cartId)
  if (cart.row.status !== 'open') {
    throw new CommerceError('INVALID_STATE', `Cart ${cartId} is ${cart.row.status} and can no longer be changed`, {
      details: { cartId, status: cart.row.status, orderId: cart.row.order_id },
    })
  }
  return cart
}

/** The columns of a cart that its owner changes (email, addresses, shipping choice, metadata). */
type CartFields = Pick<CartTable, 'email' | 'shipping_address' | 'billing_address' | 'shipping_option_id' | 'metadata'>

/** Writes a cart's fields and bumps its version: one statement shape whatever changed. */
const writeCart = compiledQuery((db, $: CartFields & { cartId: string; updatedAt: string }) =>
  db
    .updateTable('cw_carts')
    .set({
      email: $.email,
      shipping_address: $.shipping_address,
      billing_address: $.billing_address,
      shipping_option_id: $.shipping_option_id,
      metadata: $.metadata,
      version: sql`version + 1`,
      updated_at: $.updatedAt,
    })
    .where('id', '=', $.cartId),
)

/**
 * Applies `changes` to a cart read in this transaction (and locked: the write lock on SQLite,
 * `FOR UPDATE` on PostgreSQL), bumps its version, and returns the row as now stored.
 */
async function touch(rt: Runtime, tx: Tx, row: CartTable, changes: Partial<CartFields>): Promise<CartTable> {
  const updatedAt = rt.now().toISOString()
  const updated: CartTable = { ...row, ...changes, version: row.version + 1, updated_at: updatedAt }
  await writeCart.execute(tx, {
    email: updated.email,
    shipping_address: updated.shipping_address,
    billing_address: updated.billing_address,
    shipping_option_id: updated.shipping_option_id,
    metadata: updated.metadata,
    cartId: updated.id,
    updatedAt,
  })
  return updated
}

/** A variant's sale status and stock, one row per price tier in `currency` (one with null tier columns when there is none). */
const variantForSale = compiledQuery((db, $: { variantId: string; currency: string }) =>
  db
    .selectFrom('cw_variants as v')
    .innerJoin('cw_products as p', 'p.id', 'v.product_id')
    .leftJoin('cw_prices as pr', (join) => join.onRef('pr.variant_id', '=', 'v.id').on('pr.currency', '=', $.currency))
    .select((eb) => [
      'v.manage_inventory',
      'p.status',
      'pr.amount',
      'pr.min_quantity',
      eb
        .selectFrom('cw_inventory_levels as s')
        .select(eb.fn.sum<number>(sql`s.on_hand - s.reserved`).as('available'))
        .whereRef('s.variant_id', '=', 'v.id')
        .as('available'),
    ])
    .where('v.id', '=', $.variantId),
)

async function assertSellable(tx: Tx, cart: LoadedCart, variantId: string, quantity: number): Promise<void> {
  const currency = cart.row.currency
  const rows = await variantForSale.rows(tx, { variantId, currency })
  const variant = rows[0]
  if (!variant || variant.status !== 'active') throw notFound('Variant', variantId)
  const tiers: Price[] = []
  for (const r of rows) if (r.amount !== null && r.min_quantity !== null) tiers.push({ currency, amount: r.amount, minQuantity: r.min_quantity })
  if (unitPriceFor(tiers, currency, quantity) === null) {
    throw new CommerceError('INVALID_STATE', `Variant ${variantId} has no ${currency} price for quantity ${quantity}`, {
      details: { variantId, currency },
    })
  }
  if (variant.manage_inventory === 1) {
    const available = Number(variant.available ?? 0)
    if (available < quantity) {
      throw new CommerceError('OUT_OF_STOCK', `Only ${available} of ${variantId} available`, {
        details: { shortages: [{ variantId, requested: quantity, available }] },
      })
    }
  }
}

const insertCart = compiledQuery((db, $: CartTable) => db.insertInto('cw_carts').values($))

const insertLine = compiledQuery((db, $: { id: string; cartId: string; variantId: string; quantity: number; createdAt: string }) =>
  db.insertInto('cw_cart_lines').values({ id: $.id, cart_id: $.cartId, variant_id: $.variantId, quantity: $.quantity, created_at: $.createdAt }),
)

const setLineQuantity = compiledQuery((db, $: { lineId: string; quantity: number }) =>
  db.updateTable('cw_cart_lines').set({ quantity: $.quantity }).where('id', '=', $.lineId),
)

/**
 * Carts: lines, addresses, shipping choice, and totals computed on the server only.
 * A cart id is 128 random bits, so it can serve as the shopper's bearer secret.
 *
 * @example
 * ```ts
 * let cart = await commerce.carts.create({ currency: 'USD' })
 * cart = await commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
 * cart = await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress })
 * const [option] = await commerce.carts.listShippingOptions(cart.id)
 * if (!option) throw new Error('no shipping to this address')
 * cart = await commerce.carts.setShippingOption(cart.id, option.id)
 * cart.totals.total // minor units
 * ```
 */
export class CartService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /** Creates an empty cart in one currency. */
  async create(input: CreateCartInput): Promise<Cart> {
    const data = parseInput(createCartSchema, input, 'cart')
    const rt = this.#rt
    const now = rt.now().toISOString()
    const row: CartTable = {
      id: newId('cart'),
      currency: data.currency,
      status: 'open',
      email: data.email ?? null,
      customer_id: data.customerId ?? null,
      shipping_address: null,
      billing_address: null,
      shipping_option_id: null,
      checkout: null,
      order_id: null,
      version: 0,
      metadata: json(data.metadata),
      created_at: now,
      updated_at: now,
    }
    await transact(rt, async (tx, emit) => {
      await insertCart.execute(tx, row)
      emit('cart.created', { cartId: row.id, currency: row.currency })
    })
    return priceCart(rt, { row, lines: [] })
  }

  /** The cart with current prices and totals; `NOT_FOUND` when there is no such cart. */
  async get(cartId: string): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const cart = await read(this.#rt, (db) => loadCart(db, id))
    if (!cart) throw notFound('Cart', id)
    return priceCart(this.#rt, cart)
  }

  /** Adds units of a variant; adding a variant already in the cart raises that line's quantity. */
  async addItem(cartId: string, input: z.input<typeof addItemSchema>): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const data = parseInput(addItemSchema, input, 'cart line')
    await this.#beforeAddItem(id, () => ({ variantId: data.variantId, quantity: data.quantity }))
    return this.#mutate(id, 'lines', async (tx, cart, emit) => {
      const existing = cart.lines.find((l) => l.variant_id === data.variantId)
      const quantity = (existing?.quantity ?? 0) + data.quantity
      if (quantity > 10_000) throw validationError('cart line', [{ path: 'quantity', message: `the line would hold ${quantity}; at most 10000` }])
      await assertSellable(tx, cart, data.variantId, quantity)
      if (existing) {
        await setLineQuantity.execute(tx, { lineId: existing.id, quantity })
      } else {
        await insertLine.execute(tx, { id: newId('line'), cartId: id, variantId: data.variantId, quantity, createdAt: this.#rt.now().toISOString() })
      }
      emit('cart.item_added', { cartId: id, variantId: data.variantId, quantity: data.quantity })
    })
  }

  /** Sets a line's quantity; 0 removes the line. */
  async updateItem(cartId: string, lineId: string, input: z.input<typeof updateItemSchema>): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const line = parseArg(fields.id, lineId, 'lineId')
    const data = parseInput(updateItemSchema, input, 'cart line')
    await this.#beforeAddItem(id, (cart) => {
      const existing = cart.lines.find((l) => l.id === line)
      return existing && data.quantity > existing.quantity ? { variantId: existing.variantId, quantity: data.quantity - existing.quantity } : null
    })
    return this.#mutate(id, 'lines', async (tx, cart, emit) => {
      const existing = cart.lines.find((l) => l.id === line)
      if (!existing) throw notFound('Cart line', line)
      if (data.quantity === 0) {
        await tx.deleteFrom('cw_cart_lines').where('id', '=', line).execute()
        emit('cart.item_removed', { cartId: id, lineId: line })
        return
      }
      if (data.quantity > existing.quantity) await assertSellable(tx, cart, existing.variant_id, data.quantity)
      await setLineQuantity.execute(tx, { lineId: line, quantity: data.quantity })
      emit('cart.item_updated', { cartId: id, lineId: line, quantity: data.quantity })
    })
  }

  /**
   * Runs `cart.beforeAddItem` hooks before the write transaction, on the priced cart: hooks and
   * the providers pricing calls may be slow or read through the engine, and neither should
   * happen while the write lock is held.
   */
  async #beforeAddItem(cartId: string, adding: (cart: Cart) => { variantId: string; quantity: number } | null): Promise<void> {
    if (!this.#rt.hooks.has('cart.beforeAddItem')) return
    const cart = await this.get(cartId)
    const added = adding(cart)
    if (added) await this.#rt.hooks.run('cart.beforeAddItem', { cart, ...added })
  }

  /** Removes a line. */
  async removeItem(cartId: string, lineId: string): Promise<Cart> {
    return this.updateItem(cartId, lineId, { quantity: 0 })
  }

  /** Sets the email and addresses. Pass `null` to clear a field. */
  async update(cartId: string, input: UpdateCartInput): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const data = parseInput(updateCartSchema, input, 'cart')
    return this.#mutate(id, 'fields', async (_tx, _cart, emit) => {
      const changes: Partial<CartFields> = {}
      if (data.email !== undefined) changes.email = data.email
      if (data.shippingAddress !== undefined) changes.shipping_address = json(data.shippingAddress)
      if (data.billingAddress !== undefined) changes.billing_address = json(data.billingAddress)
      if (data.metadata !== undefined) changes.metadata = json(data.metadata)
      emit('cart.updated', { cartId: id })
      return changes
    })
  }

  /** Shipping options for the cart's address, freshly quoted. Needs a shipping address (`INVALID_STATE`). */
  async listShippingOptions(cartId: string): Promise<ShippingOption[]> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const cart = await read(this.#rt, (db) => loadCart(db, id))
    if (!cart) throw notFound('Cart', id)
    if (!cart.row.shipping_address) {
      throw new CommerceError('INVALID_STATE', 'Set a shipping address on the cart before asking for shipping options', { details: { cartId: id } })
    }
    return quoteShipping(this.#rt, cart)
  }

  /** Chooses a shipping option by the id `listShippingOptions` returned. */
  async setShippingOption(cartId: string, optionId: string): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const option = parseArg(optionIdSchema, optionId, 'optionId')
    // Quote outside the transaction (providers may be remote); the total is quoted again at checkout.
    const options = await this.listShippingOptions(id)
    if (!options.some((o) => o.id === option)) throw notFound('Shipping option', option)
    return this.#mutate(id, 'fields', async (_tx, _cart, emit) => {
      emit('cart.updated', { cartId: id })
      return { shipping_option_id: option }
    })
  }

  /**
   * Changes an open cart in one write transaction and returns it priced. `work` changes the
   * cart's `lines` (they are read again after it) or only its `fields` (returned as changes):
   * either way the cart row is not read back, it is what this transaction wrote.
   */
  async #mutate(
    cartId: string,
    changing: 'lines' | 'fields',
    work: (tx: Tx, cart: LoadedCart, emit: Emit) => Promise<Partial<CartFields> | void>,
  ): Promise<Cart> {
    const rt = this.#rt
    const after = await transact(rt, async (tx, emit) => {
      const cart = await openCartForWrite(rt, tx, cartId)
      const changes = await work(tx, cart, emit)
      const row = await touch(rt, tx, cart.row, changes ?? {})
      return { row, lines: changing === 'lines' ? await loadLines(tx, cartId, row.currency) : cart.lines }
    })
    return priceCart(rt, after)
  }
}
