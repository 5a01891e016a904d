import { sql } from 'kysely'
import type { Timestamp } from './database.js'
import type { CommerceMigration } from './migrations.js'

/** A row of `cw_media`: a reference to one image of a product (see {@link media}). */
export interface MediaTable {
  id: string
  product_id: string
  variant_id: string | null
  position: number
  alt: string | null
  width: number | null
  height: number | null
  content_type: string | null
  size: number | null
  storage_key: string | null
  url: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

/**
 * Media references: the catalog keeps where an image is, not its bytes.
 *
 * - `cw_media` holds one image of a product, or of one of its variants (`variant_id`), at a
 *   `position` in the product's one order (0, 1, 2… with no gaps), with its alt text and
 *   dimensions. Either `storage_key` (a file the engine stored through the `MediaStore`, under a
 *   key made from ids) or `url` (an image hosted elsewhere) is set, never neither.
 * - Removing a product or a variant removes its references (cascade); the files stay in the store.
 */
export const media: CommerceMigration = {
  async up(db, { types }) {
    await db.schema
      .createTable('cw_media')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('product_id', 'text', (c) => c.notNull().references('cw_products.id').onDelete('cascade'))
      .addColumn('variant_id', 'text', (c) => c.references('cw_variants.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('alt', 'text')
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('content_type', 'text')
      .addColumn('size', 'integer')
      .addColumn('storage_key', 'text', (c) => c.unique())
      .addColumn('url', 'text')
      .addColumn('created_at', types.timestamp, (c) => c.notNull())
      .addColumn('updated_at', types.timestamp, (c) => c.notNull())
      .addCheckConstraint('cw_media_source', sql`storage_key is not null or url is not null`)
      .execute()
    await db.schema.createIndex('cw_media_product').on('cw_media').columns(['product_id', 'position']).execute()
    await db.schema.createIndex('cw_media_variant').on('cw_media').column('variant_id').execute()
  },
}
