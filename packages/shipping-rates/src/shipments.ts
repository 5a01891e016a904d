import { sql } from 'kysely'
import {
  CommerceError,
  isCommerceError,
  notFound,
  validationError,
  type Carrier,
  type EventsOf,
  type LabelParty,
  type Order,
  type PluginContext,
  type PluginTx,
  type ShipmentRequest,
  type ShippingLabel,
  type TrackingStatus,
} from '@cartwright/core'
import {
  createShipmentSchema,
  idSchema,
  parse,
  trackingRequestSchema,
  type CreateShipmentInput,
  type Shipment,
  type ShipmentStatus,
  type TrackingCallback,
  type TrackingEvent,
  type shippingEvents,
} from './schemas.js'

/** The plugin's tables, as its database handle sees them. */
export interface ShippingTables {
  shipping_rates_shipments: {
    id: string
    order_id: string
    email_key: string
    customer_id: string | null
    carrier_id: string
    location_id: string
    service: string | null
    idempotency_key: string
    status: string
    tracking_number: string | null
    tracking_url: string | null
    reference: string | null
    label_type: string | null
    label: Uint8Array | null
    created_at: string
    updated_at: string
  }
  shipping_rates_shipment_lines: { shipment_id: string; order_id: string; line_id: string; quantity: number }
  /** Per order line: units ordered, and units in shipments that are not canceled. */
  shipping_rates_line_counts: { order_id: string; line_id: string; ordered: number; shipped: number }
  shipping_rates_tracking_events: { shipment_id: string; status: string; at: string; description: string | null; location: string | null }
}

export type ShippingContext = PluginContext<ShippingTables, EventsOf<typeof shippingEvents>>

/** Statuses after which a parcel is with the carrier: too late to cancel. */
const HANDED_OVER: readonly ShipmentStatus[] = ['in_transit', 'out_for_delivery', 'delivered', 'returned', 'exception']

/**
 * Shipments of orders, reachable as `commerce['shipping-rates'].shipments`.
 */
export interface ShipmentsService {
  /**
   * Ships some units of some lines of an order from one stock location: reserves the units (never
   * more than a line has left to ship: `CONFLICT` naming `lines.<i>.quantity`), asks the carrier for
   * the tracking number and label **outside any transaction**, and stores the shipment. When every
   * unit of the order is in a shipment, the order is fulfilled (`orders.fulfill`).
   *
   * Idempotent: the same `idempotencyKey` answers the same shipment, and the carrier is asked with
   * that key too, so a retry after a crash between the carrier's answer and the write finds the
   * carrier's shipment again rather than making a second label. Two creates at once for the same
   * units: one gets them, the other `CONFLICT`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithShippingRates
   * const shipment = await shop['shipping-rates'].shipments.create({
   *   orderId: order.id,
   *   lines: order.lines.map((l) => ({ lineId: l.id, quantity: l.quantity })),
   *   locationId: 'loc_main',
   *   idempotencyKey: `ship-${order.id}-1`,
   * })
   * const label = await shop['shipping-rates'].shipments.label(shipment.id) // a PDF to print
   * ```
   */
  create(input: CreateShipmentInput): Promise<Shipment>
  /**
   * Voids a shipment at its carrier and gives its units back to ship again. Canceling a canceled
   * shipment changes nothing; one the carrier already has (in transit, delivered) is refused with
   * `INVALID_STATE`. An order already fulfilled stays fulfilled.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithShippingRates
   * await shop['shipping-rates'].shipments.cancel('shp_1')
   * ```
   */
  cancel(shipmentId: string): Promise<Shipment>
  /**
   * One shipment; `NOT_FOUND` when there is none.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithShippingRates
   * const { status, trackingUrl } = await shop['shipping-rates'].shipments.get('shp_1')
   * ```
   */
  get(shipmentId: string): Promise<Shipment>
  /**
   * An order's shipments, oldest first (canceled ones included).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithShippingRates
   * const shipments = await shop['shipping-rates'].shipments.list({ orderId: order.id })
   * ```
   */
  list(input: { orderId: string }): Promise<Shipment[]>
  /**
   * A shipment's printable label; `NOT_FOUND` when there is no such shipment, `INVALID_STATE` while
   * it is pending.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithShippingRates
   * const { contentType, data } = await shop['shipping-rates'].shipments.label('shp_1')
   * ```
   */
  label(shipmentId: string): Promise<ShippingLabel>
  /**
   * A shipment's tracking events, oldest first.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithShippingRates
   * for (const e of await shop['shipping-rates'].shipments.tracking('shp_1')) console.log(e.at, e.status, e.location)
   * ```
   */
  tracking(shipmentId: string): Promise<TrackingEvent[]>
  /**
   * Applies a carrier's tracking callback: the carrier checks its signature (an inauthentic one is
   * refused and nothing is stored), then each event is stored once (a repeated event changes
   * nothing) and the shipment takes the status of its latest event. Announces
   * `shipping-rates.shipment_delivered` once per shipment. Events for tracking numbers not known
   * here are counted in `ignored`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithShippingRates
   * declare const request: Request
   * const { applied } = await shop['shipping-rates'].shipments.applyTracking('manual', { body: await request.text(), headers: Object.fromEntries(request.headers) })
   * ```
   */
  applyTracking(carrierId: string, callback: TrackingCallback): Promise<{ applied: number; ignored: number }>
}

