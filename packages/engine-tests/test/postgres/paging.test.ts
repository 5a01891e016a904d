import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommerce, isCommerceError, type Commerce, type Product, type StorageAdapter } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { freshDatabase, type FreshDatabase } from '../support/postgres.js'

/**
 * Paging cursors are opaque: only a `nextCursor` the engine returned is accepted. A forged one is
 * `VALIDATION` on every storage, with the same answer on SQLite and PostgreSQL, and never reaches
 * the database (where SQLite would compare it as text and PostgreSQL refuse it as a timestamp).
 */

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const ID = 'prod_0123456789abcdefghjkmnpqrs'
const AT = '2030-01-01T10:00:00.000Z'
const real = encode([AT, ID])

/** Forged cursors: each is refused, whatever the storage. */
const forged: Array<[string, string]> = [
  // The two from the report: Date.parse accepts both.
  ['a year-like "1"', encode(['1', 'x'])],
  ['a bare year', encode(['2024', 'x'])],
  ['a bare year with an engine id', encode(['2024', ID])],
  ['a date without a time', encode(['2024-01-01', ID])],
  ['February 30th', encode(['2024-02-30T00:00:00.000Z', ID])],
  ['month 13', encode(['2024-13-01T00:00:00.000Z', ID])],
  ['hour 24', encode(['2024-01-01T24:00:00.000Z', ID])],
  ['a +02:00 offset', encode(['2024-01-01T00:00:00.000+02:00', ID])],
  ['a -05:00 offset', encode(['2023-12-31T19:00:00.000-05:00', ID])],
  ['no time zone', encode(['2024-01-01T00:00:00.000', ID])],
  ['no milliseconds', encode(['2024-01-01T00:00:00Z', ID])],
  ['microseconds', encode(['2024-01-01T00:00:00.000000Z', ID])],
  ['a space for the T', encode(['2024-01-01 00:00:00.000Z', ID])],
  ['a lower-case z', encode(['2024-01-01T00:00:00.000z', ID])],
  ['an extended year', encode(['+275760-09-13T00:00:00.000Z', ID])],
  ['a leading space', encode([` ${AT}`, ID])],
  ['an English date', encode(['Mon, 01 Jan 2024 00:00:00 GMT', ID])],
  ['epoch milliseconds', encode([Date.parse(AT), ID])],
  ['a null time', encode([null, ID])],
  ['a number id', encode([AT, 42])],
  ['a null id', encode([AT, null])],
  ['an empty id', encode([AT, ''])],
  ['an id without a prefix', encode([AT, '0123456789abcdefghjkmnpqrs'])],
  ['an id outside the id alphabet', encode([AT, 'prod_0123456789abcdefghjkmnpqru'])],
  ['an id one character short', encode([AT, ID.slice(0, -1)])],
  ['an id with SQL in it', encode([AT, `${ID}' OR '1'='1`])],
  ['a long id', encode([AT, 'x'.repeat(100)])],
  ['an extra element', encode([AT, ID, 'extra'])],
  ['one element', encode([AT])],
  ['an empty array', encode([])],
  ['an object', encode({ createdAt: AT, id: ID })],
  ['a string', encode(AT)],
  ['null', encode(null)],
  ['a number', encode(42)],
  ['JSON with spaces', Buffer.from(`[ "${AT}" , "${ID}" ]`).toString('base64url')],
  ['standard base64 with padding', `${Buffer.from(JSON.stringify([AT, ID])).toString('base64')}==`],
  ['a real cursor with a stray character', `${real}*`],
  ['a real cursor with a stray character inside', `${real.slice(0, 10)}.${real.slice(10)}`],
  ['base64 garbage', 'AAAAAAAAAAAA'],
  ['punctuation', '!!not-a-cursor!!'],
  ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x5b, 0x22]).toString('base64url')],
  ['an empty string', ''],
  ['a cursor of 200 characters', 'A'.repeat(200)],
  ['a cursor of 10,000 characters', 'A'.repeat(10_000)],
]

interface Engine {
  name: string
  commerce: Commerce
  products: Product[]
}

const CLOCK = Date.parse('2030-01-01T10:00:00.000Z')

/** An engine with five products: three created at one instant (ordered by id), then two later. */
async function open(name: string, storage: StorageAdapter): Promise<Engine> {
  let now = CLOCK
  const commerce = await createCommerce({ storage, now: () => new Date(now), onListenerError: () => undefined })
  const products: Product[] = []
  for (let i = 0; i < 5; i++) {
    if (i >= 3) now += 1000
    products.push(await commerce.catalog.createProduct({ title: `Product ${i}`, variants: [{ sku: `P-${i}`, prices: [{ currency: 'USD', amount: 100 }] }] }))
  }
  return { name, commerce, products }
}

let database: FreshDatabase
const engines: Engine[] = []

beforeAll(async () => {
  database = await freshDatabase()
  engines.push(await open('SQLite', sqliteStorage()))
  engines.push(await open('PostgreSQL', postgresStorage({ connectionString: database.url })))
})

afterAll(async () => {
  for (const engine of engines) await engine.commerce.close()
  await database?.drop()
})

/** What a call answered: the error's serialised form, or the fact that it resolved. */
async function answer(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call()
    return 'resolved'
  } catch (error) {
    return isCommerceError(error) ? error.toJSON() : `not a CommerceError: ${String(error)}`
  }
}

describe('a forged paging cursor', () => {
  it.each(forged)('%s is VALIDATION on SQLite and PostgreSQL alike', async (_label, cursor) => {
    for (const list of [(c: Commerce) => c.catalog.listProducts({ cursor }), (c: Commerce) => c.orders.list({ cursor })]) {
      const answers = await Promise.all(engines.map((engine) => answer(() => list(engine.commerce))))
      expect(answers[0]).toMatchObject({ code: 'VALIDATION', details: { fields: ['cursor'] } })
      expect(answers[1]).toEqual(answers[0])
    }
  })
})

describe('a real paging cursor', () => {
  it.each(['SQLite', 'PostgreSQL'])('on %s pages through every product once, newest first, ties broken by id', async (name) => {
    const engine = engines.find((e) => e.name === name)!
    const seen: string[] = []
    let cursor: string | undefined
    for (let page = 0; page < 10; page++) {
      const result = await engine.commerce.catalog.listProducts({ limit: 2, ...(cursor ? { cursor } : {}) })
      seen.push(...result.items.map((p) => p.id))
      if (!result.nextCursor) break
      cursor = result.nextCursor
    }
    const expected = [...engine.products]
      .sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1))
      .map((p) => p.id)
    expect(seen).toEqual(expected)
  })
})
