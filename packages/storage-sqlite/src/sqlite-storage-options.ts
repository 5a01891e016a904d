import { CommerceError } from '@cartwright/core'
import { z } from 'zod'
import type { SqliteDatabase } from './sqlite-database.js'

/**
 * Options of {@link sqliteStorage}. Give a `filename` (the adapter opens and
 * closes the database) or a `database` you opened yourself (you close it), not both.
 *
 * @example
 * ```ts
 * sqliteStorage({ filename: 'shop.db', busyTimeoutMs: 10_000 })
 * ```
 */
export interface SqliteStorageOptions {
  /**
   * Database file, or `':memory:'` for a private in-memory database. Default `':memory:'`.
   * better-sqlite3 is loaded (a peer dependency) only when the adapter opens the file.
   *
   * @example
   * ```ts
   * sqliteStorage({ filename: './data/shop.db' })
   * ```
   */
  filename?: string
  /**
   * A better-sqlite3 `Database` the host opened. The adapter sets the pragmas below on
   * it but never closes it. Use it with one `Kysely` instance: they share the connection.
   *
   * @example
   * ```ts
   * import Database from 'better-sqlite3'
   * sqliteStorage({ database: new Database('shop.db') })
   * ```
   */
  database?: SqliteDatabase
  /**
   * How long a statement waits for another connection's lock before failing with
   * `SQLITE_BUSY` (the wait blocks the thread: better-sqlite3 is synchronous). Default 5000.
   *
   * @example
   * ```ts
   * sqliteStorage({ filename: 'shop.db', busyTimeoutMs: 2_000 })
   * ```
   */
  busyTimeoutMs?: number
  /**
   * Most prepared statements kept per connection, least recently used dropped first;
   * 0 prepares every statement anew. Default 1000.
   *
   * @example
   * ```ts
   * sqliteStorage({ filename: 'shop.db', statementCacheSize: 5_000 })
   * ```
   */
  statementCacheSize?: number
  /**
   * Most memory SQLite's page cache may hold on the connection, in KiB (`PRAGMA cache_size = -N`).
   * Default 2048: SQLite's own default (better-sqlite3 raises it to 16 MiB). The operating system
   * caches the file as well, and a checkout touches few pages, so more mostly helps hosts that
   * read large catalogs through the engine.
   *
   * @example
   * ```ts
   * sqliteStorage({ filename: 'shop.db', cacheSizeKiB: 16_384 }) // up to 16 MiB of page cache
   * ```
   */
  cacheSizeKiB?: number
  /**
   * Put a file database in WAL mode with `synchronous = NORMAL`, so readers never
   * block the writer. Ignored for in-memory databases. Default true.
   *
   * @example
   * ```ts
   * sqliteStorage({ filename: '/mnt/nfs/shop.db', wal: false }) // WAL needs shared memory
   * ```
   */
  wal?: boolean
}

/** Options with defaults applied; internal. */
export interface ResolvedSqliteStorageOptions {
  filename: string
  database: SqliteDatabase | undefined
  busyTimeoutMs: number
  statementCacheSize: number
  cacheSizeKiB: number
  wal: boolean
}

export const PREFIX = '[cartwright:storage-sqlite]'

const isDatabase = (value: unknown): value is SqliteDatabase =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as SqliteDatabase).prepare === 'function' &&
  typeof (value as SqliteDatabase).pragma === 'function' &&
  typeof (value as SqliteDatabase).close === 'function'

const schema = z
  .strictObject({
    filename: z.string().min(1).optional(),
    database: z.custom<SqliteDatabase>(isDatabase, 'expected a better-sqlite3 Database instance').optional(),
    busyTimeoutMs: z.number().int().min(0).max(2_147_483_647).optional(),
    statementCacheSize: z.number().int().min(0).optional(),
    cacheSizeKiB: z.number().int().min(0).max(2_147_483_647).optional(),
    wal: z.boolean().optional(),
  })
  .refine((o) => o.filename === undefined || o.database === undefined, {
    message: 'filename and database are mutually exclusive: give one',
  })

/**
 * Parses and defaults the options; throws a `CONFIGURATION` {@link CommerceError} with a prefixed
 * message naming each bad option, as core's factories do.
 */
export function parseSqliteStorageOptions(options: unknown): ResolvedSqliteStorageOptions {
  const result = schema.safeParse(options === undefined ? {} : options)
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      // strictObject reports unknown keys with an empty path and the names in `keys`.
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : issue.path
      return { path: keys.join('.'), message: issue.message }
    })
    const problems = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
    throw new CommerceError('CONFIGURATION', `${PREFIX} invalid options: ${problems.join('; ')}`, { details: { issues } })
  }
  const o = result.data
  return {
    filename: o.filename ?? ':memory:',
    database: o.database,
    busyTimeoutMs: o.busyTimeoutMs ?? 5000,
    statementCacheSize: o.statementCacheSize ?? 1000,
    cacheSizeKiB: o.cacheSizeKiB ?? 2048,
    wal: o.wal ?? true,
  }
}
