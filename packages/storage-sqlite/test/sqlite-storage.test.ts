import Database from 'better-sqlite3'
import { sql, type Generated } from 'kysely'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CommerceError, isCommerceError } from '@cartwright/core'
import { sqliteStorage } from '../src/index.js'
import { openKysely, tempDir } from './helpers.js'

interface Schema {
  product: { id: Generated<number>; handle: string; stock: number }
}

const dir = tempDir()
afterAll(() => dir.remove())

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function open(options: Parameters<typeof sqliteStorage>[0]) {
  const opened = openKysely<Schema>(sqliteStorage(options))
  cleanups.push(() => opened.db.destroy())
  return opened
}

describe('sqliteStorage', () => {
  it('describes itself as a sqlite adapter without row locks, skip locked or sequences', () => {
    const storage = sqliteStorage()
    expect(storage.id).toBe('sqlite')
    expect(storage.family).toBe('sqlite')
    expect(storage.capabilities).toEqual({ rowLocks: false, skipLocked: false, sequences: false })
  })

  describe.each([
    ['an in-memory database', () => ({ filename: ':memory:' })],
    ['a file database', () => ({ filename: dir.path(`crud-${Math.random()}.db`) })],
    ['a host-provided database', () => ({ database: new Database(':memory:') })],
  ])('on %s', (_name, options) => {
    it('creates tables, inserts with RETURNING, selects, updates and deletes through kysely', async () => {
      const { db } = open(options())
      await db.schema
        .createTable('product')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('handle', 'text', (c) => c.notNull().unique())
        .addColumn('stock', 'integer', (c) => c.notNull())
        .execute()

      const inserted = await db
        .insertInto('product')
        .values([
          { handle: 'mug', stock: 3 },
          { handle: 'tee', stock: 0 },
        ])
        .returning(['id', 'handle'])
        .execute()
      expect(inserted).toEqual([
        { id: 1, handle: 'mug' },
        { id: 2, handle: 'tee' },
      ])

      const plain = await db.insertInto('product').values({ handle: 'cap', stock: 1 }).executeTakeFirstOrThrow()
      expect(plain.insertId).toBe(3n)
      expect(plain.numInsertedOrUpdatedRows).toBe(1n)

      const updated = await db.updateTable('product').set({ stock: 9 }).where('stock', '<', 5).executeTakeFirstOrThrow()
      expect(updated.numUpdatedRows).toBe(3n)

      const deleted = await db.deleteFrom('product').where('handle', '=', 'tee').executeTakeFirstOrThrow()
      expect(deleted.numDeletedRows).toBe(1n)

      const rows = await db.selectFrom('product').select(['handle', 'stock']).orderBy('id').execute()
      expect(rows).toEqual([
        { handle: 'mug', stock: 9 },
        { handle: 'cap', stock: 9 },
      ])
    })
  })

  describe('on open', () => {
    it('puts a file database in WAL mode with synchronous NORMAL, foreign keys and the default busy timeout', async () => {
      const { db } = open({ filename: dir.path('pragmas.db') })
      expect(await pragma(db, 'journal_mode')).toBe('wal')
      expect(await pragma(db, 'synchronous')).toBe(1) // NORMAL
      expect(await pragma(db, 'foreign_keys')).toBe(1)
      expect(await pragma(db, 'busy_timeout')).toBe(5000)
    })

    it("caps the page cache at SQLite's default 2 MiB, or at cacheSizeKiB", async () => {
      expect(await pragma(open({ filename: dir.path('cache-default.db') }).db, 'cache_size')).toBe(-2048)
      expect(await pragma(open({ filename: dir.path('cache-16m.db'), cacheSizeKiB: 16_384 }).db, 'cache_size')).toBe(-16_384)
    })

    it('uses the configured busy timeout and leaves the journal alone when wal is false', async () => {
      const { db } = open({ filename: dir.path('no-wal.db'), busyTimeoutMs: 1234, wal: false })
      expect(await pragma(db, 'journal_mode')).toBe('delete')
      expect(await pragma(db, 'busy_timeout')).toBe(1234)
      expect(await pragma(db, 'foreign_keys')).toBe(1)
    })

    it('turns on foreign keys and the busy timeout for an in-memory database', async () => {
      const { db } = open({})
      expect(await pragma(db, 'journal_mode')).toBe('memory')
      expect(await pragma(db, 'foreign_keys')).toBe(1)
      expect(await pragma(db, 'busy_timeout')).toBe(5000)
    })

    it('configures a host-provided database too', async () => {
      const database = new Database(dir.path('host.db'))
      cleanups.push(() => void database.close())
      const { db } = open({ database, busyTimeoutMs: 250 })
      await sql`select 1`.execute(db)
      expect(database.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(database.pragma('busy_timeout', { simple: true })).toBe(250)
      expect(database.pragma('foreign_keys', { simple: true })).toBe(1)
    })

    it('opens nothing until the first query', () => {
      const filename = dir.path('lazy.db')
      open({ filename })
      expect(() => new Database(filename, { fileMustExist: true })).toThrow()
    })
  })

  describe('destroy', () => {
    it('closes a database the adapter opened', async () => {
      const filename = dir.path('owned.db')
      const { db } = openKysely(sqliteStorage({ filename }))
      await sql`create table t (x)`.execute(db)
      await db.destroy()
      // A closed connection released its WAL files' lock; another can take an exclusive lock.
      const other = new Database(filename)
      other.pragma('locking_mode = EXCLUSIVE')
      expect(() => other.exec('BEGIN EXCLUSIVE; COMMIT')).not.toThrow()
      other.close()
    })

    it('leaves a host-provided database open', async () => {
      const database = new Database(':memory:')
      const { db } = openKysely(sqliteStorage({ database }))
      await sql`create table t (x)`.execute(db)
      await db.destroy()
      expect(database.open).toBe(true)
      expect(database.prepare('select count(*) as n from t').get()).toEqual({ n: 0 })
      database.close()
    })
  })

  describe('options', () => {
    it.each([
      [{ filename: 42 }, /^\[cartwright:storage-sqlite\] .*filename/],
      [{ filename: '' }, /^\[cartwright:storage-sqlite\] .*filename/],
      [{ busyTimeoutMs: -1 }, /^\[cartwright:storage-sqlite\] .*busyTimeoutMs/],
      [{ busyTimeoutMs: 1.5 }, /^\[cartwright:storage-sqlite\] .*busyTimeoutMs/],
      [{ statementCacheSize: -5 }, /^\[cartwright:storage-sqlite\] .*statementCacheSize/],
      [{ statementCacheSize: '1000' }, /^\[cartwright:storage-sqlite\] .*statementCacheSize/],
      [{ cacheSizeKiB: -1 }, /^\[cartwright:storage-sqlite\] .*cacheSizeKiB/],
      [{ cacheSizeKiB: 0.5 }, /^\[cartwright:storage-sqlite\] .*cacheSizeKiB/],
      [{ wal: 'yes' }, /^\[cartwright:storage-sqlite\] .*wal/],
      [{ database: {} }, /^\[cartwright:storage-sqlite\] .*database/],
      [{ fileName: 'shop.db' }, /^\[cartwright:storage-sqlite\] .*fileName/],
      [null as unknown as object, /^\[cartwright:storage-sqlite\] /],
    ])('rejects %j with a prefixed error naming the option', (options, message) => {
      expect(() => sqliteStorage(options as never)).toThrow(message)
    })

    it('rejects filename and database together', () => {
      const database = new Database(':memory:')
      try {
        expect(() => sqliteStorage({ filename: 'shop.db', database })).toThrow(
          /^\[cartwright:storage-sqlite\] .*filename and database are mutually exclusive/,
        )
      } finally {
        database.close()
      }
    })

    it('throws a CONFIGURATION CommerceError naming each bad option, as core factories do', () => {
      let thrown: unknown
      try {
        sqliteStorage({ busyTimeoutMs: -1, wal: 'yes' } as never)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(CommerceError)
      expect(isCommerceError(thrown, 'CONFIGURATION')).toBe(true)
      expect((thrown as CommerceError).details['issues']).toEqual([
        { path: 'busyTimeoutMs', message: expect.any(String) },
        { path: 'wal', message: expect.any(String) },
      ])
    })
  })
})

async function pragma(db: import('kysely').Kysely<any>, name: string): Promise<unknown> {
  const { rows } = await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(db)
  return Object.values(rows[0] ?? {})[0]
}
