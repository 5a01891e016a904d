import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { CommerceError, validationError, type Carrier, type CreatedShipment, type ShipmentRequest, type TrackingStatus, type TrackingUpdate } from '@cartwright/core'
import { LABEL_SIZES, renderLabel } from './label-pdf.js'

/** The header a signed tracking callback of {@link manualCarrier} carries: `sha256=<hex HMAC of the raw body>`. */
export const TRACKING_SIGNATURE_HEADER = 'x-cartwright-signature'

const TRACKING_STATUSES = ['label_created', 'in_transit', 'out_for_delivery', 'delivered', 'exception', 'returned', 'canceled'] as const satisfies readonly TrackingStatus[]

const optionsSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9_-]+$/)
    .default('manual'),
  /** Printed on the label next to the ship-from address. */
  name: z.string().trim().min(1).max(100).default('Manual shipping'),
  /** Starts every tracking number: 2 to 6 capital letters. */
  trackingPrefix: z
    .string()
    .regex(/^[A-Z]{2,6}$/, 'must be 2 to 6 capital letters')
    .default('CW'),
  /** Where a shopper follows a parcel: `{trackingNumber}` is replaced (URL-encoded). Null: no tracking page. */
  trackingUrl: z
    .string()
    .url()
    .refine((u) => u.includes('{trackingNumber}'), 'must contain {trackingNumber}')
    .nullable()
    .default(null),
  /** Secret that tracking callbacks are signed with (HMAC-SHA256 over the raw body); without one, `parseTracking` is absent. */
  secret: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * A TrueType font for the label, as a file path or its bytes, for addresses in any script (e.g.
   * DejaVu Sans). Without one the label uses the PDF's built-in Helvetica, which shows Latin-1 only:
   * other letters are transliterated (`Ł` → `L`) or shown as `?`, never garbled.
   */
  font: z.union([z.string().min(1), z.instanceof(Uint8Array)]).optional(),
  size: z.enum(Object.keys(LABEL_SIZES) as [keyof typeof LABEL_SIZES, ...Array<keyof typeof LABEL_SIZES>]).default('4x6'),
  /** The clock a label's creation date comes from (tests pass a fixed one). */
  now: z.custom<() => Date>((v) => typeof v === 'function').optional(),
})

/**
 * Options of {@link manualCarrier}.
 *
 * @example
 * ```ts
 * const options: ManualCarrierOptions = {
 *   trackingPrefix: 'SHOP',
 *   trackingUrl: 'https://shop.example.com/track/{trackingNumber}',
 *   secret: 'a-long-random-secret-from-your-vault',
 *   font: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
 * }
 * ```
 */
export type ManualCarrierOptions = z.input<typeof optionsSchema>

/**
 * A carrier with no outside service: the shop prints its own labels and hands parcels over itself.
 * `createShipment` makes a real printable label (a PDF with the ship-from and ship-to addresses,
 * the order number, the lines, and the tracking number as a Code 128 barcode) and a tracking number
 * `<prefix><order number><10 digits><check digit>`.
 *
 * - **Idempotent without storage:** the 10 digits come from a hash of the `idempotencyKey`, so a
 *   retry with the same key (even in another process, after a crash) answers the same tracking
 *   number, and shipments of one order with different keys get different ones. Tracking numbers of
 *   different orders differ by their order number.
 * - **Cancel** always succeeds (nothing was handed to anyone): the parcel is not shipped.
 * - **Tracking callbacks** (when `secret` is set): a JSON body `{ "events": [TrackingUpdate, …] }`
 *   signed in the `x-cartwright-signature` header as `sha256=<hex HMAC-SHA256 of the raw body>`
 *   ({@link signTrackingCallback} makes one, e.g. for a staff tool marking parcels delivered).
 *
 * @example
 * ```ts
 * const carrier = manualCarrier({ trackingUrl: 'https://shop.example.com/track/{trackingNumber}', secret: 'a-long-random-secret-from-your-vault' })
 * const shipment = await carrier.createShipment({
 *   idempotencyKey: 'shp_1042_1',
 *   orderId: 'ord_1',
 *   orderNumber: 1042,
 *   from: { name: 'Berlin warehouse', address: { line1: 'Lagerstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' } },
 *   to: { name: 'Ada Lovelace', address: { line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' } },
 *   parcels: [{ weightGrams: 1200 }],
 *   lines: [{ lineId: 'oln_1', sku: 'TR-43-RED', title: 'Trail Runner', quantity: 1 }],
 *   service: 'standard',
 * })
 * shipment.label.contentType // 'application/pdf'
 * ```
 */
