import { deepStrictEqual, notStrictEqual, ok, rejects, strictEqual } from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { Carrier, ShipmentRequest, TrackingUpdate } from '@cartwright/core'
import { buildSuite, type CaseDefinition, type ConformanceSkip, type ConformanceSuite } from '../conformance-suite.js'

const PREFIX = '[cartwright:testkit]'

/**
 * What {@link carrierConformance} runs against.
 *
 * @example
 * ```ts
 * declare function myCarrier(): import('@cartwright/core').Carrier
 * declare function signCallback(body: string): Record<string, string>
 *
 * const target: CarrierConformanceTarget = {
 *   name: 'my carrier (sandbox)',
 *   carrier: () => myCarrier(),
 *   trackingCallback(updates) {
 *     const body = JSON.stringify({ events: updates })
 *     return { body, headers: signCallback(body) }
 *   },
 * }
 * ```
 */
export interface CarrierConformanceTarget {
  /** Names the suite in test output. */
  name: string
  /** A carrier, or a function making a fresh one for each case (against a sandbox or a fake server). */
  carrier: Carrier | (() => Carrier | Promise<Carrier>)
  /**
   * A genuine tracking callback, as the carrier would send it, announcing `updates`: the suite
   * parses it back, and checks that the same callback with a changed body is refused. Needed when
   * the carrier has `parseTracking`.
   */
  trackingCallback?(updates: TrackingUpdate[]): { body: string; headers: Record<string, string> } | Promise<{ body: string; headers: Record<string, string> }>
  /**
   * The text of a PDF label, to check that it shows the tracking number and the ship-to address;
   * by default read with `unpdf` (a dependency of the testkit, loaded only by this suite).
   */
  readPdfText?(pdf: Uint8Array): Promise<string>
  /** Cases not to run, each with a reason. */
  skip?: ConformanceSkip[]
}

/** A shipment request of the suite, with a fresh idempotency key unless one is given. */
export function sampleShipmentRequest(idempotencyKey: string = `conformance-${randomUUID()}`): ShipmentRequest {
  return {
    idempotencyKey,
    orderId: 'ord_conformance',
    orderNumber: 1042,
    from: { name: 'Conformance Warehouse', address: { line1: 'Lagerstrasse 1', city: 'Hamburg', postalCode: '20095', country: 'DE' } },
    to: { name: 'Grace Hopper', address: { firstName: 'Grace', lastName: 'Hopper', line1: '12 Rue de Rivoli', city: 'Lyon', postalCode: '69001', country: 'FR' } },
    parcels: [{ weightGrams: 1200 }],
    lines: [
      { lineId: 'oln_1', sku: 'TR-43-RED', title: 'Trail Runner', quantity: 1 },
      { lineId: 'oln_2', sku: 'WS-1', title: 'Wool Sock', quantity: 2 },
    ],
    service: null,
  }
}

/**
 * The conformance suite every carrier adapter must pass: a created shipment has a tracking number
 * and a reference, and a tracking URL that is null or http(s); a PDF label is a valid PDF (parsed
 * back) showing the tracking number and the ship-to name and city; the same idempotency key answers
 * the same shipment and different keys different tracking numbers; cancel can be repeated; and,
 * when the carrier reads tracking callbacks, a genuine one is read and a tampered or unsigned one
 * refused. Checks with `node:assert`, so it runs under any test runner.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 *
 * declare const target: CarrierConformanceTarget // see its example
 * carrierConformance(target).register({ describe, it })
 * ```
 */
