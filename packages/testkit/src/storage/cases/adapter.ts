import assert from 'node:assert/strict'
import { isCommerceError } from '@cartwright/core'
import { rejection } from '../check.js'
import { num, text } from '../raw.js'
import { seedVariant } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'

const CORE_TABLES = [
  'cw_products',
  'cw_variants',
  'cw_prices',
  'cw_stock_locations',
  'cw_inventory_levels',
  'cw_reservations',
  'cw_carts',
  'cw_cart_lines',
  'cw_payments',
  'cw_payment_operations',
  'cw_payment_events',
  'cw_orders',
  'cw_order_lines',
  'cw_order_adjustments',
  'cw_outbox',
  'cw_outbox_deliveries',
  'cw_counters',
  'cw_leases',
]

/**
 * Core's migrations this testkit knows, in order. A newer core (the peer range allows one) may
 * record more after them.
 */
const KNOWN_MIGRATIONS = [
  '0001_initial',
  '0002_payment_operations',
  '0003_access_tokens',
  '0004_order_adjustments',
  '0005_tenders',
  '0006_customer_actions',
  '0007_order_holds',
  '0008_rounding',
]

export const adapterCases: StorageGroup = {
  group: 'adapter',
  cases: [
    {
      name: 'describes itself: an id, a SQL family, boolean capabilities and three error classifiers',
      async run(t) {
        const a = t.adapter
        assert.equal(typeof a.id, 'string')
        assert.ok(a.id.length > 0, 'id must not be empty')
        assert.ok(a.family === 'sqlite' || a.family === 'postgres', `family must be sqlite or postgres, got ${String(a.family)}`)
        for (const flag of ['rowLocks', 'skipLocked', 'sequences'] as const) {
          assert.equal(typeof a.capabilities?.[flag], 'boolean', `capabilities.${flag} must be a boolean`)
        }
        // SKIP LOCKED is a clause of FOR UPDATE: claiming it without row locks is a contradiction.
        if (a.capabilities.skipLocked) assert.ok(a.capabilities.rowLocks, 'skipLocked requires rowLocks')
        for (const fn of ['createDialect', 'isUniqueViolation', 'isCheckViolation', 'isRetryable'] as const) {
          assert.equal(typeof a[fn], 'function', `${fn} must be a function`)
        }
      },
    },
    {
      name: 'createCommerce migrates an empty database to every core table',
      async run(t) {
        await t.engine()
        for (const table of CORE_TABLES) {
          // Throws if the table is missing; counters may be seeded and automatic recovery may have
          // taken its lease, everything else is empty.
          const n = await t.raw.count(table)
          if (table !== 'cw_counters' && table !== 'cw_leases') assert.equal(n, 0, `${table} should be empty after migrating`)
        }
        const names = (await t.raw.rows('select name from cw_migrations order by name')).map((r) => text(r['name']))
        assert.deepEqual(names.slice(0, KNOWN_MIGRATIONS.length), KNOWN_MIGRATIONS, 'every migration of core is recorded')
      },
    },
    {
      name: 'every dialect the adapter makes reaches the same database: a second engine migrates nothing and sees the data',
      async run(t) {
        const sameDatabase = 'createDialect() must reach the same database every time (for SQLite :memory:, give the adapter your own Database instance)'
        const a = await t.engine()
        const migrated = await t.raw.count('cw_migrations').catch((error: unknown) =>
          assert.fail(`the database the target's backdoor reads has no migrations after createCommerce (${String(error)}): ${sameDatabase}`),
        )
        const { product } = await seedVariant(a.commerce, { stock: 3 })
        const b = await t.engine()
        const seen = await b.commerce.catalog.getProduct(product.id).catch((error: unknown) => {
          if (!isCommerceError(error, 'NOT_FOUND')) throw error
          return assert.fail(`a second createCommerce on the same adapter did not see the first one’s product: ${sameDatabase}`)
        })
        assert.deepEqual(seen, product)
        assert.equal(await b.commerce.inventory.available(product.variants[0]!.id), 3)
        assert.equal(await t.raw.count('cw_migrations'), migrated, 'the second engine migrated again')
      },
    },
    {
      name: 'values come back through the adapter as core expects: integers as numbers, text as strings, NULL as null',
      async run(t) {
        const { commerce } = await t.engine()
        await commerce.db.insertInto('cw_stock_locations').values({ id: 'loc_types', name: 'Types', code: 'types', priority: 2 ** 31 - 1, created_at: t.clock.iso() }).execute()
        const row = await commerce.db.selectFrom('cw_stock_locations').selectAll().where('id', '=', 'loc_types').executeTakeFirstOrThrow()
        assert.equal(typeof row.priority, 'number', `an integer column came back as ${typeof row.priority}`)
        assert.equal(row.priority, 2 ** 31 - 1)
        assert.equal(typeof row.name, 'string')
        const product = await seedVariant(commerce)
        const v = await commerce.db.selectFrom('cw_variants').selectAll().where('id', '=', product.variantId).executeTakeFirstOrThrow()
        assert.equal(v.weight_grams, null, 'NULL comes back as null')
        assert.equal(typeof v.manage_inventory, 'number')
        assert.equal(typeof v.position, 'number')
      },
    },
    {
      name: 'the error classifiers answer false, without throwing, for anything that is not their violation',
      async run(t) {
        const others: unknown[] = [
          new Error('UNIQUE constraint failed: cw_products.handle'),
          new Error('duplicate key value violates unique constraint'),
          new TypeError('x is not a function'),
          Object.assign(new Error('no code'), { cause: new Error('nested') }),
          null,
          undefined,
          'unique',
          42,
          {},
          [],
        ]
        for (const value of others) {
          for (const fn of ['isUniqueViolation', 'isCheckViolation', 'isRetryable'] as const) {
            assert.equal(t.adapter[fn](value), false, `${fn}(${String(value)}) must be false`)
          }
        }
      },
    },
    {
      name: 'a NOT NULL violation is neither a unique nor a check violation, and is not retryable',
      async run(t) {
        const { commerce } = await t.engine()
        const error = await rejection(
          commerce.db
            .insertInto('cw_stock_locations')
            .values({ id: 'loc_nonull', name: null as never, code: 'nonull', priority: 0, created_at: t.clock.iso() })
            .execute(),
          'inserting a NULL name',
        )
        assert.equal(t.adapter.isUniqueViolation(error), false, 'isUniqueViolation')
        assert.equal(t.adapter.isCheckViolation(error), false, 'isCheckViolation')
        assert.equal(t.adapter.isRetryable(error), false, 'isRetryable')
        assert.equal(await t.raw.count('cw_stock_locations'), 0)
      },
    },
    {
      name: 'the engine keeps working after a refused statement: the connection is returned clean',
      async run(t) {
        const { commerce } = await t.engine()
        const row = { id: 'loc_twice', name: 'Twice', code: 'twice', priority: 0, created_at: t.clock.iso() }
        await commerce.db.insertInto('cw_stock_locations').values(row).execute()
        for (let i = 0; i < 3; i++) {
          await rejection(commerce.db.insertInto('cw_stock_locations').values(row).execute(), 'a duplicate primary key')
        }
        const { variantId } = await seedVariant(commerce, { stock: 2 })
        assert.equal(await commerce.inventory.available(variantId), 2)
        const rows = await t.raw.rows('select on_hand from cw_inventory_levels where variant_id = ?', [variantId])
        assert.deepEqual(rows.map((r) => num(r['on_hand'])), [2])
      },
    },
  ],
}
