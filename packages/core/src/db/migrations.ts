import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import type { Clock } from '../clock.js'
import { CommerceError } from '../errors.js'
import type { SqlFamily } from '../ports/storage-adapter.js'
import { paymentOperations } from './migration-0002-payment-operations.js'
import { accessTokens } from './migration-0003-access-tokens.js'
import { orderAdjustments } from './migration-0004-order-adjustments.js'
import { tenders } from './migration-0005-tenders.js'
import { customerActions } from './migration-0006-customer-actions.js'
import { orderHolds } from './migration-0007-order-holds.js'
import { rounding } from './migration-0008-rounding.js'
import { inventoryPolicies } from './migration-0009-inventory-policies.js'
import { media } from './migration-0010-media.js'
import { catalogStructure } from './migration-0011-catalog-structure.js'
import { search } from './migration-0012-search.js'
import { searchSummaries } from './migration-0013-search-summaries.js'
import { channels } from './migration-0014-channels.js'
import { draftOrders } from './migration-0015-draft-orders.js'
import { taxViews } from './migration-0016-tax-views.js'

/** Column types that differ between the SQL families. */
export interface ColumnTypes {
  money: 'bigint'
  timestamp: 'timestamptz' | 'text'
}

/** A schema migration written once for both families; `types` picks the dialect's column types. */
export interface CommerceMigration {
  up(db: Kysely<any>, context: { family: SqlFamily; types: ColumnTypes }): Promise<void>
  down?(db: Kysely<any>, context: { family: SqlFamily; types: ColumnTypes }): Promise<void>
}

export function columnTypes(family: SqlFamily): ColumnTypes {
  return { money: 'bigint', timestamp: family === 'postgres' ? 'timestamptz' : 'text' }
}

