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

/** A cached statement and when it was last used (a tick of the cache's clock). */
interface Entry {
  readonly statement: SqliteStatement
  lastUsed: number
}

/**
 * Prepared statements of one connection, keyed by SQL text, least recently used
 * evicted first. Preparing is most of the cost of a short query in better-sqlite3;
 * kysely emits the same SQL text for the same query shape, so hit rates are high.
 *
 * A hit only stamps its entry with the clock: re-inserting it at the end of the Map
 * (the usual Map-as-LRU trick) would leave a deleted slot per query, and V8 rebuilds the
 * table of a long-lived Map in its old generation each time those fill it. The least
 * recently used entry is found by a scan, on a miss with the cache full only.
 */
export class StatementCache {
  readonly #db: SqliteDatabase
  readonly #capacity: number
  readonly #entries = new Map<string, Entry>()
  #clock = 0
  #hits = 0
  #misses = 0
  #evictions = 0

  constructor(db: SqliteDatabase, capacity: number) {
    this.#db = db
    this.#capacity = capacity
  }

  /** Returns the cached statement for `sql`, preparing (and caching) it on a miss. */
  get(sql: string): SqliteStatement {
    const entry = this.#entries.get(sql)
    if (entry !== undefined) {
      this.#hits++
      entry.lastUsed = ++this.#clock
      return entry.statement
    }
    // A statement that fails to prepare throws here and is not cached.
    const statement = this.#db.prepare(sql)
    this.#misses++
    if (this.#capacity === 0) return statement
    if (this.#entries.size >= this.#capacity) this.#evictLeastRecentlyUsed()
    this.#entries.set(sql, { statement, lastUsed: ++this.#clock })
    return statement
  }

  /** Drops every statement (better-sqlite3 finalises them when they are collected or the database closes). */
  clear(): void {
    this.#entries.clear()
  }

  stats(): StatementCacheStats {
    return {
      size: this.#entries.size,
      capacity: this.#capacity,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    }
  }

  #evictLeastRecentlyUsed(): void {
    let oldest: string | undefined
    let oldestUse = Number.POSITIVE_INFINITY
    for (const [sql, entry] of this.#entries) {
      if (entry.lastUsed < oldestUse) {
        oldest = sql
        oldestUse = entry.lastUsed
      }
    }
    if (oldest === undefined) return
    this.#entries.delete(oldest)
    this.#evictions++
  }
}
