import { createHash } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { z } from 'zod'
import {
  catalogFacts,
  CommerceError,
  type Commerce,
  definePlugin,
  notFound,
  validationError,
  type Cart,
  type EventsOf,
  type Page,
  type PluginContext,
  type PluginTx,
} from '@cartwright/core'
import { codeHash, codeHint, normalizeCode, randomCode } from './codes.js'
import { promotionEndpoints } from './endpoints.js'
import { selectPromotions, selectShippingPromotions, type Conditions, type Discount, type RuleCart, type RulePromotion } from './rules.js'
import {
  createSchema,
  generateSchema,
  idSchema,
  listSchema,
  MAX_CODES_PER_CART,
  promotionEvents,
  updateSchema,
  type CreatePromotionInput,
  type GenerateCodesInput,
  type ListPromotionsInput,
  type Promotion,
  type PromotionUsage,
  type UpdatePromotionInput,
} from './schemas.js'

type Timestamp = string | Date

/**
 * The plugin's tables (prefix `promotions_`). Codes are kept only as the SHA-256 of their
 * normalized form (`promotions_codes.code_hash`): a generated code is a bearer secret worth money,
 * shown once by `generateCodes`, like an access token. A merchant-chosen code (`create({ code })`)
 * is marketing text and is also kept as written on the promotion, for the admin. Per-customer
 * counts are keyed by the SHA-256 of `customer:<id>` or `email:<lower-cased email>`: no email is
 * stored.
 *
 * @example
 * ```ts
 * import type { Kysely } from 'kysely'
 *
 * declare const db: Kysely<PromotionTables>
 * const live = await db.selectFrom('promotions_promotions').select(['id', 'name', 'used']).where('active', '=', 1).execute()
 * ```
 */
export interface PromotionTables {
  promotions_promotions: {
    id: string
    name: string
    automatic: number
    /** The merchant-chosen code as written, or null. */
    code: string | null
    /** JSON: {@link Discount}. */
    discount: string
    /** JSON: {@link Conditions}. */
    conditions: string
    starts_at: Timestamp | null
    ends_at: Timestamp | null
    stacking: string
    priority: number
    usage_limit: number | null
    per_customer_limit: number | null
    used: number
    active: number
    created_at: Timestamp
    updated_at: Timestamp
  }
  promotions_codes: { code_hash: string; promotion_id: string; hint: string; usage_limit: number | null; used: number; created_at: Timestamp }
  /** The codes entered on open carts. */
  promotions_applied: { cart_id: string; code_hash: string; code: string; promotion_id: string; applied_at: Timestamp }
  promotions_customer_uses: { promotion_id: string; customer_key: string; used: number }
  /** One row per promotion a claim used; `released_at` set when given back. */
  promotions_uses: {
    id: string
    payment_id: string
    promotion_id: string
    code_hash: string | null
    code: string | null
    customer_key: string | null
    cart_id: string
    order_id: string | null
    amount: number
    claimed_at: Timestamp
    released_at: Timestamp | null
  }
}

/**
 * The plugin's error codes. `PROMOTION_CODE_REFUSED` is the one answer to a code that cannot be
 * applied, whatever the reason (unknown, not started, ended, used up, below its minimum): the same
 * code and message, so codes cannot be enumerated. `PROMOTION_UNAVAILABLE` fails a checkout, before
 * any payment, whose promotion can no longer be honoured (its last use was taken meanwhile, it was
 * deactivated or ended).
 *
 * @example
 * ```ts
 * import { isCommerceError } from '@cartwright/core'
 *
 * function explain(error: unknown) {
 *   if (isCommerceError<PromotionErrorCode>(error, 'PROMOTION_UNAVAILABLE')) return 'remove the code and try again'
 * }
 * ```
 */
export type PromotionErrorCode = 'PROMOTION_CODE_REFUSED' | 'PROMOTION_UNAVAILABLE'

const errorCodes = {
  PROMOTION_CODE_REFUSED: { description: 'The code cannot be applied to this cart (unknown, not started, ended, used up or below its minimum)' },
  PROMOTION_UNAVAILABLE: { description: "A promotion on the cart can no longer be honoured (used up, ended or deactivated): the checkout was refused before any payment" },
} as const

/**
 * The one message of {@link PromotionErrorCode} `PROMOTION_CODE_REFUSED`, whatever the reason.
 *
 * @example
 * ```ts
 * const say = (message: string) => (message === CODE_REFUSED_MESSAGE ? 'Check the code and try again' : message)
 * ```
 */
export const CODE_REFUSED_MESSAGE = 'This code cannot be applied to this cart'

