import type { StorageAdapter, StorageCapabilities } from '@cartwright/core'
import type { SqliteDatabase } from './sqlite-database.js'
import { sqliteDialect } from './sqlite-dialect.js'
import { isCheckViolation, isRetryable, isUniqueViolation } from './sqlite-errors.js'
import {
  parseSqliteStorageOptions,
  type ResolvedSqliteStorageOptions,
  type SqliteStorageOptions,
} from './sqlite-storage-options.js'

type SqliteDatabaseConstructor = new (filename: string) => SqliteDatabase

const capabilities: StorageCapabilities = Object.freeze({ rowLocks: false, skipLocked: false, sequences: false })

/**
 * Cartwright storage on SQLite through better-sqlite3, with a kysely driver that
 * caches prepared statements and begins write transactions with `BEGIN IMMEDIATE`.
 * Options are checked now; the database is opened on the first query.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }) })
 * const testCommerce = await createCommerce({ storage: sqliteStorage() }) // ':memory:'
 * ```
 */
export function sqliteStorage(options: SqliteStorageOptions = {}): StorageAdapter {
  const resolved = parseSqliteStorageOptions(options)
  const onOpen = (database: SqliteDatabase): void => configure(database, resolved)
  return Object.freeze({
    id: 'sqlite',
    family: 'sqlite' as const,
    capabilities,
    createDialect: () =>
      sqliteDialect(
        resolved.database === undefined
          ? {
              database: () => open(resolved.filename),
              closeOnDestroy: true,
              statementCacheSize: resolved.statementCacheSize,
              onOpen,
            }
          : { database: resolved.database, closeOnDestroy: false, statementCacheSize: resolved.statementCacheSize, onOpen },
      ),
    isUniqueViolation,
    isCheckViolation,
    isRetryable,
  })
}

async function open(filename: string): Promise<SqliteDatabase> {
  // Loaded here, not at the top: a host passing its own `database` needs no import,
  // and better-sqlite3 is an optional peer.
  const { default: Database } = (await import('better-sqlite3')) as unknown as { default: SqliteDatabaseConstructor }
  return new Database(filename)
}

function configure(database: SqliteDatabase, options: ResolvedSqliteStorageOptions): void {
  // busy_timeout first, so switching the journal mode waits for other connections too.
  database.pragma(`busy_timeout = ${options.busyTimeoutMs}`)
  database.pragma('foreign_keys = ON')
  // Negative: a size in KiB rather than a number of pages.
  database.pragma(`cache_size = -${options.cacheSizeKiB}`)
  if (options.wal && !database.memory) {
    const mode = database.pragma('journal_mode = WAL', { simple: true })
    // NORMAL is durable against application crashes in WAL; only an OS crash may lose the last commits.
    if (String(mode).toLowerCase() === 'wal') database.pragma('synchronous = NORMAL')
  }
}
