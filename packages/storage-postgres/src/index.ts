export { postgresStorage } from './postgres-storage.js'
export type {
  PostgresConnectionOptions,
  PostgresHostPoolOptions,
  PostgresPoolSettings,
  PostgresStorageOptions,
} from './postgres-storage-options.js'
export type { PgPool, PgPoolClient, PgQueryResult, PgTypeParser, PgTypeParsers } from './pg-subset.js'