const initial: CommerceMigration = {
  async up(db, { family, types }) {
    const ts = types.timestamp
    await db.schema
      .createTable('cw_products')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('handle', 'text', (c) => c.notNull().unique())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('options', 'text', (c) => c.notNull())
      .addColumn('metadata', 'text')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('cw_variants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('product_id', 'text', (c) => c.notNull().references('cw_products.id').onDelete('cascade'))
      .addColumn('sku', 'text', (c) => c.notNull().unique())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('options', 'text', (c) => c.notNull())
      .addColumn('weight_grams', 'integer')
      .addColumn('manage_inventory', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await db.schema.createIndex('cw_variants_product').on('cw_variants').column('product_id').execute()
    await db.schema
      .createTable('cw_prices')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('variant_id', 'text', (c) => c.notNull().references('cw_variants.id').onDelete('cascade'))
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('amount', types.money, (c) => c.notNull().check(sql`amount >= 0`))
      .addColumn('min_quantity', 'integer', (c) => c.notNull().defaultTo(1))
      .addUniqueConstraint('cw_prices_tier', ['variant_id', 'currency', 'min_quantity'])
      .execute()
    await db.schema
      .createTable('cw_stock_locations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull().unique())
      .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('cw_inventory_levels')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('variant_id', 'text', (c) => c.notNull().references('cw_variants.id').onDelete('cascade'))
      .addColumn('location_id', 'text', (c) => c.notNull().references('cw_stock_locations.id'))
      .addColumn('on_hand', 'integer', (c) => c.notNull())
      .addColumn('reserved', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('low_stock_threshold', 'integer')
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addUniqueConstraint('cw_inventory_levels_variant_location', ['variant_id', 'location_id'])
      // Invariant 1: available = on_hand - reserved is never negative, whatever the code above does.
      .addCheckConstraint('cw_inventory_levels_available', sql`reserved >= 0 and on_hand >= reserved`)
      .execute()
    await db.schema
      .createTable('cw_reservations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('variant_id', 'text', (c) => c.notNull())
      .addColumn('location_id', 'text', (c) => c.notNull())
      .addColumn('level_id', 'text', (c) => c.notNull().references('cw_inventory_levels.id'))
      .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
      .addColumn('cart_id', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute()
    await db.schema.createIndex('cw_reservations_cart').on('cw_reservations').column('cart_id').execute()
    await db.schema.createIndex('cw_reservations_order').on('cw_reservations').column('order_id').execute()
    await db.schema.createIndex('cw_reservations_level').on('cw_reservations').columns(['level_id', 'status']).execute()
    await db.schema
      .createTable('cw_carts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('email', 'text')
      .addColumn('customer_id', 'text')
      .addColumn('shipping_address', 'text')
      .addColumn('billing_address', 'text')
      .addColumn('shipping_option_id', 'text')
      .addColumn('checkout', 'text')
      .addColumn('order_id', 'text')
      .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('metadata', 'text')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('cw_cart_lines')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cart_id', 'text', (c) => c.notNull().references('cw_carts.id').onDelete('cascade'))
      .addColumn('variant_id', 'text', (c) => c.notNull().references('cw_variants.id'))
      .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
      .addColumn('created_at', ts, (c) => c.notNull())
      .addUniqueConstraint('cw_cart_lines_variant', ['cart_id', 'variant_id'])
      .execute()
    await db.schema
      .createTable('cw_payments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cart_id', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('amount', types.money, (c) => c.notNull())
      .addColumn('authorized_amount', types.money, (c) => c.notNull().defaultTo(0))
      .addColumn('captured_amount', types.money, (c) => c.notNull().defaultTo(0))
      .addColumn('refunded_amount', types.money, (c) => c.notNull().defaultTo(0))
      .addColumn('reference', 'text')
      .addColumn('failure', 'text')
      .addColumn('lease_until', ts)
      .addColumn('data', 'text')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      // Invariant 4: captured <= authorized, refunded <= captured.
      .addCheckConstraint(
        'cw_payments_amounts',
        sql`captured_amount >= 0 and captured_amount <= authorized_amount and refunded_amount >= 0 and refunded_amount <= captured_amount`,
      )
      .execute()
    await db.schema.createIndex('cw_payments_cart').on('cw_payments').column('cart_id').execute()
    await db.schema.createIndex('cw_payments_order').on('cw_payments').column('order_id').execute()
    await db.schema
      .createTable('cw_orders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('number', 'integer', (c) => c.notNull().unique())
      // Invariant 3: one cart, at most one order.
      .addColumn('cart_id', 'text', (c) => c.notNull().unique())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('payment_status', 'text', (c) => c.notNull())
      .addColumn('fulfillment_status', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text')
      .addColumn('shipping_address', 'text')
      .addColumn('billing_address', 'text')
      .addColumn('shipping_method', 'text')
      .addColumn('subtotal', types.money, (c) => c.notNull())
      .addColumn('discount_total', types.money, (c) => c.notNull())
      .addColumn('shipping_total', types.money, (c) => c.notNull())
      .addColumn('tax_total', types.money, (c) => c.notNull())
      .addColumn('total', types.money, (c) => c.notNull())
      .addColumn('metadata', 'text')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addColumn('canceled_at', ts)
      .addCheckConstraint('cw_orders_total', sql`total = subtotal - discount_total + shipping_total + tax_total and total >= 0`)
      .execute()
    await db.schema.createIndex('cw_orders_created').on('cw_orders').columns(['created_at', 'id']).execute()
    await db.schema.createIndex('cw_orders_customer').on('cw_orders').column('customer_id').execute()
    await db.schema
      .createTable('cw_order_lines')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().references('cw_orders.id').onDelete('cascade'))
      .addColumn('variant_id', 'text', (c) => c.notNull())
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('variant_title', 'text', (c) => c.notNull())
      .addColumn('quantity', 'integer', (c) => c.notNull())
      .addColumn('unit_price', types.money, (c) => c.notNull())
      .addColumn('subtotal', types.money, (c) => c.notNull())
      .addColumn('discount_total', types.money, (c) => c.notNull())
      .addColumn('tax_total', types.money, (c) => c.notNull())
      .addColumn('total', types.money, (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('cw_order_lines_order').on('cw_order_lines').column('order_id').execute()
    await db.schema
      .createTable('cw_outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('cw_outbox_deliveries')
      .addColumn('id', family === 'postgres' ? 'bigserial' : 'integer', (c) =>
        family === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('event_id', 'text', (c) => c.notNull().references('cw_outbox.id').onDelete('cascade'))
      .addColumn('subscriber', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', ts, (c) => c.notNull())
      .addColumn('locked_until', ts)
      .addColumn('locked_by', 'text')
      .addColumn('last_error', 'text')
      .addColumn('delivered_at', ts)
      .addUniqueConstraint('cw_outbox_deliveries_event_subscriber', ['event_id', 'subscriber'])
      .execute()
    await db.schema
      .createIndex('cw_outbox_deliveries_due')
      .on('cw_outbox_deliveries')
      .columns(['status', 'next_attempt_at'])
      .execute()
    await db.schema
      .createTable('cw_counters')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', types.money, (c) => c.notNull())
      .execute()
    if (family === 'postgres') {
      await sql`create sequence if not exists cw_order_number_seq start with 1001`.execute(db)
    } else {
      await db.insertInto('cw_counters').values({ name: 'order_number', value: 1000 }).execute()
    }
  },
}

/** Core's migrations, in order. Names are permanent once released. */
export const coreMigrations: Record<string, CommerceMigration> = {
  '0001_initial': initial,
  '0002_payment_operations': paymentOperations,
  '0003_access_tokens': accessTokens,
  '0004_order_adjustments': orderAdjustments,
  '0005_tenders': tenders,
  '0006_customer_actions': customerActions,
  '0007_order_holds': orderHolds,
  '0008_rounding': rounding,
  '0009_inventory_policies': inventoryPolicies,
  '0010_media': media,
  '0011_catalog_structure': catalogStructure,
  '0012_search': search,
  '0013_search_summaries': searchSummaries,
  '0014_channels': channels,
  '0015_draft_orders': draftOrders,
  '0016_tax_views': taxViews,
}

function provider(migrations: Record<string, CommerceMigration>, family: SqlFamily): MigrationProvider {
  const types = columnTypes(family)
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {}
      for (const [name, m] of Object.entries(migrations)) {
        out[name] = {
          up: (db) => m.up(db, { family, types }),
          ...(m.down ? { down: (db: Kysely<any>) => m.down!(db, { family, types }) } : {}),
        }
      }
      return out
    },
  }
}

/**
 * Brings a schema up to date. Each owner (core, or a plugin by id) has its own
 * migration history table, so plugins can add tables without touching core's list.
 */
export async function migrateToLatest(
  db: Kysely<any>,
  family: SqlFamily,
  owner: string,
  migrations: Record<string, CommerceMigration>,
  clock?: Pick<Clock, 'now'>,
): Promise<void> {
  const suffix = owner === 'core' ? '' : `_${owner.replace(/[^a-z0-9_]/gi, '_')}`
  const migrator = new Migrator({
    db,
    provider: provider(migrations, family),
    migrationTableName: `cw_migrations${suffix}`,
    migrationLockTableName: `cw_migrations_lock${suffix}`,
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    const reason = String((error as Error)?.message ?? error)
    // Without a failed migration the storage failed before any ran: opening it, or reading the history.
    const message = failed
      ? `Migration ${failed.migrationName} of ${owner} failed: ${reason}`
      : `Could not migrate ${owner}'s tables: the storage failed before any migration ran (opening the database or reading cw_migrations${suffix}): ${reason}`
    throw new CommerceError('STORAGE', message, {
      cause: error,
      details: { owner, migration: failed?.migrationName ?? null },
    })
  }
  // kysely stamps each migration it ran with the wall clock; the engine's clock decides instead,
  // so that a run on a virtual clock writes no wall time.
  const ran = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
  if (clock && ran.length > 0) {
    await db.updateTable(`cw_migrations${suffix}`).set({ timestamp: clock.now().toISOString() }).where('name', 'in', ran).execute()
  }
}
