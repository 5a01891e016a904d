import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createCommerce, definePlugin } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { http, storeApi } from '../src/index.js'
import { json, openShop, ORIGIN, STORAGES } from './support.js'

const run = promisify(execFile)
const worker = fileURLToPath(new URL('./fixtures/rate-limit-worker.ts', import.meta.url))
const directory = mkdtempSync(join(tmpdir(), 'cw-http-rate-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

/** A start time both processes wait for, inside one minute window (away from its end). */
function startTime(): number {
  const at = Date.now() + 8_000
  const intoWindow = at % 60_000
  return intoWindow > 50_000 ? at - intoWindow + 60_500 : at
}

describe.each(STORAGES)('rate limits on %s', (storage) => {
  it('holds across two processes sharing the database: 10 a minute means 10 in total, not 20', async () => {
    let database: FreshDatabase | undefined
    const location = storage === 'sqlite' ? join(directory, 'shared.db') : (database = await freshDatabase()).url
    // Migrated once here, so the two processes start on a ready schema.
    const setup = await createCommerce({
      storage: storage === 'sqlite' ? sqliteStorage({ filename: location }) : postgresStorage({ connectionString: location }),
      plugins: [http(), definePlugin({ id: 'limited' })],
    })
    await setup.close()
    try {
      const at = String(startTime())
      const results = await Promise.all(
        [1, 2].map(() => run(process.execPath, ['--conditions=cartwright-source', '--import', 'tsx', worker, storage, location, at, '15'], { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 60_000 })),
      )
      const statuses = results.flatMap((r) => JSON.parse(r.stdout) as number[])
      expect(statuses).toHaveLength(30)
      expect(statuses.filter((s) => s === 200)).toHaveLength(10)
      expect(statuses.filter((s) => s === 429)).toHaveLength(20)
    } finally {
      await database?.drop()
    }
  }, 90_000)

  it('answers 429 RATE_LIMITED with Retry-After over the limit, per client, and deletes ended windows', async () => {
    let now = new Date('2026-05-01T10:00:05.000Z')
    const shop = await openShop(storage, { now: () => now })
    let client = '203.0.113.1'
    const app = storeApi(shop.commerce, { clientKey: () => client })
    try {
      const guess = () => app.request(`${ORIGIN}/t/guess`, json('POST', { code: 'X' }))
      for (let i = 0; i < 3; i++) expect((await guess()).status).toBe(200)
      const refused = await guess()
      expect(refused.status).toBe(429)
      expect(refused.headers.get('retry-after')).toBe('55')
      expect(((await refused.json()) as { code: string }).code).toBe('RATE_LIMITED')
      client = '203.0.113.2'
      expect((await guess()).status).toBe(200)
      const rows = () => shop.commerce.db.selectFrom('http_rate_limits' as never).selectAll().execute()
      expect(await rows()).toHaveLength(2)
      now = new Date('2026-05-01T10:01:10.000Z')
      client = '203.0.113.1'
      expect((await guess()).status).toBe(200)
      // The new window's first hit removed both ended windows.
      expect(await rows()).toHaveLength(1)
    } finally {
      await shop.close()
    }
  })
})

describe('rate limits per network', () => {
  it('counts IPv6 clients per /64 (one subscriber cannot rotate through its addresses) and IPv4-mapped ones as IPv4', async () => {
    const shop = await openShop('sqlite')
    const app = storeApi(shop.commerce, { trustProxy: true })
    try {
      const guess = (from: string) => app.request(`${ORIGIN}/t/guess`, json('POST', { code: 'X' }, { 'x-forwarded-for': from }))
      const statuses = async (addresses: string[]) => {
        const out: number[] = []
        for (const a of addresses) out.push((await guess(a)).status)
        return out
      }
      expect(await statuses(['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2:0:0:0:3'])).toEqual([200, 200, 200, 429])
      expect(await statuses(['2001:db8:1:3::1'])).toEqual([200])
      expect(await statuses(['203.0.113.50', '::ffff:203.0.113.50', '203.0.113.50', '203.0.113.50'])).toEqual([200, 200, 200, 429])
    } finally {
      await shop.close()
    }
  })
})

describe('rate limits with a host-chosen client key', () => {
  it('counts an IPv6 address the host passes by its /64, as it would the socket\'s', async () => {
    const shop = await openShop('sqlite')
    let client = ''
    const app = storeApi(shop.commerce, { clientKey: () => client })
    try {
      const statuses: number[] = []
      for (const address of ['2001:db8:7:1::1', '2001:db8:7:1::2', '2001:db8:7:1::3', '2001:db8:7:1::4']) {
        client = address
        statuses.push((await app.request(`${ORIGIN}/t/guess`, json('POST', { code: 'X' }))).status)
      }
      expect(statuses).toEqual([200, 200, 200, 429])
      client = 'customer-42'
      expect((await app.request(`${ORIGIN}/t/guess`, json('POST', { code: 'X' }))).status).toBe(200)
    } finally {
      await shop.close()
    }
  })
})

describe('storeApi without the http() plugin', () => {
  it('refuses to build when an endpoint declares a rate limit, naming the plugin', async () => {
    const commerce = await createCommerce({
      storage: sqliteStorage({ filename: ':memory:' }),
      plugins: [definePlugin({ id: 'limited', endpoints: (await import('./support.js')).testEndpoints() })],
    })
    try {
      expect(() => storeApi(commerce)).toThrow(/http\(\) plugin/)
    } finally {
      await commerce.close()
    }
  })
})
