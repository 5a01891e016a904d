import type { PostgresPool, PostgresPoolClient } from 'kysely'
import { numericTypeParsers } from './numeric-type-parsers.js'
import type { PgModule, PgPool, PgPoolClient, PgTypeParsers } from './pg-subset.js'
import { endsSession } from './postgres-errors.js'
import type { ParsedPostgresStorageOptions } from './postgres-storage-options.js'

type ConnectionOptions = Extract<ParsedPostgresStorageOptions, { kind: 'connection' }>

/**
 * The pool factory given to kysely's `PostgresDialect`. It hands kysely
 * connections that read int8/numeric as numbers and are discarded, not
 * returned to the pool, once their session has died; and `db.destroy()`
 * ends the pg pool only when this package built it.
 */
export function createKyselyPool(options: ParsedPostgresStorageOptions): () => Promise<PostgresPool> {
  if (options.kind === 'host-pool') return async () => hostPool(options.pool)
  return async () => ownedPool(options, await loadPg())
}

function ownedPool(options: ConnectionOptions, pg: PgModule): PostgresPool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.pool.max,
    ...(options.pool.idleTimeoutMillis !== undefined && { idleTimeoutMillis: options.pool.idleTimeoutMillis }),
    ...(options.pool.connectionTimeoutMillis !== undefined && {
      connectionTimeoutMillis: options.pool.connectionTimeoutMillis,
    }),
    ...(options.statementTimeoutMs !== undefined && { statement_timeout: options.statementTimeoutMs }),
    // Per-pool parsers: pg's global `types` stay untouched for the rest of the process.
    types: numericTypeParsers(pg.types),
  })
  // pg emits 'error' on the pool when an idle client's backend goes away
  // (restart, failover, pg_terminate_backend); unheard, it would crash the
  // process. The pool has already discarded that client and the next connect()
  // opens a new one, so there is nothing else to do.
  pool.on('error', ignore)
  // pg-pool stops listening for a new client's errors when it hands the client out, and the
  // caller's listener comes a microtask later: a FATAL read in the same chunk as the startup's
  // ReadyForQuery (pg_terminate_backend right after connecting) would be unheard and crash the
  // process. 'connect' is emitted before the hand-out, so listen from there on.
  pool.on('connect', (client) => client.on('error', ignore))
  const connections = connectionCache(undefined)
  return {
    connect: async () => connections.get(await pool.connect()),
    end: () => pool.end(),
  }
}

function hostPool(pool: PgPool): PostgresPool {
  // The host's clients keep their own parsers; ours ride on each query kysely
  // sends, so the host's other queries on the same clients are unaffected.
  const connections = connectionCache((client) =>
    numericTypeParsers({ getTypeParser: (oid, format) => client.getTypeParser(oid, format as 'text') }),
  )
  return {
    connect: async () => connections.get(await pool.connect()),
    // The host owns its pool and ends it itself.
    end: async () => {},
  }
}

/** One kysely-facing wrapper per pg client, built on first checkout. */
function connectionCache(typesFor: ((client: PgPoolClient) => PgTypeParsers) | undefined) {
  const wrappers = new WeakMap<PgPoolClient, PostgresPoolClient>()
  return {
    get(client: PgPoolClient): PostgresPoolClient {
      let wrapper = wrappers.get(client)
      if (!wrapper) {
        wrapper = wrap(client, typesFor?.(client))
        wrappers.set(client, wrapper)
      }
      return wrapper
    },
  }
}

function wrap(client: PgPoolClient, types: PgTypeParsers | undefined): PostgresPoolClient {
  // A checked-out client whose backend dies between queries emits 'error'
  // with no pool listener attached; unheard, it would crash the process. Its
  // next query fails instead, with a retryable error.
  client.on('error', ignore)
  // pg returns a client to the pool unless told otherwise, and learns that the
  // socket closed only after the failed query settles; without this, the
  // next checkout could get the dead connection.
  let dead = false
  const query = async (text: string, parameters: readonly unknown[]) => {
    try {
      return await client.query({ text, values: [...parameters], ...(types && { types }) })
    } catch (error) {
      if (endsSession(error)) dead = true
      throw error
    }
  }
  return {
    query: query as PostgresPoolClient['query'],
    release(destroy?: boolean) {
      client.release(destroy === true || dead)
    },
  }
}

async function loadPg(): Promise<PgModule> {
  let loaded: { default?: unknown }
  try {
    loaded = (await import('pg')) as { default?: unknown }
  } catch (error) {
    throw new Error('[cartwright:storage-postgres] the pg package is required with connectionString: npm install pg', {
      cause: error,
    })
  }
  return (loaded.default ?? loaded) as PgModule
}

function ignore(): void {}
