import { z } from 'zod'
import { CommerceError } from '../errors.js'
import type { CoreDatabase, Executor, Tx } from '../db/database.js'
import type { Runtime } from '../runtime.js'
import type { Product } from '../types.js'

/**
 * Shared by the catalog's services: locales and translations, handle redirects, and the
 * visibility source shopper listings consult.
 */

/** A BCP 47 language tag (`en`, `de-CH`, `zh-Hant-TW`), canonicalised (`de-ch` → `de-CH`). */
export const localeSchema = z
  .string()
  .min(2)
  .max(35)
  .transform((tag, ctx) => {
    try {
      const [canonical] = Intl.getCanonicalLocales(tag)
      if (canonical) return canonical
    } catch {
      // RangeError: not a well-formed language tag.
    }
    ctx.addIssue({ code: 'custom', message: 'not a BCP 47 language tag (such as en, de-CH)' })
    return z.NEVER
  })

/** Where a shopper listing is shown: the channel is passed on to the {@link VisibilitySource}. */
export interface VisibilityContext {
  /** The channel the caller named (`listProducts({ channel })`), or null. */
  channel: string | null
  locale: string
}

/**
 * Decides which products shoppers may see, beyond their status: the hook the channels feature
 * (per-channel publishing) plugs into. Consulted by every shopper listing (`visibleOnly: true`)
 * after the page is read, so a page may hold fewer items than its `limit`; its `nextCursor` still
 * continues after the last product read.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const published = new Map([['web', new Set(['prod_1'])]])
 * const visibility: VisibilitySource = {
 *   visible: (productIds, { channel }) => productIds.filter((id) => channel === null || published.get(channel)?.has(id)),
 * }
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), catalog: { visibility } })
 * ```
 */
export interface VisibilitySource {
  /** The ids of `productIds` shoppers may see in `context`. */
  visible(productIds: readonly string[], context: VisibilityContext): Iterable<string> | Promise<Iterable<string>>
}

/**
 * `CommerceOptions.catalog`: the locale the catalog's own texts are written in, and the
 * visibility source of shopper listings.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), catalog: { defaultLocale: 'de' } })
 * ```
 */
export interface CatalogOptions {
  /** The locale of the texts products, categories and collections are created with (default `en`): the fallback of every translation. */
  defaultLocale?: string
  visibility?: VisibilitySource
  /**
   * Up to this many candidate products (default 2,000), a search filters, counts and sorts them in
   * memory from search's read model (two queries); above it, each facet is a query over the
   * catalog's tables. Lower it to bound a search's memory, raise it (at most 20,000) to keep broad
   * searches in memory. Both ways give the same results.
   */
  searchInMemory?: number
}

export const catalogOptionsSchema = z
  .strictObject({
    defaultLocale: localeSchema.default('en'),
    visibility: z.custom<VisibilitySource>((v) => typeof (v as VisibilitySource)?.visible === 'function', { message: 'pass an object with visible(productIds, context)' }).optional(),
    searchInMemory: z.number().int().min(0).max(20_000).default(2_000),
  })
  .default({ defaultLocale: 'en', searchInMemory: 2_000 })

/** @internal The parsed catalog options, as the runtime keeps them. */
export interface CatalogSettings {
  defaultLocale: string
  visibility?: VisibilitySource | undefined
  searchInMemory?: number
}

export function catalogSettings(rt: Runtime): CatalogSettings {
  return rt.catalog ?? { defaultLocale: 'en' }
}

/** Entities whose texts can be translated. */
export type TranslatedEntity = 'product' | 'variant' | 'option' | 'category' | 'collection'

/**
 * The locales to look up for `locale`, most specific first, without the default locale (whose
 * texts are the entity's own): `de-CH` → `de-CH`, `de`.
 */
export function localeChain(locale: string, defaultLocale: string): string[] {
  const parts = locale.split('-')
  const chain: string[] = []
  for (let n = parts.length; n >= 1; n--) {
    const tag = parts.slice(0, n).join('-')
    if (tag !== defaultLocale && !chain.includes(tag)) chain.push(tag)
  }
  return chain
}

/** Translated texts: `get(type, id, field)` gives the most specific locale's text, or undefined. */
export interface Texts {
  get(type: TranslatedEntity, id: string, field: string): string | undefined
}

const NONE: Texts = { get: () => undefined }

