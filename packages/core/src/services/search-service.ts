import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely'
import { z } from 'zod'
import type { CoreDatabase, Executor } from '../db/database.js'
import { iso } from '../db/rows.js'
import { validationError } from '../errors.js'
import { read, type Runtime } from '../runtime.js'
import type { Product } from '../types.js'
import { fields, parseInput } from '../validation.js'
import { catalogSettings, localeChain, localeSchema, visibleIds } from './catalog-texts.js'
import { channelLocations, coreChannelId } from './channel-service.js'
import { collectionMembership } from './collection-service.js'
import { normalizeSearchText, queryWords } from './search-index.js'
import { summarizedProducts, type FacetRow } from './search-summary.js'

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
 * price facet's ranges, in minor units (default: five ranges fitted to the results). `channel`: a
 * core sales channel's code or id finds only the products published to it; any channel name is
 * also passed to the catalog's visibility source.
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
type Data = z.output<typeof searchSchema> & {
  now: string
  /** The stock locations of the core channel searched in, for `inStock`; null: every location. */
  locations: string[] | null
}
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
 * search over the same normalized words (lower case, accents dropped), every word required, the
 * last one a prefix, as a shopper types (`trail run` finds `Trail Runner`); the title weighs most. A query of no words (only punctuation or
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
    const data: Data = { ...parseInput(searchSchema, input, 'search'), now: this.#rt.now().toISOString(), locations: null }
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
      // In a core channel, "in stock" means at the channel's stock locations: what its carts can reserve.
      if (data.inStock && data.channel) data.locations = await channelLocations(db, await coreChannelId(db, data.channel))
      // Once: the products the words and product-level filters let through (with their score),
      // then those with a variant that passes the variant-level filters. Everything after reads
      // from these ids, so the text match and the category tree are evaluated once per search.
      const candidates = await candidateProducts(rt, db, data, words ? matchQuery(rt, words, locale) : null)
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
      if (candidates.size > 0 && candidates.size <= inMemoryLimit(rt)) {
        // Few products (a category page, a narrow search): read their variants once and filter,
        // count and sort them here — four small reads instead of a query per facet.
        const view = await variantView(db, data, candidates)
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
      const byId = new Map((await summarizedProducts(db, pageIds, rt, data.locale)).map((p) => [p.id, p]))
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
      // Products without a price in the currency last, either way (as the in-memory path sorts them).
      q = q.orderBy((eb) => sql`case when (${lowest(eb)}) is null then 1 else 0 end`).orderBy((eb) => lowest(eb), sort === 'price_asc' ? 'asc' : 'desc')
    }
    const rows = await q.orderBy('p.created_at', 'desc').orderBy('p.id').limit(data.limit).offset(offset).execute()
    return rows.map((r) => r.id)
  }
}

/** The most products a search considers (the best matches first): a bound on the ids it carries between queries. */
export const MAX_CANDIDATES = 20_000

/** A candidate product: its score for the words, when it was made, and its facet row (JSON) when the search is in memory. */
interface Candidate {
  score: number
  createdAt: string
  facets: string | null
  /** JSON `[[id, handle, title], …]`: the categories it is in (directly); read with the facet row. */
  categories: string | null
}

/**
 * Products the words (when given) and the product-level filters let through, with their score. Up
 * to the in-memory limit (`CommerceOptions.catalog.searchInMemory`) come with their facet rows, read in the same query; more are
 * read again without them.
 */