/** @internal What the service needs besides the plugin's context. */
export interface ShipmentsConfig {
  carriers: ReadonlyMap<string, Carrier>
  defaultCarrier: string
  shipFrom: (locationId: string) => LabelParty | undefined
}

type ShipmentRow = ShippingTables['shipping_rates_shipments']

/** @internal Builds the shipments service over the plugin's context. */
export function shipmentsService(ctx: ShippingContext, config: ShipmentsConfig): ShipmentsService {
  const db = ctx.db

  const load = async (shipmentId: string): Promise<ShipmentRow> => {
    const row = await db.selectFrom('shipping_rates_shipments').selectAll().where('id', '=', shipmentId).executeTakeFirst()
    if (!row) throw notFound('Shipment', shipmentId)
    return row
  }
  const linesOf = async (shipmentIds: string[]) => {
    if (shipmentIds.length === 0) return new Map<string, Array<{ lineId: string; quantity: number }>>()
    const rows = await db.selectFrom('shipping_rates_shipment_lines').selectAll().where('shipment_id', 'in', shipmentIds).orderBy('line_id').execute()
    const out = new Map<string, Array<{ lineId: string; quantity: number }>>()
    for (const r of rows) {
      const list = out.get(r.shipment_id) ?? []
      list.push({ lineId: r.line_id, quantity: Number(r.quantity) })
      out.set(r.shipment_id, list)
    }
    return out
  }
  const view = async (row: ShipmentRow): Promise<Shipment> => toShipment(row, (await linesOf([row.id])).get(row.id) ?? [])

  const carrierOf = (id: string, field: string): Carrier => {
    const carrier = config.carriers.get(id)
    if (!carrier) throw validationError('shipment', [{ path: field, message: `no carrier ${JSON.stringify(id)} is configured (${[...config.carriers.keys()].join(', ')})` }])
    return carrier
  }

  /** The request a carrier is sent for a stored shipment: rebuilt the same on a retry. */
  const requestFor = async (row: ShipmentRow, order: Order): Promise<ShipmentRequest> => {
    const from = config.shipFrom(row.location_id)
    if (!from) throw new CommerceError('CONFIGURATION', `[cartwright:shipping-rates] no ship-from address for stock location ${row.location_id}: give it in locations or shipFrom`)
    if (!order.shippingAddress) throw new CommerceError('INVALID_STATE', `Order ${order.number} has no shipping address (a pickup order is collected, not shipped)`, { details: { orderId: order.id } })
    const to = order.shippingAddress
    const lines = (await linesOf([row.id])).get(row.id) ?? []
    let weightGrams = 0
    const requestLines: ShipmentRequest['lines'] = []
    for (const line of lines) {
      const orderLine = order.lines.find((l) => l.id === line.lineId)!
      requestLines.push({ lineId: line.lineId, sku: orderLine.sku, title: orderLine.variantTitle ? `${orderLine.title} (${orderLine.variantTitle})` : orderLine.title, quantity: line.quantity })
      weightGrams += (await variantWeight(orderLine.variantId)) * line.quantity
    }
    return {
      idempotencyKey: row.idempotency_key,
      orderId: order.id,
      orderNumber: order.number,
      from,
      to: { name: [to.firstName, to.lastName].filter(Boolean).join(' ') || to.company || order.email, address: to },
      parcels: [{ weightGrams }],
      lines: requestLines,
      service: row.service,
    }
  }
  const variantWeight = async (variantId: string): Promise<number> => {
    try {
      return (await ctx.commerce.catalog.getVariant(variantId)).weightGrams ?? 0
    } catch (error) {
      if (isCommerceError(error, 'NOT_FOUND')) return 0 // deleted since the order: no weight known
      throw error
    }
  }

  /** Asks the carrier for a pending shipment's label, then stores it; answers the shipment as stored. */
  const complete = async (row: ShipmentRow, order: Order): Promise<ShipmentRow> => {
    const carrier = carrierOf(row.carrier_id, 'carrier')
    let created
    try {
      created = await carrier.createShipment(await requestFor(row, order))
    } catch (error) {
      if (isCommerceError(error)) throw error
      throw new CommerceError('PROVIDER', `Carrier ${carrier.id} did not create shipment ${row.id}; retry with the same idempotencyKey`, { cause: error, retryable: true, details: { shipmentId: row.id } })
    }
    const lines = (await linesOf([row.id])).get(row.id) ?? []
    await ctx.transaction(async (tx) => {
      const now = ctx.now().toISOString()
      const done = await tx.db
        .updateTable('shipping_rates_shipments')
        .set({
          status: 'label_created',
          tracking_number: created.trackingNumber,
          tracking_url: created.trackingUrl,
          reference: created.reference,
          label_type: created.label.contentType,
          label: created.label.data,
          updated_at: now,
        })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .executeTakeFirst()
      if (Number(done.numUpdatedRows) === 1) {
        tx.emit('shipping-rates.shipment_created', {
          shipmentId: row.id,
          orderId: row.order_id,
          carrierId: row.carrier_id,
          trackingNumber: created.trackingNumber,
          trackingUrl: created.trackingUrl,
          lines,
        })
      }
    })
    return load(row.id)
  }

  /** Fulfils the order once every unit is in a shipment whose label exists. */
  const fulfilIfShipped = async (orderId: string): Promise<void> => {
    const counts = await db.selectFrom('shipping_rates_line_counts').select(['ordered', 'shipped']).where('order_id', '=', orderId).execute()
    if (counts.length === 0 || counts.some((c) => Number(c.shipped) < Number(c.ordered))) return
    const pending = await db.selectFrom('shipping_rates_shipments').select('id').where('order_id', '=', orderId).where('status', '=', 'pending').executeTakeFirst()
    if (pending) return
    const order = await ctx.commerce.orders.get(orderId)
    if (order.fulfillmentStatus !== 'fulfilled') await ctx.commerce.orders.fulfill(orderId)
  }

  return {
    async create(raw) {
      const input = parse(createShipmentSchema, raw, 'shipment')
      const carrierId = input.carrier ?? config.defaultCarrier
      carrierOf(carrierId, 'carrier')
      let row = await db.selectFrom('shipping_rates_shipments').selectAll().where('idempotency_key', '=', input.idempotencyKey).executeTakeFirst()
      if (row && row.order_id !== input.orderId) throw keyReused()
      const order = await ctx.commerce.orders.get(input.orderId)
      if (!row) {
        if (order.status === 'canceled') throw new CommerceError('INVALID_STATE', `Order ${order.number} is canceled`, { details: { orderId: order.id, fields: ['orderId'] } })
        if (order.hold) throw new CommerceError('INVALID_STATE', `Order ${order.number} is held for review and cannot be shipped`, { details: { orderId: order.id, fields: ['orderId'] } })
        if (!order.shippingAddress) throw new CommerceError('INVALID_STATE', `Order ${order.number} has no shipping address (a pickup order is collected, not shipped)`, { details: { orderId: order.id, fields: ['orderId'] } })
        const issues: Array<{ path: string; message: string }> = []
        for (const [i, line] of input.lines.entries()) if (!order.lines.some((l) => l.id === line.lineId)) issues.push({ path: `lines.${i}.lineId`, message: `order ${order.number} has no line ${line.lineId}` })
        const locations = await ctx.commerce.inventory.listLocations()
        if (!locations.some((l) => l.id === input.locationId)) issues.push({ path: 'locationId', message: `no stock location ${input.locationId}` })
        if (issues.length > 0) throw validationError('shipment', issues)
        if (!config.shipFrom(input.locationId)) throw new CommerceError('CONFIGURATION', `[cartwright:shipping-rates] no ship-from address for stock location ${input.locationId}: give it in locations or shipFrom`)
        row = await ctx.transaction((tx) => claim(tx, ctx, input, order, carrierId))
      }
      if (row.status === 'pending') row = await complete(row, order)
      await fulfilIfShipped(row.order_id)
      return view(row)
    },

    async cancel(shipmentId) {
      const id = parse(idSchema, shipmentId, 'shipmentId')
      let row = await load(id)
      if (row.status === 'canceled') return view(row)
      if (HANDED_OVER.includes(row.status as ShipmentStatus)) throw tooLate(row)
      const carrier = carrierOf(row.carrier_id, 'carrier')
      if (row.status === 'pending') {
        // The carrier's answer was never stored: ask again with the same key to learn which shipment to void.
        row = await complete(row, await ctx.commerce.orders.get(row.order_id))
        if (row.status === 'canceled') return view(row)
      }
      const answer = await carrier.cancelShipment({ reference: row.reference!, trackingNumber: row.tracking_number! })
      if (answer.status === 'too_late') throw tooLate(row)
      await ctx.transaction(async (tx) => {
        const done = await tx.db
          .updateTable('shipping_rates_shipments')
          .set({ status: 'canceled', updated_at: ctx.now().toISOString() })
          .where('id', '=', id)
          .where('status', 'in', ['pending', 'label_created'])
          .executeTakeFirst()
        if (Number(done.numUpdatedRows) !== 1) return
        const lines = await tx.db.selectFrom('shipping_rates_shipment_lines').selectAll().where('shipment_id', '=', id).orderBy('line_id').execute()
        for (const line of lines) {
          await tx.db
            .updateTable('shipping_rates_line_counts')
            .set({ shipped: sql`shipped - ${Number(line.quantity)}` })
            .where('order_id', '=', line.order_id)
            .where('line_id', '=', line.line_id)
            .execute()
        }
        tx.emit('shipping-rates.shipment_canceled', { shipmentId: id, orderId: row.order_id })
      })
      return view(await load(id))
    },

    async get(shipmentId) {
      return view(await load(parse(idSchema, shipmentId, 'shipmentId')))
    },

    async list(raw) {
      const { orderId } = parse(listSchema, raw, 'shipments')
      const rows = await db.selectFrom('shipping_rates_shipments').selectAll().where('order_id', '=', orderId).orderBy('created_at').orderBy('id').execute()
      const lines = await linesOf(rows.map((r) => r.id))
      return rows.map((r) => toShipment(r, lines.get(r.id) ?? []))
    },

    async label(shipmentId) {
      const row = await load(parse(idSchema, shipmentId, 'shipmentId'))
      if (!row.label || !row.label_type) throw new CommerceError('INVALID_STATE', `Shipment ${row.id} has no label yet (it is ${row.status})`, { details: { shipmentId: row.id } })
      return { contentType: row.label_type, data: new Uint8Array(row.label) }
    },

    async tracking(shipmentId) {
      const id = parse(idSchema, shipmentId, 'shipmentId')
      await load(id)
      const rows = await db.selectFrom('shipping_rates_tracking_events').selectAll().where('shipment_id', '=', id).orderBy('at').orderBy('status').execute()
      return rows.map((r) => ({ shipmentId: r.shipment_id, status: r.status as TrackingStatus, at: iso(r.at), description: r.description, location: r.location }))
    },

    async applyTracking(carrierIdRaw, callbackRaw) {
      const carrierId = parse(idSchema, carrierIdRaw, 'carrierId')
      const callback = parse(trackingRequestSchema, callbackRaw, 'tracking callback')
      const carrier = config.carriers.get(carrierId)
      if (!carrier) throw validationError('tracking callback', [{ path: 'carrierId', message: `no carrier ${JSON.stringify(carrierId)} is configured` }])
      if (!carrier.parseTracking) throw new CommerceError('INVALID_STATE', `Carrier ${carrierId} sends no tracking callbacks`, { details: { carrierId } })
      const updates = await carrier.parseTracking({ body: callback.body, headers: callback.headers })
      return ctx.transaction(async (tx) => {
        let applied = 0
        let ignored = 0
        for (const update of updates) {
          const shipment = await tx.db
            .selectFrom('shipping_rates_shipments')
            .select(['id', 'order_id', 'status', 'tracking_number'])
            .where('carrier_id', '=', carrierId)
            .where('tracking_number', '=', update.trackingNumber)
            .executeTakeFirst()
          if (!shipment) {
            ignored++
            continue
          }
          const at = new Date(update.at).toISOString()
          const inserted = await tx.db
            .insertInto('shipping_rates_tracking_events')
            .values({ shipment_id: shipment.id, status: update.status, at, description: update.description ?? null, location: update.location ?? null })
            .onConflict((oc) => oc.columns(['shipment_id', 'status', 'at']).doNothing())
            .executeTakeFirst()
          if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) {
            ignored++
            continue
          }
          applied++
          if (shipment.status === 'canceled') continue
          const latest = await tx.db
            .selectFrom('shipping_rates_tracking_events')
            .select(['status', 'at'])
            .where('shipment_id', '=', shipment.id)
            .orderBy('at', 'desc')
            .orderBy('status', 'desc')
            .limit(1)
            .executeTakeFirstOrThrow()
          if (latest.status === shipment.status) continue
          await tx.db.updateTable('shipping_rates_shipments').set({ status: latest.status, updated_at: ctx.now().toISOString() }).where('id', '=', shipment.id).execute()
          if (latest.status === 'delivered') {
            tx.emit('shipping-rates.shipment_delivered', { shipmentId: shipment.id, orderId: shipment.order_id, trackingNumber: shipment.tracking_number!, at: iso(latest.at) })
          }
        }
        return { applied, ignored }
      })
    },
  }
}

