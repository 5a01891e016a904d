/**
 * Smoke test of the HTTP checkout bench (`pnpm bench:http`): with a handful of checkouts it still
 * runs end to end, over 127.0.0.1 with its client processes, and prints its table. Nothing here
 * looks at a timing. The bench reads every row's database back after each round (one placed
 * order per checkout with the expected total, stock reserved, events written) and exits non-zero
 * when that fails, or when any request answers other than 200.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const packageDir = fileURLToPath(new URL('..', import.meta.url))

it('http-checkout runs the Store API over 127.0.0.1 and prints every row and both ratios, and splits the one-shopper time', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_HTTP_N: '12', BENCH_HTTP_ROUNDS: '1', BENCH_HTTP_WARMUP: '4', BENCH_HTTP_CONCURRENCY: '4' }
  for (const name of ['BENCH_HTTP_ONLY', 'BENCH_HTTP_STORAGE', 'BENCH_HTTP_CLIENT_PROCESSES', 'BENCH_HTTP_CPU_PROF']) delete env[name]
  const outcome = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=cartwright-source', 'src/http-checkout.ts'], { cwd: packageDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGINT'), 140_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
  const report = `exit ${outcome.code}\n--- stdout ---\n${outcome.stdout}\n--- stderr ---\n${outcome.stderr}`
  expect(outcome.code, report).toBe(0)
  for (const row of ['in-process engine, 1 shopper', 'HTTP, 1 client', 'bare Hono, 1 client', 'transport floor, 1 client', 'in-process engine, 4 shoppers', 'HTTP, 4 clients', 'bare Hono, 4 clients', 'transport floor, 4 clients']) {
    expect(outcome.stdout, report).toMatch(new RegExp(`^${row}\\s+\\d+\\s+\\d+\\.\\d+\\s`, 'm'))
  }
  expect(outcome.stdout).toMatch(/^ {2}round 1\/1: HTTP, 4 clients\s+\d+ checkouts\/s {2}\(verified: 16 orders\)$/m)
  expect(outcome.stdout).toMatch(/^HTTP, 1 client \/ in-process engine, 1 shopper: \d+\.\d\d× the throughput/m)
  expect(outcome.stdout).toMatch(/^HTTP, 4 clients \/ in-process engine, 4 shoppers: \d+\.\d\d× the throughput/m)
  expect(outcome.stdout).toMatch(/^ {2}\+ -?\d+\.\d\d the Store API layer/m)
}, 150_000)
