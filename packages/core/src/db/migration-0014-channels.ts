import { sql } from 'kysely'
import type { CommerceMigration } from './migrations.js'

/** A sales channel (`commerce.channels`): see {@link channels}. */
export interface ChannelTable {
  id: string
  /** Unique, lower case (`web`, `pos`, `marketplace-x`). */
  code: string
  name: string
  /** JSON: ISO 4217 codes, at least one; the first is the channel's default. */
  currencies: string
  /** JSON: BCP 47 tags, possibly none; the first is the channel's default. */
  locales: string
  /** 1: prices are shown and charged tax-inclusive in this channel by default; 0: exclusive. */
  tax_inclusive: number
  /** JSON: the stock locations the channel sells from; `[]`: every location. */
  stock_location_ids: string
  /** 1: carts may be opened in the channel; 0: refused. */
  active: number
  created_at: string | Date
  updated_at: string | Date
}

/** A product published to a channel. */
export interface ChannelProductTable {
  channel_id: string
  product_id: string
  created_at: string | Date
}

/**
 * Sales channels: `cw_channels`, the products published to each (`cw_channel_products`, one row
 * per channel and product), and the channel a cart and an order belong to (`cw_carts.channel_id`,
 * `cw_orders.channel_id`, null for those made without one). A cart also keeps the channel's
 * tax-inclusive setting as it was when the cart was opened (`cw_carts.tax_inclusive`).
 */
export const channels: CommerceMigration = {
  async up(db, { types }) {
    const ts = types.timestamp
    await db.schema
      .createTable('cw_channels')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('code', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('currencies', 'text', (c) => c.notNull())
      .addColumn('locales', 'text', (c) => c.notNull())
      .addColumn('tax_inclusive', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('stock_location_ids', 'text', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await db.schema.createIndex('cw_channels_created').on('cw_channels').columns(['created_at', 'id']).execute()
    await db.schema
      .createTable('cw_channel_products')
      .addColumn('channel_id', 'text', (c) => c.notNull().references('cw_channels.id').onDelete('cascade'))
      .addColumn('product_id', 'text', (c) => c.notNull().references('cw_products.id').onDelete('cascade'))
      .addColumn('created_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('cw_channel_products_pk', ['channel_id', 'product_id'])
      .execute()
    await db.schema.createIndex('cw_channel_products_product').on('cw_channel_products').column('product_id').execute()
    await db.schema.alterTable('cw_carts').addColumn('channel_id', 'text').execute()
    await db.schema.alterTable('cw_carts').addColumn('tax_inclusive', 'integer').execute()
    await db.schema.alterTable('cw_orders').addColumn('channel_id', 'text').execute()
    // Partial: an order placed without a channel (every order of a shop without channels) writes no index entry.
    await db.schema
      .createIndex('cw_orders_channel')
      .on('cw_orders')
      .columns(['channel_id', 'created_at'])
      .where(sql.ref('channel_id'), 'is not', null)
      .execute()
  },
}
