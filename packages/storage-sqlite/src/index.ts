export { sqliteStorage } from './sqlite-storage.js'
export type { SqliteStorageOptions } from './sqlite-storage-options.js'
export type { SqliteDatabase, SqliteRunResult, SqliteStatement } from './sqlite-database.js'
