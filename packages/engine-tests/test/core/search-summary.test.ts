import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Commerce, Product } from '@cartwright/core'
import { GUARDED_STORAGES, openShop, type Shop } from '../support/index.js'

/**
 * Search reads products from its own read model (`cw_search_products`: a summary per product,
 * rewritten in the transaction of every change the product announces). These tests change a
 * product every way the public API can, and after each change ask that search shows the product
 * exactly as `catalog.getProduct` does (in the shop's language and a translated one), and that its
 * filters and facets see the change: a write that forgot to announce itself leaves a stale summary
 * and fails here.
 */
describe.each(GUARDED_STORAGES)('search shows products as the catalog does, after every change, on %s', (storage) => {
  let shop: Shop
  let commerce: Commerce
  let product: Product

  /** The product as search finds it (by its handle's words), next to how the catalog reads it. */
  async function expectSame(id: string, options: { locale?: string } = {}) {
    const catalog = await commerce.catalog.getProduct(id, options)
    const found = await commerce.search.products({ query: 'summit boot', ...options, limit: 100 })
    const hit = found.items.find((h) => h.product.id === id)
    expect(hit, 'search finds the product').toBeDefined()
    expect(hit!.product).toEqual(catalog)
    return found
  }

  beforeAll(async () => {
    shop = await openShop({ storage })
    commerce = shop.commerce
    product = await commerce.catalog.createProduct({
      title: 'Summit Boot',
      status: 'active',
      tags: ['Hiking'],
      options: [
        { name: 'Size', values: ['40', '41', '42'] },
        { name: 'Color', values: ['Grey'] },
      ],
      variants: [
        { sku: 'SB-40-GRY', options: { Size: '40', Color: 'Grey' }, prices: [{ currency: 'EUR', amount: 15_000 }] },
        { sku: 'SB-41-GRY', options: { Size: '41', Color: 'Grey' }, prices: [{ currency: 'EUR', amount: 15_000 }] },
      ],
    })
  })
  afterAll(async () => {
    await shop?.close()
  })

  it('after it is created', async () => {
    const found = await expectSame(product.id)
    expect(found.facets!.options['Size']).toEqual([
      { value: '40', count: 1 },
      { value: '41', count: 1 },
    ])
  })

  it('after a variant is added: its size is counted and filtered on', async () => {
    await commerce.catalog.addVariants(product.id, [{ sku: 'SB-42-GRY', options: { Size: '42', Color: 'Grey' }, prices: [{ currency: 'EUR', amount: 16_000 }] }])
    const found = await expectSame(product.id)
    expect(found.facets!.options['Size']!.map((f) => f.value)).toContain('42')
    const sized = await commerce.search.products({ query: 'summit boot', options: { Size: ['42'] } })
    expect(sized.items.map((h) => h.product.id)).toEqual([product.id])
  })

  it('after prices change: the price filter and sort see the new price, and the hit shows tiers and compare-at prices', async () => {
    const variant = (await commerce.catalog.getProduct(product.id)).variants[0]!
    await commerce.catalog.setPrices(variant.id, [
      { currency: 'EUR', amount: 9_000, compareAtAmount: 15_000 },
      { currency: 'EUR', amount: 8_000, minQuantity: 10 },
      { currency: 'USD', amount: 9_900 },
    ])
    await expectSame(product.id)
    const cheap = await commerce.search.products({ query: 'summit boot', currency: 'EUR', price: { max: 9_000 } })
    expect(cheap.items.map((h) => h.product.id)).toEqual([product.id])
    const inDollars = await commerce.search.products({ query: 'summit boot', currency: 'USD', price: { max: 10_000 } })
    expect(inDollars.items.map((h) => h.product.id)).toEqual([product.id])
    expect(inDollars.facets!.price.reduce((n, r) => n + r.count, 0)).toBe(1)
  })

  it('after a variant is updated (title, weight, whether it manages stock)', async () => {
    const variant = (await commerce.catalog.getProduct(product.id)).variants[1]!
    await commerce.catalog.updateVariant(variant.id, { title: 'Forty-one', weightGrams: 900, manageInventory: false })
    await expectSame(product.id)
    // A variant that does not manage stock never runs out: "in stock only" keeps the product.
    const inStock = await commerce.search.products({ query: 'summit boot', inStock: true })
    expect(inStock.items.map((h) => h.product.id)).toEqual([product.id])
  })

  it('after its inventory policy changes', async () => {
    const variant = (await commerce.catalog.getProduct(product.id)).variants[0]!
    await commerce.inventory.setPolicy(variant.id, { policy: 'backorder', backorderLimit: 3 })
    const found = await expectSame(product.id)
    expect(found.items.find((h) => h.product.id === product.id)!.product.variants[0]!.inventoryPolicy).toMatchObject({ policy: 'backorder', backorderLimit: 3 })
  })

  it('after the product is updated (texts, tags, type, attributes)', async () => {
    await commerce.catalog.updateProduct(product.id, { description: 'Stiff sole.', tags: ['Hiking', 'Winter'], productType: 'Boots', material: 'Leather', metadata: { fit: 'wide' } })
    await expectSame(product.id)
    const tagged = await commerce.search.products({ tags: ['winter'] })
    expect(tagged.items.map((h) => h.product.id)).toEqual([product.id])
  })

  it('after translations are set: in the translated language, and as it was in the shop’s', async () => {
    const variant = (await commerce.catalog.getProduct(product.id)).variants[0]!
    await commerce.catalog.setTranslations({ type: 'product', id: product.id }, 'de', { title: 'Summit Stiefel', description: 'Steife Sohle.' })
    await commerce.catalog.setTranslations({ type: 'variant', id: variant.id }, 'de', { title: 'Vierzig' })
    await commerce.catalog.setTranslations({ type: 'option', productId: product.id, name: 'Color' }, 'de', { name: 'Farbe', values: { Grey: 'Grau' } })
    await expectSame(product.id)
    const de = await commerce.catalog.getProduct(product.id, { locale: 'de' })
    const found = await commerce.search.products({ query: 'summit stiefel', locale: 'de' })
    expect(found.items[0]!.product).toEqual(de)
  })

  it('after images are added', async () => {
    const variant = (await commerce.catalog.getProduct(product.id)).variants[0]!
    await commerce.media.add(product.id, { url: 'https://cdn.example.com/summit.jpg', alt: 'Summit Boot' })
    await commerce.media.add(product.id, { url: 'https://cdn.example.com/summit-40.jpg', variantId: variant.id })
    const found = await expectSame(product.id)
    expect(found.items.find((h) => h.product.id === product.id)!.product.media).toHaveLength(2)
  })

  it('after it is archived: not found; and products made in bulk are found as the catalog reads them', async () => {
    const made = await commerce.catalog.createProducts([
      {
        title: 'Summit Boot Junior',
        handle: 'summit-boot-junior',
        status: 'active',
        tags: ['Kids'],
        options: [{ name: 'Size', values: ['30'] }],
        variants: [{ sku: 'SBJ-30', options: { Size: '30' }, prices: [{ currency: 'EUR', amount: 7_000 }] }],
      },
    ])
    const junior = made.products[0]!
    await expectSame(junior.id)
    await commerce.catalog.deleteProduct(product.id)
    const found = await commerce.search.products({ query: 'summit boot' })
    expect(found.items.map((h) => h.product.id)).toEqual([junior.id])
  })
})
