import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { createCommerce, fixedRateTax, flatRateShipping, type ShippingProvider } from '@cartwright/core'
import { customers } from '@cartwright/customers'
import { promotions } from '@cartwright/promotions'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { testGateway } from '@cartwright/testkit'
// The PostgreSQL harness is the adapter's own: a fresh database per shop on the server the vitest
// globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { adminApi, http, storeApi } from '../src/index.js'
import type { ApiOptions } from '../src/options.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

export const address = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

/** Shipping of the test shop: 5.00 flat. */
export const SHIPPING = 500

/** An answer of the API: its status and parsed JSON body. */
export interface Answer {
  status: number
  body: any
  headers: Headers
}

/** What a request sends besides its method and path. */
export interface Send {
  body?: unknown
  /** A raw body, sent as it is (fuzzing). */
  raw?: string
  headers?: Record<string, string>
}

type App = { request(input: string, init?: RequestInit): Response | Promise<Response> }

/** Calls an app in process, as a client over HTTP would. */
export async function call(app: App, method: string, path: string, send: Send = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(send.body !== undefined ? { 'content-type': 'application/json' } : {}), ...send.headers }
  const body = send.raw ?? (send.body !== undefined ? JSON.stringify(send.body) : undefined)
  const response = await app.request(`http://shop.test${path}`, { method, headers, ...(body !== undefined ? { body } : {}) })
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    // Not JSON: kept as text for the assertion that reads it.
  }
  return { status: response.status, body: parsed, headers: response.headers }
}

/**
 * A shop on a new database (a SQLite file, or a fresh PostgreSQL database), with the http,
 * customers and promotions plugins, no tax, 5.00 flat shipping and pickup at the warehouse, a
 * gateway that can ask for a customer action, and two products in stock (a shoe at 129.00, a sock at
 * 15.00) and one draft product. Background work (outbox, recovery) is off so that a test sees only
 * the writes of its requests. Store and Admin apps validate every answer against its schema.
 */
