import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Product } from '@cartwright/core'
import { failure, GUARDED_STORAGES, openShop, type Shop } from '../support/index.js'

/**
 * Search and facets (issue 10, done-means 2): the same best match on SQLite (FTS5) and PostgreSQL
 * (tsvector) for the same query, in a second locale too; facet counts per option value, category
 * and price range for the current filter; "in stock only" hides a sold-out size; junk input finds
 * results or nothing, over-long input is VALIDATION, never a storage error.
 */

const SIZES = ['42', '43', '44']

/**
 * Every search here runs on both paths: in memory from search's read model (the default for up to
 * 2,000 candidates) and in SQL over the catalog's tables (`searchInMemory: 0`). They must agree.
 */
const PATHS = GUARDED_STORAGES.flatMap((storage) => [
  { storage, path: 'in memory', searchInMemory: 2_000 },
  { storage, path: 'in SQL', searchInMemory: 0 },
])

describe.each(PATHS)('search on $storage, $path', ({ storage, searchInMemory }) => {
  let shop: Shop
  let runner: Product
  let sneaker: Product
  let hiker: Product
  let shoes: string
  let trail: string

  const variant = (product: Product, color: string, size: string) =>
    product.variants.find((v) => v.options.Color === color && v.options.Size === size)!

  beforeAll(async () => {
    shop = await openShop({ storage, catalog: { searchInMemory } })
    const { commerce } = shop
    // The fixture's own Trail Runner is not for sale here.
    await commerce.catalog.updateProduct(shop.shoe.id, { status: 'draft' })
    const make = (title: string, handle: string, colors: string[], price: number, description: string, tags: string[], code = handle.slice(0, 2).toUpperCase()) =>
      commerce.catalog.createProduct({
        title,
        handle,
        description,
        status: 'active',
        tags,
        options: [
          { name: 'Color', values: colors },
          { name: 'Size', values: SIZES },
        ],
        variants: colors.flatMap((color) =>
          SIZES.map((size) => ({ sku: `${code}${price}-${color.slice(0, 3).toUpperCase()}-${size}`, options: { Color: color, Size: size }, prices: [{ currency: 'USD', amount: price + Number(size) }] })),
        ),
      })
    runner = await make('Trail Runner', 'trail-runner-x', ['Red', 'Blue'], 12_900, 'A light shoe for rough trails.', ['running', 'trail'])
    sneaker = await make('Red Canvas Sneaker', 'canvas-sneaker', ['Red', 'White'], 6_900, 'Canvas upper, rubber sole.', ['casual'])
    hiker = await make('Trail Hiker', 'trail-hiker', ['Brown'], 15_900, 'Waterproof boot for long trails.', ['hiking', 'trail'])
    await make('Road Runner', 'road-runner', ['Black'], 11_900, 'Cushioned shoe for the road.', ['running'])
    const catShoes = await commerce.categories.create({ title: 'Shoes', handle: 'shoes' })
    const catTrail = await commerce.categories.create({ title: 'Trail', handle: 'trail', parentId: catShoes.id })
    shoes = catShoes.id
    trail = catTrail.id
    await commerce.categories.addProducts(catTrail.id, [runner.id, hiker.id])
    await commerce.categories.addProducts(catShoes.id, [sneaker.id])
    for (const product of [runner, sneaker, hiker]) {
      for (const v of product.variants) await commerce.inventory.setStock({ variantId: v.id, locationId: shop.warehouse.id, onHand: 5 })
    }
    // The red Trail Runner in 44 is sold out.
    await commerce.inventory.setStock({ variantId: variant(runner, 'Red', '44').id, locationId: shop.warehouse.id, onHand: 0 })
    await commerce.catalog.setTranslations({ type: 'product', id: runner.id }, 'de', { title: 'Trail Runner', description: 'Ein leichter Schuh für raue Pfade.' })
    await commerce.catalog.setTranslations({ type: 'option', productId: runner.id, name: 'Color' }, 'de', { name: 'Farbe', values: { Red: 'Rot', Blue: 'Blau' } })
    await commerce.catalog.setTranslations({ type: 'option', productId: sneaker.id, name: 'Color' }, 'de', { name: 'Farbe', values: { Red: 'Rot', White: 'Weiß' } })
  })
  afterAll(async () => {
    await shop?.close()
  })

  it('finds the red Trail Runner first for "trail runner red", with its red variant', async () => {
    const found = await shop.commerce.search.products({ query: 'trail runner red' })
    expect(found.items[0]!.product.id).toBe(runner.id)
    expect(found.items[0]!.product.variants.find((v) => v.id === found.items[0]!.variantId)!.options.Color).toBe('Red')
    expect(found.items.map((h) => h.product.id)).not.toContain(hiker.id)
    expect(found.total).toBe(found.items.length)
  })

  it('takes the last word as a prefix, as a shopper types, and the others as whole words', async () => {
    const typing = await shop.commerce.search.products({ query: 'trail run' })
    expect(typing.items.map((h) => h.product.id)).toEqual([runner.id])
    const whole = await shop.commerce.search.products({ query: 'run trail' })
    expect(whole.items).toEqual([])
  })

  it('finds it in German too, by the translated colour, with the texts in German', async () => {
    const found = await shop.commerce.search.products({ query: 'Trail Runner rot', locale: 'de' })
    expect(found.items[0]!.product.id).toBe(runner.id)
    expect(found.items[0]!.product.description).toBe('Ein leichter Schuh für raue Pfade.')
    expect(found.items[0]!.product.variants.find((v) => v.id === found.items[0]!.variantId)!.options.Color).toBe('Red')
    // An accent or case makes no difference; a word's start is enough.
    expect((await shop.commerce.search.products({ query: 'PFÄDE leicht', locale: 'de' })).items.map((h) => h.product.id)).toEqual([runner.id])
  })

  it('counts products per colour, size and category for the current filter; a chosen size still shows the others', async () => {
    const found = await shop.commerce.search.products({ query: 'trail', options: { Size: ['42'] }, currency: 'USD' })
    expect(found.items.map((h) => h.product.id).sort()).toEqual([runner.id, hiker.id].sort())
    const facets = found.facets!
    expect(facets.options.Color).toEqual(expect.arrayContaining([{ value: 'Red', count: 1 }, { value: 'Blue', count: 1 }, { value: 'Brown', count: 1 }]))
    expect(facets.options.Size).toEqual(SIZES.map((value) => ({ value, count: 2 })))
    expect(facets.categories).toEqual([{ id: trail, handle: 'trail', title: 'Trail', count: 2 }])
    expect(facets.price.reduce((n, r) => n + r.count, 0)).toBe(2)
  })

  it('"in stock only" hides a sold-out size', async () => {
    const red = { query: 'runner', options: { Color: ['Red'] } }
    const all = await shop.commerce.search.products(red)
    expect(all.facets!.options.Size!.find((s) => s.value === '44')).toEqual({ value: '44', count: 1 })
    const inStock = await shop.commerce.search.products({ ...red, inStock: true })
    expect(inStock.facets!.options.Size!.find((s) => s.value === '44')).toBeUndefined()
    expect((await shop.commerce.search.products({ ...red, options: { Color: ['Red'], Size: ['44'] }, inStock: true })).items).toEqual([])
    expect((await shop.commerce.search.products({ ...red, options: { Color: ['Red'], Size: ['44'] } })).items.map((h) => h.product.id)).toEqual([runner.id])
    // On backorder, the sold-out size can be bought again: in stock for search.
    const red44 = variant(runner, 'Red', '44').id
    await shop.commerce.inventory.setPolicy(red44, { policy: 'backorder', backorderLimit: 2 })
    expect((await shop.commerce.search.products({ ...red, options: { Color: ['Red'], Size: ['44'] }, inStock: true })).items.map((h) => h.product.id)).toEqual([runner.id])
    await shop.commerce.inventory.setPolicy(red44, { policy: 'deny' })
    expect((await shop.commerce.search.products({ ...red, options: { Color: ['Red'], Size: ['44'] }, inStock: true })).items).toEqual([])
  })

  it('filters by category with its subcategories, by tag, and sorts by price', async () => {
    const inShoes = await shop.commerce.search.products({ categoryId: shoes, sort: 'price_asc', currency: 'USD' })
    expect(inShoes.items.map((h) => h.product.id)).toEqual([sneaker.id, runner.id, hiker.id])
    const tagged = await shop.commerce.search.products({ tags: ['Trail'], sort: 'price_desc', currency: 'USD' })
    expect(tagged.items.map((h) => h.product.id)).toEqual([hiker.id, runner.id])
  })

  it('filters by a collection, hand-picked or by rules', async () => {
    const running = await shop.commerce.collections.create({ title: 'Running', handle: 'running-x', kind: 'rules', rules: [{ field: 'tag', value: 'running' }] })
    const found = await shop.commerce.search.products({ collectionId: running.id, sort: 'price_asc', currency: 'USD' })
    expect(found.items.map((h) => h.product.title)).toEqual(['Road Runner', 'Trail Runner'])
    const picked = await shop.commerce.collections.create({ title: 'Picked', handle: 'picked-x', kind: 'manual' })
    await shop.commerce.collections.addProducts(picked.id, [sneaker.id])
    expect((await shop.commerce.search.products({ query: 'red', collectionId: picked.id })).items.map((h) => h.product.id)).toEqual([sneaker.id])
    expect((await shop.commerce.search.products({ collectionId: 'coll_unknown' })).items).toEqual([])
  })

  it('counts prices in whole minor units, under every filter but the price range itself', async () => {
    const found = await shop.commerce.search.products({ query: 'runner', currency: 'USD', price: { min: 12_000 } })
    expect(found.items.map((h) => h.product.id)).toEqual([runner.id])
    const ranges = found.facets!.price
    for (const range of ranges) expect(Number.isInteger(range.min) && (range.max === null || Number.isInteger(range.max)), JSON.stringify(range)).toBe(true)
    // The Road Runner is outside the chosen range but still counted in its own, so it can be chosen.
    expect(ranges.reduce((n, r) => n + r.count, 0)).toBe(2)
    // Prices 12 apart: the ranges' step is still a whole number of minor units.
    const socks = [
      await shop.commerce.catalog.createProduct({ title: 'Pebble Sock', handle: 'pebble-sock', status: 'active', variants: [{ sku: 'PS-1', prices: [{ currency: 'USD', amount: 1999 }] }] }),
      await shop.commerce.catalog.createProduct({ title: 'Pebble Lace', handle: 'pebble-lace', status: 'active', variants: [{ sku: 'PL-1', prices: [{ currency: 'USD', amount: 2011 }] }] }),
    ]
    const pebbles = (await shop.commerce.search.products({ query: 'pebble', currency: 'USD' })).facets!.price
    for (const socksRange of pebbles) expect(Number.isInteger(socksRange.min) && (socksRange.max === null || Number.isInteger(socksRange.max)), JSON.stringify(pebbles)).toBe(true)
    expect(pebbles.reduce((n, r) => n + r.count, 0)).toBe(2)
    for (const sock of socks) await shop.commerce.catalog.deleteProduct(sock.id)
  })

  it('pages with a cursor and a total', async () => {
    const first = await shop.commerce.search.products({ query: 'runner', limit: 1 })
    expect(first.total).toBe(2)
    const second = await shop.commerce.search.products({ query: 'runner', limit: 1, cursor: first.nextCursor! })
    expect(second.nextCursor).toBeNull()
    expect(new Set([first.items[0]!.product.id, second.items[0]!.product.id]).size).toBe(2)
  })

  it('answers junk with results or nothing, and over-long or malformed input with VALIDATION naming the field', async () => {
    for (const junk of [`'; drop table cw_products; --`, '" OR 1=1 --', 'trail AND NOT runner', 'NEAR(trail runner)', 'run* OR *', '$$ ) ( ::text', '\\', '%_%']) {
      const found = await shop.commerce.search.products({ query: junk })
      expect(Array.isArray(found.items), junk).toBe(true)
    }
    expect((await shop.commerce.search.products({ query: 'trail AND NOT runner' })).items.length).toBe(0)
    await failure(shop.commerce.search.products({ query: 'x'.repeat(201) }), 'VALIDATION', 'query')
    await failure(shop.commerce.search.products({ cursor: 'bm9wZQ' }), 'VALIDATION', 'cursor')
    await failure(shop.commerce.search.products({ sort: 'price_asc' }), 'VALIDATION', 'currency')
    await failure(shop.commerce.search.products({ sort: 'name; drop' as never }), 'VALIDATION', 'sort')
    expect((await shop.commerce.catalog.listProducts({ limit: 100 })).items.length).toBe(5) // the fixture's and four
  })

  it('keeps the index in step: a renamed product is found by its new name only, an archived one not at all', async () => {
    await shop.commerce.catalog.updateProduct(hiker.id, { title: 'Summit Boot' })
    expect((await shop.commerce.search.products({ query: 'summit' })).items.map((h) => h.product.id)).toEqual([hiker.id])
    expect((await shop.commerce.search.products({ query: 'trail hiker' })).items).toEqual([])
    await shop.commerce.catalog.updateProduct(hiker.id, { status: 'archived' })
    expect((await shop.commerce.search.products({ query: 'summit' })).items).toEqual([])
  })
})

