import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join, relative, resolve } from 'node:path'

/** Where the new store keeps its data. */
export type StorageChoice = 'sqlite' | 'postgres'
/** Which payment provider the new store takes payments with. */
export type PaymentsChoice = 'test' | 'stripe'

/** The choices a new project is made from. */
export interface ProjectChoices {
  /** The package name (the target directory's name unless given). */
  name: string
  storage: StorageChoice
  payments: PaymentsChoice
}

/** What the build step records next to the template: the versions the new project depends on. */
export interface TemplateManifest {
  /** Published version of each `@cartwright/*` package, read from its package.json at build time. */
  cartwright: Record<string, string>
  /** The shoe store's other dependencies, as ranges. */
  dependencies: Record<string, string>
  /** Tooling of the new project (TypeScript, tsx, Vitest, types), as ranges. */
  devDependencies: Record<string, string>
}

/** A usage mistake: the message is printed and the command exits with code 1. */
export class UsageError extends Error {
  override name = 'UsageError'
}

const DRIVER: Record<StorageChoice, { adapter: string; driver: string; types?: string }> = {
  sqlite: { adapter: '@cartwright/storage-sqlite', driver: 'better-sqlite3', types: '@types/better-sqlite3' },
  postgres: { adapter: '@cartwright/storage-postgres', driver: 'pg' },
}

/**
 * Why `name` cannot be a package name, or null when it can: npm's rules for a new unscoped name
 * (lower case, at most 214 characters, URL-safe, not starting with `.` or `_`).
 *
 * @example
 * ```ts
 * invalidName('my-shop') // null
 * invalidName('My Shop') // 'may contain only lower-case letters, digits, "-", "_" and "." (got "My Shop")'
 * ```
 */
export function invalidName(name: string): string | null {
  if (name.length === 0) return 'must not be empty'
  if (name.length > 214) return 'must be at most 214 characters'
  if (name.startsWith('.') || name.startsWith('_')) return `must not start with "." or "_" (got "${name}")`
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) return `may contain only lower-case letters, digits, "-", "_" and "." (got "${name}")`
  if (name === 'node_modules' || name === 'favicon.ico') return `is a reserved name (got "${name}")`
  return null
}

/**
 * Checks the directory a project is to be made in: it may be missing or empty (a `.git` folder is
 * allowed), and its name must be a valid package name. Throws {@link UsageError} otherwise.
 * Returns the absolute path and the package name.
 *
 * @example
 * ```ts
 * const { path, name } = checkTarget('my-shop', process.cwd())
 * ```
 */
export function checkTarget(dir: string, cwd: string): { path: string; name: string } {
  if (!dir.trim()) throw new UsageError('Name the directory to create, for example: npm create cartwright@latest my-shop')
  const path = resolve(cwd, dir)
  const name = basename(path)
  const problem = invalidName(name)
  if (problem) throw new UsageError(`"${name}" cannot be a package name: it ${problem}. Choose a name like "my-shop".`)
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) throw new UsageError(`${path} exists and is not a directory.`)
    const entries = readdirSync(path).filter((entry) => entry !== '.git')
    if (entries.length > 0) {
      throw new UsageError(`${path} is not empty (it has ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}). Choose a new directory, or empty this one first.`)
    }
  }
  return { path, name }
}

/**
 * The new project's package.json: `@cartwright/*` at their published versions, the storage
 * adapter and driver chosen (the other dropped), Stripe's package in both (the shop's card checkout
 * is built on it and stays off with `payments: 'test'`),
 * and scripts that run the store from its sources (`dev`, `start`) or from `dist` after `build`.
 *
 * @example
 * ```ts
 * const pkg = packageJson({ name: 'my-shop', storage: 'sqlite', payments: 'test' }, {
 *   cartwright: { '@cartwright/core': '0.1.0' }, dependencies: {}, devDependencies: {},
 * })
 * ```
 */
export function packageJson(choices: ProjectChoices, manifest: TemplateManifest): Record<string, unknown> {
  const dropped = DRIVER[choices.storage === 'sqlite' ? 'postgres' : 'sqlite']
  const dependencies: Record<string, string> = {}
  for (const [name, version] of Object.entries(manifest.cartwright)) {
    if (name === dropped.adapter) continue
    dependencies[name] = `^${version}`
  }
  for (const [name, range] of Object.entries(manifest.dependencies)) {
    if (name === dropped.driver) continue
    dependencies[name] = range
  }
  const devDependencies: Record<string, string> = {}
  for (const [name, range] of Object.entries(manifest.devDependencies)) {
    if (name === dropped.types) continue
    devDependencies[name] = range
  }
  return {
    name: choices.name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: '>=20.12' },
    scripts: {
      dev: 'tsx watch src/server.ts',
      start: 'tsc -p tsconfig.build.json && node dist/server.js',
      build: 'tsc -p tsconfig.build.json',
      seed: 'tsx src/seed-cli.ts',
      test: 'vitest run',
      typecheck: 'tsc -p tsconfig.json',
    },
    dependencies: sorted(dependencies),
    devDependencies: sorted(devDependencies),
  }
}

