import { sql, type Generated } from 'kysely'
import { reindexBatch } from '../services/search-index.js'
import type { CommerceMigration } from './migrations.js'

/** One searchable text of a product in one locale: `cw_search_documents`. */
export interface SearchDocumentTable {
  id: Generated<number>
  product_id: string
  /** The locale of its texts; `''` for the product's own texts. */
  locale: string
  /** The title, normalized (see `services/search-index.ts`). */
  title: string
  /** Description, type, tags, SKUs, variant titles, option names and values, normalized. */
  body: string
}

/**
 * Full-text search over the catalog: one document per product and locale (the product's own texts
 * under locale `''`, and one per locale it has translations in; existing products are indexed here), normalized by the engine
 * before it is stored (lower case, accents and punctuation removed) so that both storages see the
 * same words.
 *
 * - SQLite: `cw_search_documents` holds the rows; `cw_search_fts`, an FTS5 table over its `title`
 *   and `body` (external content, kept in step by triggers), ranks them with bm25.
 * - PostgreSQL: `cw_search_documents` has a stored `tsv` column (`simple` configuration: no
 *   stemming, as FTS5's tokenizer has none; the title weighted `A`, the rest `B`) under a GIN index.
 */
export const search: CommerceMigration = {
  async up(db, { family }) {
    if (family === 'postgres') {
      await sql`
        create table cw_search_documents (
          id bigserial primary key,
          product_id text not null references cw_products (id) on delete cascade,
          locale text not null,
          title text not null,
          body text not null,
          tsv tsvector generated always as (setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')) stored
        )`.execute(db)
      await sql`create index cw_search_documents_tsv on cw_search_documents using gin (tsv)`.execute(db)
    } else {
      await sql`
        create table cw_search_documents (
          id integer primary key,
          product_id text not null references cw_products (id) on delete cascade,
          locale text not null,
          title text not null,
          body text not null
        )`.execute(db)
      await sql`create virtual table cw_search_fts using fts5(title, body, content = 'cw_search_documents', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2')`.execute(db)
      await sql`create trigger cw_search_documents_ai after insert on cw_search_documents begin
        insert into cw_search_fts (rowid, title, body) values (new.id, new.title, new.body);
      end`.execute(db)
      await sql`create trigger cw_search_documents_ad after delete on cw_search_documents begin
        insert into cw_search_fts (cw_search_fts, rowid, title, body) values ('delete', old.id, old.title, old.body);
      end`.execute(db)
    }
    await db.schema.createIndex('cw_search_documents_product').on('cw_search_documents').columns(['product_id', 'locale']).execute()
    // The products there already are: their own texts (translations too, without the engine's fallback).
    for (let after = ''; ; ) {
      const rows: Array<{ id: string }> = await db.selectFrom('cw_products').select('id').where('id', '>', after).orderBy('id').limit(500).execute()
      if (rows.length === 0) break
      await reindexBatch(db, rows.map((r) => r.id), null)
      after = rows[rows.length - 1]!.id
    }
    // Facets start from the products found: their option values and prices by product and variant.
    // The index by (option, value) goes: without statistics, SQLite preferred it to the products' ids
    // and read every row of an option (a facet of 100 products read 50,000 rows).
    await db.schema.dropIndex('cw_variant_option_values_value').execute()
    await db.schema.createIndex('cw_variant_option_values_product').on('cw_variant_option_values').columns(['product_id', 'option', 'value', 'variant_id']).execute()
    await db.schema.createIndex('cw_prices_variant_currency').on('cw_prices').columns(['variant_id', 'currency', 'min_quantity', 'amount']).execute()
    // Sorting by what sells: the order lines of a product.
    await db.schema.createIndex('cw_order_lines_product').on('cw_order_lines').columns(['product_id', 'quantity']).execute()
  },
}
