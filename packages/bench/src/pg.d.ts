// The slice of pg's API the PostgreSQL bench calls. Declared here so the private bench
// package needs no @types/pg of its own (as with better-sqlite3.d.ts).
declare module 'pg' {
  interface QueryResult<R = any> {
    command: string
    rowCount: number | null
    rows: R[]
  }

  interface QueryConfig {
    /** A name makes pg prepare the statement once per connection and reuse it. */
    name?: string
    text: string
    values?: unknown[]
  }

  interface PoolConfig {
    connectionString: string
    max?: number
    idleTimeoutMillis?: number
    connectionTimeoutMillis?: number
  }

  class Pool {
    constructor(config: PoolConfig)
    query<R = any>(config: QueryConfig): Promise<QueryResult<R>>
    query<R = any>(text: string, values?: unknown[]): Promise<QueryResult<R>>
    on(event: 'error', listener: (error: Error) => void): this
    end(): Promise<void>
  }

  class Client {
    constructor(config: { connectionString: string })
    connect(): Promise<void>
    query<R = any>(config: QueryConfig): Promise<QueryResult<R>>
    query<R = any>(text: string, values?: unknown[]): Promise<QueryResult<R>>
    on(event: 'error', listener: (error: Error) => void): this
    escapeIdentifier(identifier: string): string
    end(): Promise<void>
  }

  const pg: { Pool: typeof Pool; Client: typeof Client }
  export type { QueryConfig, QueryResult, PoolConfig }
  export { Pool, Client }
  export default pg
}