/**
 * Options of {@link promotions}: none yet; the promotions themselves are data (`commerce.promotions.create`).
 *
 * @example
 * ```ts
 * const options: PromotionsOptions = {}
 * const plugin = promotions(options)
 * ```
 */
export interface PromotionsOptions {}

/**
 * An engine composed with this plugin (and maybe others): what a host passes to code that uses
 * `commerce.promotions`.
 *
 * @example
 * ```ts
 * async function enter(shop: CommerceWithPromotions, cartId: string, code: string) {
 *   return (await shop.promotions.applyCode(cartId, code)).codes
 * }
 * ```
 */
export type CommerceWithPromotions = Commerce<[ReturnType<typeof promotions>]>

/**
 * The codes entered on a cart, normalized (upper case, without spaces or `-`), in the order entered.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithPromotions
 * const { codes }: AppliedCodes = await shop.promotions.codes(cart.id)
 * ```
 */
export interface AppliedCodes {
  cartId: string
  codes: string[]
}

/**
 * The `commerce.promotions` service.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithPromotions
 * const promo = await shop.promotions.create({ name: '10% off', code: 'TEN', discount: { type: 'percentage', percent: '10' }, usageLimit: 500 })
 * await shop.promotions.applyCode(cart.id, 'ten')
 * const { used, remaining } = await shop.promotions.usage(promo.id)
 * ```
 */
export interface PromotionsService {
  /** Creates a promotion; `VALIDATION` naming the field on bad input, nothing stored. */
  create(input: CreatePromotionInput): Promise<Promotion>
  /** Changes the fields given. */
  update(promotionId: string, input: UpdatePromotionInput): Promise<Promotion>
  /** Stops a promotion: it no longer prices carts, and a checkout that still carries it is refused. */
  deactivate(promotionId: string): Promise<Promotion>
  get(promotionId: string): Promise<Promotion>
  /** Promotions by id, 20 a page by default. */
  list(input?: ListPromotionsInput): Promise<Page<Promotion>>
  usage(promotionId: string): Promise<PromotionUsage>
  /** New random codes for a code promotion, returned once: only their hashes are kept. */
  generateCodes(promotionId: string, input: GenerateCodesInput): Promise<{ promotionId: string; codes: string[] }>
  /** Enters a code on an open cart (case-insensitive); refused with `PROMOTION_CODE_REFUSED`. */
  applyCode(cartId: string, code: string): Promise<AppliedCodes>
  /** Takes a code off a cart; nothing happens when it was not on it. */
  removeCode(cartId: string, code: string): Promise<AppliedCodes>
  /** The codes entered on a cart. */
  codes(cartId: string): Promise<AppliedCodes>
}

type Ctx = PluginContext<PromotionTables, EventsOf<typeof promotionEvents>, PromotionErrorCode>
type Row = PromotionTables['promotions_promotions']

const iso = (t: Timestamp | null): string | null => (t === null ? null : new Date(t).toISOString())
const num = (v: unknown): number => Number(v)
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

function toPromotion(r: Row): Promotion {
  return {
    id: r.id,
    name: r.name,
    automatic: num(r.automatic) === 1,
    code: r.code,
    discount: JSON.parse(r.discount) as Discount,
    conditions: JSON.parse(r.conditions) as Conditions,
    startsAt: iso(r.starts_at),
    endsAt: iso(r.ends_at),
    stacking: r.stacking as Promotion['stacking'],
    priority: num(r.priority),
    usageLimit: numOrNull(r.usage_limit),
    perCustomerLimit: numOrNull(r.per_customer_limit),
    used: num(r.used),
    active: num(r.active) === 1,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  }
}

/** True when the promotion runs at `now`: active, started, not ended. */
function running(r: Row, now: Date): boolean {
  if (num(r.active) !== 1) return false
  if (r.starts_at !== null && new Date(r.starts_at).getTime() > now.getTime()) return false
  if (r.ends_at !== null && new Date(r.ends_at).getTime() <= now.getTime()) return false
  return true
}

/**
 * Whose uses a per-customer limit counts: the signed-in customer (`customer:<id>`), else the
 * guest's email in lower case (`email:<email>`), as SHA-256 hex; null when the cart has neither.
 * `promotions.usage` lists per-customer counts under these keys.
 *
 * @example
 * ```ts
 * customerKey({ customerId: null, email: 'Ada@Example.com' }) === customerKey({ customerId: null, email: 'ada@example.com' }) // true
 * ```
 */
export function customerKey(cart: { customerId: string | null; email: string | null }): string | null {
  const key = cart.customerId ? `customer:${cart.customerId}` : cart.email ? `email:${cart.email.trim().toLowerCase()}` : null
  return key === null ? null : createHash('sha256').update(key).digest('hex')
}

