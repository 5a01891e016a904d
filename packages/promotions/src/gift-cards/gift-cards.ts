import { sql } from 'kysely'
import {
  CommerceError,
  definePlugin,
  notFound,
  validationError,
  type Cart,
  type Commerce,
  type EventsOf,
  type Order,
  type Page,
  type PaymentProvider,
  type PluginContext,
  type PluginTx,
} from '@cartwright/core'
import { generateCode, hashCode, lastFour, maskCode } from './codes.js'
import { giftCardEndpoints } from './endpoints.js'
import {
  MAX_GIFT_CARDS_PER_CART,
  adjustSchema,
  applySchema,
  codeSchema,
  disableSchema,
  giftCardEvents,
  idSchema,
  issueSchema,
  listSchema,
  parse,
  sellAsSchema,
  type AdjustGiftCardInput,
  type AppliedGiftCard,
  type AppliedGiftCards,
  type ApplyGiftCardOptions,
  type GiftCard,
  type GiftCardBalance,
  type GiftCardLedgerEntry,
  type IssueGiftCardInput,
  type IssuedGiftCard,
  type ListGiftCardsInput,
  type SellAsGiftCardOptions,
} from './schemas.js'
import { giftCardMigrations, type GiftCardTables } from './tables.js'

/**
 * The id of the payment provider the plugin contributes: each card a checkout used is a payment of
 * the order with this provider (`kind: 'tender'`, `reference`: the card's id), and refunds of it
 * come back to the card through it.
 *
 * @example
 * ```ts
 * const paidByCard = order.payments.filter((p) => p.provider === GIFT_CARD_PROVIDER).reduce((s, p) => s + p.capturedAmount, 0)
 * ```
 */
export const GIFT_CARD_PROVIDER = 'gift-card'

/**
 * The plugin's own error codes:
 * - `GIFT_CARD_INVALID`: the code cannot be used: unknown, disabled, expired, empty or in another
 *   currency than the cart. One message for all, so that a code cannot be probed.
 * - `GIFT_CARD_INSUFFICIENT`: at checkout, a card no longer holds what it was to pay (another
 *   checkout used it first); or an adjustment would take the balance below zero. The checkout is
 *   refused before the gateway is asked for anything.
 *
 * @example
 * ```ts
 * import { isCommerceError } from '@cartwright/core'
 *
 * declare const shop: CommerceWithGiftCards
 * declare const code: string // as the shopper typed it
 * try {
 *   await shop['gift-cards'].apply(cart.id, code)
 * } catch (error) {
 *   if (isCommerceError<GiftCardErrorCode>(error, 'GIFT_CARD_INVALID')) console.log('This gift card cannot be used')
 *   else throw error
 * }
 * ```
 */
export type GiftCardErrorCode = 'GIFT_CARD_INVALID' | 'GIFT_CARD_INSUFFICIENT'

const errorCodes = {
  GIFT_CARD_INVALID: { description: 'The gift card cannot be used: unknown, disabled, expired, empty or in another currency (one answer for all)' },
  GIFT_CARD_INSUFFICIENT: { description: 'The gift card no longer holds the amount it was to pay, or an adjustment would take its balance below zero' },
} as const

/** The one refusal for a code that cannot be used, whatever the reason. */
const INVALID_MESSAGE = 'This gift card cannot be used'

type Events = EventsOf<typeof giftCardEvents>
type Ctx = PluginContext<GiftCardTables, Events, GiftCardErrorCode>
type Tx = PluginTx<GiftCardTables, Events>
type CardRow = GiftCardTables['gift_cards_cards']

const iso = (value: string | Date | null): string | null => (value === null ? null : value instanceof Date ? value.toISOString() : new Date(value).toISOString())
const isoNotNull = (value: string | Date) => iso(value)!

function toCard(row: CardRow): GiftCard {
  return {
    id: row.id,
    last4: row.last4,
    maskedCode: maskCode(row.last4),
    currency: row.currency,
    initialAmount: Number(row.initial_amount),
    balance: Number(row.balance),
    status: row.status,
    source: row.source,
    note: row.note,
    email: row.email,
    orderId: row.order_id,
    expiresAt: iso(row.expires_at),
    disabledReason: row.disabled_reason,
    createdAt: isoNotNull(row.created_at),
    updatedAt: isoNotNull(row.updated_at),
  }
}

function toEntry(row: GiftCardTables['gift_cards_ledger']): GiftCardLedgerEntry {
  return {
    id: row.id,
    cardId: row.card_id,
    kind: row.kind,
    amount: Number(row.amount),
    paymentId: row.payment_id,
    orderId: row.order_id,
    reason: row.reason,
    createdAt: isoNotNull(row.created_at),
  }
}

