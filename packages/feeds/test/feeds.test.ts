import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCommerce, isCommerceError, type Product } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { feeds, formatPrice, META_COLUMNS } from '../src/index.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

/** The attributes Google Merchant Center requires of every product item (apparel: with colour and size). */
const GOOGLE_REQUIRED = ['g:id', 'g:title', 'g:description', 'g:link', 'g:image_link', 'g:availability', 'g:price', 'g:item_group_id'] as const
const GOOGLE_AVAILABILITY = ['in_stock', 'out_of_stock', 'preorder', 'backorder']

const NOW = new Date('2026-12-01T10:00:00Z')

async function open(storage: 'sqlite' | 'postgres') {
  const database: FreshDatabase | undefined = storage === 'postgres' ? await freshDatabase() : undefined
  const commerce = await createCommerce({
    storage: storage === 'sqlite' ? sqliteStorage({ filename: ':memory:' }) : postgresStorage({ connectionString: database!.url }),
    now: () => NOW,
    plugins: [
      feeds({
        shopName: 'Trail Shop',
        shopLink: 'https://shop.example',
        brand: (p) => (p.handle === 'no-brand-cap' ? null : 'Trail Co'),
        link: (p, v) => `https://shop.example/products/${p.handle}?variant=${v.id}`,
      }),
    ],
  })
  return { commerce, close: async () => (await commerce.close(), await database?.drop()) }
}

