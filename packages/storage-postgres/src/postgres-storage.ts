import type { StorageAdapter } from '@cartwright/core'
import { PostgresDialect } from 'kysely'
import { createKyselyPool } from './postgres-pool.js'
import { isCheckViolation, isRetryable, isUniqueViolation } from './postgres-errors.js'
import { parsePostgresStorageOptions, type PostgresStorageOptions } from './postgres-storage-options.js'

/**
 * Cartwright storage on PostgreSQL through `pg`, for one or many app processes
 * sharing a database. Give it a connection string (it builds, owns and ends the
 * pool; `pg` is loaded on the first query) or a `pg.Pool` you built (never ended
 * by Cartwright). `int8` and `numeric` columns are read as JS numbers.
 * Options are checked at once; a bad one throws `[cartwright:storage-postgres] …`.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { postgresStorage } from '@cartwright/storage-postgres'
 *
 * const commerce = await createCommerce({
 *   storage: postgresStorage({ connectionString: process.env.DATABASE_URL!, pool: { max: 20 } }),
 * })
 * ```
 *
 * @example
 * ```ts
 * import pg from 'pg'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * pool.on('error', (error) => logger.warn(error))
 * const storage = postgresStorage({ pool })
 * ```
 */
export function postgresStorage(options: PostgresStorageOptions): StorageAdapter {
  const parsed = parsePostgresStorageOptions(options)
  return {
    id: 'postgres',
    family: 'postgres',
    capabilities: { rowLocks: true, skipLocked: true, sequences: true },
    // Each call makes its own pool (from a connection string): one dialect, one Kysely, one pool.
    createDialect: () => new PostgresDialect({ pool: createKyselyPool(parsed) }),
    isUniqueViolation,
    isCheckViolation,
    isRetryable,
  }
}
