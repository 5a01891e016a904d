import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Done-means 4: create-cartwright as npm would publish it, run from its own tarball outside the
// workspace, makes a project that installs (its `@cartwright/*` dependencies pointed at the packed
// tarballs of this repository), passes its own tests, builds, and serves its home page.

const root = join(import.meta.dirname, '../../..')
const here = join(import.meta.dirname, '..')
const run = promisify(execFile)

interface Manifest {
  name: string
  version: string
  private?: boolean
  dependencies?: Record<string, string>
  [key: string]: unknown
}

const published = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')))
  .map((dir) => ({ dir: join(root, 'packages', dir), pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest }))
  .filter(({ pkg }) => !pkg.private)
const cartwright = published.filter(({ pkg }) => pkg.name.startsWith('@cartwright/'))

/** The environment of a user's shell: none of the `npm_*` settings pnpm passes to scripts. */
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_|^pnpm_|^VITEST|^NODE_ENV$/i.test(key)))

async function sh(label: string, file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = userEnv): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${label} failed: ${e.message}\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`)
  }
}

function newest(path: string): number {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(path).map((entry) => newest(join(path, entry))))
}

/** A build is stale when an output is missing or older than the sources it is made from. */
function stale(dir: string, outputs: string[], sources: string[]): boolean {
  const files = outputs.map((file) => join(dir, 'dist', file))
  if (!files.every((file) => existsSync(file))) return true
  const built = Math.min(...files.map((file) => statSync(file).mtimeMs))
  return Math.max(...sources.map((source) => newest(join(dir, source)))) > built
}

const tarballName = (pkg: Manifest) => `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

