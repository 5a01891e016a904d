import { z } from 'zod'

/** An event type as an endpoint subscribes to it: a name (`order.placed`), a prefix (`order.*`), or `*`. */
const eventTypeSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^(\*|[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?)$/i, 'must be an event type such as order.placed, a prefix such as order.*, or *')

export const eventTypesSchema = z.union([z.literal('*'), z.array(eventTypeSchema).min(1).max(100)])
export const idSchema = z.string().min(1).max(64)
const limitSchema = z.coerce.number().int().min(1).max(200).default(50)
const cursorSchema = z.string().max(300).optional()

export const createSchema = z.strictObject({
  url: z.string().max(2000),
  eventTypes: eventTypesSchema,
  description: z.string().max(500).nullable().optional(),
  active: z.boolean().default(true),
})

export const updateSchema = z.strictObject({
  url: z.string().max(2000).optional(),
  eventTypes: eventTypesSchema.optional(),
  description: z.string().max(500).nullable().optional(),
  active: z.boolean().optional(),
})

export const rotateSchema = z.strictObject({
  /** How long the replaced secret keeps signing alongside the new one, in seconds (default 0, at most 7 days). */
  keepPreviousSeconds: z.number().int().min(0).max(7 * 86_400).default(0),
})

export const listEndpointsSchema = z.strictObject({ limit: limitSchema, cursor: cursorSchema })

export const deliveryStatusSchema = z.enum(['pending', 'delivered', 'failed'])

export const listDeliveriesSchema = z.strictObject({
  endpointId: idSchema.optional(),
  eventId: idSchema.optional(),
  status: deliveryStatusSchema.optional(),
  limit: limitSchema,
  cursor: cursorSchema,
})

export const listAttemptsSchema = z
  .strictObject({ deliveryId: idSchema.optional(), endpointId: idSchema.optional(), limit: limitSchema, cursor: cursorSchema })
  .refine((v) => v.deliveryId !== undefined || v.endpointId !== undefined, { message: 'give deliveryId or endpointId', path: ['deliveryId'] })

export const deliverDueSchema = z.strictObject({
  /** Deliveries claimed per round (default 100). */
  batchSize: z.number().int().min(1).max(1000).default(100),
})

export const pruneSchema = z.strictObject({
  /** Deliveries created more than this many days ago (at least 1). */
  days: z.number().int().min(1).max(3650),
  /** Failed deliveries too (default false: they wait to be replayed). */
  includeFailed: z.boolean().default(false),
})

/**
 * Input of `webhooks.prune`: delete delivered (and with `includeFailed`, failed) deliveries older
 * than `days` days, with their attempts.
 *
 * @example
 * ```ts
 * const input: PruneWebhooksInput = { days: 30, includeFailed: true }
 * ```
 */
export type PruneWebhooksInput = z.input<typeof pruneSchema>

/**
 * Input of `webhooks.createEndpoint`: an http or https `url`, the event types to send (names such
 * as `order.placed`, prefixes such as `order.*`, or `'*'` for all), an optional description, and
 * whether it starts active (default true).
 *
 * @example
 * ```ts
 * const input: CreateWebhookEndpointInput = { url: 'https://erp.example.com/hooks/cartwright', eventTypes: ['order.placed', 'payment.*'] }
 * ```
 */
export type CreateWebhookEndpointInput = z.input<typeof createSchema>

/**
 * Input of `webhooks.updateEndpoint`: the fields to change.
 *
 * @example
 * ```ts
 * const pause: UpdateWebhookEndpointInput = { active: false }
 * ```
 */
export type UpdateWebhookEndpointInput = z.input<typeof updateSchema>

/**
 * Input of `webhooks.rotateSecret`: how many seconds the replaced secret keeps signing alongside
 * the new one (default 0: it stops at once), so a receiver can switch without missing a delivery.
 *
 * @example
 * ```ts
 * const input: RotateWebhookSecretInput = { keepPreviousSeconds: 24 * 3600 }
 * ```
 */
export type RotateWebhookSecretInput = z.input<typeof rotateSchema>

