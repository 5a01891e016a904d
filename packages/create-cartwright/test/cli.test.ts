import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTemplate } from '../scripts/build-template.js'
import { main, parseArguments } from '../src/cli.js'
import { checkTarget, invalidName, packageJson, rewriteShop, UsageError, type TemplateManifest } from '../src/project.js'
import { monorepoReferences, readTemplate } from '../src/scaffold.js'

const work = mkdtempSync(join(tmpdir(), 'create-cartwright-unit-'))
const template = join(work, 'template')

beforeAll(() => {
  // The template as `build` and `prepack` make it, from examples/shoe-store as it is now.
  buildTemplate(template)
})

afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Runs the command in `cwd` with a given stdin; returns its exit code and what it printed. */
async function cli(args: string[], cwd: string, stdin: PassThrough & { isTTY?: boolean } = new PassThrough()) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const code = await main(args, { cwd, stdin, stdout, stderr, template })
  return { code, out, err }
}

const scratch = (name: string) => {
  const dir = join(work, name)
  mkdirSync(dir)
  return dir
}

describe('arguments', () => {
  it('takes a directory and the two choices, as --flag value or --flag=value', () => {
    expect(parseArguments(['my-shop'])).toEqual({ dir: 'my-shop', yes: false, help: false })
    expect(parseArguments(['my-shop', '--storage', 'postgres', '--payments=stripe', '-y'])).toEqual({ dir: 'my-shop', storage: 'postgres', payments: 'stripe', yes: true, help: false })
    expect(parseArguments(['--yes', '--storage=sqlite', 'shop'])).toEqual({ dir: 'shop', storage: 'sqlite', yes: true, help: false })
  })

  it('refuses an unknown option, a bad or missing value and a second directory', () => {
    expect(() => parseArguments(['shop', '--storage', 'mysql'])).toThrow(new UsageError('--storage must be sqlite or postgres (got "mysql")'))
    expect(() => parseArguments(['shop', '--payments'])).toThrow(/--payments needs a value: test or stripe/)
    expect(() => parseArguments(['shop', '--payments', '--yes'])).toThrow(/--payments needs a value/)
    expect(() => parseArguments(['shop', '--template', 'x'])).toThrow(/Unknown option --template/)
    expect(() => parseArguments(['one', 'two'])).toThrow(/One directory only \(got "one" and "two"\)/)
  })

  it('exits 1 with the message on a usage mistake, and 0 with the usage on --help', async () => {
    const cwd = scratch('usage')
    expect(await cli(['shop', '--storage', 'mysql'], cwd)).toEqual({ code: 1, out: '', err: '--storage must be sqlite or postgres (got "mysql")\n' })
    const help = await cli(['--help'], cwd)
    expect(help.code).toBe(0)
    expect(help.out).toContain('--storage   sqlite')
    expect(readdirSync(cwd)).toEqual([])
  })
})

describe('the target directory', () => {
  it('accepts npm package names and refuses others', () => {
    for (const name of ['my-shop', 'shop2', 'a.b_c']) expect(invalidName(name), name).toBeNull()
    for (const name of ['My-Shop', 'my shop', '.hidden', '_x', 'café', 'node_modules', 'x'.repeat(215)]) expect(invalidName(name), name).not.toBeNull()
  })

  it('refuses a non-empty directory and a bad name with exit code 1, writing nothing', async () => {
    const cwd = scratch('refuse')
    mkdirSync(join(cwd, 'taken'))
    writeFileSync(join(cwd, 'taken/notes.txt'), 'mine')
    const taken = await cli(['taken', '--yes'], cwd)
    expect(taken.code).toBe(1)
    expect(taken.err).toBe(`${join(cwd, 'taken')} is not empty (it has notes.txt). Choose a new directory, or empty this one first.\n`)
    expect(readdirSync(join(cwd, 'taken'))).toEqual(['notes.txt'])

    const bad = await cli(['My Shop', '--yes'], cwd)
    expect(bad.code).toBe(1)
    expect(bad.err).toContain('"My Shop" cannot be a package name')
    expect(readdirSync(cwd)).toEqual(['taken'])

    const file = await cli(['taken/notes.txt', '--yes'], cwd)
    expect(file.code).toBe(1)
    expect(readFileSync(join(cwd, 'taken/notes.txt'), 'utf8')).toBe('mine')
  })

  it('accepts a missing directory, an empty one, and one holding only .git', () => {
    const cwd = scratch('accept')
    mkdirSync(join(cwd, 'empty'))
    mkdirSync(join(cwd, 'repo/.git'), { recursive: true })
    expect(checkTarget('new-shop', cwd)).toEqual({ path: join(cwd, 'new-shop'), name: 'new-shop' })
    expect(checkTarget('empty', cwd).name).toBe('empty')
    expect(checkTarget('repo', cwd).name).toBe('repo')
  })
})