const sorted = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)))

/** A source edit that must apply: the template's shape changed when it does not. */
function replaceOnce(source: string, pattern: string | RegExp, replacement: string | ((match: string) => string), what: string): string {
  const found = typeof pattern === 'string' ? source.includes(pattern) : pattern.test(source)
  if (!found) throw new Error(`The template's src/shop.ts no longer has ${what}; update create-cartwright's rewrite of it`)
  return typeof replacement === 'string' ? source.replace(pattern, replacement) : source.replace(pattern, replacement)
}

const STORAGE_FUNCTION = /function storageFor\(options: ShopOptions\): StorageAdapter \{\n[\s\S]*?\n\}\n/

/**
 * The shop's engine file for the choices: only the chosen storage adapter is imported and wired
 * (PostgreSQL from `DATABASE_URL`); with Stripe, card payments through Stripe are on and the shop
 * will not start without `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` and `STRIPE_PUBLISHABLE_KEY`;
 * with test payments, Stripe is off unless `createShop` is given `stripe`. Throws when the
 * template's file no longer has the parts this rewrites.
 *
 * @example
 * ```ts
 * const shop = rewriteShop("import { sqliteStorage } from '@cartwright/storage-sqlite'\n", { name: 'a', storage: 'sqlite', payments: 'test' })
 * ```
 */
export function rewriteShop(source: string, choices: ProjectChoices): string {
  let out = source
  if (choices.storage === 'sqlite') {
    out = replaceOnce(out, /^import \{ postgresStorage \} from '@cartwright\/storage-postgres'\n/m, '', 'the postgresStorage import')
    out = replaceOnce(
      out,
      STORAGE_FUNCTION,
      [
        'function storageFor(options: ShopOptions): StorageAdapter {',
        "  return sqliteStorage({ filename: options.filename ?? 'shoe-store.db' })",
        '}',
        '',
      ].join('\n'),
      'the storageFor function',
    )
  } else {
    out = replaceOnce(out, /^import \{ sqliteStorage \} from '@cartwright\/storage-sqlite'\n/m, '', 'the sqliteStorage import')
    out = replaceOnce(
      out,
      STORAGE_FUNCTION,
      [
        'function storageFor(options: ShopOptions): StorageAdapter {',
        '  const connectionString = options.databaseUrl ?? process.env.DATABASE_URL',
        "  if (!connectionString) throw new Error('Set DATABASE_URL to your PostgreSQL database (postgres://user:password@host:5432/name), in the environment or in .env (see .env.example)')",
        '  return postgresStorage({ connectionString })',
        '}',
        '',
      ].join('\n'),
      'the storageFor function',
    )
  }
  // The options' documentation, when it still reads as the shoe store's (left alone otherwise).
  out = out.replace(
    /^( *\/\*\* )`postgres:\/\/…` runs the shop on PostgreSQL[^\n]*\*\/$/m,
    choices.storage === 'sqlite' ? '$1Not used: this shop runs on SQLite (see `filename`). */' : '$1The PostgreSQL database (`postgres://…`); default `process.env.DATABASE_URL`. */',
  )
  if (choices.storage === 'postgres') out = out.replace(/^( *\/\*\* )The SQLite file \(default[^\n]*\*\/$/m, '$1Not used: this shop runs on PostgreSQL (see `databaseUrl`). */')
  // The option's documentation, when it still reads as the shoe store's (left alone otherwise).
  out = out.replace(
    /Default \{@link stripeFromEnv\}: on when\n( *\* )`STRIPE_SECRET_KEY` is set\./,
    choices.payments === 'stripe'
      ? 'Default {@link stripeFromEnv}: required,\n$1from `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` and `STRIPE_PUBLISHABLE_KEY`.'
      : 'Default: none (this shop was made with\n$1test payments; pass a setup to take cards).',
  )
  out = replaceOnce(
    out,
    'const stripe = options.stripe === undefined ? stripeFromEnv() : options.stripe',
    choices.payments === 'stripe' ? 'const stripe = options.stripe === undefined ? stripeFromEnv(true) : options.stripe' : 'const stripe = options.stripe ?? null',
    'the Stripe setting "const stripe = options.stripe === undefined ? stripeFromEnv() : options.stripe"',
  )
  if (choices.storage === 'postgres' || choices.payments === 'stripe') out = `import './load-env.js'\n${out}`
  return out
}