describe.each(GUARDED_STORAGES)('search with a visibility source, on %s', (storage) => {
  it('neither finds, counts nor pages a product the channel may not show', async () => {
    let hidden = ''
    const shop = await openShop({ storage, catalog: { visibility: { visible: (ids, { channel }) => ids.filter((id) => channel !== 'web' || id !== hidden) } } })
    try {
      await shop.commerce.catalog.updateProduct(shop.shoe.id, { status: 'draft' })
      const make = (title: string, handle: string) =>
        shop.commerce.catalog.createProduct({ title, handle, status: 'active', options: [{ name: 'Size', values: ['42'] }], variants: [{ sku: handle, options: { Size: '42' }, prices: [{ currency: 'USD', amount: 1000 }] }] })
      const shown = await make('Glow Runner', 'glow-runner')
      hidden = (await make('Glow Hiker', 'glow-hiker')).id
      const web = await shop.commerce.search.products({ query: 'glow', channel: 'web', limit: 1 })
      expect(web.items.map((h) => h.product.id)).toEqual([shown.id])
      expect(web.total).toBe(1)
      expect(web.nextCursor).toBeNull()
      expect(web.facets!.options.Size).toEqual([{ value: '42', count: 1 }])
      expect((await shop.commerce.search.products({ query: 'glow', channel: 'shop' })).total).toBe(2)
    } finally {
      await shop.close()
    }
  })
})

