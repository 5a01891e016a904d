import { sql } from 'kysely'
import { z } from 'zod'
import { mintAccessToken, noMatchFor, readAccessToken, sameTokenHash } from '../access-tokens.js'
import { CommerceError, notFound, validationError } from '../errors.js'
import { compiledQuery } from '../db/compiled-query.js'
import type { CartTable, Timestamp, Tx } from '../db/database.js'
import { json } from '../db/rows.js'
import { engineClosed, read, transact, type Emit, type Runtime } from '../runtime.js'
import type { Cart, Price } from '../types.js'
import { addressSchema, fields, parseArg, parseInput } from '../validation.js'
import { unitPriceFor } from './catalog-service.js'
import { listShippingOptions, loadCart, priceCart, resolveChangedLines, tierOf, type LoadedCart, type LoadedLine, type ShippingOption } from './cart-pricing.js'
import { hookScope } from './checkout-plugins.js'
import { channelAvailability, channelForCart } from './channel-service.js'
import { followDraftLines, heldByDraft } from './draft-service.js'

const createCartSchema = z.strictObject({
  currency: fields.currency,
  email: fields.email.optional(),
  customerId: fields.id.optional(),
  metadata: fields.metadata.optional(),
  /** The sales channel the cart is opened in (`channels`); the currency must be one of its. */
  channelId: fields.id.optional(),
})

const optionIdSchema = z.string().min(1).max(200)
const addItemSchema = z.strictObject({ variantId: fields.id, quantity: fields.quantity })
const updateItemSchema = z.strictObject({ quantity: fields.quantityOrZero })
const updateCartSchema = z.strictObject({
  email: fields.email.nullable().optional(),
  shippingAddress: addressSchema.nullable().optional(),
  billingAddress: addressSchema.nullable().optional(),
  metadata: fields.metadata.optional(),
  /** The customer the cart belongs to (their prices apply), or null for a guest's. */
  customerId: fields.id.nullable().optional(),
  /**
   * A condition: the change applies only while the cart belongs to this customer (null: to no one,
   * a guest's cart); otherwise `INVALID_STATE` naming `ifCustomerId`, the cart unchanged. Checked
   * against the version the change is written at, so of two concurrent claims of a guest cart
   * (`{ customerId, ifCustomerId: null }`) one wins.
   */
  ifCustomerId: fields.id.nullable().optional(),
})

/** Input of `carts.create`. */
export type CreateCartInput = z.input<typeof createCartSchema>
/** Input of `carts.update`. */
export type UpdateCartInput = z.input<typeof updateCartSchema>
/**
 * Input of `carts.addItem`: the variant and how many units to add to its line.
 *
 * @example
 * ```ts
 * const input: AddItemInput = { variantId, quantity: 2 }
 * await commerce.carts.addItem(cart.id, input)
 * ```
 */
export type AddItemInput = z.input<typeof addItemSchema>
/**
 * Input of `carts.updateItem`: the line's new quantity (0 removes it).
 *
 * @example
 * ```ts
 * const input: UpdateItemInput = { quantity: 3 }
 * await commerce.carts.updateItem(cart.id, cart.lines[0]!.id, input)
 * ```
 */
export type UpdateItemInput = z.input<typeof updateItemSchema>

/** Refuses a change to a cart that is no longer open. */
function assertOpen(row: CartTable): void {
  if (row.status !== 'open') {
    throw new CommerceError('INVALID_STATE', `Cart ${row.id} is ${row.status} and can no longer be changed`, {
      details: { cartId: row.id, status: row.status, orderId: row.order_id },
    })
  }
}

/** The columns of a cart that its owner changes (email, addresses, shipping choice, metadata). */
type CartFields = Pick<CartTable, 'email' | 'shipping_address' | 'billing_address' | 'shipping_option_id' | 'metadata' | 'customer_id'>

/**
 * Writes a cart's fields and bumps its version, only if the cart is still open at the version the
 * change was made from: one statement shape whatever changed. On PostgreSQL it also locks the row
 * to the commit, so the lines written after it cannot interleave with another change.
 */
