import { sql } from 'kysely'
import { z } from 'zod'
import { mintAccessToken } from '../access-tokens.js'
import { CommerceError, notFound } from '../errors.js'
import type { CartTable, PaymentTable, Tx } from '../db/database.js'
import { iso, json } from '../db/rows.js'
import type { PaymentProvider } from '../ports/payment-provider.js'
import { read, transact, type Emit, type Runtime } from '../runtime.js'
import type { Cart, Order, PriceOverride } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { loadCart, priceCart, type LoadedCart } from './cart-pricing.js'
import { channelForCart, channelLocations } from './channel-service.js'
import { runClaimHooks } from './checkout-plugins.js'
import { placeOrder } from './checkout-service.js'
import { applyReservation, planReservation, releaseStock } from './inventory-service.js'
import { loadOrder } from './order-mapping.js'
import { overriddenPrice } from './draft-prices.js'

/**
 * Staff-made orders (phone, in person): a draft is a cart made by staff (`cw_carts.kind = 'draft'`)
 * for a customer in a channel, built with the cart methods (`carts.addItem`, `carts.update`,
 * `carts.setShippingOption`), priced by the same pricing, and placed by the same placement as any
 * checkout. What a draft adds: a price staff may set per line, with a reason; stock held while it
 * is open, until `expiresAt`; a payment link (the cart's access token, for `checkout.complete`); and
 * `markPaid`, an order paid outside the gateway. See docs/architecture.md, "Staff-made orders".
 */

/** The longest a draft holds stock: 30 days. */
const MAX_HOLD_MS = 30 * 24 * 60 * 60 * 1000
/** How long a draft holds stock when no `expiresAt` is given: 48 hours. */
const DEFAULT_HOLD_MS = 48 * 60 * 60 * 1000

/** The provider a payment recorded by `markPaid` names: no gateway is called. */
export const MANUAL_PROVIDER = 'manual'

/**
 * @internal What a `manual` payment's operations go through: no gateway holds its money, so a
 * refund (an order canceled or refunded) is recorded as done — staff give the money back the way it
 * was taken. It is not among the engine's providers, so a shopper cannot check out with it; only
 * `operationProvider` falls back to it for a payment recorded by `markPaid`.
 */
export const manualPayments: PaymentProvider = {
  id: MANUAL_PROVIDER,
  capabilities: { capture: false, partialCapture: false, refund: true, void: false },
  authorize() {
    return Promise.reject(new CommerceError('INVALID_STATE', 'A manual payment is recorded with drafts.markPaid, not authorized at checkout'))
  },
  refund(input) {
    return Promise.resolve({ status: 'succeeded', reference: `manual_refund_${input.operationId}` })
  },
}

const staff = z.string().trim().min(1).max(200)
const expiresAt = z.string().datetime({ offset: true }).max(40)

const createSchema = z.strictObject({
  currency: fields.currency,
  /** The staff member making the draft (a name or an id). */
  createdBy: staff,
  customerId: fields.id.optional(),
  email: fields.email.optional(),
  channelId: fields.id.optional(),
  metadata: fields.metadata.optional(),
  expiresAt: expiresAt.optional(),
})

const overrideSchema = z.strictObject({
  unitPrice: fields.amount,
  reason: z.string().trim().min(1).max(500),
  by: staff,
})

const reserveSchema = z.strictObject({ expiresAt: expiresAt.optional() })

const markPaidSchema = z.strictObject({
  method: z.enum(['cash', 'bank_transfer', 'card_terminal', 'check', 'other']),
  reference: z.string().trim().min(1).max(200).optional(),
  idempotencyKey: fields.idempotencyKey,
})

const expireSchema = z.strictObject({ limit: z.number().int().min(1).max(1000).default(100) })

/**
 * Input of `drafts.create`: the draft's currency, who makes it (`createdBy`), and optionally the
 * customer, their email, the sales channel and until when its stock is held (`expiresAt`, ISO-8601,
 * in the future and at most 30 days away; default 48 hours).
 *
 * @example
 * ```ts
 * declare const customerId: string
 * const phone = await commerce.channels.get('phone')
 * const input: CreateDraftInput = { currency: 'EUR', createdBy: 'maria', customerId, channelId: phone.id }
 * const draft = await commerce.drafts.create(input)
 * ```
 */
