import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { startEmbeddedPostgres } from './support/embedded-server.js'

/**
 * Vitest globalSetup: makes a PostgreSQL server available to every test file as
 * `process.env.CARTWRIGHT_PG_URL` (an admin URL; see `support/fresh-database.ts`).
 * An existing CARTWRIGHT_PG_URL is used as is; otherwise a throwaway embedded
 * server is started here and stopped, with its data, in teardown.
 * It also names this run's template databases (`CARTWRIGHT_PG_TEMPLATES`, a prefix; see
 * `freshDatabase`'s `template` option) and drops them in teardown.
 * Workers are spawned after this runs, so they inherit the variables.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const prefix = `cartwright_template_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
  process.env.CARTWRIGHT_PG_TEMPLATES = prefix
  const external = process.env.CARTWRIGHT_PG_URL
  const server = external ? null : await startEmbeddedPostgres()
  const adminUrl = external ?? server!.url
  process.env.CARTWRIGHT_PG_URL = adminUrl
  return async () => {
    delete process.env.CARTWRIGHT_PG_TEMPLATES
    if (server) {
      delete process.env.CARTWRIGHT_PG_URL
      await server.stop()
      return
    }
    const client = new pg.Client({ connectionString: adminUrl })
    await client.connect()
    try {
      const { rows } = await client.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [prefix])
      for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`)
    } finally {
      await client.end()
    }
  }
}
