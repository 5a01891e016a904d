import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { packageJson, rewriteShop, type ProjectChoices, type TemplateManifest } from './project.js'

/** The template as the build step wrote it: the shoe store's files and the manifest of versions. */
export interface Template {
  manifest: TemplateManifest
  /** Files by project-relative path (`/`-separated); text as strings, pictures and the like as bytes. */
  files: Map<string, string | Uint8Array>
}

const TEXT = /\.(ts|tsx|js|mjs|cjs|json|md|css|svg|txt|html|example)$|(^|\/)\.?gitignore$/

/**
 * Reads a template directory (`template/` next to the command's `dist/`): `manifest.json` and the
 * tree under `files/`.
 *
 * @example
 * ```ts
 * const template = readTemplate(new URL('../template/', import.meta.url))
 * ```
 */
export function readTemplate(dir: string | URL): Template {
  const root = typeof dir === 'string' ? dir : fileURLToPath(dir)
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as TemplateManifest
  const files = new Map<string, string | Uint8Array>()
  const walk = (relativeDir: string) => {
    for (const entry of readdirSync(join(root, 'files', relativeDir), { withFileTypes: true })) {
      const path = relativeDir ? `${relativeDir}/${entry.name}` : entry.name
      if (entry.isDirectory()) walk(path)
      else files.set(path, TEXT.test(path) ? readFileSync(join(root, 'files', path), 'utf8') : new Uint8Array(readFileSync(join(root, 'files', path))))
    }
  }
  walk('')
  return { manifest, files }
}

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2023', 'DOM'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    jsx: 'react-jsx',
    jsxImportSource: 'hono/jsx',
    strict: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    esModuleInterop: true,
    skipLibCheck: true,
    isolatedModules: true,
    verbatimModuleSyntax: true,
    resolveJsonModule: true,
    types: ['node'],
    noEmit: true,
  },
  include: ['src', 'test', '*.ts'],
}

const TSCONFIG_BUILD = {
  extends: './tsconfig.json',
  compilerOptions: { noEmit: false, outDir: 'dist', rootDir: 'src', sourceMap: true },
  include: ['src'],
}

function vitestConfig(choices: ProjectChoices): string {
  const env =
    choices.payments === 'stripe'
      ? [
          '    // The Stripe client is made when the shop starts; these stand in when no keys are set (no call reaches Stripe).',
          '    env: {',
          "      STRIPE_SECRET_KEY: process.env.STRIPE_SECRET_KEY ?? 'sk_test_placeholder',",
          "      STRIPE_WEBHOOK_SECRET: process.env.STRIPE_WEBHOOK_SECRET ?? 'whsec_placeholder',",
          "      STRIPE_PUBLISHABLE_KEY: process.env.STRIPE_PUBLISHABLE_KEY ?? 'pk_test_placeholder',",
          '    },',
        ]
      : []
  return [
    "import { defineConfig } from 'vitest/config'",
    '',
    'export default defineConfig({',
    '  test: {',
    "    include: ['test/**/*.test.ts'],",
    ...env,
    '    testTimeout: 60_000,',
    '    hookTimeout: 120_000,',
    '  },',
    '})',
    '',
  ].join('\n')
}

const GITIGNORE = ['node_modules', 'dist', '.env', '*.db', '*.db-wal', '*.db-shm', '*.tsbuildinfo', ''].join('\n')

const LOAD_ENV = [
  "import { existsSync } from 'node:fs'",
  '',
  '// Settings from .env (see .env.example) when the file exists; variables already set win.',
  "if (existsSync('.env')) process.loadEnvFile('.env')",
  '',
].join('\n')

function envExample(choices: ProjectChoices): string | null {
  const lines: string[] = []
  if (choices.storage === 'postgres') {
    lines.push('# The PostgreSQL database the shop runs on (its tables are made on first start).', 'DATABASE_URL=postgres://postgres:postgres@localhost:5432/shop', '')
  }
  if (choices.payments === 'stripe') {
    lines.push(
      '# Your Stripe secret key (Dashboard → Developers → API keys): sk_test_… while you try things out.',
      'STRIPE_SECRET_KEY=sk_test_replace_me',
      '# The signing secret of your webhook endpoint (or of `stripe listen`): whsec_….',
      'STRIPE_WEBHOOK_SECRET=whsec_replace_me',
      '# Your publishable key (pk_test_…): the checkout page gives it to Stripe.js, which takes the card.',
      'STRIPE_PUBLISHABLE_KEY=pk_test_replace_me',
      '',
    )
  }
  return lines.length ? lines.join('\n') : null
}

