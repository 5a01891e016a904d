import { sql } from 'kysely'
import type { CommerceMigration } from '@cartwright/core'

/**
 * The gift-card plugin's tables (prefix `gift_cards_`), for a host's own read queries. Amounts are
 * minor units (`bigint`: read them with `Number()` on PostgreSQL).
 *
 * @example
 * ```ts
 * import type { Kysely } from 'kysely'
 *
 * declare const db: Kysely<GiftCardTables>
 * const outstanding = await db.selectFrom('gift_cards_cards').select(['currency', (eb) => eb.fn.sum('balance').as('total')]).groupBy('currency').execute()
 * ```
 */
export interface GiftCardTables {
  /** One row per card. `balance >= 0` is a check constraint: no update can overdraw a card. */
  gift_cards_cards: {
    id: string
    /** SHA-256 of the normalized code, hex; unique. The code itself is never stored. */
    code_hash: string
    last4: string
    currency: string
    initial_amount: number | string
    balance: number | string
    status: 'active' | 'disabled'
    source: 'staff' | 'order'
    note: string | null
    email: string | null
    order_id: string | null
    /** The staff call's key (`issue`) or `sale:<id>` for a sold card; unique. */
    idempotency_key: string | null
    expires_at: string | Date | null
    disabled_reason: string | null
    created_at: string | Date
    updated_at: string | Date
  }
  /** Every movement of every balance, signed; a card's rows add up to its balance. */
  gift_cards_ledger: {
    id: string
    card_id: string
    kind: 'issue' | 'redeem' | 'release' | 'refund' | 'adjust'
    amount: number | string
    payment_id: string | null
    order_id: string | null
    /** `refund:<key>` or `adjust:<key>`: what makes a repeated refund or adjustment a replay; unique. */
    key: string | null
    reason: string | null
    created_at: string | Date
  }
  /** The cards applied to open carts, in the order they pay (`position`). */
  gift_cards_applied: {
    cart_id: string
    card_id: string
    amount: number | string | null
    position: number
    created_at: string | Date
  }
  /** What each checkout's claim took from each card, by the checkout's payment id. */
  gift_cards_holds: {
    payment_id: string
    card_id: string
    cart_id: string
    amount: number | string
    order_id: string | null
    status: 'held' | 'placed' | 'released'
    created_at: string | Date
  }
  /** Variants sold as gift cards, with their fixed values per currency (JSON), if any. */
  gift_cards_products: {
    variant_id: string
    amounts: string | null
    expires_in_days: number | null
    created_at: string | Date
  }
  /** One row per gift-card unit sold: pending until its order is paid, then issued (or void). */
  gift_cards_sales: {
    id: string
    order_id: string
    line_id: string
    unit: number
    currency: string
    amount: number | string
    email: string | null
    expires_in_days: number | null
    status: 'pending' | 'issued' | 'void'
    card_id: string | null
    created_at: string | Date
    updated_at: string | Date
  }
}

/** The plugin's migrations: one history (`cw_migrations_gift-cards`), the same on SQLite and PostgreSQL. */
export const giftCardMigrations: Record<string, CommerceMigration> = {
  '0001_gift_cards': {
    async up(db, { types }) {
      const ts = types.timestamp
      await db.schema
        .createTable('gift_cards_cards')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('code_hash', 'text', (c) => c.notNull().unique())
        .addColumn('last4', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('initial_amount', types.money, (c) => c.notNull())
        .addColumn('balance', types.money, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('email', 'text')
        .addColumn('order_id', 'text')
        .addColumn('idempotency_key', 'text', (c) => c.unique())
        .addColumn('expires_at', ts)
        .addColumn('disabled_reason', 'text')
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        // The last line of defence: whatever a bug in the conditional updates, a card is never overdrawn.
        .addCheckConstraint('gift_cards_cards_balance_nonnegative', sql`balance >= 0`)
        .addCheckConstraint('gift_cards_cards_status', sql`status in ('active', 'disabled')`)
        .execute()
      await db.schema.createIndex('gift_cards_cards_email').on('gift_cards_cards').column('email').execute()
      await db.schema
        .createTable('gift_cards_ledger')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('card_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('amount', types.money, (c) => c.notNull())
        .addColumn('payment_id', 'text')
        .addColumn('order_id', 'text')
        .addColumn('key', 'text', (c) => c.unique())
        .addColumn('reason', 'text')
        .addColumn('created_at', ts, (c) => c.notNull())
        .addCheckConstraint('gift_cards_ledger_kind', sql`kind in ('issue', 'redeem', 'release', 'refund', 'adjust')`)
        .execute()
      await db.schema.createIndex('gift_cards_ledger_card').on('gift_cards_ledger').columns(['card_id', 'id']).execute()
      await db.schema.createIndex('gift_cards_ledger_payment').on('gift_cards_ledger').column('payment_id').execute()
      await db.schema
        .createTable('gift_cards_applied')
        .addColumn('cart_id', 'text', (c) => c.notNull())
        .addColumn('card_id', 'text', (c) => c.notNull())
        .addColumn('amount', types.money)
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('gift_cards_applied_pk', ['cart_id', 'card_id'])
        .execute()
      await db.schema
        .createTable('gift_cards_holds')
        .addColumn('payment_id', 'text', (c) => c.notNull())
        .addColumn('card_id', 'text', (c) => c.notNull())
        .addColumn('cart_id', 'text', (c) => c.notNull())
        .addColumn('amount', types.money, (c) => c.notNull())
        .addColumn('order_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('gift_cards_holds_pk', ['payment_id', 'card_id'])
        .execute()
      await db.schema
        .createTable('gift_cards_products')
        .addColumn('variant_id', 'text', (c) => c.primaryKey())
        .addColumn('amounts', 'text')
        .addColumn('expires_in_days', 'integer')
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('gift_cards_sales')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('order_id', 'text', (c) => c.notNull())
        .addColumn('line_id', 'text', (c) => c.notNull())
        .addColumn('unit', 'integer', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('amount', types.money, (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('expires_in_days', 'integer')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('card_id', 'text')
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addUniqueConstraint('gift_cards_sales_unit', ['order_id', 'line_id', 'unit'])
        .execute()
    },
  },
}