export function manualCarrier(options: ManualCarrierOptions = {}): Carrier {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(options)'}: ${i.message}`)
    throw new CommerceError('CONFIGURATION', `[cartwright:manual-carrier] invalid options: ${issues.join('; ')}`)
  }
  const config = parsed.data
  const now = config.now ?? (() => new Date())
  // Answers already given in this process, so a retry gets the very same label bytes.
  const made = new Map<string, CreatedShipment>()

  const carrier: Carrier = {
    id: config.id,
    async createShipment(request: ShipmentRequest): Promise<CreatedShipment> {
      checkRequest(request)
      const earlier = made.get(request.idempotencyKey)
      if (earlier) return copy(earlier)
      const trackingNumber = trackingNumberFor(config.trackingPrefix, request.orderNumber, `${config.id}\u0000${request.idempotencyKey}`)
      const data = await renderLabel({ request, trackingNumber, carrierName: config.name, size: config.size, font: config.font ?? null, createdAt: now() })
      const shipment: CreatedShipment = {
        reference: trackingNumber,
        trackingNumber,
        trackingUrl: config.trackingUrl ? config.trackingUrl.replaceAll('{trackingNumber}', encodeURIComponent(trackingNumber)) : null,
        label: { contentType: 'application/pdf', data },
      }
      if (made.size >= 1000) made.delete(made.keys().next().value!)
      made.set(request.idempotencyKey, shipment)
      return copy(shipment)
    },
    async cancelShipment() {
      return { status: 'canceled' }
    },
  }
  if (config.secret) {
    const secret = config.secret
    carrier.parseTracking = async ({ body, headers }) => parseTrackingCallback(secret, body, headers)
  }
  return carrier
}

/**
 * The headers that sign a tracking callback body for a {@link manualCarrier} with `secret`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ events: [{ trackingNumber: 'CW10420123456789', status: 'delivered', at: new Date().toISOString() }] })
 * const headers = signTrackingCallback('a-long-random-secret-from-your-vault', body)
 * // POST body with headers to your endpoint that calls commerce['shipping-rates'].applyTracking('manual', { body, headers })
 * ```
 */
export function signTrackingCallback(secret: string, body: string): Record<string, string> {
  return { [TRACKING_SIGNATURE_HEADER]: `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}` }
}

const updateSchema = z.strictObject({
  trackingNumber: z.string().min(1).max(64),
  status: z.enum(TRACKING_STATUSES),
  at: z.iso.datetime({ offset: true }),
  description: z.string().max(500).optional(),
  location: z.string().max(200).optional(),
})
const callbackSchema = z.strictObject({ events: z.array(updateSchema).max(100) })

function parseTrackingCallback(secret: string, body: string, headers: Record<string, string>): TrackingUpdate[] {
  const header = Object.entries(headers).find(([name]) => name.toLowerCase() === TRACKING_SIGNATURE_HEADER)?.[1] ?? ''
  const expected = Buffer.from(signTrackingCallback(secret, body)[TRACKING_SIGNATURE_HEADER]!, 'utf8')
  const given = Buffer.from(header, 'utf8')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new CommerceError('VALIDATION', 'The tracking callback is not signed by this carrier', { details: { fields: [`headers.${TRACKING_SIGNATURE_HEADER}`] } })
  }
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    throw validationError('tracking callback', [{ path: 'body', message: 'is not JSON' }])
  }
  const parsed = callbackSchema.safeParse(json)
  if (!parsed.success) throw validationError('tracking callback', parsed.error.issues.map((i) => ({ path: ['body', ...i.path.map(String)].join('.'), message: i.message })))
  return parsed.data.events.map((e) => ({
    trackingNumber: e.trackingNumber,
    status: e.status,
    at: new Date(e.at).toISOString(),
    ...(e.description !== undefined ? { description: e.description } : {}),
    ...(e.location !== undefined ? { location: e.location } : {}),
  }))
}

/**
 * `<prefix><order number><10 digits><check digit>`: the digits from a hash of the key (so the same
 * key gives the same number), the check digit by the Luhn rule over every digit.
 */
function trackingNumberFor(prefix: string, orderNumber: number, key: string): string {
  const hash = createHash('sha256').update(key, 'utf8').digest()
  const digits = (hash.readBigUInt64BE(0) % 10_000_000_000n).toString().padStart(10, '0')
  const body = `${orderNumber}${digits}`
  return `${prefix}${body}${luhn(body)}`
}

function luhn(digits: string): number {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i])
    if (i % 2 === 0) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return (10 - (sum % 10)) % 10
}

function checkRequest(request: ShipmentRequest): void {
  const issues: Array<{ path: string; message: string }> = []
  if (typeof request?.idempotencyKey !== 'string' || request.idempotencyKey.length === 0) issues.push({ path: 'idempotencyKey', message: 'is required' })
  if (!Number.isSafeInteger(request?.orderNumber) || request.orderNumber < 0) issues.push({ path: 'orderNumber', message: 'must be a non-negative integer' })
  if (!request?.to?.address) issues.push({ path: 'to.address', message: 'is required' })
  if (!request?.from?.address) issues.push({ path: 'from.address', message: 'is required' })
  if (issues.length > 0) throw validationError('shipment request', issues)
}

function copy(s: CreatedShipment): CreatedShipment {
  return { ...s, label: { contentType: s.label.contentType, data: s.label.data.slice() } }
}
