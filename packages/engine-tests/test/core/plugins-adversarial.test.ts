import { CompiledQuery, sql, type Kysely } from 'kysely'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createCommerce, definePlugin, isCommerceError, type Commerce, type PluginContext } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { GUARDED_STORAGES, failure, key, openShop, placed, readyCart, sleep, type Shop, type ShopOptions } from '../support/index.js'
import { testGateway, type TestGateway } from '@cartwright/testkit'
import { coupons, giftCards } from '../support/toy-plugins.js'

/**
 * The plugin API read by someone trying to break it: ways around the write guard, calls back into
 * the engine from inside a transaction, tenders through retries, takeovers and cancels, privacy
 * requests that miss a person's rows, plugins whose tables overlap.
 */

type GiftCardsCommerce = Commerce & { 'gift-cards': { issue(code: string, balance: number): Promise<void>; balance(code: string): Promise<number>; use(cartId: string, code: string, amount: number): Promise<void> } }

/** A plugin whose service runs `fn` on its guarded handle, in a transaction of its own or outside one. */
function sneaky() {
  return definePlugin({
    id: 'sneaky',
    migrations: {
      '0001': { up: async (db) => void (await db.schema.createTable('sneaky_log').addColumn('id', 'text', (c) => c.primaryKey()).execute()) },
    },
    init(ctx: PluginContext<{ sneaky_log: { id: string } }>) {
      return {
        inTransaction: (fn: (db: Kysely<any>) => Promise<unknown>) => ctx.transaction((tx) => fn(tx.db as unknown as Kysely<any>)),
        outside: (fn: (db: Kysely<any>) => Promise<unknown>) => fn(ctx.db as unknown as Kysely<any>),
      }
    },
  })
}
type SneakyCommerce = Commerce & { sneaky: { inTransaction(fn: (db: Kysely<any>) => Promise<unknown>): Promise<unknown>; outside(fn: (db: Kysely<any>) => Promise<unknown>): Promise<unknown> } }

/** Settles `call`, or answers 'hung' after `ms`: a deadlock shows as a failed assertion, not a stuck run. */
async function within<T>(call: Promise<T>, ms = 3_000): Promise<{ value?: T; error?: unknown } | 'hung'> {
  return Promise.race([call.then((value) => ({ value }), (error: unknown) => ({ error })), sleep(ms).then(() => 'hung' as const)])
}

const PWNED = 'pwned@example.com'

