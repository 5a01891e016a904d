import type { Kysely } from 'kysely'
import type { CoreDatabase, Executor, Tx } from '../db/database.js'
import type { Runtime } from '../runtime.js'
import { catalogSettings, localeChain, optionField } from './catalog-texts.js'
import { summarizeBatch } from './search-summary.js'

/**
 * The search index: one document per product and locale, written in the transaction that changed
 * the product, so search never sees a product its own transaction has not committed.
 */

/**
 * Text as both storages index it: compatibility-decomposed, accents dropped, lower case, every run
 * of characters that are not letters or digits one space. The engine normalizes documents and
 * queries alike, so SQLite's tokenizer and PostgreSQL's `simple` parser see the same words.
 */
export function normalizeSearchText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
}

/** The most words a query is searched for, and the longest word kept. */
export const MAX_QUERY_WORDS = 12
const MAX_WORD = 64

/** The words of a query, normalized, at most {@link MAX_QUERY_WORDS}; empty when it has none (junk). */
export function queryWords(query: string): string[] {
  const words = normalizeSearchText(query).split(' ').filter(Boolean)
  return [...new Set(words)].slice(0, MAX_QUERY_WORDS).map((w) => w.slice(0, MAX_WORD))
}

/**
 * Reindexes the products a transaction announced as created or updated, before it commits: every
 * write that changes what search reads about a product (texts, tags, variants, option values,
 * translations) announces `product.created` or `product.updated`. Called by `transact`; free for a
 * transaction that announced neither.
 */
export async function reindexChanged(rt: Runtime, tx: Tx, events: ReadonlyArray<{ type: string; payload: unknown }>): Promise<void> {
  let ids: string[] | null = null
  for (const event of events) {
    if (event.type === 'product.created' || event.type === 'product.updated') (ids ??= []).push((event.payload as { productId: string }).productId)
  }
  if (ids) await reindexProducts(rt, tx, ids)
}

/**
 * Writes the search documents and summaries (`search-summary.ts`) of `productIds` afresh from the catalog as `tx` sees it: the
 * product's own texts (locale `''`), and one document per locale it has a translation in
 * (each text in that locale where translated, else its own). A product that no longer exists
 * keeps none.
 */
export async function reindexProducts(rt: Runtime, tx: Tx, productIds: readonly string[]): Promise<void> {
  const ids = [...new Set(productIds)]
  if (ids.length === 0) return
  const defaultLocale = catalogSettings(rt).defaultLocale
  for (let i = 0; i < ids.length; i += 500) {
    await reindexBatch(tx, ids.slice(i, i + 500), defaultLocale)
    await summarizeBatch(tx, ids.slice(i, i + 500))
  }
}

/**
 * Rewrites the documents of `ids` (at most a few hundred). The product's own texts are the document
 * of locale `''`; each locale it has translations in gets its own. `defaultLocale` (null in a
 * migration, which does not know the engine's options) is left out of translation fallbacks.
 * @internal
 */
export async function reindexBatch(tx: Executor | Tx | Kysely<CoreDatabase>, ids: string[], defaultLocale: string | null): Promise<void> {
  await tx.deleteFrom('cw_search_documents').where('product_id', 'in', ids).execute()
  const products = await tx.selectFrom('cw_products').select(['id', 'title', 'description', 'product_type']).where('id', 'in', ids).execute()
  if (products.length === 0) return
  const variants = await tx.selectFrom('cw_variants').select(['id', 'product_id', 'sku', 'title']).where('product_id', 'in', ids).orderBy('position').execute()
  const values = await tx.selectFrom('cw_variant_option_values').select(['product_id', 'variant_id', 'option', 'value']).where('product_id', 'in', ids).execute()
  const tags = await tx.selectFrom('cw_product_tags').select(['product_id', 'name']).where('product_id', 'in', ids).orderBy('position').execute()
  const variantIds = variants.map((v) => v.id)
  const translations = await tx
    .selectFrom('cw_translations')
    .select(['entity_type', 'entity_id', 'locale', 'field', 'value'])
    .where((eb) =>
      eb.or([
        eb.and([eb('entity_type', 'in', ['product', 'option']), eb('entity_id', 'in', ids)]),
        ...(variantIds.length ? [eb.and([eb('entity_type', '=', 'variant'), eb('entity_id', 'in', variantIds)])] : []),
      ]),
    )
    .execute()
  const text = new Map<string, string>()
  const localesOf = new Map<string, Set<string>>()
  const variantProduct = new Map(variants.map((v) => [v.id, v.product_id]))
  for (const t of translations) {
    text.set(`${t.locale}\u0000${t.entity_type}\u0000${t.entity_id}\u0000${t.field}`, t.value)
    const productId = t.entity_type === 'variant' ? variantProduct.get(t.entity_id) : t.entity_id
    if (!productId) continue
    const set = localesOf.get(productId) ?? new Set()
    set.add(t.locale)
    localesOf.set(productId, set)
  }
  const rows: Array<{ product_id: string; locale: string; title: string; body: string }> = []
  for (const product of products) {
    for (const locale of ['', ...[...(localesOf.get(product.id) ?? [])].filter((l) => l !== defaultLocale).sort()]) {
      const chain = locale === '' ? [] : defaultLocale === null ? [locale] : localeChain(locale, defaultLocale)
      const say = (type: string, id: string, field: string, own: string): string => {
        for (const l of chain) {
          const found = text.get(`${l}\u0000${type}\u0000${id}\u0000${field}`)
          if (found !== undefined) return found
        }
        return own
      }
      const mine = variants.filter((v) => v.product_id === product.id)
      const options = values.filter((v) => v.product_id === product.id)
      const seen = new Set<string>()
      const optionTexts: string[] = []
      for (const o of options) {
        const key = `${o.option}\u0000${o.value}`
        if (seen.has(key)) continue
        seen.add(key)
        optionTexts.push(say('option', product.id, optionField(o.option), o.option), say('option', product.id, optionField(o.option, o.value), o.value))
      }
      const body = [
        say('product', product.id, 'description', product.description ?? ''),
        product.product_type ?? '',
        ...tags.filter((t) => t.product_id === product.id).map((t) => t.name),
        ...mine.map((v) => v.sku),
        ...mine.map((v) => say('variant', v.id, 'title', v.title)),
        ...optionTexts,
      ].join(' ')
      rows.push({ product_id: product.id, locale, title: normalizeSearchText(say('product', product.id, 'title', product.title)), body: normalizeSearchText(body) })
    }
  }
  for (let i = 0; i < rows.length; i += 200) await tx.insertInto('cw_search_documents').values(rows.slice(i, i + 200)).execute()
}