const work = mkdtempSync(join(tmpdir(), 'create-cartwright-'))
const tarballs = join(work, 'tarballs')
const project = join(work, 'my-shop')
const timings: Record<string, number> = {}
let generated: Manifest
/** The project's text files as the command wrote them, before the test points it at the tarballs. */
const written = new Map<string, string>()
let server: ChildProcess | undefined

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
  const toBuild = [
    ...cartwright.filter(({ dir }) => stale(dir, ['index.js', 'index.cjs', 'index.d.ts'], ['src', 'package.json', 'tsup.config.ts'])),
    ...published.filter(({ pkg, dir }) => pkg.name === 'create-cartwright' && stale(dir, ['index.js', 'api.js', 'api.cjs', 'api.d.ts'], ['src', 'package.json', 'tsup.config.ts'])),
  ].flatMap(({ pkg }) => ['--filter', pkg.name])
  if (toBuild.length) await timed('build', () => sh('pnpm build', 'npx', ['-y', 'pnpm@10', ...toBuild, 'run', 'build'], root))
  mkdirSync(tarballs)
  // `prepack` copies the shoe store into create-cartwright's template/ as it packs.
  const filters = published.flatMap(({ pkg }) => ['--filter', pkg.name])
  await timed('pack', () => sh('pnpm pack', 'npx', ['-y', 'pnpm@10', ...filters, '-r', 'pack', '--pack-destination', tarballs], root))

  const cli = published.find(({ pkg }) => pkg.name === 'create-cartwright')!.pkg
  mkdirSync(join(work, 'cli'))
  await sh('tar', 'tar', ['-xzf', join(tarballs, tarballName(cli)), '-C', join(work, 'cli')], work)
  // stdin is not a terminal here: the defaults (SQLite, the test gateway) without asking.
  await timed('create', () => sh('create-cartwright', process.execPath, [join(work, 'cli/package/dist/index.js'), 'my-shop', '--yes'], work))
  generated = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Manifest
  const filesIn = (dir: string): string[] =>
    readdirSync(join(project, dir), { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? filesIn(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`]))
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'vitest.config.ts', 'README.md', ...filesIn('src'), ...filesIn('test')]) {
    written.set(file, readFileSync(join(project, file), 'utf8'))
  }

  // The test, not the command, points the project at this repository's tarballs; better-sqlite3
  // is the workspace's compiled copy (no prebuilt binary to fetch, and compiling tests nothing of ours).
  const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Manifest & { overrides?: Record<string, string> }
  const overrides: Record<string, string> = {}
  for (const { pkg: packed } of cartwright) overrides[packed.name] = `file:${join(tarballs, tarballName(packed))}`
  const sqlite = dirname(createRequire(join(root, 'packages/storage-sqlite/package.json')).resolve('better-sqlite3/package.json'))
  overrides['better-sqlite3'] = `file:${realpathSync(sqlite)}`
  for (const name of Object.keys(pkg.dependencies ?? {})) if (overrides[name]) pkg.dependencies![name] = overrides[name]!
  pkg.overrides = overrides
  writeFileSync(join(project, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  await timed('npm install', () => sh('npm install', 'npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], project))
}, 900_000)

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve))
    server.kill('SIGTERM')
    await exited
  }
  console.log(`create-cartwright, packed: ${Object.entries(timings).map(([k, v]) => `${k} ${v} s`).join(', ')} (in ${work})`)
  if (!process.env.CARTWRIGHT_KEEP_PACK) rmSync(work, { recursive: true, force: true })
})

describe('npm create cartwright, from the packed tarball, outside the workspace', () => {
  it('makes a project that depends on the published versions and nothing in this repository', () => {
    for (const [name, range] of Object.entries(generated.dependencies ?? {})) {
      if (!name.startsWith('@cartwright/')) continue
      const source = cartwright.find(({ pkg }) => pkg.name === name)
      expect(source, name).toBeDefined()
      expect(range).toBe(`^${source!.pkg.version}`)
    }
    expect(Object.keys(generated.dependencies ?? {})).toEqual(expect.arrayContaining(['@cartwright/core', '@cartwright/http', '@cartwright/storage-sqlite', 'better-sqlite3']))
    expect(Object.keys(generated.dependencies ?? {})).not.toContain('@cartwright/storage-postgres')
    expect(Object.keys(generated.dependencies ?? {})).not.toContain('pg')
    expect(written.size).toBeGreaterThan(8)
    for (const [file, text] of written) {
      expect(text, file).not.toContain('workspace:')
      expect(text, file).not.toContain('cartwright-source')
      expect(text, file).not.toContain(realpathSync(root))
    }
  })

  it('passes its own tests', async () => {
    const out = await timed('npm test', () => sh('npm test', 'npm', ['test'], project))
    const text = out.replace(/\x1b\[[0-9;]*m/g, '')
    expect(text).toMatch(/Tests +\d+ passed/)
    expect(text).not.toMatch(/failed|skipped/)
    // Every test file the project was given ran and passed: the store's, and the card checkout's.
    for (const file of readdirSync(join(project, 'test'))) expect(text).toContain(`✓ test/${file}`)
  }, 180_000)

  it('builds to dist, and node dist/server.js serves the home page with products listed', async () => {
    await timed('npm run build', () => sh('npm run build', 'npm', ['run', 'build'], project))
    expect(existsSync(join(project, 'dist/server.js'))).toBe(true)
    const port = await freePort()
    const started = performance.now()
    server = spawn(process.execPath, ['dist/server.js'], { cwd: project, env: { ...userEnv, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = /(http:\/\/localhost:\d+)/.exec(output)
        if (match) {
          clearInterval(timer)
          resolve(match[1]!)
        } else if (server!.exitCode !== null || performance.now() - started > 120_000) {
          clearInterval(timer)
          reject(new Error(`the store did not start (exit ${server!.exitCode}):\n${output.slice(-4000)}`))
        }
      }, 100)
    })
    timings['start'] = Math.round(performance.now() - started) / 1000
    expect(url).toBe(`http://localhost:${port}`)
    const response = await fetch(url)
    expect(response.status).toBe(200)
    const html = await response.text()
    expect(html).toMatch(/href="\/products\/[a-z0-9-]+"/)
    const catalog = readFileSync(join(project, 'src/catalog.ts'), 'utf8')
    const titles = [...catalog.matchAll(/^ {4}title: '([^']+)'/gm)].map((m) => m[1]!)
    expect(titles.length).toBeGreaterThan(0)
    expect(titles.filter((title) => html.includes(title)).length).toBeGreaterThan(0)
    expect(existsSync(join(project, 'shoe-store.db'))).toBe(true)
  }, 180_000)
})