describe.each(GUARDED_STORAGES)('the write guard on %s', (storage) => {
  const attacks = (cartId: string): Array<[string, (db: Kysely<any>) => Promise<unknown>]> => [
    ['a comment between the keyword and the table', (db) => sql`update/**/cw_carts set email = ${PWNED} where id = ${cartId}`.execute(db)],
    ['a line comment between the keyword and the table', (db) => sql`update -- the log\n cw_carts set email = ${PWNED} where id = ${cartId}`.execute(db)],
    ['the table interpolated with sql.table', (db) => sql`update ${sql.table('cw_carts')} set email = ${PWNED} where id = ${cartId}`.execute(db)],
    ['the table interpolated with sql.id', (db) => sql`update ${sql.id('cw_carts')} set email = ${PWNED} where id = ${cartId}`.execute(db)],
    ['the statement nested as sql.raw', (db) => sql`${sql.raw(`update cw_carts set email = '${PWNED}'`)} where id = ${cartId}`.execute(db)],
    ['a compiled query run with executeQuery', (db) => db.executeQuery(CompiledQuery.raw(`update cw_carts set email = '${PWNED}' where id = '${cartId}'`))],
    ['the handle without its plugins', (db) => db.withoutPlugins().updateTable('cw_carts').set({ email: PWNED }).where('id', '=', cartId).execute()],
    ['the executor run directly', (db) => db.getExecutor().executeQuery(CompiledQuery.raw(`update cw_carts set email = '${PWNED}' where id = '${cartId}'`))],
    ['the schema module without its plugins', (db) => db.schema.withoutPlugins().createTable('cw_pwned').addColumn('id', 'text').execute()],
    ['a connection of the executor', (db) => db.getExecutor().provideConnection((c) => c.executeQuery(CompiledQuery.raw(`update cw_carts set email = '${PWNED}' where id = '${cartId}'`)))],
    ['the table in upper case', (db) => db.updateTable('CW_CARTS').set({ email: PWNED }).where('id', '=', cartId).execute()],
    ['a schema-qualified table', (db) => db.updateTable(storage === 'postgres' ? 'public.cw_carts' : 'main.cw_carts').set({ email: PWNED }).where('id', '=', cartId).execute()],
    ...(storage === 'postgres'
      ? ([
          [
            'a data-modifying CTE under a select',
            (db) =>
              db
                .with('w', (qb: any) => qb.updateTable('cw_carts').set({ email: PWNED }).where('id', '=', cartId).returning('id'))
                .selectFrom('w')
                .selectAll()
                .execute(),
          ],
          [
            'a data-modifying CTE under an insert into its own table',
            (db) =>
              db
                .with('w', (qb: any) => qb.updateTable('cw_carts').set({ email: PWNED }).where('id', '=', cartId).returning('id'))
                .insertInto('sneaky_log')
                .columns(['id'])
                .expression((eb: any) => eb.selectFrom('w').select('id'))
                .execute(),
          ],
          ['merge into a core table', (db) => (db as any).mergeInto('cw_carts').using('sneaky_log', 'sneaky_log.id', 'cw_carts.id').whenMatched().thenUpdateSet({ email: PWNED }).execute()],
        ] as Array<[string, (db: Kysely<any>) => Promise<unknown>]>)
      : ([
          ['a table in brackets', (db) => sql`update [cw_carts] set email = ${PWNED} where id = ${cartId}`.execute(db)],
          ['a table in backticks', (db) => sql.raw(`update \`cw_carts\` set email = '${PWNED}' where id = '${cartId}'`).execute(db)],
        ] as Array<[string, (db: Kysely<any>) => Promise<unknown>]>)),
  ]

  /** Ways that open a transaction or connection of their own: only from the handle outside transactions. */
  const outsideOnly = (cartId: string): Array<[string, (db: Kysely<any>) => Promise<unknown>]> => [
    ['a transaction opened from the handle, without plugins', (db) => db.transaction().execute((trx) => trx.withoutPlugins().updateTable('cw_carts').set({ email: PWNED }).where('id', '=', cartId).execute())],
    ['a transaction opened from the handle, with a compiled query', (db) => db.transaction().execute((trx) => trx.executeQuery(CompiledQuery.raw(`update cw_carts set email = '${PWNED}' where id = '${cartId}'`)))],
    ['a connection opened from the handle', (db) => db.connection().execute((c) => c.executeQuery(CompiledQuery.raw(`update cw_carts set email = '${PWNED}' where id = '${cartId}'`)))],
    [
      'a controlled transaction',
      async (db) => {
        const trx = await db.startTransaction().execute()
        try {
          await trx.withoutPlugins().updateTable('cw_carts').set({ email: PWNED }).where('id', '=', cartId).execute()
          await trx.commit().execute()
        } catch (error) {
          await trx.rollback().execute()
          throw error
        }
      },
    ],
  ]

  it("refuses every way of writing a core table through a plugin's handle, in its transactions and outside them", async () => {
    const shop = await openShop({ storage, plugins: [sneaky()] })
    const commerce = shop.commerce as SneakyCommerce
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      const outcomes: string[] = []
      for (const [name, attack] of attacks(cart.id)) {
        for (const [where, run] of [
          ['in a transaction', () => commerce.sneaky.inTransaction(attack)],
          ['outside', () => commerce.sneaky.outside(attack)],
        ] as const) {
          const result = await Promise.resolve()
            .then(run)
            .then(
            () => 'written',
            (error: unknown) => (isCommerceError(error, 'INVALID_STATE') && /may write only its own tables|refused/.test(error.message) ? 'refused' : `failed otherwise: ${String(error)}`),
          )
          const email = (await shop.commerce.carts.get(cart.id)).email
          outcomes.push(`${name}, ${where}: ${result}${email === PWNED ? ' (the cart was changed)' : ''}`)
          if (email === PWNED) await shop.commerce.carts.update(cart.id, { email: 'ada@example.com' })
        }
      }
      for (const [name, attack] of outsideOnly(cart.id)) {
        const result = await Promise.resolve()
          .then(() => commerce.sneaky.outside(attack))
          .then(
            () => 'written',
            (error: unknown) => (isCommerceError(error, 'INVALID_STATE') && /may write only its own tables/.test(error.message) ? 'refused' : `failed otherwise: ${String(error)}`),
          )
        const email = (await shop.commerce.carts.get(cart.id)).email
        outcomes.push(`${name}, outside: ${result}${email === PWNED ? ' (the cart was changed)' : ''}`)
        if (email === PWNED) await shop.commerce.carts.update(cart.id, { email: 'ada@example.com' })
      }
      expect(outcomes.filter((o) => !o.endsWith(': refused'))).toEqual([])
      // Its own table stays writable, with each form.
      await commerce.sneaky.inTransaction((db) => db.insertInto('sneaky_log').values({ id: 'a' }).execute())
      await commerce.sneaky.inTransaction((db) => sql`insert into ${sql.table('sneaky_log')} (id) values (${'b'})`.execute(db))
      await commerce.sneaky.outside((db) => db.executeQuery(CompiledQuery.raw(`insert into sneaky_log (id) values ('c')`)))
      await commerce.sneaky.outside((db) => sql`update /* own */ sneaky_log set id = ${'d'} where id = ${'c'}`.execute(db))
      expect((await shop.commerce.db.selectFrom('sneaky_log' as never).select('id' as never).orderBy('id' as never).execute()).map((r: any) => r.id)).toEqual(['a', 'b', 'd'])
    } finally {
      await shop.close()
    }
  })
})