async function candidateProducts(rt: Runtime, db: Executor, data: Data, matched: ReturnType<typeof matchQuery> | null): Promise<Map<string, Candidate>> {
  // A collection, hand-picked or by rules: its membership as a condition (an unknown one holds nothing).
  const member = data.collectionId ? await collectionMembership(db, data.collectionId) : undefined
  if (member === null) return new Map()
  // A core sales channel: only the products published to it (the visibility source still applies).
  const channelId = await coreChannelId(db, data.channel)
  const postgres = rt.storage.family === 'postgres'
  const query = (withFacets: boolean, limit: number) => {
    // PostgreSQL: the matches once (materialized), and the products fetched by their ids — left to
    // itself the planner reads every product to join a hundred.
    let q =
      matched && postgres
        ? db
            .with((cte) => cte('m').materialized(), () => matched as never)
            .selectFrom('cw_products as p')
            .innerJoin(sql<{ id: string; score: number }>`m`.as('m'), 'm.id', 'p.id')
            .where(sql<SqlBool>`p.id = any(array(select id from m))`)
            .select(['p.id', 'p.created_at'])
        : db.selectFrom('cw_products as p').select(['p.id', 'p.created_at'])
    if (withFacets) q = q.leftJoin('cw_search_products as s', 's.product_id', 'p.id').select(['s.facets', categoriesOf(rt).as('categories')])
    if (matched && !postgres) q = q.innerJoin(matched.as('m'), 'm.id', 'p.id')
    if (matched) q = q.select(sql<number>`m.score`.as('score'))
    q = q.where((eb) => productConditions(eb, data))
    if (member) q = q.where((eb) => member(eb as never))
    if (channelId) q = q.where('p.id', 'in', (eb) => eb.selectFrom('cw_channel_products as cp').select('cp.product_id').where('cp.channel_id', '=', channelId))
    q = matched ? q.orderBy(sql`m.score`, 'desc') : q.orderBy('p.created_at', 'desc')
    return q.orderBy('p.id').limit(limit).execute() as Promise<Array<{ id: string; created_at: unknown; score?: number; facets?: string | null; categories?: string | null }>>
  }
  const limit = inMemoryLimit(rt)
  let rows = limit > 0 ? await query(true, limit + 1) : []
  if (limit === 0 || rows.length > limit) rows = await query(false, MAX_CANDIDATES)
  return new Map(rows.map((r) => [r.id, { score: Number(r.score ?? 0), createdAt: iso(r.created_at as string | Date), facets: r.facets ?? null, categories: r.categories ?? null }]))
}

/** The categories a product (`p`) is in, directly, as JSON `[[id, handle, title], …]` (null or `[]`: none). */
function categoriesOf(rt: Runtime) {
  return rt.storage.family === 'postgres'
    ? sql<string | null>`(select json_agg(json_build_array(c.id, c.handle, c.title))::text from cw_categories c where c.id = any(array(select cp.category_id from cw_category_products cp where cp.product_id = p.id)))`
    : sql<string | null>`(select json_group_array(json_array(c.id, c.handle, c.title)) from cw_category_products cp join cw_categories c on c.id = cp.category_id where cp.product_id = p.id)`
}

/** Up to this many candidate products, a search filters, counts and sorts their variants in memory (`CommerceOptions.catalog.searchInMemory`). */
const inMemoryLimit = (rt: Runtime): number => catalogSettings(rt).searchInMemory ?? 2_000

/**
 * The variants of the candidates as the filters see them (from their facet rows): which pass every
 * variant-level filter, or every one but an option's own; the products found; each one's lowest
 * passing price; and the facets, counted from the same rows, so that the SQL path and this one agree.
 */