const expired = (row: Pick<CardRow, 'expires_at'>, now: Date) => row.expires_at !== null && new Date(row.expires_at).getTime() <= now.getTime()
/** Can pay now: active and not expired (the balance is checked where it is taken). */
const payable = (row: CardRow, now: Date) => row.status === 'active' && !expired(row, now)

/**
 * The gift-card service, reachable as `commerce['gift-cards']`. Staff issue cards and products
 * sell them; shoppers apply them to a cart, and checkout takes each card's part as a tender in its
 * claim; a card's balance never goes below zero and always equals the sum of its ledger.
 */
export interface GiftCardsService {
  /**
   * Issues a card with `amount` (minor units of `currency`) and returns it with its code, the only
   * time the code is shown: only its SHA-256 is stored. The same `idempotencyKey` again answers the
   * same card without its code (and `CONFLICT` if the currency or amount differ). Announces
   * `gift-cards.issued`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * const card = await shop['gift-cards'].issue({ currency: 'EUR', amount: 5000, email: 'ada@example.com', idempotencyKey: 'apology-1042' })
   * console.log(card.code) // 'K7QM-2XRB-9TFA-WH3D'
   * ```
   */
  issue(input: IssueGiftCardInput): Promise<IssuedGiftCard>
  /**
   * Marks a variant as a gift-card product: each unit sold issues a card when its order is paid
   * (its payments all captured), worth `amounts[order currency]` or else the line's unit price,
   * sent to the order's email by `gift-cards.issued`. Calling it again replaces the options.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * await shop['gift-cards'].sellAs(variantId, { amounts: { EUR: 5000 }, expiresInDays: 730 })
   * ```
   */
  sellAs(variantId: string, options?: SellAsGiftCardOptions): Promise<void>
  /**
   * Stops selling a variant as a gift card (orders already placed still issue theirs).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * await shop['gift-cards'].stopSelling(variantId)
   * ```
   */
  stopSelling(variantId: string): Promise<void>
  /**
   * Issues the cards an order bought, if it is paid, and voids them if it was canceled or refunded
   * first; does nothing otherwise, or for cards already issued. The plugin's subscriber calls it on
   * `order.placed`, `payment.captured`, `payment.refunded` and `order.canceled`; staff may call it
   * to retry. Returns the ids of the cards it issued now.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * const issued = await shop['gift-cards'].issueForOrder(order.id)
   * ```
   */
  issueForOrder(orderId: string): Promise<string[]>
  /**
   * Applies a card to a cart by its code. Cards pay in the order they were applied, each up to
   * `options.amount` (or its whole balance), never more than what is left of the total; applying
   * a card again changes its amount. The cart's version moves, so a checkout prices it again.
   * Unknown, disabled, expired, empty and other-currency codes all get `GIFT_CARD_INVALID`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * const applied = await shop['gift-cards'].apply(cart.id, 'k7qm 2xrb 9tfa wh3d', { amount: 1000 })
   * applied.dueAtGateway // the rest, paid with the checkout's payment provider
   * ```
   */
  apply(cartId: string, code: string, options?: ApplyGiftCardOptions): Promise<AppliedGiftCards>
  /**
   * Takes a card off a cart, by its code or its id.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * await shop['gift-cards'].remove(cart.id, 'K7QM-2XRB-9TFA-WH3D')
   * ```
   */
  remove(cartId: string, codeOrCardId: string): Promise<AppliedGiftCards>
  /**
   * The cards applied to a cart and what each would pay now.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * const { cards, dueAtGateway } = await shop['gift-cards'].applied(cart.id)
   * ```
   */
  applied(cartId: string): Promise<AppliedGiftCards>
  /**
   * A card's balance by its full code, for the shopper. Unknown, disabled and expired codes are one
   * `NOT_FOUND`; serve it rate-limited (the store endpoint is).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * const { balance, currency } = await shop['gift-cards'].balance('K7QM-2XRB-9TFA-WH3D')
   * ```
   */
  balance(code: string): Promise<GiftCardBalance>
  /**
   * A card by its id (staff): masked, never its code.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * const card = await shop['gift-cards'].get('gc_1')
   * ```
   */
  get(cardId: string): Promise<GiftCard>
  /**
   * A card by its code (staff, at a till): `NOT_FOUND` when no card has it.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * const card = await shop['gift-cards'].findByCode('K7QM-2XRB-9TFA-WH3D')
   * ```
   */
  findByCode(code: string): Promise<GiftCard>
  /**
   * Cards, oldest first, a page at a time (staff).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * const { items, nextCursor } = await shop['gift-cards'].list({ status: 'active', limit: 50 })
   * ```
   */
  list(input?: ListGiftCardsInput): Promise<Page<GiftCard>>
  /**
   * A card's ledger, oldest first: every movement of its balance, which they add up to.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * const entries = await shop['gift-cards'].ledger('gc_1')
   * ```
   */
  ledger(cardId: string): Promise<GiftCardLedgerEntry[]>
  /**
   * Changes a balance by a signed amount, with a reason kept in the ledger; `GIFT_CARD_INSUFFICIENT`
   * when it would go below zero. The same `idempotencyKey` again changes nothing.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * await shop['gift-cards'].adjust('gc_1', { amount: 500, reason: 'Goodwill', idempotencyKey: 'ticket-88' })
   * ```
   */
  adjust(cardId: string, input: AdjustGiftCardInput): Promise<GiftCard>
  /**
   * Disables a card: it pays nothing more and its code is no longer found (a checkout already past
   * its claim keeps what it took). Refunds still return to it.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * await shop['gift-cards'].disable('gc_1', { reason: 'Reported stolen' })
   * ```
   */
  disable(cardId: string, input?: { reason?: string }): Promise<GiftCard>
  /**
   * Enables a disabled card again.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithGiftCards
   * await shop['gift-cards'].enable('gc_1')
   * ```
   */
  enable(cardId: string): Promise<GiftCard>
}