function readme(choices: ProjectChoices): string {
  const storage =
    choices.storage === 'sqlite'
      ? 'The shop keeps its data in an embedded SQLite file, `shoe-store.db` (made and seeded on first start; delete it to start over).'
      : 'The shop keeps its data in PostgreSQL: copy `.env.example` to `.env` and set `DATABASE_URL` (or set it in the environment). Its tables are made and the demo catalog seeded on first start.'
  const payments =
    choices.payments === 'test'
      ? 'Payments go through the test gateway: at checkout, pick approve, decline or "requires action" to see each path. The test gateway takes no money, so it is there only in development: with `NODE_ENV=production` the shop refuses to start until it has a real provider (pass `stripe` to `createShop` in `src/shop.ts`, or start again with `--payments stripe`), or until you pass `testPayments: true` for a shop that takes no money.'
      : 'Payments: cards through Stripe, with `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` and `STRIPE_PUBLISHABLE_KEY` from the environment or `.env` (see `.env.example`). The checkout shows Stripe\'s card field (Stripe.js: the card goes to Stripe, never to your server), and a card that asks for 3-D Secure gets a page where Stripe asks the shopper. Point your Stripe webhook endpoint at `/api/store/webhooks/stripe`. Test cards: `4242 4242 4242 4242` succeeds, `4000 0000 0000 0002` is declined, `4000 0000 0000 3220` asks for 3-D Secure. In development the test gateway is offered beside the card; with `NODE_ENV=production` only the card is, and the test gateway is not registered at all (`createShop({ testPayments })`).'
  return [
    `# ${choices.name}`,
    '',
    'A Cartwright store, started from the Cartwright shoe store: a catalog of shoes in sizes and colours, cart, checkout, accounts and B2B pages, server-rendered with Hono.',
    '',
    '```sh',
    'npm install',
    'npm run dev      # http://localhost:3000, reloads when you edit src/',
    '```',
    '',
    storage,
    '',
    payments,
    '',
    '## Scripts',
    '',
    '| script | what it does |',
    '|---|---|',
    '| `npm run dev` | serves the store from `src/` with tsx, restarting on changes |',
    '| `npm start` | compiles to `dist/` and serves it with Node (`PORT`, default 3000) |',
    '| `npm run build` | compiles `src/` to `dist/` (`node dist/server.js` serves it) |',
    '| `npm run seed` | seeds the demo catalog and exits |',
    '| `npm test` | Vitest: the store seeds and serves its home page with products listed |',
    '| `npm run typecheck` | type-checks `src/` and `test/` |',
    '',
    '## Where things are',
    '',
    '- `src/shop.ts`: the engine, its storage, payment and shipping providers, and plugins.',
    '- `src/seed.ts`, `src/catalog.ts`: the demo catalog; replace with your own products.',
    '- `src/app.tsx`: the storefront pages; `src/server.ts` serves them.',
    '- `assets/`: product pictures.',
    '',
    'Documentation: https://github.com/cartwright-commerce/cartwright#readme',
    '',
  ].join('\n')
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

/**
 * Every file of a new project, by path: the template's files (its `src/shop.ts` rewritten for
 * the choices) and the project's own package.json, TypeScript and Vitest configs, README,
 * .gitignore and, when settings are needed, `.env.example` and `src/load-env.ts`.
 *
 * @example
 * ```ts
 * const files = renderProject(readTemplate('template'), { name: 'my-shop', storage: 'sqlite', payments: 'test' })
 * ```
 */
export function renderProject(template: Template, choices: ProjectChoices): Map<string, string | Uint8Array> {
  const files = new Map(template.files)
  const shop = files.get('src/shop.ts')
  if (typeof shop !== 'string') throw new Error('The template has no src/shop.ts')
  files.set('src/shop.ts', rewriteShop(shop, choices))
  files.set('package.json', json(packageJson(choices, template.manifest)))
  files.set('tsconfig.json', json(TSCONFIG))
  files.set('tsconfig.build.json', json(TSCONFIG_BUILD))
  files.set('vitest.config.ts', vitestConfig(choices))
  files.set('README.md', readme(choices))
  files.set('.gitignore', GITIGNORE)
  const env = envExample(choices)
  if (env) {
    files.set('.env.example', env)
    files.set('src/load-env.ts', LOAD_ENV)
  }
  return files
}

/**
 * References a project must not have to stand on its own: `workspace:` ranges, the monorepo's
 * `cartwright-source` condition, and relative paths that leave the project. Returns one line per
 * finding (empty when there is none).
 *
 * @example
 * ```ts
 * monorepoReferences(new Map([['src/a.ts', "import '../../../packages/core/src/index.js'"]])) // ['src/a.ts: ../../../packages/core/src/index.js leaves the project']
 * ```
 */
export function monorepoReferences(files: Map<string, string | Uint8Array>): string[] {
  const found: string[] = []
  for (const [path, content] of files) {
    if (typeof content !== 'string') continue
    if (content.includes('workspace:')) found.push(`${path}: a workspace: range`)
    if (content.includes('cartwright-source')) found.push(`${path}: the cartwright-source condition`)
    for (const match of content.matchAll(/['"`]((?:\.\.?\/)+[^'"`\s]*)['"`]/g)) {
      const target = posix.normalize(posix.join(posix.dirname(path), match[1]!))
      if (target === '..' || target.startsWith('../')) found.push(`${path}: ${match[1]} leaves the project`)
    }
  }
  return found
}

/**
 * Writes the files under `root` (which must be missing or empty: see {@link checkTarget}).
 *
 * @example
 * ```ts
 * writeProject('/tmp/my-shop', new Map([['README.md', '# my-shop\n']]))
 * ```
 */
export function writeProject(root: string, files: Map<string, string | Uint8Array>): void {
  for (const [path, content] of files) {
    const file = join(root, ...path.split('/'))
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, content)
  }
}
