import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createCommerce } from '@cartwright/core'
import { http } from '@cartwright/http'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { virtualClock } from '@cartwright/testkit'
// The PostgreSQL test harness is the adapter's own: a fresh database per shop on the server the
// vitest globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { migrateCore } from '../../storage-postgres/test/support/migrated.js'
import { webhooks, type WebhooksOptions } from '../src/index.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

export const ORIGIN = 'http://localhost'

/**
 * An engine with the http and webhooks plugins on a new database, on a virtual clock that moves
 * only when the test says so, with the outbox dispatcher and the webhooks loop off (the test
 * drains and delivers at fixed points), and a member of staff with a `webhooks:*` API key.
 */
export async function openShop(storage: 'sqlite' | 'postgres', options: WebhooksOptions = {}, where: { file?: string; url?: string } = {}) {
  const database: FreshDatabase | undefined = storage === 'postgres' && !where.url ? await freshDatabase({ template: migrateCore }) : undefined
  const clock = virtualClock({ autoAdvance: false })
  const commerce = await createCommerce({
    storage:
      storage === 'sqlite'
        ? sqliteStorage({ filename: where.file ?? ':memory:' })
        : postgresStorage({ connectionString: where.url ?? database!.url, pool: { max: 5 } }),
    clock,
    outbox: { enabled: false },
    // No checkouts here to recover: its 30 s timer would fire thousands of times when a test moves the clock by days.
    recovery: { enabled: false },
    plugins: [http(), webhooks({ background: false, ...options })],
    onListenerError: () => undefined,
  })
  const staff = await commerce.http.staff.create({ email: `ops-${Math.random().toString(36).slice(2)}@example.com`, name: 'Ops' })
  const { secret: apiKey } = await commerce.http.apiKeys.create({ staffId: staff.id, name: 'webhooks', scopes: ['webhooks:*'] })
  return {
    commerce,
    clock,
    apiKey,
    /** Where a second engine finds the same database. */
    where: { file: where.file, url: where.url ?? database?.url },
    async close() {
      await commerce.close()
      await database?.drop()
    },
  }
}

/** A request as the receiver got it: the raw body, exactly as sent. */
export interface Received {
  headers: IncomingHttpHeaders
  body: string
  status: number
}

/**
 * A webhook receiver on 127.0.0.1: answers each request with the next status of `script` (the
 * last one once the script is used up) and keeps every request.
 */
export async function receiver(script: number[] = [204]) {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const status = script[Math.min(received.length, script.length - 1)]!
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status })
      res.statusCode = status
      res.end(status >= 400 ? 'not now' : 'ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
