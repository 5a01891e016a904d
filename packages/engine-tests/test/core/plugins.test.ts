import { sql } from 'kysely'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { createCommerce, defineEndpoint, definePlugin, isCommerceError, type ErrorCodeOf, type EventsOf, type Order, type PluginContext } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { address, failure, GUARDED_STORAGES, key, openShop, placed as orderOf, readyCart, type Shop } from '../support/index.js'
import { coupons, giftCards, priceLists } from '../support/toy-plugins.js'

/** The code of what `call` throws (plugin codes included). */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call
  } catch (error) {
    if (isCommerceError<string>(error)) return error.code
    throw error
  }
  throw new Error('expected the call to fail')
}

async function outboxTypes(shop: Shop): Promise<Array<{ type: string; payload: any }>> {
  const rows = await shop.commerce.db.selectFrom('cw_outbox').select(['type', 'payload']).execute()
  return rows.map((r) => ({ type: r.type, payload: JSON.parse(r.payload) }))
}

describe.each(GUARDED_STORAGES)('plugins on %s', (storage) => {
  it('a single-use coupon: of 50 concurrent checkouts using it, exactly one is placed, and its events are in the outbox with the order', async () => {
    const plugins = [coupons()] as const
    const shop = await openShop({ storage, plugins, stock: 100 })
    const commerce = shop.commerce as unknown as Awaited<ReturnType<typeof createCommerce<typeof plugins>>>
    try {
      await commerce.coupons.create('ONCE', 500, 1)
      const carts = []
      for (let i = 0; i < 50; i++) {
        const cart = await readyCart(shop.commerce, shop.variantId)
        await commerce.coupons.apply(cart.id, 'ONCE')
        carts.push(cart)
      }
      const priced = await shop.commerce.carts.get(carts[0]!.id)
      expect(priced.totals.discountTotal).toBe(500)
      expect(priced.adjustments).toMatchObject([{ code: 'ONCE', amount: 500, source: 'coupons' }])

      const outcomes = await Promise.allSettled(carts.map((c) => shop.commerce.checkout.complete(c.id, { payment: { provider: 'test' }, idempotencyKey: key() })))
      const placed = outcomes.filter((o): o is PromiseFulfilledResult<Order> => o.status === 'fulfilled').map((o) => o.value)
      expect(placed).toHaveLength(1)
      const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)
      expect(refused.map((e) => e.code)).toEqual(Array(49).fill('COUPON_EXHAUSTED'))
      expect(await commerce.coupons.uses('ONCE')).toBe(1)
      expect(placed[0]!.totals.discountTotal).toBe(500)

      // The refused checkouts left nothing behind: carts open, no stock held for them.
      const [level] = await shop.commerce.inventory.levels(shop.variantId)
      expect(level!.reserved).toBe(1)
      const open = await shop.commerce.db.selectFrom('cw_carts').select('id').where('status', '=', 'open').execute()
      expect(open).toHaveLength(49)

      // The claim's event and the placement's event: once each, for the placed order only.
      const events = await outboxTypes(shop)
      const plugin = events.filter((e) => e.type.startsWith('coupons.'))
      expect(plugin).toEqual([
        { type: 'coupons.claimed', payload: { code: 'ONCE', cartId: placed[0]!.cartId } },
        { type: 'coupons.redeemed', payload: { code: 'ONCE', orderId: placed[0]!.id, cartId: placed[0]!.cartId } },
      ])
      expect(events.filter((e) => e.type === 'order.placed')).toHaveLength(1)
    } finally {
      await shop.close()
    }
  })

  it('a declined payment gives the coupon use back and leaves no coupon event; a new attempt then uses it', async () => {
    const plugins = [coupons()] as const
    const shop = await openShop({ storage, plugins })
    const commerce = shop.commerce as unknown as Awaited<ReturnType<typeof createCommerce<typeof plugins>>>
    try {
      await commerce.coupons.create('ONCE', 500, 1)
      const cart = await readyCart(shop.commerce, shop.variantId)
      await commerce.coupons.apply(cart.id, 'ONCE')
      shop.payments.script('decline')
      await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'PAYMENT_DECLINED')
      expect(await commerce.coupons.uses('ONCE')).toBe(0)
      expect((await outboxTypes(shop)).filter((e) => e.type.startsWith('coupons.'))).toEqual([])

      const order = orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(await commerce.coupons.uses('ONCE')).toBe(1)
      expect((await outboxTypes(shop)).filter((e) => e.type === 'coupons.redeemed').map((e) => e.payload.orderId)).toEqual([order.id])

      // Canceling the order gives the use back too.
      await shop.commerce.orders.cancel(order.id)
      expect(await commerce.coupons.uses('ONCE')).toBe(0)
    } finally {
      await shop.close()
    }
  })

  it('a gift card as a tender: 10 concurrent checkouts paying 10.00 each from a 50.00 card, the rest at the gateway; refunds go back to each source', async () => {
    const plugins = [giftCards()] as const
    const shop = await openShop({ storage, plugins, stock: 100 })
    const commerce = shop.commerce as unknown as Awaited<ReturnType<typeof createCommerce<typeof plugins>>>
    try {
      await commerce['gift-cards'].issue('GC-50', 5000)
      const carts = []
      for (let i = 0; i < 10; i++) {
        const cart = await readyCart(shop.commerce, shop.variantId)
        await commerce['gift-cards'].use(cart.id, 'GC-50', 1000)
        carts.push(cart)
      }
      const outcomes = await Promise.allSettled(carts.map((c) => shop.commerce.checkout.complete(c.id, { payment: { provider: 'test' }, idempotencyKey: key() })))
      const placed = outcomes.filter((o): o is PromiseFulfilledResult<Order> => o.status === 'fulfilled').map((o) => o.value)
      expect(placed).toHaveLength(5)
      expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.code)).toEqual(Array(5).fill('GIFT_CARD_EMPTY'))
      expect(await commerce['gift-cards'].balance('GC-50')).toBe(0)

      for (const order of placed) {
        const stored = await shop.commerce.orders.get(order.id)
        expect(stored.payments.reduce((s, p) => s + p.amount, 0)).toBe(stored.totals.total)
        const tender = stored.payments.find((p) => p.kind === 'tender')!
        const gateway = stored.payments.find((p) => p.kind === 'gateway')!
        expect(tender).toMatchObject({ provider: 'gift-card', reference: 'GC-50', amount: 1000, capturedAmount: 1000, status: 'captured' })
        expect(gateway).toMatchObject({ provider: 'test', amount: stored.totals.total - 1000, authorizedAmount: stored.totals.total - 1000, status: 'authorized' })
        // The gateway was asked for the rest only.
        expect(shop.payments.calls.filter((c) => c.operation === 'authorize' && c.idempotencyKey === gateway.id).map((c) => c.amount)).toEqual([stored.totals.total - 1000])
        expect(stored.paymentStatus).toBe('partially_captured')
      }

      // A full refund of an order paid by card and gateway returns each part to its source.
      const order = placed[0]!
      await shop.commerce.orders.capturePayment(order.id)
      const refunded = await shop.commerce.orders.refund(order.id, { amount: order.totals.total, idempotencyKey: 'refund-all' })
      const gateway = refunded.payments.find((p) => p.kind === 'gateway')!
      const tender = refunded.payments.find((p) => p.kind === 'tender')!
      expect(gateway.refundedAmount).toBe(order.totals.total - 1000)
      expect(tender.refundedAmount).toBe(1000)
      expect(refunded.paymentStatus).toBe('refunded')
      expect(await commerce['gift-cards'].balance('GC-50')).toBe(1000)
      // A retry of the same refund replays it: nothing moves twice.
      await shop.commerce.orders.refund(order.id, { amount: order.totals.total, idempotencyKey: 'refund-all' })
      expect(await commerce['gift-cards'].balance('GC-50')).toBe(1000)
      expect((await shop.commerce.orders.get(order.id)).payments.map((p) => p.refundedAmount).sort()).toEqual([1000, order.totals.total - 1000].sort())
    } finally {
      await shop.close()
    }
  })

  it('a declined checkout paid partly by gift card gives the card its balance back', async () => {
    const plugins = [giftCards()] as const
    const shop = await openShop({ storage, plugins })
    const commerce = shop.commerce as unknown as Awaited<ReturnType<typeof createCommerce<typeof plugins>>>
    try {
      await commerce['gift-cards'].issue('GC', 2000)
      const cart = await readyCart(shop.commerce, shop.variantId)
      await commerce['gift-cards'].use(cart.id, 'GC', 2000)
      shop.payments.script('decline')
      await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'PAYMENT_DECLINED')
      expect(await commerce['gift-cards'].balance('GC')).toBe(2000)
      const tenders = await shop.commerce.db.selectFrom('cw_payments').select(['status']).where('kind', '=', 'tender').execute()
      expect(tenders).toEqual([{ status: 'voided' }])
    } finally {
      await shop.close()
    }
  })

  it("refuses a plugin's writes to core's tables through its handle, and leaves the checkout undone", async () => {
    const attempts: string[] = []
    const sneaky = definePlugin({
      id: 'sneaky',
      init(ctx) {
        ctx.hooks.hook('checkout.claim', async (_context, tx) => {
          const db = tx.db as any
          for (const write of [
            () => db.updateTable('cw_orders').set({ total: 0 }).execute(),
            () => db.insertInto('cw_products').values({ id: 'x' }).execute(),
            () => db.deleteFrom('cw_carts as c').execute(),
            () => sql`delete from cw_carts`.execute(db),
            () => sql`UPDATE "cw_payments" SET amount = 0`.execute(db),
          ]) {
            try {
              await write()
              attempts.push('written')
            } catch (error) {
              attempts.push(isCommerceError(error, 'INVALID_STATE') ? 'refused' : `other: ${String(error)}`)
            }
          }
          throw new Error('stop here')
        })
      },
    })
    const shop = await openShop({ storage, plugins: [sneaky] })
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'VETOED')
      expect(attempts).toEqual(Array(5).fill('refused'))
      expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')
      expect(await shop.commerce.db.selectFrom('cw_payments').select('id').execute()).toEqual([])
      expect((await shop.commerce.inventory.levels(shop.variantId))[0]!.reserved).toBe(0)
    } finally {
      await shop.close()
    }
  })

  it('a plugin calling the engine from inside a transactional hook gets INVALID_STATE, not a deadlock, and nothing is written', async () => {
    let seen: unknown = null
    const reentrant = definePlugin({
      id: 'reentrant',
      init(ctx) {
        ctx.hooks.hook('checkout.claim', async ({ cart }) => {
          try {
            await ctx.commerce.carts.get(cart.id)
          } catch (error) {
            seen = error
            throw error
          }
        })
      },
    })
    const shop = await openShop({ storage, plugins: [reentrant] })
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      const error = await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'INVALID_STATE')
      expect(error.message).toMatch(/inside the transactional hook checkout\.claim/)
      expect(seen).toBe(error)
      expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')
      expect(await shop.commerce.db.selectFrom('cw_payments').select('id').execute()).toEqual([])
    } finally {
      await shop.close()
    }
  })
})

