/**
 * Runs the simulation from the command line, on SQLite files (the default) or PostgreSQL.
 *
 *   SEED=17 pnpm simulate                     replays seed 17 and prints its trace
 *   SEEDS=100000 pnpm simulate                soaks seeds 1…100000, stops at the first violation and prints its trace
 *   FROM=5000 SEEDS=1000 STEPS=80 pnpm simulate
 *   SCENARIO=payments pnpm simulate           the interleavings of money on placed orders only
 *   STORAGE=postgres SEEDS=200 pnpm simulate  on PostgreSQL: CARTWRIGHT_PG_URL, or an embedded server started for the run
 */
import { paymentInterleavings, formatSimulation, type SimulationResult } from '@cartwright/testkit'
import { startEmbeddedPostgres } from '../../storage-postgres/test/support/embedded-server.js'
import { onSqlite, postgresRunner } from '../test/simulation/support.js'

const seed = process.env.SEED ? Number(process.env.SEED) : null
const from = seed ?? Number(process.env.FROM ?? 1)
const count = seed === null ? Number(process.env.SEEDS ?? 100) : 1
const steps = Number(process.env.STEPS ?? 40)
const options = { steps, ...(process.env.SCENARIO === 'payments' ? paymentInterleavings : {}) }
const postgres = process.env.STORAGE === 'postgres'

let server: Awaited<ReturnType<typeof startEmbeddedPostgres>> | null = null
if (postgres && !process.env.CARTWRIGHT_PG_URL) {
  server = await startEmbeddedPostgres()
  process.env.CARTWRIGHT_PG_URL = server.url
}
const runner = postgres ? await postgresRunner() : null
const run = (s: number): Promise<SimulationResult> => (runner ? runner.run(s, options) : onSqlite(s, options))

let violations = 0
const started = Date.now()
try {
  for (let s = from; s < from + count; s++) {
    const result = await run(s)
    if (seed !== null || result.violation) console.log(formatSimulation(result))
    if (result.violation) {
      violations++
      break
    }
    if (seed === null && (s - from + 1) % 100 === 0) console.log(`${s - from + 1} seeds, ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
} finally {
  await runner?.close()
  await server?.stop()
}
console.log(`${violations === 0 ? 'no violation' : 'violation found'} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
process.exit(violations === 0 ? 0 : 1)
