import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { extractText } from 'unpdf'
import { isCommerceError, type ShipmentRequest } from '@cartwright/core'
import { sampleShipmentRequest } from '@cartwright/testkit'
import { manualCarrier, signTrackingCallback, toLatin1, TRACKING_SIGNATURE_HEADER } from '../src/index.js'

const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'

/** The label's text; unpdf empties the array it is given, so it gets a copy. */
async function textOf(pdf: Uint8Array): Promise<string> {
  const { text } = await extractText(pdf.slice(), { mergePages: true })
  return text.replace(/\s+/g, ' ')
}

const polish = (key: string): ShipmentRequest => ({
  ...sampleShipmentRequest(key),
  to: { name: 'Łukasz Żółć', address: { firstName: 'Łukasz', lastName: 'Żółć', line1: 'ulica Świętokrzyska 12', city: 'Łódź', postalCode: '90-001', country: 'PL' } },
})

describe('manualCarrier labels', () => {
  it('a label is a valid PDF showing the tracking number, the ship-to and ship-from addresses, the order number and the lines', async () => {
    const request = sampleShipmentRequest('label-content-1')
    const shipment = await manualCarrier().createShipment(request)
    expect(shipment.label.contentType).toBe('application/pdf')
    expect(Buffer.from(shipment.label.data.subarray(0, 5)).toString('latin1')).toBe('%PDF-')
    const text = await textOf(shipment.label.data)
    for (const expected of [shipment.trackingNumber, 'Grace Hopper', '12 Rue de Rivoli', '69001 Lyon', 'FR', 'Conformance Warehouse', 'Lagerstrasse 1', '20095 Hamburg', 'Order #1042', 'TR-43-RED', 'Trail Runner', 'WS-1']) {
      expect(text).toContain(expected)
    }
    // Whole: parsing a copy left the carrier's bytes alone.
    expect(shipment.label.data.byteLength).toBeGreaterThan(1000)
  })

  it('without a font, letters outside Latin-1 are transliterated, never garbled', async () => {
    const shipment = await manualCarrier().createShipment(polish('label-latin1-1'))
    const text = await textOf(shipment.label.data)
    // ó is Latin-1 and stays; Ł, Ż, ć, Ś, ę, ź are not and lose their marks.
    expect(text).toContain('Lukasz Zólc')
    expect(text).toContain('ulica Swietokrzyska 12')
    expect(text).toContain('90-001 Lódz')
    expect(toLatin1('Zürich Œuvre Привет')).toBe('Zürich OEuvre ??????')
  })

  it.skipIf(!existsSync(DEJAVU))('with a TrueType font (path or bytes), the address is printed as written', async () => {
    for (const font of [DEJAVU, new Uint8Array(readFileSync(DEJAVU))]) {
      const shipment = await manualCarrier({ font }).createShipment(polish('label-font-1'))
      const text = await textOf(shipment.label.data)
      expect(text).toContain('Łukasz Żółć')
      expect(text).toContain('90-001 Łódź')
    }
  })

  it('a tracking number is the prefix, the order number, ten digits and a check digit; the same key gives the same one in another instance', async () => {
    const a = await manualCarrier({ trackingPrefix: 'SHOP' }).createShipment(sampleShipmentRequest('same-key-1'))
    const b = await manualCarrier({ trackingPrefix: 'SHOP' }).createShipment(sampleShipmentRequest('same-key-1'))
    const c = await manualCarrier({ trackingPrefix: 'SHOP' }).createShipment(sampleShipmentRequest('other-key-1'))
    expect(a.trackingNumber).toMatch(/^SHOP1042\d{11}$/)
    expect(b.trackingNumber).toBe(a.trackingNumber)
    expect(c.trackingNumber).not.toBe(a.trackingNumber)
    // Luhn over every digit: the check digit makes the sum a multiple of 10.
    const digits = a.trackingNumber.slice(4)
    const sum = [...digits].reverse().reduce((s, ch, i) => {
      let d = Number(ch)
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2
      return s + d
    }, 0)
    expect(sum % 10).toBe(0)
  })

  it('the tracking URL comes from the template, with the number URL-encoded; none without a template', async () => {
    const withUrl = await manualCarrier({ trackingUrl: 'https://shop.example.com/track?n={trackingNumber}' }).createShipment(sampleShipmentRequest('url-1'))
    expect(withUrl.trackingUrl).toBe(`https://shop.example.com/track?n=${withUrl.trackingNumber}`)
    expect((await manualCarrier().createShipment(sampleShipmentRequest('url-2'))).trackingUrl).toBeNull()
  })

  it('refuses bad options at once with CONFIGURATION', () => {
    for (const options of [{ trackingPrefix: 'x' }, { trackingUrl: 'https://example.com/track' }, { secret: 'short' }]) {
      let error: unknown
      try {
        manualCarrier(options)
      } catch (e) {
        error = e
      }
      expect(isCommerceError(error, 'CONFIGURATION')).toBe(true)
    }
  })
})

describe('manualCarrier tracking callbacks', () => {
  const secret = 'a-secret-of-some-length'
  const carrier = manualCarrier({ secret })
  const body = JSON.stringify({ events: [{ trackingNumber: 'CW1', status: 'delivered', at: '2026-12-01T10:00:00+01:00', location: 'Lyon' }] })

  it('a signed callback is read, with its time in UTC', async () => {
    expect(await carrier.parseTracking!({ body, headers: signTrackingCallback(secret, body) })).toEqual([{ trackingNumber: 'CW1', status: 'delivered', at: '2026-12-01T09:00:00.000Z', location: 'Lyon' }])
  })

  it('a callback with a changed body, another secret or no signature is refused with VALIDATION naming the header', async () => {
    const tampered = body.replace('delivered', 'returned')
    for (const callback of [
      { body: tampered, headers: signTrackingCallback(secret, body) },
      { body, headers: signTrackingCallback('another-secret-entirely', body) },
      { body, headers: {} },
    ]) {
      const error = await carrier.parseTracking!(callback).then(
        () => null,
        (e: unknown) => e,
      )
      expect(isCommerceError(error, 'VALIDATION')).toBe(true)
      expect((error as { details: { fields: string[] } }).details.fields).toEqual([`headers.${TRACKING_SIGNATURE_HEADER}`])
    }
  })

  it('a carrier without a secret reads no callbacks', () => {
    expect(manualCarrier().parseTracking).toBeUndefined()
  })
})
