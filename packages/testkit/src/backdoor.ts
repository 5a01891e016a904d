/** One row as the backdoor's driver returns it: column name to value. */
export type BackdoorRow = Record<string, unknown>

/**
 * Raw access to the database under test that bypasses Cartwright and the adapter, so the
 * suite checks what was really persisted (as Auth.js's adapter tests do), not what the
 * engine says it persisted.
 *
 * The suite sends plain, portable SQL over core's `cw_*` tables with `?` placeholders.
 * It reads through the backdoor, and writes through it only statements the database must
 * reject (a duplicate key, a CHECK violation), so a backdoor never changes the data.
 *
 * Values may come back as the driver gives them: integers as `number`, `bigint` or a
 * decimal string; timestamps as `Date` or text with an offset; JSON as text or an object.
 * The suite normalises them before comparing. Use your own connection (a second
 * better-sqlite3 handle on the same file, a `pg.Pool` on the same database) or, for an
 * in-memory database, the very handle you gave the adapter.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3'
 *
 * const database = new Database('shop.db') // the file the adapter under test writes
 * const backdoor: Backdoor = {
 *   async query(sql, parameters = []) {
 *     const statement = database.prepare(sql)
 *     if (statement.reader) return statement.all(parameters) as BackdoorRow[]
 *     statement.run(parameters)
 *     return []
 *   },
 * }
 * ```
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { numberedParameters } from '@cartwright/testkit'
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const backdoor: Backdoor = {
 *   query: async (sql, parameters = []) => (await pool.query(numberedParameters(sql), [...parameters])).rows,
 * }
 * ```
 */
export interface Backdoor {
  /**
   * Runs one SQL statement and resolves to its rows (`[]` for a statement that returns
   * none); rejects with the driver's error when the database refuses it.
   *
   * @example
   * ```ts
   * async function storedTitle(backdoor: Backdoor, productId: string): Promise<unknown> {
   *   const [row] = await backdoor.query('select title from cw_products where id = ?', [productId])
   *   return row?.title
   * }
   * ```
   */
  query(sql: string, parameters?: readonly unknown[]): Promise<BackdoorRow[]>
}

/**
 * Rewrites `?` placeholders to PostgreSQL's `$1`, `$2`, … (a `?` inside a quoted string
 * or identifier is left alone), for backdoors whose driver numbers its parameters.
 *
 * @example
 * ```ts
 * numberedParameters('select * from cw_orders where id = ? and total > ?')
 * // 'select * from cw_orders where id = $1 and total > $2'
 * ```
 */
export function numberedParameters(sql: string): string {
  let out = ''
  let quote: string | null = null
  let n = 0
  for (const ch of sql) {
    if (quote !== null) {
      if (ch === quote) quote = null
      out += ch
    } else if (ch === "'" || ch === '"') {
      quote = ch
      out += ch
    } else if (ch === '?') {
      out += `$${++n}`
    } else {
      out += ch
    }
  }
  return out
}
