import { definePlugin, type PluginContext } from '@cartwright/core'
import { webhookEndpoints } from './endpoints.js'
import { resolveOptions, type ResolvedOptions, type WebhooksOptions } from './options.js'
import { webhookMigrations, type WebhookTables } from './tables.js'
import { createWebhooksService, isClosedError, type WebhooksInternals, type WebhooksService } from './webhooks-service.js'

/**
 * The background loop: a round whenever the outbox hands over an event (`kick`), and one every
 * `pollIntervalMs` for retries that have come due. Its sleeps are background sleeps of the
 * engine's clock: they do not hold the process open, nor move a virtual clock. It ends by itself
 * once the engine is closed.
 */
function startLoop(ctx: PluginContext<WebhookTables>, internals: WebhooksInternals, options: ResolvedOptions): () => void {
  let stopped = false
  let wake = new AbortController()
  let running: Promise<void> | null = null
  const loop = async () => {
    while (!stopped) {
      let attempted = 0
      try {
        attempted = (await internals.service.deliverDue()).attempted
      } catch (error) {
        if (isClosedError(error)) break
        // A busy or unreachable database: try again at the next poll.
      }
      if (stopped) break
      if (attempted === 0) {
        const signal = wake.signal
        await ctx.clock.sleep(options.pollIntervalMs, { background: true, signal })
        if (signal.aborted) wake = new AbortController()
      }
    }
  }
  internals.onStop = async () => {
    stopped = true
    wake.abort()
    await running
  }
  running = loop().finally(() => {
    stopped = true
  })
  return () => {
    if (!stopped) wake.abort()
  }
}

/**
 * Outgoing webhooks as a plugin: endpoints registered per event type receive every matching
 * event of the outbox (core's and every plugin's) as a signed JSON POST, with per-delivery retries
 * and backoff, a log of every attempt, and replay. Deliveries are at least once: a process that
 * dies between sending and recording sends again later, with the same `Cartwright-Webhook-Id`, which
 * the receiver uses to drop the repeat. Receivers check requests with {@link verifyWebhookSignature}.
 *
 * Its Admin routes (`/webhooks/...`) are mounted by `adminApi` from `@cartwright/http`.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), plugins: [webhooks({ maxAttempts: 10 })] })
 * const endpoint = await commerce.webhooks.createEndpoint({ url: 'https://erp.example.com/hooks', eventTypes: ['order.placed', 'order.canceled'] })
 * console.log('signing secret, shown once:', endpoint.secret)
 * ```
 */
export function webhooks(options: WebhooksOptions = {}) {
  const resolved = resolveOptions(options)
  let internals: WebhooksInternals | null = null
  let kick: (() => void) | null = null
  return definePlugin({
    id: 'webhooks',
    migrations: webhookMigrations,
    endpoints: webhookEndpoints,
    subscribers: [
      {
        // Every event goes through here once per outbox delivery; enqueue is idempotent per
        // (event, endpoint), so the outbox's retries add nothing twice.
        id: 'webhooks-deliveries',
        events: '*',
        async handle(event) {
          if (!internals) throw new Error('[cartwright:webhooks] the plugin is not initialised yet')
          const added = await internals.enqueue(event)
          if (added > 0) kick?.()
        },
      },
    ],
    init(ctx: PluginContext<WebhookTables>): WebhooksService {
      internals = createWebhooksService(ctx, resolved)
      if (resolved.background) kick = startLoop(ctx, internals, resolved)
      return internals.service
    },
  })
}
