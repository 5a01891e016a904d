import { Kysely, sql, type Generated } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresStorage } from '../src/index.js'
import { freshDatabase, type FreshDatabase } from './support/fresh-database.js'

interface Database {
  ledger: { id: Generated<number>; label: string; amount: number; total: number | null }
  jobs: { id: number; claimed_by: string | null }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER // 2^53 - 1

let database: FreshDatabase
let db: Kysely<Database>

beforeAll(async () => {
  database = await freshDatabase()
  db = new Kysely<Database>({ dialect: postgresStorage({ connectionString: database.url }).createDialect() })
  await db.schema
    .createTable('ledger')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('total', 'numeric')
    .execute()
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('claimed_by', 'text')
    .execute()
})

afterAll(async () => {
  await db?.destroy()
  await database?.drop()
})

describe('postgresStorage', () => {
  it('describes itself as a postgres adapter with row locks, skip locked and sequences', () => {
    const storage = postgresStorage({ connectionString: 'postgres://localhost/unused' })
    expect(storage.id).toBe('postgres')
    expect(storage.family).toBe('postgres')
    expect(storage.capabilities).toEqual({ rowLocks: true, skipLocked: true, sequences: true })
  })

  it('does not connect until the first query', () => {
    const storage = postgresStorage({ connectionString: 'postgres://nobody@127.0.0.1:1/nowhere' })
    expect(() => new Kysely({ dialect: storage.createDialect() })).not.toThrow()
  })
})

describe('kysely through the adapter', () => {
  it('inserts with returning, selects and updates', async () => {
    const inserted = await db
      .insertInto('ledger')
      .values({ label: 'first', amount: 1250 })
      .returning(['id', 'label', 'amount'])
      .executeTakeFirstOrThrow()
    expect(inserted).toEqual({ id: expect.any(Number), label: 'first', amount: 1250 })

    const updated = await db
      .updateTable('ledger')
      .set({ amount: 1300 })
      .where('id', '=', inserted.id)
      .executeTakeFirstOrThrow()
    expect(updated.numUpdatedRows).toBe(1n)

    const row = await db.selectFrom('ledger').selectAll().where('id', '=', inserted.id).executeTakeFirstOrThrow()
    expect(row).toEqual({ id: inserted.id, label: 'first', amount: 1300, total: null })
  })

  it('reads bigint columns as numbers, up to 2^53 - 1', async () => {
    const row = await db
      .insertInto('ledger')
      .values({ label: 'max', amount: MAX_SAFE })
      .returning(['id', 'amount'])
      .executeTakeFirstOrThrow()
    expect(typeof row.id).toBe('number')
    expect(row.amount).toBe(MAX_SAFE)
    const negative = await sql<{ value: number }>`select ${-MAX_SAFE}::bigint as value`.execute(db)
    expect(negative.rows[0]?.value).toBe(-MAX_SAFE)
  })

  it('reads numeric as a number, including sum(bigint), and bigint arrays as number arrays', async () => {
    const { rows } = await sql<{ total: number; ratio: number; sum: number; ids: number[] }>`
      select 1999::numeric as total, 0.075::numeric as ratio,
             (select sum(x) from (values (${MAX_SAFE - 1}::bigint), (1::bigint)) v(x)) as sum,
             array[1::bigint, ${MAX_SAFE}::bigint, null] as ids`.execute(db)
    expect(rows[0]).toEqual({ total: 1999, ratio: 0.075, sum: MAX_SAFE, ids: [1, MAX_SAFE, null] })
  })

  it('refuses to read an integer beyond 2^53 - 1 rather than round it', async () => {
    await expect(sql`select 9007199254740993::bigint as value`.execute(db)).rejects.toThrow(
      /\[cartwright:storage-postgres\] int8 value 9007199254740993 is beyond Number.MAX_SAFE_INTEGER/,
    )
    await expect(sql`select 9007199254740993::numeric as value`.execute(db)).rejects.toThrow(/numeric value/)
    // The connection is still usable afterwards.
    const after = await sql<{ one: number }>`select 1::bigint as one`.execute(db)
    expect(after.rows[0]?.one).toBe(1)
  })

  it("leaves pg's global type parsers alone", () => {
    expect(pg.types.getTypeParser(20, 'text')('42')).toBe('42')
    expect(pg.types.getTypeParser(1700, 'text')('42')).toBe('42')
  })

  it('cancels statements that run past statementTimeoutMs', async () => {
    const storage = postgresStorage({ connectionString: database.url, statementTimeoutMs: 50 })
    const timed = new Kysely({ dialect: storage.createDialect() })
    try {
      await expect(sql`select pg_sleep(5)`.execute(timed)).rejects.toMatchObject({ code: '57014' })
    } finally {
      await timed.destroy()
    }
  })

  it('returns timestamptz as Date', async () => {
    const { rows } = await sql<{ at: Date }>`select now() as at`.execute(db)
    expect(rows[0]?.at).toBeInstanceOf(Date)
  })

  it('rolls back a transaction whose callback throws', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('ledger').values({ label: 'rolled-back', amount: 1 }).execute()
        throw new Error('abort checkout')
      }),
    ).rejects.toThrow('abort checkout')
    const rows = await db.selectFrom('ledger').select('id').where('label', '=', 'rolled-back').execute()
    expect(rows).toEqual([])
  })

  it('commits a transaction whose callback returns', async () => {
    await db.transaction().execute((trx) => trx.insertInto('ledger').values({ label: 'committed', amount: 2 }).execute())
    const rows = await db.selectFrom('ledger').select('amount').where('label', '=', 'committed').execute()
    expect(rows).toEqual([{ amount: 2 }])
  })
})