/** A plugin that reads its own table inside checkout.claim: through `tx.db`, or by mistake through `ctx.db`. */
function readsInClaim(through: 'tx' | 'ctx') {
  return definePlugin({
    id: 'reader',
    migrations: {
      '0001': { up: async (db) => void (await db.schema.createTable('reader_notes').addColumn('id', 'text', (c) => c.primaryKey()).execute()) },
    },
    init(ctx: PluginContext<{ reader_notes: { id: string } }>) {
      ctx.hooks.hook('checkout.claim', async (_context, tx) => {
        const db = through === 'tx' ? tx.db : ctx.db
        await db.selectFrom('reader_notes').selectAll().execute()
      })
    },
  })
}

describe.each(GUARDED_STORAGES)('calls out of a transactional hook on %s', (storage) => {
  it("a hook reading through the plugin's own outside handle (ctx.db, not tx.db) gets INVALID_STATE instead of a deadlock, and nothing is written", async () => {
    const shop = await openShop({ storage, plugins: [readsInClaim('ctx')] })
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      const outcome = await within(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(outcome).not.toBe('hung')
      const error = (outcome as { error?: unknown }).error
      expect(isCommerceError(error, 'INVALID_STATE'), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/checkout\.claim/)
      expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')
      expect(await shop.commerce.db.selectFrom('cw_payments').select('id').execute()).toEqual([])
    } finally {
      await shop.close()
    }
  })

  // commerce.db in a hook would, on SQLite, wait forever for the hook's own transaction; on PostgreSQL it
  // would read and write beside it.
  it('a hook using commerce.db gets INVALID_STATE instead of a deadlock', async () => {
    const direct = definePlugin({
      id: 'direct',
      init(ctx) {
        ctx.hooks.hook('checkout.claim', async ({ cart }) => {
          await ctx.commerce.db.selectFrom('cw_carts').select('id').where('id', '=', cart.id).execute()
        })
      },
    })
    const shop = await openShop({ storage, plugins: [direct] })
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      const outcome = await within(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(outcome).not.toBe('hung')
      expect(isCommerceError((outcome as { error?: unknown }).error, 'INVALID_STATE')).toBe(true)
    } finally {
      await shop.close()
    }
  })

  it('the same hook reading through tx.db places the order', async () => {
    const shop = await openShop({ storage, plugins: [readsInClaim('tx')] })
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(order.status).toBe('placed')
    } finally {
      await shop.close()
    }
  })
})