export type CreateDraftInput = z.input<typeof createSchema>
/**
 * Input of `drafts.overridePrice`: the unit price in minor units, why, and who.
 *
 * @example
 * ```ts
 * declare const draft: Draft
 * const input: OverridePriceInput = { unitPrice: 1500, reason: 'damaged box', by: 'maria' }
 * await commerce.drafts.overridePrice(draft.id, draft.lines[0]!.id, input)
 * ```
 */
export type OverridePriceInput = z.input<typeof overrideSchema>
/**
 * Input of `drafts.reserve` and `drafts.paymentLink`: a new expiry for the hold (optional).
 *
 * @example
 * ```ts
 * declare const draft: Draft
 * const input: ReserveDraftInput = { expiresAt: new Date(Date.now() + 86_400_000).toISOString() }
 * await commerce.drafts.reserve(draft.id, input)
 * ```
 */
export type ReserveDraftInput = z.input<typeof reserveSchema>
/**
 * Input of `drafts.markPaid`: how the customer paid outside the gateway, the receipt's or
 * transfer's reference if any, and an idempotency key.
 *
 * @example
 * ```ts
 * declare const draft: Draft
 * const input: MarkDraftPaidInput = { method: 'bank_transfer', reference: 'SEPA 2026-1183', idempotencyKey: crypto.randomUUID() }
 * const order = await commerce.drafts.markPaid(draft.id, input)
 * ```
 */
export type MarkDraftPaidInput = z.input<typeof markPaidSchema>
/**
 * Input of `drafts.expire`: how many drafts past their expiry to close in one call (1–1000, default 100).
 *
 * @example
 * ```ts
 * const input: ExpireDraftsInput = { limit: 500 }
 * await commerce.drafts.expire(input)
 * ```
 */
export type ExpireDraftsInput = z.input<typeof expireSchema>

/**
 * A draft's state: `open` (its stock may be held), `expired` (past `expiresAt`; its holds are
 * released by `drafts.expire`) or `discarded`.
 *
 * @example
 * ```ts
 * declare const draftId: string
 * const tomorrow = new Date(Date.now() + 86_400_000).toISOString()
 * const status: DraftStatus = (await commerce.drafts.get(draftId)).draftStatus
 * if (status === 'expired') await commerce.drafts.reserve(draftId, { expiresAt: tomorrow })
 * ```
 */
export type DraftStatus = 'open' | 'expired' | 'discarded'

/**
 * A staff-made order before it is placed: the cart it is, with who made it, its state, until when
 * its stock is held and how many units are held now.
 *
 * @example
 * ```ts
 * declare const draftId: string
 * const draft: Draft = await commerce.drafts.get(draftId)
 * console.log(`${draft.createdBy}: ${draft.totals.total} held ${draft.heldUnits} until ${draft.expiresAt}`)
 * ```
 */
export interface Draft extends Cart {
  createdBy: string
  draftStatus: DraftStatus
  expiresAt: string
  /** Units held for the draft now (its reservations), 0 when none. */
  heldUnits: number
}

/**
 * A draft's payment link: the cart's access token, for the customer's `checkout.complete`.
 *
 * @example
 * ```ts
 * declare const draftId: string
 * const link: DraftPaymentLink = await commerce.drafts.paymentLink(draftId)
 * const url = `https://shop.example/pay?token=${encodeURIComponent(link.token)}`
 * ```
 */
export interface DraftPaymentLink {
  draftId: string
  /** The cart's access token (`carts.findByToken`); a new link voids the previous one. */
  token: string
  /** Until when the stock is held and the link can be paid. */
  expiresAt: string
}

/** Refuses a draft that can no longer be paid: discarded, expired, or past its expiry. */
function assertPayable(row: Pick<CartTable, 'id' | 'draft_status' | 'expires_at'>, now: Date): void {
  if (row.draft_status !== 'open') {
    throw new CommerceError('INVALID_STATE', `Draft ${row.id} is ${row.draft_status}: reserve it again to pay it`, { details: { draftId: row.id, status: row.draft_status } })
  }
  if (!row.expires_at || iso(row.expires_at) <= now.toISOString()) {
    throw new CommerceError('INVALID_STATE', `Draft ${row.id} expired at ${row.expires_at ? iso(row.expires_at) : 'its expiry'}: reserve it again to pay it`, {
      details: { draftId: row.id, status: 'expired' },
    })
  }
}

