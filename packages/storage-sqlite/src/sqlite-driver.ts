import {
  AbortedTransactionError,
  IdentifierNode,
  RawNode,
  createQueryId,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely'
import type { SqliteDatabase, SqliteStatement } from './sqlite-database.js'
import { StatementCache, type StatementCacheStats } from './statement-cache.js'

/** How a {@link CachingSqliteDriver} gets and treats its database. */
export interface SqliteDriverConfig {
  /** The database, or a function opening it; called once, on the first query. */
  database: SqliteDatabase | (() => SqliteDatabase | Promise<SqliteDatabase>)
  /** Close the database on `destroy()`: true only when the adapter opened it. */
  closeOnDestroy: boolean
  /** Most prepared statements kept per connection; 0 disables the cache. */
  statementCacheSize: number
  /** Runs once after opening, before any query (pragmas). */
  onOpen?: (database: SqliteDatabase) => void
}

const RESOLVED: Promise<void> = Promise.resolve()
const NO_PARAMETERS: ReadonlyArray<unknown> = Object.freeze([])

/**
 * A kysely `Driver` over one better-sqlite3 connection. Unlike kysely's stock
 * `SqliteDriver` it keeps prepared statements (an LRU keyed by SQL text), begins
 * write transactions with `BEGIN IMMEDIATE`, hands the connection to waiters in
 * FIFO order, and does no async work of its own on the query path.
 */
export class CachingSqliteDriver implements Driver {
  readonly #config: SqliteDriverConfig
  #db: SqliteDatabase | undefined
  #connection: SqliteConnection | undefined
  /** `Promise.resolve(connection)`, made once: acquiring a free connection allocates nothing. */
  #acquired: Promise<DatabaseConnection> | undefined
  #locked = false
  readonly #waiters: Array<(connection: DatabaseConnection) => void> = []

  constructor(config: SqliteDriverConfig) {
    this.#config = config
  }

  async init(): Promise<void> {
    const { database, onOpen, statementCacheSize } = this.#config
    const db = typeof database === 'function' ? await database() : database
    onOpen?.(db)
    this.#db = db
    this.#connection = new SqliteConnection(db, statementCacheSize)
    this.#acquired = Promise.resolve(this.#connection)
  }

  // SQLite has one connection per driver: a transaction keeps it from begin to
  // commit/rollback, and every other query waits its turn.
  acquireConnection(): Promise<DatabaseConnection> {
    if (!this.#locked) {
      this.#locked = true
      return this.#acquired!
    }
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  releaseConnection(): Promise<void> {
    const next = this.#waiters.shift()
    // Hand over without unlocking, so nobody can slip in between.
    if (next === undefined) this.#locked = false
    else next(this.#connection!)
    return RESOLVED
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    // IMMEDIATE takes the write lock now: a deferred transaction that later writes
    // must upgrade its lock and fails with SQLITE_BUSY, without waiting, when
    // another connection wrote meanwhile. A read-only one needs no write lock.
    // Isolation levels are ignored: SQLite transactions are serializable.
    return (connection as SqliteConnection).begin(settings.accessMode === 'read only')
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as SqliteConnection).commit()
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as SqliteConnection).rollback()
  }

  async savepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('savepoint', name), createQueryId()))
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('rollback to', name), createQueryId()))
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand('release', name), createQueryId()))
  }

  async destroy(): Promise<void> {
    this.#connection?.clear()
    if (this.#config.closeOnDestroy) this.#db?.close()
    this.#db = undefined
    this.#connection = undefined
    this.#acquired = undefined
  }

  /** Internal: statement cache counters, for tests and diagnostics. Undefined before the first query. */
  statementCacheStats(): StatementCacheStats | undefined {
    return this.#connection?.stats()
  }
}

function savepointCommand(command: string, name: string): RawNode {
  // IdentifierNode quotes the name, as kysely's own savepoint parser does.
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)])
}

class SqliteConnection implements DatabaseConnection {
  readonly #db: SqliteDatabase
  readonly #cache: StatementCache
  #beginImmediate: SqliteStatement | undefined
  #beginDeferred: SqliteStatement | undefined
  #commit: SqliteStatement | undefined
  #rollback: SqliteStatement | undefined

  constructor(db: SqliteDatabase, statementCacheSize: number) {
    this.#db = db
    this.#cache = new StatementCache(db, statementCacheSize)
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const statement = this.#cache.get(compiledQuery.sql)
      if (statement.reader) return Promise.resolve({ rows: statement.all(compiledQuery.parameters) as R[] })
      const { changes, lastInsertRowid } = statement.run(compiledQuery.parameters)
      return Promise.resolve({ rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) })
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 1): AsyncIterableIterator<QueryResult<R>> {
    // Not from the cache: the statement stays busy until the consumer finishes or
    // abandons the stream, and a cached statement must always be ready to run.
    const statement = this.#db.prepare(compiledQuery.sql)
    if (!statement.reader) throw new Error('[cartwright:storage-sqlite] only statements that return rows can be streamed')
    const size = Math.max(1, Math.floor(chunkSize))
    let rows: R[] = []
    for (const row of statement.iterate(compiledQuery.parameters)) {
      rows.push(row as R)
      if (rows.length >= size) {
        yield { rows }
        rows = []
      }
    }
    if (rows.length > 0) yield { rows }
  }

  begin(readOnly: boolean): Promise<void> {
    try {
      if (readOnly) (this.#beginDeferred ??= this.#db.prepare('BEGIN DEFERRED')).run(NO_PARAMETERS)
      else (this.#beginImmediate ??= this.#db.prepare('BEGIN IMMEDIATE')).run(NO_PARAMETERS)
      return RESOLVED
    } catch (error) {
      return Promise.reject(error)
    }
  }

  commit(): Promise<void> {
    try {
      // An error such as SQLITE_FULL or SQLITE_IOERR makes SQLite roll back on its
      // own; if the caller swallowed it, say so instead of "no transaction is active".
      if (!this.#db.inTransaction) throw new AbortedTransactionError()
      ;(this.#commit ??= this.#db.prepare('COMMIT')).run(NO_PARAMETERS)
      return RESOLVED
    } catch (error) {
      return Promise.reject(error)
    }
  }

  rollback(): Promise<void> {
    try {
      // Already rolled back by SQLite: a failing ROLLBACK would hide the error that caused it.
      if (this.#db.inTransaction) (this.#rollback ??= this.#db.prepare('ROLLBACK')).run(NO_PARAMETERS)
      return RESOLVED
    } catch (error) {
      return Promise.reject(error)
    }
  }

  clear(): void {
    this.#cache.clear()
  }

  stats(): StatementCacheStats {
    return this.#cache.stats()
  }
}
