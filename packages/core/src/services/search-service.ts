import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely'
import { z } from 'zod'
import type { CoreDatabase, Executor } from '../db/database.js'
import { iso } from '../db/rows.js'
import { validationError } from '../errors.js'
import { read, type Runtime } from '../runtime.js'
import type { Product } from '../types.js'
import { fields, parseInput } from '../validation.js'
import { loadProducts } from './catalog-service.js'
import { catalogSettings, localeChain, localeSchema, visibleIds } from './catalog-texts.js'
import { collectionMembership } from './collection-service.js'
import { normalizeSearchText, queryWords } from './search-index.js'

const MAX_OPTIONS = 10

const searchSchema = z.strictObject({
  query: z.string().max(200).optional(),
  locale: localeSchema.optional(),
  channel: z.string().min(1).max(64).optional(),
  categoryId: fields.id.optional(),
  collectionId: fields.id.optional(),
  tags: z.array(z.string().trim().min(1).max(64)).max(20).optional(),
  productType: z.string().trim().min(1).max(100).optional(),
  options: z
    .record(z.string().min(1).max(64), z.array(z.string().min(1).max(64)).min(1).max(50))
    .refine((o) => Object.keys(o).length <= MAX_OPTIONS, `at most ${MAX_OPTIONS} options`)
    .optional(),
  currency: fields.currency.optional(),
  price: z.strictObject({ min: fields.amount.optional(), max: fields.amount.optional() }).optional(),
  inStock: z.boolean().default(false),
  sort: z.enum(['relevance', 'price_asc', 'price_desc', 'newest', 'best_selling']).optional(),
  facets: z.boolean().default(true),
  priceRanges: z.array(fields.amount).min(1).max(20).optional(),
  limit: z.number().int().min(1).max(100).default(24),
  cursor: z.string().max(200).optional(),
})

/**
 * Input of `search.products`: words to find (`query`, over titles, descriptions, SKUs, tags, the
 * product type, variant titles and option values, in `locale` with the catalog's fallback), and
 * filters: a category (its subcategories included), a collection, tags (all of them), a product
 * type, option values (`{ Size: ['42', '43'], Color: ['Red'] }`: any of an option's values, every
 * option named), a price range in `currency` (the one-unit price of a matching variant), and
 * `inStock` (a matching variant can be bought now: stock available, a backorder allowance left, or
 * stock not tracked). `sort`: `relevance` (the default with a query; else `newest`), `price_asc`,
 * `price_desc`, `newest`, `best_selling` (units ordered). `priceRanges`: the lower bounds of the
 * price facet's ranges, in minor units (default: five ranges fitted to the results).
 *
 * @example
 * ```ts
 * const input: SearchInput = { query: 'trail runner', locale: 'de', options: { Size: ['42'] }, inStock: true, currency: 'EUR', sort: 'price_asc' }
 * ```
 */
export type SearchInput = z.input<typeof searchSchema>

/** A count of products in the results, per option value, category or price range. */
export interface SearchFacets {
  /**
   * Per option name, each value with the number of products that have a matching variant with it,
   * under every filter but that option's own (so choosing Size 42 still shows how many come in 43).
   */
  options: Record<string, Array<{ value: string; count: number }>>
  /** Categories the results are in (directly), with how many of them each holds. */
  categories: Array<{ id: string; handle: string; title: string; count: number }>
  /** In `currency`: ranges of the lowest matching price of each result, `max` exclusive (null: no upper bound). */
  price: Array<{ min: number; max: number | null; count: number }>
}

/** One result: the product (texts in the locale), and the variant that best matches the query and filters. */
export interface SearchHit {
  product: Product
  variantId: string | null
}

/** What `search.products` answers. */
export interface SearchResult {
  items: SearchHit[]
  /** Products matching, over all pages. */
  total: number
  facets: SearchFacets | null
  nextCursor: string | null
}