describe('FOR UPDATE SKIP LOCKED', () => {
  it('lets two concurrent transactions claim disjoint rows', async () => {
    await db.insertInto('jobs').values([1, 2, 3, 4, 5, 6].map((id) => ({ id, claimed_by: null }))).execute()

    // Each transaction locks its rows, then waits until the other has locked
    // too, so both claims overlap in time.
    let arrivals = 0
    let release!: () => void
    const bothLocked = new Promise<void>((resolve) => (release = resolve))
    const claim = (worker: string) =>
      db.transaction().execute(async (trx) => {
        const rows = await trx
          .selectFrom('jobs')
          .select('id')
          .where('claimed_by', 'is', null)
          .orderBy('id')
          .limit(3)
          .forUpdate()
          .skipLocked()
          .execute()
        if (++arrivals === 2) release()
        await bothLocked
        const ids = rows.map((r) => r.id)
        if (ids.length > 0) await trx.updateTable('jobs').set({ claimed_by: worker }).where('id', 'in', ids).execute()
        return ids
      })

    const [a, b] = await Promise.all([claim('a'), claim('b')])
    expect(a).toHaveLength(3)
    expect(b).toHaveLength(3)
    expect(new Set([...a, ...b])).toEqual(new Set([1, 2, 3, 4, 5, 6]))

    const claimed = await db.selectFrom('jobs').select(['id', 'claimed_by']).orderBy('id').execute()
    expect(claimed.every((row) => row.claimed_by !== null)).toBe(true)
  })
})

describe('a pool the host built', () => {
  it('is used for queries, with numbers for bigint, and is not ended by db.destroy()', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 2 })
    pool.on('error', () => {})
    try {
      const hostDb = new Kysely<Database>({ dialect: postgresStorage({ pool }).createDialect() })
      const { rows } = await sql<{ value: number }>`select ${MAX_SAFE}::bigint as value`.execute(hostDb)
      expect(rows[0]?.value).toBe(MAX_SAFE)
      await hostDb.destroy()

      expect(pool.ended).toBe(false)
      // The host's own queries keep pg's defaults: bigint as string.
      const own = await pool.query('select 42::bigint as value')
      expect(own.rows[0]).toEqual({ value: '42' })
    } finally {
      await pool.end()
    }
  })

  it('ends a pool it built itself on db.destroy()', async () => {
    const own = new Kysely({ dialect: postgresStorage({ connectionString: database.url }).createDialect() })
    await sql`select 1`.execute(own)
    await own.destroy()
    await expect(sql`select 1`.execute(own)).rejects.toThrow()
  })
})
