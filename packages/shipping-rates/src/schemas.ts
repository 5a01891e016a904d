import { z } from 'zod'
import { validationError, type TrackingStatus } from '@cartwright/core'

/** Text every storage keeps as sent: no NUL and no unpaired surrogate. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const storable = (s: string) => !UNSTORABLE.test(s)
const storableMessage = 'must not contain a NUL character or an unpaired surrogate'

export const idSchema = z.string().min(1).max(64).refine(storable, storableMessage)

export const createShipmentSchema = z.strictObject({
  orderId: idSchema,
  lines: z
    .array(z.strictObject({ lineId: idSchema, quantity: z.number().int().min(1).max(1_000_000) }))
    .min(1)
    .max(500)
    .superRefine((lines, ctx) => {
      const seen = new Set<string>()
      for (const [i, line] of lines.entries()) {
        if (seen.has(line.lineId)) ctx.addIssue({ code: 'custom', path: [i, 'lineId'], message: `line ${line.lineId} is listed twice` })
        seen.add(line.lineId)
      }
    }),
  locationId: idSchema,
  carrier: idSchema.optional(),
  /** The carrier's service for this shipment; the order's shipping option when omitted. */
  service: z.string().min(1).max(64).refine(storable, storableMessage).optional(),
  idempotencyKey: z
    .string()
    .min(8)
    .max(255)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters'),
})

/**
 * Input of `shipments.create`: some units of some lines of one order, shipped from one stock
 * location by one carrier (the plugin's default carrier when `carrier` is omitted). The same
 * `idempotencyKey` answers the same shipment.
 *
 * @example
 * ```ts
 * const input: CreateShipmentInput = {
 *   orderId: 'ord_1',
 *   lines: [{ lineId: 'oln_1', quantity: 2 }],
 *   locationId: 'loc_main',
 *   idempotencyKey: 'ship-ord_1-first-parcel',
 * }
 * ```
 */
export type CreateShipmentInput = z.input<typeof createShipmentSchema>

export const trackingRequestSchema = z.strictObject({
  body: z.string().max(1_000_000),
  headers: z.record(z.string().max(200), z.string().max(10_000)),
})

/**
 * A carrier's tracking callback as received: the raw body (exactly as sent, for its signature) and
 * the request's headers.
 *
 * @example
 * ```ts
 * declare const request: Request // the carrier's POST
 * const callback: TrackingCallback = { body: await request.text(), headers: Object.fromEntries(request.headers) }
 * ```
 */
export type TrackingCallback = z.input<typeof trackingRequestSchema>

/**
 * Where a shipment is: `pending` while the carrier is being asked (a retry with the same key
 * finishes it), then the carrier's tracking status; `canceled` when voided.
 *
 * @example
 * ```ts
 * const open = (status: ShipmentStatus) => status === 'label_created' || status === 'pending'
 * ```
 */
export type ShipmentStatus = 'pending' | TrackingStatus

/**
 * A shipment of some lines of an order, as `shipments.get` and `shipments.list` answer it (the
 * label's bytes come from `shipments.label`).
 *
 * @example
 * ```ts
 * const shipment: Shipment = {
 *   id: 'shp_1',
 *   orderId: 'ord_1',
 *   carrierId: 'manual',
 *   locationId: 'loc_main',
 *   service: 'standard',
 *   status: 'label_created',
 *   trackingNumber: 'CW104201234567897',
 *   trackingUrl: null,
 *   reference: 'CW104201234567897',
 *   label: { contentType: 'application/pdf', bytes: 3571 },
 *   lines: [{ lineId: 'oln_1', quantity: 2 }],
 *   createdAt: '2026-12-01T09:00:00.000Z',
 *   updatedAt: '2026-12-01T09:00:00.000Z',
 * }
 * ```
 */
export interface Shipment {
  id: string
  orderId: string
  carrierId: string
  locationId: string
  service: string | null
  status: ShipmentStatus
  /** Null while `pending`. */
  trackingNumber: string | null
  trackingUrl: string | null
  /** The carrier's id for the shipment (to cancel it); null while `pending`. */
  reference: string | null
  /** The label's media type and size; null while `pending`. */
  label: { contentType: string; bytes: number } | null
  lines: Array<{ lineId: string; quantity: number }>
  createdAt: string
  updatedAt: string
}

/**
 * One tracking event of a shipment, as stored.
 *
 * @example
 * ```ts
 * const event: TrackingEvent = { shipmentId: 'shp_1', status: 'delivered', at: '2026-12-03T14:02:00.000Z', description: 'Left with a neighbour', location: 'Paris' }
 * ```
 */
export interface TrackingEvent {
  shipmentId: string
  status: TrackingStatus
  at: string
  description: string | null
  location: string | null
}

/** The plugin's events, with their payload schemas. */
export const shippingEvents = {
  'shipping-rates.shipment_created': z.object({
    shipmentId: z.string(),
    orderId: z.string(),
    carrierId: z.string(),
    trackingNumber: z.string(),
    trackingUrl: z.string().nullable(),
    lines: z.array(z.object({ lineId: z.string(), quantity: z.number().int().positive() })),
  }),
  'shipping-rates.shipment_delivered': z.object({ shipmentId: z.string(), orderId: z.string(), trackingNumber: z.string(), at: z.string() }),
  'shipping-rates.shipment_canceled': z.object({ shipmentId: z.string(), orderId: z.string() }),
}

/** Parses a method's input, or throws `VALIDATION` naming every failing field, before anything is read or written. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw validationError(
    subject,
    result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
  )
}
