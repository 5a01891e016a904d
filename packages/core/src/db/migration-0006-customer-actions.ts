import { sql } from 'kysely'
import type { CommerceMigration } from './migrations.js'

/**
 * Payments that wait for the shopper, gateway notifications, and the lease of background work.
 *
 * - `cw_payments.action` (JSON) is what the storefront needs for the shopper to confirm a payment
 *   (a redirect URL, a client secret) and `action_until` the deadline after which recovery gives
 *   the attempt up; both are set while a payment is `requires_action`. `dispute` (JSON) is the
 *   payment's latest chargeback as the gateway reported it.
 * - `cw_payment_events` records each gateway notification once, under (provider, event id), in
 *   the transaction that applies it: a repeat finds its row and changes nothing. An event for a
 *   payment reference not known yet is kept (`unmatched`) until the payment appears.
 * - `cw_leases` holds named leases over work that one process at a time should do, such as the
 *   scheduled recovery of checkouts and payment operations.
 */
export const customerActions: CommerceMigration = {
  async up(db, { types }) {
    const ts = types.timestamp
    await db.schema.alterTable('cw_payments').addColumn('action', 'text').execute()
    await db.schema.alterTable('cw_payments').addColumn('action_until', ts).execute()
    await db.schema.alterTable('cw_payments').addColumn('dispute', 'text').execute()
    // Gateway notifications name a payment by the gateway's reference (a checkout in flight has none yet).
    await db.schema
      .createIndex('cw_payments_reference')
      .on('cw_payments')
      .columns(['provider', 'reference'])
      .where(sql.ref('reference'), 'is not', null)
      .execute()
    // Recovery finds customer actions past their deadline. Partial: a checkout that never waits for
    // the shopper never writes to it.
    await db.schema
      .createIndex('cw_payments_waiting')
      .on('cw_payments')
      .column('action_until')
      .where(sql.ref('status'), '=', 'requires_action')
      .execute()
    await db.schema
      .createTable('cw_payment_events')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('reference', 'text', (c) => c.notNull())
      .addColumn('payment_id', 'text')
      .addColumn('operation_id', 'text')
      .addColumn('amount', types.money)
      .addColumn('currency', 'text')
      .addColumn('reason', 'text')
      .addColumn('occurred_at', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('received_at', ts, (c) => c.notNull())
      .addColumn('applied_at', ts)
      .addPrimaryKeyConstraint('cw_payment_events_pk', ['provider', 'event_id'])
      .execute()
    await db.schema.createIndex('cw_payment_events_reference').on('cw_payment_events').columns(['provider', 'reference']).execute()
    await db.schema.createIndex('cw_payment_events_outcome').on('cw_payment_events').columns(['outcome', 'received_at']).execute()
    await db.schema.createIndex('cw_payment_events_payment').on('cw_payment_events').columns(['payment_id', 'operation_id']).execute()
    await db.schema
      .createTable('cw_leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('lease_until', ts, (c) => c.notNull())
      .execute()
  },
}