async function variantView(db: Executor, data: Data, candidates: Map<string, Candidate>) {
  const filters = Object.entries(data.options ?? {})
  const products: ViewProduct[] = []
  for (const [id, candidate] of candidates) {
    if (candidate.facets === null) continue
    const row = JSON.parse(candidate.facets) as FacetRow
    const wanted = filters.map(([option, values]) => {
      const at = row.o.indexOf(option)
      return { option, at, ok: at < 0 ? [] : row.x[at]!.map((value) => values.includes(value)) }
    })
    products.push({ id, row, currency: data.currency ? row.c.indexOf(data.currency) : -1, wanted, sellable: null, pass: [] })
  }
  if (data.inStock) await readSellable(db, data, products)
  const amountOf = (p: ViewProduct, v: number): number | null => (p.currency < 0 ? null : (p.row.v[v]![2][p.currency] ?? null))
  // Everything but the options: price and stock.
  const base = (p: ViewProduct, v: number, withPrice: boolean): boolean => {
    if (data.price && withPrice) {
      const amount = amountOf(p, v)
      if (amount === null) return false
      if (data.price.min !== undefined && amount < data.price.min) return false
      if (data.price.max !== undefined && amount > data.price.max) return false
    }
    if (data.inStock && p.row.v[v]![0] !== 0 && !(p.sellable![v]! > 0)) return false
    return true
  }
  const passes = (p: ViewProduct, v: number, except: string | null, withPrice = true): boolean =>
    base(p, v, withPrice) && p.wanted.every((w) => w.option === except || (w.at >= 0 && w.ok[p.row.v[v]![1][w.at]!] === true))
  const found: string[] = []
  const lowest = new Map<string, number>()
  for (const p of products) {
    p.pass = p.row.v.map((_, v) => passes(p, v, null))
    if (!p.pass.includes(true)) continue
    found.push(p.id)
    for (let v = 0; v < p.pass.length; v++) {
      const amount = p.pass[v] ? amountOf(p, v) : null
      if (amount !== null && !(amount >= (lowest.get(p.id) ?? Infinity))) lowest.set(p.id, amount)
    }
  }
  return {
    found,
    lowest,
    async facets(): Promise<SearchFacets> {
      const counted = new Map<string, Map<string, number>>()
      const filtered = new Set(filters.map(([option]) => option))
      for (const p of products) {
        p.row.o.forEach((option, at) => {
          // Each value of the option this product has a counted variant in, once per product;
          // an option's counts hold under every filter but its own.
          const seen = new Set<number>()
          for (let v = 0; v < p.row.v.length; v++) {
            const value = p.row.v[v]![1][at]!
            if (value < 0 || seen.has(value)) continue
            if (filtered.has(option) ? passes(p, v, option) : p.pass[v]) seen.add(value)
          }
          if (seen.size === 0) return
          const byValue = counted.get(option) ?? new Map<string, number>()
          for (const value of seen) byValue.set(p.row.x[at]![value]!, (byValue.get(p.row.x[at]![value]!) ?? 0) + 1)
          counted.set(option, byValue)
        })
      }
      const options: SearchFacets['options'] = {}
      for (const [option, byValue] of counted) {
        options[option] = [...byValue]
          .map(([value, count]) => ({ value, count }))
          .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
      }
      if (found.length === 0) return { options, categories: [], price: [] }
      // The categories the products found are in, from their candidate rows (the same counts as categoryFacet's).
      const byCategory = new Map<string, { id: string; handle: string; title: string; count: number }>()
      for (const id of found) {
        const listed = candidates.get(id)!.categories
        for (const [categoryId, handle, title] of listed === null ? [] : (JSON.parse(listed) as Array<[string, string, string]>)) {
          const entry = byCategory.get(categoryId) ?? { id: categoryId, handle, title, count: 0 }
          entry.count++
          byCategory.set(categoryId, entry)
        }
      }
      const categories = sortCategories([...byCategory.values()])
      // The price facet, like an option's, holds under every filter but its own (the price range):
      // each product's lowest price among its variants that pass the other filters.
      const unpriced: number[] = []
      if (data.currency) {
        for (const p of products) {
          let low = Infinity
          for (let v = 0; v < p.row.v.length; v++) {
            const amount = amountOf(p, v)
            if (amount !== null && amount < low && passes(p, v, null, false)) low = amount
          }
          if (low !== Infinity) unpriced.push(low)
        }
      }
      const price = data.currency ? priceRanges(unpriced, data.priceRanges) : []
      return { options, categories, price }
    },
  }
}

/** A candidate as the in-memory path filters it: its facet row, the search's currency and option filters resolved against it. */
interface ViewProduct {
  id: string
  row: FacetRow
  /** The search's currency among the row's (`row.c`); -1: none asked for, or no price in it. */
  currency: number
  /** Per option filter: where the option is in `row.o` (-1: the product has no such option), and which of its values are wanted. */
  wanted: Array<{ option: string; at: number; ok: boolean[] }>
  /** Per variant, what it can sell now (read only when stock matters). */
  sellable: number[] | null
  /** Per variant, whether it passes every filter. */
  pass: boolean[]
}