describe('the dependency rewrite', () => {
  const manifest: TemplateManifest = {
    cartwright: { '@cartwright/core': '0.3.0', '@cartwright/http': '0.2.1', '@cartwright/storage-sqlite': '0.3.0', '@cartwright/storage-postgres': '0.3.0', '@cartwright/payment-stripe': '0.2.0' },
    dependencies: { hono: '^4.13.19', 'better-sqlite3': '^12.4.0', pg: '^8.16.0' },
    devDependencies: { typescript: '~5.9.3', '@types/better-sqlite3': '^7.6.13' },
  }

  it('depends on the published versions, with the chosen adapter and driver only (and Stripe\'s package, which the card checkout is built on)', () => {
    const sqlite = packageJson({ name: 'a', storage: 'sqlite', payments: 'test' }, manifest)
    expect(sqlite['dependencies']).toEqual({ '@cartwright/core': '^0.3.0', '@cartwright/http': '^0.2.1', '@cartwright/payment-stripe': '^0.2.0', '@cartwright/storage-sqlite': '^0.3.0', 'better-sqlite3': '^12.4.0', hono: '^4.13.19' })
    expect(sqlite['devDependencies']).toEqual({ '@types/better-sqlite3': '^7.6.13', typescript: '~5.9.3' })
    const postgres = packageJson({ name: 'b', storage: 'postgres', payments: 'stripe' }, manifest)
    expect(postgres['dependencies']).toEqual({ '@cartwright/core': '^0.3.0', '@cartwright/http': '^0.2.1', '@cartwright/payment-stripe': '^0.2.0', '@cartwright/storage-postgres': '^0.3.0', hono: '^4.13.19', pg: '^8.16.0' })
    expect(postgres['devDependencies']).toEqual({ typescript: '~5.9.3' })
    expect(JSON.stringify(postgres['scripts'])).not.toContain('cartwright-source')
  })

  it('reads every @cartwright version from the packages at build time', () => {
    const built = readTemplate(template).manifest
    for (const [name, version] of Object.entries(built.cartwright)) {
      const dir = name.replace('@cartwright/', '')
      expect(version, name).toBe(JSON.parse(readFileSync(join(import.meta.dirname, '../..', dir, 'package.json'), 'utf8')).version)
    }
    expect(JSON.stringify(built)).not.toContain('workspace:')
  })

  it('finds references into the repository: workspace ranges, the source condition, paths outside', () => {
    const files = new Map<string, string>([
      ['package.json', '{"dependencies":{"@cartwright/core":"workspace:*"}}'],
      ['vitest.config.ts', "conditions: ['cartwright-source']"],
      ['src/a.ts', "import x from '../../packages/core/src/index.js'\nimport y from './b.js'\nconst u = new URL('../assets/', import.meta.url)"],
    ])
    expect(monorepoReferences(files)).toEqual([
      'package.json: a workspace: range',
      'vitest.config.ts: the cartwright-source condition',
      'src/a.ts: ../../packages/core/src/index.js leaves the project',
    ])
  })
})

