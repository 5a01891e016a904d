import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { AnyPlugin } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { formatSimulation, simulate, type SimulationOptions, type SimulationResult } from '@cartwright/testkit'
import { freshDatabase, type FreshDatabase } from '../support/postgres.js'

/** Steps per run in CI: enough for carts, orders, refunds and a crash or two to meet. */
export const STEPS = 40

/** A run of `seed` on a new SQLite file, removed afterwards. */
export async function onSqlite<const P extends readonly AnyPlugin[] = []>(seed: number, options: Omit<SimulationOptions<P>, 'seed' | 'storage'> = {}): Promise<SimulationResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cartwright-sim-'))
  try {
    return await simulate<P>({ steps: STEPS, ...options, seed, storage: () => sqliteStorage({ filename: join(dir, 'shop.db') }) } as SimulationOptions<P>)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * One PostgreSQL database for many runs: emptied (every table, identities restarted) before each,
 * its migrations kept.
 */
export async function postgresRunner(): Promise<{ run(seed: number, options?: Omit<SimulationOptions, 'seed' | 'storage'>): Promise<SimulationResult>; close(): Promise<void> }> {
  const database: FreshDatabase = await freshDatabase()
  const admin = new pg.Client({ connectionString: database.url })
  await admin.connect()
  let first = true
  return {
    async run(seed, options = {}) {
      if (!first) {
        const { rows } = await admin.query<{ tablename: string }>(
          "select tablename from pg_tables where schemaname = current_schema() and tablename not like 'cw\\_migrations%'",
        )
        if (rows.length) await admin.query(`truncate ${rows.map((r) => admin.escapeIdentifier(r.tablename)).join(', ')} restart identity cascade`)
      }
      first = false
      return simulate({ steps: STEPS, ...options, seed, storage: () => postgresStorage({ connectionString: database.url, pool: { max: 4 } }) })
    },
    async close() {
      await admin.end()
      await database.drop()
    },
  }
}

/** Throws the run's trace and broken invariant, if it broke one. */
export function expectHeld(result: SimulationResult): void {
  if (result.violation) throw new Error(formatSimulation(result))
}

/** `count` seeds from `from`, in chunks of `size`: one test per chunk. */
export function chunks(from: number, count: number, size: number): Array<{ first: number; last: number }> {
  const out: Array<{ first: number; last: number }> = []
  for (let first = from; first < from + count; first += size) out.push({ first, last: Math.min(from + count - 1, first + size - 1) })
  return out
}