describe.each(STORAGES)('feeds on %s', (storage) => {
  let shop: Awaited<ReturnType<typeof open>>
  let runner: Product
  let cap: Product
  let hidden: Product
  beforeEach(async () => {
    shop = await open(storage)
    const { commerce } = shop
    // Berlin first: a backorder or preorder allowance is held at the first location by priority.
    const berlin = await commerce.inventory.createLocation({ name: 'Berlin', code: 'berlin', priority: 0 })
    const paris = await commerce.inventory.createLocation({ name: 'Paris', code: 'paris', priority: 1 })
    runner = await commerce.catalog.createProduct({
      title: 'Trail Runner',
      handle: 'trail-runner',
      description: 'A light shoe for rough trails & "wet" days <really>.',
      status: 'active',
      productType: 'Shoes',
      material: 'Mesh',
      options: [
        { name: 'Color', values: ['Red', 'Blue'] },
        { name: 'Size', values: ['42', '43'] },
      ],
      variants: ['Red', 'Blue'].flatMap((color) =>
        ['42', '43'].map((size) => ({
          sku: `TR-${color.toUpperCase()}-${size}`,
          options: { Color: color, Size: size },
          weightGrams: 600,
          prices: [
            { currency: 'EUR', amount: 11_900, ...(color === 'Red' ? { compareAtAmount: 12_900 } : {}) },
            { currency: 'USD', amount: 12_900 },
          ],
        })),
      ),
    })
    const v = (color: string, size: string) => runner.variants.find((x) => x.options.Color === color && x.options.Size === size)!
    // Red 42: 3 in Berlin (the channel's). Red 43: 5 in Paris only (not the channel's): out of stock there.
    await commerce.inventory.setStock({ variantId: v('Red', '42').id, locationId: berlin.id, onHand: 3 })
    await commerce.inventory.setStock({ variantId: v('Red', '43').id, locationId: paris.id, onHand: 5 })
    // Blue 42 on backorder, Blue 43 on preorder until February.
    await commerce.inventory.setPolicy(v('Blue', '42').id, { policy: 'backorder', backorderLimit: 10 })
    await commerce.inventory.setPolicy(v('Blue', '43').id, { policy: 'preorder', availableAt: '2027-02-01T00:00:00Z' })
    await commerce.media.add(runner.id, { url: 'https://cdn.example/runner.jpg', alt: 'Trail Runner' })
    await commerce.media.add(runner.id, { url: 'https://cdn.example/runner-red.jpg', variantId: v('Red', '42').id })
    // A cap not tracked in stock, one edition priced only in dollars.
    cap = await commerce.catalog.createProduct({
      title: 'Cap',
      handle: 'no-brand-cap',
      status: 'active',
      options: [{ name: 'Edition', values: ['EU', 'US'] }],
      variants: [
        { sku: 'CAP-1', options: { Edition: 'EU' }, manageInventory: false, prices: [{ currency: 'EUR', amount: 1_900 }] },
        { sku: 'CAP-USD', options: { Edition: 'US' }, manageInventory: false, prices: [{ currency: 'USD', amount: 2_100 }] },
      ],
    })
    hidden = await commerce.catalog.createProduct({ title: 'Not Published', status: 'active', variants: [{ sku: 'NP-1', prices: [{ currency: 'EUR', amount: 500 }] }] })
    const draft = await commerce.catalog.createProduct({ title: 'Draft Boot', status: 'draft', variants: [{ sku: 'DB-1', prices: [{ currency: 'EUR', amount: 500 }] }] })
    const google = await commerce.channels.create({ code: 'google', name: 'Google Shopping', currencies: ['EUR', 'USD'], stockLocationIds: [berlin.id] })
    await commerce.channels.publish(google.id, [runner.id, cap.id, draft.id])
  })
  afterEach(() => shop.close())

  it('writes a Google Merchant feed that has every required field: one item per variant, grouped by product, priced in the channel currency, available from its stock', async () => {
    let text = ''
    for await (const chunk of shop.commerce.feeds.googleMerchant('google')) text += chunk
    expect(XMLValidator.validate(text)).toBe(true)
    const parsed = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (name) => name === 'item' || name === 'g:additional_image_link' }).parse(text)
    expect(parsed.rss['@_xmlns:g']).toBe('http://base.google.com/ns/1.0')
    expect(parsed.rss.channel.title).toBe('Trail Shop – Google Shopping')
    const items = parsed.rss.channel.item as Array<Record<string, string>>
    // One item per variant of the published, active products; not the unpublished one nor the draft.
    expect(items.map((i) => i['g:id']).sort()).toEqual(['CAP-1', 'TR-BLUE-42', 'TR-BLUE-43', 'TR-RED-42', 'TR-RED-43'].sort())
    for (const item of items) {
      for (const field of GOOGLE_REQUIRED) if (!(item['g:id'] === 'CAP-1' && field === 'g:image_link')) expect(item[field], `${item['g:id']} ${field}`).toBeTruthy()
      expect(GOOGLE_AVAILABILITY).toContain(item['g:availability'])
      // The channel's default currency, whole and minor units.
      expect(item['g:price']).toMatch(/^\d+\.\d{2} EUR$/)
      // A product is identified by brand and part number, or says it has no identifier.
      expect(Boolean(item['g:brand'] && item['g:mpn']) || item['g:identifier_exists'] === 'no').toBe(true)
    }
    const by = (sku: string) => items.find((i) => i['g:id'] === sku)!
    // Variants of one product share its group.
    expect(new Set(items.filter((i) => i['g:id']!.startsWith('TR-')).map((i) => i['g:item_group_id']))).toEqual(new Set([runner.id]))
    expect(by('CAP-1')['g:item_group_id']).toBe(cap.id)
    // Availability from the channel's stock locations and the variant's policy.
    expect(by('TR-RED-42')['g:availability']).toBe('in_stock')
    expect(by('TR-RED-43')['g:availability']).toBe('out_of_stock')
    expect(by('TR-BLUE-42')['g:availability']).toBe('backorder')
    expect(by('TR-BLUE-43')['g:availability']).toBe('preorder')
    expect(by('TR-BLUE-43')['g:availability_date']).toBe('2027-02-01T00:00:00.000Z')
    expect(by('CAP-1')['g:availability']).toBe('in_stock')
    // A compare-at price is the regular price, the price charged the sale price.
    expect(by('TR-RED-42')['g:price']).toBe('129.00 EUR')
    expect(by('TR-RED-42')['g:sale_price']).toBe('119.00 EUR')
    expect(by('TR-BLUE-42')['g:price']).toBe('119.00 EUR')
    expect(by('TR-BLUE-42')['g:sale_price']).toBeUndefined()
    // The variant's own image first, then the product's; text escaped and read back as written.
    expect(by('TR-RED-42')['g:image_link']).toBe('https://cdn.example/runner-red.jpg')
    expect(by('TR-RED-42')['g:additional_image_link']).toEqual(['https://cdn.example/runner.jpg'])
    expect(by('TR-BLUE-42')['g:image_link']).toBe('https://cdn.example/runner.jpg')
    expect(by('TR-RED-42')['g:description']).toBe('A light shoe for rough trails & "wet" days <really>.')
    expect(by('TR-RED-42')).toMatchObject({ 'g:color': 'Red', 'g:size': '42', 'g:material': 'Mesh', 'g:product_type': 'Shoes', 'g:shipping_weight': '600 g', 'g:brand': 'Trail Co', 'g:mpn': 'TR-RED-42' })
    expect(by('TR-RED-42')['g:link']).toBe(`https://shop.example/products/trail-runner?variant=${runner.variants.find((v) => v.sku === 'TR-RED-42')!.id}`)
    expect(by('CAP-1')['g:identifier_exists']).toBe('no')
  })

  it('leaves out a variant without a price in the channel currency, and says so', async () => {
    const skipped: string[] = []
    const ids: string[] = []
    for await (const item of shop.commerce.feeds.items('google', { onSkipped: (s) => skipped.push(`${s.variantId}:${s.reason}`) })) ids.push(item.id)
    expect(skipped).toEqual([`${cap.variants.find((v) => v.sku === 'CAP-USD')!.id}:no_price_in_currency`])
    expect(ids).not.toContain('CAP-USD')
    expect(ids).not.toContain('NP-1')
    expect(hidden.variants[0]!.sku).toBe('NP-1')
  })

  it('writes the same items as a Meta catalog CSV, quoting fields and neutralizing formulas', async () => {
    await shop.commerce.catalog.updateProduct(cap.id, { title: '=HYPERLINK("http://evil.example")' })
    let text = ''
    for await (const chunk of shop.commerce.feeds.metaCatalog('google')) text += chunk
    const lines = text.split('\r\n').filter(Boolean)
    expect(lines[0]).toBe(META_COLUMNS.join(','))
    expect(lines).toHaveLength(1 + 5)
    const red = lines.find((l) => l.startsWith('TR-RED-42,'))!
    expect(red).toContain(',in stock,new,129.00 EUR,119.00 EUR,')
    expect(red).toContain('"A light shoe for rough trails & ""wet"" days <really>."')
    expect(lines.find((l) => l.startsWith('TR-BLUE-42,'))).toContain(',available for order,')
    expect(lines.find((l) => l.startsWith('CAP-1,'))).toContain(`,"'=HYPERLINK(""http://evil.example"")",`)
  })

  it('answers an unknown channel with NOT_FOUND', async () => {
    const error = await (async () => {
      for await (const chunk of shop.commerce.feeds.googleMerchant('nowhere')) void chunk
    })().catch((e: unknown) => e)
    expect(isCommerceError(error) && error.code).toBe('NOT_FOUND')
  })
})