describe.each(GUARDED_STORAGES)('search ranking, on %s', (storage) => {
  it('ranks a product by the words its title holds, then the newest first, the same on both storages', async () => {
    // A minute between products: "newest" never depends on two made in the same millisecond.
    let clock = Date.parse('2026-06-01T00:00:00Z')
    const shop = await openShop({ storage, now: () => new Date(clock) })
    try {
      const make = (title: string, handle: string, description: string) => {
        clock += 60_000
        return shop.commerce.catalog.createProduct({ title, handle, description, status: 'active', variants: [{ sku: handle, prices: [{ currency: 'USD', amount: 1000 }] }] })
      }
      const bag = await make('Canvas Bag', 'canvas-bag', 'Big enough for a beach towel.')
      const towel = await make('Beach Towel', 'beach-towel', 'Cotton.')
      const large = await make('Beach Towel XL', 'beach-towel-xl', 'Cotton, for two.')
      const blanket = await make('Beach Blanket', 'beach-blanket', 'Wool, as big as a towel.')
      // Both words in the title (20) before one in the title (11) before none (2); ties: newest first.
      const found = await shop.commerce.search.products({ query: 'beach towel' })
      expect(found.items.map((h) => h.product.id)).toEqual([large.id, towel.id, blanket.id, bag.id])
      // The last word as a prefix counts in the title too.
      const typing = await shop.commerce.search.products({ query: 'cotton tow' })
      expect(typing.items.map((h) => h.product.id)).toEqual([large.id, towel.id])
    } finally {
      await shop.close()
    }
  })
})

