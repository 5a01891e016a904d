/**
 * Upgrade from released schemas, on PostgreSQL. For each released fixture (test/core/fixtures):
 * a fresh database gets that release's core migrations only (the names in the fixture's
 * `cw_migrations`), then the fixture's rows, table by table; today's `createCommerce` then
 * migrates it to the latest schema and the checks of test/support/upgrade-checks.ts run, the
 * same as on SQLite (test/core/upgrade.test.ts).
 *
 * When a release changes the schema, add its fixture and its checks here too; keep the old ones.
 */
import { Kysely, Migrator, sql, type Migration } from 'kysely'
import { describe } from 'vitest'
import { postgresStorage } from '@cartwright/storage-postgres'
import { columnTypes, coreMigrations } from '../../../core/src/db/migrations.js'
import { freshDatabase } from '../support/index.js'
import { FIXTURE_V0_1_0, TABLES_IN_KEY_ORDER, fixtureMigrations, readFixture, type OldDatabase } from '../support/upgrade-checks.js'
import { upgradeChecksV010 } from '../support/upgrade-checks.js'

/** A fresh PostgreSQL database with the fixture's schema (its migrations only) and its rows. */
async function copyIntoPostgres(fixture: string): Promise<OldDatabase> {
  const rows = readFixture(fixture)
  const database = await freshDatabase()
  const storage = () => postgresStorage({ connectionString: database.url })
  const db = new Kysely<any>({ dialect: storage().createDialect() })
  try {
    const types = columnTypes('postgres')
    const released: Record<string, Migration> = {}
    for (const name of fixtureMigrations(rows)) {
      const migration = coreMigrations[name]
      if (!migration) throw new Error(`the fixture ran ${name}, which core no longer has: migration names are permanent`)
      released[name] = { up: (kysely) => migration.up(kysely, { family: 'postgres', types }) }
    }
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => released },
      migrationTableName: 'cw_migrations',
      migrationLockTableName: 'cw_migrations_lock',
    })
    const { error } = await migrator.migrateToLatest()
    if (error) throw error

    const tables = Object.keys(rows).filter((t) => t.startsWith('cw_') && !t.startsWith('cw_migrations'))
    const unknown = tables.filter((t) => !TABLES_IN_KEY_ORDER.includes(t))
    if (unknown.length) throw new Error(`add ${unknown.join(', ')} to TABLES_IN_KEY_ORDER`)
    for (const table of TABLES_IN_KEY_ORDER) {
      const data = rows[table] ?? []
      // PostgreSQL numbers orders with a sequence, not SQLite's counter row: bring the sequence to
      // where the counter stood, as a PostgreSQL database of that release would have it.
      if (table === 'cw_counters') {
        const counter = data.find((r) => r.name === 'order_number')
        if (counter) await sql`select setval('cw_order_number_seq', ${counter.value})`.execute(db)
        continue
      }
      if (data.length) await db.insertInto(table).values(data).execute()
    }
    // Explicit ids leave the delivery id sequence behind them.
    await sql`select setval(pg_get_serial_sequence('cw_outbox_deliveries', 'id'), coalesce((select max(id) from cw_outbox_deliveries), 1))`.execute(db)
  } catch (error) {
    await db.destroy()
    await database.drop()
    throw error
  }
  await db.destroy()
  return { storage, drop: () => database.drop() }
}

describe('a PostgreSQL database written by 0.1.0', () => {
  upgradeChecksV010(() => copyIntoPostgres(FIXTURE_V0_1_0))
})
