// The parts of `pg` this package calls, typed here so that consumers' types
// never require `pg` (kysely does the same in `postgres-dialect-config.ts`).

/**
 * Parses one column value from its text (or binary) form.
 *
 * @example
 * ```ts
 * const parseInt4: PgTypeParser = (text) => Number.parseInt(text, 10)
 * ```
 */
export type PgTypeParser = (value: string) => unknown

/**
 * Resolves the parser for a column type OID: the shape of pg's `types` option
 * on a pool, a client or a single query.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 *
 * const types: PgTypeParsers = pg.types
 * types.getTypeParser(23, 'text')('42') // 42
 * ```
 */
export interface PgTypeParsers {
  getTypeParser(oid: number, format?: 'text' | 'binary'): PgTypeParser
}

/**
 * The subset of a pooled pg client (`pg.PoolClient`) this package calls.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const client: PgPoolClient = await pool.connect()
 * try {
 *   await client.query({ text: 'select 1' })
 * } finally {
 *   client.release()
 * }
 * ```
 */
export interface PgPoolClient {
  query(config: { text: string; values?: unknown[]; types?: PgTypeParsers }): Promise<PgQueryResult>
  release(destroy?: boolean): void
  on(event: 'error', listener: (error: Error) => void): unknown
  getTypeParser(oid: number, format?: 'text'): PgTypeParser
}

/**
 * The subset of a query result this package reads.
 *
 * @example
 * ```ts
 * async function one(client: PgPoolClient): Promise<unknown[]> {
 *   const { rows }: PgQueryResult = await client.query({ text: 'select 1 as one' })
 *   return rows
 * }
 * ```
 */
export interface PgQueryResult {
  command: string
  rowCount: number | null
  rows: any[]
}

/**
 * The subset of a `pg.Pool` a host may pass as `postgresStorage({ pool })`.
 * Any real `pg.Pool` satisfies it.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 *
 * const pool: PgPool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * ```
 */
export interface PgPool {
  connect(): Promise<PgPoolClient>
  end(): Promise<void>
}

/** A pool this package builds itself; it also listens for its errors. */
export interface PgOwnedPool extends PgPool {
  on(event: 'error', listener: (error: Error) => void): unknown
  /** Emitted for each new client, before it is handed to the caller that asked for it. */
  on(event: 'connect', listener: (client: PgPoolClient) => void): unknown
}

/** Pool settings passed to `new pg.Pool(config)`; only the keys this package sets. */
export interface PgPoolConfig {
  connectionString: string
  max: number
  idleTimeoutMillis?: number
  connectionTimeoutMillis?: number
  statement_timeout?: number
  types: PgTypeParsers
}

/** The `pg` module as loaded by `import('pg')`. */
export interface PgModule {
  Pool: new (config: PgPoolConfig) => PgOwnedPool
  types: PgTypeParsers
}
