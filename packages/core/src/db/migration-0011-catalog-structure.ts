import { sql } from 'kysely'
import type { CommerceMigration } from './migrations.js'

/**
 * The catalog's structure: categories, collections, tags, product types, attributes, compare-at
 * prices, handle redirects, translations, and variant option values in rows.
 *
 * Everything search and facets filter on is a column or a row, never a JSON blob: tags
 * (`cw_product_tags`), the product type (`cw_products.product_type`), categories
 * (`cw_category_products`) and option values (`cw_variant_option_values`, kept in step with
 * `cw_variants.options` on every write, backfilled here for existing variants).
 *
 * - `cw_categories`: a tree by `parent_id`, siblings ordered by `position`; `handle` unique.
 * - `cw_category_products`, `cw_collection_products`: products in a category or a hand-picked
 *   collection, ordered by `position`.
 * - `cw_collection_rules`: the rules of a rule-based collection, one row each, combined by the
 *   collection's `match_mode` (`all` or `any`).
 * - `cw_handle_redirects`: a handle an entity (`product`, `category`, `collection`) used to have,
 *   resolving to it, unique per entity type.
 * - `cw_translations`: one text per (entity type, entity id, locale, field).
 */
export const catalogStructure: CommerceMigration = {
  async up(db, { types }) {
    const ts = types.timestamp
    await db.schema.alterTable('cw_products').addColumn('product_type', 'text').execute()
    await db.schema.alterTable('cw_products').addColumn('material', 'text').execute()
    await db.schema.alterTable('cw_products').addColumn('hs_code', 'text').execute()
    await db.schema.alterTable('cw_products').addColumn('country_of_origin', 'text').execute()
    await db.schema.createIndex('cw_products_type').on('cw_products').column('product_type').execute()
    await db.schema.alterTable('cw_variants').addColumn('length_mm', 'integer').execute()
    await db.schema.alterTable('cw_variants').addColumn('width_mm', 'integer').execute()
    await db.schema.alterTable('cw_variants').addColumn('height_mm', 'integer').execute()
    await db.schema.alterTable('cw_prices').addColumn('compare_at_amount', types.money).execute()

    await db.schema
      .createTable('cw_product_tags')
      .addColumn('product_id', 'text', (c) => c.notNull().references('cw_products.id').onDelete('cascade'))
      // Lower case: the tag's identity; `name` keeps the merchant's spelling.
      .addColumn('tag', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('cw_product_tags_pk', ['product_id', 'tag'])
      .execute()
    await db.schema.createIndex('cw_product_tags_tag').on('cw_product_tags').columns(['tag', 'product_id']).execute()

    await db.schema
      .createTable('cw_variant_option_values')
      .addColumn('variant_id', 'text', (c) => c.notNull().references('cw_variants.id').onDelete('cascade'))
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('option', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('cw_variant_option_values_pk', ['variant_id', 'option'])
      .execute()
    await db.schema.createIndex('cw_variant_option_values_value').on('cw_variant_option_values').columns(['option', 'value', 'product_id']).execute()
    // Backfill: existing variants' option values, from the JSON they were written with.
    const variants = await db.selectFrom('cw_variants').select(['id', 'product_id', 'options']).execute()
    const rows = variants.flatMap((v: { id: string; product_id: string; options: string }) =>
      Object.entries(JSON.parse(v.options) as Record<string, string>).map(([option, value]) => ({ variant_id: v.id, product_id: v.product_id, option, value })),
    )
    for (let i = 0; i < rows.length; i += 500) await db.insertInto('cw_variant_option_values').values(rows.slice(i, i + 500)).execute()

    await db.schema
      .createTable('cw_categories')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('handle', 'text', (c) => c.notNull().unique())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('parent_id', 'text', (c) => c.references('cw_categories.id'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await db.schema.createIndex('cw_categories_parent').on('cw_categories').columns(['parent_id', 'position']).execute()
    await db.schema
      .createTable('cw_category_products')
      .addColumn('category_id', 'text', (c) => c.notNull().references('cw_categories.id').onDelete('cascade'))
      .addColumn('product_id', 'text', (c) => c.notNull().references('cw_products.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('cw_category_products_pk', ['category_id', 'product_id'])
      .execute()
    await db.schema.createIndex('cw_category_products_order').on('cw_category_products').columns(['category_id', 'position', 'product_id']).execute()
    await db.schema.createIndex('cw_category_products_product').on('cw_category_products').column('product_id').execute()

    await db.schema
      .createTable('cw_collections')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('handle', 'text', (c) => c.notNull().unique())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('manual', 'rules')`))
      .addColumn('match_mode', 'text', (c) => c.notNull().check(sql`match_mode in ('all', 'any')`))
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('cw_collection_products')
      .addColumn('collection_id', 'text', (c) => c.notNull().references('cw_collections.id').onDelete('cascade'))
      .addColumn('product_id', 'text', (c) => c.notNull().references('cw_products.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('cw_collection_products_pk', ['collection_id', 'product_id'])
      .execute()
    await db.schema.createIndex('cw_collection_products_order').on('cw_collection_products').columns(['collection_id', 'position', 'product_id']).execute()
    await db.schema.createIndex('cw_collection_products_product').on('cw_collection_products').column('product_id').execute()
    await db.schema
      .createTable('cw_collection_rules')
      .addColumn('collection_id', 'text', (c) => c.notNull().references('cw_collections.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('field', 'text', (c) => c.notNull().check(sql`field in ('tag', 'type', 'price', 'option')`))
      .addColumn('option', 'text')
      .addColumn('value', 'text')
      .addColumn('currency', 'text')
      .addColumn('min_amount', types.money)
      .addColumn('max_amount', types.money)
      .addPrimaryKeyConstraint('cw_collection_rules_pk', ['collection_id', 'position'])
      .execute()

    await db.schema
      .createTable('cw_handle_redirects')
      .addColumn('entity_type', 'text', (c) => c.notNull())
      .addColumn('handle', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('cw_handle_redirects_pk', ['entity_type', 'handle'])
      .execute()
    await db.schema.createIndex('cw_handle_redirects_entity').on('cw_handle_redirects').columns(['entity_type', 'entity_id']).execute()

    await db.schema
      .createTable('cw_translations')
      .addColumn('entity_type', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'text', (c) => c.notNull())
      .addColumn('locale', 'text', (c) => c.notNull())
      .addColumn('field', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('cw_translations_pk', ['entity_type', 'entity_id', 'locale', 'field'])
      .execute()
  },
}