/**
 * @internal The claim of a checkout (or of `markPaid`), in its transaction, for a draft: a draft
 * past its expiry or discarded is refused, and the units the draft holds are released so that the
 * claim's own reservation takes them again in the same transaction. The holds are never counted
 * twice and never lost to another cart between the two writes (SQLite has one writer; on
 * PostgreSQL the release locks the level rows until the commit). Nothing for a shopper's cart.
 */
export async function claimDraftHolds(rt: Runtime, tx: Tx, row: Pick<CartTable, 'id' | 'kind'>): Promise<void> {
  if (row.kind !== 'draft') return
  const draft = await tx.selectFrom('cw_carts').select(['id', 'draft_status', 'expires_at']).where('id', '=', row.id).executeTakeFirstOrThrow()
  assertPayable(draft, rt.now())
  await releaseStock(rt, tx, { cartId: row.id })
}

/**
 * @internal After a change to a draft's lines (in the change's transaction): the units held follow
 * the lines — released and held again for the lines as they now are. A change the stock cannot hold
 * is refused (`OUT_OF_STOCK`). Nothing for a shopper's cart, nor for a draft that holds nothing.
 */
export async function followDraftLines(rt: Runtime, tx: Tx, emit: Emit, row: Pick<CartTable, 'id' | 'kind' | 'channel_id'>): Promise<void> {
  if (row.kind !== 'draft') return
  const released = await releaseStock(rt, tx, { cartId: row.id })
  if (released === 0) return
  await holdLines(rt, tx, emit, row)
}

/**
 * @internal The units of `variantId` a draft holds now, which its own edits may use: 0 without a
 * query for a shopper's cart.
 */
export async function heldByDraft(rt: Runtime, row: Pick<CartTable, 'id' | 'kind'>, variantId: string): Promise<number> {
  if (row.kind !== 'draft') return 0
  const held = await read(rt, (db) =>
    db
      .selectFrom('cw_reservations')
      .select((eb) => eb.fn.sum<number | string | null>('quantity').as('units'))
      .where('cart_id', '=', row.id)
      .where('variant_id', '=', variantId)
      .where('status', '=', 'held')
      .executeTakeFirst(),
  )
  return Number(held?.units ?? 0)
}

async function holdLines(rt: Runtime, tx: Tx, emit: Emit, row: Pick<CartTable, 'id' | 'channel_id'>): Promise<void> {
  const lines = await tx.selectFrom('cw_cart_lines').select(['variant_id', 'quantity']).where('cart_id', '=', row.id).execute()
  const locations = row.channel_id ? await channelLocations(tx, row.channel_id) : null
  const plan = await planReservation(rt, tx, row.id, lines.map((l) => ({ variantId: l.variant_id, quantity: l.quantity })), locations)
  await applyReservation(rt, tx, emit, plan)
}

/** The expiry an input asks for, or the default; refused when past or too far. */
function expiryFrom(value: string | undefined, now: Date): string {
  const at = value ? new Date(value) : new Date(now.getTime() + DEFAULT_HOLD_MS)
  if (at.getTime() <= now.getTime()) {
    throw new CommerceError('VALIDATION', 'Invalid draft: expiresAt: must be in the future', { details: { issues: [{ path: 'expiresAt', message: 'must be in the future' }], fields: ['expiresAt'] } })
  }
  if (at.getTime() - now.getTime() > MAX_HOLD_MS) {
    throw new CommerceError('VALIDATION', 'Invalid draft: expiresAt: must be at most 30 days away', {
      details: { issues: [{ path: 'expiresAt', message: 'must be at most 30 days away' }], fields: ['expiresAt'] },
    })
  }
  return at.toISOString()
}

/**
 * Staff-made orders: drafts for a customer in a channel, with prices staff may override (with a
 * reason), stock held while open, and two ways to be paid — a payment link the customer completes
 * through the normal checkout, or `markPaid` for money taken outside the gateway.
 *
 * @example
 * ```ts
 * const draft = await commerce.drafts.create({ currency: 'EUR', createdBy: 'maria', email: 'ada@example.com' })
 * const withLine = await commerce.carts.addItem(draft.id, { variantId, quantity: 2 })
 * await commerce.drafts.overridePrice(draft.id, withLine.lines[0]!.id, { unitPrice: 1500, reason: 'loyal customer', by: 'maria' })
 * const link = await commerce.drafts.paymentLink(draft.id) // holds the stock; send link.token to the customer
 * ```
 */
