import { z } from 'zod'
import { defineEndpoint, type Endpoint } from '@cartwright/core'
import type { ShipmentsService } from './shipments.js'

/** The engine as the endpoints' handlers use it. */
type Engine = { 'shipping-rates': { shipments: ShipmentsService } }
const shipments = (commerce: unknown) => (commerce as Engine)['shipping-rates'].shipments

const id = z.string().min(1).max(64)
const statuses = ['pending', 'label_created', 'in_transit', 'out_for_delivery', 'delivered', 'exception', 'returned', 'canceled'] as const

/** A shipment as the Admin API answers it. */
export const shipmentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  carrierId: z.string(),
  locationId: z.string(),
  service: z.string().nullable(),
  status: z.enum(statuses),
  trackingNumber: z.string().nullable(),
  trackingUrl: z.string().nullable(),
  reference: z.string().nullable(),
  label: z.object({ contentType: z.string(), bytes: z.number().int() }).nullable(),
  lines: z.array(z.object({ lineId: z.string(), quantity: z.number().int() })),
  createdAt: z.string(),
  updatedAt: z.string(),
})

const create = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/orders/:orderId/shipments',
  summary: "Ship some of an order's lines from a stock location (idempotent by key)",
  access: 'staff',
  input: z.strictObject({
    orderId: id,
    lines: z.array(z.strictObject({ lineId: id, quantity: z.number().int() })).max(500),
    locationId: id,
    carrier: id.optional(),
    service: z.string().max(64).optional(),
    idempotencyKey: z.string().max(255),
  }),
  output: shipmentSchema,
  handler: ({ input, commerce }) => shipments(commerce).create(input),
})

const list = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/orders/:orderId/shipments',
  summary: "An order's shipments, oldest first",
  access: 'staff',
  input: z.strictObject({ orderId: id }),
  output: z.object({ items: z.array(shipmentSchema) }),
  handler: async ({ input, commerce }) => ({ items: await shipments(commerce).list(input) }),
})

const cancel = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/shipments/:shipmentId/cancel',
  summary: 'Void a shipment at its carrier; its units can ship again',
  access: 'staff',
  input: z.strictObject({ shipmentId: id }),
  output: shipmentSchema,
  handler: ({ input, commerce }) => shipments(commerce).cancel(input.shipmentId),
})

const label = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/shipments/:shipmentId/label',
  summary: "A shipment's printable label, base64-encoded",
  access: 'staff',
  input: z.strictObject({ shipmentId: id }),
  output: z.object({ contentType: z.string(), base64: z.string() }),
  handler: async ({ input, commerce }) => {
    const { contentType, data } = await shipments(commerce).label(input.shipmentId)
    return { contentType, base64: Buffer.from(data).toString('base64') }
  },
})

const tracking = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/shipments/:shipmentId/tracking',
  summary: "A shipment's tracking events, oldest first",
  access: 'staff',
  input: z.strictObject({ shipmentId: id }),
  output: z.object({
    items: z.array(z.object({ shipmentId: z.string(), status: z.enum(statuses), at: z.string(), description: z.string().nullable(), location: z.string().nullable() })),
  }),
  handler: async ({ input, commerce }) => ({ items: await shipments(commerce).tracking(input.shipmentId) }),
})

/**
 * The plugin's Admin routes, contributed to `commerce.endpoints`: create, list and cancel
 * shipments, a label (base64) and tracking events. Carriers' tracking callbacks are not among them:
 * their signature covers the raw body, which the host's own route passes to `applyTracking`.
 *
 * @example
 * ```ts
 * const paths = shipmentEndpoints.map((e) => `${e.method} /admin${e.path}`)
 * ```
 */
export const shipmentEndpoints: readonly Endpoint[] = [create, list, cancel, label, tracking]