/**
 * Input of `webhooks.listEndpoints`: a page size (1–200, default 50) and the cursor of the previous page.
 *
 * @example
 * ```ts
 * const input: ListWebhookEndpointsInput = { limit: 20 }
 * ```
 */
export type ListWebhookEndpointsInput = z.input<typeof listEndpointsSchema>

/**
 * Input of `webhooks.listDeliveries`: newest first, filtered by endpoint, event or status.
 *
 * @example
 * ```ts
 * const input: ListWebhookDeliveriesInput = { endpointId: 'whe_1', status: 'failed' }
 * ```
 */
export type ListWebhookDeliveriesInput = z.input<typeof listDeliveriesSchema>

/**
 * Input of `webhooks.listAttempts`: the attempts of one delivery (in order) or of one endpoint
 * (newest first).
 *
 * @example
 * ```ts
 * const input: ListWebhookAttemptsInput = { deliveryId: 'whd_1' }
 * ```
 */
export type ListWebhookAttemptsInput = z.input<typeof listAttemptsSchema>

/**
 * Input of `webhooks.deliverDue`: how many deliveries one round claims (default 100).
 *
 * @example
 * ```ts
 * const input: DeliverDueInput = { batchSize: 20 }
 * ```
 */
export type DeliverDueInput = z.input<typeof deliverDueSchema>

/** An endpoint as the admin sees it (never with its secret). */
export const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  eventTypes: z.union([z.literal('*'), z.array(z.string())]),
  active: z.boolean(),
  description: z.string().nullable(),
  /** Until when the secret replaced by the last rotation still signs, or null. */
  previousSecretExpiresAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

/** An endpoint with its secret: only on the answers that create it or rotate its secret. */
export const endpointWithSecretSchema = endpointSchema.extend({ secret: z.string() })

export const deliverySchema = z.object({
  id: z.string(),
  endpointId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: deliveryStatusSchema,
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  replayOf: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
})

export const attemptSchema = z.object({
  id: z.string(),
  deliveryId: z.string(),
  endpointId: z.string(),
  attempt: z.number().int(),
  startedAt: z.string(),
  durationMs: z.number().int(),
  statusCode: z.number().int().nullable(),
  outcome: z.enum(['delivered', 'failed', 'error']),
  error: z.string().nullable(),
  responseBody: z.string().nullable(),
})

/**
 * A registered webhook endpoint. Its secret is not part of it: it is shown once, by
 * `createEndpoint` and `rotateSecret`.
 *
 * @example
 * ```ts
 * const describe = (e: WebhookEndpoint) => `${e.active ? 'on' : 'off'} ${e.url} ← ${e.eventTypes === '*' ? 'all events' : e.eventTypes.join(', ')}`
 * ```
 */
export type WebhookEndpoint = z.output<typeof endpointSchema>

/**
 * An endpoint with its secret (`whsec_…`), as `createEndpoint` and `rotateSecret` return it: the
 * only times the secret is shown.
 *
 * @example
 * ```ts
 * const envLine = (e: WebhookEndpointWithSecret) => `WEBHOOK_SECRET=${e.secret}`
 * ```
 */
export type WebhookEndpointWithSecret = z.output<typeof endpointWithSecretSchema>

/**
 * One event to be sent to one endpoint: `pending` (due at `nextAttemptAt`), `delivered` (a 2xx
 * answer) or `failed` (out of attempts; replay it). A replay is a delivery of its own, with
 * `replayOf` naming the one it repeats.
 *
 * @example
 * ```ts
 * const late = (d: WebhookDelivery) => d.status === 'pending' && d.attempts > 0
 * ```
 */
export type WebhookDelivery = z.output<typeof deliverySchema>

/**
 * One try of a delivery: the answer's status code, how long it took, the error when there was no
 * answer (refused, reset, timed out), and at most 1 KB of the answer's body.
 *
 * @example
 * ```ts
 * const line = (a: WebhookAttempt) => `#${a.attempt} ${a.statusCode ?? a.error} in ${a.durationMs} ms`
 * ```
 */
export type WebhookAttempt = z.output<typeof attemptSchema>