/**
 * An engine composed with this plugin (and maybe others).
 *
 * @example
 * ```ts
 * async function outstanding(shop: CommerceWithGiftCards, cardId: string): Promise<number> {
 *   return (await shop['gift-cards'].get(cardId)).balance
 * }
 * ```
 */
export type CommerceWithGiftCards = Commerce<[ReturnType<typeof giftCards>]>

/**
 * Gift cards as a plugin (id `gift-cards`, tables `gift_cards_*`): issued by staff or sold as
 * products, redeemed at checkout as a tender (part payment), refunds returning to the card.
 * Compose it with `promotions()` or alone; it needs no options.
 *
 * @example
 * ```ts
 * import { createCommerce, testPayments } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 * import { giftCards } from '@cartwright/promotions'
 *
 * const shop = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), payments: [testPayments()], plugins: [giftCards()] })
 * const card = await shop['gift-cards'].issue({ currency: 'USD', amount: 5000, idempotencyKey: 'k1' })
 * ```
 */
export function giftCards() {
  let ctx: Ctx | null = null
  const context = (): Ctx => {
    if (!ctx) throw new CommerceError('INVALID_STATE', 'gift-cards: the plugin is not set up: compose it with createCommerce first')
    return ctx
  }

  const provider: PaymentProvider = {
    id: GIFT_CARD_PROVIDER,
    capabilities: { capture: false, partialCapture: false, void: false, refund: true },
    async authorize() {
      return { status: 'declined', reason: 'a gift card is applied to a cart (commerce["gift-cards"].apply), not chosen as the checkout provider' }
    },
    // A refund of the card's tender: credited once per key (the engine repeats the key on a retry).
    async refund({ paymentId, idempotencyKey, reference, amount }) {
      const c = context()
      const entryId = await c.transaction(async (tx) => {
        const now = c.now().toISOString()
        const key = `refund:${idempotencyKey}`
        const id = c.newId('gcl')
        // `paymentId` is the card's tender payment: the ledger ties each refund to it.
        const inserted = await tx.db
          .insertInto('gift_cards_ledger')
          .values({ id, card_id: reference, kind: 'refund', amount, payment_id: paymentId, order_id: null, key, reason: null, created_at: now })
          .onConflict((oc) => oc.column('key').doNothing())
          .executeTakeFirst()
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) {
          return (await tx.db.selectFrom('gift_cards_ledger').select('id').where('key', '=', key).executeTakeFirstOrThrow()).id
        }
        const credited = await tx.db
          .updateTable('gift_cards_cards')
          .set({ balance: sql`balance + ${amount}`, updated_at: now })
          .where('id', '=', reference)
          .executeTakeFirst()
        if (Number(credited.numUpdatedRows) !== 1) throw new Error(`gift card ${reference} of payment ${paymentId} does not exist`)
        return id
      })
      return { status: 'succeeded', reference: entryId }
    },
  }

  return definePlugin({
    id: 'gift-cards',
    events: giftCardEvents,
    errorCodes,
    payments: [provider],
    endpoints: giftCardEndpoints,
    migrations: giftCardMigrations,
    subscribers: [
      {
        id: 'gift-cards.issue-sold-cards',
        events: ['order.placed', 'payment.captured', 'payment.refunded', 'order.canceled'],
        async handle(event) {
          // Several events may concern one order, and each may come twice: issuing is idempotent per unit sold.
          const orderId =
            event.type === 'order.placed'
              ? event.payload.order.id
              : event.type === 'order.canceled'
                ? event.payload.orderId
                : event.type === 'payment.captured' || event.type === 'payment.refunded'
                  ? event.payload.payment.orderId
                  : null
          if (orderId) await settleSales(context(), orderId)
        },
      },
    ],
    init(pluginContext: Ctx): GiftCardsService {
      ctx = pluginContext
      const c = pluginContext
      registerCheckoutHooks(c)
      c.privacy({
        export: async ({ email }, db) => {
          if (!email) return undefined
          const rows = await db.selectFrom('gift_cards_cards').selectAll().where(sql<boolean>`lower(email) = ${email.toLowerCase()}`).orderBy('id').execute()
          if (rows.length === 0) return undefined
          return rows.map(toCard).map(({ id, maskedCode, currency, balance, initialAmount, expiresAt, createdAt }) => ({ id, maskedCode, currency, balance, initialAmount, expiresAt, createdAt }))
        },
        erase: async ({ email }, tx) => {
          if (!email) return
          // The cards keep their balance (it is money the holder owns); only who they were sent to goes.
          await tx.db.updateTable('gift_cards_cards').set({ email: null }).where(sql<boolean>`lower(email) = ${email.toLowerCase()}`).execute()
          await tx.db.updateTable('gift_cards_sales').set({ email: null }).where(sql<boolean>`lower(email) = ${email.toLowerCase()}`).execute()
        },
      })
      return service(c)
    },
  })
}

