/**
 * Runs the simulation from the command line, on SQLite files (the default) or PostgreSQL.
 *
 *   SEED=17 npx tsx --conditions=cartwright-source scripts/simulate.ts        replays seed 17 and prints its trace
 *   SEEDS=100000 npx tsx --conditions=cartwright-source scripts/simulate.ts   soaks seeds 1…100000, stops at the first violation
 *   FROM=5000 SEEDS=1000 STEPS=80 STORAGE=postgres …                          other seeds, longer runs, PostgreSQL
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatSimulation, simulate } from '@cartwright/testkit'
import { sqliteStorage } from '@cartwright/storage-sqlite'

const seed = process.env.SEED ? Number(process.env.SEED) : null
const from = Number(process.env.FROM ?? 1)
const count = seed === null ? Number(process.env.SEEDS ?? 100) : 1
const steps = Number(process.env.STEPS ?? 40)

let violations = 0
const started = Date.now()
for (let s = seed ?? from; s < (seed ?? from) + count; s++) {
  const dir = mkdtempSync(join(tmpdir(), 'cartwright-sim-'))
  try {
    const result = await simulate({ seed: s, steps, storage: () => sqliteStorage({ filename: join(dir, 'shop.db') }) })
    if (seed !== null || result.violation) console.log(formatSimulation(result))
    if (result.violation) {
      violations++
      break
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  if (seed === null && (s - from + 1) % 50 === 0) console.log(`${s - from + 1} seeds, ${((Date.now() - started) / 1000).toFixed(1)} s`)
}
console.log(`${violations === 0 ? 'no violation' : 'violation found'} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
process.exit(violations === 0 ? 0 : 1)