function parse<S extends z.ZodType>(schema: S, input: unknown, subject: string): z.output<S> {
  const parsed = schema.safeParse(input)
  if (!parsed.success) throw validationError(subject, parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })))
  return parsed.data
}

function parseId(value: unknown, field: string): string {
  const parsed = idSchema.safeParse(value)
  if (!parsed.success) throw validationError('argument', [{ path: field, message: 'must be an id (1 to 64 characters)' }])
  return parsed.data
}

/** A code as given to applyCode/removeCode: any string (too long is simply unknown), else `VALIDATION`. */
function parseCode(value: unknown): string {
  if (typeof value !== 'string') throw validationError('argument', [{ path: 'code', message: 'must be a string' }])
  return value
}

/** The promotions a pricing loaded in `cart.adjust`, kept for its `cart.adjustShipping` (the same cart object). */
interface Loaded {
  list: RulePromotion[]
  ruleCart: RuleCart
}

/**
 * Coupon codes and automatic promotions as a plugin (id `promotions`): percentage or fixed off the
 * order or off matching lines, off shipping or free shipping, buy X get Y; conditions on subtotal,
 * products, variants, collections, tags, customer groups and dates; exclusive or combinable with a
 * priority; usage limits in all and per customer, taken in the checkout's claim transaction and
 * given back when its payment is declined or its order canceled. See the README for the rules.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { promotions } from '@cartwright/promotions'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), plugins: [promotions()] })
 * await commerce.promotions.create({ name: 'Spring', code: 'SPRING', discount: { type: 'percentage', percent: '15' }, usageLimit: 100 })
 * ```
 */