/** The checkout's transactional hooks: take at claim, link at placement, give back at a decline. */
function registerCheckoutHooks(c: Ctx): void {
  c.hooks.hook('checkout.claim', async ({ cart, paymentId, tenders }, tx) => {
    const applied = await tx.db.selectFrom('gift_cards_applied').selectAll().where('cart_id', '=', cart.id).orderBy('position').orderBy('card_id').execute()
    if (applied.length === 0) return
    const now = c.now()
    const stamp = now.toISOString()
    // What other plugins' tenders already pay is not the cards' to pay.
    let left = cart.totals.total - tenders.reduce((sum, t) => sum + t.amount, 0)
    for (const use of applied) {
      if (left <= 0) break
      const card = await tx.db.selectFrom('gift_cards_cards').selectAll().where('id', '=', use.card_id).executeTakeFirst()
      if (!card || card.currency !== cart.currency || !payable(card, now)) {
        throw c.error('GIFT_CARD_INVALID', `${INVALID_MESSAGE} (card ending ${card?.last4 ?? '????'})`, { details: { cardId: use.card_id } })
      }
      const balance = Number(card.balance)
      const amount = Math.min(use.amount === null ? balance : Number(use.amount), left)
      // Taken like stock: a conditional update, refused when the card no longer holds the amount.
      const taken =
        amount > 0
          ? await tx.db
              .updateTable('gift_cards_cards')
              .set({ balance: sql`balance - ${amount}`, updated_at: stamp })
              .where('id', '=', card.id)
              .where('status', '=', 'active')
              .where('balance', '>=', amount)
              .executeTakeFirst()
          : { numUpdatedRows: 0n }
      if (Number(taken.numUpdatedRows) !== 1) {
        throw c.error('GIFT_CARD_INSUFFICIENT', `The gift card ending ${card.last4} no longer holds ${amount}`, { details: { cardId: card.id, amount } })
      }
      await tx.db.insertInto('gift_cards_holds').values({ payment_id: paymentId, card_id: card.id, cart_id: cart.id, amount, order_id: null, status: 'held', created_at: stamp }).execute()
      await tx.db
        .insertInto('gift_cards_ledger')
        .values({ id: c.newId('gcl'), card_id: card.id, kind: 'redeem', amount: -amount, payment_id: paymentId, order_id: null, key: null, reason: null, created_at: stamp })
        .execute()
      tenders.push({ provider: GIFT_CARD_PROVIDER, reference: card.id, amount })
      left -= amount
    }
  })

  c.hooks.hook('checkout.place', async ({ order, paymentId }, tx) => {
    const holds = await tx.db.selectFrom('gift_cards_holds').selectAll().where('payment_id', '=', paymentId).where('status', '=', 'held').orderBy('card_id').execute()
    if (holds.length) {
      await tx.db.updateTable('gift_cards_holds').set({ status: 'placed', order_id: order.id }).where('payment_id', '=', paymentId).where('status', '=', 'held').execute()
      await tx.db.updateTable('gift_cards_ledger').set({ order_id: order.id }).where('payment_id', '=', paymentId).where('kind', '=', 'redeem').execute()
      await tx.db.deleteFrom('gift_cards_applied').where('cart_id', '=', order.cartId).execute()
      for (const hold of holds) tx.emit('gift-cards.redeemed', { cardId: hold.card_id, orderId: order.id, paymentId, amount: Number(hold.amount) })
    }
    await recordSales(c, tx, order)
  })

  c.hooks.hook('checkout.release', async ({ paymentId, reason }, tx) => {
    // Once placed, a card's tender comes back by refund (orders.cancel refunds every payment).
    if (reason !== 'declined') return
    const holds = await tx.db.selectFrom('gift_cards_holds').selectAll().where('payment_id', '=', paymentId).where('status', '=', 'held').orderBy('card_id').execute()
    const stamp = c.now().toISOString()
    for (const hold of holds) {
      const released = await tx.db
        .updateTable('gift_cards_holds')
        .set({ status: 'released' })
        .where('payment_id', '=', paymentId)
        .where('card_id', '=', hold.card_id)
        .where('status', '=', 'held')
        .executeTakeFirst()
      if (Number(released.numUpdatedRows) !== 1) continue
      await tx.db.updateTable('gift_cards_cards').set({ balance: sql`balance + ${Number(hold.amount)}`, updated_at: stamp }).where('id', '=', hold.card_id).execute()
      await tx.db
        .insertInto('gift_cards_ledger')
        .values({ id: c.newId('gcl'), card_id: hold.card_id, kind: 'release', amount: Number(hold.amount), payment_id: paymentId, order_id: null, key: null, reason: null, created_at: stamp })
        .execute()
    }
  })
}

