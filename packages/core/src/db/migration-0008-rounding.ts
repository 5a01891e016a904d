import type { CommerceMigration } from './migrations.js'

/**
 * The rounding adjustment carried on an order.
 *
 * - `cw_orders.rounding_total` is what checkout added to the order's total (signed minor units) so
 *   that it is a multiple of the smallest step the payment provider can charge in the order's
 *   currency (`PaymentProvider.chargeStep`): the total is then exactly what the gateway was asked
 *   for. Orders placed before this migration, and orders whose charge needed no rounding, have 0.
 * - `cw_orders.total` keeps the sum of the order's parts (`subtotal - discount_total +
 *   shipping_total + tax_total`, as its check constraint requires; SQLite cannot change a table's
 *   check inside the migration's transaction without rebuilding the table, which its foreign keys
 *   forbid): the order's total as charged, `Order.totals.total`, is `total + rounding_total`.
 */
export const rounding: CommerceMigration = {
  async up(db, { types }) {
    await db.schema
      .alterTable('cw_orders')
      .addColumn('rounding_total', types.money, (c) => c.notNull().defaultTo(0))
      .execute()
  },
}
