import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { sql, type Generated, type Kysely } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { sqliteStorage } from '../src/index.js'
import { openKysely, tempDir } from './helpers.js'

interface Schema {
  entry: { id: Generated<number>; writer: string }
}

const dir = tempDir()
afterAll(() => dir.remove())

async function openFile(filename: string, busyTimeoutMs?: number): Promise<Kysely<Schema>> {
  const { db } = openKysely<Schema>(sqliteStorage({ filename, busyTimeoutMs }))
  await sql`create table if not exists entry (id integer primary key, writer text not null)`.execute(db)
  return db
}

const writers = async (db: Kysely<Schema>) =>
  (await db.selectFrom('entry').select('writer').orderBy('id').execute()).map((r) => r.writer)

/** A raw connection in another thread that holds BEGIN IMMEDIATE for `holdMs`, then commits a row. */
function holdWriteLock(filename: string, holdMs: number): Promise<{ released: Promise<void> }> {
  const driverPath = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads')
    const Database = require(workerData.driverPath)
    const db = new Database(workerData.filename)
    db.exec('BEGIN IMMEDIATE')
    db.prepare("insert into entry (writer) values ('worker')").run()
    parentPort.postMessage('locked')
    setTimeout(() => { db.exec('COMMIT'); db.close(); parentPort.postMessage('released') }, workerData.holdMs)
    `,
    { eval: true, workerData: { driverPath, filename, holdMs } },
  )
  const released = new Promise<void>((resolve, reject) => {
    worker.on('message', (m) => m === 'released' && resolve())
    worker.on('error', reject)
  })
  return new Promise((resolve, reject) => {
    worker.on('message', (m) => m === 'locked' && resolve({ released: released.then(() => worker.terminate()).then(() => {}) }))
    worker.on('error', reject)
  })
}

describe('several connections on one file', () => {
  it('lets two kysely instances in one process both write, in turn', async () => {
    const filename = dir.path('two-instances.db')
    const a = await openFile(filename)
    const b = await openFile(filename)
    try {
      await Promise.all([
        a.insertInto('entry').values({ writer: 'a' }).execute(),
        b.insertInto('entry').values({ writer: 'b' }).execute(),
        a.insertInto('entry').values({ writer: 'a' }).execute(),
        b.insertInto('entry').values({ writer: 'b' }).execute(),
      ])
      await a.transaction().execute((trx) => trx.insertInto('entry').values({ writer: 'a-trx' }).execute())
      await b.transaction().execute((trx) => trx.insertInto('entry').values({ writer: 'b-trx' }).execute())
      expect((await writers(a)).sort()).toEqual(['a', 'a', 'a-trx', 'b', 'b', 'b-trx'])
      expect(await writers(b)).toEqual(await writers(a))
    } finally {
      await a.destroy()
      await b.destroy()
    }
  })

  it('waits up to busyTimeoutMs at BEGIN IMMEDIATE while another thread holds the write lock, then writes', async () => {
    const filename = dir.path('busy-wait.db')
    const db = await openFile(filename, 5000)
    try {
      const { released } = await holdWriteLock(filename, 300)
      const started = performance.now()
      await db.transaction().execute((trx) => trx.insertInto('entry').values({ writer: 'main' }).execute())
      const waited = performance.now() - started
      await released
      expect(waited).toBeGreaterThanOrEqual(200)
      expect(waited).toBeLessThan(5000)
      expect(await writers(db)).toEqual(['worker', 'main'])
    } finally {
      await db.destroy()
    }
  })

  // better-sqlite3 is synchronous: the busy wait blocks this thread, so the
  // transaction holding the lock cannot finish. One engine per file per process.
  it('fails, retryably, a transaction on a second instance in the same thread that overlaps an open one', async () => {
    const filename = dir.path('same-thread.db')
    const a = await openFile(filename, 50)
    const b = await openFile(filename, 50)
    const storage = sqliteStorage()
    try {
      const open = await a.startTransaction().execute()
      await open.insertInto('entry').values({ writer: 'a' }).execute()
      const error = await b
        .transaction()
        .execute(async () => {})
        .catch((e: unknown) => e)
      await open.commit().execute()
      expect(error).toMatchObject({ code: 'SQLITE_BUSY' })
      expect(storage.isRetryable(error)).toBe(true)
      await b.transaction().execute((trx) => trx.insertInto('entry').values({ writer: 'b' }).execute())
      expect(await writers(b)).toEqual(['a', 'b'])
    } finally {
      await a.destroy()
      await b.destroy()
    }
  })
})
