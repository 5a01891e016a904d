import { formatAmount, type CoreCommerceView, type Product, type StockLocation } from '@cartwright/core'
import { csvLine } from './csv.js'
import { CSV_COLUMNS, type CsvColumn } from './layout.js'

type Commerce = CoreCommerceView

/** Every product, a page at a time (newest first), so the catalog is never held whole. */
async function* products(commerce: Commerce, pageSize: number): AsyncGenerator<Product> {
  let cursor: string | undefined
  do {
    const page = await commerce.catalog.listProducts({ limit: pageSize, ...(cursor ? { cursor } : {}) })
    yield* page.items
    cursor = page.nextCursor ?? undefined
  } while (cursor)
}

/** Category handles per product id: categories are few; each lists its products a page at a time. */
async function categoryHandles(commerce: Commerce): Promise<Map<string, string[]>> {
  const byProduct = new Map<string, string[]>()
  const walk = async (nodes: Array<{ id: string; handle: string; children?: unknown[] }>): Promise<void> => {
    for (const node of nodes) {
      let cursor: string | undefined
      do {
        const page = await commerce.categories.products(node.id, { limit: 100, ...(cursor ? { cursor } : {}) })
        for (const p of page.items) byProduct.set(p.id, [...(byProduct.get(p.id) ?? []), node.handle])
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      await walk((node.children ?? []) as typeof nodes)
    }
  }
  await walk((await commerce.categories.tree()) as never)
  return byProduct
}

/** Stock per variant: its levels, each with the location's code. */
async function stockOf(commerce: Commerce, product: Product, locations: Map<string, StockLocation>) {
  const levels = new Map<string, Array<{ location: string; onHand: number }>>()
  for (const v of product.variants) {
    const own = await commerce.inventory.levels(v.id)
    levels.set(
      v.id,
      own.map((l) => ({ location: locations.get(l.locationId)?.code ?? l.locationId, onHand: l.onHand })),
    )
  }
  return levels
}

export interface ExportSettings {
  currency: string | undefined
  pageSize: number
}

/** The catalog as CSV chunks: the header, then one chunk per product. */
export async function* exportCsvChunks(commerce: Commerce, settings: ExportSettings): AsyncGenerator<string> {
  yield csvLine(CSV_COLUMNS)
  const categories = await categoryHandles(commerce)
  const locations = new Map((await commerce.inventory.listLocations()).map((l) => [l.id, l]))
  for await (const product of products(commerce, settings.pageSize)) {
    const stock = await stockOf(commerce, product, locations)
    let chunk = ''
    const images = product.media.filter((m) => m.url !== null && m.variantId === null)
    product.variants.forEach((v, i) => {
      const row: Partial<Record<CsvColumn, string>> = { Handle: product.handle }
      if (i === 0) {
        row.Title = product.title
        row['Body (HTML)'] = product.description ?? ''
        row.Vendor = typeof product.metadata.vendor === 'string' ? product.metadata.vendor : ''
        row.Type = product.productType ?? ''
        row.Tags = product.tags.join(', ')
        row.Published = product.status === 'active' ? 'TRUE' : 'FALSE'
        row.Status = product.status
        row.Category = (categories.get(product.id) ?? []).join(', ')
        if (product.options.length === 0) {
          row['Option1 Name'] = 'Title'
          row['Option1 Value'] = 'Default Title'
        }
        product.options.forEach((o, n) => (row[`Option${n + 1} Name` as CsvColumn] = o.name))
      } else if (product.options.length === 0) row['Option1 Value'] = 'Default Title'
      product.options.forEach((o, n) => (row[`Option${n + 1} Value` as CsvColumn] = v.options[o.name] ?? ''))
      row['Variant SKU'] = v.sku
      row['Variant Grams'] = v.weightGrams === null ? '' : String(v.weightGrams)
      const price = v.prices.find((p) => p.minQuantity === 1 && (settings.currency === undefined || p.currency === settings.currency))
      if (price) {
        row.Currency = price.currency
        row['Variant Price'] = formatAmount(price.amount, price.currency)
        row['Variant Compare At Price'] = price.compareAtAmount === undefined ? '' : formatAmount(price.compareAtAmount, price.currency)
      }
      const level = stock.get(v.id)?.[0]
      if (level) {
        row['Variant Inventory Qty'] = String(level.onHand)
        row.Location = level.location
      }
      row['Variant Requires Shipping'] = 'TRUE'
      const image = images[i]
      if (image) {
        row['Image Src'] = image.url!
        row['Image Alt Text'] = image.alt ?? ''
      }
      chunk += csvLine(CSV_COLUMNS.map((c) => row[c] ?? ''))
    })
    // Images beyond the variant rows: rows with the handle and the image only.
    for (const image of images.slice(product.variants.length)) {
      const row: Partial<Record<CsvColumn, string>> = { Handle: product.handle, 'Image Src': image.url!, 'Image Alt Text': image.alt ?? '' }
      chunk += csvLine(CSV_COLUMNS.map((c) => row[c] ?? ''))
    }
    yield chunk
  }
}

/**
 * The catalog as a JSON array, one product per chunk, in the shape `importJson` reads: every
 * field `catalog.createProducts` takes (every price tier and currency with its compare-at, stock
 * at every location, variant titles, dimensions and images), and each variant's `inventoryPolicy`.
 */
export async function* exportJsonChunks(commerce: Commerce, settings: ExportSettings): AsyncGenerator<string> {
  const categories = await categoryHandles(commerce)
  const locations = new Map((await commerce.inventory.listLocations()).map((l) => [l.id, l]))
  let first = true
  yield '['
  for await (const product of products(commerce, settings.pageSize)) {
    const stock = await stockOf(commerce, product, locations)
    const sku = new Map(product.variants.map((v) => [v.id, v.sku]))
    const object = {
      handle: product.handle,
      title: product.title,
      description: product.description,
      status: product.status,
      productType: product.productType,
      tags: product.tags,
      material: product.material,
      hsCode: product.hsCode,
      countryOfOrigin: product.countryOfOrigin,
      metadata: product.metadata,
      options: product.options,
      variants: product.variants.map((v) => ({
        sku: v.sku,
        title: v.title,
        options: v.options,
        weightGrams: v.weightGrams,
        lengthMm: v.lengthMm,
        widthMm: v.widthMm,
        heightMm: v.heightMm,
        manageInventory: v.manageInventory,
        inventoryPolicy: v.inventoryPolicy,
        prices: v.prices,
      })),
      categories: categories.get(product.id) ?? [],
      stock: product.variants.flatMap((v) => (stock.get(v.id) ?? []).map((l) => ({ sku: v.sku, location: l.location, onHand: l.onHand }))),
      images: product.media
        .filter((m) => m.url !== null)
        .map((m) => ({ url: m.url!, ...(m.alt ? { alt: m.alt } : {}), ...(m.variantId ? { sku: sku.get(m.variantId)! } : {}) })),
    }
    yield `${first ? '' : ','}\n${JSON.stringify(object)}`
    first = false
  }
  yield '\n]\n'
}