describe('formatPrice', () => {
  it('writes minor units with the currency exponent, by integer arithmetic', () => {
    expect(formatPrice({ amount: 12_900, currency: 'EUR' })).toBe('129.00 EUR')
    expect(formatPrice({ amount: 5, currency: 'EUR' })).toBe('0.05 EUR')
    expect(formatPrice({ amount: 1_900, currency: 'JPY' })).toBe('1900 JPY')
    expect(formatPrice({ amount: 39_500, currency: 'KWD' })).toBe('39.500 KWD')
    expect(formatPrice({ amount: 900_719_925_474_099, currency: 'USD' })).toBe('9007199254740.99 USD')
  })
})

describe.each(STORAGES)('feed availability follows the channel, on %s', (storage) => {
  it('a backorder allowance held at a location the channel does not sell from lets nothing be sold beyond stock there', async () => {
    const shop = await open(storage)
    try {
      const { commerce } = shop
      const paris = await commerce.inventory.createLocation({ name: 'Paris', code: 'paris', priority: 0 })
      const berlin = await commerce.inventory.createLocation({ name: 'Berlin', code: 'berlin', priority: 1 })
      const mug = await commerce.catalog.createProduct({ title: 'Mug', status: 'active', variants: [{ sku: 'MUG-1', prices: [{ currency: 'EUR', amount: 900 }] }] })
      await commerce.inventory.setPolicy(mug.variants[0]!.id, { policy: 'backorder', backorderLimit: 5 })
      const berlinOnly = await commerce.channels.create({ code: 'berlin-shop', name: 'Berlin', currencies: ['EUR'], stockLocationIds: [berlin.id] })
      const everywhere = await commerce.channels.create({ code: 'all', name: 'All', currencies: ['EUR'], stockLocationIds: [paris.id, berlin.id] })
      for (const c of [berlinOnly, everywhere]) await commerce.channels.publish(c.id, [mug.id])
      const availability = async (code: string) => {
        const out: string[] = []
        for await (const item of commerce.feeds.items(code)) out.push(item.availability)
        return out
      }
      expect(await availability('berlin-shop')).toEqual(['out_of_stock'])
      expect(await availability('all')).toEqual(['backorder'])
    } finally {
      await shop.close()
    }
  })
})
