import { sql, type Generated } from 'kysely'
import { z } from 'zod'
import { definePlugin, type EventsOf, type PaymentProvider, type PluginContext } from '@cartwright/core'

/**
 * Small plugins written only against core's public plugin API, as a feature package would be: a
 * single-use coupon (a usage limit consumed at claim) and a gift card (a tender). The tests drive
 * the engine through them.
 */

interface CouponTables {
  coupons_codes: { code: string; amount: number; max_uses: number; used: number }
  coupons_applied: { cart_id: string; code: string }
  coupons_uses: { payment_id: string; code: string }
}

const couponEvents = {
  'coupons.redeemed': z.strictObject({ code: z.string(), orderId: z.string(), cartId: z.string() }),
  'coupons.claimed': z.strictObject({ code: z.string(), cartId: z.string() }),
}

/** A coupon takes a fixed amount off the cart; each code can be used `maxUses` times in all. */
export function coupons() {
  return definePlugin({
    id: 'coupons',
    events: couponEvents,
    errorCodes: { COUPON_EXHAUSTED: { description: 'The coupon has no uses left' } },
    migrations: {
      '0001_coupons': {
        async up(db, { types }) {
          await db.schema
            .createTable('coupons_codes')
            .addColumn('code', 'text', (c) => c.primaryKey())
            .addColumn('amount', types.money, (c) => c.notNull())
            .addColumn('max_uses', 'integer', (c) => c.notNull())
            .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0))
            .execute()
          await db.schema
            .createTable('coupons_applied')
            .addColumn('cart_id', 'text', (c) => c.primaryKey())
            .addColumn('code', 'text', (c) => c.notNull())
            .execute()
          // The use each claim took, by its payment: a release gives back exactly that.
          await db.schema
            .createTable('coupons_uses')
            .addColumn('payment_id', 'text', (c) => c.primaryKey())
            .addColumn('code', 'text', (c) => c.notNull())
            .execute()
        },
      },
    },
    init(ctx: PluginContext<CouponTables, EventsOf<typeof couponEvents>, 'COUPON_EXHAUSTED'>) {
      const codeOf = async (cartId: string) =>
        (await ctx.db.selectFrom('coupons_applied').select('code').where('cart_id', '=', cartId).executeTakeFirst())?.code ?? null

      ctx.hooks.hook('cart.adjust', async ({ cart, adjustments }) => {
        const code = await codeOf(cart.id)
        if (!code) return
        const coupon = await ctx.db.selectFrom('coupons_codes').select('amount').where('code', '=', code).executeTakeFirstOrThrow()
        adjustments.push({ code, label: `Coupon ${code}`, amount: Number(coupon.amount) })
      })
      // Atomic with the claim: a use is taken with a conditional update, or the checkout is vetoed.
      ctx.hooks.hook('checkout.claim', async ({ cart, paymentId }, tx) => {
        const code = cart.adjustments.find((a) => a.source === 'coupons')?.code
        if (!code) return
        const taken = await tx.db
          .updateTable('coupons_codes')
          .set({ used: sql`used + 1` })
          .where('code', '=', code)
          .where(sql<boolean>`used < max_uses`)
          .executeTakeFirst()
        if (Number(taken.numUpdatedRows) !== 1) throw ctx.error('COUPON_EXHAUSTED', `Coupon ${code} has no uses left`, { details: { code } })
        await tx.db.insertInto('coupons_uses').values({ payment_id: paymentId, code }).execute()
        tx.emit('coupons.claimed', { code, cartId: cart.id })
      })
      ctx.hooks.hook('checkout.place', async ({ order, cart }, tx) => {
        const code = cart.adjustments.find((a) => a.source === 'coupons')?.code
        if (code) tx.emit('coupons.redeemed', { code, orderId: order.id, cartId: cart.id })
      })
      ctx.hooks.hook('checkout.release', async ({ paymentId }, tx) => {
        const use = await tx.db.selectFrom('coupons_uses').select('code').where('payment_id', '=', paymentId).executeTakeFirst()
        if (!use) return
        await tx.db.deleteFrom('coupons_uses').where('payment_id', '=', paymentId).execute()
        await tx.db.updateTable('coupons_codes').set({ used: sql`used - 1` }).where('code', '=', use.code).execute()
      })

      return {
        async create(code: string, amount: number, maxUses = 1) {
          await ctx.db.insertInto('coupons_codes').values({ code, amount, max_uses: maxUses, used: 0 }).execute()
        },
        /** Applies a code to a cart; the cart's version moves, so a checkout in progress prices it again. */
        async apply(cartId: string, code: string) {
          await ctx.transaction(async (tx) => {
            await tx.db.insertInto('coupons_applied').values({ cart_id: cartId, code }).execute()
            await tx.touchCart(cartId)
          })
        },
        async uses(code: string): Promise<number> {
          const row = await ctx.db.selectFrom('coupons_codes').select('used').where('code', '=', code).executeTakeFirstOrThrow()
          return Number(row.used)
        },
      }
    },
  })
}