export function promotions(_options: PromotionsOptions = {}) {
  return definePlugin({
    id: 'promotions',
    events: promotionEvents,
    errorCodes,
    endpoints: promotionEndpoints,
    migrations: {
      '0001_promotions': {
        async up(db, { types }) {
          await db.schema
            .createTable('promotions_promotions')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('name', 'text', (c) => c.notNull())
            .addColumn('automatic', 'integer', (c) => c.notNull())
            .addColumn('code', 'text')
            .addColumn('discount', 'text', (c) => c.notNull())
            .addColumn('conditions', 'text', (c) => c.notNull())
            .addColumn('starts_at', types.timestamp)
            .addColumn('ends_at', types.timestamp)
            .addColumn('stacking', 'text', (c) => c.notNull())
            .addColumn('priority', 'integer', (c) => c.notNull())
            .addColumn('usage_limit', 'integer')
            .addColumn('per_customer_limit', 'integer')
            .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0).check(sql`used >= 0`))
            .addColumn('active', 'integer', (c) => c.notNull())
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .addColumn('updated_at', types.timestamp, (c) => c.notNull())
            .execute()
          await db.schema.createIndex('promotions_promotions_active').on('promotions_promotions').columns(['active', 'automatic']).execute()
          await db.schema
            .createTable('promotions_codes')
            .addColumn('code_hash', 'text', (c) => c.primaryKey())
            .addColumn('promotion_id', 'text', (c) => c.notNull())
            .addColumn('hint', 'text', (c) => c.notNull())
            .addColumn('usage_limit', 'integer')
            .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0).check(sql`used >= 0`))
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .execute()
          await db.schema.createIndex('promotions_codes_promotion').on('promotions_codes').column('promotion_id').execute()
          await db.schema
            .createTable('promotions_applied')
            .addColumn('cart_id', 'text', (c) => c.notNull())
            .addColumn('code_hash', 'text', (c) => c.notNull())
            .addColumn('code', 'text', (c) => c.notNull())
            .addColumn('promotion_id', 'text', (c) => c.notNull())
            .addColumn('applied_at', types.timestamp, (c) => c.notNull())
            .addPrimaryKeyConstraint('promotions_applied_pk', ['cart_id', 'code_hash'])
            .execute()
          await db.schema
            .createTable('promotions_customer_uses')
            .addColumn('promotion_id', 'text', (c) => c.notNull())
            .addColumn('customer_key', 'text', (c) => c.notNull())
            .addColumn('used', 'integer', (c) => c.notNull().check(sql`used >= 0`))
            .addPrimaryKeyConstraint('promotions_customer_uses_pk', ['promotion_id', 'customer_key'])
            .execute()
          await db.schema
            .createTable('promotions_uses')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('payment_id', 'text', (c) => c.notNull())
            .addColumn('promotion_id', 'text', (c) => c.notNull())
            .addColumn('code_hash', 'text')
            .addColumn('code', 'text')
            .addColumn('customer_key', 'text')
            .addColumn('cart_id', 'text', (c) => c.notNull())
            .addColumn('order_id', 'text')
            .addColumn('amount', types.money, (c) => c.notNull())
            .addColumn('claimed_at', types.timestamp, (c) => c.notNull())
            .addColumn('released_at', types.timestamp)
            .execute()
          await db.schema.createIndex('promotions_uses_payment').on('promotions_uses').column('payment_id').execute()
          await db.schema.createIndex('promotions_uses_promotion').on('promotions_uses').column('promotion_id').execute()
        },
      },
    },
    init(ctx: Ctx): PromotionsService {
      const loaded = new WeakMap<Cart, Loaded>()

      /** The promotions that may price a cart: running automatic ones within their limits, and those of its codes. */
      async function candidates(cart: Cart): Promise<{ list: RulePromotion[]; ruleCart: RuleCart }> {
        const rows = await ctx.db
          .selectFrom('promotions_promotions as p')
          .leftJoin('promotions_applied as a', (join) => join.onRef('a.promotion_id', '=', 'p.id').on('a.cart_id', '=', cart.id))
          .selectAll('p')
          .select('a.code as applied_code')
          .where('p.active', '=', 1)
          .where((eb) => eb.or([eb('p.automatic', '=', 1), eb('a.cart_id', 'is not', null)]))
          .orderBy('p.id')
          .orderBy('a.code')
          .execute()
        const now = ctx.now()
        const seen = new Set<string>()
        let live = rows.filter((r) => {
          if (seen.has(r.id) || !running(r, now)) return false
          // An automatic promotion used up stops pricing carts; an entered code keeps its discount
          // until the claim (which refuses it) so that a checkout is never charged more than it showed.
          if (num(r.automatic) === 1 && r.usage_limit !== null && num(r.used) >= num(r.usage_limit)) return false
          seen.add(r.id)
          return true
        })
        const ruleCart: RuleCart = {
          currency: cart.currency,
          lines: cart.lines.map((l) => ({ id: l.id, productId: l.productId, variantId: l.variantId, quantity: l.quantity, unitPrice: l.unitPrice, subtotal: l.subtotal })),
        }
        if (live.length === 0) return { list: [], ruleCart }
        const limited = live.filter((r) => num(r.automatic) === 1 && r.per_customer_limit !== null)
        const key = customerKey(cart)
        if (limited.length && key) {
          const counts = await ctx.db
            .selectFrom('promotions_customer_uses')
            .select(['promotion_id', 'used'])
            .where('customer_key', '=', key)
            .where('promotion_id', 'in', limited.map((r) => r.id))
            .execute()
          const used = new Map(counts.map((c) => [c.promotion_id, num(c.used)]))
          live = live.filter((r) => !(num(r.automatic) === 1 && r.per_customer_limit !== null && (used.get(r.id) ?? 0) >= num(r.per_customer_limit)))
        }
        const list: RulePromotion[] = live.map((r) => ({
          id: r.id,
          code: r.applied_code ?? r.id,
          label: r.name,
          discount: JSON.parse(r.discount) as Discount,
          conditions: JSON.parse(r.conditions) as Conditions,
          stacking: r.stacking as RulePromotion['stacking'],
          priority: num(r.priority),
          createdAt: iso(r.created_at)!,
        }))
        // Facts read only when a promotion asks about them: one query for tags and hand-picked
        // collections, one per rule-based collection named.
        if (list.some((p) => p.conditions.tags?.length || p.conditions.collectionIds?.length)) {
          const collectionIds = [...new Set(list.flatMap((p) => p.conditions.collectionIds ?? []))]
          ruleCart.facts = await catalogFacts(ctx.db as Kysely<any>, ruleCart.lines.map((l) => l.productId), { collectionIds })
        }
        if (cart.customerId && list.some((p) => p.conditions.customerGroupIds?.length)) ruleCart.groupIds = await groupsOf(cart.customerId)
        return { list, ruleCart }
      }

      /** The customer's groups in `@cartwright/customers`; none when that plugin is not installed. */
      async function groupsOf(customerId: string): Promise<Set<string>> {
        try {
          const { rows } = await sql<{ group_id: string }>`select group_id from customers_group_members where customer_id = ${customerId}`.execute(ctx.db)
          return new Set(rows.map((r) => r.group_id))
        } catch {
          // No customers plugin, so no table: a group condition never matches, and pricing goes on.
          return new Set()
        }
      }

      // Line discounts, while the cart is priced; shipping is quoted after them, on the discounted lines.
      ctx.hooks.hook('cart.adjust', async ({ cart, adjustments }) => {
        const found = await candidates(cart)
        loaded.set(cart, found)
        if (found.list.length === 0) return
        adjustments.push(...selectPromotions(found.list, found.ruleCart, adjustments).adjustments)
      })

      // Shipping discounts, on the charge quoted for the chosen option.
      ctx.hooks.hook('cart.adjustShipping', async ({ cart, shipping, adjustments }) => {
        const found = loaded.get(cart) ?? (await candidates(cart))
        if (found.list.length === 0) return
        adjustments.push(...selectShippingPromotions(found.list, found.ruleCart, shipping.amount, adjustments).adjustments)
      })

      const unavailable = (name: string, why: string) =>
        ctx.error('PROMOTION_UNAVAILABLE', `The promotion "${name}" can no longer be used (${why}): remove it from the cart or check out again`, { details: { reason: why } })

      // A use of each promotion the priced cart carries is taken in the claim's transaction, with
      // conditional updates: a checkout that cannot get one is refused before any payment.
      ctx.hooks.hook('checkout.claim', async ({ cart, paymentId }, tx) => {
        const amounts = new Map<string, number>()
        for (const a of cart.adjustments) if (a.source === 'promotions' && a.amount > 0) amounts.set(a.code, (amounts.get(a.code) ?? 0) + a.amount)
        if (amounts.size === 0) return
        const applied = await tx.db.selectFrom('promotions_applied').selectAll().where('cart_id', '=', cart.id).execute()
        const byCode = new Map(applied.map((r) => [r.code, r]))
        const uses = [...amounts].map(([code, amount]) => {
          const entered = byCode.get(code)
          return { code: entered ? code : null, codeHash: entered?.code_hash ?? null, promotionId: entered?.promotion_id ?? code, amount }
        })
        // Always in the same order, so two claims lock the same rows in the same order.
        uses.sort((a, b) => (a.promotionId < b.promotionId ? -1 : a.promotionId > b.promotionId ? 1 : 0))
        const now = ctx.now()
        const key = customerKey(cart)
        for (const use of uses) await takeUse(tx, use, key, now, cart.id, paymentId)
      })

      async function takeUse(
        tx: PluginTx<PromotionTables, EventsOf<typeof promotionEvents>>,
        use: { code: string | null; codeHash: string | null; promotionId: string; amount: number },
        key: string | null,
        now: Date,
        cartId: string,
        paymentId: string,
      ): Promise<void> {
        const row = await tx.db.selectFrom('promotions_promotions').selectAll().where('id', '=', use.promotionId).executeTakeFirst()
        if (!row) throw unavailable(use.code ?? use.promotionId, 'it no longer exists')
        if (!running(row, now)) throw unavailable(row.name, 'it is not running')
        if (use.codeHash === null && num(row.automatic) !== 1) throw unavailable(row.name, 'its code is no longer on the cart')
        const taken = await tx.db
          .updateTable('promotions_promotions')
          .set({ used: sql`used + 1` })
          .where('id', '=', row.id)
          .where((eb) => eb.or([eb('usage_limit', 'is', null), eb('used', '<', eb.ref('usage_limit'))]))
          .executeTakeFirst()
        if (Number(taken.numUpdatedRows) !== 1) throw unavailable(row.name, 'its uses are used up')
        if (use.codeHash !== null) {
          const code = await tx.db
            .updateTable('promotions_codes')
            .set({ used: sql`used + 1` })
            .where('code_hash', '=', use.codeHash)
            .where((eb) => eb.or([eb('usage_limit', 'is', null), eb('used', '<', eb.ref('usage_limit'))]))
            .executeTakeFirst()
          if (Number(code.numUpdatedRows) !== 1) throw unavailable(row.name, 'its code is used up')
        }
        const perCustomer = numOrNull(row.per_customer_limit)
        if (perCustomer !== null) {
          if (key === null) throw unavailable(row.name, 'it is limited per customer and the cart has no email')
          const counted = await tx.db
            .insertInto('promotions_customer_uses')
            .values({ promotion_id: row.id, customer_key: key, used: 1 })
            .onConflict((oc) =>
              oc
                .columns(['promotion_id', 'customer_key'])
                .doUpdateSet({ used: sql`promotions_customer_uses.used + 1` })
                .where('promotions_customer_uses.used', '<', perCustomer),
            )
            .executeTakeFirst()
          if (Number(counted.numInsertedOrUpdatedRows ?? 0n) !== 1) throw unavailable(row.name, 'this customer has used it up')
        }
        await tx.db
          .insertInto('promotions_uses')
          .values({
            id: ctx.newId('pru'),
            payment_id: paymentId,
            promotion_id: row.id,
            code_hash: use.codeHash,
            code: use.code,
            customer_key: perCustomer !== null ? key : null,
            cart_id: cartId,
            order_id: null,
            amount: use.amount,
            claimed_at: now.toISOString(),
            released_at: null,
          })
          .execute()
      }

      ctx.hooks.hook('checkout.place', async ({ order, cart, paymentId }, tx) => {
        const uses = await tx.db.selectFrom('promotions_uses').selectAll().where('payment_id', '=', paymentId).where('released_at', 'is', null).orderBy('id').execute()
        if (uses.length === 0) return
        await tx.db.updateTable('promotions_uses').set({ order_id: order.id }).where('payment_id', '=', paymentId).execute()
        for (const u of uses) tx.emit('promotions.redeemed', { promotionId: u.promotion_id, code: u.code, orderId: order.id, cartId: cart.id, amount: num(u.amount) })
      })

      // A declined payment or a canceled order gives back exactly the uses its claim took, once.
      ctx.hooks.hook('checkout.release', async ({ paymentId }, tx) => {
        const uses = await tx.db.selectFrom('promotions_uses').selectAll().where('payment_id', '=', paymentId).where('released_at', 'is', null).orderBy('promotion_id').execute()
        for (const u of uses) {
          const released = await tx.db.updateTable('promotions_uses').set({ released_at: ctx.now().toISOString() }).where('id', '=', u.id).where('released_at', 'is', null).executeTakeFirst()
          if (Number(released.numUpdatedRows) !== 1) continue
          await tx.db.updateTable('promotions_promotions').set({ used: sql`used - 1` }).where('id', '=', u.promotion_id).where('used', '>', 0).execute()
          if (u.code_hash !== null) await tx.db.updateTable('promotions_codes').set({ used: sql`used - 1` }).where('code_hash', '=', u.code_hash).where('used', '>', 0).execute()
          if (u.customer_key !== null) {
            await tx.db
              .updateTable('promotions_customer_uses')
              .set({ used: sql`used - 1` })
              .where('promotion_id', '=', u.promotion_id)
              .where('customer_key', '=', u.customer_key)
              .where('used', '>', 0)
              .execute()
          }
        }
      })

      // A person's per-customer counts are kept under hashes of their customer id and email: the
      // export shows them, and erasure removes them (the uses stay, counted in the promotions' totals).
      const keysOf = (subject: { email: string | null; customerId: string | null }) =>
        [subject.customerId ? customerKey({ customerId: subject.customerId, email: null }) : null, subject.email ? customerKey({ customerId: null, email: subject.email }) : null].filter(
          (k): k is string => k !== null,
        )
      ctx.privacy({
        async export(subject, db) {
          const keys = keysOf(subject)
          if (keys.length === 0) return undefined
          const rows = await db.selectFrom('promotions_customer_uses').select(['promotion_id', 'used']).where('customer_key', 'in', keys).where('used', '>', 0).orderBy('promotion_id').execute()
          return rows.length ? { uses: rows.map((r) => ({ promotionId: r.promotion_id, used: num(r.used) })) } : undefined
        },
        async erase(subject, tx) {
          const keys = keysOf(subject)
          if (keys.length === 0) return
          await tx.db.deleteFrom('promotions_customer_uses').where('customer_key', 'in', keys).execute()
          await tx.db.updateTable('promotions_uses').set({ customer_key: null }).where('customer_key', 'in', keys).execute()
        },
      })

      async function load(promotionId: string): Promise<Row> {
        const row = await ctx.db.selectFrom('promotions_promotions').selectAll().where('id', '=', promotionId).executeTakeFirst()
        if (!row) throw notFound('Promotion', promotionId)
        return row
      }

      async function appliedCodes(cartId: string): Promise<AppliedCodes> {
        const rows = await ctx.db.selectFrom('promotions_applied').select('code').where('cart_id', '=', cartId).orderBy('applied_at').orderBy('code').execute()
        return { cartId, codes: rows.map((r) => r.code) }
      }

      /** The cart, open, or the engine's own error (`NOT_FOUND`, `INVALID_STATE`). */
      async function openCart(cartId: string): Promise<Cart> {
        const cart = await ctx.commerce.carts.get(cartId)
        if (cart.status !== 'open') throw new CommerceError('INVALID_STATE', `Cart ${cartId} is not open`, { details: { cartId, status: cart.status } })
        return cart
      }

      return {
        async create(input) {
          const data = parse(createSchema, input, 'promotion')
          const now = ctx.now().toISOString()
          const id = ctx.newId('promo')
          const hash = data.code === undefined ? null : codeHash(data.code)
          return ctx.transaction(async (tx) => {
            if (hash !== null) {
              const taken = await tx.db.selectFrom('promotions_codes').select('code_hash').where('code_hash', '=', hash).executeTakeFirst()
              if (taken) throw validationError('promotion', [{ path: 'code', message: 'is already a code of a promotion' }])
            }
            const row: Row = {
              id,
              name: data.name,
              automatic: data.automatic ? 1 : 0,
              code: data.code ?? null,
              discount: JSON.stringify(data.discount),
              conditions: JSON.stringify(data.conditions),
              starts_at: data.startsAt ?? null,
              ends_at: data.endsAt ?? null,
              stacking: data.stacking,
              priority: data.priority,
              usage_limit: data.usageLimit ?? null,
              per_customer_limit: data.perCustomerLimit ?? null,
              used: 0,
              active: 1,
              created_at: now,
              updated_at: now,
            }
            await tx.db.insertInto('promotions_promotions').values(row).execute()
            if (hash !== null) {
              await tx.db.insertInto('promotions_codes').values({ code_hash: hash, promotion_id: id, hint: normalizeCode(data.code!), usage_limit: null, used: 0, created_at: now }).execute()
            }
            return toPromotion({ ...row, starts_at: row.starts_at === null ? null : new Date(row.starts_at).toISOString(), ends_at: row.ends_at === null ? null : new Date(row.ends_at).toISOString() })
          })
        },

        async update(promotionId, input) {
          const id = parseId(promotionId, 'promotionId')
          const data = parse(updateSchema, input, 'promotion')
          const current = toPromotion(await load(id))
          const startsAt = data.startsAt !== undefined ? data.startsAt : current.startsAt
          const endsAt = data.endsAt !== undefined ? data.endsAt : current.endsAt
          if (startsAt && endsAt && Date.parse(endsAt) <= Date.parse(startsAt)) throw validationError('promotion', [{ path: 'endsAt', message: 'must be after startsAt' }])
          const discount = data.discount ?? current.discount
          const conditions = data.conditions ?? current.conditions
          if (discount.type === 'fixed' && conditions.minSubtotal && conditions.minSubtotal.currency !== discount.currency) {
            throw validationError('promotion', [{ path: 'conditions.minSubtotal.currency', message: 'must be the currency of the fixed amount' }])
          }
          await ctx.transaction(async (tx) => {
            await tx.db
              .updateTable('promotions_promotions')
              .set({
                name: data.name ?? current.name,
                discount: JSON.stringify(discount),
                conditions: JSON.stringify(conditions),
                starts_at: startsAt,
                ends_at: endsAt,
                stacking: data.stacking ?? current.stacking,
                priority: data.priority ?? current.priority,
                usage_limit: data.usageLimit !== undefined ? data.usageLimit : current.usageLimit,
                per_customer_limit: data.perCustomerLimit !== undefined ? data.perCustomerLimit : current.perCustomerLimit,
                active: data.active === undefined ? (current.active ? 1 : 0) : data.active ? 1 : 0,
                updated_at: ctx.now().toISOString(),
              })
              .where('id', '=', id)
              .execute()
          })
          return toPromotion(await load(id))
        },

        deactivate(promotionId) {
          return this.update(promotionId, { active: false })
        },

        async get(promotionId) {
          return toPromotion(await load(parseId(promotionId, 'promotionId')))
        },

        async list(input = {}) {
          const data = parse(listSchema, input, 'promotion list')
          let q = ctx.db.selectFrom('promotions_promotions').selectAll().orderBy('id').limit(data.limit + 1)
          if (data.active !== undefined) q = q.where('active', '=', data.active ? 1 : 0)
          if (data.cursor !== undefined) q = q.where('id', '>', data.cursor)
          const rows = await q.execute()
          const items = rows.slice(0, data.limit).map(toPromotion)
          return { items, nextCursor: rows.length > data.limit ? items[items.length - 1]!.id : null }
        },

        async usage(promotionId) {
          const row = await load(parseId(promotionId, 'promotionId'))
          const codes = await ctx.db.selectFrom('promotions_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('promotion_id', '=', row.id).executeTakeFirstOrThrow()
          const customers = await ctx.db.selectFrom('promotions_customer_uses').select(['customer_key', 'used']).where('promotion_id', '=', row.id).where('used', '>', 0).orderBy('customer_key').execute()
          const limit = numOrNull(row.usage_limit)
          return {
            promotionId: row.id,
            used: num(row.used),
            usageLimit: limit,
            remaining: limit === null ? null : Math.max(0, limit - num(row.used)),
            codes: num(codes.n),
            customers: customers.map((c) => ({ customerKey: c.customer_key, used: num(c.used) })),
          }
        },

        async generateCodes(promotionId, input) {
          const id = parseId(promotionId, 'promotionId')
          const data = parse(generateSchema, input, 'code generation')
          const row = await load(id)
          if (num(row.automatic) === 1) throw validationError('code generation', [{ path: 'promotionId', message: 'an automatic promotion takes no codes' }])
          const now = ctx.now().toISOString()
          const codes = Array.from({ length: data.count }, () => randomCode(data.prefix))
          await ctx.transaction(async (tx) => {
            for (let i = 0; i < codes.length; i += 500) {
              const chunk = codes.slice(i, i + 500)
              await tx.db
                .insertInto('promotions_codes')
                .values(chunk.map((c) => ({ code_hash: codeHash(c), promotion_id: id, hint: codeHint(c), usage_limit: data.usageLimit, used: 0, created_at: now })))
                .execute()
            }
          })
          return { promotionId: id, codes }
        },

        async applyCode(cartId, code) {
          const id = parseId(cartId, 'cartId')
          const text = parseCode(code)
          const cart = await openCart(id)
          const refused = () => ctx.error('PROMOTION_CODE_REFUSED', CODE_REFUSED_MESSAGE)
          const normalized = normalizeCode(text)
          if (normalized.length === 0 || normalized.length > 80) throw refused()
          const hash = codeHash(normalized)
          const entry = await ctx.db.selectFrom('promotions_codes').selectAll().where('code_hash', '=', hash).executeTakeFirst()
          const row = entry ? await ctx.db.selectFrom('promotions_promotions').selectAll().where('id', '=', entry.promotion_id).executeTakeFirst() : undefined
          if (!entry || !row || num(row.automatic) === 1 || !running(row, ctx.now())) throw refused()
          if (row.usage_limit !== null && num(row.used) >= num(row.usage_limit)) throw refused()
          if (entry.usage_limit !== null && num(entry.used) >= num(entry.usage_limit)) throw refused()
          const conditions = JSON.parse(row.conditions) as Conditions
          if (conditions.minSubtotal) {
            const subtotal = cart.lines.reduce((sum, l) => sum + l.subtotal, 0)
            if (conditions.minSubtotal.currency !== cart.currency || subtotal < conditions.minSubtotal.amount) throw refused()
          }
          const discount = JSON.parse(row.discount) as Discount
          if (discount.type === 'fixed' && discount.currency !== cart.currency) throw refused()
          const key = customerKey(cart)
          if (row.per_customer_limit !== null && key !== null) {
            const mine = await ctx.db.selectFrom('promotions_customer_uses').select('used').where('promotion_id', '=', row.id).where('customer_key', '=', key).executeTakeFirst()
            if (mine && num(mine.used) >= num(row.per_customer_limit)) throw refused()
          }
          await ctx.transaction(async (tx) => {
            const already = await tx.db.selectFrom('promotions_applied').select(['code_hash', 'promotion_id']).where('cart_id', '=', id).execute()
            if (already.some((a) => a.code_hash === hash)) return
            if (already.length >= MAX_CODES_PER_CART) {
              throw new CommerceError('INVALID_STATE', `A cart takes at most ${MAX_CODES_PER_CART} codes`, { details: { cartId: id } })
            }
            // One code per promotion: a second code of the same promotion replaces the first.
            await tx.db.deleteFrom('promotions_applied').where('cart_id', '=', id).where('promotion_id', '=', row.id).execute()
            await tx.db
              .insertInto('promotions_applied')
              .values({ cart_id: id, code_hash: hash, code: normalized, promotion_id: row.id, applied_at: ctx.now().toISOString() })
              // The same code entered twice at once is on the cart once.
              .onConflict((oc) => oc.columns(['cart_id', 'code_hash']).doNothing())
              .execute()
            await tx.touchCart(id)
          })
          return appliedCodes(id)
        },

        async removeCode(cartId, code) {
          const id = parseId(cartId, 'cartId')
          const text = parseCode(code)
          await openCart(id)
          const hash = codeHash(text)
          await ctx.transaction(async (tx) => {
            const removed = await tx.db.deleteFrom('promotions_applied').where('cart_id', '=', id).where('code_hash', '=', hash).executeTakeFirst()
            if (Number(removed.numDeletedRows) > 0) await tx.touchCart(id)
          })
          return appliedCodes(id)
        },

        async codes(cartId) {
          return appliedCodes(parseId(cartId, 'cartId'))
        },
      }
    },
  })
}

