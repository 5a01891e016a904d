/**
 * The subset of better-sqlite3's `Database` that this package calls. Typed here,
 * not imported, so the package does not depend on better-sqlite3's types; any
 * better-sqlite3 v11 or v12 `Database` satisfies it.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3'
 * import type { SqliteDatabase } from '@cartwright/storage-sqlite'
 *
 * const database: SqliteDatabase = new Database('shop.db')
 * ```
 */
export interface SqliteDatabase {
  /**
   * True for an in-memory database; WAL is only enabled on files.
   *
   * @example
   * ```ts
   * import Database from 'better-sqlite3'
   *
   * new Database(':memory:').memory // true
   * ```
   */
  readonly memory: boolean
  /**
   * True while a transaction is open; lets the driver tell a transaction SQLite
   * already rolled back from one it still has to end.
   *
   * @example
   * ```ts
   * database.prepare('BEGIN').run([])
   * database.inTransaction // true
   * ```
   */
  readonly inTransaction: boolean
  /**
   * Compiles one SQL statement.
   *
   * @example
   * ```ts
   * const rows = database.prepare('select id from product where handle = ?').all(['mug'])
   * ```
   */
  prepare(sql: string): SqliteStatement
  /**
   * Runs a PRAGMA; with `{ simple: true }` returns the first column of the first row.
   *
   * @example
   * ```ts
   * database.pragma('journal_mode', { simple: true }) // 'wal'
   * ```
   */
  pragma(source: string, options?: { simple?: boolean }): unknown
  /**
   * Closes the connection.
   *
   * @example
   * ```ts
   * database.close()
   * ```
   */
  close(): unknown
}

/**
 * The subset of better-sqlite3's `Statement` that this package calls.
 *
 * @example
 * ```ts
 * const statement: SqliteStatement = database.prepare('insert into tag (name) values (?) returning id')
 * statement.reader // true: RETURNING makes it return rows
 * ```
 */
export interface SqliteStatement {
  /**
   * True when the statement returns rows (a SELECT, a PRAGMA, or a write with RETURNING).
   *
   * @example
   * ```ts
   * database.prepare('delete from tag').reader // false
   * ```
   */
  readonly reader: boolean
  /**
   * Runs a reader and returns every row.
   *
   * @example
   * ```ts
   * database.prepare('select * from tag where name = ?').all(['sale'])
   * ```
   */
  all(parameters: ReadonlyArray<unknown>): unknown[]
  /**
   * Runs a non-reader and reports what it changed.
   *
   * @example
   * ```ts
   * database.prepare('delete from tag where name = ?').run(['sale']).changes // 1
   * ```
   */
  run(parameters: ReadonlyArray<unknown>): SqliteRunResult
  /**
   * Runs a reader and yields its rows one at a time.
   *
   * @example
   * ```ts
   * for (const row of database.prepare('select * from tag').iterate([])) console.log(row)
   * ```
   */
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown>
}

/**
 * What better-sqlite3's `Statement.run()` returns.
 *
 * @example
 * ```ts
 * const { changes, lastInsertRowid }: SqliteRunResult = database.prepare('insert into tag (name) values (?)').run(['sale'])
 * ```
 */
export interface SqliteRunResult {
  /** Rows inserted, updated or deleted. @example `1` */
  changes: number | bigint
  /** Rowid of the last row inserted on this connection. @example `42` */
  lastInsertRowid: number | bigint
}
