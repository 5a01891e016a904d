import { Kysely, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresStorage } from '../src/index.js'
import { freshDatabase, type FreshDatabase } from './support/fresh-database.js'

interface Database {
  accounts: { id: number; email: string; balance: number }
}

let database: FreshDatabase
let admin: pg.Client
const storage = () => postgresStorage({ connectionString: database.url, pool: { max: 1 } })
const classify = (error: unknown) => {
  const s = postgresStorage({ connectionString: 'postgres://unused' })
  return { unique: s.isUniqueViolation(error), check: s.isCheckViolation(error), retryable: s.isRetryable(error) }
}
const open = () => new Kysely<Database>({ dialect: storage().createDialect() })
const failureOf = async (work: Promise<unknown>): Promise<unknown> => {
  try {
    await work
  } catch (error) {
    return error
  }
  throw new Error('expected the operation to fail')
}

beforeAll(async () => {
  database = await freshDatabase()
  admin = new pg.Client({ connectionString: database.url })
  await admin.connect()
  await admin.query(`
    create table accounts (
      id integer primary key,
      email text not null unique,
      balance bigint not null check (balance >= 0)
    );
    insert into accounts values (1, 'a@example.com', 100), (2, 'b@example.com', 100);
  `)
})

afterAll(async () => {
  await admin?.end()
  await database?.drop()
})

/** Waits until the backend `pid` is in `state` ('active', 'idle', …) or gone (`null`). */
async function backendState(pid: number, state: string | null): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { rows } = await admin.query('select state from pg_stat_activity where pid = $1', [pid])
    if ((rows[0]?.state ?? null) === state) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`backend ${pid} never reached state ${state}`)
}

async function backendPid(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)
  return rows[0]!.pid
}

describe('isUniqueViolation / isCheckViolation', () => {
  it('recognise a real unique violation, and only that', async () => {
    const db = open()
    try {
      const error = await failureOf(db.insertInto('accounts').values({ id: 3, email: 'a@example.com', balance: 0 }).execute())
      expect(classify(error)).toEqual({ unique: true, check: false, retryable: false })
    } finally {
      await db.destroy()
    }
  })

  it('recognise a real check violation, and only that', async () => {
    const db = open()
    try {
      const error = await failureOf(db.updateTable('accounts').set({ balance: -1 }).where('id', '=', 1).execute())
      expect(classify(error)).toEqual({ unique: false, check: true, retryable: false })
    } finally {
      await db.destroy()
    }
  })

  it('look through cause chains', async () => {
    const db = open()
    try {
      const error = await failureOf(db.insertInto('accounts').values({ id: 1, email: 'c@example.com', balance: 0 }).execute())
      const wrapped = new Error('storage failed', { cause: new Error('insert failed', { cause: error }) })
      expect(classify(wrapped)).toEqual({ unique: true, check: false, retryable: false })
    } finally {
      await db.destroy()
    }
  })

  it('say no to things that are not errors', () => {
    for (const value of [undefined, null, 'boom', 23505, { code: 23505 }]) {
      expect(classify(value)).toEqual({ unique: false, check: false, retryable: false })
    }
  })
})

describe('isRetryable with real failures', () => {
  it('is true for a lock not available (NOWAIT while another transaction holds the row)', async () => {
    const a = open()
    const b = open()
    const holder = await a.startTransaction().execute()
    try {
      await holder.selectFrom('accounts').select('id').where('id', '=', 1).forUpdate().execute()
      const error = await failureOf(b.selectFrom('accounts').select('id').where('id', '=', 1).forUpdate().noWait().execute())
      expect((error as { code?: string }).code).toBe('55P03')
      expect(classify(error).retryable).toBe(true)
    } finally {
      await holder.rollback().execute()
      await Promise.all([a.destroy(), b.destroy()])
    }
  })

  it('is true for a serialization failure (repeatable read, concurrent update)', async () => {
    const a = open()
    const b = open()
    const reader = await a.startTransaction().setIsolationLevel('repeatable read').execute()
    try {
      await reader.selectFrom('accounts').select('balance').where('id', '=', 2).execute()
      await b.updateTable('accounts').set({ balance: 101 }).where('id', '=', 2).execute()
      const error = await failureOf(reader.updateTable('accounts').set({ balance: 99 }).where('id', '=', 2).execute())
      expect((error as { code?: string }).code).toBe('40001')
      expect(classify(error).retryable).toBe(true)
    } finally {
      await reader.rollback().execute()
      await Promise.all([a.destroy(), b.destroy()])
    }
  })

  it('is true for a deadlock (rows locked in opposite orders)', async () => {
    const a = open()
    const b = open()
    const first = await a.startTransaction().execute()
    const second = await b.startTransaction().execute()
    try {
      await sql`set local deadlock_timeout = '50ms'`.execute(first)
      await sql`set local deadlock_timeout = '50ms'`.execute(second)
      await first.selectFrom('accounts').select('id').where('id', '=', 1).forUpdate().execute()
      await second.selectFrom('accounts').select('id').where('id', '=', 2).forUpdate().execute()
      const outcomes = await Promise.allSettled([
        first.selectFrom('accounts').select('id').where('id', '=', 2).forUpdate().execute(),
        second.selectFrom('accounts').select('id').where('id', '=', 1).forUpdate().execute(),
      ])
      const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')
      expect(failures).toHaveLength(1)
      expect((failures[0]!.reason as { code?: string }).code).toBe('40P01')
      expect(classify(failures[0]!.reason).retryable).toBe(true)
    } finally {
      await Promise.all([first.rollback().execute(), second.rollback().execute()])
      await Promise.all([a.destroy(), b.destroy()])
    }
  })

  it('is true when the server refuses the connection', async () => {
    const db = new Kysely({
      dialect: postgresStorage({ connectionString: 'postgres://postgres@127.0.0.1:1/none' }).createDialect(),
    })
    try {
      const error = await failureOf(sql`select 1`.execute(db))
      expect(classify(error).retryable).toBe(true)
    } finally {
      await db.destroy()
    }
  })
})

