import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, openShop, STORAGES, type Shop } from './routes-support.js'

describe.each(STORAGES)('GET /products/:handle/availability on %s', (storage) => {
  let shop: Shop
  let outlet: { id: string; code: string }
  let second: string

  beforeAll(async () => {
    shop = await openShop(storage)
    const { inventory, channels } = shop.commerce
    // The shoe: 5 at the main warehouse, 3 at the outlet's store (reserved last: a lower priority).
    const shoe = shop.shoe.variants[0]!.id
    second = (await inventory.createLocation({ name: 'Outlet store', code: 'outlet', priority: 10 })).id
    await inventory.setStock({ variantId: shoe, locationId: shop.location.id, onHand: 5 })
    await inventory.setStock({ variantId: shoe, locationId: second, onHand: 3 })
    outlet = await channels.create({ code: 'outlet', name: 'Outlet', currencies: ['USD'], stockLocationIds: [second] })
    await channels.publish(outlet.id, [shop.shoe.id])
    // The sock: 2 in stock and up to 5 more on backorder.
    const sock = shop.sock.variants[0]!.id
    await inventory.setStock({ variantId: sock, locationId: shop.location.id, onHand: 2 })
    await inventory.setPolicy(sock, { policy: 'backorder', backorderLimit: 5 })
  })
  afterAll(() => shop?.close())

  const availability = (handle: string, query = '') => call(shop.store, 'GET', `/products/${handle}/availability${query}`)

  it('answers per variant what a cart can take now: stock not reserved, a backorder allowance, null for untracked stock', async () => {
    const shoe = await availability(shop.shoe.handle)
    expect(shoe.status).toBe(200)
    expect(shoe.body).toEqual({ productId: shop.shoe.id, channelId: null, variants: [{ variantId: shop.shoe.variants[0]!.id, sku: 'TR-1', available: 8, inStock: 8 }] })

    // Reserved units are not for sale: a placed order holds one shoe.
    await shop.placeOrder()
    expect((await availability(shop.shoe.id)).body.variants[0]).toMatchObject({ available: 7, inStock: 7 })

    const sock = await availability(shop.sock.handle)
    expect(sock.body.variants).toEqual([{ variantId: shop.sock.variants[0]!.id, sku: 'WS-1', available: 7, inStock: 2 }])

    const gift = await shop.commerce.catalog.createProduct({ title: 'Gift wrap', variants: [{ sku: 'GW-1', manageInventory: false, prices: [{ currency: 'USD', amount: 300 }] }] })
    expect((await availability(gift.handle)).body.variants).toEqual([{ variantId: gift.variants[0]!.id, sku: 'GW-1', available: null, inStock: null }])
  })

  it("in a channel, counts only its stock locations, and knows no product that is not published to it", async () => {
    const inOutlet = await availability(shop.shoe.handle, '?channel=outlet')
    expect(inOutlet.status).toBe(200)
    expect(inOutlet.body).toMatchObject({ channelId: outlet.id, variants: [{ available: 3, inStock: 3 }] })
    expect((await availability(shop.shoe.handle, `?channel=${outlet.id}`)).body.variants[0].available).toBe(3)

    const unpublished = await availability(shop.sock.handle, '?channel=outlet')
    expect([unpublished.status, unpublished.body.code]).toEqual([404, 'NOT_FOUND'])
    expect(JSON.stringify(unpublished.body)).not.toContain('available')
  })

  it('answers 404, as for a missing product, for a draft or archived product, telling nothing of its stock', async () => {
    const missing = await availability('no-such-shoe')
    expect([missing.status, missing.body.code]).toEqual([404, 'NOT_FOUND'])
    const draft = await availability(shop.secret.handle)
    expect([draft.status, draft.body.code]).toEqual([404, 'NOT_FOUND'])
    expect(JSON.stringify(draft.body)).not.toMatch(/available|inStock|NS-1/)
    const byId = await availability(shop.secret.id)
    expect(byId.status).toBe(404)

    const old = await shop.commerce.catalog.createProduct({ title: 'Last Season Shoe', variants: [{ sku: 'LS-1', prices: [{ currency: 'USD', amount: 9900 }] }] })
    await shop.commerce.catalog.updateProduct(old.id, { status: 'archived' })
    expect((await availability(old.handle)).status).toBe(404)
  })

  it('refuses bad input with 400 naming the field', async () => {
    const long = await availability(shop.shoe.handle, `?channel=${'c'.repeat(65)}`)
    expect([long.status, long.body.code]).toEqual([400, 'VALIDATION'])
    expect(JSON.stringify(long.body)).toContain('channel')
    const unknown = await availability(shop.shoe.handle, '?locationId=x')
    expect([unknown.status, unknown.body.code]).toEqual([400, 'VALIDATION'])
  })
})
