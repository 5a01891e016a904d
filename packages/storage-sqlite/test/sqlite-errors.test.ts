import { CommerceError } from '@cartwright/core'
import Database from 'better-sqlite3'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { sqliteStorage } from '../src/index.js'
import { openKysely, tempDir } from './helpers.js'

const dir = tempDir()
afterAll(() => dir.remove())

const storage = sqliteStorage()

/** Runs `fn` and returns what it threw. */
async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a failure')
}

async function withTables<T>(fn: (db: ReturnType<typeof openKysely>['db']) => Promise<T>): Promise<T> {
  const { db } = openKysely(sqliteStorage())
  try {
    await sql`create table parent (id integer primary key, code text unique, qty integer check (qty >= 0))`.execute(db)
    await sql`create table child (id integer primary key, parent_id integer not null references parent (id))`.execute(db)
    await sql`insert into parent (id, code, qty) values (1, 'a', 1)`.execute(db)
    return await fn(db)
  } finally {
    await db.destroy()
  }
}

describe('error classifiers, on errors from real SQLite', () => {
  it('recognise a UNIQUE violation', async () => {
    const error = await withTables((db) => caught(() => sql`insert into parent (code, qty) values ('a', 1)`.execute(db)))
    expect(storage.isUniqueViolation(error)).toBe(true)
    expect(storage.isCheckViolation(error)).toBe(false)
    expect(storage.isRetryable(error)).toBe(false)
  })

  it('recognise a PRIMARY KEY violation as a unique violation', async () => {
    const error = await withTables((db) => caught(() => sql`insert into parent (id, code, qty) values (1, 'b', 1)`.execute(db)))
    expect(storage.isUniqueViolation(error)).toBe(true)
  })

  it('recognise a CHECK violation', async () => {
    const error = await withTables((db) => caught(() => sql`update parent set qty = -1 where id = 1`.execute(db)))
    expect(storage.isCheckViolation(error)).toBe(true)
    expect(storage.isUniqueViolation(error)).toBe(false)
    expect(storage.isRetryable(error)).toBe(false)
  })

  it('do not mistake a FOREIGN KEY or NOT NULL violation for unique or check', async () => {
    const foreignKey = await withTables((db) => caught(() => sql`insert into child (parent_id) values (99)`.execute(db)))
    const notNull = await withTables((db) => caught(() => sql`insert into child (parent_id) values (null)`.execute(db)))
    for (const error of [foreignKey, notNull]) {
      expect(storage.isUniqueViolation(error)).toBe(false)
      expect(storage.isCheckViolation(error)).toBe(false)
      expect(storage.isRetryable(error)).toBe(false)
    }
  })

  it('recognise SQLITE_BUSY when another connection holds the write lock', async () => {
    const filename = dir.path('busy.db')
    const holder = new Database(filename)
    holder.exec('create table t (x)')
    const { db } = openKysely(sqliteStorage({ filename, busyTimeoutMs: 0 }))
    try {
      await sql`select 1`.execute(db) // open before the lock, so the pragmas can run
      holder.exec('BEGIN IMMEDIATE')
      const write = await caught(() => sql`insert into t values (1)`.execute(db))
      const transaction = await caught(() => db.transaction().execute(async () => {}))
      for (const error of [write, transaction]) {
        expect(error).toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) })
        expect(storage.isRetryable(error)).toBe(true)
        expect(storage.isUniqueViolation(error)).toBe(false)
      }
    } finally {
      holder.exec('ROLLBACK')
      holder.close()
      await db.destroy()
    }
  })

  it('look through cause chains (a CommerceError, a plain wrapper)', async () => {
    const unique = await withTables((db) => caught(() => sql`insert into parent (code, qty) values ('a', 1)`.execute(db)))
    const wrapped = new CommerceError('STORAGE', 'write failed', { cause: new Error('insert failed', { cause: unique }) })
    expect(storage.isUniqueViolation(wrapped)).toBe(true)
    expect(storage.isRetryable(new Error('retry me', { cause: { code: 'SQLITE_LOCKED_SHAREDCACHE' } }))).toBe(true)
  })

  it('answer false for anything else, including a cause cycle', () => {
    const cyclic: { code?: string; cause?: unknown } = {}
    cyclic.cause = cyclic
    for (const value of [undefined, null, 'SQLITE_BUSY', 42, new Error('x'), { code: 'ECONNRESET' }, cyclic]) {
      expect(storage.isUniqueViolation(value)).toBe(false)
      expect(storage.isCheckViolation(value)).toBe(false)
      expect(storage.isRetryable(value)).toBe(false)
    }
  })
})
