import { SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, type Dialect } from 'kysely'
import { CachingSqliteDriver, type SqliteDriverConfig } from './sqlite-driver.js'

/**
 * A kysely dialect: kysely's own SQLite adapter, introspector and query compiler
 * over the statement-caching driver. Each `createDriver()` (one per `Kysely`
 * instance) gets its own connection.
 */
export function sqliteDialect(config: SqliteDriverConfig): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new CachingSqliteDriver(config),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  }
}
