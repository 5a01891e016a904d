import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import semver from 'semver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The packages as npm would publish them: built, packed with pnpm (which turns `workspace:`
// ranges into real ones), installed with npm into a new app in a temporary directory outside
// the workspace, so nothing resolves through workspace links or the `cartwright-source` condition.

const root = join(import.meta.dirname, '../../..')
const fixtures = join(import.meta.dirname, 'fixtures/app')
const run = promisify(execFile)

interface Manifest {
  name: string
  version: string
  private?: boolean
  peerDependencies?: Record<string, string>
  [key: string]: unknown
}

const published = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir: join(root, 'packages', dir), pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest }))
  // The libraries; create-cartwright is a command with its own packed test (packages/create-cartwright).
  .filter(({ pkg }) => !pkg.private && pkg.name.startsWith('@cartwright/'))

/** The environment of a user's shell: none of the `npm_*` settings pnpm passes to scripts. */
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_|^pnpm_/i.test(key)))

async function sh(label: string, file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, env: userEnv, maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${label} failed: ${e.message}\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`)
  }
}

/** Newest modification time under `path` (a file or a directory tree), 0 when missing. */
function newest(path: string): number {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(path).map((entry) => newest(join(path, entry))))
}

/** A package's build is stale when any of its outputs is missing or older than its sources. */
function stale(dir: string): boolean {
  const outputs = ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts'].map((file) => join(dir, 'dist', file))
  if (!outputs.every((file) => existsSync(file))) return true
  const built = Math.min(...outputs.map((file) => statSync(file).mtimeMs))
  return Math.max(newest(join(dir, 'src')), newest(join(dir, 'package.json')), newest(join(dir, 'tsup.config.ts'))) > built
}

const work = mkdtempSync(join(tmpdir(), 'cartwright-pack-'))
const tarballs = join(work, 'tarballs')
const app = join(work, 'app')
const timings: Record<string, number> = {}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now()
  try {
    return await fn()
  } finally {
    timings[label] = Math.round(performance.now() - start) / 1000
  }
}

beforeAll(async () => {
  expect(relative(realpathSync(root), realpathSync(work)).startsWith('..')).toBe(true)
  // Build what is stale (a fresh checkout: everything), in dependency order.
  const toBuild = published.filter(({ dir }) => stale(dir)).flatMap(({ pkg }) => ['--filter', pkg.name])
  if (toBuild.length) await timed('build', () => sh('pnpm build', 'npx', ['-y', 'pnpm@10', ...toBuild, 'run', 'build'], root))
  mkdirSync(tarballs)
  const filters = published.flatMap(({ pkg }) => ['--filter', pkg.name])
  await timed('pack', () => sh('pnpm pack', 'npx', ['-y', 'pnpm@10', ...filters, '-r', 'pack', '--pack-destination', tarballs], root))

  cpSync(fixtures, app, { recursive: true })
  const files = readdirSync(tarballs)
  // better-sqlite3 is the workspace's compiled copy: with no prebuilt binary reachable, npm
  // compiles it from source, which takes minutes and tests nothing of ours. Everything else
  // (the tarballs' own dependencies, pg as a peer, @types/node) comes from the registry.
  const dependencies: Record<string, string> = { 'better-sqlite3': `file:${realpathSync(join(import.meta.dirname, '../node_modules/better-sqlite3'))}` }
  for (const { pkg } of published) {
    const file = files.find((f) => f === `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`)
    if (!file) throw new Error(`no tarball for ${pkg.name} among ${files.join(', ')}`)
    dependencies[pkg.name] = `file:${join(tarballs, file)}`
  }
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'cartwright-app', version: '0.0.0', private: true, dependencies, devDependencies: { '@types/node': '^20.19.0' } }, null, 2),
  )
  // No install scripts: none of the packages has one, and better-sqlite3's would rebuild the
  // workspace's copy in place.
  await timed('npm install', () => sh('npm install', 'npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], app))
}, 600_000)

afterAll(() => {
  console.log(`pack and install: ${Object.entries(timings).map(([k, v]) => `${k} ${v} s`).join(', ')} (in ${work})`)
  if (!process.env.CARTWRIGHT_KEEP_PACK) rmSync(work, { recursive: true, force: true })
})

const installed = (name: string): Manifest => JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8'))

describe('the packed packages, installed with npm into an app outside the workspace', () => {
  it('carry real version ranges, a README and both builds with their types', () => {
    const core = installed('@cartwright/core')
    for (const { pkg } of published) {
      const manifest = installed(pkg.name)
      expect(JSON.stringify(manifest), pkg.name).not.toContain('workspace:')
      for (const file of ['README.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
        expect(existsSync(join(app, 'node_modules', pkg.name, file)), `${pkg.name}/${file}`).toBe(true)
      }
      for (const field of ['license', 'repository', 'homepage', 'bugs', 'keywords']) expect(manifest[field], `${pkg.name} ${field}`).toBeTruthy()
      // Adapters take core as a peer over the whole 0.x line: the next minor of core must fit.
      const peer = manifest.peerDependencies?.['@cartwright/core']
      if (pkg.name !== '@cartwright/core') {
        expect(peer, pkg.name).toBeDefined()
        expect(semver.satisfies(core.version, peer!), `${pkg.name} peer ${peer}`).toBe(true)
        expect(semver.satisfies(semver.inc(core.version, 'minor')!, peer!), `${pkg.name} peer ${peer}`).toBe(true)
        expect(semver.satisfies('1.0.0', peer!), `${pkg.name} peer ${peer}`).toBe(false)
      }
    }
  })

  it('type-check from an ES module and a CommonJS module (module node16, library types checked)', async () => {
    await timed('tsc', () => sh('tsc', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app))
  })

  for (const [flavour, script, entry, email] of [
    ['an ES module', 'checkout.mjs', 'dist/index.js', 'esm@example.com'],
    ['a CommonJS module', 'checkout.cjs', 'dist/index.cjs', 'cjs@example.com'],
  ] as const) {
    it(`check out on a SQLite file from ${flavour}`, async () => {
      const database = join(work, `${script}.db`)
      const out = await timed(script, () => sh(`node ${script}`, process.execPath, [script, database], app))
      const result = JSON.parse(out.trim().split('\n').at(-1)!) as { resolved: string; orderId: string; total: number; paymentStatus: string; available: number }
      // The installed package's own build, not the workspace's sources.
      expect(result.resolved.replace(/^file:\/\//, '')).toBe(join(realpathSync(app), 'node_modules/@cartwright/core', entry))
      // 2 × 12.50 + 5.00 shipping, 20 % tax on both: 30.00 + 6.00.
      expect(result.total).toBe(3600)
      expect(result.paymentStatus).toBe('authorized')
      expect(result.available).toBe(3)

      const db = new Database(database, { readonly: true })
      try {
        expect(db.prepare('select email, total, payment_status from cw_orders').all()).toEqual([{ email, total: 3600, payment_status: 'authorized' }])
        expect(db.prepare('select on_hand, reserved from cw_inventory_levels').all()).toEqual([{ on_hand: 5, reserved: 2 }])
      } finally {
        db.close()
      }
    })
  }
})
