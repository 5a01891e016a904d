import { createCommerce, testPayments } from '@cartwright/core'
import { postgresStorage } from '../../src/index.js'

/**
 * Runs the engine's own migrations on the (empty) database at `url` and closes every connection it
 * opened: the `template` to give `freshDatabase` for tests that open an engine on each new
 * database, so that each copies a migrated database instead of migrating it. Plugins' migrations
 * still run when their engine opens.
 *
 * @example
 * ```ts
 * const database = await freshDatabase({ template: migrateCore })
 * const commerce = await createCommerce({ storage: postgresStorage({ connectionString: database.url }) })
 * ```
 */
export async function migrateCore(url: string): Promise<void> {
  const commerce = await createCommerce({ storage: postgresStorage({ connectionString: url, pool: { max: 1 } }), payments: [testPayments()] })
  await commerce.close()
}
