import { CommerceError } from '@cartwright/core'
import { z } from 'zod'
import type { PgPool } from './pg-subset.js'

/**
 * Settings for the pool `postgresStorage` builds from a connection string.
 *
 * @example
 * ```ts
 * postgresStorage({ connectionString: process.env.DATABASE_URL!, pool: { max: 20, idleTimeoutMillis: 30_000 } })
 * ```
 */
export interface PostgresPoolSettings {
  /**
   * Most connections open at once, per process. Default 10.
   *
   * @example
   * ```ts
   * // 8 app processes × 8 connections stay under max_connections = 100
   * postgresStorage({ connectionString: process.env.DATABASE_URL!, pool: { max: 8 } })
   * ```
   */
  max?: number
  /**
   * Close a connection idle for this long (ms). pg's default: 10 000; 0 keeps idle connections open.
   *
   * @example
   * ```ts
   * postgresStorage({ connectionString: process.env.DATABASE_URL!, pool: { idleTimeoutMillis: 30_000 } })
   * ```
   */
  idleTimeoutMillis?: number
  /**
   * Give up acquiring a connection after this long (ms); the error is retryable.
   * pg's default: 0, wait forever.
   *
   * @example
   * ```ts
   * postgresStorage({ connectionString: process.env.DATABASE_URL!, pool: { connectionTimeoutMillis: 5_000 } })
   * ```
   */
  connectionTimeoutMillis?: number
}

/**
 * Let `postgresStorage` build and own a pool from a connection string.
 * `pg` is loaded on the first query; `db.destroy()` ends the pool.
 *
 * @example
 * ```ts
 * postgresStorage({ connectionString: 'postgres://shop@db.internal/shop', statementTimeoutMs: 5_000 })
 * ```
 */
export interface PostgresConnectionOptions {
  /**
   * A PostgreSQL URL (or anything `pg` accepts as `connectionString`).
   *
   * @example
   * ```ts
   * postgresStorage({ connectionString: 'postgres://shop:secret@db.internal:5432/shop?sslmode=require' })
   * ```
   */
  connectionString: string
  /**
   * Pool sizing and timeouts.
   *
   * @example
   * ```ts
   * postgresStorage({ connectionString: process.env.DATABASE_URL!, pool: { max: 20, connectionTimeoutMillis: 5_000 } })
   * ```
   */
  pool?: PostgresPoolSettings
  /**
   * Have the server cancel any statement that runs longer than this (ms), via
   * `statement_timeout`. Default: no limit.
   *
   * @example
   * ```ts
   * postgresStorage({ connectionString: process.env.DATABASE_URL!, statementTimeoutMs: 10_000 })
   * ```
   */
  statementTimeoutMs?: number
}

/**
 * Use a pool the host built and owns. `db.destroy()` does not end it; the host
 * does. Attach a `pool.on('error', …)` listener, as pg requires, so a backend
 * dropped while idle does not crash the process. Queries sent through Cartwright
 * read int8/numeric as numbers; the host's own queries keep the pool's parsers.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * pool.on('error', (error) => logger.warn(error))
 * postgresStorage({ pool })
 * ```
 */
export interface PostgresHostPoolOptions {
  /**
   * A `pg.Pool` (or anything with the same `connect()` and `end()`).
   *
   * @example
   * ```ts
   * import pg from 'pg'
   *
   * postgresStorage({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 }) })
   * ```
   */
  pool: PgPool
  /** Always absent here; it tells the two option forms apart. */
  connectionString?: undefined
}

/**
 * Options for `postgresStorage`: a connection string, or a `pg.Pool` the host built.
 *
 * @example
 * ```ts
 * const options: PostgresStorageOptions = { connectionString: process.env.DATABASE_URL! }
 * ```
 */
export type PostgresStorageOptions = PostgresConnectionOptions | PostgresHostPoolOptions

/** Options after parsing: defaults applied, the two forms told apart. */
export type ParsedPostgresStorageOptions =
  | {
      kind: 'connection'
      connectionString: string
      pool: { max: number; idleTimeoutMillis?: number | undefined; connectionTimeoutMillis?: number | undefined }
      statementTimeoutMs?: number | undefined
    }
  | { kind: 'host-pool'; pool: PgPool }

const DEFAULT_MAX_CONNECTIONS = 10

const connectionSchema = z.strictObject({
  connectionString: z.string().min(1, 'must be a non-empty connection string'),
  pool: z
    .strictObject({
      max: z.int().positive().default(DEFAULT_MAX_CONNECTIONS),
      idleTimeoutMillis: z.int().nonnegative().optional(),
      connectionTimeoutMillis: z.int().nonnegative().optional(),
    })
    .default({ max: DEFAULT_MAX_CONNECTIONS }),
  statementTimeoutMs: z.int().positive().optional(),
})

const hostPoolSchema = z.strictObject({
  pool: z.custom<PgPool>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as PgPool).connect === 'function' &&
      typeof (value as PgPool).end === 'function',
    'must be a pg.Pool instance (an object with connect() and end()); to tune a pool built from a connectionString, pass connectionString too',
  ),
})

const PREFIX = '[cartwright:storage-postgres]'

/**
 * Validates `postgresStorage` options; throws a `CONFIGURATION` {@link CommerceError} with a
 * prefixed message naming the bad option, as core's factories do.
 */
export function parsePostgresStorageOptions(input: unknown): ParsedPostgresStorageOptions {
  if (typeof input !== 'object' || input === null) {
    throw configuration('options must be an object with connectionString or pool')
  }
  if (!('connectionString' in input) && !('pool' in input)) {
    throw configuration('missing connectionString (or pool: a pg.Pool you built)')
  }
  if ('connectionString' in input && input.connectionString !== undefined) {
    const parsed = connectionSchema.safeParse(input)
    if (!parsed.success) throw invalid(parsed.error)
    return { kind: 'connection', ...parsed.data }
  }
  const { connectionString: _absent, ...rest } = input as Record<string, unknown>
  const parsed = hostPoolSchema.safeParse(rest)
  if (!parsed.success) throw invalid(parsed.error, ' (with a pool you built, set its options on the pool itself)')
  return { kind: 'host-pool', pool: parsed.data.pool }
}

function configuration(problem: string, details: Record<string, unknown> = {}): CommerceError {
  return new CommerceError('CONFIGURATION', `${PREFIX} ${problem}`, { details })
}

function invalid(error: z.ZodError, unknownKeyHint = ''): CommerceError {
  const problems = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `unknown option ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}${unknownKeyHint}`
    }
    return `${issue.path.join('.') || 'options'}: ${issue.message}`
  })
  return configuration(`invalid options: ${problems.join('; ')}`, { problems })
}
