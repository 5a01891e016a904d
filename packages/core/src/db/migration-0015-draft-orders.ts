import { sql } from 'kysely'
import type { CommerceMigration } from './migrations.js'

/**
 * Staff-made orders (`commerce.drafts`): a draft is a cart made by staff. `cw_carts` gains what
 * marks one — `kind` (`draft`; null for a shopper's cart, every cart before this migration),
 * `created_by` (the staff member), `draft_status` (`open`, `expired`, `discarded`) and
 * `expires_at` (until when its stock is held) — and `cw_cart_lines.price_override` the price staff
 * set for a line, which `cw_order_lines.price_override` keeps on the order line it becomes (JSON:
 * `{ unitPrice, from, reason, by, at }`). Every column is nullable and written only for drafts, so
 * a shopper's checkout writes what it wrote before.
 */
export const draftOrders: CommerceMigration = {
  async up(db, { types }) {
    await db.schema.alterTable('cw_carts').addColumn('kind', 'text').execute()
    await db.schema.alterTable('cw_carts').addColumn('created_by', 'text').execute()
    await db.schema.alterTable('cw_carts').addColumn('draft_status', 'text').execute()
    await db.schema.alterTable('cw_carts').addColumn('expires_at', types.timestamp).execute()
    await db.schema.alterTable('cw_cart_lines').addColumn('price_override', 'text').execute()
    await db.schema.alterTable('cw_order_lines').addColumn('price_override', 'text').execute()
    // Drafts only: the expiry sweep reads open drafts by their expiry; shoppers' carts write no entry.
    await db.schema
      .createIndex('cw_carts_draft_expiry')
      .on('cw_carts')
      .columns(['draft_status', 'expires_at'])
      .where(sql.ref('kind'), '=', 'draft')
      .execute()
  },
}