interface GiftCardTables {
  gift_cards_cards: { code: string; balance: number }
  gift_cards_uses: { cart_id: string; code: string; amount: number }
  gift_cards_holds: { payment_id: string; code: string; amount: number }
  gift_cards_refunds: { key: string; code: string; amount: number; id: Generated<number> }
}

/**
 * A gift card pays part of an order as a tender: its balance is taken at claim, given back when the
 * claim is declined, and refunds of the tender come back through the plugin's payment provider.
 */
export function giftCards() {
  let ctx: PluginContext<GiftCardTables, {}, 'GIFT_CARD_EMPTY'> | null = null
  const provider: PaymentProvider = {
    id: 'gift-card',
    capabilities: { capture: false, partialCapture: false, void: false, refund: true },
    async authorize() {
      return { status: 'declined', reason: 'a gift card pays through the gift card plugin, not as the checkout provider' }
    },
    // Credits the card once per key: the engine repeats the key on a retry.
    async refund({ idempotencyKey, reference, amount }) {
      await ctx!.transaction(async (tx) => {
        const seen = await tx.db.selectFrom('gift_cards_refunds').select('key').where('key', '=', idempotencyKey).executeTakeFirst()
        if (seen) return
        await tx.db.insertInto('gift_cards_refunds').values({ key: idempotencyKey, code: reference, amount }).execute()
        await tx.db.updateTable('gift_cards_cards').set({ balance: sql`balance + ${amount}` }).where('code', '=', reference).execute()
      })
      return { status: 'succeeded', reference: `gcr_${idempotencyKey}` }
    },
  }
  return definePlugin({
    id: 'gift-cards',
    payments: [provider],
    errorCodes: { GIFT_CARD_EMPTY: { description: 'The gift card does not hold enough' } },
    migrations: {
      '0001_gift_cards': {
        async up(db, { types }) {
          await db.schema.createTable('gift_cards_cards').addColumn('code', 'text', (c) => c.primaryKey()).addColumn('balance', types.money, (c) => c.notNull()).execute()
          await db.schema
            .createTable('gift_cards_uses')
            .addColumn('cart_id', 'text', (c) => c.primaryKey())
            .addColumn('code', 'text', (c) => c.notNull())
            .addColumn('amount', types.money, (c) => c.notNull())
            .execute()
          await db.schema
            .createTable('gift_cards_holds')
            .addColumn('payment_id', 'text', (c) => c.primaryKey())
            .addColumn('code', 'text', (c) => c.notNull())
            .addColumn('amount', types.money, (c) => c.notNull())
            .execute()
          await db.schema
            .createTable('gift_cards_refunds')
            .addColumn('key', 'text', (c) => c.primaryKey())
            .addColumn('code', 'text', (c) => c.notNull())
            .addColumn('amount', types.money, (c) => c.notNull())
            .execute()
        },
      },
    },
    init(context: PluginContext<GiftCardTables, {}, 'GIFT_CARD_EMPTY'>) {
      ctx = context
      context.hooks.hook('checkout.claim', async ({ cart, paymentId, tenders }, tx) => {
        const use = await tx.db.selectFrom('gift_cards_uses').selectAll().where('cart_id', '=', cart.id).executeTakeFirst()
        if (!use) return
        const amount = Math.min(Number(use.amount), cart.totals.total)
        const taken = await tx.db
          .updateTable('gift_cards_cards')
          .set({ balance: sql`balance - ${amount}` })
          .where('code', '=', use.code)
          .where('balance', '>=', amount)
          .executeTakeFirst()
        if (Number(taken.numUpdatedRows) !== 1) throw context.error('GIFT_CARD_EMPTY', `Gift card ${use.code} does not hold ${amount}`)
        await tx.db.insertInto('gift_cards_holds').values({ payment_id: paymentId, code: use.code, amount }).execute()
        tenders.push({ provider: 'gift-card', reference: use.code, amount })
      })
      // A declined claim gives the hold back; once placed, the tender's money returns by refund.
      context.hooks.hook('checkout.release', async ({ paymentId, reason }, tx) => {
        if (reason !== 'declined') return
        const hold = await tx.db.selectFrom('gift_cards_holds').selectAll().where('payment_id', '=', paymentId).executeTakeFirst()
        if (!hold) return
        await tx.db.updateTable('gift_cards_cards').set({ balance: sql`balance + ${Number(hold.amount)}` }).where('code', '=', hold.code).execute()
        await tx.db.deleteFrom('gift_cards_holds').where('payment_id', '=', paymentId).execute()
      })
      return {
        async issue(code: string, balance: number) {
          await context.db.insertInto('gift_cards_cards').values({ code, balance }).execute()
        },
        async balance(code: string): Promise<number> {
          return Number((await context.db.selectFrom('gift_cards_cards').select('balance').where('code', '=', code).executeTakeFirstOrThrow()).balance)
        },
        async use(cartId: string, code: string, amount: number) {
          await context.transaction(async (tx) => {
            await tx.db.insertInto('gift_cards_uses').values({ cart_id: cartId, code, amount }).execute()
            await tx.touchCart(cartId)
          })
        },
      }
    },
  })
}