const writeCartAt = compiledQuery((db, $: CartFields & { cartId: string; version: number; updatedAt: string }) =>
  db
    .updateTable('cw_carts')
    .set({
      email: $.email,
      shipping_address: $.shipping_address,
      billing_address: $.billing_address,
      shipping_option_id: $.shipping_option_id,
      metadata: $.metadata,
      customer_id: $.customer_id,
      version: sql`version + 1`,
      updated_at: $.updatedAt,
    })
    .where('id', '=', $.cartId)
    .where('version', '=', $.version)
    .where('status', '=', 'open'),
)

/** A variant's sale status, stock and line details, one row per price tier in `currency` (one with null tier columns when there is none). */
const variantForSale = compiledQuery((db, $: { variantId: string; currency: string; now: string }) =>
  db
    .selectFrom('cw_variants as v')
    .innerJoin('cw_products as p', 'p.id', 'v.product_id')
    .leftJoin('cw_prices as pr', (join) => join.onRef('pr.variant_id', '=', 'v.id').on('pr.currency', '=', $.currency))
    .select((eb) => [
      'v.manage_inventory',
      'v.sku',
      'v.product_id',
      'v.title as variant_title',
      'v.weight_grams',
      'v.tax_class',
      'p.title',
      'p.status',
      'pr.amount',
      'pr.min_quantity',
      'pr.tax_inclusive',
      eb
        .selectFrom('cw_inventory_levels as s')
        // A backorder's or preorder's allowance counts while it applies, as in the write that reserves.
        .select(
          eb.fn
            .sum<number>(
              sql`s.on_hand - s.reserved + case when s.backorder_allowance > 0 and (s.allowance_until is null or s.allowance_until > ${$.now}) then s.backorder_allowance else 0 end`,
            )
            .as('available'),
        )
        .whereRef('s.variant_id', '=', 'v.id')
        .as('available'),
    ])
    .where('v.id', '=', $.variantId),
)

/**
 * Checks that `quantity` units of a variant can be in a cart (for sale, priced in `currency` for
 * that quantity, in stock) and returns the variant as a line of that quantity, without id or
 * creation time.
 */
async function sellableLine(rt: Runtime, currency: string, variantId: string, quantity: number, channelId: string | null = null, heldForCart = 0): Promise<Omit<LoadedLine, 'id' | 'created_at'>> {
  const rows = await read(rt, (db) => variantForSale.rows(db, { variantId, currency, now: rt.now().toISOString() }))
  const variant = rows[0]
  if (!variant || variant.status !== 'active') throw notFound('Variant', variantId)
  // In a channel: only its published products, and only the stock at its locations (see channels).
  if (channelId) {
    const scope = await read(rt, (db) => channelAvailability(db, channelId, variant.product_id, variantId, rt.now().toISOString()))
    if (!scope.published) throw notFound('Variant', variantId)
    if (scope.available !== null) variant.available = scope.available
  }
  const tiers: Price[] = []
  for (const r of rows) if (r.amount !== null && r.min_quantity !== null) tiers.push(tierOf(currency, r.amount, r.min_quantity, r.tax_inclusive))
  const unitPrice = unitPriceFor(tiers, currency, quantity)
  if (unitPrice === null) {
    throw new CommerceError('INVALID_STATE', `Variant ${variantId} has no ${currency} price for quantity ${quantity}`, {
      details: { variantId, currency },
    })
  }
  if (variant.manage_inventory === 1) {
    // A staff-made draft's own held units are its to use (see drafts).
    const available = Number(variant.available ?? 0) + heldForCart
    if (available < quantity) {
      throw new CommerceError('OUT_OF_STOCK', `Only ${available} of ${variant.sku} (${variantId}) available`, {
        details: { shortages: [{ variantId, sku: variant.sku, requested: quantity, available }] },
      })
    }
  }
  return {
    variant_id: variantId,
    quantity,
    product_id: variant.product_id,
    sku: variant.sku,
    variant_title: variant.variant_title,
    weight_grams: variant.weight_grams,
    tax_class: variant.tax_class ?? null,
    manage_inventory: variant.manage_inventory,
    title: variant.title,
    product_status: variant.status,
    unitPrice,
    sourced: false,
    tiers,
  }
}

