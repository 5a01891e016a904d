import { sql } from 'kysely'
import type { CommerceMigration } from './migrations.js'

/**
 * Tax-inclusive prices, tax classes and tax lines (docs/pricing.md, "Tax").
 *
 * - `cw_variants.tax_class`: the variant's tax class (null: the tax provider's default).
 * - `cw_prices.tax_inclusive`: 1 when the price was entered with tax, 0 without, null (every price
 *   before this migration): the cart's convention.
 * - `cw_orders` keeps its amounts **without tax** in `subtotal`, `discount_total` and
 *   `shipping_total`, so that its check `total = subtotal - discount_total + shipping_total +
 *   tax_total` holds for every order, tax-inclusive or not. Beside them: `tax_inclusive` (the
 *   convention the order was priced in) and the amounts **with tax** (`gross_subtotal`,
 *   `gross_discount_total`, `gross_shipping_total`), held by a second check: `total =
 *   gross_subtotal - gross_discount_total + gross_shipping_total`. `shipping_tax_lines` is the
 *   JSON array of the shipping charge's tax lines.
 * - `cw_order_lines` keeps `unit_price`, `subtotal` and `discount_total` in the line's convention
 *   (`tax_inclusive`) and `total` with tax, as `LineItem` shows them; beside them the amounts without
 *   and with tax (`net_*`, `gross_*`), its `tax_class` and its `tax_lines` (JSON array).
 *
 * Tax lines are JSON on the rows they belong to, not a table: a checkout writes no extra rows or
 * index entries for them. Orders placed before this migration were tax-exclusive and kept one tax
 * amount per line: their gross amounts are filled in as net plus that tax (a line's discount counted
 * without tax), and they have no tax lines (`[]`).
 */
export const taxViews: CommerceMigration = {
  async up(db, { family, types }) {
    await db.schema.alterTable('cw_variants').addColumn('tax_class', 'text').execute()
    await db.schema.alterTable('cw_prices').addColumn('tax_inclusive', 'integer').execute()

    for (const column of ['net_subtotal', 'net_discount_total', 'gross_subtotal', 'gross_discount_total'] as const) {
      await db.schema.alterTable('cw_order_lines').addColumn(column, types.money).execute()
    }
    await db.schema.alterTable('cw_order_lines').addColumn('tax_inclusive', 'integer', (c) => c.notNull().defaultTo(0)).execute()
    await db.schema.alterTable('cw_order_lines').addColumn('tax_class', 'text').execute()
    await db.schema.alterTable('cw_order_lines').addColumn('tax_lines', 'text').execute()
    await sql`update cw_order_lines set net_subtotal = subtotal, net_discount_total = discount_total, gross_subtotal = subtotal + tax_total, gross_discount_total = discount_total`.execute(db)

    await db.schema.alterTable('cw_orders').addColumn('tax_inclusive', 'integer', (c) => c.notNull().defaultTo(0)).execute()
    await db.schema.alterTable('cw_orders').addColumn('shipping_tax_lines', 'text').execute()
    await db.schema.alterTable('cw_orders').addColumn('gross_subtotal', types.money).execute()
    await db.schema.alterTable('cw_orders').addColumn('gross_discount_total', types.money).execute()
    const check = sql`gross_subtotal is null or total = gross_subtotal - gross_discount_total + gross_shipping_total`
    if (family === 'sqlite') {
      // SQLite adds a check only with a column; it may read the row's other columns.
      await db.schema.alterTable('cw_orders').addColumn('gross_shipping_total', types.money, (c) => c.check(check)).execute()
    } else {
      await db.schema.alterTable('cw_orders').addColumn('gross_shipping_total', types.money).execute()
    }
    // Orders before: line taxes on the lines, the rest of the order's tax on shipping.
    await sql`update cw_orders set
        gross_subtotal = subtotal + coalesce((select sum(l.tax_total) from cw_order_lines l where l.order_id = cw_orders.id), 0),
        gross_discount_total = discount_total,
        gross_shipping_total = shipping_total + tax_total - coalesce((select sum(l.tax_total) from cw_order_lines l where l.order_id = cw_orders.id), 0)`.execute(db)
    if (family === 'postgres') await db.schema.alterTable('cw_orders').addCheckConstraint('cw_orders_gross_total', check).execute()
  },
}
