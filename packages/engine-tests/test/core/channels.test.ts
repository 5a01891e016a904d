import { afterEach, describe, expect, it } from 'vitest'
import type { Commerce, PriceQuery, PriceSource } from '@cartwright/core'
import { address, checkout, failure, GUARDED_STORAGES, openShop, type Shop, type ShopOptions } from '../support/index.js'

/**
 * Sales channels: a cart opened in a channel sells only the channel's published products, in its
 * currencies, from its stock locations; its order keeps the channel; catalog queries given the
 * channel find only what is published to it; price sources are told the channel.
 */

/** Every channel and publication row, for "nothing was written" checks. */
async function channelRows(commerce: Commerce): Promise<unknown[]> {
  const channels = await commerce.db.selectFrom('cw_channels').selectAll().orderBy('id').execute()
  const published = await commerce.db.selectFrom('cw_channel_products').selectAll().orderBy('channel_id').orderBy('product_id').execute()
  return [channels, published]
}

/** A source that answers nothing and records what it was asked. */
function listening(asked: PriceQuery[]): PriceSource {
  return { id: 'listener', priority: 10, resolve: (query) => (asked.push(structuredClone(query)), query.lines.map(() => undefined)) }
}

describe.each(GUARDED_STORAGES)('sales channels on %s', (storage) => {
  let shop: Shop | undefined
  afterEach(async () => {
    await shop?.close()
    shop = undefined
  })
  const open = async (options: ShopOptions = {}) => (shop = await openShop({ storage, ...options }))

  /** The shop with a mug nobody published, and a `web` channel (USD, EUR) the shoe is published to. */
  async function channelShop(options: ShopOptions = {}) {
    const s = await open(options)
    const { commerce } = s
    const mug = await commerce.catalog.createProduct({ title: 'Mug', variants: [{ sku: 'MUG-1', prices: [{ currency: 'USD', amount: 1500 }] }] })
    await commerce.inventory.setStock({ variantId: mug.variants[0]!.id, locationId: s.warehouse.id, onHand: 10 })
    const web = await commerce.channels.create({ code: 'web', name: 'Web store', currencies: ['USD', 'EUR'], locales: ['en-US', 'de'] })
    await commerce.channels.publish(web.id, [s.shoe.id])
    return { ...s, mug, web }
  }

  async function ready(commerce: Commerce, cartId: string) {
    await commerce.carts.update(cartId, { email: 'ada@example.com', shippingAddress: address })
    return commerce.carts.setShippingOption(cartId, 'flat:standard')
  }

  it('a channel is created, read by id or code, listed, updated, and announced', async () => {
    const { commerce, web, warehouse } = await channelShop()
    expect(web).toMatchObject({ code: 'web', name: 'Web store', currencies: ['USD', 'EUR'], locales: ['en-US', 'de'], taxInclusive: false, stockLocationIds: [], active: true })
    expect(await commerce.channels.get('web')).toEqual(web)
    expect(await commerce.channels.get(web.id)).toEqual(web)
    const pos = await commerce.channels.create({ code: 'pos', name: 'Shop floor', currencies: ['eur'], taxInclusive: true, stockLocationIds: [warehouse.id] })
    expect(pos).toMatchObject({ currencies: ['EUR'], taxInclusive: true, stockLocationIds: [warehouse.id], locales: [] })
    const first = await commerce.channels.list({ limit: 1 })
    expect(first.items.map((c) => c.code)).toEqual(['pos'])
    const second = await commerce.channels.list({ limit: 1, cursor: first.nextCursor! })
    expect(second.items.map((c) => c.code)).toEqual(['web'])
    expect(second.nextCursor).toBeNull()
    const closed = await commerce.channels.update(pos.id, { active: false, name: 'Old floor' })
    expect(closed).toMatchObject({ active: false, name: 'Old floor', currencies: ['EUR'] })
    expect((await commerce.channels.list({ active: true })).items.map((c) => c.code)).toEqual(['web'])
    const events = await commerce.db.selectFrom('cw_outbox').select(['type', 'payload']).where('type', 'like', 'channel.%').execute()
    expect(events.filter((e) => e.type === 'channel.created').map((e) => JSON.parse(e.payload).code).sort()).toEqual(['pos', 'web'])
    expect(events.some((e) => e.type === 'channel.updated' && JSON.parse(e.payload).channelId === pos.id)).toBe(true)
  })

  it('a product not published to a channel cannot be added to a cart of that channel (NOT_FOUND), and the cart is unchanged', async () => {
    const { commerce, mug, web } = await channelShop()
    const cart = await commerce.carts.create({ channelId: web.id, currency: 'USD' })
    expect(cart).toMatchObject({ channelId: web.id, taxInclusive: false })
    await failure(commerce.carts.addItem(cart.id, { variantId: mug.variants[0]!.id, quantity: 1 }), 'NOT_FOUND')
    const after = await commerce.carts.get(cart.id)
    expect(after.lines).toEqual([])
    expect(after.version).toBe(cart.version)
    // Published, it can; the same variant in a cart without a channel always could.
    await commerce.channels.publish(web.id, [mug.id])
    expect((await commerce.carts.addItem(cart.id, { variantId: mug.variants[0]!.id, quantity: 1 })).lines).toHaveLength(1)
    // Unpublished again: no more units of it.
    await commerce.channels.unpublish(web.id, [mug.id])
    const line = (await commerce.carts.get(cart.id)).lines[0]!
    await failure(commerce.carts.updateItem(cart.id, line.id, { quantity: 2 }), 'NOT_FOUND')
    const plain = await commerce.carts.create({ currency: 'USD' })
    expect(plain).toMatchObject({ channelId: null, taxInclusive: false })
    expect((await commerce.carts.addItem(plain.id, { variantId: mug.variants[0]!.id, quantity: 1 })).lines).toHaveLength(1)
  })

  it('a channel refuses a cart in a currency it does not sell in (VALIDATION naming currency), an inactive or unknown channel any cart', async () => {
    const { commerce, web } = await channelShop()
    const carts = async () => (await commerce.db.selectFrom('cw_carts').select('id').execute()).length
    const before = await carts()
    const refused = await failure(commerce.carts.create({ channelId: web.id, currency: 'JPY' }), 'VALIDATION')
    expect(refused.details['fields']).toEqual(['currency'])
    expect(refused.message).toContain('USD, EUR')
    const pos = await commerce.channels.create({ code: 'pos', name: 'Shop floor', currencies: ['EUR'], taxInclusive: true, active: false })
    await failure(commerce.carts.create({ channelId: pos.id, currency: 'EUR' }), 'INVALID_STATE')
    await failure(commerce.carts.create({ channelId: 'chan_00000000000000000000000000', currency: 'USD' }), 'NOT_FOUND')
    expect(await carts()).toBe(before)
    // Active again: the cart carries the channel and its tax-inclusive setting.
    await commerce.channels.update(pos.id, { active: true })
    const cart = await commerce.carts.create({ channelId: pos.id, currency: 'EUR' })
    expect(cart).toMatchObject({ channelId: pos.id, taxInclusive: true, currency: 'EUR' })
    expect(await commerce.carts.get(cart.id)).toMatchObject({ channelId: pos.id, taxInclusive: true })
  })

  it('search, product listings and category pages given a core channel find only its published products', async () => {
    const { commerce, mug, shoe, web } = await channelShop()
    const all = await commerce.search.products({})
    expect(all.items.map((h) => h.product.id).sort()).toEqual([mug.id, shoe.id].sort())
    for (const channel of ['web', web.id]) {
      const found = await commerce.search.products({ channel })
      expect(found.items.map((h) => h.product.id)).toEqual([shoe.id])
      expect(found.total).toBe(1)
    }
    expect((await commerce.search.products({ channel: 'web', query: 'mug' })).items).toEqual([])
    // A name no core channel has only feeds the visibility source (none here): everything.
    expect((await commerce.search.products({ channel: 'elsewhere' })).total).toBe(2)
    expect((await commerce.catalog.listProducts({ channel: 'web' })).items.map((p) => p.id)).toEqual([shoe.id])
    expect((await commerce.catalog.listProducts({})).items).toHaveLength(2)
    const category = await commerce.categories.create({ title: 'Everything', handle: 'everything' })
    await commerce.categories.addProducts(category.id, [shoe.id, mug.id])
    expect((await commerce.categories.products(category.id, { channel: 'web' })).items.map((p) => p.id)).toEqual([shoe.id])
    await commerce.channels.publish(web.id, [mug.id, shoe.id])
    const published = await commerce.channels.products(web.id, { limit: 1 })
    expect(published.items).toHaveLength(1)
    const rest = await commerce.channels.products(web.id, { limit: 1, cursor: published.nextCursor! })
    expect([...published.items, ...rest.items].map((p) => p.id).sort()).toEqual([mug.id, shoe.id].sort())
    expect((await commerce.search.products({ channel: 'web' })).total).toBe(2)
  })

  it('publishing an unknown product or to an unknown channel is NOT_FOUND and publishes nothing', async () => {
    const { commerce, mug, web } = await channelShop()
    const before = await channelRows(commerce)
    await failure(commerce.channels.publish(web.id, [mug.id, 'prod_00000000000000000000000000']), 'NOT_FOUND')
    await failure(commerce.channels.publish('chan_00000000000000000000000000', [mug.id]), 'NOT_FOUND')
    await failure(commerce.channels.unpublish('chan_00000000000000000000000000', [mug.id]), 'NOT_FOUND')
    await failure(commerce.channels.products('chan_00000000000000000000000000'), 'NOT_FOUND')
    expect(await channelRows(commerce)).toEqual(before)
  })

  it('orders carry the channel of their cart, and orders.list filters by it', async () => {
    const { commerce, variantId, web } = await channelShop()
    const inWeb = await commerce.carts.create({ channelId: web.id, currency: 'USD' })
    await commerce.carts.addItem(inWeb.id, { variantId, quantity: 1 })
    await ready(commerce, inWeb.id)
    const webOrder = await checkout(commerce, inWeb.id)
    expect(webOrder.channelId).toBe(web.id)
    const stored = await commerce.db.selectFrom('cw_orders').select('channel_id').where('id', '=', webOrder.id).executeTakeFirstOrThrow()
    expect(stored.channel_id).toBe(web.id)
    const plain = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(plain.id, { variantId, quantity: 1 })
    await ready(commerce, plain.id)
    const plainOrder = await checkout(commerce, plain.id)
    expect(plainOrder.channelId).toBeNull()
    expect((await commerce.orders.list({ channelId: web.id })).items.map((o) => o.id)).toEqual([webOrder.id])
    expect((await commerce.orders.list()).items).toHaveLength(2)
    expect((await commerce.orders.get(webOrder.id)).channelId).toBe(web.id)
  })

  it("price sources are told the cart's channel, and explainPrice the channel asked for", async () => {
    const asked: PriceQuery[] = []
    const { commerce, variantId, web } = await channelShop({ priceSources: [listening(asked)] })
    const cart = await commerce.carts.create({ channelId: web.id, currency: 'USD' })
    await commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
    expect(asked.length).toBeGreaterThan(0)
    expect(asked.every((q) => q.channelId === web.id)).toBe(true)
    asked.length = 0
    const plain = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(plain.id, { variantId, quantity: 1 })
    expect(asked.map((q) => q.channelId)).toContain(null)
    expect(asked.every((q) => q.channelId === null)).toBe(true)
    asked.length = 0
    const explained = await commerce.catalog.explainPrice(variantId, { currency: 'USD', channelId: web.id })
    expect(explained.channelId).toBe(web.id)
    expect(asked.map((q) => q.channelId)).toEqual([web.id])
  })

  it("a checkout in a channel reserves only at the channel's stock locations", async () => {
    const { commerce, variantId, warehouse, shoe } = await channelShop({ stock: 10 })
    // The store holds 2 units of the shoe; the warehouse 10 (and is preferred: created first, same priority).
    const store = await commerce.inventory.createLocation({ name: 'Store', code: 'store' })
    await commerce.inventory.setStock({ variantId, locationId: store.id, onHand: 2 })
    const pos = await commerce.channels.create({ code: 'pos', name: 'Shop floor', currencies: ['USD'], stockLocationIds: [store.id] })
    await commerce.channels.publish(pos.id, [shoe.id])
    // The cart counts only the store's units.
    const cart = await commerce.carts.create({ channelId: pos.id, currency: 'USD' })
    const short = await failure(commerce.carts.addItem(cart.id, { variantId, quantity: 3 }), 'OUT_OF_STOCK')
    expect(short.details['shortages']).toMatchObject([{ variantId, requested: 3, available: 2 }])
    await commerce.carts.addItem(cart.id, { variantId, quantity: 2 })
    await ready(commerce, cart.id)
    const order = await checkout(commerce, cart.id)
    const reservations = await commerce.db.selectFrom('cw_reservations').select(['location_id', 'quantity']).where('order_id', '=', order.id).execute()
    expect(reservations).toEqual([{ location_id: store.id, quantity: 2 }])
    const levels = await commerce.inventory.levels(variantId)
    expect(levels.find((l) => l.locationId === warehouse.id)!.reserved).toBe(0)
    expect(levels.find((l) => l.locationId === store.id)!.reserved).toBe(2)
  })

  it('a variant with stock only outside the channel\'s locations cannot be checked out in that channel, and can in another', async () => {
    const { commerce, variantId, warehouse, shoe, web } = await channelShop({ stock: 5 })
    const store = await commerce.inventory.createLocation({ name: 'Store', code: 'store' })
    // The shoe is only at the warehouse. The pos channel sells from every location when the cart is filled...
    const pos = await commerce.channels.create({ code: 'pos', name: 'Shop floor', currencies: ['USD'] })
    await commerce.channels.publish(pos.id, [shoe.id])
    const inPos = await commerce.carts.create({ channelId: pos.id, currency: 'USD' })
    await commerce.carts.addItem(inPos.id, { variantId, quantity: 1 })
    await ready(commerce, inPos.id)
    // ...and only from the store by checkout: nothing to reserve there.
    await commerce.channels.update(pos.id, { stockLocationIds: [store.id] })
    const refused = await failure(checkout(commerce, inPos.id), 'OUT_OF_STOCK')
    expect(refused.details['shortages']).toMatchObject([{ variantId, requested: 1, available: 0 }])
    expect(await commerce.db.selectFrom('cw_reservations').selectAll().execute()).toEqual([])
    expect((await commerce.carts.get(inPos.id)).status).toBe('open')
    // A new cart in the channel cannot even take it.
    const again = await commerce.carts.create({ channelId: pos.id, currency: 'USD' })
    await failure(commerce.carts.addItem(again.id, { variantId, quantity: 1 }), 'OUT_OF_STOCK')
    // The web channel sells from every location: the same variant checks out there.
    const inWeb = await commerce.carts.create({ channelId: web.id, currency: 'USD' })
    await commerce.carts.addItem(inWeb.id, { variantId, quantity: 1 })
    await ready(commerce, inWeb.id)
    const order = await checkout(commerce, inWeb.id)
    const reservations = await commerce.db.selectFrom('cw_reservations').select(['location_id']).where('order_id', '=', order.id).execute()
    expect(reservations).toEqual([{ location_id: warehouse.id }])
  })

  it('bad input to the channel methods is refused naming the field, and nothing is written', async () => {
    const { commerce, web, mug } = await channelShop()
    const before = await channelRows(commerce)
    const fieldsOf = async (call: Promise<unknown>, code: 'VALIDATION' | 'CONFLICT' = 'VALIDATION') => (await failure(call, code)).details['fields']
    const base = { code: 'pos', name: 'Shop floor', currencies: ['EUR'] }
    expect(await fieldsOf(commerce.channels.create({ ...base, currencies: [] }))).toEqual(['currencies'])
    expect(await fieldsOf(commerce.channels.create({ ...base, currencies: ['EUR', 'eur'] }))).toEqual(['currencies'])
    expect(await fieldsOf(commerce.channels.create({ ...base, currencies: ['XXX'] }))).toEqual(['currencies.0'])
    expect(await fieldsOf(commerce.channels.create({ ...base, code: 'Shop Floor' }))).toEqual(['code'])
    expect(await fieldsOf(commerce.channels.create({ ...base, name: ' ' }))).toEqual(['name'])
    expect(await fieldsOf(commerce.channels.create({ ...base, locales: ['not a locale!'] }))).toEqual(['locales.0'])
    expect(await fieldsOf(commerce.channels.create({ ...base, stockLocationIds: ['loc_00000000000000000000000000'] }))).toEqual(['stockLocationIds.0'])
    expect(await fieldsOf(commerce.channels.create({ ...base, taxInclusive: 'yes' as never }))).toEqual(['taxInclusive'])
    expect(await fieldsOf(commerce.channels.create({ ...base, id: 'chan_1' } as never))).toEqual(['id'])
    expect(await fieldsOf(commerce.channels.create({ ...base, code: 'web' }), 'CONFLICT')).toEqual(['code'])
    expect(await fieldsOf(commerce.channels.update(web.id, { currencies: [] }))).toEqual(['currencies'])
    expect(await fieldsOf(commerce.channels.update(web.id, { stockLocationIds: ['loc_00000000000000000000000000'] }))).toEqual(['stockLocationIds.0'])
    await failure(commerce.channels.update('chan_00000000000000000000000000', { name: 'Nowhere' }), 'NOT_FOUND')
    expect(await fieldsOf(commerce.channels.publish(web.id, []))).toEqual(['productIds'])
    expect(await fieldsOf(commerce.channels.publish(42 as never, [mug.id]))).toEqual(['channelId'])
    expect(await fieldsOf(commerce.channels.list({ limit: 0 }))).toEqual(['limit'])
    expect(await fieldsOf(commerce.channels.get(''))).toEqual(['idOrCode'])
    await failure(commerce.channels.get('nowhere'), 'NOT_FOUND')
    expect(await fieldsOf(commerce.carts.create({ currency: 'USD', channelId: 42 as never }))).toEqual(['channelId'])
    expect(await fieldsOf(commerce.orders.list({ channelId: '' }))).toEqual(['channelId'])
    expect(await channelRows(commerce)).toEqual(before)
  })
})