describe.each(GUARDED_STORAGES)('privacy requests on %s', (storage) => {
  it('erase and export find the person whatever the case of the email they typed', async () => {
    const shop = await openShop({ storage })
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      await shop.commerce.carts.update(cart.id, { email: 'Ada@Example.com' })
      const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      const open = await shop.commerce.carts.create({ currency: 'USD', email: 'ADA@EXAMPLE.COM' })
      const other = await shop.commerce.carts.create({ currency: 'USD', email: 'grace@example.com' })

      const data = await shop.commerce.privacy.export({ email: 'ada@example.com' })
      expect(data.orders.map((o) => o.id)).toEqual([order.id])
      expect(data.carts.map((c) => c.id).sort()).toEqual([cart.id, open.id].sort())

      expect(await shop.commerce.privacy.erase({ email: 'ada@example.com' })).toMatchObject({ orders: 1, carts: 2 })
      expect((await shop.commerce.orders.get(order.id)).email).toBe('erased@erased.invalid')
      expect((await shop.commerce.carts.get(open.id)).email).toBeNull()
      expect((await shop.commerce.carts.get(other.id)).email).toBe('grace@example.com')
      // The placeholder of erased orders is nobody, in any case.
      await failure(shop.commerce.privacy.export({ email: 'Erased@Erased.invalid' }), 'VALIDATION')
    } finally {
      await shop.close()
    }
  })

  it("a plugin's erase calling back into the engine gets INVALID_STATE instead of a deadlock, and nothing is erased", async () => {
    let commerceRef: Commerce | null = null
    const chatty = definePlugin({
      id: 'chatty',
      init(ctx) {
        commerceRef = ctx.commerce as unknown as Commerce
        ctx.privacy({ erase: async () => void (await ctx.commerce.orders.list({ email: 'ada@example.com' })) })
      },
    })
    const shop = await openShop({ storage, plugins: [chatty] })
    try {
      expect(commerceRef).not.toBeNull()
      const cart = await readyCart(shop.commerce, shop.variantId)
      const outcome = await within(shop.commerce.privacy.erase({ email: 'ada@example.com' }))
      expect(outcome).not.toBe('hung')
      const error = (outcome as { error?: unknown }).error
      expect(isCommerceError(error, 'INVALID_STATE'), String(error)).toBe(true)
      expect((await shop.commerce.carts.get(cart.id)).email).toBe('ada@example.com')
    } finally {
      await shop.close()
    }
  })

  it("a plugin's erase failing with a plain error is VETOED naming the plugin, not a storage failure", async () => {
    const failing = definePlugin({
      id: 'failing',
      init(ctx) {
        ctx.privacy({
          erase: () => {
            throw new Error('cannot erase now')
          },
        })
      },
    })
    const shop = await openShop({ storage, plugins: [failing] })
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      const error = await failure(shop.commerce.privacy.erase({ email: 'ada@example.com' }), 'VETOED')
      expect(error.message).toMatch(/failing.*cannot erase now/)
      expect(error.details).toMatchObject({ plugin: 'failing' })
      expect((await shop.commerce.carts.get(cart.id)).email).toBe('ada@example.com')
    } finally {
      await shop.close()
    }
  })
})

describe('composing plugins whose tables would overlap', () => {
  it("refuses two plugins when one's table prefix contains the other's (gift owns gift_*, so gift_cards_* too)", async () => {
    const gift = definePlugin({ id: 'gift' })
    const error = await failure(createCommerce({ storage: sqliteStorage({ filename: ':memory:' }), plugins: [giftCards(), gift] }), 'CONFIGURATION')
    expect(error.message).toMatch(/gift.*gift-cards|gift-cards.*gift/)
    // Plugins whose prefixes do not nest compose.
    const ok = await createCommerce({ storage: sqliteStorage({ filename: ':memory:' }), plugins: [giftCards(), definePlugin({ id: 'gifts' })] })
    await ok.close()
  })
})

