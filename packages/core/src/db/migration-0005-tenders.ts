import type { CommerceMigration } from './migrations.js'

/**
 * An order can be paid by several payments: the checkout's gateway payment and tenders that
 * plugins contribute at claim (a gift card, store credit). `kind` tells them apart; every payment
 * before this migration is the checkout's gateway payment.
 *
 * `claim_events` holds the events plugins announced while a checkout claimed its cart: they reach
 * the outbox when the order is placed, and are dropped if the claim is declined.
 */
export const tenders: CommerceMigration = {
  async up(db) {
    await db.schema
      .alterTable('cw_payments')
      .addColumn('kind', 'text', (c) => c.notNull().defaultTo('gateway'))
      .execute()
    await db.schema.alterTable('cw_payments').addColumn('claim_events', 'text').execute()
  },
}