describe('the generated project', () => {
  it('sqlite + test payments (the defaults, without a terminal): SQLite wired, no PostgreSQL, Stripe off', async () => {
    const cwd = scratch('defaults')
    const result = await cli(['my-shop'], cwd)
    expect(result).toMatchObject({ code: 0, err: '' })
    const root = join(cwd, 'my-shop')
    expect(readdirSync(root).sort()).toEqual(['.gitignore', 'README.md', 'assets', 'package.json', 'src', 'test', 'tsconfig.build.json', 'tsconfig.json', 'vitest.config.ts'])
    const shop = readFileSync(join(root, 'src/shop.ts'), 'utf8')
    expect(shop).toContain("import { sqliteStorage } from '@cartwright/storage-sqlite'")
    expect(shop).not.toMatch(/storage-postgres|postgresStorage|DATABASE_URL/)
    expect(shop).toContain('const stripe = options.stripe ?? null')
    expect(shop).not.toContain('stripeFromEnv(true)')
    expect(shop).toContain('/** Not used: this shop runs on SQLite (see `filename`). */')
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; scripts: Record<string, string>; dependencies: Record<string, string> }
    expect(pkg.name).toBe('my-shop')
    expect(Object.keys(pkg.scripts)).toEqual(expect.arrayContaining(['dev', 'start', 'build', 'test']))
    expect(pkg.scripts['dev']).toBe('tsx watch src/server.ts')
    expect(pkg.dependencies['better-sqlite3']).toBeDefined()
    expect(pkg.dependencies['pg']).toBeUndefined()
  })

  it('postgres + stripe: DATABASE_URL and the Stripe keys from the environment, .env.example, no SQLite', async () => {
    const cwd = scratch('postgres-stripe')
    const result = await cli(['shop', '--storage', 'postgres', '--payments', 'stripe'], cwd)
    expect(result).toMatchObject({ code: 0, err: '' })
    const root = join(cwd, 'shop')
    const shop = readFileSync(join(root, 'src/shop.ts'), 'utf8')
    expect(shop.split('\n')[0]).toBe("import './load-env.js'")
    expect(shop).toContain("import { postgresStorage } from '@cartwright/storage-postgres'")
    expect(shop).toContain('const connectionString = options.databaseUrl ?? process.env.DATABASE_URL')
    expect(shop).toContain('const stripe = options.stripe === undefined ? stripeFromEnv(true) : options.stripe')
    expect(shop).not.toMatch(/storage-sqlite|sqliteStorage/)
    expect(shop).toContain('/** Not used: this shop runs on PostgreSQL (see `databaseUrl`). */')
    const env = readFileSync(join(root, '.env.example'), 'utf8')
    expect(env).toMatch(/^DATABASE_URL=postgres:\/\//m)
    expect(env).toMatch(/^STRIPE_SECRET_KEY=sk_test_/m)
    expect(env).toMatch(/^STRIPE_WEBHOOK_SECRET=whsec_/m)
    expect(env).toMatch(/^STRIPE_PUBLISHABLE_KEY=pk_test_/m)
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('.env')
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> }
    expect(pkg.dependencies['@cartwright/storage-postgres']).toBeDefined()
    expect(pkg.dependencies['@cartwright/payment-stripe']).toBeDefined()
    expect(pkg.dependencies['pg']).toBeDefined()
    for (const name of ['@cartwright/storage-sqlite', 'better-sqlite3']) expect(pkg.dependencies[name], name).toBeUndefined()
    expect(pkg.devDependencies['@types/better-sqlite3']).toBeUndefined()
    const all = new Map<string, string>()
    const walk = (dir: string, prefix: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name), `${prefix}${entry.name}/`)
        else if (!entry.name.endsWith('.svg')) all.set(`${prefix}${entry.name}`, readFileSync(join(dir, entry.name), 'utf8'))
      }
    }
    walk(root, '')
    expect(monorepoReferences(all)).toEqual([])
  })

  it('asks for the missing choices on a terminal', async () => {
    const cwd = scratch('asked')
    const stdin = Object.assign(new PassThrough(), { isTTY: true })
    const answers = ['my-shop', 'postgres', '']
    const stdout = new PassThrough()
    let out = ''
    // Answer each question as it is asked.
    stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (/: $/.test(out) && answers.length) stdin.write(`${answers.shift()}\n`)
    })
    const code = await main([], { cwd, stdin, stdout, stderr: new PassThrough(), template })
    expect(code).toBe(0)
    expect(out).toContain('Storage (sqlite/postgres, default sqlite): ')
    expect(out).toContain('Payments (test/stripe, default test): ')
    const pkg = JSON.parse(readFileSync(join(cwd, 'my-shop/package.json'), 'utf8')) as { dependencies: Record<string, string> }
    expect(pkg.dependencies['@cartwright/storage-postgres']).toBeDefined()
    // The shop's card checkout is built on it, off with test payments.
    expect(pkg.dependencies['@cartwright/payment-stripe']).toBeDefined()
  })

  it('fails the build when the shoe store no longer has what the rewrite edits', () => {
    expect(() => rewriteShop("import { sqliteStorage } from '@cartwright/storage-sqlite'\n", { name: 'a', storage: 'sqlite', payments: 'test' })).toThrow(
      /no longer has the postgresStorage import/,
    )
  })
})