/** What each variant of `products` that tracks stock can sell now: stock, and an allowance that still applies. */
async function readSellable(db: Executor, data: Data, products: ViewProduct[]): Promise<void> {
  // Stock is not in the summary (a checkout would rewrite it). The variants' ids are, apart.
  const idsOf = new Map<string, string[]>()
  for (let i = 0; i < products.length; i += 1000) {
    const rows = await db
      .selectFrom('cw_search_products')
      .select(['product_id', 'variant_ids'])
      .where('product_id', 'in', products.slice(i, i + 1000).map((p) => p.id))
      .execute()
    for (const row of rows) idsOf.set(row.product_id, JSON.parse(row.variant_ids) as string[])
  }
  const tracked = products.flatMap((p) => (idsOf.get(p.id) ?? []).filter((_, v) => p.row.v[v]?.[0] !== 0))
  const sellable = new Map<string, number>()
  for (let i = 0; i < tracked.length; i += 5000) {
    const rows = await db
      .selectFrom('cw_inventory_levels as il')
      .select([
        'il.variant_id',
        sql<number>`sum(il.on_hand - il.reserved + case when il.allowance_until is null or il.allowance_until > ${data.now} then il.backorder_allowance else 0 end)`.as('sellable'),
      ])
      .where('il.variant_id', 'in', tracked.slice(i, i + 5000))
      .$if(data.locations !== null, (q) => q.where('il.location_id', 'in', data.locations!))
      .groupBy('il.variant_id')
      .execute()
    for (const row of rows) sellable.set(row.variant_id, Number(row.sellable))
  }
  for (const p of products) {
    const ids = idsOf.get(p.id) ?? []
    p.sellable = p.row.v.map((_, v) => (ids[v] === undefined ? 0 : (sellable.get(ids[v]!) ?? 0)))
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

/**
 * The products matching every word, with their best score in the locale's documents (higher is
 * better). The full-text index finds the documents; the score is the same SQL on both storages, so
 * both rank alike: each word the title holds counts 10, each the rest of the document holds 1
 * (the last word as a prefix there too). Ties go to the newest product.
 */
function matchQuery(rt: Runtime, words: string[], locale: string) {
  // The locale's documents (most specific first) and the products' own texts ('').
  const locales = [...new Set([...localeChain(locale, catalogSettings(rt).defaultLocale), ''])]
  const postgres = rt.storage.family === 'postgres'
  // Titles are normalized: words between single spaces. A word is in the title when ' word ' is in
  // ' title ' (the last word: when ' word' is, as a prefix).
  const inTitle = (w: string, last: boolean) =>
    postgres ? sql`strpos(' ' || d.title || ' ', ${last ? ` ${w}` : ` ${w} `}) > 0` : sql`instr(' ' || d.title || ' ', ${last ? ` ${w}` : ` ${w} `}) > 0`
  const score = sql.join(
    words.map((w, i) => sql`(case when ${inTitle(w, i === words.length - 1)} then 10 else 1 end)`),
    sql` + `,
  )
  if (postgres) {
    // Words are letters and digits only (normalized): every one required, the last a prefix.
    const tsquery = words.map((w, i) => (i === words.length - 1 ? `${w}:*` : w)).join(' & ')
    return sql<{ id: string; score: number }>`(select d.product_id as id, max(${score}) as score
      from cw_search_documents d
      where d.tsv @@ to_tsquery('simple', ${tsquery}) and d.locale in (${sql.join(locales)})
      group by d.product_id)`
  }
  const match = words.map((w, i) => (i === words.length - 1 ? `"${w}"*` : `"${w}"`)).join(' ')
  return sql<{ id: string; score: number }>`(select d.product_id as id, max(${score}) as score
    from cw_search_documents d
    where d.id in (select rowid from cw_search_fts where cw_search_fts match ${match}) and d.locale in (${sql.join(locales)})
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
            .whereRef('il.variant_id', '=', 'v.id')
            .$if(data.locations !== null, (q) => q.where('il.location_id', 'in', data.locations!)),
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
  return sortCategories(rows.map((c) => ({ id: c.id, handle: c.handle, title: c.title, count: Number(c.n) })))
}

/** Most products first, then by handle. */
function sortCategories(list: SearchFacets['categories']): SearchFacets['categories'] {
  return list.sort((a, b) => b.count - a.count || (a.handle < b.handle ? -1 : 1))
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