export async function openShop(storage: 'sqlite' | 'postgres', options: ApiOptions = {}) {
  const database: FreshDatabase | undefined = storage === 'postgres' ? await freshDatabase() : undefined
  const dir = storage === 'sqlite' ? mkdtempSync(join(tmpdir(), 'cw-http-routes-')) : undefined
  const gateway = testGateway({ id: 'gateway' })
  let pickupAt = ''
  const pickup: ShippingProvider = {
    id: 'pickup',
    quote: async () => (pickupAt ? [{ id: 'warehouse', name: 'Pick up at the warehouse', amount: 0, pickupLocationId: pickupAt }] : []),
  }
  const commerce = await createCommerce({
    storage: storage === 'sqlite' ? sqliteStorage({ filename: join(dir!, 'shop.db') }) : postgresStorage({ connectionString: database!.url, pool: { max: 10 } }),
    payments: [gateway],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: SHIPPING } }] }), pickup],
    tax: fixedRateTax({ rate: '0' }),
    plugins: [http(), customers({ hashing: { memoryCost: 1024, timeCost: 1 } }), promotions()],
    outbox: { enabled: false },
    recovery: { enabled: false },
    onListenerError: () => undefined,
  })
  const location = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  pickupAt = location.id
  const product = async (title: string, sku: string, amount: number, status: 'active' | 'draft' = 'active') => {
    const p = await commerce.catalog.createProduct({ title, status, tags: ['running'], variants: [{ sku, prices: [{ currency: 'USD', amount }] }] })
    await commerce.inventory.setStock({ variantId: p.variants[0]!.id, locationId: location.id, onHand: 100_000 })
    return p
  }
  const shoe = await product('Trail Runner', 'TR-1', 12900)
  const sock = await product('Wool Sock', 'WS-1', 1500)
  const secret = await product('Next Season Shoe', 'NS-1', 19900, 'draft')
  await commerce.promotions.create({ name: 'Ten off', code: 'TEN', discount: { type: 'fixed', amount: 1000, currency: 'USD' } })
  const owner = await commerce.http.staff.create({ email: 'owner@example.com', name: 'Owner' })
  const { secret: apiKey } = await commerce.http.apiKeys.create({ staffId: owner.id, name: 'tests', scopes: ['*'] })
  const validated: ApiOptions = { validateOutput: true, logger: { error: () => undefined }, ...options }
  const store = storeApi(commerce, validated)
  const admin = adminApi(commerce, validated)
  const staff = { authorization: `Bearer ${apiKey}` }

  /** A cart over the Store API: its id and token. */
  async function openCart(headers: Record<string, string> = {}): Promise<{ id: string; token: string }> {
    const created = await call(store, 'POST', '/carts', { body: { currency: 'USD' }, headers })
    if (created.status !== 200) throw new Error(`cart not created: ${JSON.stringify(created.body)}`)
    return { id: created.body.id, token: created.body.accessToken }
  }

  /** A cart ready to check out: a shoe, an email, an address and standard shipping. */
  async function readyCart(headers: Record<string, string> = {}): Promise<{ id: string; token: string }> {
    const cart = await openCart(headers)
    const auth = { 'x-cart-token': cart.token, ...headers }
    await call(store, 'POST', `/carts/${cart.id}/lines`, { body: { variantId: shoe.variants[0]!.id, quantity: 1 }, headers: auth })
    await call(store, 'PATCH', `/carts/${cart.id}`, { body: { email: 'ada@example.com', shippingAddress: address }, headers: auth })
    await call(store, 'PUT', `/carts/${cart.id}/shipping-option`, { body: { optionId: 'flat:standard' }, headers: auth })
    return cart
  }

  /** A placed order over the Store API: its id and token, and the cart it came from. */
  async function placeOrder(): Promise<{ id: string; token: string; cart: { id: string; token: string } }> {
    const cart = await readyCart()
    const placed = await call(store, 'POST', `/carts/${cart.id}/checkout`, {
      body: { payment: { provider: 'gateway' } },
      headers: { 'x-cart-token': cart.token, 'idempotency-key': `order-${cart.id}` },
    })
    if (placed.status !== 200) throw new Error(`order not placed: ${JSON.stringify(placed.body)}`)
    return { id: placed.body.id, token: placed.body.accessToken, cart }
  }

  /** A registered customer's session token. */
  async function signIn(email: string): Promise<string> {
    await commerce.customers.accounts.register({ email, password: 'correct horse battery staple' })
    const login = await commerce.customers.accounts.login({ email, password: 'correct horse battery staple', clientId: 'tests' })
    return login.sessionToken
  }

  return {
    commerce,
    gateway,
    store,
    admin,
    staff,
    shoe,
    sock,
    secret,
    location,
    openCart,
    readyCart,
    placeOrder,
    signIn,
    async close() {
      await commerce.close()
      await database?.drop()
      if (dir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

export type Shop = Awaited<ReturnType<typeof openShop>>

/**
 * Tables whose rows a refused request still writes, by design: the rate limiter counts every
 * attempt (that is its job), and the customers plugin counts failed logins for its lockout.
 */
export const COUNTING_TABLES: ReadonlySet<string> = new Set(['http_rate_limits', 'customers_attempts'])

async function tables(commerce: Shop['commerce'], storage: 'sqlite' | 'postgres'): Promise<string[]> {
  const rows =
    storage === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(commerce.db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(commerce.db)
  return rows.rows.map((r) => r.name).filter((name) => !COUNTING_TABLES.has(name))
}

/** Every row of every table (but the counting ones), in a stable order: compare two to see what a request wrote. */
export async function dump(commerce: Shop['commerce'], storage: 'sqlite' | 'postgres'): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const table of await tables(commerce, storage)) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(commerce.db)
    out[table] = rows.rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v))).sort()
  }
  return out
}

/**
 * Counts the rows every statement writes, in every table but the counting ones: one trigger per
 * table and kind of write adds to `test_writes.n`, inside the writer's own transaction, so a write
 * that is rolled back counts nothing. An update that changes no value still counts (stricter than
 * comparing dumps), and reading the count costs one query, so the fuzzer can check every request.
 * Returns a function reading the count.
 */
export async function writeCounter(commerce: Shop['commerce'], storage: 'sqlite' | 'postgres'): Promise<() => Promise<number>> {
  const names = await tables(commerce, storage)
  await sql`create table test_writes (n integer not null)`.execute(commerce.db)
  await sql`insert into test_writes (n) values (0)`.execute(commerce.db)
  if (storage === 'sqlite') {
    // Full-text tables are virtual (no triggers); their shadow tables are written only through them,
    // and those writes come from statements on the ordinary tables, which count.
    const virtual = (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL%'`.execute(commerce.db)).rows.map((r) => r.name)
    for (const table of names.filter((t) => !virtual.some((v) => t === v || t.startsWith(`${v}_`)))) {
      for (const op of ['insert', 'update', 'delete']) {
        await sql`create trigger ${sql.id(`test_writes_${table}_${op}`)} after ${sql.raw(op)} on ${sql.table(table)} begin update test_writes set n = n + 1; end`.execute(commerce.db)
      }
    }
  } else {
    await sql`create function test_count_write() returns trigger language plpgsql as $$ begin update test_writes set n = n + 1; return null; end $$`.execute(commerce.db)
    for (const table of names) {
      await sql`create trigger ${sql.id(`test_writes_${table}`)} after insert or update or delete on ${sql.table(table)} for each row execute function test_count_write()`.execute(commerce.db)
    }
  }
  return async () => Number((await sql<{ n: number | string }>`select n from test_writes`.execute(commerce.db)).rows[0]!.n)
}
