import { sql } from 'kysely'
import type { CommerceMigration } from './migrations.js'

/**
 * An order keeps the discounts it was placed with (`cw_order_adjustments`): one row per adjustment
 * per order line it took money off, and one row (`line_id` null) for an adjustment on shipping.
 * `position` is the adjustment's place among the cart's adjustments, so the rows of one adjustment
 * share it. Rows are written in the placement transaction and never changed.
 *
 * Orders placed before this migration get no rows: their lines' `discount_total` is all that was
 * kept of their discounts, and what made them up cannot be recovered. `cw_orders.total` keeps its
 * meaning (`subtotal - discount_total + shipping_total + tax_total`): `discount_total` now also
 * counts discounts on shipping, and `shipping_total` stays the shipping amount before them.
 */
export const orderAdjustments: CommerceMigration = {
  async up(db, { types }) {
    await db.schema
      .createTable('cw_order_adjustments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('cw_orders.id').onDelete('cascade'))
      .addColumn('line_id', 'text', (c) => c.references('cw_order_lines.id').onDelete('cascade'))
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('amount', types.money, (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      // A row is money taken off one line, or off shipping: never nothing, never a surcharge.
      .addCheckConstraint(
        'cw_order_adjustments_target',
        sql`amount > 0 and ((target = 'lines' and line_id is not null) or (target = 'shipping' and line_id is null))`,
      )
      .execute()
    await db.schema.createIndex('cw_order_adjustments_order').on('cw_order_adjustments').column('order_id').execute()
  },
}