export class DraftService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /**
   * Opens an empty draft: a cart made by staff, for a customer (optional) in a channel (optional;
   * the currency must be one of its). Lines, addresses and shipping are set with the cart methods
   * on `draft.id`. Nothing is held until {@link DraftService.reserve} or
   * {@link DraftService.paymentLink}. Emits `draft.created`.
   *
   * @example
   * ```ts
   * const draft = await commerce.drafts.create({ currency: 'EUR', createdBy: 'maria', customerId: 'cus_1', email: 'ada@example.com' })
   * await commerce.carts.addItem(draft.id, { variantId, quantity: 1 })
   * ```
   */
  async create(input: CreateDraftInput): Promise<Draft> {
    const data = parseInput(createSchema, input, 'draft')
    const rt = this.#rt
    const now = rt.now()
    const expires = expiryFrom(data.expiresAt, now)
    const stamp = now.toISOString()
    const row: CartTable = {
      id: rt.ids('cart'),
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
      created_at: stamp,
      updated_at: stamp,
      // No token until a payment link is made: the draft is the staff's until then.
      access_token_hash: null,
      kind: 'draft',
      created_by: data.createdBy,
      draft_status: 'open',
      expires_at: expires,
    }
    await transact(rt, async (tx, emit) => {
      if (data.channelId) row.tax_inclusive = await channelForCart(tx, data.channelId, data.currency)
      await tx.insertInto('cw_carts').values(row).execute()
      emit('cart.created', { cartId: row.id, currency: row.currency })
      emit('draft.created', { draftId: row.id, createdBy: data.createdBy, channelId: row.channel_id ?? null, expiresAt: expires })
    })
    return this.get(row.id)
  }

  /**
   * A draft, priced like `carts.get`, with who made it, its state, its expiry and the units it
   * holds. `NOT_FOUND` for an unknown id or a shopper's cart.
   *
   * @example
   * ```ts
   * declare const draftId: string
   * const draft = await commerce.drafts.get(draftId)
   * console.log(draft.totals.total, draft.heldUnits, draft.expiresAt)
   * ```
   */
  async get(draftId: string): Promise<Draft> {
    const id = parseArg(fields.id, draftId, 'draftId')
    const rt = this.#rt
    const found = await read(rt, async (db) => {
      const cart = await loadCart(rt, db, id)
      if (!cart || cart.row.kind !== 'draft') return null
      const held = await db
        .selectFrom('cw_reservations')
        .select((eb) => eb.fn.sum<number | string | null>('quantity').as('units'))
        .where('cart_id', '=', id)
        .where('status', '=', 'held')
        .executeTakeFirst()
      return { cart, held: Number(held?.units ?? 0) }
    })
    if (!found) throw notFound('Draft', id)
    return toDraft(found.cart, await priceCart(rt, found.cart), found.held, rt.now())
  }

  /**
   * Sets the unit price of one line of an open draft (integer minor units), with the reason and who
   * set it: it wins over every price source, and the order line keeps it (`priceOverride`: the
   * price, the one it replaced, who, why, when). Setting it again replaces it. The cart's version
   * moves, as with any change. Emits `draft.price_overridden`.
   *
   * @example
   * ```ts
   * declare const draftId: string, lineId: string
   * const draft = await commerce.drafts.overridePrice(draftId, lineId, { unitPrice: 1500, reason: 'price match', by: 'maria' })
   * draft.lines[0]!.priceOverride // { unitPrice: 1500, from: 1999, reason: 'price match', by: 'maria', at: '…' }
   * ```
   */
  async overridePrice(draftId: string, lineId: string, input: OverridePriceInput): Promise<Draft> {
    const id = parseArg(fields.id, draftId, 'draftId')
    const line = parseArg(fields.id, lineId, 'lineId')
    const data = parseInput(overrideSchema, input, 'priceOverride')
    const rt = this.#rt
    // The price it replaces is the one the line has now, without an earlier override.
    const before = await read(rt, (db) => loadCart(rt, db, id))
    if (!before || before.row.kind !== 'draft') throw notFound('Draft', id)
    const current = before.lines.find((l) => l.id === line)
    if (!current) throw notFound('Cart line', line)
    const now = rt.now().toISOString()
    const override: PriceOverride = { unitPrice: data.unitPrice, from: current.unitPrice, reason: data.reason, by: data.by, at: now }
    await transact(rt, async (tx, emit) => {
      const bumped = await tx
        .updateTable('cw_carts')
        .set({ version: sql`version + 1`, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'open')
        .executeTakeFirst()
      if (Number(bumped.numUpdatedRows) !== 1) {
        throw new CommerceError('INVALID_STATE', `Draft ${id} is ${before.row.status} and can no longer be changed`, { details: { draftId: id, status: before.row.status } })
      }
      const set = await tx.updateTable('cw_cart_lines').set({ price_override: json(override) }).where('id', '=', line).where('cart_id', '=', id).executeTakeFirst()
      if (Number(set.numUpdatedRows) !== 1) throw notFound('Cart line', line)
      emit('draft.price_overridden', { draftId: id, lineId: line, variantId: current.variant_id, unitPrice: data.unitPrice, from: current.unitPrice, by: data.by })
    })
    return this.get(id)
  }

  /**
   * Holds the draft's units until `expiresAt` (given, or the draft's own): what it held before is
   * released and its lines as they now are held again, in one transaction. An expired draft is
   * opened again. `OUT_OF_STOCK` when the stock cannot hold them (nothing changes then). Emits
   * `draft.reserved`.
   *
   * @example
   * ```ts
   * declare const draftId: string
   * const draft = await commerce.drafts.reserve(draftId, { expiresAt: '2026-12-24T12:00:00Z' })
   * draft.heldUnits // the draft's units, counted in the levels' `reserved`
   * ```
   */
  async reserve(draftId: string, input: ReserveDraftInput = {}): Promise<Draft> {
    const id = parseArg(fields.id, draftId, 'draftId')
    const data = parseInput(reserveSchema, input, 'reservation')
    // A past or too distant expiry is refused before the draft is looked up, as any bad input.
    if (data.expiresAt) expiryFrom(data.expiresAt, this.#rt.now())
    await transact(this.#rt, (tx, emit) => this.#hold(tx, emit, id, data.expiresAt))
    return this.get(id)
  }

  /**
   * Opens the draft for payment: holds its units (as {@link DraftService.reserve}) and returns a
   * new access token for its cart, which the customer's storefront opens (`carts.findByToken`) and
   * pays through the normal `checkout.complete`. A new link voids the previous one. The token is in
   * this answer only (its hash is stored). Emits `draft.payment_link_created` (without the token).
   *
   * @example
   * ```ts
   * declare const draftId: string, customerEmail: string
   * declare const mailer: { send(to: string, body: string): Promise<void> }
   * const link = await commerce.drafts.paymentLink(draftId)
   * await mailer.send(customerEmail, `https://shop.example/pay?token=${encodeURIComponent(link.token)}`)
   * ```
   */
  async paymentLink(draftId: string, input: ReserveDraftInput = {}): Promise<DraftPaymentLink> {
    const id = parseArg(fields.id, draftId, 'draftId')
    const data = parseInput(reserveSchema, input, 'reservation')
    const rt = this.#rt
    if (data.expiresAt) expiryFrom(data.expiresAt, rt.now())
    const token = mintAccessToken('cart', id, rt.secretBytes)
    const expires = await transact(rt, async (tx, emit) => {
      const at = await this.#hold(tx, emit, id, data.expiresAt)
      await tx.updateTable('cw_carts').set({ access_token_hash: token.hash }).where('id', '=', id).execute()
      emit('draft.payment_link_created', { draftId: id, expiresAt: at })
      return at
    })
    return { draftId: id, token: token.token, expiresAt: expires }
  }

  async #hold(tx: Tx, emit: Emit, id: string, requested: string | undefined): Promise<string> {
    const rt = this.#rt
    const now = rt.now()
    const row = await draftRow(tx, id, rt.storage.capabilities.rowLocks)
    if (row.status !== 'open') {
      throw new CommerceError('INVALID_STATE', `Draft ${id} is ${row.status}: its stock is no longer held for it`, { details: { draftId: id, status: row.status, orderId: row.order_id } })
    }
    if (row.draft_status === 'discarded') throw new CommerceError('INVALID_STATE', `Draft ${id} was discarded`, { details: { draftId: id, status: 'discarded' } })
    // The draft's own expiry while it runs; a new one when it ran out or one is asked for.
    const keep = !requested && row.draft_status === 'open' && row.expires_at && iso(row.expires_at) > now.toISOString()
    const expires = keep ? iso(row.expires_at!) : expiryFrom(requested, now)
    await releaseStock(rt, tx, { cartId: id })
    await holdLines(rt, tx, emit, row)
    await tx.updateTable('cw_carts').set({ draft_status: 'open', expires_at: expires }).where('id', '=', id).execute()
    emit('draft.reserved', { draftId: id, expiresAt: expires })
    return expires
  }

  /**
   * Discards an open draft: its held units are released, and it can no longer be paid (by link or
   * by `markPaid`). Emits `draft.discarded`. Discarding a discarded draft changes nothing.
   *
   * @example
   * ```ts
   * declare const draftId: string
   * await commerce.drafts.discard(draftId) // the customer changed their mind
   * ```
   */
  async discard(draftId: string): Promise<Draft> {
    const id = parseArg(fields.id, draftId, 'draftId')
    const rt = this.#rt
    await transact(rt, async (tx, emit) => {
      const row = await draftRow(tx, id, rt.storage.capabilities.rowLocks)
      if (row.draft_status === 'discarded') return
      if (row.status !== 'open') {
        throw new CommerceError('INVALID_STATE', `Draft ${id} is ${row.status} and can no longer be discarded`, { details: { draftId: id, status: row.status, orderId: row.order_id } })
      }
      await releaseStock(rt, tx, { cartId: id })
      await tx.updateTable('cw_carts').set({ draft_status: 'discarded', access_token_hash: null, updated_at: rt.now().toISOString() }).where('id', '=', id).execute()
      emit('draft.discarded', { draftId: id })
    })
    return this.get(id)
  }

  /**
   * Places the draft's order paid outside the gateway (cash, bank transfer, card terminal, …): the
   * same claim and placement as a checkout — stock taken (the draft's holds, never twice), plugins'
   * `checkout.claim` and `checkout.place` hooks, one order — with a payment of provider `manual`
   * captured for the order's total and its `method` and `reference` kept in its data. Exactly one
   * order per draft: the same key answers the same order; another key on a placed draft is
   * `INVALID_STATE`, and so is a draft expired, discarded or being paid by its link; `CONFLICT`
   * when the key was used for another cart.
   *
   * @example
   * ```ts
   * declare const draftId: string
   * const order = await commerce.drafts.markPaid(draftId, { method: 'cash', idempotencyKey: crypto.randomUUID() })
   * order.payments[0]!.provider // 'manual'
   * ```
   */
  async markPaid(draftId: string, input: MarkDraftPaidInput): Promise<Order> {
    const id = parseArg(fields.id, draftId, 'draftId')
    const data = parseInput(markPaidSchema, input, 'payment')
    const rt = this.#rt
    for (let attempt = 1; ; attempt++) {
      const before = await read(rt, async (db) => {
        const existing = await db.selectFrom('cw_payments').select(['cart_id', 'provider', 'order_id']).where('idempotency_key', '=', data.idempotencyKey).executeTakeFirst()
        return { existing, cart: existing ? null : await loadCart(rt, db, id) }
      })
      if (before.existing) return this.#replay(before.existing, id)
      if (!before.cart || before.cart.row.kind !== 'draft') throw notFound('Draft', id)
      if (before.cart.row.status === 'completed') {
        // A call with this key may have placed it between the two reads above: read the key again
        // (the payment and the draft's completion commit together), then refuse.
        if (attempt === 1) continue
        throw placedAlready(id, before.cart.row.order_id)
      }
      const priced = await priceCart(rt, before.cart)
      assertPlaceable(rt, priced, before.cart)
      let outcome: { orderId: string } | 'reprice'
      try {
        outcome = await transact(rt, (tx, emit) => this.#place(tx, emit, id, before.cart!, priced, data), { idempotent: true })
      } catch (error) {
        // Another markPaid took this key meanwhile: its answer is the order.
        if (rt.storage.isUniqueViolation((error as { cause?: unknown })?.cause) && attempt < 5) continue
        throw error
      }
      if (outcome === 'reprice') {
        if (attempt >= 25) throw new CommerceError('CONFLICT', `Draft ${id} kept changing while it was marked paid; retry`, { retryable: true, details: { draftId: id } })
        continue
      }
      return (await read(rt, (db) => loadOrder(db, outcome.orderId)))!
    }
  }

  async #replay(existing: { cart_id: string; provider: string; order_id: string | null }, id: string): Promise<Order> {
    assertKeyOwner(existing, id)
    return (await read(this.#rt, (db) => loadOrder(db, existing.order_id!)))!
  }

  async #place(tx: Tx, emit: Emit, id: string, loaded: LoadedCart, priced: Cart, data: z.output<typeof markPaidSchema>): Promise<{ orderId: string } | 'reprice'> {
    const rt = this.#rt
    const existing = await tx.selectFrom('cw_payments').select(['cart_id', 'provider', 'order_id']).where('idempotency_key', '=', data.idempotencyKey).executeTakeFirst()
    if (existing) {
      assertKeyOwner(existing, id)
      return { orderId: existing.order_id! }
    }
    const row = await draftRow(tx, id, rt.storage.capabilities.rowLocks)
    if (row.status === 'completed') {
      // PostgreSQL: a call with this key may have placed it while this one waited for the draft's lock.
      const placedByKey = await tx.selectFrom('cw_payments').select(['cart_id', 'provider', 'order_id']).where('idempotency_key', '=', data.idempotencyKey).executeTakeFirst()
      if (placedByKey) {
        assertKeyOwner(placedByKey, id)
        return { orderId: placedByKey.order_id! }
      }
      throw placedAlready(id, row.order_id)
    }
    if (row.status !== 'open') {
      throw new CommerceError('INVALID_STATE', `Draft ${id} is being paid through its payment link`, { details: { draftId: id, status: row.status } })
    }
    if (row.version !== loaded.row.version) return 'reprice'
    await claimDraftHolds(rt, tx, row)
    const now = rt.now()
    const stamp = now.toISOString()
    const payment: PaymentTable = {
      id: rt.ids('pay'),
      cart_id: id,
      order_id: null,
      kind: 'gateway',
      provider: MANUAL_PROVIDER,
      idempotency_key: data.idempotencyKey,
      status: 'pending',
      currency: priced.currency,
      amount: priced.totals.total,
      authorized_amount: 0,
      captured_amount: 0,
      refunded_amount: 0,
      reference: null,
      failure: null,
      lease_until: null,
      data: json({ method: data.method, ...(data.reference ? { reference: data.reference } : {}) }),
      claim_events: null,
      request_digest: null,
      created_at: stamp,
      updated_at: stamp,
    }
    await tx.insertInto('cw_payments').values(payment).execute()
    await tx.updateTable('cw_carts').set({ status: 'completing', checkout: JSON.stringify(priced), updated_at: stamp }).where('id', '=', id).execute()
    await runClaimHooks(rt, tx, priced, payment)
    const locations = row.channel_id ? await channelLocations(tx, row.channel_id) : null
    const plan = await planReservation(rt, tx, id, loaded.lines.map((l) => ({ variantId: l.variant_id, quantity: l.quantity })), locations)
    await applyReservation(rt, tx, emit, plan)
    const placement = await placeOrder(rt, tx, emit, payment, priced, { status: 'captured', reference: data.reference ?? `manual_${payment.id}` }, null)
    if (placement.kind === 'placed') return { orderId: placement.order.id }
    if (placement.kind === 'exists') return { orderId: placement.orderId }
    throw new CommerceError('INVALID_STATE', `Draft ${id} could not be placed: ${placement.reason}`, { details: { draftId: id } })
  }

  /**
   * Closes drafts past their expiry: their held units are released and they become `expired` (a
   * payment link then refuses to pay; `reserve` opens one again). `checkout.recover` (and so
   * automatic recovery) runs it too. Emits `draft.expired` for each.
   *
   * @example
   * ```ts
   * const { expired } = await commerce.drafts.expire({ limit: 500 })
   * ```
   */
  async expire(input: ExpireDraftsInput = {}): Promise<{ expired: number }> {
    const { limit } = parseInput(expireSchema, input, 'expire')
    return { expired: await expireDrafts(this.#rt, limit) }
  }

}

/**
 * @internal Closes up to `limit` drafts past their expiry, each in its own transaction: held units
 * released, `draft_status` `expired`, `draft.expired`. `drafts.expire` and `checkout.recover` (so
 * automatic recovery, and a host's own recovery timer) run it. Returns how many it closed.
 */
export async function expireDrafts(rt: Runtime, limit: number): Promise<number> {
  const now = rt.now().toISOString()
  const due = await read(rt, (db) =>
    db
      .selectFrom('cw_carts')
      .select('id')
      .where('kind', '=', 'draft')
      .where('draft_status', '=', 'open')
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .execute(),
  )
  let expired = 0
  for (const { id } of due) {
    const done = await transact(rt, async (tx, emit) => {
      const row = await draftRow(tx, id, rt.storage.capabilities.rowLocks)
      // A draft being paid (its claim made after the expiry was read) or extended meanwhile is left alone.
      if (row.status !== 'open' || row.draft_status !== 'open' || !row.expires_at || iso(row.expires_at) > rt.now().toISOString()) return false
      const released = await releaseStock(rt, tx, { cartId: id })
      await tx.updateTable('cw_carts').set({ draft_status: 'expired' }).where('id', '=', id).execute()
      emit('draft.expired', { draftId: id, releasedReservations: released })
      return true
    })
    if (done) expired++
  }
  return expired
}

async function draftRow(tx: Tx, id: string, lock: boolean): Promise<CartTable> {
  let q = tx.selectFrom('cw_carts').selectAll().where('id', '=', id)
  if (lock) q = q.forUpdate()
  const row = await q.executeTakeFirst()
  if (!row || row.kind !== 'draft') throw notFound('Draft', id)
  return row
}

/** A key belongs to the draft and the `manual` payment of its first use: any other use is a `CONFLICT`. */
function assertKeyOwner(existing: { cart_id: string; provider: string; order_id: string | null }, id: string): void {
  if (existing.cart_id !== id) throw new CommerceError('CONFLICT', 'This idempotency key was already used for another cart', { details: { draftId: id } })
  if (existing.provider !== MANUAL_PROVIDER || !existing.order_id) {
    throw new CommerceError('CONFLICT', `This idempotency key was already used with payment provider ${existing.provider}`, { details: { draftId: id, provider: existing.provider } })
  }
}

function placedAlready(id: string, orderId: string | null): CommerceError {
  return new CommerceError('INVALID_STATE', `Draft ${id} was already placed as an order`, { details: { draftId: id, orderId } })
}

/** What a checkout refuses, refused for `markPaid` too: nothing to sell, no email, no shipping where the shop ships, an unsellable line. */
function assertPlaceable(rt: Runtime, cart: Cart, loaded: LoadedCart): void {
  const problems: string[] = []
  if (cart.lines.length === 0) problems.push('the draft is empty')
  if (cart.pricingProblem !== null) problems.push(cart.pricingProblem)
  if (!cart.email) problems.push('an email is required')
  const ships = rt.shipping.length > 0
  if (ships && !cart.shippingAddress) problems.push('a shipping address is required')
  if (ships && !cart.shippingMethod) problems.push('choose a shipping option (or the chosen one is no longer offered)')
  for (const line of loaded.lines) {
    if (line.product_status !== 'active') problems.push(`${line.variant_id} is no longer for sale`)
    if (line.unitPrice === null && !overriddenPrice(line)) problems.push(`${line.variant_id} has no ${cart.currency} price`)
  }
  if (problems.length) throw new CommerceError('INVALID_STATE', `The draft cannot be placed: ${problems.join('; ')}`, { details: { draftId: cart.id, problems } })
}

function toDraft(loaded: LoadedCart, cart: Cart, held: number, now: Date): Draft {
  const { row } = loaded
  // Past its expiry it is expired, whether or not `expire` has released its holds yet.
  const lapsed = row.draft_status === 'open' && (!row.expires_at || iso(row.expires_at) <= now.toISOString())
  return {
    ...cart,
    createdBy: row.created_by ?? '',
    draftStatus: (lapsed ? 'expired' : (row.draft_status ?? 'open')) as DraftStatus,
    expiresAt: row.expires_at ? iso(row.expires_at) : '',
    heldUnits: held,
  }
}
