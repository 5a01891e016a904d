import type { StorageAdapter } from '@cartwright/core'

type Dialect = ReturnType<StorageAdapter['createDialect']>
type Driver = ReturnType<Dialect['createDriver']>
type Connection = Awaited<ReturnType<Driver['acquireConnection']>>
type Compiled = Parameters<Connection['executeQuery']>[0]

/** One statement as the engine sends it to the database. */
export interface InterceptedStatement {
  readonly sql: string
  readonly parameters: readonly unknown[]
}

/** What {@link interceptStatements} does around the statements and transactions of a storage. */
export interface StatementInterceptor {
  /**
   * Sees each statement before it runs: return another statement to run instead (same shape:
   * the SQL with its parameters), or nothing to run it as it is. Throwing fails the statement, as
   * a database error would.
   */
  statement?(statement: InterceptedStatement): InterceptedStatement | void
  /** Before a transaction begins or commits; throwing refuses it (a commit refused rolls back). */
  transaction?(step: 'begin' | 'commit'): void
}

/**
 * A storage adapter that hands every statement of `storage` to `interceptor` first: to rewrite it,
 * refuse it, or only watch it. The engine above is unchanged; this is how a test plants a fault in
 * a build without editing its source (a condition dropped from one statement) and how the
 * simulation fences off an engine it has crashed (every statement after the crash is refused, but a
 * rollback still runs, as a database rolls back the transactions of a dead process).
 *
 * Rollbacks and releases are never intercepted.
 *
 * @example
 * ```ts
 * import { interceptStatements } from '@cartwright/testkit'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * // A build whose stock reservation forgets to check what is available.
 * const storage = interceptStatements(sqliteStorage({ filename: 'shop.db' }), {
 *   statement: ({ sql, parameters }) =>
 *     sql.includes('on_hand - reserved >=') ? { sql: sql.replace(/ and on_hand - reserved >= \?/, ''), parameters: parameters.slice(0, -1) } : undefined,
 * })
 * ```
 */
export function interceptStatements<S extends StorageAdapter>(storage: S, interceptor: StatementInterceptor): S {
  const createDialect = (): Dialect => {
    const dialect = storage.createDialect()
    return {
      createAdapter: () => dialect.createAdapter(),
      createIntrospector: (db) => dialect.createIntrospector(db),
      createQueryCompiler: () => dialect.createQueryCompiler(),
      createDriver: () => interceptDriver(dialect.createDriver(), interceptor),
    }
  }
  // Everything else is the adapter's own, called on the adapter itself (its private state included).
  // The proxy's target is a blank object: adapters are frozen, and a proxy may not change what a
  // frozen target's properties read.
  return new Proxy({} as S, {
    get(_, property) {
      if (property === 'createDialect') return createDialect
      const value: unknown = Reflect.get(storage, property, storage)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(storage) : value
    },
    has: (_, property) => Reflect.has(storage, property),
  })
}

function interceptDriver(driver: Driver, interceptor: StatementInterceptor): Driver {
  const real = new WeakMap<object, Connection>()
  const wrap = (connection: Connection): Connection => {
    const wrapper: Connection = {
      executeQuery(query: Compiled) {
        return connection.executeQuery(rewrite(query))
      },
      streamQuery(query: Compiled, chunkSize?: number) {
        return connection.streamQuery(rewrite(query), chunkSize)
      },
    }
    real.set(wrapper, connection)
    return wrapper
  }
  const unwrap = (connection: Connection): Connection => real.get(connection) ?? connection
  const rewrite = (query: Compiled): Compiled => {
    // A savepoint rollback (the driver's own statement) must always run, like a rollback.
    if (!interceptor.statement || /^\s*rollback\b/i.test(query.sql)) return query
    const replaced = interceptor.statement({ sql: query.sql, parameters: query.parameters })
    if (!replaced) return query
    return { ...query, sql: replaced.sql, parameters: replaced.parameters }
  }
  const wrapped: Driver = {
    init: () => driver.init(),
    acquireConnection: async () => wrap(await driver.acquireConnection()),
    beginTransaction: async (connection, settings) => {
      interceptor.transaction?.('begin')
      return driver.beginTransaction(unwrap(connection), settings)
    },
    commitTransaction: async (connection) => {
      interceptor.transaction?.('commit')
      return driver.commitTransaction(unwrap(connection))
    },
    rollbackTransaction: (connection) => driver.rollbackTransaction(unwrap(connection)),
    releaseConnection: (connection) => driver.releaseConnection(unwrap(connection)),
    destroy: () => driver.destroy(),
  }
  if (driver.savepoint) wrapped.savepoint = (connection, name, compile) => driver.savepoint!(wrap(unwrap(connection)), name, compile)
  if (driver.rollbackToSavepoint) wrapped.rollbackToSavepoint = (connection, name, compile) => driver.rollbackToSavepoint!(unwrap(connection), name, compile)
  if (driver.releaseSavepoint) wrapped.releaseSavepoint = (connection, name, compile) => driver.releaseSavepoint!(wrap(unwrap(connection)), name, compile)
  return wrapped
}