export function carrierConformance(target: CarrierConformanceTarget): ConformanceSuite {
  if (typeof target !== 'object' || target === null) throw new Error(`${PREFIX} carrierConformance: pass { name, carrier }`)
  if (typeof target.name !== 'string' || target.name.trim() === '') throw new Error(`${PREFIX} carrierConformance: name must be a non-empty string`)
  if (typeof target.carrier !== 'function' && (typeof target.carrier !== 'object' || target.carrier === null)) throw new Error(`${PREFIX} carrierConformance: carrier must be a carrier or a function returning one`)
  const carrierOf = async () => (typeof target.carrier === 'function' ? await target.carrier() : target.carrier)
  const readPdfText = target.readPdfText ?? defaultPdfText
  const run = (body: (carrier: Carrier) => Promise<void>) => async () => body(await carrierOf())

  const definitions: CaseDefinition[] = [
    {
      group: 'shipments',
      name: 'a created shipment has a tracking number, a reference and a tracking URL that is null or http(s)',
      run: run(async (carrier) => {
        const shipment = await carrier.createShipment(sampleShipmentRequest())
        ok(typeof shipment.trackingNumber === 'string' && shipment.trackingNumber.trim().length > 0, 'trackingNumber must be a non-empty string')
        ok(typeof shipment.reference === 'string' && shipment.reference.trim().length > 0, 'reference must be a non-empty string')
        if (shipment.trackingUrl !== null) {
          const url = new URL(shipment.trackingUrl)
          ok(url.protocol === 'https:' || url.protocol === 'http:', `trackingUrl ${shipment.trackingUrl} must be http(s)`)
        }
        ok(typeof shipment.label?.contentType === 'string' && shipment.label.contentType.length > 0, 'label.contentType must be given')
        ok(shipment.label.data instanceof Uint8Array && shipment.label.data.byteLength > 0, 'label.data must be non-empty bytes')
      }),
    },
    {
      group: 'labels',
      name: 'a PDF label is a valid PDF showing the tracking number and the ship-to name and city',
      run: run(async (carrier) => {
        const request = sampleShipmentRequest()
        const shipment = await carrier.createShipment(request)
        if (shipment.label.contentType !== 'application/pdf') return
        const bytes = shipment.label.data
        strictEqual(Buffer.from(bytes.subarray(0, 5)).toString('latin1'), '%PDF-', 'a PDF starts with %PDF-')
        ok(Buffer.from(bytes.subarray(Math.max(0, bytes.byteLength - 1024))).toString('latin1').includes('%%EOF'), 'a PDF ends with %%EOF')
        // The parser may consume what it is given: a copy, so the carrier's bytes stay whole.
        const text = normalize(await readPdfText(bytes.slice()))
        for (const expected of [shipment.trackingNumber, request.to.name, request.to.address.city]) {
          ok(text.includes(normalize(expected)), `the label's text does not show ${JSON.stringify(expected)}: ${JSON.stringify(text.slice(0, 400))}`)
        }
      }),
    },
    {
      group: 'idempotency',
      name: 'the same idempotency key answers the same shipment',
      run: run(async (carrier) => {
        const key = `conformance-${randomUUID()}`
        const first = await carrier.createShipment(sampleShipmentRequest(key))
        const again = await carrier.createShipment(sampleShipmentRequest(key))
        strictEqual(again.trackingNumber, first.trackingNumber, 'a retry with the same key made another tracking number')
        strictEqual(again.reference, first.reference, 'a retry with the same key made another shipment')
      }),
    },
    {
      group: 'idempotency',
      name: 'different idempotency keys get different tracking numbers',
      run: run(async (carrier) => {
        const seen = new Set<string>()
        for (let i = 0; i < 5; i++) {
          const { trackingNumber } = await carrier.createShipment(sampleShipmentRequest())
          ok(!seen.has(trackingNumber), `tracking number ${trackingNumber} was given to two shipments`)
          seen.add(trackingNumber)
        }
      }),
    },
    {
      group: 'cancel',
      name: 'canceling a shipment twice answers the same',
      run: run(async (carrier) => {
        const { reference, trackingNumber } = await carrier.createShipment(sampleShipmentRequest())
        const first = await carrier.cancelShipment({ reference, trackingNumber })
        ok(first.status === 'canceled' || first.status === 'too_late', `cancel answered ${JSON.stringify(first)}`)
        const second = await carrier.cancelShipment({ reference, trackingNumber })
        deepStrictEqual(second, first, 'a repeated cancel answered differently')
      }),
    },
  ]

  const tracking: CaseDefinition[] = [
    {
      group: 'tracking',
      name: 'a genuine tracking callback is read',
      run: run(async (carrier) => {
        const { trackingNumber } = await carrier.createShipment(sampleShipmentRequest())
        const updates: TrackingUpdate[] = [{ trackingNumber, status: 'in_transit', at: '2026-01-02T10:00:00.000Z', description: 'Picked up' }]
        const read = await reader(carrier)(await callback(target, updates))
        ok(Array.isArray(read) && read.length === 1, `expected one update, got ${JSON.stringify(read)}`)
        strictEqual(read[0]!.trackingNumber, trackingNumber)
        strictEqual(read[0]!.status, 'in_transit')
        strictEqual(new Date(read[0]!.at).toISOString(), '2026-01-02T10:00:00.000Z')
      }),
    },
    {
      group: 'tracking',
      name: 'a tracking callback whose body was changed is refused',
      run: run(async (carrier) => {
        const genuine = await callback(target, [{ trackingNumber: 'CONFORMANCE1', status: 'in_transit', at: '2026-01-02T10:00:00.000Z' }])
        ok(genuine.body.includes('in_transit'), 'the callback body should name its status')
        const tampered = { body: genuine.body.replace('in_transit', 'delivered'), headers: genuine.headers }
        await rejects(async () => reader(carrier)(tampered), 'a changed body was accepted')
      }),
    },
    {
      group: 'tracking',
      name: 'a tracking callback without its signature headers is refused',
      run: run(async (carrier) => {
        const genuine = await callback(target, [{ trackingNumber: 'CONFORMANCE1', status: 'delivered', at: '2026-01-02T10:00:00.000Z' }])
        await rejects(async () => reader(carrier)({ body: genuine.body, headers: {} }), 'an unsigned callback was accepted')
      }),
    },
  ]
  // Which cases exist depends on the carrier: tracking cases only for one that reads callbacks.
  const probe = typeof target.carrier === 'function' ? null : target.carrier
  const hasTracking = probe ? typeof probe.parseTracking === 'function' : typeof target.trackingCallback === 'function'
  if (hasTracking && typeof target.trackingCallback !== 'function') throw new Error(`${PREFIX} carrierConformance: the carrier reads tracking callbacks: give trackingCallback(updates) to make a genuine one`)
  return buildSuite(PREFIX, target.name, hasTracking ? [...definitions, ...tracking] : definitions, target.skip ?? [])
}

function reader(carrier: Carrier): NonNullable<Carrier['parseTracking']> {
  ok(typeof carrier.parseTracking === 'function', 'trackingCallback was given but the carrier has no parseTracking')
  return carrier.parseTracking.bind(carrier)
}

async function callback(target: CarrierConformanceTarget, updates: TrackingUpdate[]) {
  return target.trackingCallback!(updates)
}

/** Whitespace collapsed: PDF text extraction splits and joins words its own way. */
function normalize(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

async function defaultPdfText(pdf: Uint8Array): Promise<string> {
  const { extractText } = await import('unpdf')
  const { text } = await extractText(pdf, { mergePages: true })
  return text
}
