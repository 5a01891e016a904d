import { z } from 'zod'
import { sql } from 'kysely'
import { addressSchema, CommerceError, definePlugin, ERASED_EMAIL, type Carrier, type Commerce, type LabelParty, type PrivacySubject } from '@cartwright/core'
import { shipmentEndpoints } from './endpoints.js'
import { manualCarrier } from './manual-carrier.js'
import type { TableRatesOptions } from './rate-options.js'
import { shippingEvents } from './schemas.js'
import { shipmentsService, type ShipmentsService, type ShippingContext, type ShippingTables } from './shipments.js'
import { tableRates } from './table-rates.js'

const partySchema = z.strictObject({ name: z.string().trim().min(1).max(200), address: addressSchema })

/**
 * Options of {@link shippingRates}.
 *
 * @example
 * ```ts
 * const options: ShippingRatesOptions = {
 *   rates: { zones: [{ id: 'eu', name: 'EU', countries: ['DE', 'FR', 'NL'], methods: [{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'flat', amount: 590 } } }] }] },
 *   shipFrom: { name: 'Cartwright Shop', address: { line1: 'Lagerstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' } },
 * }
 * ```
 */
export interface ShippingRatesOptions {
  /** Zones, methods and pickup locations ({@link tableRates}); the plugin adds that shipping provider. Omit it to use another provider's rates. */
  rates?: TableRatesOptions
  /** Carriers shipments can go with; `[manualCarrier()]` when omitted. */
  carriers?: Carrier[]
  /** The carrier `shipments.create` uses when it names none: the first carrier's id when omitted. */
  defaultCarrier?: string
  /** The ship-from party printed on labels, per stock location id. */
  locations?: Record<string, LabelParty>
  /** The ship-from party for stock locations not in `locations`. */
  shipFrom?: LabelParty
}

/**
 * The service of the plugin, reachable as `commerce['shipping-rates']`.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithShippingRates
 * const shipments = await shop['shipping-rates'].shipments.list({ orderId: order.id })
 * ```
 */
export interface ShippingRatesService {
  /** Shipments of orders with their labels and tracking. */
  readonly shipments: ShipmentsService
}

/**
 * Shipping for a shop selling in several countries, as a plugin: the rate tables of
 * {@link tableRates} (when `rates` is given) as a shipping provider, and shipments of orders through
 * carriers (by default {@link manualCarrier}, printing PDF labels), with tracking, at
 * `commerce['shipping-rates'].shipments`. Adds the tables `shipping_rates_*` and the events
 * `shipping-rates.shipment_created`, `shipping-rates.shipment_delivered` and
 * `shipping-rates.shipment_canceled`.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const shop = await createCommerce({
 *   storage: sqliteStorage({ filename: 'shop.db' }),
 *   plugins: [
 *     shippingRates({
 *       rates: { zones: [{ id: 'de', name: 'Germany', countries: ['DE'], methods: [{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'flat', amount: 490 } } }] }] },
 *       carriers: [manualCarrier({ trackingUrl: 'https://shop.example.com/track/{trackingNumber}' })],
 *       shipFrom: { name: 'Cartwright Shop', address: { line1: 'Lagerstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' } },
 *     }),
 *   ],
 * })
 * shop.events.on('shipping-rates.shipment_created', ({ trackingNumber }) => console.log('label printed for', trackingNumber))
 * ```
 */