interface PriceListTables {
  price_lists_prices: { customer_id: string; variant_id: string; amount: number }
}

/** Prices per customer from the plugin's own table: a price source above core's (priority 10). */
export function priceLists() {
  return definePlugin({
    id: 'price-lists',
    init(ctx: PluginContext<PriceListTables>) {
      ctx.priceSource({
        id: 'price-list',
        priority: 10,
        async resolve(query, db) {
          if (!query.customerId) return query.lines.map(() => undefined)
          const rows = await db
            .selectFrom('price_lists_prices')
            .selectAll()
            .where('customer_id', '=', query.customerId)
            .where(
              'variant_id',
              'in',
              query.lines.map((l) => l.variantId),
            )
            .execute()
          const byVariant = new Map(rows.map((r) => [r.variant_id, Number(r.amount)]))
          return query.lines.map((l) => (byVariant.has(l.variantId) ? { amount: byVariant.get(l.variantId)!, label: 'wholesale' } : undefined))
        },
      })
      return {
        async set(customerId: string, variantId: string, amount: number) {
          await ctx.db.insertInto('price_lists_prices').values({ customer_id: customerId, variant_id: variantId, amount }).execute()
        },
      }
    },
    migrations: {
      '0001_price_lists': {
        async up(db, { types }) {
          await db.schema
            .createTable('price_lists_prices')
            .addColumn('customer_id', 'text', (c) => c.notNull())
            .addColumn('variant_id', 'text', (c) => c.notNull())
            .addColumn('amount', types.money, (c) => c.notNull())
            .addPrimaryKeyConstraint('price_lists_prices_pk', ['customer_id', 'variant_id'])
            .execute()
        },
      },
    },
  })
}
