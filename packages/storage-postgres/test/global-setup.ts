import { startEmbeddedPostgres } from './support/embedded-server.js'

/**
 * Vitest globalSetup: makes a PostgreSQL server available to every test file as
 * `process.env.CARTWRIGHT_PG_URL` (an admin URL; see `support/fresh-database.ts`).
 * An existing CARTWRIGHT_PG_URL is used as is; otherwise a throwaway embedded
 * server is started here and stopped, with its data, in teardown.
 * Workers are spawned after this runs, so they inherit the variable.
 */
export default async function setup(): Promise<(() => Promise<void>) | void> {
  if (process.env.CARTWRIGHT_PG_URL) return
  const server = await startEmbeddedPostgres()
  process.env.CARTWRIGHT_PG_URL = server.url
  return async () => {
    delete process.env.CARTWRIGHT_PG_URL
    await server.stop()
  }
}