describe('composing plugins', () => {
  const storage = () => sqliteStorage({ filename: ':memory:' })

  it("refuses a plugin id that is one of the engine's keys, a missing dependency, a cycle and a code of core's", async () => {
    expect((await failure(createCommerce({ storage: storage(), plugins: [definePlugin({ id: 'orders' })] }), 'CONFIGURATION')).message).toMatch(/collides/)
    expect((await failure(createCommerce({ storage: storage(), plugins: [definePlugin({ id: 'b2b', dependsOn: ['customers'] })] }), 'CONFIGURATION')).message).toMatch(
      /b2b needs plugin "customers"/,
    )
    const a = definePlugin({ id: 'a', dependsOn: ['b'] })
    const b = definePlugin({ id: 'b', dependsOn: ['a'] })
    expect((await failure(createCommerce({ storage: storage(), plugins: [a, b] }), 'CONFIGURATION')).message).toMatch(/cycle: a → b → a/)
    const vetoed = definePlugin({ id: 'x', errorCodes: { VETOED: { description: 'no' } } })
    expect((await failure(createCommerce({ storage: storage(), plugins: [vetoed] }), 'CONFIGURATION')).message).toMatch(/core's/)
    const clash = definePlugin({ id: 'y', events: { 'order.placed': z.object({}) } })
    expect((await failure(createCommerce({ storage: storage(), plugins: [clash] }), 'CONFIGURATION')).message).toMatch(/one of core's/)
  })

  it('sets plugins up in dependency order, each seeing the services of those before it', async () => {
    const order: string[] = []
    const customers = definePlugin({
      id: 'customers',
      init() {
        order.push('customers')
        return { find: (id: string) => ({ id }) }
      },
    })
    const b2b = definePlugin({
      id: 'b2b',
      dependsOn: ['customers'],
      init({ commerce }) {
        order.push('b2b')
        const deps = commerce as unknown as { customers?: { find(id: string): { id: string } } }
        return { company: (id: string) => deps.customers!.find(id) }
      },
    })
    const commerce = await createCommerce({ storage: storage(), plugins: [b2b, customers] })
    try {
      expect(order).toEqual(['customers', 'b2b'])
      expect(commerce.b2b.company('c1')).toEqual({ id: 'c1' })
      expectTypeOf(commerce.customers.find).returns.toEqualTypeOf<{ id: string }>()
    } finally {
      await commerce.close()
    }
  })

  it("types the engine from its plugins: services, events and error codes", async () => {
    const commerce = await createCommerce({ storage: storage(), plugins: [coupons(), giftCards()] })
    try {
      expectTypeOf(commerce.coupons.uses).returns.resolves.toEqualTypeOf<number>()
      expectTypeOf(commerce['gift-cards'].balance).returns.resolves.toEqualTypeOf<number>()
      const payloads: unknown[] = []
      commerce.events.on('coupons.redeemed', (payload) => {
        expectTypeOf(payload).toEqualTypeOf<{ code: string; orderId: string; cartId: string }>()
        payloads.push(payload)
      })
      commerce.events.on('order.placed', ({ order }) => expectTypeOf(order.number).toEqualTypeOf<number>())
      expectTypeOf<ErrorCodeOf<typeof commerce>>().toEqualTypeOf<
        'VALIDATION' | 'NOT_FOUND' | 'OUT_OF_STOCK' | 'PAYMENT_DECLINED' | 'PAYMENT_FAILED' | 'INVALID_STATE' | 'CONFLICT' | 'VETOED' | 'CONFIGURATION' | 'STORAGE' | 'PROVIDER' | 'COUPON_EXHAUSTED' | 'GIFT_CARD_EMPTY'
      >()
      expect(commerce.errorCodes).toContain('COUPON_EXHAUSTED')
      expect(commerce.errorCodes).toContain('GIFT_CARD_EMPTY')
      // @ts-expect-error: not an event of core or of these plugins
      commerce.events.on('coupons.nope', () => undefined)
    } finally {
      await commerce.close()
    }
  })

  it('validates a plugin event before the outbox write: a bad payload rolls the transaction back', async () => {
    const noisy = definePlugin({
      id: 'noisy',
      events: { 'noisy.said': z.strictObject({ words: z.string().min(1) }) },
      migrations: {
        '0001': { up: async (db) => void (await db.schema.createTable('noisy_log').addColumn('id', 'text', (c) => c.primaryKey()).execute()) },
      },
      init(ctx) {
        return {
          say: (words: string) =>
            ctx.transaction(async (tx) => {
              await (tx.db as any).insertInto('noisy_log').values({ id: ctx.newId('log') }).execute()
              tx.emit('noisy.said', { words })
            }),
        }
      },
    })
    const commerce = await createCommerce({ storage: storage(), plugins: [noisy] })
    try {
      await commerce.noisy.say('hello')
      const error = await failure(commerce.noisy.say(''), 'VALIDATION')
      expect(error.details.fields).toEqual(['words'])
      const events = await commerce.db.selectFrom('cw_outbox').select(['type', 'payload']).execute()
      expect(events).toEqual([{ type: 'noisy.said', payload: JSON.stringify({ words: 'hello' }) }])
      expect(await sql`select count(*) as n from noisy_log`.execute(commerce.db).then((r: any) => Number(r.rows[0].n))).toBe(1)
    } finally {
      await commerce.close()
    }
  })
})

describe.each(GUARDED_STORAGES)('plugin extension points on %s', (storage) => {
  it('a price-list plugin: explainPrice reports base, tier and list, and the cart and its order use the list price', async () => {
    const plugins = [priceLists()] as const
    const shop = await openShop({ storage, plugins, stock: 100 })
    const commerce = shop.commerce as unknown as Awaited<ReturnType<typeof createCommerce<typeof plugins>>>
    try {
      const variant = shop.shoe.variants[1]!
      await shop.commerce.catalog.setPrices(variant.id, [{ currency: 'USD', amount: 12900 }, { currency: 'USD', amount: 11900, minQuantity: 10 }])
      await commerce['price-lists'].set('cus_wholesale', variant.id, 9900)

      const explained = await shop.commerce.catalog.explainPrice(variant.id, { currency: 'USD', quantity: 10, customerId: 'cus_wholesale' })
      expect(explained).toMatchObject({ amount: 9900, source: 'price-list' })
      expect(explained.chain).toEqual([
        { source: 'base', kind: 'base', amount: 12900, minQuantity: 1, applied: false, overriddenBy: 'price-list' },
        { source: 'tier', kind: 'tier', amount: 11900, minQuantity: 10, applied: false, overriddenBy: 'price-list' },
        { source: 'price-list', kind: 'source', amount: 9900, applied: true, label: 'wholesale' },
      ])
      expect((await shop.commerce.catalog.explainPrice(variant.id, { currency: 'USD', quantity: 10 })).source).toBe('tier')

      const cart = await shop.commerce.carts.create({ currency: 'USD', customerId: 'cus_wholesale' })
      const added = await shop.commerce.carts.addItem(cart.id, { variantId: variant.id, quantity: 2 })
      expect(added.lines[0]!.unitPrice).toBe(9900)
      await shop.commerce.carts.update(cart.id, { email: 'buyer@example.com', shippingAddress: address })
      await shop.commerce.carts.setShippingOption(cart.id, 'flat:standard')
      const order = orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(order.lines[0]).toMatchObject({ unitPrice: 9900, subtotal: 19800 })
      // A guest pays core's price.
      const guest = await readyCart(shop.commerce, variant.id)
      expect(guest.lines[0]!.unitPrice).toBe(12900)
    } finally {
      await shop.close()
    }
  })

  it('privacy: export gathers core and plugin data; erase anonymizes orders and carts and runs each plugin erase, in one transaction', async () => {
    const notes = definePlugin({
      id: 'notes',
      migrations: {
        '0001': {
          up: async (db) =>
            void (await db.schema.createTable('notes_notes').addColumn('email', 'text', (c) => c.notNull()).addColumn('text', 'text', (c) => c.notNull()).execute()),
        },
      },
      init(ctx: PluginContext<{ notes_notes: { email: string; text: string } }>) {
        ctx.privacy({
          export: async (subject, db) => (await db.selectFrom('notes_notes').select('text').where('email', '=', subject.email!).execute()).map((r) => r.text),
          erase: async (subject, tx) => void (await tx.db.deleteFrom('notes_notes').where('email', '=', subject.email!).execute()),
        })
        return { add: (email: string, text: string) => ctx.db.insertInto('notes_notes').values({ email, text }).execute() }
      },
    })
    const shop = await openShop({ storage, plugins: [notes] })
    const commerce = shop.commerce as unknown as Awaited<ReturnType<typeof createCommerce<readonly [typeof notes]>>>
    try {
      const placed = await readyCart(shop.commerce, shop.variantId)
      const order = orderOf(await shop.commerce.checkout.complete(placed.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      const open = await readyCart(shop.commerce, shop.variantId)
      const other = await shop.commerce.carts.create({ currency: 'USD' })
      await shop.commerce.carts.update(other.id, { email: 'grace@example.com' })
      await commerce.notes.add('ada@example.com', 'prefers blue')

      const data = await shop.commerce.privacy.export({ email: 'ada@example.com' })
      expect(data.orders.map((o) => o.id)).toEqual([order.id])
      expect(data.carts.map((c) => c.id).sort()).toEqual([placed.id, open.id].sort())
      expect(data.plugins).toEqual({ notes: ['prefers blue'] })

      const erased = await shop.commerce.privacy.erase({ email: 'ada@example.com' })
      expect(erased).toEqual({ orders: 1, carts: 2, plugins: ['notes'] })
      const after = await shop.commerce.orders.get(order.id)
      expect(after).toMatchObject({ email: 'erased@erased.invalid', shippingAddress: null, billingAddress: null, customerId: null })
      expect(after.totals).toEqual(order.totals)
      expect((await shop.commerce.carts.get(open.id)).email).toBeNull()
      expect((await shop.commerce.carts.get(other.id)).email).toBe('grace@example.com')
      expect(await shop.commerce.privacy.export({ email: 'ada@example.com' })).toMatchObject({ orders: [], carts: [], plugins: { notes: [] } })
      await failure(shop.commerce.privacy.erase({}), 'VALIDATION')
    } finally {
      await shop.close()
    }
  })

  it('a plugin failing in its erase leaves everything as it was', async () => {
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
      await expect(shop.commerce.privacy.erase({ email: 'ada@example.com' })).rejects.toThrow(/cannot erase now/)
      expect((await shop.commerce.carts.get(cart.id)).email).toBe('ada@example.com')
    } finally {
      await shop.close()
    }
  })

  it('cart.changed runs in the transaction of each cart change, and a veto there leaves the cart as it was', async () => {
    const versions: number[] = []
    const watcher = definePlugin({
      id: 'watcher',
      init(ctx) {
        ctx.hooks.hook('cart.changed', async ({ version }) => {
          versions.push(version)
          if (version > 3) throw ctx.error('TOO_MANY' as never, 'no more changes')
        })
      },
    })
    const shop = await openShop({ storage, plugins: [watcher] })
    try {
      const cart = await readyCart(shop.commerce, shop.variantId)
      expect(versions).toEqual([1, 2, 3])
      expect((await shop.commerce.carts.get(cart.id)).version).toBe(3)
      await expect(shop.commerce.carts.update(cart.id, { email: 'b@example.com' })).rejects.toThrow(/no more changes/)
      const after = await shop.commerce.carts.get(cart.id)
      expect(after).toMatchObject({ version: 3, email: 'ada@example.com' })
    } finally {
      await shop.close()
    }
  })
})

describe('plugin events and handles', () => {
  it("delivers a plugin's events to its durable subscribers through the outbox, typed by its schemas", async () => {
    const delivered: Array<{ id: string; words: string }> = []
    const events = { 'talk.said': z.strictObject({ words: z.string() }) }
    const talk = definePlugin({
      id: 'talk',
      events,
      subscribers: [
        {
          id: 'talk-log',
          events: ['talk.said'],
          handle(event) {
            if (event.type === 'talk.said') {
              expectTypeOf(event.payload).toEqualTypeOf<{ words: string }>()
              delivered.push({ id: event.id, words: event.payload.words })
            }
          },
        },
      ],
      init(ctx: PluginContext<{}, EventsOf<typeof events>>) {
        return { say: (words: string) => ctx.transaction(async (tx) => tx.emit('talk.said', { words })) }
      },
    })
    const commerce = await createCommerce({ storage: sqliteStorage({ filename: ':memory:' }), plugins: [talk], outbox: { enabled: false } })
    try {
      await commerce.talk.say('hello')
      await commerce.outbox.drain()
      expect(delivered.map((d) => d.words)).toEqual(['hello'])
      const [row] = await commerce.db.selectFrom('cw_outbox').select(['id', 'type']).execute()
      expect(row).toEqual({ id: delivered[0]!.id, type: 'talk.said' })
    } finally {
      await commerce.close()
    }
  })

  it("types a plugin's handle with its own tables only", () => {
    definePlugin({
      id: 'typed',
      init(ctx: PluginContext<{ typed_rows: { id: string } }>) {
        ctx.hooks.hook('checkout.claim', async (_c, tx) => {
          await tx.db.selectFrom('typed_rows').select('id').execute()
          // @ts-expect-error: core's tables are not in a plugin's handle
          await tx.db.selectFrom('cw_orders').selectAll().execute()
        })
        // @ts-expect-error: nor outside a transaction
        void ctx.db.updateTable('cw_carts')
      },
    })
  })
})

describe('endpoints as data', () => {
  it("lists the plugins' endpoints on the engine, with their schemas and handlers", async () => {
    const balance = defineEndpoint({
      surface: 'store',
      method: 'GET',
      path: '/gift-cards/:code',
      summary: 'A gift card balance',
      access: 'public',
      rateLimit: { windowMs: 60_000, max: 10 },
      input: z.object({ code: z.string().max(40) }),
      output: z.object({ balance: z.number().int() }),
      handler: ({ input }) => ({ balance: input.code.length }),
    })
    const plugin = definePlugin({ id: 'cards', endpoints: [balance] })
    const commerce = await createCommerce({ storage: sqliteStorage({ filename: ':memory:' }), plugins: [plugin] })
    try {
      expect(commerce.endpoints).toHaveLength(1)
      const [endpoint] = commerce.endpoints
      expect(endpoint).toMatchObject({ surface: 'store', method: 'GET', path: '/gift-cards/:code', access: 'public' })
      const input = endpoint!.input!.parse({ code: 'ABC' })
      expect(await endpoint!.handler({ input, actor: { kind: 'anonymous' }, commerce })).toEqual({ balance: 3 })
      expect(endpoint!.output.safeParse({ balance: 1.5 }).success).toBe(false)
    } finally {
      await commerce.close()
    }
  })
})
