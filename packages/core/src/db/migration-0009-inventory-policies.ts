import { sql } from 'kysely'
import type { CommerceMigration } from './migrations.js'

/**
 * Selling beyond stock: a variant's inventory policy, and the allowance its stock levels may go
 * below zero by.
 *
 * - `cw_variants.inventory_policy` is `deny` (the default: never below zero), `backorder` or
 *   `preorder`; `backorder_limit` is the allowance (null: none for a backorder, unlimited for a
 *   preorder) and `available_at` the date a preorder's goods arrive.
 * - `cw_inventory_levels.backorder_allowance` is how far `on_hand - reserved` may go below zero at
 *   that level, and `allowance_until` the moment the allowance stops applying to new reservations
 *   (a preorder's `available_at`; null: no end). They are copied from the variant's policy to each
 *   of its levels by `inventory.setPolicy`, so that the single conditional write that reserves and
 *   the check constraint read them on the row they guard. The check constraint
 *   `cw_inventory_levels_available` becomes `reserved >= 0 and on_hand >= 0 and
 *   on_hand - reserved >= -backorder_allowance`: with an allowance of 0 it is the old rule.
 * - `cw_reservations.beyond_stock` is how many of a reservation's units were not on hand when it
 *   was made; `cw_order_lines.beyond_stock`, `stock_policy` and `available_at` snapshot it per
 *   order line.
 *
 * SQLite cannot change a check constraint in place: the levels table is rebuilt (the documented
 * twelve-step procedure, with foreign keys off; kysely runs SQLite migrations outside a
 * transaction, so this one opens its own).
 */
export const inventoryPolicies: CommerceMigration = {
  async up(db, { family, types }) {
    const ts = types.timestamp
    await db.schema
      .alterTable('cw_variants')
      .addColumn('inventory_policy', 'text', (c) => c.notNull().defaultTo('deny').check(sql`inventory_policy in ('deny', 'backorder', 'preorder')`))
      .execute()
    await db.schema.alterTable('cw_variants').addColumn('backorder_limit', 'integer', (c) => c.check(sql`backorder_limit >= 0`)).execute()
    await db.schema.alterTable('cw_variants').addColumn('available_at', ts).execute()
    await db.schema.alterTable('cw_reservations').addColumn('beyond_stock', 'integer', (c) => c.notNull().defaultTo(0)).execute()
    await db.schema.alterTable('cw_order_lines').addColumn('beyond_stock', 'integer', (c) => c.notNull().defaultTo(0)).execute()
    await db.schema.alterTable('cw_order_lines').addColumn('stock_policy', 'text').execute()
    await db.schema.alterTable('cw_order_lines').addColumn('available_at', ts).execute()
    const available = sql`reserved >= 0 and on_hand >= 0 and backorder_allowance >= 0 and on_hand - reserved >= -backorder_allowance`
    if (family === 'postgres') {
      await db.schema.alterTable('cw_inventory_levels').addColumn('backorder_allowance', 'integer', (c) => c.notNull().defaultTo(0)).execute()
      await db.schema.alterTable('cw_inventory_levels').addColumn('allowance_until', ts).execute()
      await db.schema.alterTable('cw_inventory_levels').dropConstraint('cw_inventory_levels_available').execute()
      await db.schema.alterTable('cw_inventory_levels').addCheckConstraint('cw_inventory_levels_available', available).execute()
      return
    }
    await sql`pragma foreign_keys = off`.execute(db)
    try {
      await sql`begin immediate`.execute(db)
      try {
        await db.schema
          .createTable('cw_inventory_levels_0009')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('variant_id', 'text', (c) => c.notNull().references('cw_variants.id').onDelete('cascade'))
          .addColumn('location_id', 'text', (c) => c.notNull().references('cw_stock_locations.id'))
          .addColumn('on_hand', 'integer', (c) => c.notNull())
          .addColumn('reserved', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('low_stock_threshold', 'integer')
          .addColumn('updated_at', ts, (c) => c.notNull())
          .addColumn('backorder_allowance', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('allowance_until', ts)
          .addUniqueConstraint('cw_inventory_levels_variant_location', ['variant_id', 'location_id'])
          .addCheckConstraint('cw_inventory_levels_available', available)
          .execute()
        await sql`insert into cw_inventory_levels_0009 (id, variant_id, location_id, on_hand, reserved, low_stock_threshold, updated_at)
          select id, variant_id, location_id, on_hand, reserved, low_stock_threshold, updated_at from cw_inventory_levels`.execute(db)
        await sql`drop table cw_inventory_levels`.execute(db)
        await sql`alter table cw_inventory_levels_0009 rename to cw_inventory_levels`.execute(db)
        const broken = await sql`pragma foreign_key_check`.execute(db)
        if (broken.rows.length > 0) throw new Error(`foreign keys broken by rebuilding cw_inventory_levels: ${JSON.stringify(broken.rows.slice(0, 3))}`)
        await sql`commit`.execute(db)
      } catch (error) {
        await sql`rollback`.execute(db)
        throw error
      }
    } finally {
      await sql`pragma foreign_keys = on`.execute(db)
    }
  },
}
