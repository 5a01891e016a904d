import Database from 'better-sqlite3'
import { isAbortedTransactionError, sql, type Generated, type Kysely } from 'kysely'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { sqliteStorage } from '../src/index.js'
import { openKysely, tempDir } from './helpers.js'

interface Schema {
  item: { id: Generated<number>; name: string }
}

const dir = tempDir()
afterAll(() => dir.remove())

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function open(options: Parameters<typeof sqliteStorage>[0] = {}) {
  const opened = openKysely<Schema>(sqliteStorage(options))
  cleanups.push(() => opened.db.destroy())
  await sql`create table item (id integer primary key, name text not null unique)`.execute(opened.db)
  return opened
}

const count = async (db: Kysely<Schema>): Promise<number> =>
  Number((await db.selectFrom('item').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

describe('statement cache', () => {
  it('prepares each distinct SQL text once and reuses it', async () => {
    const database = new Database(':memory:')
    cleanups.push(() => void database.close())
    const prepared: string[] = []
    const prepare = database.prepare.bind(database)
    database.prepare = ((source: string) => {
      prepared.push(source)
      return prepare(source)
    }) as typeof database.prepare

    const { db, driver } = await open({ database })
    const before = driver().statementCacheStats()!
    for (let i = 0; i < 50; i++) {
      await db.insertInto('item').values({ name: `n${i}` }).execute()
      await db.selectFrom('item').selectAll().where('id', '=', i + 1).executeTakeFirstOrThrow()
    }
    const after = driver().statementCacheStats()!

    expect(after.misses - before.misses).toBe(2)
    expect(after.hits - before.hits).toBe(98)
    expect(prepared.filter((s) => s.startsWith('insert into "item"'))).toHaveLength(1)
    expect(prepared.filter((s) => s.startsWith('select * from "item"'))).toHaveLength(1)
  })

  it('keeps at most statementCacheSize statements, evicting the least recently used', async () => {
    const { db, driver } = await open({ statementCacheSize: 2 })
    const q = (n: number) => sql`select ${sql.lit(n)} as n`.execute(db)
    await q(1)
    await q(2)
    await q(1) // 1 is now the most recently used
    await q(3) // evicts 2
    const before = driver().statementCacheStats()!
    expect(before.size).toBe(2)
    await q(1)
    await q(3)
    expect(driver().statementCacheStats()!.hits - before.hits).toBe(2)
    await q(2)
    const after = driver().statementCacheStats()!
    expect(after.misses - before.misses).toBe(1)
    expect(after.size).toBe(2)
    expect(after.evictions).toBeGreaterThanOrEqual(2)
  })

  it('prepares every time when statementCacheSize is 0', async () => {
    const { db, driver } = await open({ statementCacheSize: 0 })
    await sql`select 1`.execute(db)
    await sql`select 1`.execute(db)
    expect(driver().statementCacheStats()).toMatchObject({ size: 0, hits: 0 })
  })

  it('does not cache a statement that fails to prepare', async () => {
    const { db, driver } = await open()
    const before = driver().statementCacheStats()!.size
    await expect(sql`select * from missing_table`.execute(db)).rejects.toThrow(/no such table/)
    expect(driver().statementCacheStats()!.size).toBe(before)
  })

  it('still works after the schema changes under a cached statement', async () => {
    const { db } = await open()
    await db.insertInto('item').values({ name: 'a' }).execute()
    expect(await db.selectFrom('item').selectAll().execute()).toEqual([{ id: 1, name: 'a' }])
    await sql`alter table item add column note text`.execute(db)
    expect(await db.selectFrom('item').selectAll().execute()).toEqual([{ id: 1, name: 'a', note: null }])
  })
})

describe('transactions', () => {
  it('commits what the callback wrote', async () => {
    const { db } = await open()
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('item').values({ name: 'a' }).execute()
      await trx.insertInto('item').values({ name: 'b' }).execute()
    })
    expect(await count(db)).toBe(2)
  })

  it('rolls back everything when the callback throws', async () => {
    const { db } = await open()
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('item').values({ name: 'a' }).execute()
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await count(db)).toBe(0)
  })

  it('rolls back when a statement inside fails, and reports that statement’s error', async () => {
    const { db } = await open()
    await db.insertInto('item').values({ name: 'a' }).execute()
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('item').values({ name: 'b' }).execute()
        await trx.insertInto('item').values({ name: 'a' }).execute()
      }),
    ).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' })
    expect(await count(db)).toBe(1)
  })

  it('takes the write lock at BEGIN (IMMEDIATE), before any statement', async () => {
    const filename = dir.path('immediate.db')
    const { db } = await open({ filename })
    const trx = await db.startTransaction().execute()
    const other = new Database(filename, { timeout: 0 })
    try {
      expect(() => other.exec('BEGIN IMMEDIATE')).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }))
    } finally {
      other.close()
      await trx.rollback().execute()
    }
  })

  it('begins a read-only transaction without the write lock', async () => {
    const filename = dir.path('read-only.db')
    const { db } = await open({ filename })
    const trx = await db.startTransaction().setAccessMode('read only').execute()
    await trx.selectFrom('item').selectAll().execute()
    const other = new Database(filename, { timeout: 0 })
    try {
      expect(() => other.exec("BEGIN IMMEDIATE; INSERT INTO item (name) VALUES ('x'); COMMIT")).not.toThrow()
    } finally {
      other.close()
      await trx.commit().execute()
    }
  })

  it('makes other queries wait until the transaction ends', async () => {
    const { db } = await open()
    const order: string[] = []
    let inside!: () => void
    const started = new Promise<void>((resolve) => (inside = resolve))
    const transaction = db.transaction().execute(async (trx) => {
      await trx.insertInto('item').values({ name: 'a' }).execute()
      inside()
      await new Promise((resolve) => setTimeout(resolve, 30))
      await trx.insertInto('item').values({ name: 'b' }).execute()
      order.push('commit')
    })
    await started
    const outside = count(db).then((n) => {
      order.push(`outside saw ${n}`)
    })
    await Promise.all([transaction, outside])
    expect(order).toEqual(['commit', 'outside saw 2'])
  })

  it('serves waiting queries in arrival order', async () => {
    const { db } = await open()
    const seen: number[] = []
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        db
          .insertInto('item')
          .values({ name: `n${i}` })
          .execute()
          .then(() => seen.push(i)),
      ),
    )
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i))
    const names = await db.selectFrom('item').select('name').orderBy('id').execute()
    expect(names.map((r) => r.name)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`))
  })

  it('rolls back to a savepoint and keeps the rest', async () => {
    const { db } = await open()
    const trx = await db.startTransaction().execute()
    await trx.insertInto('item').values({ name: 'kept' }).execute()
    const sp = await trx.savepoint('before_dropped').execute()
    await sp.insertInto('item').values({ name: 'dropped' }).execute()
    const back = await sp.rollbackToSavepoint('before_dropped').execute()
    await back.releaseSavepoint('before_dropped').execute()
    await trx.commit().execute()
    expect(await db.selectFrom('item').select('name').execute()).toEqual([{ name: 'kept' }])
  })

  it('reports a transaction SQLite already rolled back as aborted on commit', async () => {
    const { db } = await open()
    const trx = await db.startTransaction().execute()
    await trx.insertInto('item').values({ name: 'a' }).execute()
    await sql`rollback`.execute(trx) // stands in for SQLite's own rollback after e.g. SQLITE_FULL
    const error = await trx
      .commit()
      .execute()
      .catch((e: unknown) => e)
    expect(isAbortedTransactionError(error)).toBe(true)
    expect(await count(db)).toBe(0)
  })

  it('keeps the callback’s error when SQLite already rolled back', async () => {
    const { db } = await open()
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`rollback`.execute(trx)
        throw new Error('the real problem')
      }),
    ).rejects.toThrow('the real problem')
    // The connection is usable afterwards.
    await db.insertInto('item').values({ name: 'a' }).execute()
    expect(await count(db)).toBe(1)
  })
})

describe('streaming', () => {
  it('streams rows in chunks and can stop early', async () => {
    const { db } = await open()
    await db
      .insertInto('item')
      .values(Array.from({ length: 25 }, (_, i) => ({ name: `n${i}` })))
      .execute()
    const names: string[] = []
    for await (const row of db.selectFrom('item').select('name').orderBy('id').stream(10)) names.push(row.name)
    expect(names).toHaveLength(25)

    let taken = 0
    for await (const _row of db.selectFrom('item').selectAll().stream(3)) if (++taken === 4) break
    // Stopping early released the connection and the statement.
    expect(await count(db)).toBe(25)
  })
})