/** In the placement's transaction: one pending sale per gift-card unit the order bought. */
async function recordSales(c: Ctx, tx: Tx, order: Order): Promise<void> {
  const variantIds = [...new Set(order.lines.map((l) => l.variantId))]
  if (variantIds.length === 0) return
  const products = await tx.db.selectFrom('gift_cards_products').selectAll().where('variant_id', 'in', variantIds).execute()
  if (products.length === 0) return
  const byVariant = new Map(products.map((p) => [p.variant_id, p]))
  const stamp = c.now().toISOString()
  const rows: Array<GiftCardTables['gift_cards_sales']> = []
  for (const line of order.lines) {
    const product = byVariant.get(line.variantId)
    if (!product) continue
    const fixed = product.amounts ? (JSON.parse(product.amounts) as Record<string, number>)[order.currency] : undefined
    const amount = fixed ?? line.unitPrice
    if (!(amount > 0)) continue
    for (let unit = 1; unit <= line.quantity; unit++) {
      rows.push({
        id: c.newId('gcs'),
        order_id: order.id,
        line_id: line.id,
        unit,
        currency: order.currency,
        amount,
        email: order.email,
        expires_in_days: product.expires_in_days,
        status: 'pending',
        card_id: null,
        created_at: stamp,
        updated_at: stamp,
      })
    }
  }
  for (let i = 0; i < rows.length; i += 100) await tx.db.insertInto('gift_cards_sales').values(rows.slice(i, i + 100)).execute()
}

/**
 * Issues an order's pending sales once it is paid (every payment captured), or voids them once it
 * was canceled or refunded; leaves them pending otherwise. Each unit is issued at most once: the
 * sale's status moves from `pending` under a condition, in the transaction that writes the card.
 */
