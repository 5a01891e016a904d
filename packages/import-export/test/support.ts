import { sql } from 'kysely'
import { createCommerce, isCommerceError } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
// The PostgreSQL test harness is the adapter's own: a fresh database per shop on the server the
// vitest globalSetup started.
import { freshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { migrateCore } from '../../storage-postgres/test/support/migrated.js'
import { CSV_COLUMNS, importExport, type CsvColumn } from '../src/index.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

export type Shop = Awaited<ReturnType<typeof openShop>>

/** An engine with the import plugin on a new database, a stock location `main` and categories `shoes` and `socks`. */
export async function openShop(storage: 'sqlite' | 'postgres') {
  const database = storage === 'postgres' ? await freshDatabase({ template: migrateCore }) : undefined
  const commerce = await createCommerce({
    storage: storage === 'sqlite' ? sqliteStorage({ filename: ':memory:' }) : postgresStorage({ connectionString: database!.url, pool: { max: 4 } }),
    plugins: [importExport()],
    onListenerError: () => undefined,
  })
  await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  await commerce.inventory.createLocation({ name: 'Back room', code: 'back', priority: 5 })
  await commerce.categories.create({ title: 'Shoes', handle: 'shoes' })
  await commerce.categories.create({ title: 'Socks', handle: 'socks' })
  const count = async (table: string) => Number((await sql.raw<{ n: number | string }>(`select count(*) as n from ${table}`).execute(commerce.db)).rows[0]!.n)
  return {
    commerce,
    /** Row counts of every table an import writes. */
    async counts() {
      const tables = ['cw_products', 'cw_variants', 'cw_prices', 'cw_product_tags', 'cw_inventory_levels', 'cw_category_products', 'cw_media', 'cw_search_documents', 'imports_jobs']
      return Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count(t)] as const)))
    },
    async close() {
      await commerce.close()
      await database?.drop()
    },
  }
}

/** A CSV file: the header, then rows given as objects by column. */
export function csv(rows: Array<Partial<Record<CsvColumn | string, string>>>, columns: readonly string[] = CSV_COLUMNS): string {
  const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)
  return [columns, ...rows.map((r) => columns.map((c) => r[c] ?? ''))].map((cells) => cells.map(cell).join(',')).join('\r\n') + '\r\n'
}

/**
 * A catalog in the documented layout: `products` products of four sizes each (S, M, L, XL), in
 * USD, stocked at `main`, listed in `shoes`.
 */
export function catalogRows(products: number, prefix = 'p') {
  const rows: Array<Partial<Record<CsvColumn, string>>> = []
  for (let i = 0; i < products; i++) {
    ;['S', 'M', 'L', 'XL'].forEach((size, j) => {
      rows.push({
        Handle: `${prefix}-${i}`,
        ...(j === 0 ? { Title: `Product ${i}`, 'Body (HTML)': `<p>Product ${i}</p>`, Vendor: 'Acme', Type: 'Shoes', Tags: 'Trail, Red', Status: 'active', 'Option1 Name': 'Size', Category: 'shoes' } : {}),
        'Option1 Value': size,
        'Variant SKU': `${prefix.toUpperCase()}-${i}-${size}`,
        'Variant Price': `${100 + (i % 50)}.${String(j * 5).padStart(2, '0')}`,
        ...(j === 1 ? { 'Variant Compare At Price': '199.00' } : {}),
        'Variant Grams': String(300 + j),
        'Variant Inventory Qty': String((i + j) % 7),
        Location: 'main',
        Currency: 'USD',
      })
    })
  }
  return rows
}

/** The error a promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<{ code: string; fields: string[]; message: string }> {
  try {
    await promise
  } catch (error) {
    if (!isCommerceError<string>(error)) throw error
    return { code: error.code, fields: (error.details.fields as string[] | undefined) ?? [], message: error.message }
  }
  throw new Error('expected a rejection, got a result')
}

/** Every chunk of an async iterable, joined. */
export async function collect(chunks: AsyncIterable<string>): Promise<string> {
  let out = ''
  for await (const c of chunks) out += c
  return out
}

/** The catalog as comparable data: products by handle with variants, prices, options, tags, categories, stock and images. */
export async function snapshot(shop: Shop) {
  const { commerce } = shop
  const locations = new Map((await commerce.inventory.listLocations()).map((l) => [l.id, l.code]))
  const categories = new Map<string, string[]>()
  for (const c of await commerce.categories.tree()) {
    let after: string | undefined
    do {
      const page = await commerce.categories.products(c.id, { limit: 100, ...(after ? { cursor: after } : {}) })
      for (const p of page.items) categories.set(p.handle, [...(categories.get(p.handle) ?? []), c.handle])
      after = page.nextCursor ?? undefined
    } while (after)
  }
  const out: Record<string, unknown> = {}
  let cursor: string | undefined
  do {
    const page = await commerce.catalog.listProducts({ limit: 100, ...(cursor ? { cursor } : {}) })
    for (const p of page.items) {
      out[p.handle] = {
        title: p.title,
        description: p.description,
        status: p.status,
        productType: p.productType,
        tags: p.tags,
        vendor: p.metadata.vendor,
        options: p.options,
        categories: (categories.get(p.handle) ?? []).sort(),
        images: p.media.map((m) => [m.url, m.alt]),
        variants: await Promise.all(
          p.variants.map(async (v) => ({
            sku: v.sku,
            options: v.options,
            weightGrams: v.weightGrams,
            prices: v.prices,
            stock: (await commerce.inventory.levels(v.id)).map((l) => [locations.get(l.locationId), l.onHand]),
          })),
        ),
      }
    }
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return out
}

/**
 * The whole catalog as comparable data, everything `exportJson` carries: every product field,
 * every variant field (prices with tiers and compare-at, dimensions, inventory policy), stock at
 * every location, and images with the variant they belong to.
 */
export async function fullSnapshot(shop: Shop) {
  const { commerce } = shop
  const base = await snapshot(shop)
  const locations = new Map((await commerce.inventory.listLocations()).map((l) => [l.id, l.code]))
  const out: Record<string, unknown> = {}
  let cursor: string | undefined
  do {
    const page = await commerce.catalog.listProducts({ limit: 100, ...(cursor ? { cursor } : {}) })
    for (const p of page.items) {
      const skus = new Map(p.variants.map((v) => [v.id, v.sku]))
      out[p.handle] = {
        ...(base[p.handle] as object),
        metadata: p.metadata,
        material: p.material,
        hsCode: p.hsCode,
        countryOfOrigin: p.countryOfOrigin,
        images: p.media.map((m) => [m.url, m.alt, m.variantId ? skus.get(m.variantId) : null]),
        variants: await Promise.all(
          p.variants.map(async (v) => ({
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
            stock: (await commerce.inventory.levels(v.id)).map((l) => [locations.get(l.locationId), l.onHand]).sort(),
          })),
        ),
      }
    }
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return out
}
