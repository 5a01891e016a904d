/**
 * One app process of the PostgreSQL checkout bench (postgres-checkout.ts forks it). Driven over
 * IPC: `open` builds the row's shop (the raw floor's pg pool, or an engine on
 * `postgresStorage`) and runs the untimed warm-up, which also opens every pooled connection;
 * `run` does N checkouts with C concurrent shoppers and reports when it started and ended
 * (epoch ms, comparable across processes), its CPU time and every checkout's latency.
 *
 *   node --import tsx --conditions=cartwright-source src/postgres-worker.ts   (with an IPC channel)
 */
import { performance } from 'node:perf_hooks'
import { createCommerce } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { rawFloorB } from './postgres-floor.js'
import { EXPECTED_TOTAL, engineCheckout, shopProviders } from './shop.js'

export interface WorkerOpen {
  kind: 'floor' | 'engine'
  url: string
  variantId: string
  poolMax: number
  concurrency: number
  /** Untimed checkouts before the first run. */
  warmup: number
}

export interface WorkerRunResult {
  checkouts: number
  /** Epoch milliseconds (performance.timeOrigin + now), comparable across processes. */
  startedAt: number
  endedAt: number
  /** Process CPU (user + system) during the run, ms. */
  cpuMs: number
  /** Every checkout's duration, ms. */
  latencies: number[]
}

export type WorkerCommand = { type: 'open'; open: WorkerOpen } | { type: 'run'; checkouts: number } | { type: 'close' }
export type WorkerRequest = WorkerCommand & { id: number }
export type WorkerReply = { id: number; ok: true; result?: WorkerRunResult } | { id: number; ok: false; error: string }

let shop: { checkout(): Promise<number>; close(): Promise<void> } | null = null
let settings: WorkerOpen | null = null

const epochNow = () => performance.timeOrigin + performance.now()

/** `count` checkouts, `concurrency` shoppers at a time; each shopper starts the next checkout when one ends. */
async function checkouts(count: number, concurrency: number, latencies?: number[]): Promise<void> {
  let next = 0
  const shopper = async () => {
    while (next < count) {
      next++
      const start = performance.now()
      const total = await shop!.checkout()
      latencies?.push(performance.now() - start)
      if (total !== EXPECTED_TOTAL) throw new Error(`an order totalled ${total}, expected ${EXPECTED_TOTAL}`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, shopper))
}

async function open(options: WorkerOpen): Promise<void> {
  settings = options
  if (options.kind === 'floor') {
    shop = rawFloorB(options.url, options.poolMax, options.variantId)
  } else {
    const commerce = await createCommerce({
      storage: postgresStorage({ connectionString: options.url, pool: { max: options.poolMax } }),
      ...shopProviders(),
      // The bench process migrated and seeded the database.
      migrate: false,
    })
    shop = { checkout: () => engineCheckout(commerce, options.variantId), close: () => commerce.close() }
  }
  // Untimed; with every shopper at once it also opens all the pool's connections.
  await checkouts(options.warmup, options.concurrency)
}

async function run(count: number): Promise<WorkerRunResult> {
  const latencies: number[] = []
  const cpu = process.cpuUsage()
  const startedAt = epochNow()
  await checkouts(count, settings!.concurrency, latencies)
  const endedAt = epochNow()
  const used = process.cpuUsage(cpu)
  return { checkouts: count, startedAt, endedAt, cpuMs: (used.user + used.system) / 1000, latencies }
}

async function close(): Promise<void> {
  await shop?.close()
  shop = null
}

process.on('message', (message: WorkerRequest) => {
  const work: Promise<WorkerRunResult | void> =
    message.type === 'open' ? open(message.open) : message.type === 'run' ? run(message.checkouts) : close()
  // The parent may have gone (Ctrl-C) while the work ran: then there is nobody to answer.
  const reply = (answer: WorkerReply) => process.connected && process.send!(answer)
  work.then(
    (result) => reply({ id: message.id, ok: true, ...(result ? { result } : {}) }),
    (error: unknown) => reply({ id: message.id, ok: false, error: (error as Error)?.stack ?? String(error) }),
  )
})
// The parent closing the channel (or dying) ends this process.
process.on('disconnect', () => {
  void close().finally(() => process.exit(0))
})