async function settleSales(c: Ctx, orderId: string): Promise<string[]> {
  const pending = await c.db.selectFrom('gift_cards_sales').selectAll().where('order_id', '=', orderId).where('status', '=', 'pending').orderBy('line_id').orderBy('unit').execute()
  if (pending.length === 0) return []
  const order = await c.commerce.orders.get(orderId)
  const stamp = () => c.now().toISOString()
  if (order.status === 'canceled' || order.paymentStatus === 'refunded' || order.paymentStatus === 'partially_refunded' || order.paymentStatus === 'voided') {
    await c.transaction(async (tx) => {
      await tx.db.updateTable('gift_cards_sales').set({ status: 'void', updated_at: stamp() }).where('order_id', '=', orderId).where('status', '=', 'pending').execute()
    })
    return []
  }
  if (order.paymentStatus !== 'captured') return []
  const issued: string[] = []
  for (const sale of pending) {
    const cardId = await c.transaction(async (tx) => {
      const now = c.now()
      const id = c.newId('gc')
      const moved = await tx.db
        .updateTable('gift_cards_sales')
        .set({ status: 'issued', card_id: id, updated_at: now.toISOString() })
        .where('id', '=', sale.id)
        .where('status', '=', 'pending')
        .executeTakeFirst()
      if (Number(moved.numUpdatedRows) !== 1) return null
      const expiresAt = sale.expires_in_days === null ? null : new Date(now.getTime() + sale.expires_in_days * 86_400_000).toISOString()
      await createCard(c, tx, now, {
        id,
        currency: sale.currency,
        amount: Number(sale.amount),
        email: sale.email,
        note: null,
        expiresAt,
        source: 'order',
        orderId,
        key: `sale:${sale.id}`,
      })
      return id
    })
    if (cardId) issued.push(cardId)
  }
  return issued
}

interface NewCard {
  id: string
  currency: string
  amount: number
  email: string | null
  note: string | null
  expiresAt: string | null
  source: 'staff' | 'order'
  orderId: string | null
  key: string
}

/** Writes a card with its `issue` entry and announces it; null when a card with `key` exists already. */
async function createCard(c: Ctx, tx: Tx, now: Date, card: NewCard): Promise<{ row: CardRow; code: string } | null> {
  const code = generateCode()
  const stamp = now.toISOString()
  const row: CardRow = {
    id: card.id,
    code_hash: hashCode(code),
    last4: lastFour(code),
    currency: card.currency,
    initial_amount: card.amount,
    balance: card.amount,
    status: 'active',
    source: card.source,
    note: card.note,
    email: card.email,
    order_id: card.orderId,
    idempotency_key: card.key,
    expires_at: card.expiresAt,
    disabled_reason: null,
    created_at: stamp,
    updated_at: stamp,
  }
  const inserted = await tx.db
    .insertInto('gift_cards_cards')
    .values(row)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .executeTakeFirst()
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) return null
  await tx.db
    .insertInto('gift_cards_ledger')
    .values({ id: c.newId('gcl'), card_id: card.id, kind: 'issue', amount: card.amount, payment_id: null, order_id: card.orderId, key: null, reason: null, created_at: stamp })
    .execute()
  tx.emit('gift-cards.issued', {
    cardId: card.id,
    code,
    last4: row.last4,
    currency: card.currency,
    amount: card.amount,
    email: card.email,
    orderId: card.orderId,
    expiresAt: card.expiresAt,
  })
  return { row, code }
}

