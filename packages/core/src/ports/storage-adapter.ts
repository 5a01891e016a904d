import type { Dialect } from 'kysely'

/** SQL family of a storage adapter; selects migrations and the few dialect-specific statements. */
export type SqlFamily = 'sqlite' | 'postgres'

/**
 * What a storage adapter can do beyond the required contract. Core picks its
 * strategy from these flags (row locks or a database-wide write lock, skip-locked
 * claiming or single-writer claiming).
 */
export interface StorageCapabilities {
  /** `SELECT … FOR UPDATE` is supported (PostgreSQL). Without it, write transactions must be serialised by the database. */
  rowLocks: boolean
  /** `FOR UPDATE SKIP LOCKED` is supported, so several dispatchers can claim outbox rows at once. */
  skipLocked: boolean
  /** Native sequences (`nextval`) exist for order numbers. */
  sequences: boolean
}

/**
 * The contract a storage adapter implements. Core owns the schema, migrations and
 * every query; an adapter supplies a kysely dialect (driver, connection handling,
 * transaction mode) and tells core how to read its driver's errors.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }) })
 * ```
 */
export interface StorageAdapter {
  /** Short name used in error messages, e.g. `sqlite` or `postgres`. */
  readonly id: string
  /** SQL family; selects migrations and dialect-specific SQL. */
  readonly family: SqlFamily
  readonly capabilities: StorageCapabilities
  /**
   * Returns the kysely dialect. Called once by `createCommerce`. A write
   * transaction begun through it must hold what it needs to stay consistent:
   * on SQLite, the write lock from the start (`BEGIN IMMEDIATE`).
   */
  createDialect(): Dialect
  /** True for a unique-constraint violation raised by the driver. */
  isUniqueViolation(error: unknown): boolean
  /** True for a check-constraint violation raised by the driver. */
  isCheckViolation(error: unknown): boolean
  /**
   * True when the failed statement or transaction may succeed if retried:
   * a busy database, a serialisation failure, a deadlock, a lost connection.
   */
  isRetryable(error: unknown): boolean
}