/** A line at another quantity, priced by its tiers for that quantity. */
function withQuantity(line: LoadedLine, quantity: number, currency: string): LoadedLine {
  return { ...line, quantity, unitPrice: unitPriceFor(line.tiers, currency, quantity), sourced: false }
}

const time = (value: Timestamp) => (typeof value === 'string' ? Date.parse(value) : value.getTime())

/** Lines in their stored order: by creation, then id. */
function byCreation(a: LoadedLine, b: LoadedLine): number {
  return time(a.created_at) - time(b.created_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** A change to a cart, made in memory from the cart as read. */
interface Change {
  /** The cart's fields that change. */
  fields?: Partial<CartFields>
  /** Every line of the cart after the change, in stored order; omitted when the lines do not change. */
  lines?: LoadedLine[]
  /** True when the change only lowers or removes lines: accepted even if the cart stays unpriceable. */
  lowers?: boolean
  /** Writes the change's lines and emits its events, in the transaction that wrote the cart's row. */
  write(tx: Tx, emit: Emit): Promise<void>
}

/** A change refused because the cart it would make cannot be priced. */
function unpriceableChange(cartId: string, problem: string): CommerceError {
  return new CommerceError('VALIDATION', `The change was refused and the cart left as it was. ${problem}`, {
    details: { cartId, issues: [{ path: '', message: problem }], fields: [] },
  })
}

/** How many times a change is made again when the cart changed between its read and its write. */
const CHANGE_ATTEMPTS = 25

const insertCart = compiledQuery((db, $: CartTable) => db.insertInto('cw_carts').values($))

/** A cart's token hash: looked up by the id the token names, before anything else is read. */
const cartToken = compiledQuery((db, $: { cartId: string }) => db.selectFrom('cw_carts').select('access_token_hash').where('id', '=', $.cartId))

const setCartToken = compiledQuery((db, $: { cartId: string; hash: string }) =>
  db.updateTable('cw_carts').set({ access_token_hash: $.hash }).where('id', '=', $.cartId),
)

const insertLine = compiledQuery((db, $: { id: string; cartId: string; variantId: string; quantity: number; createdAt: string }) =>
  db.insertInto('cw_cart_lines').values({ id: $.id, cart_id: $.cartId, variant_id: $.variantId, quantity: $.quantity, created_at: $.createdAt }),
)

const setLineQuantity = compiledQuery((db, $: { lineId: string; quantity: number }) =>
  db.updateTable('cw_cart_lines').set({ quantity: $.quantity }).where('id', '=', $.lineId),
)

const deleteLine = compiledQuery((db, $: { lineId: string }) => db.deleteFrom('cw_cart_lines').where('id', '=', $.lineId))

/**
 * Carts: lines, addresses, shipping choice, and totals computed on the server only.
 *
 * A cart id is not a secret: ids may be seeded or time-ordered. The shopper's secret is the cart's
 * access token, returned once by `create` (and by `rotateToken`), of which only a hash is stored.
 * A storefront keeps the token (a cookie) and opens the cart with `findByToken`; every method that
 * takes a cart id is the trusted API, for code that has already decided the caller may act on
 * that cart.
 *
 * What a cart may hold: at most 10,000 units per line, and amounts (line subtotals and totals,
 * tax, shipping, the total) of at most 2^53 − 1 minor units, the largest amount a number holds
 * exactly. Every change (`addItem`, `updateItem`, `removeItem`, `update`, `setShippingOption`) is
 * made on the cart as read and priced, tax and shipping included, before anything is written; a
 * change that is refused (`VALIDATION`, `OUT_OF_STOCK`, `NOT_FOUND`, a hook's veto) leaves the cart
 * exactly as it was, version included. A change is written only if the cart did not change
 * meanwhile; otherwise it is made again on the cart as it now is.
 *
 * A stored cart is always readable. If its amounts pass the limit later (a price or tax rate rose
 * under lines already in it), `get` and every change return it with `pricingProblem` set, its
 * lines' quantities and unit prices, and every amount 0. Such a cart accepts only changes that
 * lower or remove lines, and `checkout.complete` refuses it with `INVALID_STATE`, until it fits.
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

  /**
   * Creates an empty cart in one currency. The cart returned carries its `accessToken`, the
   * shopper's secret for it: this response is the only place it appears, since only its hash is
   * stored.
   *
   * @example
   * ```ts
   * // The host framework's response, e.g. Express's `res`:
   * declare const response: { cookie(name: string, value: string, options?: { httpOnly?: boolean; secure?: boolean; sameSite?: 'lax' }): void }
   *
   * const cart = await commerce.carts.create({ currency: 'USD', email: 'ada@example.com' })
   * response.cookie('cart', cart.accessToken!, { httpOnly: true, secure: true, sameSite: 'lax' })
   * ```
   */
  async create(input: CreateCartInput): Promise<Cart> {
    const data = parseInput(createCartSchema, input, 'cart')
    const rt = this.#rt
    const now = rt.now().toISOString()
    const id = rt.ids('cart')
    const token = mintAccessToken('cart', id, rt.secretBytes)
    const row: CartTable = {
      id,
      currency: data.currency,
      status: 'open',
      email: data.email ?? null,
      customer_id: data.customerId ?? null,
      channel_id: data.channelId ?? null,
      tax_inclusive: rt.taxPolicy.pricesIncludeTax ? 1 : null,
      shipping_address: null,
      billing_address: null,
      shipping_option_id: null,
      checkout: null,
      order_id: null,
      version: 0,
      metadata: json(data.metadata),
      created_at: now,
      updated_at: now,
      access_token_hash: token.hash,
    }
    await transact(rt, async (tx, emit) => {
      if (data.channelId) row.tax_inclusive = await channelForCart(tx, data.channelId, data.currency)
      await insertCart.execute(tx, row)
      emit('cart.created', { cartId: row.id, currency: row.currency })
    })
    const cart = await priceCart(rt, { row, lines: [] })
    cart.accessToken = token.token
    return cart
  }

  /**
   * The cart an access token opens, priced like `get`. `NOT_FOUND` for anything else: a token
   * that was rotated away, another cart's or an order's token, a malformed, empty or missing
   * value. Every miss gets the same answer, which never repeats the token.
   *
   * @example
   * ```ts
   * // The host framework's request, with its cookies parsed:
   * declare const request: { cookies: { cart: string } }
   *
   * const cart = await commerce.carts.findByToken(request.cookies.cart)
   * ```
   */
  async findByToken(token: string): Promise<Cart> {
    const rt = this.#rt
    // Closed first: a malformed token is answered without storage, and after close() every call is INVALID_STATE.
    if (rt.closed) throw engineClosed()
    const claim = readAccessToken(token)
    if (!claim || claim.kind !== 'cart') throw noMatchFor('Cart')
    const stored = await read(rt, (db) => cartToken.first(db, { cartId: claim.id }))
    if (!stored || !sameTokenHash(stored.access_token_hash, claim.hash)) throw noMatchFor('Cart')
    const cart = await read(rt, (db) => loadCart(rt, db, claim.id))
    if (!cart) throw noMatchFor('Cart')
    return priceCart(rt, cart)
  }

  /**
   * True when `token` is the current access token of the cart `cartId`; false for any other value,
   * and for a cart that does not exist or has no token. The hashes are compared in constant time.
   * `VALIDATION` only when `cartId` is not an id.
   *
   * @example
   * ```ts
   * // A store route, POST /carts/:cartId/items, in the host framework's terms:
   * async function addItem(params: { cartId: string }, request: { cookies: { cart: string } }) {
   *   if (!(await commerce.carts.verifyToken(params.cartId, request.cookies.cart))) return { status: 404 }
   *   return { status: 200, body: await commerce.carts.addItem(params.cartId, { variantId, quantity: 1 }) }
   * }
   * ```
   */
  async verifyToken(cartId: string, token: string): Promise<boolean> {
    const id = parseArg(fields.id, cartId, 'cartId')
    if (this.#rt.closed) throw engineClosed()
    const claim = readAccessToken(token)
    if (!claim || claim.kind !== 'cart') return false
    const stored = await read(this.#rt, (db) => cartToken.first(db, { cartId: id }))
    return sameTokenHash(stored?.access_token_hash, claim.hash)
  }

  /**
   * Gives the cart a new access token and returns the cart with it; the old token stops opening
   * the cart (and its order) at once. Works on a cart in any status, and on one written before
   * carts had tokens, which has none until this is called. The cart's contents, version and
   * `updatedAt` do not change. `NOT_FOUND` when there is no such cart.
   *
   * @example
   * ```ts
   * // The host framework's response, e.g. Express's `res`:
   * declare const response: { cookie(name: string, value: string): void }
   *
   * // After signing in, or when a cookie may have leaked:
   * const rotated = await commerce.carts.rotateToken(cart.id)
   * response.cookie('cart', rotated.accessToken!)
   * ```
   */
  async rotateToken(cartId: string): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const rt = this.#rt
    const token = mintAccessToken('cart', id, rt.secretBytes)
    // Idempotent: writing the same hash again is harmless.
    const updated = await transact(rt, (tx) => setCartToken.affected(tx, { cartId: id, hash: token.hash }), { idempotent: true })
    if (updated !== 1) throw notFound('Cart', id)
    const cart = await this.get(id)
    cart.accessToken = token.token
    return cart
  }

  /**
   * The cart with current prices and totals; `NOT_FOUND` when there is no such cart. A cart whose
   * amounts can no longer be computed exactly is returned with `pricingProblem` set (see above).
   */
  async get(cartId: string): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const cart = await read(this.#rt, (db) => loadCart(this.#rt, db, id))
    if (!cart) throw notFound('Cart', id)
    return priceCart(this.#rt, cart)
  }

  /**
   * Adds units of a variant; adding a variant already in the cart raises that line's quantity.
   * `VALIDATION` (the cart unchanged) when the cart's amounts would pass 2^53 − 1 minor units.
   */
  async addItem(cartId: string, input: AddItemInput): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const data = parseInput(addItemSchema, input, 'cart line')
    const rt = this.#rt
    return this.#mutate(
      id,
      async (cart, now) => {
        const existing = cart.lines.find((l) => l.variant_id === data.variantId)
        const quantity = (existing?.quantity ?? 0) + data.quantity
        if (quantity > 10_000) throw validationError('cart line', [{ path: 'quantity', message: `the line would hold ${quantity}; at most 10000` }])
        const sellable = await sellableLine(rt, cart.row.currency, data.variantId, quantity, cart.row.channel_id ?? null, await heldByDraft(rt, cart.row, data.variantId))
        const emitAdded = (emit: Emit) => emit('cart.item_added', { cartId: id, variantId: data.variantId, quantity: data.quantity })
        if (existing) {
          return {
            lines: cart.lines.map((l) => (l === existing ? withQuantity(l, quantity, cart.row.currency) : l)),
            async write(tx, emit) {
              await setLineQuantity.execute(tx, { lineId: existing.id, quantity })
              emitAdded(emit)
            },
          }
        }
        const line: LoadedLine = { id: rt.ids('line'), created_at: now, ...sellable }
        return {
          lines: [...cart.lines, line].sort(byCreation),
          async write(tx, emit) {
            await insertLine.execute(tx, { id: line.id, cartId: id, variantId: data.variantId, quantity, createdAt: now })
            emitAdded(emit)
          },
        }
      },
      () => ({ variantId: data.variantId, quantity: data.quantity }),
    )
  }

  /**
   * Sets a line's quantity; 0 removes the line. Raising it is refused with `VALIDATION` (the cart
   * unchanged) when the cart's amounts would pass 2^53 − 1 minor units; lowering it is always accepted.
   */
  async updateItem(cartId: string, lineId: string, input: UpdateItemInput): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const line = parseArg(fields.id, lineId, 'lineId')
    const data = parseInput(updateItemSchema, input, 'cart line')
    const rt = this.#rt
    return this.#mutate(
      id,
      async (cart) => {
        const existing = cart.lines.find((l) => l.id === line)
        if (!existing) throw notFound('Cart line', line)
        if (data.quantity === 0) {
          return {
            lines: cart.lines.filter((l) => l !== existing),
            lowers: true,
            async write(tx, emit) {
              await deleteLine.execute(tx, { lineId: line })
              emit('cart.item_removed', { cartId: id, lineId: line })
            },
          }
        }
        if (data.quantity > existing.quantity) {
          await sellableLine(rt, cart.row.currency, existing.variant_id, data.quantity, cart.row.channel_id ?? null, await heldByDraft(rt, cart.row, existing.variant_id))
        }
        return {
          lines: cart.lines.map((l) => (l === existing ? withQuantity(l, data.quantity, cart.row.currency) : l)),
          lowers: data.quantity <= existing.quantity,
          async write(tx, emit) {
            await setLineQuantity.execute(tx, { lineId: line, quantity: data.quantity })
            emit('cart.item_updated', { cartId: id, lineId: line, quantity: data.quantity })
          },
        }
      },
      (cart) => {
        const existing = cart.lines.find((l) => l.id === line)
        return existing && data.quantity > existing.quantity ? { variantId: existing.variantId, quantity: data.quantity - existing.quantity } : null
      },
    )
  }

  /** Removes a line. */
  async removeItem(cartId: string, lineId: string): Promise<Cart> {
    return this.updateItem(cartId, lineId, { quantity: 0 })
  }

  /**
   * Sets the email, addresses and customer. Pass `null` to clear a field. A new `customerId` gives
   * the cart to that customer (null: to a guest), and its lines are priced again for them;
   * `ifCustomerId` makes the change conditional on the cart's current customer.
   *
   * @example
   * ```ts
   * // Take over a guest cart at login, unless someone else took it first (INVALID_STATE):
   * await commerce.carts.update(cart.id, { customerId: 'cus_1', ifCustomerId: null })
   * ```
   */
  async update(cartId: string, input: UpdateCartInput): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const data = parseInput(updateCartSchema, input, 'cart')
    const changes: Partial<CartFields> = {}
    if (data.email !== undefined) changes.email = data.email
    if (data.shippingAddress !== undefined) changes.shipping_address = json(data.shippingAddress)
    if (data.billingAddress !== undefined) changes.billing_address = json(data.billingAddress)
    if (data.metadata !== undefined) changes.metadata = json(data.metadata)
    if (data.customerId !== undefined) changes.customer_id = data.customerId
    return this.#mutate(id, (cart) => {
      if (data.ifCustomerId !== undefined && cart.row.customer_id !== data.ifCustomerId) {
        throw new CommerceError('INVALID_STATE', `Cart ${id} ${cart.row.customer_id === null ? 'belongs to no customer' : 'belongs to another customer'}`, {
          details: { cartId: id, fields: ['ifCustomerId'] },
        })
      }
      return {
        fields: changes,
        // Another customer, other prices: the lines are priced again for the cart's new owner.
        ...(data.customerId !== undefined && data.customerId !== cart.row.customer_id ? { lines: cart.lines } : {}),
        async write(_tx, emit) {
          emit('cart.updated', { cartId: id })
        },
      }
    })
  }

  /**
   * The customer's open cart, priced like `get`: the one changed last when they have several, null
   * when they have none.
   *
   * @example
   * ```ts
   * const cart = (await commerce.carts.openForCustomer('cus_1')) ?? (await commerce.carts.create({ currency: 'USD', customerId: 'cus_1' }))
   * ```
   */
  async openForCustomer(customerId: string): Promise<Cart | null> {
    const customer = parseArg(fields.id, customerId, 'customerId')
    const rt = this.#rt
    const cart = await read(rt, async (db) => {
      const row = await db
        .selectFrom('cw_carts')
        .select('id')
        .where('customer_id', '=', customer)
        .where('status', '=', 'open')
        // A shopper's cart only: a draft staff are building for the customer is not theirs to fill.
        .where('kind', 'is', null)
        .orderBy('updated_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst()
      return row ? loadCart(rt, db, row.id) : null
    })
    return cart ? priceCart(rt, cart) : null
  }

  /**
   * Shipping options for the cart, freshly quoted on its subtotal after line discounts. Without a
   * shipping address only options that need none are offered (pickup at a stock location).
   */
  async listShippingOptions(cartId: string): Promise<ShippingOption[]> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const cart = await read(this.#rt, (db) => loadCart(this.#rt, db, id))
    if (!cart) throw notFound('Cart', id)
    return listShippingOptions(this.#rt, cart)
  }

  /** Chooses a shipping option by the id `listShippingOptions` returned (`NOT_FOUND` for one not offered to this cart). */
  async setShippingOption(cartId: string, optionId: string): Promise<Cart> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const option = parseArg(optionIdSchema, optionId, 'optionId')
    const rt = this.#rt
    return this.#mutate(id, async (cart) => {
      // Quoted outside the transaction (providers may be remote); the total is quoted again at checkout.
      const options = await listShippingOptions(rt, cart)
      if (!options.some((o) => o.id === option)) throw notFound('Shipping option', option)
      return {
        fields: { shipping_option_id: option },
        async write(_tx, emit) {
          emit('cart.updated', { cartId: id })
        },
      }
    })
  }

  /**
   * Changes an open cart and returns it priced. The change is made in memory on the cart as read,
   * and the result priced, both outside any transaction: tax and shipping providers may be remote,
   * and nothing is written for a change that is refused. A change whose cart cannot be priced is
   * refused unless it only lowers the cart. The write is one short transaction, conditional on the
   * cart's version: when the cart changed meanwhile, the change is made again on the cart as it now
   * is. `cart.beforeAddItem` hooks see the cart as read, once, when `adding` names units added.
   */
  async #mutate(
    cartId: string,
    propose: (cart: LoadedCart, now: string) => Change | Promise<Change>,
    adding?: (cart: Cart) => { variantId: string; quantity: number } | null,
  ): Promise<Cart> {
    const rt = this.#rt
    for (let attempt = 1; ; attempt++) {
      const current = await read(rt, (db) => loadCart(rt, db, cartId))
      if (!current) throw notFound('Cart', cartId)
      assertOpen(current.row)
      if (attempt === 1 && adding && rt.hooks.has('cart.beforeAddItem')) {
        const cart = await priceCart(rt, current)
        const added = adding(cart)
        if (added) await rt.hooks.run('cart.beforeAddItem', { cart, ...added })
      }
      const now = rt.now().toISOString()
      const change = await propose(current, now)
      const row: CartTable = { ...current.row, ...change.fields, version: current.row.version + 1, updated_at: now }
      const changed: LoadedCart = { row, lines: change.lines ?? current.lines }
      // Changed lines carry core's price for their new quantity: the price sources price them again.
      if (change.lines && rt.priceSources.length) await read(rt, (db) => resolveChangedLines(rt, db, changed))
      const priced = await priceCart(rt, changed)
      if (priced.pricingProblem !== null && !change.lowers) throw unpriceableChange(cartId, priced.pricingProblem)
      if (rt.point) await rt.point('cart.change.priced', { cartId, attempt })
      const written = await transact(rt, async (tx, emit) => {
        const updated = await writeCartAt.affected(tx, {
          email: row.email,
          shipping_address: row.shipping_address,
          billing_address: row.billing_address,
          shipping_option_id: row.shipping_option_id,
          metadata: row.metadata,
          customer_id: row.customer_id,
          cartId,
          version: current.row.version,
          updatedAt: now,
        })
        if (updated !== 1) return false
        await change.write(tx, emit)
        // A staff-made draft's held units follow its lines (see drafts).
        if (change.lines) await followDraftLines(rt, tx, emit, row)
        if (rt.hooks.has('cart.changed')) {
          await rt.hooks.runTransactional('cart.changed', { cartId, version: row.version }, hookScope(rt, tx, emit as unknown as (type: string, payload: unknown) => void))
        }
        return true
      })
      if (written) return priced
      if (attempt === CHANGE_ATTEMPTS) {
        throw new CommerceError('CONFLICT', `Cart ${cartId} kept changing while this change was made; retry it`, { retryable: true, details: { cartId } })
      }
      // Lost to a concurrent change: back off a little, at random, so that callers racing on one
      // cart do not keep colliding in lockstep.
      await rt.clock.sleep(rt.clock.random() * Math.min(64, 2 ** attempt))
    }
  }
}
