import { formatPrice, type FeedAvailability, type FeedItem } from './items.js'

/** The feed's own description, for the Google Merchant XML's `<channel>`. */
export interface FeedHeader {
  /** The feed's title, e.g. the shop's name and the channel's. */
  title: string
  /** The shop's home page. */
  link: string
  description?: string
}

/**
 * A Google Merchant Center product feed (RSS 2.0 with the `g:` namespace), written item by item:
 * one `<item>` per variant, `g:item_group_id` the product, `g:price` and `g:sale_price` in the
 * channel's currency, `g:availability` (and `g:availability_date` for a preorder), images,
 * `g:brand` and `g:mpn` (or `g:identifier_exists` no), colour, size, material and product type.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs'
 * import { googleMerchantXml, type FeedItem } from '@cartwright/feeds'
 *
 * async function write(items: AsyncIterable<FeedItem>) {
 *   const out = createWriteStream('google.xml')
 *   for await (const chunk of googleMerchantXml(items, { title: 'Trail Shop', link: 'https://shop.example' })) out.write(chunk)
 *   out.end()
 * }
 * ```
 */
export async function* googleMerchantXml(items: AsyncIterable<FeedItem> | Iterable<FeedItem>, header: FeedHeader): AsyncGenerator<string> {
  yield '<?xml version="1.0" encoding="UTF-8"?>\n<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0">\n<channel>\n'
  yield `<title>${xml(header.title)}</title>\n<link>${xml(header.link)}</link>\n<description>${xml(header.description ?? header.title)}</description>\n`
  for await (const item of items) {
    const fields: Array<[string, string | null]> = [
      ['g:id', item.id],
      ['g:item_group_id', item.itemGroupId],
      ['g:title', item.title.slice(0, 150)],
      ['g:description', item.description.slice(0, 5000)],
      ['g:link', item.link],
      ['g:image_link', item.imageLink],
      ...item.additionalImageLinks.map((url): [string, string] => ['g:additional_image_link', url]),
      ['g:availability', item.availability],
      ['g:availability_date', item.availabilityDate],
      ['g:price', formatPrice(item.price)],
      ['g:sale_price', item.salePrice && formatPrice(item.salePrice)],
      ['g:condition', item.condition],
      ['g:brand', item.brand],
      ['g:mpn', item.mpn],
      // Without a brand Google cannot identify the product by its part number alone.
      ['g:identifier_exists', item.brand ? null : 'no'],
      ['g:color', item.color],
      ['g:size', item.size],
      ['g:material', item.material],
      ['g:product_type', item.productType],
      ['g:shipping_weight', item.shippingWeightGrams === null ? null : `${item.shippingWeightGrams} g`],
    ]
    yield `<item>\n${fields
      .filter((f): f is [string, string] => f[1] !== null && f[1] !== '')
      .map(([name, value]) => `  <${name}>${xml(value)}</${name}>\n`)
      .join('')}</item>\n`
  }
  yield '</channel>\n</rss>\n'
}

/** The Meta catalog's words for availability. */
const META_AVAILABILITY: Record<FeedAvailability, string> = {
  in_stock: 'in stock',
  out_of_stock: 'out of stock',
  preorder: 'preorder',
  backorder: 'available for order',
}

/** The Meta catalog CSV's columns, in order. */
export const META_COLUMNS = [
  'id',
  'item_group_id',
  'title',
  'description',
  'availability',
  'condition',
  'price',
  'sale_price',
  'link',
  'image_link',
  'additional_image_link',
  'brand',
  'color',
  'size',
  'material',
  'product_type',
] as const

/**
 * A Meta (Facebook, Instagram) catalog feed as CSV, written row by row: the columns of
 * {@link META_COLUMNS}, one row per variant, `item_group_id` the product, additional images comma
 * separated. Fields are quoted as RFC 4180 says; a field starting with `=`, `+`, `-` or `@` is
 * prefixed with `'` so that opening the file in a spreadsheet never runs a formula.
 *
 * @example
 * ```ts
 * import { metaCatalogCsv, type FeedItem } from '@cartwright/feeds'
 *
 * async function csv(items: AsyncIterable<FeedItem>): Promise<string> {
 *   let text = ''
 *   for await (const chunk of metaCatalogCsv(items)) text += chunk
 *   return text
 * }
 * ```
 */
export async function* metaCatalogCsv(items: AsyncIterable<FeedItem> | Iterable<FeedItem>): AsyncGenerator<string> {
  yield `${META_COLUMNS.join(',')}\r\n`
  for await (const item of items) {
    const row: Record<(typeof META_COLUMNS)[number], string | null> = {
      id: item.id,
      item_group_id: item.itemGroupId,
      title: item.title.slice(0, 200),
      description: item.description.slice(0, 9999),
      availability: META_AVAILABILITY[item.availability],
      condition: item.condition,
      price: formatPrice(item.price),
      sale_price: item.salePrice && formatPrice(item.salePrice),
      link: item.link,
      image_link: item.imageLink,
      additional_image_link: item.additionalImageLinks.join(','),
      brand: item.brand,
      color: item.color,
      size: item.size,
      material: item.material,
      product_type: item.productType,
    }
    yield `${META_COLUMNS.map((c) => csv(row[c] ?? '')).join(',')}\r\n`
  }
}

/** Text as XML character data: the five special characters escaped, characters XML 1.0 forbids dropped. */
function xml(text: string): string {
  return text
    .replace(/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/** One CSV field: quoted when it must be, and never a spreadsheet formula. */
function csv(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}
