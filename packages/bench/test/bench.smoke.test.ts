/**
 * Smoke test: the benchmarks still run end to end and print their tables. Tiny N, one round;
 * nothing here looks at a timing. The benchmarks verify their own databases (one order per
 * checkout, stock reserved, events written) and exit non-zero when that fails.
 *
 * The PostgreSQL bench uses CARTWRIGHT_PG_URL when it is set (a throwaway database on that
 * server); otherwise it starts, and stops, its own embedded server.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const packageDir = fileURLToPath(new URL('..', import.meta.url))

interface Outcome {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs `script` the way `pnpm bench` does (tsx, source condition) with `env` on top of ours. */
function runBench(script: string, env: Record<string, string | undefined>, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=cartwright-source', script], {
      cwd: packageDir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    // SIGINT lets the PostgreSQL bench drop its databases and stop its server.
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** A table line: the row's name, then checkouts/s and ms/checkout. */
const tableRow = (name: string) => new RegExp(`^${escape(name)}\\s+\\d+\\s+\\d+\\.\\d+\\s`, 'm')
const report = (o: Outcome) => `exit ${o.code ?? o.signal}\n--- stdout ---\n${o.stdout}\n--- stderr ---\n${o.stderr}`

describe('benchmarks (smoke: they run and print their tables; no timings asserted)', () => {
  it('sqlite-checkout prints every row and the memory check', async () => {
    const outcome = await runBench(
      'src/sqlite-checkout.ts',
      { BENCH_N: '20', BENCH_ROUNDS: '1', BENCH_WARMUP: '5', BENCH_ONLY: undefined, BENCH_MODE: undefined, BENCH_SKIP_MEMORY: undefined, BENCH_MEMORY_N: undefined, BENCH_MEMORY_DIST: undefined },
      50_000,
    )
    expect(outcome.code, report(outcome)).toBe(0)
    for (const row of ['floor A (raw, 1 tx)', 'floor B (raw, 7 steps)', 'kysely stock SqliteDialect, floor A', 'engine stepwise', 'engine checkout.complete only']) {
      expect(outcome.stdout, report(outcome)).toMatch(tableRow(row))
    }
    expect(outcome.stdout).toMatch(/^Memory: a fresh process, engine stepwise only, 20 orders/m)
  }, 60_000)

  it('postgres-checkout prints its three rows and both ratios', async () => {
    const outcome = await runBench(
      'src/postgres-checkout.ts',
      { BENCH_PG_N: '20', BENCH_PG_ROUNDS: '1', BENCH_PG_WARMUP: '0', BENCH_PG_CONCURRENCY: '4', BENCH_PG_POOL: '8', BENCH_PG_ONLY: undefined },
      50_000,
    )
    expect(outcome.code, report(outcome)).toBe(0)
    expect(outcome.stdout).toMatch(/^ {2}fsync = (on|off), synchronous_commit = \w+/m)
    for (const row of ['raw pg floor B (pool 8)', 'engine, 1 process (pool 8)', 'engine, 2 processes (pool 8 each)']) {
      expect(outcome.stdout, report(outcome)).toMatch(tableRow(row))
    }
    expect(outcome.stdout).toMatch(/^engine, 1 process \/ raw pg floor B: \d+\.\d\d× the throughput/m)
    expect(outcome.stdout).toMatch(/^engine, 2 processes \/ 1 process: +\d+\.\d\d× the throughput/m)
  }, 60_000)
})
