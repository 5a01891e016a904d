// The slice of better-sqlite3's API the benchmarks call. Declared here so the private
// bench package needs no @types/better-sqlite3 of its own.
declare module 'better-sqlite3' {
  interface RunResult {
    changes: number
    lastInsertRowid: number | bigint
  }

  interface Statement {
    readonly reader: boolean
    run(...parameters: unknown[]): RunResult
    get(...parameters: unknown[]): unknown
    all(...parameters: unknown[]): unknown[]
    iterate(...parameters: unknown[]): IterableIterator<unknown>
  }

  interface Transaction<F extends (...args: any[]) => unknown> {
    (...args: Parameters<F>): ReturnType<F>
    deferred(...args: Parameters<F>): ReturnType<F>
    immediate(...args: Parameters<F>): ReturnType<F>
    exclusive(...args: Parameters<F>): ReturnType<F>
  }

  class Database {
    constructor(filename: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number })
    readonly memory: boolean
    readonly inTransaction: boolean
    prepare(sql: string): Statement
    exec(sql: string): this
    pragma(source: string, options?: { simple?: boolean }): unknown
    transaction<F extends (...args: any[]) => unknown>(fn: F): Transaction<F>
    close(): this
  }

  export type { RunResult, Statement, Transaction }
  export default Database
}