type CardShop = Shop & { gateway: TestGateway; cards: GiftCardsCommerce['gift-cards']; coupons: { create(code: string, amount: number, maxUses?: number): Promise<void>; apply(cartId: string, code: string): Promise<void>; uses(code: string): Promise<number> } }

/** A shop with the gift card and coupon plugins and the testkit's scriptable gateway as `test`. */
async function cardShop(storage: ShopOptions['storage'], options: ShopOptions = {}): Promise<CardShop> {
  const gateway = testGateway({ id: 'test' })
  const shop = await openShop({ storage, plugins: [giftCards(), coupons()], payments: [gateway], stock: 100, ...options })
  const commerce = shop.commerce as any
  return Object.assign(shop, { gateway, cards: commerce['gift-cards'], coupons: commerce.coupons })
}

/** What the gift card plugin recorded as refunded, by card. */
async function cardRefunds(shop: Shop): Promise<number> {
  const rows = await shop.commerce.db.selectFrom('gift_cards_refunds' as never).select('amount' as never).execute()
  return rows.reduce((s: number, r: any) => s + Number(r.amount), 0)
}

async function outbox(shop: Shop): Promise<Array<{ type: string; payload: any }>> {
  const rows = await shop.commerce.db.selectFrom('cw_outbox').select(['type', 'payload']).orderBy('created_at').orderBy('id').execute()
  return rows.map((r) => ({ type: r.type, payload: JSON.parse(r.payload) }))
}

