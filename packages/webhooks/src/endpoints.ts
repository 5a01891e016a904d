import { z } from 'zod'
import { defineEndpoint, type Endpoint } from '@cartwright/core'
import {
  attemptSchema,
  createSchema,
  deliverySchema,
  deliveryStatusSchema,
  endpointSchema,
  endpointWithSecretSchema,
  idSchema,
  rotateSchema,
  updateSchema,
} from './schemas.js'
import type { WebhooksService } from './webhooks-service.js'

/** The engine as the handlers use it. */
const engine = (commerce: unknown) => (commerce as { webhooks: WebhooksService }).webhooks

const limit = z.coerce.number().int().min(1).max(200).optional()
const cursor = z.string().max(300).optional()
const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() })

const listEndpoints = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/webhooks/endpoints',
  summary: 'Webhook endpoints, newest first (never their secrets)',
  access: 'staff',
  scope: 'webhooks:read',
  input: z.strictObject({ limit, cursor }),
  output: page(endpointSchema),
  handler: ({ input, commerce }) => engine(commerce).listEndpoints(input),
})

const createEndpoint = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/webhooks/endpoints',
  summary: 'Register a webhook endpoint for some event types; the answer shows its signing secret, once',
  access: 'staff',
  scope: 'webhooks:write',
  input: createSchema,
  output: endpointWithSecretSchema,
  handler: ({ input, commerce }) => engine(commerce).createEndpoint(input),
})

const getEndpoint = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/webhooks/endpoints/:endpointId',
  summary: 'A webhook endpoint',
  access: 'staff',
  scope: 'webhooks:read',
  input: z.strictObject({ endpointId: idSchema }),
  output: endpointSchema,
  handler: ({ input, commerce }) => engine(commerce).getEndpoint(input.endpointId),
})

const updateEndpoint = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/webhooks/endpoints/:endpointId',
  summary: "Change a webhook endpoint's URL, event types, description or whether it is active",
  access: 'staff',
  scope: 'webhooks:write',
  input: z.strictObject({ endpointId: idSchema, ...updateSchema.shape }),
  output: endpointSchema,
  handler: ({ input: { endpointId, ...fields }, commerce }) => engine(commerce).updateEndpoint(endpointId, fields),
})

const deleteEndpoint = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/webhooks/endpoints/:endpointId',
  summary: 'Delete a webhook endpoint with its deliveries and their log',
  access: 'staff',
  scope: 'webhooks:write',
  input: z.strictObject({ endpointId: idSchema }),
  output: z.object({ id: z.string(), deleted: z.literal(true) }),
  handler: ({ input, commerce }) => engine(commerce).deleteEndpoint(input.endpointId),
})

const rotateSecret = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/webhooks/endpoints/:endpointId/rotate-secret',
  summary: "Give a webhook endpoint a new signing secret (shown once); the old one may keep signing for a while",
  access: 'staff',
  scope: 'webhooks:write',
  input: z.strictObject({ endpointId: idSchema, ...rotateSchema.shape }),
  output: endpointWithSecretSchema,
  handler: ({ input: { endpointId, ...fields }, commerce }) => engine(commerce).rotateSecret(endpointId, fields),
})

const listDeliveries = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/webhooks/deliveries',
  summary: 'Webhook deliveries, newest first, by endpoint, event or status',
  access: 'staff',
  scope: 'webhooks:read',
  input: z.strictObject({ endpointId: idSchema.optional(), eventId: idSchema.optional(), status: deliveryStatusSchema.optional(), limit, cursor }),
  output: page(deliverySchema),
  handler: ({ input, commerce }) => engine(commerce).listDeliveries(input),
})

const getDelivery = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/webhooks/deliveries/:deliveryId',
  summary: 'A webhook delivery',
  access: 'staff',
  scope: 'webhooks:read',
  input: z.strictObject({ deliveryId: idSchema }),
  output: deliverySchema,
  handler: ({ input, commerce }) => engine(commerce).getDelivery(input.deliveryId),
})

const listAttempts = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/webhooks/deliveries/:deliveryId/attempts',
  summary: "A webhook delivery's log: its attempts and its replays', in order (status code, error, duration)",
  access: 'staff',
  scope: 'webhooks:read',
  input: z.strictObject({ deliveryId: idSchema, limit, cursor }),
  output: page(attemptSchema),
  handler: ({ input, commerce }) => engine(commerce).listAttempts(input),
})

const replay = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/webhooks/deliveries/:deliveryId/replay',
  summary: 'Send a delivered or failed webhook delivery again, now, marked as a replay',
  access: 'staff',
  scope: 'webhooks:write',
  input: z.strictObject({ deliveryId: idSchema }),
  output: deliverySchema,
  handler: ({ input, commerce }) => engine(commerce).replay(input.deliveryId),
})

/**
 * The plugin's Admin API routes (under `/webhooks`, scopes `webhooks:read` and `webhooks:write`):
 * endpoints (create, list, get, update, delete, rotate the secret), deliveries (list, get, their
 * attempts, replay). `adminApi` from `@cartwright/http` mounts them with core's.
 *
 * @example
 * ```ts
 * const paths = webhookEndpoints.map((e) => `${e.method} ${e.path}`)
 * ```
 */
export const webhookEndpoints: Endpoint[] = [
  listEndpoints,
  createEndpoint,
  getEndpoint,
  updateEndpoint,
  deleteEndpoint,
  rotateSecret,
  listDeliveries,
  getDelivery,
  listAttempts,
  replay,
] as Endpoint[]
