import { z } from 'zod'
import { CommerceError } from '@cartwright/core'

export const optionsSchema = z.strictObject({
  allowPrivateHosts: z.boolean().default(false),
  maxAttempts: z.number().int().min(1).max(50).default(8),
  backoffBaseMs: z.number().int().min(0).max(86_400_000).default(30_000),
  backoffMaxMs: z.number().int().min(0).max(7 * 86_400_000).default(6 * 3_600_000),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  leaseMs: z.number().int().min(1000).max(3_600_000).optional(),
  concurrency: z.number().int().min(1).max(64).default(4),
  background: z.boolean().default(true),
  pollIntervalMs: z.number().int().min(10).max(3_600_000).default(1000),
  userAgent: z.string().min(1).max(200).default('Cartwright-Webhooks'),
})

/**
 * Options of {@link webhooks}. Every field is optional.
 *
 * @example
 * ```ts
 * const options: WebhooksOptions = { maxAttempts: 10, backoffBaseMs: 60_000, timeoutMs: 5_000 }
 * ```
 */
export interface WebhooksOptions {
  /**
   * Accept endpoint URLs on this machine or a private network (`127.0.0.1`, `10.x`, `localhost`,
   * `[::ffff:10.0.0.1]`, …), and host names that resolve to such addresses when a request
   * connects. Off by default: staff with an API key could otherwise make the shop call its own
   * internal services. Turn it on for tests and for receivers inside your own network.
   */
  allowPrivateHosts?: boolean
  /** Attempts before a delivery is `failed` (default 8). */
  maxAttempts?: number
  /** Delay before the first retry, in ms; it doubles with each attempt (default 30 000). */
  backoffBaseMs?: number
  /** Longest delay between two attempts, in ms (default 6 hours). */
  backoffMaxMs?: number
  /** How long to wait for the receiver's answer, in ms (default 10 000). */
  timeoutMs?: number
  /**
   * How long a claimed delivery belongs to the round that claimed it, in ms (default `timeoutMs`
   * plus 30 s). A process that dies mid-delivery leaves its claim; another round takes the
   * delivery again once the lease has passed.
   */
  leaseMs?: number
  /** Requests in flight at once in one round (default 4). */
  concurrency?: number
  /**
   * Run deliveries in the background of this process (default true): a loop on the engine's clock
   * that wakes when the outbox hands over an event and polls every `pollIntervalMs` for retries
   * that have come due. Turn it off to drive `webhooks.deliverDue()` yourself (a scheduler, a
   * test on a virtual clock).
   */
  background?: boolean
  /** How often the background loop looks for due retries, in ms (default 1000). */
  pollIntervalMs?: number
  /** The `User-Agent` of every request (default `Cartwright-Webhooks`). */
  userAgent?: string
}

export type ResolvedOptions = z.output<typeof optionsSchema> & { leaseMs: number }

export function resolveOptions(options: WebhooksOptions): ResolvedOptions {
  const result = optionsSchema.safeParse(options)
  if (!result.success) {
    throw new CommerceError('CONFIGURATION', `[cartwright:webhooks] invalid options: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  }
  return { ...result.data, leaseMs: result.data.leaseMs ?? result.data.timeoutMs + 30_000 }
}