describe.each(GUARDED_STORAGES)('tenders on %s', (storage) => {
  // A voided payment next to a captured tender is money never received: the order is not paid in full.
  it('an order paid partly by gift card whose gateway authorization was voided is not completed by fulfilment, nor reported captured', async () => {
    const shop = await cardShop(storage)
    try {
      await shop.cards.issue('GC', 1000)
      const cart = await readyCart(shop.commerce, shop.variantId)
      await shop.cards.use(cart.id, 'GC', 1000)
      const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(order.paymentStatus).toBe('partially_captured')
      const voided = await shop.commerce.orders.voidPayment(order.id)
      const fulfilled = await shop.commerce.orders.fulfill(order.id)
      // 1000 of the total was paid and the rest never will be: neither "captured" nor completed.
      expect({ captured: voided.paymentStatus === 'captured', status: fulfilled.status }).toEqual({ captured: false, status: 'placed' })
    } finally {
      await shop.close()
    }
  })

  it('a gift card covering the whole total: the gateway is not asked, the order is captured, and a cancel returns the card its balance once', async () => {
    const shop = await cardShop(storage)
    try {
      const probe = await readyCart(shop.commerce, shop.variantId)
      const total = probe.totals.total
      await shop.cards.issue('BIG', total * 2)
      const cart = await readyCart(shop.commerce, shop.variantId)
      await shop.cards.use(cart.id, 'BIG', total)
      const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(shop.gateway.calls.filter((c) => c.operation === 'authorize')).toEqual([])
      expect(order.paymentStatus).toBe('captured')
      expect(order.payments.reduce((s, p) => s + p.amount, 0)).toBe(total)
      expect(order.payments.find((p) => p.kind === 'tender')).toMatchObject({ amount: total, capturedAmount: total, status: 'captured' })
      expect(await shop.cards.balance('BIG')).toBe(total)

      const canceled = await shop.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-big' })
      expect(canceled.paymentStatus).toBe('refunded')
      expect(await shop.cards.balance('BIG')).toBe(total * 2)
      await shop.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-big' })
      await shop.commerce.orders.cancel(order.id)
      expect(await shop.cards.balance('BIG')).toBe(total * 2)
      expect(await cardRefunds(shop)).toBe(total)
      expect(shop.gateway.calls).toEqual([])

      // Another, fulfilled: completed, since every payment is captured.
      const next = await readyCart(shop.commerce, shop.variantId)
      await shop.cards.use(next.id, 'BIG', total)
      const second = placed(await shop.commerce.checkout.complete(next.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect((await shop.commerce.orders.fulfill(second.id)).status).toBe('completed')
    } finally {
      await shop.close()
    }
  })

  it('a claim run again after a retryable storage failure takes the card and the coupon once, and holds its events once', async () => {
    let failures = 1
    const busy = storage === 'postgres' ? Object.assign(new Error('could not serialize access'), { code: '40001' }) : Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
    const shop = await cardShop(storage, {
      testPoints: {
        'checkout.claim.planned': () => {
          if (failures-- > 0) throw busy
        },
      },
    })
    try {
      await shop.cards.issue('GC', 5000)
      await shop.coupons.create('ONCE', 500, 1)
      const cart = await readyCart(shop.commerce, shop.variantId)
      await shop.cards.use(cart.id, 'GC', 1000)
      await shop.coupons.apply(cart.id, 'ONCE')
      const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(failures).toBe(-1)
      expect(await shop.cards.balance('GC')).toBe(4000)
      expect(await shop.coupons.uses('ONCE')).toBe(1)
      expect(order.payments.map((p) => p.kind).sort()).toEqual(['gateway', 'tender'])
      expect(await shop.commerce.db.selectFrom('cw_payments').select('id').where('kind', '=', 'tender').execute()).toHaveLength(1)
      const events = (await outbox(shop)).filter((e) => e.type.startsWith('coupons.'))
      expect(events.map((e) => e.type).sort()).toEqual(['coupons.claimed', 'coupons.redeemed'])
    } finally {
      await shop.close()
    }
  })

  it('a cancel of an order paid by card and gateway whose void answer is lost: retried with its key, the void is sent again and the card is credited once', async () => {
    const shop = await cardShop(storage)
    try {
      await shop.cards.issue('GC', 1000)
      const cart = await readyCart(shop.commerce, shop.variantId)
      await shop.cards.use(cart.id, 'GC', 1000)
      const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      shop.gateway.script('void', 'lost')
      const lost = await failure(shop.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-1' }), 'PAYMENT_FAILED')
      expect(lost.details).toMatchObject({ outcomeUnknown: true })
      expect(await shop.cards.balance('GC')).toBe(1000)
      const canceled = await shop.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-1' })
      expect(canceled.payments.find((p) => p.kind === 'gateway')!.status).toBe('voided')
      expect(canceled.payments.find((p) => p.kind === 'tender')).toMatchObject({ status: 'refunded', refundedAmount: 1000 })
      expect(await shop.cards.balance('GC')).toBe(1000)
      expect(await cardRefunds(shop)).toBe(1000)
      const voids = shop.gateway.calls.filter((c) => c.operation === 'void')
      expect(new Set(voids.map((c) => c.idempotencyKey)).size).toBe(1)
      expect(shop.gateway.chargeFor(canceled.payments.find((p) => p.kind === 'gateway')!.id)).toMatchObject({ voided: true, captured: 0 })
    } finally {
      await shop.close()
    }
  })

  it('a refund while part of an earlier refund is still in flight splits what is left: nothing refunded twice, each source credited what it paid', async () => {
    const shop = await cardShop(storage)
    try {
      await shop.cards.issue('GC', 1000)
      const cart = await readyCart(shop.commerce, shop.variantId)
      await shop.cards.use(cart.id, 'GC', 1000)
      const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      await shop.commerce.orders.capturePayment(order.id)
      const gatewayPart = order.totals.total - 1000
      shop.gateway.script('refund', 'lost')
      await failure(shop.commerce.orders.refund(order.id, { amount: gatewayPart, idempotencyKey: 'refund-1' }), 'PAYMENT_FAILED')
      // The gateway's part is in flight: a refund of everything else comes from the card alone.
      await failure(shop.commerce.orders.refund(order.id, { amount: 1001, idempotencyKey: 'refund-2' }), 'VALIDATION')
      const second = await shop.commerce.orders.refund(order.id, { amount: 1000, idempotencyKey: 'refund-2' })
      expect(second.payments.find((p) => p.kind === 'tender')!.refundedAmount).toBe(1000)
      const done = await shop.commerce.orders.refund(order.id, { amount: gatewayPart, idempotencyKey: 'refund-1' })
      expect(done.payments.find((p) => p.kind === 'gateway')!.refundedAmount).toBe(gatewayPart)
      expect(done.paymentStatus).toBe('refunded')
      expect(await shop.cards.balance('GC')).toBe(1000)
      expect(shop.gateway.chargeFor(done.payments.find((p) => p.kind === 'gateway')!.id)).toMatchObject({ refunded: gatewayPart })
    } finally {
      await shop.close()
    }
  })

  it('a tender whose provider cannot refund is refused at claim, so no order is left that can never be canceled', async () => {
    const unrefundable = definePlugin({
      id: 'vouchers',
      payments: [{ id: 'voucher', capabilities: { capture: false, partialCapture: false, void: false, refund: false }, authorize: async () => ({ status: 'declined', reason: 'no' }) }],
      init(ctx) {
        ctx.hooks.hook('checkout.claim', ({ tenders }) => void tenders.push({ provider: 'voucher', reference: 'V-1', amount: 100 }))
      },
    })
    const shop = await openShop({ storage, plugins: [unrefundable] })
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      const outcome = await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }).then(
        (order) => shop.commerce.orders.cancel(placed(order).id).then(() => 'canceled', (e: unknown) => `placed, and its cancel failed: ${String(e)}`),
        (e: unknown) => (isCommerceError(e, 'CONFIGURATION') ? 'refused' : `failed otherwise: ${String(e)}`),
      )
      expect(outcome).toBe('refused')
      expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')
    } finally {
      await shop.close()
    }
  })
})

