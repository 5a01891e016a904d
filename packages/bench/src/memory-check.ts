/**
 * RSS of a process that runs only the engine: N stepwise checkouts on a WAL file.
 * Started by sqlite-checkout.ts through memory-check.cjs (tsx's in-thread CommonJS hook,
 * so no loader worker thread inflates RSS); reports back over IPC, or prints JSON when
 * run directly.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { EXPECTED_TOTAL, engineCheckout, seedShop } from './shop.js'

const MIB = 1024 * 1024
const rss = () => process.memoryUsage().rss / MIB

export interface MemoryReport {
  orders: number
  /** 'source' (TypeScript transpiled in-process) or 'dist' (built packages). */
  loadedFrom: string
  /** V8 and Node flags the process ran with (command line and NODE_OPTIONS): none are set behind the reader's back. */
  nodeFlags: string
  /** Before the bench's modules ran: node itself plus the CommonJS hook. */
  startMiB: number
  /** After the engine packages (zod, kysely, better-sqlite3 on first open) are loaded, engine open and seeded. */
  afterSetupMiB: number
  afterOrdersMiB: number
  heapUsedMiB: number
  /** V8 heap reserved (used or not) after the orders. */
  heapTotalMiB: number
  /** Memory held outside the JS heap by JS objects (Buffers, native handles). */
  externalMiB: number
  afterGcMiB: number | null
  heapUsedAfterGcMiB: number | null
  ordersPerSecond: number
}

async function memoryCheck(orders: number, startMiB: number): Promise<MemoryReport> {
  const dir = mkdtempSync(join(process.env['BENCH_DIR'] || tmpdir(), 'cartwright-bench-mem-'))
  try {
    const { commerce, variantId } = await seedShop(join(dir, 'engine-memory.db'))
    const afterSetupMiB = rss()
    const start = performance.now()
    for (let i = 0; i < orders; i++) {
      const total = await engineCheckout(commerce, variantId)
      if (total !== EXPECTED_TOTAL) throw new Error(`order total ${total}, expected ${EXPECTED_TOTAL}`)
    }
    const seconds = (performance.now() - start) / 1000
    const usage = process.memoryUsage()
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    const afterGcMiB = gc ? rss() : null
    const heapUsedAfterGcMiB = gc ? process.memoryUsage().heapUsed / MIB : null
    await commerce.close()
    return {
      orders,
      loadedFrom: process.execArgv.some((a) => a.includes('cartwright-source')) ? 'source' : 'dist',
      nodeFlags: [...process.execArgv, ...(process.env['NODE_OPTIONS'] ? [`NODE_OPTIONS=${process.env['NODE_OPTIONS']}`] : [])].join(' '),
      startMiB,
      afterSetupMiB,
      afterOrdersMiB: usage.rss / MIB,
      heapUsedMiB: usage.heapUsed / MIB,
      heapTotalMiB: usage.heapTotal / MIB,
      externalMiB: usage.external / MIB,
      afterGcMiB,
      heapUsedAfterGcMiB,
      ordersPerSecond: orders / seconds,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const startMiB = Number(process.env['BENCH_START_RSS'] ?? rss())
memoryCheck(Number(process.env['BENCH_MEMORY_N'] ?? 10_000), startMiB).then(
  (report) => {
    if (process.send) process.send(report)
    else console.log(JSON.stringify(report, null, 2))
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  },
)
