import { sql } from 'kysely'
import type { CommerceMigration } from './migrations.js'

/**
 * Orders held for review, and the fingerprint of a checkout's request.
 *
 * - `cw_orders.hold_reason` and `held_at` are set while an order is held for review (by a
 *   `checkout.risk` hook when it was placed, or by staff): its payment is authorized but cannot be
 *   captured, nor the order fulfilled, until staff release it (`orders.release`, which clears
 *   both) or cancel it. An order canceled while held keeps them.
 * - `cw_payments.request_digest` is the SHA-256 of what a `checkout.complete` call asked for (its
 *   provider and payment data), so that the same idempotency key sent with another body is a
 *   `CONFLICT` rather than an answer for a request that was never made. Payments recorded before
 *   this migration have none, and are matched on their cart and provider only, as before.
 */
export const orderHolds: CommerceMigration = {
  async up(db, { types }) {
    await db.schema.alterTable('cw_orders').addColumn('hold_reason', 'text').execute()
    await db.schema.alterTable('cw_orders').addColumn('held_at', types.timestamp).execute()
    // The review queue: orders held, oldest first. Partial: an order placed without a hold (nearly
    // every one) never writes to it.
    await db.schema
      .createIndex('cw_orders_held')
      .on('cw_orders')
      .columns(['held_at', 'id'])
      .where(sql.ref('held_at'), 'is not', null)
      .execute()
    await db.schema.alterTable('cw_payments').addColumn('request_digest', 'text').execute()
  },
}
