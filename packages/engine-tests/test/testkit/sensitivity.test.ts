import { createRequire } from 'node:module'
import type { StorageAdapter } from '@cartwright/core'
import { sqliteStorage, type SqliteDatabase } from '@cartwright/storage-sqlite'
import { describe, expect, it } from 'vitest'
import { storageConformance, type Backdoor, type StorageTarget } from '@cartwright/testkit'

// The suite is only worth something if it fails broken adapters. Each test breaks one
// property of a working SQLite target and checks that the case guarding it fails.

type Handle = SqliteDatabase & { defaultSafeIntegers(on?: boolean): unknown; exec(sql: string): unknown }
const Database = createRequire(import.meta.url)('better-sqlite3') as new (filename: string) => Handle

function backdoorOf(database: Handle): Backdoor {
  return {
    async query(sql, parameters = []) {
      const statement = database.prepare(sql)
      if (statement.reader) return statement.all(parameters) as Array<Record<string, unknown>>
      statement.run(parameters)
      return []
    },
  }
}

function memoryTarget(change: (adapter: StorageAdapter, database: Handle) => Partial<StorageTarget> = () => ({})): () => StorageTarget {
  return () => {
    const database = new Database(':memory:')
    const adapter = sqliteStorage({ database })
    return { adapter, backdoor: backdoorOf(database), teardown: () => void database.close(), ...change(adapter, database) }
  }
}

async function runCase(setup: () => StorageTarget, title: string): Promise<unknown> {
  const found = storageConformance({ name: 'broken', setup }).cases.find((c) => c.title === title)
  if (!found) throw new Error(`no case ${title}`)
  return found.run().then(
    () => null,
    (error: unknown) => error,
  )
}

describe('the suite fails a broken target', () => {
  it('passes the unbroken one (control)', async () => {
    expect(await runCase(memoryTarget(), "idempotency keys > adapter.isUniqueViolation recognises its driver's error for a duplicate key, and nothing else claims it")).toBeNull()
  })

  it('an adapter that does not recognise unique violations', async () => {
    const setup = memoryTarget((adapter) => ({ adapter: { ...adapter, isUniqueViolation: () => false } }))
    const error = await runCase(setup, "idempotency keys > adapter.isUniqueViolation recognises its driver's error for a duplicate key, and nothing else claims it")
    expect(String(error)).toMatch(/isUniqueViolation/)
    expect(await runCase(setup, 'idempotency keys > duplicate handles, SKUs and location codes surface as CONFLICT through the engine')).toBeTruthy()
  })

  it('an adapter that does not recognise CHECK violations', async () => {
    const setup = memoryTarget((adapter) => ({ adapter: { ...adapter, isCheckViolation: () => false } }))
    const error = await runCase(setup, 'concurrency > the CHECK constraint refuses reserved above on_hand or below zero, and isCheckViolation recognises it')
    expect(String(error)).toMatch(/isCheckViolation/)
  })

  it('a database handle that returns integers as bigint', async () => {
    const setup = memoryTarget((_adapter, database) => {
      database.defaultSafeIntegers(true)
      return {}
    })
    const error = await runCase(setup, 'adapter > values come back through the adapter as core expects: integers as numbers, text as strings, NULL as null')
    expect(String(error)).toMatch(/an integer column came back as bigint/)
  })

  it('an adapter whose every dialect opens a different database', async () => {
    const setup = memoryTarget(() => ({ adapter: sqliteStorage({ filename: ':memory:' }) }))
    const error = await runCase(setup, 'adapter > every dialect the adapter makes reaches the same database: a second engine migrates nothing and sees the data')
    expect(String(error)).toMatch(/createDialect\(\) must reach the same database/)
  })

  it('a driver whose rollback commits', async () => {
    const setup = memoryTarget((adapter) => ({
      adapter: {
        ...adapter,
        createDialect() {
          const dialect = adapter.createDialect()
          return {
            ...dialect,
            createAdapter: () => dialect.createAdapter(),
            createIntrospector: (db) => dialect.createIntrospector(db),
            createQueryCompiler: () => dialect.createQueryCompiler(),
            createDriver() {
              const driver = dialect.createDriver()
              return {
                init: () => driver.init(),
                acquireConnection: () => driver.acquireConnection(),
                beginTransaction: (connection, settings) => driver.beginTransaction(connection, settings),
                commitTransaction: (connection) => driver.commitTransaction(connection),
                rollbackTransaction: (connection) => driver.commitTransaction(connection),
                releaseConnection: (connection) => driver.releaseConnection(connection),
                destroy: () => driver.destroy(),
              }
            },
          }
        },
      },
    }))
    const error = await runCase(setup, 'transactions > a transaction whose callback throws leaves none of its writes, and the error reaches the caller unchanged')
    expect(String(error)).toMatch(/AssertionError/)
  })

  it('a schema without the one-order-per-cart constraint', async () => {
    const setup = memoryTarget((_adapter, database) => ({
      teardown: () => void database.close(),
      backdoor: {
        async query(sql, parameters) {
          // Drop the unique index behind the suite's back just before the raw duplicate insert: rebuild
          // cw_orders without it, after the tables that reference it (adjustments reference its lines too).
          if (sql.startsWith('insert into cw_orders')) {
            database.exec(
              'create table cw_orders_copy as select * from cw_orders; drop table cw_order_adjustments; drop table cw_order_lines; drop table cw_orders; alter table cw_orders_copy rename to cw_orders',
            )
          }
          return backdoorOf(database).query(sql, parameters)
        },
      },
    }))
    const error = await runCase(setup, 'one order per cart > the database refuses a second order for the same cart (raw insert), and isUniqueViolation recognises the error')
    expect(String(error)).toMatch(/accepted a statement it must refuse/)
  })
})
