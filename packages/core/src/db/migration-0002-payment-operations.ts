import { sql } from 'kysely'
import type { CommerceMigration } from './migrations.js'

/**
 * Captures, voids and refunds become rows of their own (`cw_payment_operations`), each with the
 * gateway key it is sent with and, when the caller gave one, the caller's idempotency key. A
 * payment's `captured_amount` and `refunded_amount` now count only what the gateway confirmed;
 * money in flight is the sum of its pending operations.
 *
 * 0.1.0 kept a canceled order's pending void or refund as the payment status `canceling`; each
 * such payment becomes a pending operation sent with the gateway key 0.1.0 used (`<payment>:cancel`),
 * so that the gateway replays the first call instead of moving money twice.
 *
 * Money 0.1.0 moved gets operations too, marked succeeded, so that every captured, refunded or
 * voided amount is explained by operations: a capture under 0.1.0's key (`<payment>:capture`), the
 * refunds as one operation (0.1.0 kept no record of each), and a void under `<payment>:cancel`.
 *
 * An order fulfilled with its payment captured is `completed` from now on; 0.1.0 left such orders
 * `placed`, and they are brought in line.
 */
export const paymentOperations: CommerceMigration = {
  async up(db, { types }) {
    const ts = types.timestamp
    await db.schema
      .createTable('cw_payment_operations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('payment_id', 'text', (c) => c.notNull().references('cw_payments.id'))
      .addColumn('order_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('amount', types.money, (c) => c.notNull().check(sql`amount >= 0`))
      .addColumn('status', 'text', (c) => c.notNull())
      // The caller's key (the operation's id when the caller gave none): one operation per key.
      .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
      // The key the gateway sees; the same for every retry of this operation.
      .addColumn('gateway_key', 'text', (c) => c.notNull().unique())
      .addColumn('reason', 'text')
      .addColumn('reference', 'text')
      .addColumn('failure', 'text')
      .addColumn('lease_until', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await db.schema.createIndex('cw_payment_operations_payment').on('cw_payment_operations').columns(['payment_id', 'status']).execute()
    await db.schema.createIndex('cw_payment_operations_pending').on('cw_payment_operations').columns(['status', 'lease_until']).execute()

    const canceling = await db
      .selectFrom('cw_payments')
      .select(['id', 'order_id', 'failure', 'authorized_amount', 'captured_amount', 'refunded_amount', 'updated_at'])
      .where('status', '=', 'canceling')
      .execute()
    for (const p of canceling) {
      const refund = p.failure === 'refund'
      const id = `pop_legacy_${p.id}`
      await db
        .insertInto('cw_payment_operations')
        .values({
          id,
          payment_id: p.id,
          order_id: p.order_id,
          kind: refund ? 'refund' : 'void',
          amount: refund ? Number(p.captured_amount) - Number(p.refunded_amount) : Number(p.authorized_amount),
          status: 'pending',
          idempotency_key: id,
          gateway_key: `${p.id}:cancel`,
          reason: 'order canceled',
          reference: null,
          failure: null,
          lease_until: null,
          created_at: p.updated_at,
          updated_at: p.updated_at,
        })
        .execute()
      const status = !refund ? 'authorized' : Number(p.refunded_amount) > 0 ? 'partially_refunded' : 'captured'
      await db.updateTable('cw_payments').set({ status, failure: null }).where('id', '=', p.id).execute()
      await db.updateTable('cw_orders').set({ payment_status: status }).where('id', '=', p.order_id).execute()
    }
    const moved = await db
      .selectFrom('cw_payments')
      .select(['id', 'order_id', 'status', 'authorized_amount', 'captured_amount', 'refunded_amount', 'updated_at'])
      .where((eb) => eb.or([eb('captured_amount', '>', 0), eb('refunded_amount', '>', 0), eb('status', '=', 'voided')]))
      .execute()
    for (const p of moved) {
      const done = (kind: string, amount: number, key: string) =>
        db
          .insertInto('cw_payment_operations')
          .values({
            id: `pop_legacy_${kind}_${p.id}`,
            payment_id: p.id,
            order_id: p.order_id,
            kind,
            amount,
            status: 'succeeded',
            idempotency_key: key,
            gateway_key: key,
            reason: 'recorded by 0.1.0',
            reference: null,
            failure: null,
            lease_until: null,
            created_at: p.updated_at,
            updated_at: p.updated_at,
          })
          .execute()
      if (Number(p.captured_amount) > 0) await done('capture', Number(p.captured_amount), `${p.id}:capture`)
      if (Number(p.refunded_amount) > 0) await done('refund', Number(p.refunded_amount), `${p.id}:refunds-0.1.0`)
      if (p.status === 'voided') await done('void', Number(p.authorized_amount), `${p.id}:cancel`)
    }
    await db
      .updateTable('cw_orders')
      .set({ status: 'completed' })
      .where('status', '=', 'placed')
      .where('fulfillment_status', '=', 'fulfilled')
      .where('payment_status', 'in', ['captured', 'partially_refunded', 'refunded'])
      .execute()
  },
}