export function shippingRates(options: ShippingRatesOptions = {}) {
  const carriers = options.carriers ?? [manualCarrier()]
  const byId = new Map<string, Carrier>()
  for (const carrier of carriers) {
    if (byId.has(carrier.id)) throw new CommerceError('CONFIGURATION', `[cartwright:shipping-rates] two carriers have the id ${carrier.id}`)
    byId.set(carrier.id, carrier)
  }
  const defaultCarrier = options.defaultCarrier ?? carriers[0]?.id
  if (!defaultCarrier || !byId.has(defaultCarrier)) throw new CommerceError('CONFIGURATION', `[cartwright:shipping-rates] defaultCarrier ${JSON.stringify(defaultCarrier)} is not one of the carriers`)
  const parties = new Map<string, LabelParty>()
  for (const [locationId, party] of Object.entries(options.locations ?? {})) parties.set(locationId, parseParty(party, `locations.${locationId}`))
  const shipFrom = options.shipFrom ? parseParty(options.shipFrom, 'shipFrom') : undefined

  let service: ShipmentsService | null = null
  return definePlugin({
    id: 'shipping-rates',
    events: shippingEvents,
    endpoints: shipmentEndpoints,
    ...(options.rates ? { shipping: [tableRates(options.rates)] } : {}),
    migrations: {
      '0001_shipments': {
        async up(db, { family, types }) {
          const bytes = family === 'postgres' ? 'bytea' : 'blob'
          await db.schema
            .createTable('shipping_rates_shipments')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('order_id', 'text', (c) => c.notNull())
            // Whose parcel it is (the order's email in lower case, and customer), for privacy export and erase.
            .addColumn('email_key', 'text', (c) => c.notNull())
            .addColumn('customer_id', 'text')
            .addColumn('carrier_id', 'text', (c) => c.notNull())
            .addColumn('location_id', 'text', (c) => c.notNull())
            .addColumn('service', 'text')
            .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
            .addColumn('status', 'text', (c) => c.notNull())
            .addColumn('tracking_number', 'text')
            .addColumn('tracking_url', 'text')
            .addColumn('reference', 'text')
            .addColumn('label_type', 'text')
            .addColumn('label', bytes)
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .addColumn('updated_at', types.timestamp, (c) => c.notNull())
            .execute()
          await db.schema.createIndex('shipping_rates_shipments_order').on('shipping_rates_shipments').columns(['order_id', 'created_at']).execute()
          await db.schema.createIndex('shipping_rates_shipments_email').on('shipping_rates_shipments').columns(['email_key']).execute()
          await db.schema.createIndex('shipping_rates_shipments_customer').on('shipping_rates_shipments').columns(['customer_id']).execute()
          await db.schema.createIndex('shipping_rates_shipments_tracking').on('shipping_rates_shipments').columns(['carrier_id', 'tracking_number']).execute()
          await db.schema
            .createTable('shipping_rates_shipment_lines')
            .addColumn('shipment_id', 'text', (c) => c.notNull())
            .addColumn('order_id', 'text', (c) => c.notNull())
            .addColumn('line_id', 'text', (c) => c.notNull())
            .addColumn('quantity', 'integer', (c) => c.notNull())
            .addPrimaryKeyConstraint('shipping_rates_shipment_lines_pk', ['shipment_id', 'line_id'])
            .execute()
          await db.schema
            .createTable('shipping_rates_line_counts')
            .addColumn('order_id', 'text', (c) => c.notNull())
            .addColumn('line_id', 'text', (c) => c.notNull())
            .addColumn('ordered', 'integer', (c) => c.notNull())
            .addColumn('shipped', 'integer', (c) => c.notNull())
            .addPrimaryKeyConstraint('shipping_rates_line_counts_pk', ['order_id', 'line_id'])
            // The last line of defence against over-shipping, whatever the code above it does.
            .addCheckConstraint('shipping_rates_line_counts_range', sql`shipped >= 0 and shipped <= ordered`)
            .execute()
          await db.schema
            .createTable('shipping_rates_tracking_events')
            .addColumn('shipment_id', 'text', (c) => c.notNull())
            .addColumn('status', 'text', (c) => c.notNull())
            .addColumn('at', types.timestamp, (c) => c.notNull())
            .addColumn('description', 'text')
            .addColumn('location', 'text')
            .addPrimaryKeyConstraint('shipping_rates_tracking_events_pk', ['shipment_id', 'status', 'at'])
            .execute()
        },
      },
    },
    subscribers: [
      {
        // An order canceled before all of it shipped: labels not yet handed over are voided, so no
        // parcel leaves for an order that no longer exists. Delivered at least once: canceling a
        // canceled shipment changes nothing.
        id: 'shipping-rates-void-labels-of-canceled-orders',
        events: ['order.canceled'],
        async handle(event) {
          if (event.type !== 'order.canceled' || !service) return
          for (const shipment of await service.list({ orderId: event.payload.orderId })) {
            if (shipment.status === 'pending' || shipment.status === 'label_created') await service.cancel(shipment.id)
          }
        },
      },
    ],
    init(ctx: ShippingContext): ShippingRatesService {
      // A label shows the shopper's name and address: erase drops the label's bytes, and the
      // shipment (tracking number, status) stays for the shop's books.
      ctx.privacy({
        async export(subject, db) {
          const rows = await subjectRows(db.selectFrom('shipping_rates_shipments').select(['id', 'order_id', 'carrier_id', 'status', 'tracking_number', 'tracking_url', 'created_at']), subject)
            .orderBy('created_at')
            .orderBy('id')
            .execute()
          if (rows.length === 0) return undefined
          return {
            shipments: rows.map((r) => ({ id: r.id, orderId: r.order_id, carrierId: r.carrier_id, status: r.status, trackingNumber: r.tracking_number, trackingUrl: r.tracking_url, createdAt: new Date(String(r.created_at)).toISOString() })),
          }
        },
        async erase(subject, tx) {
          if (!subject.email && !subject.customerId) return
          await subjectRows(tx.db.updateTable('shipping_rates_shipments').set({ label: null, label_type: null, email_key: ERASED_EMAIL, customer_id: null, updated_at: ctx.now().toISOString() }), subject).execute()
        },
      })
      service = shipmentsService(ctx, { carriers: byId, defaultCarrier, shipFrom: (locationId) => parties.get(locationId) ?? shipFrom })
      return { shipments: service }
    },
  })
}

/**
 * An engine with the shipping-rates plugin, for typing code that receives one.
 *
 * @example
 * ```ts
 * async function labelsToPrint(shop: CommerceWithShippingRates, orderId: string) {
 *   return (await shop['shipping-rates'].shipments.list({ orderId })).filter((s) => s.status === 'label_created')
 * }
 * ```
 */
export type CommerceWithShippingRates = Commerce<[ReturnType<typeof shippingRates>]>

export type { ShippingTables }

/** Narrows a query to the shipments of a privacy subject: by email (any case) or customer id. */
function subjectRows<Q extends { where: (...args: any[]) => Q }>(query: Q, subject: PrivacySubject): Q {
  return query.where((eb: any) => {
    const matches = []
    if (subject.email) matches.push(eb('email_key', '=', subject.email.toLowerCase()))
    if (subject.customerId) matches.push(eb('customer_id', '=', subject.customerId))
    return matches.length ? eb.or(matches) : sql<boolean>`1 = 0`
  })
}

function parseParty(party: LabelParty, path: string): LabelParty {
  const result = partySchema.safeParse(party)
  if (result.success) return result.data
  const issues = result.error.issues.map((i) => `${[path, ...i.path.map(String)].join('.')}: ${i.message}`)
  throw new CommerceError('CONFIGURATION', `[cartwright:shipping-rates] invalid options: ${issues.join('; ')}`)
}
