import type { SqliteDatabase, SqliteStatement } from './sqlite-database.js'

/** Counters of a {@link StatementCache}, for tests and diagnostics. */
export interface StatementCacheStats {
  /** Statements currently cached. */
  size: number
  /** Most statements kept; 0 disables caching. */
  capacity: number
  /** Lookups served from the cache. */
  hits: number
  /** Lookups that had to prepare (each one a `prepare()` call). */
  misses: number
  /** Least recently used statements dropped to stay within capacity. */
  evictions: number
}

/**
 * Prepared statements of one connection, keyed by SQL text, least recently used
 * evicted first. Preparing is most of the cost of a short query in better-sqlite3;
 * kysely emits the same SQL text for the same query shape, so hit rates are high.
 *
 * A Map iterates in insertion order, so re-inserting on a hit keeps the least
 * recently used entry first.
 */
export class StatementCache {
  readonly #db: SqliteDatabase
  readonly #capacity: number
  readonly #statements = new Map<string, SqliteStatement>()
  #hits = 0
  #misses = 0
  #evictions = 0

  constructor(db: SqliteDatabase, capacity: number) {
    this.#db = db
    this.#capacity = capacity
  }

  /** Returns the cached statement for `sql`, preparing (and caching) it on a miss. */
  get(sql: string): SqliteStatement {
    const statements = this.#statements
    let statement = statements.get(sql)
    if (statement !== undefined) {
      this.#hits++
      statements.delete(sql)
      statements.set(sql, statement)
      return statement
    }
    // A statement that fails to prepare throws here and is not cached.
    statement = this.#db.prepare(sql)
    this.#misses++
    if (this.#capacity === 0) return statement
    if (statements.size >= this.#capacity) {
      statements.delete(statements.keys().next().value as string)
      this.#evictions++
    }
    statements.set(sql, statement)
    return statement
  }

  /** Drops every statement (better-sqlite3 finalises them when they are collected or the database closes). */
  clear(): void {
    this.#statements.clear()
  }

  stats(): StatementCacheStats {
    return {
      size: this.#statements.size,
      capacity: this.#capacity,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    }
  }
}