describe.each(GUARDED_STORAGES)('search in a sales channel, on %s', (storage) => {
  it('"in stock only" counts stock at the channel\'s locations only: what its carts can reserve', async () => {
    const shop = await openShop({ storage })
    try {
      const { commerce } = shop
      const elsewhere = await commerce.inventory.createLocation({ name: 'Elsewhere', code: 'elsewhere', priority: 5 })
      const lamp = await commerce.catalog.createProduct({ title: 'Lamp', status: 'active', variants: [{ sku: 'LAMP-1', prices: [{ currency: 'USD', amount: 4_000 }] }] })
      const desk = await commerce.catalog.createProduct({ title: 'Lamp Desk', status: 'active', variants: [{ sku: 'DESK-1', prices: [{ currency: 'USD', amount: 9_000 }] }] })
      await commerce.inventory.setStock({ variantId: lamp.variants[0]!.id, locationId: elsewhere.id, onHand: 4 })
      await commerce.inventory.setStock({ variantId: desk.variants[0]!.id, locationId: shop.warehouse.id, onHand: 4 })
      const web = await commerce.channels.create({ code: 'web', name: 'Web', currencies: ['USD'], stockLocationIds: [shop.warehouse.id] })
      await commerce.channels.publish(web.id, [lamp.id, desk.id])
      const ids = async (input: { channel?: string }) => (await commerce.search.products({ query: 'lamp', inStock: true, ...input })).items.map((h) => h.product.id).sort()
      expect(await ids({})).toEqual([lamp.id, desk.id].sort())
      expect(await ids({ channel: 'web' })).toEqual([desk.id])
    } finally {
      await shop.close()
    }
  })
})