describe.each(GUARDED_STORAGES.map((s) => (s === 'sqlite-memory' ? 'sqlite-file' : s)))('a checkout with tenders taken over by another engine on %s', (storage) => {
  async function crashedClaim(outcome: 'approve' | 'decline') {
    let clock = Date.parse('2026-01-01T00:00:00Z')
    let crash = true
    const now = () => new Date(clock)
    const shop = await cardShop(storage, {
      now,
      checkoutLeaseMs: 5_000,
      testPoints: {
        'checkout.authorize.before': () => {
          if (crash) throw new Error('process died before the gateway was asked')
        },
      },
    })
    await shop.cards.issue('GC', 5000)
    await shop.coupons.create('ONCE', 500, 1)
    const cart = await readyCart(shop.commerce, shop.variantId)
    await shop.cards.use(cart.id, 'GC', 1000)
    await shop.coupons.apply(cart.id, 'ONCE')
    await expect(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() })).rejects.toThrow(/process died/)
    crash = false
    clock += 5_001
    const gateway = testGateway({ id: 'test', defaults: { authorize: outcome === 'approve' ? 'ok' : 'refuse' } })
    const other = await shop.engine({ now, checkoutLeaseMs: 5_000, payments: [gateway], plugins: [giftCards(), coupons()] })
    return { shop, cart, other, gateway }
  }

  it("recover() in another engine places it: the claim's tender is the order's, its events reach the outbox once, the claim is not run again", async () => {
    const { shop, cart, other, gateway } = await crashedClaim('approve')
    try {
      expect(await other.checkout.recover()).toEqual({ placed: 1, declined: 0, failed: 0 })
      const order = await other.orders.get((await other.carts.get(cart.id)).orderId!)
      expect(order.payments.reduce((s, p) => s + p.amount, 0)).toBe(order.totals.total)
      expect(order.payments.find((p) => p.kind === 'tender')).toMatchObject({ amount: 1000, status: 'captured' })
      expect(gateway.calls.filter((c) => c.operation === 'authorize').map((c) => c.amount)).toEqual([order.totals.total - 1000])
      expect(await shop.cards.balance('GC')).toBe(4000)
      expect(await shop.coupons.uses('ONCE')).toBe(1)
      const events = (await outbox(shop)).filter((e) => e.type.startsWith('coupons.'))
      expect(events.map((e) => e.type).sort()).toEqual(['coupons.claimed', 'coupons.redeemed'])
      expect(events.every((e) => e.payload.cartId === cart.id)).toBe(true)
      expect(await other.checkout.recover()).toEqual({ placed: 0, declined: 0, failed: 0 })
      expect((await outbox(shop)).filter((e) => e.type === 'order.placed')).toHaveLength(1)
    } finally {
      await shop.close()
    }
  })

  it("declined after the takeover: the card and the coupon are given back, the claim's events dropped, the tender voided", async () => {
    const { shop, cart, other } = await crashedClaim('decline')
    try {
      expect(await other.checkout.recover()).toEqual({ placed: 0, declined: 1, failed: 0 })
      expect(await shop.cards.balance('GC')).toBe(5000)
      expect(await shop.coupons.uses('ONCE')).toBe(0)
      expect((await outbox(shop)).filter((e) => e.type.startsWith('coupons.'))).toEqual([])
      expect(await other.db.selectFrom('cw_payments').select(['kind', 'status']).orderBy('kind').execute()).toEqual([
        { kind: 'gateway', status: 'declined' },
        { kind: 'tender', status: 'voided' },
      ])
      expect((await other.carts.get(cart.id)).status).toBe('open')
    } finally {
      await shop.close()
    }
  })
})

