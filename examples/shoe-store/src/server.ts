import { pathToFileURL } from 'node:url'
import { serve } from '@hono/node-server'
import { createApp, demoModeFromEnv } from './app.js'
import { createShop, type StripeSetup } from './shop.js'
import { seed } from './seed.js'

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** The port (0: any free one). Default `PORT` or 3000. */
  port?: number
  /** The SQLite file (default `shoe-store.db`); ignored when `DATABASE_URL` names PostgreSQL. */
  filename?: string
  /** `postgres://…`: run on PostgreSQL (default `process.env.DATABASE_URL`). */
  databaseUrl?: string
  /** Print nothing (tests). */
  quiet?: boolean
  /**
   * A demo shop (default: `NODE_ENV` is not `production`): seeds an empty shop with the demo's
   * catalog, accounts and gift card, and shows them on the home page. Otherwise nothing is seeded
   * (`pnpm seed` does it when asked) and the pages show no shortcuts.
   */
  demo?: boolean
  /** Card payments through Stripe, or `null` for none (default: from `STRIPE_*` in the environment, see `stripeFromEnv`). */
  stripe?: StripeSetup | null
}

/**
 * Opens the shop (in demo mode seeding it when empty) and serves it on 127.0.0.1.
 *
 * @example
 * ```ts
 * const server = await startServer({ port: 0, filename: ':memory:', quiet: true })
 * const home = await fetch(server.url)
 * await server.close()
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<{ url: string; close(): Promise<void> }> {
  const log = options.quiet ? () => undefined : (line: string) => console.log(line)
  const { commerce } = await createShop({ ...(options.filename ? { filename: options.filename } : {}), ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}), ...(options.stripe !== undefined ? { stripe: options.stripe } : {}) })
  const demo = options.demo ?? demoModeFromEnv()
  if (demo) await seed(commerce, log)
  else log('Not a demo (NODE_ENV=production): nothing seeded; `pnpm seed` seeds the demo data when asked.')
  const app = createApp(commerce, { demo })
  const port = options.port ?? Number(process.env.PORT ?? 3000)
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? '127.0.0.1' }, () => resolve(s))
  })
  const address = server.address()
  const actual = typeof address === 'object' && address ? address.port : port
  const url = `http://localhost:${actual}`
  log(`Cartwright shoe store: ${url}`)
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await commerce.close()
    },
  }
}

// `pnpm start`: serve until interrupted.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const server = await startServer()
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void server.close().then(() => process.exit(0))
    })
  }
}
