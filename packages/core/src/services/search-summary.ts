import { sql, type Kysely } from 'kysely'
import type { CoreDatabase, Executor, ProductTable, Tx } from '../db/database.js'
import type { Runtime } from '../runtime.js'
import type { Product, Variant } from '../types.js'
import type { MediaTable } from '../db/migration-0010-media.js'
import { inLocale, loadProducts, productOf, toVariant } from './catalog-service.js'
import { toMedia } from './media-service.js'

/**
 * Search's read model, `cw_search_products` (migration `0013_search_summaries`): per product, its
 * variants' option values and one-unit prices in one row (what filters and facets read), and its
 * variants and tags as the catalog shows them (what a page of results shows). Written with the
 * search documents in the transaction of every change a product announces, so it never disagrees
 * with the tables it is made from.
 */

/**
 * What filters and facets read of a product's variants, compact (it is parsed for every candidate
 * of a search): the option names `o`, each option's values `x` (as in `o`), and the currencies `c`
 * once; then per variant in position order whether it manages stock (0 | 1), the index in `x` of
 * its value of each option (-1: none), and its one-unit price in each currency of `c` (null:
 * none). The variants' ids, in the same order, are apart (`cw_search_products.variant_ids`): only
 * a search for what is in stock reads them.
 */
export interface FacetRow {
  o: string[]
  x: string[][]
  c: string[]
  v: Array<[manageInventory: number, values: number[], amounts: Array<number | null>]>
}

interface SummaryDoc {
  variants: Variant[]
  tags: string[]
}

/**
 * Rewrites the summaries of `ids` (at most a few hundred) from the catalog as `tx` sees it; a
 * product that no longer exists keeps none.
 * @internal Called with the search documents' rewrite, and by the migration that made the table.
 */
export async function summarizeBatch(tx: Executor | Tx | Kysely<CoreDatabase>, ids: string[]): Promise<void> {
  await tx.deleteFrom('cw_search_products').where('product_id', 'in', ids).execute()
  const products = await tx.selectFrom('cw_products').select('id').where('id', 'in', ids).execute()
  if (products.length === 0) return
  const variants = await tx.selectFrom('cw_variants').selectAll().where('product_id', 'in', ids).orderBy('product_id').orderBy('position').execute()
  const prices = variants.length ? await tx.selectFrom('cw_prices').selectAll().where('variant_id', 'in', variants.map((v) => v.id)).execute() : []
  const tags = await tx.selectFrom('cw_product_tags').select(['product_id', 'name']).where('product_id', 'in', ids).orderBy('product_id').orderBy('position').execute()
  const pricesOf = new Map<string, typeof prices>()
  for (const p of prices) pricesOf.set(p.variant_id, [...(pricesOf.get(p.variant_id) ?? []), p])
  const rows = products.map(({ id }) => {
    const mine = variants.filter((v) => v.product_id === id).map((v) => toVariant(v, pricesOf.get(v.id) ?? []))
    const names = [...new Set(mine.flatMap((v) => Object.keys(v.options)))]
    const currencies = [...new Set(mine.flatMap((v) => v.prices.map((p) => p.currency)))].sort()
    const values = names.map((n) => [...new Set(mine.flatMap((v) => (v.options[n] === undefined ? [] : [v.options[n]!])))])
    const facets: FacetRow = {
      o: names,
      x: values,
      c: currencies,
      v: mine.map((v) => [
        v.manageInventory ? 1 : 0,
        names.map((n, at) => (v.options[n] === undefined ? -1 : values[at]!.indexOf(v.options[n]!))),
        currencies.map((c) => v.prices.find((p) => p.currency === c && p.minQuantity === 1)?.amount ?? null),
      ]),
    }
    const doc: SummaryDoc = { variants: mine, tags: tags.filter((t) => t.product_id === id).map((t) => t.name) }
    return { product_id: id, facets: JSON.stringify(facets), variant_ids: JSON.stringify(mine.map((v) => v.id)), doc: JSON.stringify(doc) }
  })
  for (let i = 0; i < rows.length; i += 200) await tx.insertInto('cw_search_products').values(rows.slice(i, i + 200)).execute()
}

/**
 * The products `ids` (active or not), as `catalog.getProduct` shows them, from their summaries: one
 * query for the rows with their images, then their texts when a locale is asked for. A product
 * without a summary is loaded from the catalog's tables.
 */
export async function summarizedProducts(db: Executor, ids: string[], rt: Runtime, locale: string | undefined): Promise<Product[]> {
  if (ids.length === 0) return []
  // The images as one JSON column per product (every column of cw_media): read live, not kept in the summary.
  const media =
    rt.storage.family === 'postgres'
      ? sql<string | null>`(select json_agg(m)::text from cw_media m where m.product_id = p.id)`
      : sql<string | null>`(select json_group_array(json_object(${sql.raw(MEDIA_COLUMNS.map((c) => `'${c}', m.${c}`).join(', '))})) from cw_media m where m.product_id = p.id)`
  const rows = await db
    .selectFrom('cw_products as p')
    .leftJoin('cw_search_products as s', 's.product_id', 'p.id')
    .selectAll('p')
    .select(['s.doc', media.as('media')])
    .where('p.id', 'in', ids)
    .execute()
  const built: Product[] = []
  const missing: ProductTable[] = []
  for (const { doc, media: images, ...row } of rows) {
    if (doc === null) {
      missing.push(row)
      continue
    }
    const summary = JSON.parse(doc) as SummaryDoc
    const product = productOf(row, summary.variants, summary.tags)
    const list = images === null ? [] : (JSON.parse(images) as MediaTable[])
    list.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    if (rt.storage.family === 'postgres') {
      // PostgreSQL's JSON writes a timestamp with its offset: read it as the driver would, a Date.
      for (const m of list) {
        m.created_at = new Date(m.created_at as string)
        m.updated_at = new Date(m.updated_at as string)
      }
    }
    product.media = list.map((m) => toMedia(m, rt.media))
    built.push(product)
  }
  const products = await inLocale(db, built, rt, locale)
  return missing.length ? [...products, ...(await loadProducts(db, missing, rt, locale))] : products
}

/** Every column of `cw_media`, for SQLite's JSON of a product's images. */
const MEDIA_COLUMNS: ReadonlyArray<keyof MediaTable> = [
  'id',
  'product_id',
  'variant_id',
  'position',
  'alt',
  'width',
  'height',
  'content_type',
  'size',
  'storage_key',
  'url',
  'created_at',
  'updated_at',
]