describe('refund keys of a split refund', () => {
  // A split refund's later parts are keyed with a separator callers' keys may not contain.
  it("a caller's key that looks like the second part of another refund's key is a key of its own", async () => {
    const shop = await cardShop('sqlite-memory')
    try {
      await shop.cards.issue('GC', 1000)
      const cart = await readyCart(shop.commerce, shop.variantId)
      await shop.cards.use(cart.id, 'GC', 1000)
      const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      await shop.commerce.orders.capturePayment(order.id)
      await shop.commerce.orders.refund(order.id, { amount: 100, idempotencyKey: 'refund-abc#2' })
      // 'refund-abc' was never used: a new refund, not a CONFLICT with 'refund-abc#2'.
      const refunded = await shop.commerce.orders.refund(order.id, { amount: 200, idempotencyKey: 'refund-abc' })
      expect(refunded.payments.reduce((s, p) => s + p.refundedAmount, 0)).toBe(300)
    } finally {
      await shop.close()
    }
  })
})

describe('plugin events and core event names', () => {
  it("refuses a plugin event in one of core's namespaces (a plugin called order announcing order.exported)", async () => {
    const order = definePlugin({ id: 'order', events: { 'order.exported': z.object({}) } })
    const error = await failure(createCommerce({ storage: sqliteStorage({ filename: ':memory:' }), plugins: [order] }), 'CONFIGURATION')
    expect(error.message).toMatch(/order\.exported/)
  })
})

describe.each(GUARDED_STORAGES)('after a transactional hook on %s', (storage) => {
  it('in-process listeners run after the commit may call the engine: the hook\'s marker does not leak into them', async () => {
    const seen: string[] = []
    const watcher = definePlugin({
      id: 'watcher',
      init(ctx) {
        ctx.hooks.hook('cart.changed', async () => undefined)
        ctx.events.on('cart.updated', async ({ cartId }) => {
          try {
            seen.push((await ctx.commerce.carts.get(cartId)).email ?? 'none')
          } catch (error) {
            seen.push(`refused: ${String(error)}`)
          }
        })
      },
    })
    const shop = await openShop({ storage, plugins: [watcher] })
    try {
      const cart = await shop.commerce.carts.create({ currency: 'USD' })
      await shop.commerce.carts.update(cart.id, { email: 'ada@example.com' })
      await sleep(100)
      expect(seen).toEqual(['ada@example.com'])
    } finally {
      await shop.close()
    }
  })
})