/** The parsed input, and the instant a preorder's allowance is compared with. */
type Data = z.output<typeof searchSchema> & { now: string }
type Eb = ExpressionBuilder<CoreDatabase & { p: CoreDatabase['cw_products'] }, 'p'>
type VariantEb = ExpressionBuilder<CoreDatabase & { v: CoreDatabase['cw_variants'] }, 'v'>

const EMPTY_FACETS: SearchFacets = { options: {}, categories: [], price: [] }

function decodeOffset(cursor: string | undefined): number {
  if (cursor === undefined) return 0
  const match = /^o([0-9]{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!match || Buffer.from(`o${match[1]}`).toString('base64url') !== cursor) {
    throw validationError('search', [{ path: 'cursor', message: 'not a cursor this search returned' }])
  }
  return Number(match[1])
}

const encodeOffset = (offset: number): string => Buffer.from(`o${offset}`).toString('base64url')

/**
 * Search and filters over the catalog, for shoppers: active products only, each one a hit once,
 * with facets for the current filter. Text search runs on SQLite's FTS5 and PostgreSQL's full-text
 * search over the same normalized words (lower case, accents dropped), every word required, each a
 * prefix (`run` finds `runner`); the title weighs most. A query of no words (only punctuation or
 * operators) finds nothing. User text is only ever a bound parameter.
 *
 * @example
 * ```ts
 * const found = await commerce.search.products({ query: 'trail runner red', options: { Size: ['42'] }, inStock: true, currency: 'USD' })
 * for (const hit of found.items) console.log(hit.product.title, hit.variantId)
 * console.log(found.facets?.options.Color) // [{ value: 'Red', count: 3 }, …]
 * ```
 */
export class SearchService {
  readonly #rt: Runtime

  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /** Finds products by words and filters, a page at a time, with facets (see {@link SearchInput}). */
  async products(input: SearchInput = {}): Promise<SearchResult> {
    const data: Data = { ...parseInput(searchSchema, input, 'search'), now: this.#rt.now().toISOString() }
    if ((data.price || data.sort === 'price_asc' || data.sort === 'price_desc' || data.priceRanges) && !data.currency) {
      throw validationError('search', [{ path: 'currency', message: 'needed to filter, sort or count by price' }])
    }
    const offset = decodeOffset(data.cursor)
    const words = data.query === undefined ? null : queryWords(data.query)
    if (words !== null && words.length === 0) return { items: [], total: 0, facets: data.facets ? EMPTY_FACETS : null, nextCursor: null }
    const rt = this.#rt
    const locale = data.locale ?? catalogSettings(rt).defaultLocale
    const sort = data.sort ?? (words ? 'relevance' : 'newest')
    if (sort === 'relevance' && !words) {
      throw validationError('search', [{ path: 'sort', message: 'relevance needs a query' }])
    }
    return read(rt, async (db) => {
      // Once: the products the words and product-level filters let through (with their score),
      // then those with a variant that passes the variant-level filters. Everything after reads
      // from these ids, so the text match and the category tree are evaluated once per search.
      const candidates = await candidateProducts(db, data, words ? matchQuery(rt, words, locale) : null)
      // What the channel may not show is not found, counted or paged (when a visibility source is set).
      if (candidates.size > 0 && catalogSettings(rt).visibility) {
        const visible = await visibleIds(rt, [...candidates.keys()], { channel: data.channel ?? null, locale })
        for (const id of [...candidates.keys()]) if (!visible.has(id)) candidates.delete(id)
      }
      // Newest first, then by id: a total order, the same on both storages.
      const newer = (x: string, y: string) => {
        const [a, b] = [candidates.get(x)!.createdAt, candidates.get(y)!.createdAt]
        return a < b ? 1 : a > b ? -1 : x < y ? -1 : x > y ? 1 : 0
      }
      const byRelevance = (x: string, y: string) => candidates.get(y)!.score - candidates.get(x)!.score || newer(x, y)
      let found: string[]
      let pageIds: string[]
      let facets: SearchFacets | null
      if (candidates.size > 0 && candidates.size <= IN_MEMORY_CANDIDATES) {
        // Few products (a category page, a narrow search): read their variants once and filter,
        // count and sort them here — four small reads instead of a query per facet.
        const view = await variantView(db, data, [...candidates.keys()])
        found = view.found
        if (sort === 'relevance') found.sort(byRelevance)
        else if (sort === 'newest') found.sort(newer)
        else if (sort === 'price_asc' || sort === 'price_desc') {
          const sign = sort === 'price_asc' ? 1 : -1
          const price = (id: string) => view.lowest.get(id) ?? (sign > 0 ? Number.MAX_SAFE_INTEGER : -1)
          found.sort((x, y) => sign * (price(x) - price(y)) || newer(x, y))
        }
        pageIds = sort === 'best_selling' ? (found.length ? await this.#page(db, data, found, sort, offset) : []) : found.slice(offset, offset + data.limit)
        facets = data.facets ? await view.facets() : null
      } else {
        found = candidates.size ? await passing(db, [...candidates.keys()], data) : []
        if (sort === 'relevance') pageIds = found.sort(byRelevance).slice(offset, offset + data.limit)
        else pageIds = found.length ? await this.#page(db, data, found, sort, offset) : []
        facets = data.facets ? (candidates.size ? await computeFacets(db, data, [...candidates.keys()], found) : EMPTY_FACETS) : null
      }
      const total = found.length
      const rows = pageIds.length ? await db.selectFrom('cw_products').selectAll().where('id', 'in', pageIds).execute() : []
      const byId = new Map((await loadProducts(db, rows, rt, data.locale)).map((p) => [p.id, p]))
      const ordered = pageIds.map((id) => byId.get(id)).filter((p): p is Product => p !== undefined)
      const items = ordered.map((product) => ({ product, variantId: bestVariant(product, data, words) }))
      const next = offset + pageIds.length
      return { items, total, facets, nextCursor: pageIds.length === data.limit && next < total ? encodeOffset(next) : null }
    })
  }

  async #page(db: Executor, data: Data, found: string[], sort: string, offset: number): Promise<string[]> {
    let q = db.selectFrom('cw_products as p').select(['p.id']).where('p.id', 'in', found)
    if (sort === 'newest') q = q.orderBy('p.created_at', 'desc')
    else if (sort === 'best_selling') {
      q = q.orderBy((eb) => eb.selectFrom('cw_order_lines as l').select(sql<number>`coalesce(sum(l.quantity), 0)`.as('units')).whereRef('l.product_id', '=', 'p.id'), 'desc')
    } else {
      const lowest = (eb: Eb) =>
        eb
          .selectFrom('cw_prices as pr')
          .innerJoin('cw_variants as v', 'v.id', 'pr.variant_id')
          .select((e) => e.fn.min('pr.amount').as('lowest'))
          .whereRef('v.product_id', '=', 'p.id')
          .where('pr.currency', '=', data.currency!)
          .where('pr.min_quantity', '=', 1)
          .where((e) => variantConditions(e as unknown as VariantEb, data, null))
      q = q.orderBy((eb) => lowest(eb), sort === 'price_asc' ? 'asc' : 'desc')
    }
    const rows = await q.orderBy('p.created_at', 'desc').orderBy('p.id').limit(data.limit).offset(offset).execute()
    return rows.map((r) => r.id)
  }
}

/** The most products a search considers (the best matches first): a bound on the ids it carries between queries. */
export const MAX_CANDIDATES = 20_000

/** Products the words (when given) and the product-level filters let through, with their score. */
async function candidateProducts(db: Executor, data: Data, matched: ReturnType<typeof matchQuery> | null): Promise<Map<string, { score: number; createdAt: string }>> {
  // A collection, hand-picked or by rules: its membership as a condition (an unknown one holds nothing).
  const member = data.collectionId ? await collectionMembership(db, data.collectionId) : undefined
  if (member === null) return new Map()
  let q = db.selectFrom('cw_products as p').select(['p.id', 'p.created_at'])
  if (matched) q = q.innerJoin(matched.as('m'), 'm.id', 'p.id').select(sql<number>`m.score`.as('score'))
  q = q.where((eb) => productConditions(eb, data))
  if (member) q = q.where((eb) => member(eb as never))
  q = matched ? q.orderBy(sql`m.score`, 'desc') : q.orderBy('p.created_at', 'desc')
  const rows = (await q.orderBy('p.id').limit(MAX_CANDIDATES).execute()) as Array<{ id: string; created_at: unknown; score?: number }>
  return new Map(rows.map((r) => [r.id, { score: Number(r.score ?? 0), createdAt: iso(r.created_at as string | Date) }]))
}

/** Up to this many candidate products, a search filters, counts and sorts their variants in memory. */
const IN_MEMORY_CANDIDATES = 2_000

/**
 * The variants of `ids` as the filters see them: which pass every variant-level filter, or every
 * one but an option's own; the products found; each one's lowest passing price; and the facets,
 * counted from the same rows, so that the SQL path and this one agree.
 */
async function variantView(db: Executor, data: Data, ids: string[]) {
  const variants = await db
    .selectFrom('cw_variants as v')
    .select(['v.id', 'v.product_id', 'v.manage_inventory'])
    .$if(data.currency !== undefined, (q) =>
      q.select((eb) =>
        eb
          .selectFrom('cw_prices as pr')
          .select('pr.amount')
          .whereRef('pr.variant_id', '=', 'v.id')
          .where('pr.currency', '=', data.currency!)
          .where('pr.min_quantity', '=', 1)
          .limit(1)
          .as('amount'),
      ),
    )
    .$if(data.inStock, (q) =>
      q.select(
        sql<number>`(select coalesce(sum(il.on_hand - il.reserved + case when il.allowance_until is null or il.allowance_until > ${data.now} then il.backorder_allowance else 0 end), 0) from cw_inventory_levels il where il.variant_id = v.id)`.as('sellable'),
      ),
    )
    .where('v.product_id', 'in', ids)
    .execute()
  const values = await db.selectFrom('cw_variant_option_values').select(['variant_id', 'option', 'value']).where('product_id', 'in', ids).execute()
  const optionsOf = new Map<string, Map<string, string>>()
  for (const row of values) {
    const map = optionsOf.get(row.variant_id) ?? new Map<string, string>()
    map.set(row.option, row.value)
    optionsOf.set(row.variant_id, map)
  }
  const filters = Object.entries(data.options ?? {})
  // Everything but the options: price and stock.
  const base = (v: (typeof variants)[number], withPrice = true): boolean => {
    const row = v as unknown as { amount?: number | string | null; sellable?: number | string | null }
    if (data.price && withPrice) {
      if (row.amount === null || row.amount === undefined) return false
      const amount = Number(row.amount)
      if (data.price.min !== undefined && amount < data.price.min) return false
      if (data.price.max !== undefined && amount > data.price.max) return false
    }
    if (data.inStock && Number(v.manage_inventory) !== 0 && !(Number(row.sellable ?? 0) > 0)) return false
    return true
  }
  const passes = (v: (typeof variants)[number], except: string | null, withPrice = true): boolean => {
    if (!base(v, withPrice)) return false
    const mine = optionsOf.get(v.id)
    return filters.every(([option, wanted]) => option === except || wanted.includes(mine?.get(option) ?? '\u0000'))
  }
  const passing = variants.filter((v) => passes(v, null))
  const foundSet = new Set(passing.map((v) => v.product_id))
  const lowest = new Map<string, number>()
  if (data.currency) {
    for (const v of passing) {
      const amount = (v as unknown as { amount?: number | string | null }).amount
      if (amount === null || amount === undefined) continue
      const current = lowest.get(v.product_id)
      if (current === undefined || Number(amount) < current) lowest.set(v.product_id, Number(amount))
    }
  }
  const found = ids.filter((id) => foundSet.has(id))
  return {
    found,
    lowest,
    async facets(): Promise<SearchFacets> {
      const counted = new Map<string, Map<string, Set<string>>>()
      const filtered = new Set(filters.map(([option]) => option))
      const all = new Set(passing.map((v) => v.id))
      for (const v of variants) {
        const mine = optionsOf.get(v.id)
        if (!mine) continue
        for (const [option, value] of mine) {
          // An option's counts hold under every filter but its own.
          if (!(filtered.has(option) ? passes(v, option) : all.has(v.id))) continue
          const byValue = counted.get(option) ?? new Map<string, Set<string>>()
          const products = byValue.get(value) ?? new Set<string>()
          products.add(v.product_id)
          byValue.set(value, products)
          counted.set(option, byValue)
        }
      }
      const options: SearchFacets['options'] = {}
      for (const [option, byValue] of counted) {
        options[option] = [...byValue]
          .map(([value, products]) => ({ value, count: products.size }))
          .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
      }
      if (found.length === 0) return { options, categories: [], price: [] }
      const categories = await categoryFacet(db, found)
      // The price facet, like an option's, holds under every filter but its own (the price range).
      const unpriced = new Map<string, number>()
      if (data.currency) {
        for (const v of variants) {
          const amount = (v as unknown as { amount?: number | string | null }).amount
          if (amount === null || amount === undefined || !passes(v, null, false)) continue
          const current = unpriced.get(v.product_id)
          if (current === undefined || Number(amount) < current) unpriced.set(v.product_id, Number(amount))
        }
      }
      const price = data.currency ? priceRanges([...unpriced.values()], data.priceRanges) : []
      return { options, categories, price }
    },
  }
}

/** Of `ids`, those with a variant that passes the variant-level filters. */
async function passing(db: Executor, ids: string[], data: Data): Promise<string[]> {
  if (!data.options && !data.price && !data.inStock) {
    // No variant-level filter: a product passes with any variant at all.
    const rows = await db.selectFrom('cw_variants').select('product_id').distinct().where('product_id', 'in', ids).execute()
    return rows.map((r) => r.product_id)
  }
  const rows = await db
    .selectFrom('cw_variants as v')
    .select('v.product_id')
    .distinct()
    .where('v.product_id', 'in', ids)
    .where((eb) => variantConditions(eb as unknown as VariantEb, data, null))
    .execute()
  return rows.map((r) => r.product_id)
}

/** The products matching every word, with their best score in the locale's documents (higher is better). */
function matchQuery(rt: Runtime, words: string[], locale: string) {
  // The locale's documents (most specific first) and the products' own texts ('').
  const locales = [...new Set([...localeChain(locale, catalogSettings(rt).defaultLocale), ''])]
  if (rt.storage.family === 'postgres') {
    // Words are letters and digits only (normalized): each a prefix, every one required.
    const tsquery = words.map((w) => `${w}:*`).join(' & ')
    return sql<{ id: string; score: number }>`(select d.product_id as id, max(ts_rank(d.tsv, to_tsquery('simple', ${tsquery}))) as score
      from cw_search_documents d
      where d.tsv @@ to_tsquery('simple', ${tsquery}) and d.locale in (${sql.join(locales)})
      group by d.product_id)`
  }
  const match = words.map((w) => `"${w}"*`).join(' ')
  // bm25 is lower for a better match: its negation ranks like PostgreSQL's rank.
  // bm25() runs only in the full-text query itself (not under an aggregate or a join the planner
  // reorders): rank there, materialized, then join and group.
  return sql<{ id: string; score: number }>`(with f as materialized (select rowid as doc, -bm25(cw_search_fts, 10.0, 1.0) as score from cw_search_fts where cw_search_fts match ${match})
    select d.product_id as id, max(f.score) as score
    from f join cw_search_documents d on d.id = f.doc
    where d.locale in (${sql.join(locales)})
    group by d.product_id)`
}

/** The product-level filters, on `p`. */
function productConditions(eb: Eb, data: Data): Expression<SqlBool> {
  const conditions: Array<Expression<SqlBool>> = [eb('p.status', '=', 'active')]
  if (data.categoryId) {
    conditions.push(
      eb(
        'p.id',
        'in',
        eb
          .selectFrom('cw_category_products as cp')
          .select('cp.product_id')
          .where(
            'cp.category_id',
            'in',
            sql<string>`(with recursive tree(id) as (select ${data.categoryId} union all select c.id from cw_categories c join tree on c.parent_id = tree.id) select id from tree)`,
          ),
      ),
    )
  }
  for (const tag of data.tags ?? []) {
    conditions.push(eb.exists(eb.selectFrom('cw_product_tags as t').select('t.product_id').whereRef('t.product_id', '=', 'p.id').where('t.tag', '=', tag.toLowerCase())))
  }
  if (data.productType) conditions.push(eb('p.product_type', '=', data.productType))
  return eb.and(conditions)
}

/** The variant-level filters (options, price, stock), on `v`; `except` leaves one option's filter out (for its facet). */
function variantConditions(eb: VariantEb, data: Data, except: string | null): Expression<SqlBool> {
  const conditions: Array<Expression<SqlBool>> = []
  for (const [option, values] of Object.entries(data.options ?? {})) {
    if (option === except) continue
    conditions.push(
      eb.exists(
        eb.selectFrom('cw_variant_option_values as o').select('o.variant_id').whereRef('o.variant_id', '=', 'v.id').where('o.option', '=', option).where('o.value', 'in', values),
      ),
    )
  }
  if (data.price) {
    let q = eb.selectFrom('cw_prices as pr').select('pr.id').whereRef('pr.variant_id', '=', 'v.id').where('pr.currency', '=', data.currency!).where('pr.min_quantity', '=', 1)
    if (data.price.min !== undefined) q = q.where('pr.amount', '>=', data.price.min)
    if (data.price.max !== undefined) q = q.where('pr.amount', '<=', data.price.max)
    conditions.push(eb.exists(q))
  }
  if (data.inStock) {
    conditions.push(
      eb.or([
        eb('v.manage_inventory', '=', 0),
        eb(
          eb
            .selectFrom('cw_inventory_levels as il')
            // What can be sold now: stock, plus a backorder or preorder allowance that still applies.
            .select(
              sql<number>`coalesce(sum(il.on_hand - il.reserved + case when il.allowance_until is null or il.allowance_until > ${data.now} then il.backorder_allowance else 0 end), 0)`.as('sellable'),
            )
            .whereRef('il.variant_id', '=', 'v.id'),
          '>',
          0,
        ),
      ]),
    )
  }
  return conditions.length ? eb.and(conditions) : sql<SqlBool>`1 = 1`
}

async function computeFacets(db: Executor, data: Data, candidates: string[], found: string[]): Promise<SearchFacets> {
  const options: SearchFacets['options'] = {}
  const filtered = Object.keys(data.options ?? {})
  // Options no filter names: one query under every filter. Each filtered option: under every filter but its own.
  for (const except of [null, ...filtered]) {
    let q = db
      .selectFrom('cw_variant_option_values as o')
      .innerJoin('cw_variants as v', 'v.id', 'o.variant_id')
      .select(['o.option', 'o.value', (eb) => eb.fn.count<number>('o.product_id').distinct().as('n')])
      .where('o.product_id', 'in', candidates)
      .where((eb) => variantConditions(eb as unknown as VariantEb, data, except))
    q = except === null ? (filtered.length ? q.where('o.option', 'not in', filtered) : q) : q.where('o.option', '=', except)
    for (const row of await q.groupBy(['o.option', 'o.value']).execute()) {
      ;(options[row.option] ??= []).push({ value: row.value, count: Number(row.n) })
    }
  }
  for (const values of Object.values(options)) values.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
  if (found.length === 0) return { options, categories: [], price: [] }

  const categories = await categoryFacet(db, found)

  let price: SearchFacets['price'] = []
  if (data.currency) {
    const lowest = await db
      .selectFrom('cw_prices as pr')
      .innerJoin('cw_variants as v', 'v.id', 'pr.variant_id')
      .select(['v.product_id', (eb) => eb.fn.min<number>('pr.amount').as('lowest')])
      // Under every filter but its own: the candidates, with the price range left out.
      .where('v.product_id', 'in', data.price ? candidates : found)
      .where('pr.currency', '=', data.currency)
      .where('pr.min_quantity', '=', 1)
      .where((eb) => variantConditions(eb as unknown as VariantEb, { ...data, price: undefined }, null))
      .groupBy('v.product_id')
      .execute()
    price = priceRanges(
      lowest.map((r) => Number(r.lowest)),
      data.priceRanges,
    )
  }
  return { options, categories, price }
}

/** The categories `found` are in (directly), with how many each holds. */
async function categoryFacet(db: Executor, found: string[]): Promise<SearchFacets['categories']> {
  const rows = await db
    .selectFrom('cw_category_products as cp')
    .innerJoin('cw_categories as c', 'c.id', 'cp.category_id')
    .select(['c.id', 'c.handle', 'c.title', (eb) => eb.fn.count<number>('cp.product_id').distinct().as('n')])
    .where('cp.product_id', 'in', found)
    .groupBy(['c.id', 'c.handle', 'c.title'])
    .execute()
  return rows.map((c) => ({ id: c.id, handle: c.handle, title: c.title, count: Number(c.n) })).sort((a, b) => b.count - a.count || (a.handle < b.handle ? -1 : 1))
}

/** Counts per range; the bounds given, or five "nice" ranges fitted to the prices. */
function priceRanges(prices: number[], bounds: number[] | undefined): SearchFacets['price'] {
  if (prices.length === 0) return []
  let lows = bounds ? [...new Set(bounds)].sort((a, b) => a - b) : niceBounds(Math.min(...prices), Math.max(...prices))
  if (lows[0]! > 0 && !bounds) lows = [0, ...lows]
  return lows
    .map((min, i) => {
      const max = lows[i + 1] ?? null
      return { min, max, count: prices.filter((p) => p >= min && (max === null || p < max)).length }
    })
    .filter((r) => r.count > 0 || bounds !== undefined)
}

function niceBounds(lowest: number, highest: number): number[] {
  // Whole minor units only: a step of 1, 2 or 5 × 10^k, at least 1.
  const raw = Math.max(1, (highest - lowest) / 5)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude)
  const start = Math.floor(lowest / step) * step
  const bounds: number[] = []
  for (let i = 0; start + i * step <= highest; i++) bounds.push(start + i * step)
  return bounds
}

/** The variant of a hit that passes the filters and holds most of the query's words (the red one for "red"). */
function bestVariant(product: Product, data: Data, words: string[] | null): string | null {
  const passes = product.variants.filter((v) =>
    Object.entries(data.options ?? {}).every(([option, values]) => values.includes((v.options as Record<string, string>)[option] ?? '\u0000')),
  )
  const candidates = passes.length ? passes : product.variants
  if (candidates.length === 0) return null
  if (!words) return candidates[0]!.id
  let best = candidates[0]!
  let bestScore = -1
  for (const v of candidates) {
    const text = ` ${normalizeSearchText([v.sku, v.title, ...Object.values(v.options as Record<string, string>)].join(' '))} `
    const score = words.filter((w) => text.includes(` ${w}`)).length
    if (score > bestScore) {
      best = v
      bestScore = score
    }
  }
  return best.id
}