describe('a pooled connection whose backend is terminated (pg_terminate_backend)', () => {
  it('fails the running query with a retryable error; the next query on the pool succeeds', async () => {
    const db = open()
    try {
      const pid = await backendPid(db)
      const running = failureOf(sql`select pg_sleep(30)`.execute(db))
      await backendState(pid, 'active')
      await admin.query('select pg_terminate_backend($1)', [pid])

      const error = await running
      expect(classify(error).retryable).toBe(true)

      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db)
      expect(rows).toEqual([{ one: 1 }])
      expect(await backendPid(db)).not.toBe(pid)
    } finally {
      await db.destroy()
    }
  })

  it('fails a transaction whose backend dies between statements with a retryable error', async () => {
    const db = open()
    try {
      const error = await failureOf(
        db.transaction().execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)
          const pid = rows[0]!.pid
          await admin.query('select pg_terminate_backend($1)', [pid])
          await backendState(pid, null)
          await trx.updateTable('accounts').set({ balance: 1 }).where('id', '=', 1).execute()
        }),
      )
      expect(classify(error).retryable).toBe(true)
      const rows = await db.selectFrom('accounts').select('balance').where('id', '=', 1).execute()
      expect(rows).toEqual([{ balance: 100 }])
    } finally {
      await db.destroy()
    }
  })

  it('also recovers on a pool the host built', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 1 })
    pool.on('error', () => {})
    const db = new Kysely<Database>({ dialect: postgresStorage({ pool }).createDialect() })
    try {
      const pid = await backendPid(db)
      const running = failureOf(sql`select pg_sleep(30)`.execute(db))
      await backendState(pid, 'active')
      await admin.query('select pg_terminate_backend($1)', [pid])
      expect(classify(await running).retryable).toBe(true)
      expect(await backendPid(db)).not.toBe(pid)
    } finally {
      await db.destroy()
      await pool.end()
    }
  })

  it('survives the termination of an idle connection; the next query succeeds', async () => {
    const db = open()
    try {
      const pid = await backendPid(db)
      await backendState(pid, 'idle')
      await admin.query('select pg_terminate_backend($1)', [pid])
      await backendState(pid, null)
      // Give the pool a turn to see the closed socket and drop the client.
      await new Promise((resolve) => setTimeout(resolve, 50))

      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db)
      expect(rows).toEqual([{ one: 1 }])
    } finally {
      await db.destroy()
    }
  })
})

describe('isRetryable, error shapes', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['serialization failure', { code: '40001' }, true],
    ['deadlock', { code: '40P01' }, true],
    ['lock not available', { code: '55P03' }, true],
    ['admin shutdown', { code: '57P01' }, true],
    ['crash shutdown', { code: '57P02' }, true],
    ['cannot connect now', { code: '57P03' }, true],
    ['connection failure (class 08)', { code: '08006' }, true],
    ['connection does not exist (class 08)', { code: '08003' }, true],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), true],
    ['ECONNREFUSED in an AggregateError', new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), true],
    ['connection terminated unexpectedly', new Error('Connection terminated unexpectedly'), true],
    ['wrapped in a cause', new Error('outer', { cause: { code: '40001' } }), true],
    ['unique violation', { code: '23505' }, false],
    ['syntax error', { code: '42601' }, false],
    ['statement timeout (query_canceled)', { code: '57014' }, false],
    ['a plain error', new Error('boom'), false],
  ]
  for (const [name, error, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      expect(classify(error).retryable).toBe(expected)
    })
  }

  it('does not loop on a cyclic cause chain', () => {
    const a = new Error('a') as Error & { cause?: unknown }
    const b = new Error('b', { cause: a })
    a.cause = b
    expect(classify(a).retryable).toBe(false)
  })
})
