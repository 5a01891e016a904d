import type { Address } from '../validation.js'

/** A party's address on a label: the stock location's or the shopper's. */
export interface LabelParty {
  name: string
  address: Address
}

/**
 * What a carrier is asked to ship: some lines of one order, from one stock location.
 *
 * @example
 * ```ts
 * const request: ShipmentRequest = {
 *   idempotencyKey: 'shp_01J9Z3K8X2M4N6P8Q0R2S4T6V8',
 *   orderId: 'ord_01J9Z3K8X2M4N6P8Q0R2S4T6V8',
 *   orderNumber: 1042,
 *   from: { name: 'Berlin warehouse', address: { company: 'Berlin warehouse', line1: 'Lagerstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' } },
 *   to: { name: 'Ada Lovelace', address: { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' } },
 *   parcels: [{ weightGrams: 1200 }],
 *   lines: [{ lineId: 'oln_1', sku: 'TR-43-RED', title: 'Trail Runner', quantity: 1 }],
 *   service: 'standard',
 * }
 * ```
 */
export interface ShipmentRequest {
  /** The same key for a retry of the same shipment: the carrier creates it at most once. */
  idempotencyKey: string
  orderId: string
  orderNumber: number
  from: LabelParty
  to: LabelParty
  parcels: Array<{ weightGrams: number; lengthMm?: number; widthMm?: number; heightMm?: number }>
  lines: Array<{ lineId: string; sku: string; title: string; quantity: number }>
  /** The carrier's service the shopper chose (a shipping option's id), or null for the carrier's default. */
  service: string | null
}

/** A printable label: a document and its media type. */
export interface ShippingLabel {
  /** `'application/pdf'` for PDF labels (what the conformance suite expects by default), or `'image/png'`, `'application/zpl'`. */
  contentType: string
  data: Uint8Array
}

/** What a carrier answers for a created shipment. */
export interface CreatedShipment {
  /** The carrier's id for the shipment, used to cancel it. */
  reference: string
  trackingNumber: string
  /** Where a shopper follows the parcel, or null when the carrier has no page. */
  trackingUrl: string | null
  label: ShippingLabel
}

/** Where a parcel is in its journey. */
export type TrackingStatus = 'label_created' | 'in_transit' | 'out_for_delivery' | 'delivered' | 'exception' | 'returned' | 'canceled'

/** One tracking event from a carrier. */
export interface TrackingUpdate {
  trackingNumber: string
  status: TrackingStatus
  /** When it happened, ISO 8601. */
  at: string
  description?: string
  location?: string
}

/**
 * A carrier: what happens after the sale. It creates a shipment for some lines of an order from one
 * stock location (a tracking number, a tracking URL and a printable label), cancels one, and turns
 * the carrier's tracking callbacks into {@link TrackingUpdate}s. `@cartwright/shipping-rates` keeps
 * shipments and their tracking; `@cartwright/testkit`'s `carrierConformance` checks an adapter.
 *
 * Unlike tax and shipping quotes, a carrier is called outside the engine's transactions, so it may
 * call the network.
 *
 * @example
 * ```ts
 * const carrier: Carrier = {
 *   id: 'courier',
 *   async createShipment(request) {
 *     const trackingNumber = `CR${request.orderNumber}`
 *     return { reference: trackingNumber, trackingNumber, trackingUrl: null, label: { contentType: 'application/pdf', data: new Uint8Array() } }
 *   },
 *   async cancelShipment() {
 *     return { status: 'canceled' }
 *   },
 * }
 * ```
 */
export interface Carrier {
  readonly id: string
  /** Creates the shipment once per `idempotencyKey`: a retry with the same key answers the same shipment. */
  createShipment(request: ShipmentRequest): Promise<CreatedShipment>
  /** Cancels a shipment not yet handed over (`'canceled'`), or says it is too late (`'too_late'`). Idempotent. */
  cancelShipment(input: { reference: string; trackingNumber: string }): Promise<{ status: 'canceled' | 'too_late' }>
  /**
   * Reads a tracking callback from the carrier (raw body and headers), verifying its signature when the
   * carrier signs them; throws on a callback that is not authentic.
   */
  parseTracking?(input: { body: string; headers: Record<string, string> }): Promise<TrackingUpdate[]>
}