function service(c: Ctx): GiftCardsService {
  const cardById = async (cardId: string): Promise<CardRow> => {
    const id = parse(idSchema, cardId, 'gift card id', 'cardId')
    const row = await c.db.selectFrom('gift_cards_cards').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw notFound('Gift card', id)
    return row
  }
  const cardByCode = (code: string) => c.db.selectFrom('gift_cards_cards').selectAll().where('code_hash', '=', hashCode(code)).executeTakeFirst()
  const openCart = async (cartId: string): Promise<Cart> => {
    const cart = await c.commerce.carts.get(parse(idSchema, cartId, 'cart id', 'cartId'))
    if (cart.status !== 'open') throw new CommerceError('INVALID_STATE', `Cart ${cart.id} is ${cart.status}: gift cards are applied to open carts`, { details: { cartId: cart.id, status: cart.status } })
    return cart
  }

  async function applied(cart: Cart): Promise<AppliedGiftCards> {
    const rows = await c.db
      .selectFrom('gift_cards_applied as a')
      .innerJoin('gift_cards_cards as g', 'g.id', 'a.card_id')
      .select(['a.card_id', 'a.amount', 'g.last4', 'g.balance', 'g.status', 'g.expires_at', 'g.currency'])
      .where('a.cart_id', '=', cart.id)
      .orderBy('a.position')
      .orderBy('a.card_id')
      .execute()
    const now = c.now()
    let left = cart.totals.total
    const cards: AppliedGiftCard[] = rows.map((r) => {
      const balance = Number(r.balance)
      const usable = r.status === 'active' && !expired(r, now) && r.currency === cart.currency
      const amount = usable ? Math.max(0, Math.min(r.amount === null ? balance : Number(r.amount), balance, left)) : 0
      left -= amount
      return { cardId: r.card_id, last4: r.last4, maskedCode: maskCode(r.last4), requested: r.amount === null ? null : Number(r.amount), amount, balance, usable }
    })
    return { cartId: cart.id, currency: cart.currency, total: cart.totals.total, cards, dueAtGateway: left }
  }

  return {
    async issue(input) {
      const data = parse(issueSchema, input, 'gift card')
      const now = c.now()
      if (data.expiresAt && new Date(data.expiresAt).getTime() <= now.getTime()) {
        throw validationError('gift card', [{ path: 'expiresAt', message: 'must be in the future' }])
      }
      const replay = async () => {
        const row = await c.db.selectFrom('gift_cards_cards').selectAll().where('idempotency_key', '=', `staff:${data.idempotencyKey}`).executeTakeFirstOrThrow()
        if (row.currency !== data.currency || Number(row.initial_amount) !== data.amount) {
          throw new CommerceError('CONFLICT', 'This idempotency key was already used to issue another gift card', { details: { cardId: row.id } })
        }
        return toCard(row)
      }
      const existing = await c.db.selectFrom('gift_cards_cards').select('id').where('idempotency_key', '=', `staff:${data.idempotencyKey}`).executeTakeFirst()
      if (existing) return replay()
      const created = await c.transaction((tx) =>
        createCard(c, tx, c.now(), {
          id: c.newId('gc'),
          currency: data.currency,
          amount: data.amount,
          email: data.email ?? null,
          note: data.note ?? null,
          expiresAt: data.expiresAt ? new Date(data.expiresAt).toISOString() : null,
          source: 'staff',
          orderId: null,
          key: `staff:${data.idempotencyKey}`,
        }),
      )
      if (!created) return replay()
      return { ...toCard(created.row), code: created.code }
    },

    async sellAs(variantId, options = {}) {
      const id = parse(idSchema, variantId, 'variant id', 'variantId')
      const data = parse(sellAsSchema, options, 'gift card product')
      await c.commerce.catalog.getVariant(id)
      const values = { amounts: data.amounts ? JSON.stringify(data.amounts) : null, expires_in_days: data.expiresInDays ?? null }
      await c.transaction(async (tx) => {
        await tx.db
          .insertInto('gift_cards_products')
          .values({ variant_id: id, ...values, created_at: c.now().toISOString() })
          .onConflict((oc) => oc.column('variant_id').doUpdateSet(values))
          .execute()
      })
    },

    async stopSelling(variantId) {
      const id = parse(idSchema, variantId, 'variant id', 'variantId')
      await c.transaction(async (tx) => {
        await tx.db.deleteFrom('gift_cards_products').where('variant_id', '=', id).execute()
      })
    },

    async issueForOrder(orderId) {
      const id = parse(idSchema, orderId, 'order id', 'orderId')
      await c.commerce.orders.get(id)
      return settleSales(c, id)
    },

    async apply(cartId, code, options = {}) {
      const data = parse(applySchema, options, 'gift card use')
      const plain = parse(codeSchema, code, 'gift card code', 'code')
      const cart = await openCart(cartId)
      await c.transaction(async (tx) => {
        const card = await tx.db.selectFrom('gift_cards_cards').selectAll().where('code_hash', '=', hashCode(plain)).executeTakeFirst()
        // One answer for every reason a code cannot be used: a code cannot be probed for what is wrong with it.
        if (!card || !payable(card, c.now()) || Number(card.balance) <= 0 || card.currency !== cart.currency) {
          throw c.error('GIFT_CARD_INVALID', INVALID_MESSAGE)
        }
        const current = await tx.db.selectFrom('gift_cards_applied').select(['card_id', 'position']).where('cart_id', '=', cart.id).execute()
        if (!current.some((a) => a.card_id === card.id) && current.length >= MAX_GIFT_CARDS_PER_CART) {
          throw new CommerceError('INVALID_STATE', `A cart can carry at most ${MAX_GIFT_CARDS_PER_CART} gift cards`, { details: { cartId: cart.id } })
        }
        const position = current.reduce((max, a) => Math.max(max, Number(a.position)), 0) + 1
        // Applied again (or twice at once): the card keeps its place and takes the new amount.
        await tx.db
          .insertInto('gift_cards_applied')
          .values({ cart_id: cart.id, card_id: card.id, amount: data.amount ?? null, position, created_at: c.now().toISOString() })
          .onConflict((oc) => oc.columns(['cart_id', 'card_id']).doUpdateSet({ amount: data.amount ?? null }))
          .execute()
        await tx.touchCart(cart.id)
      })
      return applied(await c.commerce.carts.get(cart.id))
    },

    async remove(cartId, codeOrCardId) {
      const value = parse(codeSchema, codeOrCardId, 'gift card code', 'code')
      const cart = await openCart(cartId)
      await c.transaction(async (tx) => {
        const byCode = await tx.db.selectFrom('gift_cards_cards').select('id').where('code_hash', '=', hashCode(value)).executeTakeFirst()
        const cardId = byCode?.id ?? value
        const removed = await tx.db.deleteFrom('gift_cards_applied').where('cart_id', '=', cart.id).where('card_id', '=', cardId).executeTakeFirst()
        if (Number(removed.numDeletedRows) === 0) throw notFound('Gift card on cart', cart.id)
        await tx.touchCart(cart.id)
      })
      return applied(await c.commerce.carts.get(cart.id))
    },

    async applied(cartId) {
      return applied(await c.commerce.carts.get(parse(idSchema, cartId, 'cart id', 'cartId')))
    },

    async balance(code) {
      const plain = parse(codeSchema, code, 'gift card code', 'code')
      const card = await cardByCode(plain)
      if (!card || !payable(card, c.now())) throw notFound('Gift card', lastFour(plain))
      return { last4: card.last4, currency: card.currency, balance: Number(card.balance), expiresAt: iso(card.expires_at) }
    },

    async get(cardId) {
      return toCard(await cardById(cardId))
    },

    async findByCode(code) {
      const plain = parse(codeSchema, code, 'gift card code', 'code')
      const card = await cardByCode(plain)
      if (!card) throw notFound('Gift card', lastFour(plain))
      return toCard(card)
    },

    async list(input = {}) {
      const data = parse(listSchema, input, 'gift card list')
      let q = c.db.selectFrom('gift_cards_cards').selectAll().orderBy('id').limit(data.limit + 1)
      if (data.status) q = q.where('status', '=', data.status)
      if (data.source) q = q.where('source', '=', data.source)
      if (data.cursor) q = q.where('id', '>', data.cursor)
      const rows = await q.execute()
      const items = rows.slice(0, data.limit).map(toCard)
      return { items, nextCursor: rows.length > data.limit ? items[items.length - 1]!.id : null }
    },

    async ledger(cardId) {
      const card = await cardById(cardId)
      const rows = await c.db.selectFrom('gift_cards_ledger').selectAll().where('card_id', '=', card.id).orderBy('created_at').orderBy('id').execute()
      return rows.map(toEntry)
    },

    async adjust(cardId, input) {
      const card = await cardById(cardId)
      const data = parse(adjustSchema, input, 'gift card adjustment')
      await c.transaction(async (tx) => {
        const stamp = c.now().toISOString()
        const inserted = await tx.db
          .insertInto('gift_cards_ledger')
          .values({ id: c.newId('gcl'), card_id: card.id, kind: 'adjust', amount: data.amount, payment_id: null, order_id: null, key: `adjust:${data.idempotencyKey}`, reason: data.reason, created_at: stamp })
          .onConflict((oc) => oc.column('key').doNothing())
          .executeTakeFirst()
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) return // a replay: the first call moved the balance
        let update = tx.db.updateTable('gift_cards_cards').set({ balance: sql`balance + ${data.amount}`, updated_at: stamp }).where('id', '=', card.id)
        if (data.amount < 0) update = update.where('balance', '>=', -data.amount)
        const moved = await update.executeTakeFirst()
        if (Number(moved.numUpdatedRows) !== 1) {
          throw c.error('GIFT_CARD_INSUFFICIENT', `The gift card ending ${card.last4} holds less than ${-data.amount}`, { details: { cardId: card.id, amount: data.amount } })
        }
      })
      return toCard(await cardById(card.id))
    },

    async disable(cardId, input = {}) {
      const card = await cardById(cardId)
      const data = parse(disableSchema, input, 'gift card')
      await c.transaction(async (tx) => {
        await tx.db.updateTable('gift_cards_cards').set({ status: 'disabled', disabled_reason: data.reason ?? null, updated_at: c.now().toISOString() }).where('id', '=', card.id).execute()
      })
      return toCard(await cardById(card.id))
    },

    async enable(cardId) {
      const card = await cardById(cardId)
      await c.transaction(async (tx) => {
        await tx.db.updateTable('gift_cards_cards').set({ status: 'active', disabled_reason: null, updated_at: c.now().toISOString() }).where('id', '=', card.id).execute()
      })
      return toCard(await cardById(card.id))
    },
  }
}
