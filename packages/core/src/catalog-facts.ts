import { sql, type Kysely } from 'kysely'
import type { Executor } from './db/database.js'
import { collectionMembership } from './services/collection-service.js'

/** What the catalog says about one product, for rules evaluated while a cart is priced. */
export interface ProductFacts {
  /** Its tags, in lower case. */
  tags: string[]
  /** The collections it is in: hand-picked ones, and the rule-based ones asked about (`collectionIds`). */
  collectionIds: string[]
  /** The categories it is listed in. */
  categoryIds: string[]
}

/**
 * The tags, collections and categories of some products, read on `db` (the engine's handle, a
 * plugin's `ctx.db`, or the `db` a price source is given): for a plugin's rules that look at a
 * cart's products while the cart is priced (a promotion on the `sale` tag, a collection), with no
 * call back into the engine. One query for tags, categories and hand-picked collections; rule-based
 * collections are resolved only when named in `collectionIds`, one query each. Every product asked
 * about is in the answer (with empty lists when the catalog knows nothing of it).
 *
 * @example
 * ```ts
 * import { catalogFacts, definePlugin } from '@cartwright/core'
 *
 * const saleTag = definePlugin({
 *   id: 'sale-tag',
 *   init(ctx) {
 *     ctx.hooks.hook('cart.adjust', async ({ cart, adjustments }) => {
 *       const facts = await catalogFacts(ctx.db, cart.lines.map((l) => l.productId))
 *       const onSale = cart.lines.filter((l) => facts.get(l.productId)!.tags.includes('sale'))
 *       const amount = onSale.reduce((sum, l) => sum + Math.floor(l.subtotal / 10), 0)
 *       if (amount > 0) adjustments.push({ code: 'SALE10', label: '10% off sale items', amount, lineIds: onSale.map((l) => l.id) })
 *     })
 *   },
 * })
 * ```
 */
export async function catalogFacts(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>,
  productIds: readonly string[],
  options: { collectionIds?: readonly string[] } = {},
): Promise<Map<string, ProductFacts>> {
  const ids = [...new Set(productIds)]
  const facts = new Map<string, ProductFacts>(ids.map((id) => [id, { tags: [], collectionIds: [], categoryIds: [] }]))
  if (ids.length === 0) return facts
  const core = db as unknown as Executor
  const list = sql.join(ids.map((id) => sql`${id}`))
  const { rows } = await sql<{ product_id: string; kind: string; value: string }>`
    select product_id, 'tag' as kind, tag as value from cw_product_tags where product_id in (${list})
    union all
    select product_id, 'category' as kind, category_id as value from cw_category_products where product_id in (${list})
    union all
    select product_id, 'collection' as kind, collection_id as value from cw_collection_products where product_id in (${list})
  `.execute(core)
  for (const row of rows) {
    const entry = facts.get(row.product_id)
    if (!entry) continue
    if (row.kind === 'tag') entry.tags.push(row.value.toLowerCase())
    else if (row.kind === 'category') entry.categoryIds.push(row.value)
    else entry.collectionIds.push(row.value)
  }
  const asked = [...new Set(options.collectionIds ?? [])]
  if (asked.length) {
    const ruled = await core.selectFrom('cw_collections').select('id').where('id', 'in', asked).where('kind', '=', 'rules').orderBy('id').execute()
    for (const { id } of ruled) {
      const membership = await collectionMembership(core, id)
      if (!membership) continue
      const members = await core
        .selectFrom('cw_products as p')
        .select('p.id')
        .where('p.id', 'in', ids)
        .where((eb) => membership(eb as never))
        .execute()
      for (const m of members) facts.get(m.id)?.collectionIds.push(id)
    }
  }
  for (const entry of facts.values()) {
    entry.tags.sort()
    entry.collectionIds.sort()
    entry.categoryIds.sort()
  }
  return facts
}