const listSchema = createShipmentSchema.pick({ orderId: true }).strict()

/**
 * In one transaction: the same key already stored answers that shipment; otherwise the units are
 * taken from each line's count with a conditional update (refused when the line has fewer left),
 * and the shipment is stored `pending`. Lines are taken in id order, so two creates lock rows in
 * the same order.
 */
async function claim(tx: PluginTx<ShippingTables, any>, ctx: ShippingContext, input: ReturnType<typeof createShipmentSchema.parse>, order: Order, carrierId: string): Promise<ShipmentRow> {
  const now = ctx.now().toISOString()
  const row: ShipmentRow = {
    id: ctx.newId('shp'),
    order_id: order.id,
    email_key: order.email.toLowerCase(),
    customer_id: order.customerId,
    carrier_id: carrierId,
    location_id: input.locationId,
    service: input.service ?? serviceOf(order),
    idempotency_key: input.idempotencyKey,
    status: 'pending',
    tracking_number: null,
    tracking_url: null,
    reference: null,
    label_type: null,
    label: null,
    created_at: now,
    updated_at: now,
  }
  // The key first: a create with the same key committing meanwhile makes this insert wait for it and
  // do nothing (PostgreSQL), and then its shipment is answered, with no units taken twice.
  const inserted = await tx.db
    .insertInto('shipping_rates_shipments')
    .values(row)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .executeTakeFirst()
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) {
    const same = await tx.db.selectFrom('shipping_rates_shipments').selectAll().where('idempotency_key', '=', input.idempotencyKey).executeTakeFirstOrThrow()
    if (same.order_id !== input.orderId) throw keyReused()
    return same
  }
  await tx.db
    .insertInto('shipping_rates_line_counts')
    .values(order.lines.map((l) => ({ order_id: order.id, line_id: l.id, ordered: l.quantity, shipped: 0 })))
    .onConflict((oc) => oc.columns(['order_id', 'line_id']).doNothing())
    .execute()
  const requested = input.lines.map((line, index) => ({ ...line, index })).sort((a, b) => (a.lineId < b.lineId ? -1 : a.lineId > b.lineId ? 1 : 0))
  for (const line of requested) {
    const taken = await tx.db
      .updateTable('shipping_rates_line_counts')
      .set({ shipped: sql`shipped + ${line.quantity}` })
      .where('order_id', '=', order.id)
      .where('line_id', '=', line.lineId)
      .where(sql<boolean>`shipped + ${line.quantity} <= ordered`)
      .executeTakeFirst()
    if (Number(taken.numUpdatedRows) !== 1) {
      const count = await tx.db.selectFrom('shipping_rates_line_counts').select(['ordered', 'shipped']).where('order_id', '=', order.id).where('line_id', '=', line.lineId).executeTakeFirstOrThrow()
      const left = Number(count.ordered) - Number(count.shipped)
      throw new CommerceError('CONFLICT', `Line ${line.lineId} of order ${order.number} has ${left} unit${left === 1 ? '' : 's'} left to ship, not ${line.quantity}`, {
        details: { fields: [`lines.${line.index}.quantity`], lineId: line.lineId, left, requested: line.quantity },
      })
    }
  }
  await tx.db
    .insertInto('shipping_rates_shipment_lines')
    .values(input.lines.map((l) => ({ shipment_id: row.id, order_id: order.id, line_id: l.lineId, quantity: l.quantity })))
    .execute()
  return row
}

/** The order's shipping option within its provider (`rates:standard` → `standard`), or null. */
function serviceOf(order: Order): string | null {
  const method = order.shippingMethod
  if (!method) return null
  return method.id.startsWith(`${method.provider}:`) ? method.id.slice(method.provider.length + 1) : method.id
}

function toShipment(row: ShipmentRow, lines: Array<{ lineId: string; quantity: number }>): Shipment {
  return {
    id: row.id,
    orderId: row.order_id,
    carrierId: row.carrier_id,
    locationId: row.location_id,
    service: row.service,
    status: row.status as ShipmentStatus,
    trackingNumber: row.tracking_number,
    trackingUrl: row.tracking_url,
    reference: row.reference,
    label: row.label && row.label_type ? { contentType: row.label_type, bytes: row.label.byteLength } : null,
    lines,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()
}

function keyReused(): CommerceError {
  return new CommerceError('CONFLICT', 'This idempotencyKey was used for a shipment of another order', { details: { fields: ['idempotencyKey'] } })
}

function tooLate(row: ShipmentRow): CommerceError {
  return new CommerceError('INVALID_STATE', `Shipment ${row.id} is ${row.status}: the carrier has it, it can no longer be canceled`, { details: { shipmentId: row.id, status: row.status } })
}
