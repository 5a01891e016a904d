import type { CommerceMigration } from './migrations.js'
import { summarizeBatch } from '../services/search-summary.js'

/** One product as search reads it: `cw_search_products` (see {@link searchSummaries}). */
export interface SearchProductTable {
  product_id: string
  /**
   * JSON: what filters and facets read of each variant, in position order, as
   * `{ o: optionNames, x: valuesOfEachOption, c: currencies, v: [manageInventory (0 | 1), value index per option, one-unit amount per currency][] }`.
   */
  facets: string
  /** JSON: the variants' ids, in the order of `facets.v`. */
  variant_ids: string
  /** JSON: `{ variants: Variant[], tags: string[] }`, as `catalog.getProduct` shows them. */
  doc: string
}

/**
 * Search's read model: one row per product with its variants' option values and prices (what
 * filters and facets read) and its variants and tags as the catalog shows them. A search reads one
 * row per candidate product instead of its variant, price and option-value rows (ten to thirty
 * rows a product). The row is rewritten with the search documents, in the transaction of every
 * change a product announces (`product.created`, `product.updated`); stock is not in it, so a
 * checkout never writes it. Existing products are summarized here.
 */
export const searchSummaries: CommerceMigration = {
  async up(db) {
    await db.schema
      .createTable('cw_search_products')
      .addColumn('product_id', 'text', (c) => c.primaryKey().references('cw_products.id').onDelete('cascade'))
      .addColumn('facets', 'text', (c) => c.notNull())
      .addColumn('variant_ids', 'text', (c) => c.notNull())
      .addColumn('doc', 'text', (c) => c.notNull())
      .execute()
    for (let after = ''; ; ) {
      const rows: Array<{ id: string }> = await db.selectFrom('cw_products').select('id').where('id', '>', after).orderBy('id').limit(500).execute()
      if (rows.length === 0) break
      await summarizeBatch(db, rows.map((r) => r.id))
      after = rows[rows.length - 1]!.id
    }
  },
}
