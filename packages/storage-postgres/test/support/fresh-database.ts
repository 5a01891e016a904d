import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** A database created for one test file. */
export interface FreshDatabase {
  /** Connection URL of the new database, same server and credentials as the admin URL. */
  url: string
  /** The database's name. */
  name: string
  /** Drops the database, closing any connections still open to it. Safe to call twice. */
  drop(): Promise<void>
}

/** Options for {@link freshDatabase}. */
export interface FreshDatabaseOptions {
  /**
   * URL of a role allowed to CREATE DATABASE, in URL form (`postgres://…`).
   * Default: `process.env.CARTWRIGHT_PG_URL`, set by you or by the test globalSetup.
   */
  adminUrl?: string
}

/**
 * Creates an empty, uniquely named database on the test server, so that test
 * files running in parallel never see each other's tables. Only needs `pg`.
 *
 * @example
 * ```ts
 * let database: FreshDatabase
 * beforeAll(async () => { database = await freshDatabase() })
 * afterAll(() => database.drop())
 * ```
 */
export async function freshDatabase(options: FreshDatabaseOptions = {}): Promise<FreshDatabase> {
  const adminUrl = options.adminUrl ?? process.env.CARTWRIGHT_PG_URL
  if (!adminUrl) {
    throw new Error(
      '[cartwright:test] no PostgreSQL server: set CARTWRIGHT_PG_URL, or add ' +
        "globalSetup: ['<path to>/packages/storage-postgres/test/global-setup.ts'] to the vitest config",
    )
  }
  const name = `cartwright_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  await asAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`))
  const url = new URL(adminUrl)
  url.pathname = `/${name}`

  let dropped = false
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return
      dropped = true
      // FORCE (PostgreSQL 13+) ends sessions a test left open, e.g. an undestroyed pool.
      await asAdmin(adminUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
      )
    },
  }
}

async function asAdmin(adminUrl: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await work(client)
  } finally {
    await client.end()
  }
}