/** Loads the translations of `entities` in `locale`'s chain, in one query. */
export async function loadTexts(rt: Runtime, db: Executor | Tx, locale: string | undefined, entities: Array<{ type: TranslatedEntity; ids: string[] }>): Promise<Texts> {
  if (!locale) return NONE
  const chain = localeChain(locale, catalogSettings(rt).defaultLocale)
  const wanted = entities.filter((e) => e.ids.length > 0)
  if (chain.length === 0 || wanted.length === 0) return NONE
  const rows = await db
    .selectFrom('cw_translations')
    .select(['entity_type', 'entity_id', 'locale', 'field', 'value'])
    .where('locale', 'in', chain)
    .where((eb) => eb.or(wanted.map((e) => eb.and([eb('entity_type', '=', e.type), eb('entity_id', 'in', e.ids)]))))
    .execute()
  const best = new Map<string, { rank: number; value: string }>()
  for (const row of rows) {
    const k = `${row.entity_type}\u0000${row.entity_id}\u0000${row.field}`
    const rank = chain.indexOf(row.locale)
    const seen = best.get(k)
    if (!seen || rank < seen.rank) best.set(k, { rank, value: row.value })
  }
  return { get: (type, id, field) => best.get(`${type}\u0000${id}\u0000${field}`)?.value }
}

/** The translation field of an option's name, or of one of its values (unambiguous for any name or value). */
export function optionField(option: string, value?: string): string {
  return value === undefined ? JSON.stringify(['name', option]) : JSON.stringify(['value', option, value])
}

/** `product` with its texts in the locale `texts` were loaded for, field by field, falling back to its own. */
export function translateProduct(product: Product, texts: Texts): Product {
  return {
    ...product,
    title: texts.get('product', product.id, 'title') ?? product.title,
    description: texts.get('product', product.id, 'description') ?? product.description,
    options: product.options.map((o) => ({
      name: texts.get('option', product.id, optionField(o.name)) ?? o.name,
      values: o.values.map((v) => texts.get('option', product.id, optionField(o.name, v)) ?? v),
    })),
    variants: product.variants.map((v) => ({ ...v, title: texts.get('variant', v.id, 'title') ?? v.title })),
  }
}

/** Products shoppers may see of `ids`, per the visibility source (all of them without one). */
export async function visibleIds(rt: Runtime, ids: readonly string[], context: VisibilityContext): Promise<Set<string>> {
  const source = catalogSettings(rt).visibility
  if (!source || ids.length === 0) return new Set(ids)
  try {
    return new Set(await source.visible(ids, context))
  } catch (error) {
    throw new CommerceError('PROVIDER', `The catalog's visibility source failed: ${String((error as Error)?.message ?? error)}`, { cause: error, details: { source: 'visibility' } })
  }
}

/** Kinds of entity a handle belongs to. */
export type HandleEntity = 'product' | 'category' | 'collection'

const HANDLE_TABLES = { product: 'cw_products', category: 'cw_categories', collection: 'cw_collections' } as const

/**
 * The row of the entity with this id, handle or old handle (a redirect), or undefined: the one
 * lookup behind `catalog.getProduct`, `categories.get` and `collections.get`.
 */
export async function rowByIdOrHandle<T extends HandleEntity>(db: Executor | Tx, type: T, key: string): Promise<CoreDatabase[(typeof HANDLE_TABLES)[T]] | undefined> {
  // One shape of query for the three tables: id, handle, then the redirects.
  const table = HANDLE_TABLES[type] as 'cw_products'
  let row = await db.selectFrom(table).selectAll().where((eb) => eb.or([eb('id', '=', key), eb('handle', '=', key)])).executeTakeFirst()
  if (!row) {
    const target = await redirectOf(db, type, key)
    if (target !== undefined) row = await db.selectFrom(table).selectAll().where('id', '=', target).executeTakeFirst()
  }
  return row as CoreDatabase[(typeof HANDLE_TABLES)[T]] | undefined
}

/** The id a redirect of `handle` leads to, or undefined. */
export async function redirectOf(db: Executor | Tx, type: HandleEntity, handle: string): Promise<string | undefined> {
  const row = await db.selectFrom('cw_handle_redirects').select('entity_id').where('entity_type', '=', type).where('handle', '=', handle).executeTakeFirst()
  return row?.entity_id
}

/**
 * Before an entity takes `handle`: a handle that redirects to another entity is taken
 * (`CONFLICT` naming `handle`, until that redirect is dropped); one that redirects to this
 * entity (its own old handle, taken back) is dropped.
 */
export async function claimHandle(tx: Tx, type: HandleEntity, handle: string, id: string | null): Promise<void> {
  const target = await redirectOf(tx, type, handle)
  if (target === undefined) return
  if (target === id) {
    await tx.deleteFrom('cw_handle_redirects').where('entity_type', '=', type).where('handle', '=', handle).execute()
    return
  }
  throw new CommerceError('CONFLICT', `The handle ${JSON.stringify(handle)} redirects to another ${type}; drop the redirect first`, {
    details: { conflicts: [{ field: 'handle', value: handle }], fields: ['handle'], redirectsTo: target },
  })
}

/** After an entity's handle changed from `old`: the old handle keeps resolving to it. */
export async function keepRedirect(tx: Tx, type: HandleEntity, old: string, id: string, now: string): Promise<void> {
  await tx.insertInto('cw_handle_redirects').values({ entity_type: type, handle: old, entity_id: id, created_at: now }).execute()
}
