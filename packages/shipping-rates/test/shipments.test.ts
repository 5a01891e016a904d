import { afterEach, describe, expect, it } from 'vitest'
import { extractText } from 'unpdf'
import type { Carrier, CreatedShipment } from '@cartwright/core'
import { manualCarrier, signTrackingCallback, type CreateShipmentInput } from '../src/index.js'
import { openShop, rejection, SECRET, STORAGES, type Shop } from './support.js'

/** A manual carrier that records what it is asked and made, and can lose its next answer (it made the label, the reply never arrived). */
function recordingCarrier() {
  const inner = manualCarrier({ secret: SECRET })
  const state = { keys: [] as string[], made: new Set<string>(), canceled: [] as string[], loseNextAnswer: false }
  const carrier: Carrier = {
    id: 'manual',
    async createShipment(request): Promise<CreatedShipment> {
      state.keys.push(request.idempotencyKey)
      const shipment = await inner.createShipment(request)
      state.made.add(shipment.trackingNumber)
      if (state.loseNextAnswer) {
        state.loseNextAnswer = false
        throw new Error('socket hang up')
      }
      return shipment
    },
    async cancelShipment(input) {
      state.canceled.push(input.trackingNumber)
      return inner.cancelShipment(input)
    },
    parseTracking: (callback) => inner.parseTracking!(callback),
  }
  return { carrier, state }
}

const callback = (events: Array<{ trackingNumber: string; status: string; at: string; location?: string }>) => {
  const body = JSON.stringify({ events })
  return { body, headers: signTrackingCallback(SECRET, body) }
}

describe.each(STORAGES)('shipments on %s', (storage) => {
  let shop: Shop
  afterEach(() => shop?.close())

  const lineOf = (order: { lines: Array<{ id: string; sku: string }> }, sku: string) => order.lines.find((l) => l.sku === sku)!.id

  it('ships an order in two shipments with printable labels; the order is fulfilled when its last unit is in a shipment', async () => {
    shop = await openShop(storage)
    const created: string[] = []
    shop.commerce.events.on('shipping-rates.shipment_created', ({ shipmentId }) => void created.push(shipmentId))
    const order = await shop.order([
      [shop.mug, 3],
      [shop.kettle, 1],
    ])
    const mug = lineOf(order, 'MUG-1')
    const kettle = lineOf(order, 'KETTLE-1')
    const ship = shop.commerce['shipping-rates'].shipments

    const first = await ship.create({ orderId: order.id, lines: [{ lineId: mug, quantity: 2 }], locationId: shop.warehouse.id, idempotencyKey: `first-${order.id}` })
    expect(first).toMatchObject({ orderId: order.id, carrierId: 'manual', status: 'label_created', service: 'standard', lines: [{ lineId: mug, quantity: 2 }] })
    expect(first.trackingNumber).toMatch(new RegExp(`^CW${order.number}\\d{11}$`))
    expect((await shop.commerce.orders.get(order.id)).fulfillmentStatus).toBe('unfulfilled')

    const label = await ship.label(first.id)
    expect(label.contentType).toBe('application/pdf')
    const { text } = await extractText(label.data.slice(), { mergePages: true })
    for (const expected of [first.trackingNumber!, 'Ada Lovelace', 'Unter den Linden 1', '10117 Berlin', 'Cartwright Warehouse', `Order #${order.number}`]) expect(text).toContain(expected)

    const second = await ship.create({ orderId: order.id, lines: [{ lineId: kettle, quantity: 1 }, { lineId: mug, quantity: 1 }], locationId: shop.warehouse.id, idempotencyKey: `second-${order.id}` })
    expect(second.trackingNumber).not.toBe(first.trackingNumber)
    const fulfilled = await shop.commerce.orders.get(order.id)
    expect(fulfilled.fulfillmentStatus).toBe('fulfilled')
    expect((await shop.commerce.inventory.reservations({ orderId: order.id })).map((r) => r.status)).toEqual(['committed', 'committed'])
    expect((await ship.list({ orderId: order.id })).map((s) => s.id)).toEqual([first.id, second.id])
    expect((await shop.tables()).counts).toEqual(
      [
        { order_id: order.id, line_id: mug, ordered: 3, shipped: 3 },
        { order_id: order.id, line_id: kettle, ordered: 1, shipped: 1 },
      ].sort((a, b) => a.line_id.localeCompare(b.line_id)),
    )
    await shop.commerce.outbox.drain()
    expect(created.sort()).toEqual([first.id, second.id].sort())
  })

  it('refuses more units than a line has left to ship with CONFLICT naming the field, and bad input with VALIDATION naming it, storing nothing', async () => {
    shop = await openShop(storage)
    const order = await shop.order([[shop.mug, 3]])
    const mug = lineOf(order, 'MUG-1')
    const ship = shop.commerce['shipping-rates'].shipments
    await ship.create({ orderId: order.id, lines: [{ lineId: mug, quantity: 2 }], locationId: shop.warehouse.id, idempotencyKey: `first-${order.id}` })
    const before = await shop.tables()

    const over = await rejection(ship.create({ orderId: order.id, lines: [{ lineId: mug, quantity: 2 }], locationId: shop.warehouse.id, idempotencyKey: `over-${order.id}` }))
    expect(over).toMatchObject({ code: 'CONFLICT', fields: ['lines.0.quantity'] })
    expect(over.message).toContain('1 unit left to ship, not 2')

    const bad: Array<[Partial<CreateShipmentInput>, string[]]> = [
      [{ lines: [{ lineId: 'oln_nope', quantity: 1 }] }, ['lines.0.lineId']],
      [{ lines: [{ lineId: mug, quantity: 0 }] }, ['lines.0.quantity']],
      [{ lines: [] }, ['lines']],
      [{ locationId: 'loc_nope' }, ['locationId']],
      [{ carrier: 'pigeon' }, ['carrier']],
      [{ idempotencyKey: 'short' }, ['idempotencyKey']],
    ]
    for (const [change, fields] of bad) {
      const refused = await rejection(ship.create({ orderId: order.id, lines: [{ lineId: mug, quantity: 1 }], locationId: shop.warehouse.id, idempotencyKey: `bad-${order.id}`, ...change }))
      expect(refused, JSON.stringify(change)).toMatchObject({ code: 'VALIDATION', fields })
    }
    expect((await rejection(ship.create({ orderId: 'ord_nope', lines: [{ lineId: mug, quantity: 1 }], locationId: shop.warehouse.id, idempotencyKey: 'no-such-order' }))).code).toBe('NOT_FOUND')
    expect(await shop.tables()).toEqual(before)
  })

  it('the same key answers the same shipment; an answer lost after the carrier made the label is found again with that key, not made twice', async () => {
    const { carrier, state } = recordingCarrier()
    shop = await openShop(storage, { carriers: [carrier] })
    const order = await shop.order([[shop.mug, 2]])
    const mug = lineOf(order, 'MUG-1')
    const ship = shop.commerce['shipping-rates'].shipments
    const input = { orderId: order.id, lines: [{ lineId: mug, quantity: 2 }], locationId: shop.warehouse.id, idempotencyKey: `lost-${order.id}` }

    state.loseNextAnswer = true
    expect((await rejection(ship.create(input))).code).toBe('PROVIDER')
    // Stored as pending, its units held: nothing else can take them meanwhile.
    expect((await shop.tables()).shipments).toMatchObject([{ status: 'pending', tracking_number: null }])
    expect((await rejection(ship.create({ ...input, lines: [{ lineId: mug, quantity: 1 }], idempotencyKey: `other-${order.id}` }))).code).toBe('CONFLICT')
    expect((await shop.commerce.orders.get(order.id)).fulfillmentStatus).toBe('unfulfilled')

    const retried = await ship.create(input)
    const again = await ship.create(input)
    expect(retried.status).toBe('label_created')
    expect(again).toEqual(retried)
    expect(state.keys).toEqual([input.idempotencyKey, input.idempotencyKey])
    expect([...state.made]).toEqual([retried.trackingNumber])
    expect((await shop.tables()).shipments).toHaveLength(1)
    expect((await shop.commerce.orders.get(order.id)).fulfillmentStatus).toBe('fulfilled')

    const reused = await rejection(ship.create({ ...input, orderId: (await shop.order([[shop.mug, 1]])).id }))
    expect(reused).toMatchObject({ code: 'CONFLICT', fields: ['idempotencyKey'] })
  })

  it('cancel voids the shipment at the carrier and gives its units back; a repeated cancel changes nothing; a delivered one cannot be canceled', async () => {
    const { carrier, state } = recordingCarrier()
    shop = await openShop(storage, { carriers: [carrier] })
    const order = await shop.order([[shop.mug, 3]])
    const mug = lineOf(order, 'MUG-1')
    const ship = shop.commerce['shipping-rates'].shipments
    const first = await ship.create({ orderId: order.id, lines: [{ lineId: mug, quantity: 3 }], locationId: shop.warehouse.id, idempotencyKey: `c1-${order.id}` })
    // All shipped: the order was fulfilled, and stays so.
    expect((await ship.cancel(first.id)).status).toBe('canceled')
    expect((await ship.cancel(first.id)).status).toBe('canceled')
    expect(state.canceled).toEqual([first.trackingNumber])
    expect((await shop.tables()).counts).toMatchObject([{ line_id: mug, shipped: 0 }])

    const second = await ship.create({ orderId: order.id, lines: [{ lineId: mug, quantity: 3 }], locationId: shop.warehouse.id, idempotencyKey: `c2-${order.id}` })
    await ship.applyTracking('manual', callback([{ trackingNumber: second.trackingNumber!, status: 'delivered', at: '2026-12-02T10:00:00Z' }]))
    const late = await rejection(ship.cancel(second.id))
    expect(late.code).toBe('INVALID_STATE')
    expect((await ship.get(second.id)).status).toBe('delivered')
    expect((await shop.tables()).counts).toMatchObject([{ line_id: mug, shipped: 3 }])
  })

  it('tracking callbacks: each event stored once, the status follows the latest event, delivery announced once; a tampered callback stores nothing', async () => {
    shop = await openShop(storage)
    const delivered: string[] = []
    shop.commerce.events.on('shipping-rates.shipment_delivered', ({ shipmentId }) => void delivered.push(shipmentId))
    const order = await shop.order([[shop.mug, 1]])
    const ship = shop.commerce['shipping-rates'].shipments
    const s = await ship.create({ orderId: order.id, lines: [{ lineId: lineOf(order, 'MUG-1'), quantity: 1 }], locationId: shop.warehouse.id, idempotencyKey: `t-${order.id}` })
    const tn = s.trackingNumber!

    const events = [
      { trackingNumber: tn, status: 'in_transit', at: '2026-12-02T08:00:00Z', location: 'Hamburg' },
      { trackingNumber: tn, status: 'delivered', at: '2026-12-03T15:30:00Z', location: 'Berlin' },
      { trackingNumber: 'CW0000000000000', status: 'delivered', at: '2026-12-03T15:30:00Z' },
    ]
    expect(await ship.applyTracking('manual', callback(events))).toEqual({ applied: 2, ignored: 1 })
    expect(await ship.applyTracking('manual', callback(events.slice(0, 2)))).toEqual({ applied: 0, ignored: 2 })
    // An older event arriving late does not move the status back.
    expect(await ship.applyTracking('manual', callback([{ trackingNumber: tn, status: 'out_for_delivery', at: '2026-12-03T07:00:00Z' }]))).toEqual({ applied: 1, ignored: 0 })
    expect((await ship.get(s.id)).status).toBe('delivered')
    expect((await ship.tracking(s.id)).map((e) => [e.status, e.at, e.location])).toEqual([
      ['in_transit', '2026-12-02T08:00:00.000Z', 'Hamburg'],
      ['out_for_delivery', '2026-12-03T07:00:00.000Z', null],
      ['delivered', '2026-12-03T15:30:00.000Z', 'Berlin'],
    ])

    const before = await shop.tables()
    const genuine = callback([{ trackingNumber: tn, status: 'returned', at: '2026-12-05T10:00:00Z' }])
    const tampered = await rejection(ship.applyTracking('manual', { body: genuine.body.replace('returned', 'exception'), headers: genuine.headers }))
    expect(tampered).toMatchObject({ code: 'VALIDATION', fields: ['headers.x-cartwright-signature'] })
    expect(await shop.tables()).toEqual(before)
    await shop.commerce.outbox.drain()
    expect(delivered).toEqual([s.id])
  })

  it('creates at once for the same units: exactly as many units ship as the line has, the others get CONFLICT', async () => {
    shop = await openShop(storage)
    const order = await shop.order([[shop.mug, 3]])
    const mug = lineOf(order, 'MUG-1')
    const ship = shop.commerce['shipping-rates'].shipments
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => ship.create({ orderId: order.id, lines: [{ lineId: mug, quantity: 1 }], locationId: shop.warehouse.id, idempotencyKey: `race-${i}-${order.id}` })),
    )
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(won).toHaveLength(3)
    expect(lost.map((r) => (r.reason as { code?: string }).code)).toEqual(Array(5).fill('CONFLICT'))
    const tables = await shop.tables()
    expect(tables.shipments).toHaveLength(3)
    expect(tables.counts).toMatchObject([{ line_id: mug, ordered: 3, shipped: 3 }])
    expect((await shop.commerce.orders.get(order.id)).fulfillmentStatus).toBe('fulfilled')

    // Five creates at once with one key: one shipment, the same answer to all.
    const once = await shop.order([[shop.mug, 2]])
    const same = await Promise.all(
      Array.from({ length: 5 }, () => ship.create({ orderId: once.id, lines: [{ lineId: lineOf(once, 'MUG-1'), quantity: 2 }], locationId: shop.warehouse.id, idempotencyKey: `same-${once.id}` })),
    )
    expect(new Set(same.map((s) => s.id)).size).toBe(1)
    expect(new Set(same.map((s) => s.trackingNumber)).size).toBe(1)
    expect((await ship.list({ orderId: once.id })).map((s) => s.status)).toEqual(['label_created'])

    // Two creates of the whole line at once on a fresh order: one wins.
    const next = await shop.order([[shop.mug, 2]])
    const line = lineOf(next, 'MUG-1')
    const pair = await Promise.allSettled(
      ['a', 'b'].map((k) => ship.create({ orderId: next.id, lines: [{ lineId: line, quantity: 2 }], locationId: shop.warehouse.id, idempotencyKey: `pair-${k}-${next.id}` })),
    )
    expect(pair.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    expect(((pair.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as { code: string }).code).toBe('CONFLICT')
  })

  it("privacy: export lists a shopper's shipments; erase drops their labels (which show the address) and keeps the shipments", async () => {
    shop = await openShop(storage)
    const order = await shop.order([[shop.mug, 1]])
    const ship = shop.commerce['shipping-rates'].shipments
    const s = await ship.create({ orderId: order.id, lines: [{ lineId: lineOf(order, 'MUG-1'), quantity: 1 }], locationId: shop.warehouse.id, idempotencyKey: `p-${order.id}` })

    const exported = await shop.commerce.privacy.export({ email: 'ADA@example.com' })
    expect(JSON.stringify(exported)).toContain(s.trackingNumber!)
    await shop.commerce.privacy.erase({ email: 'ada@example.com' })
    expect(await ship.get(s.id)).toMatchObject({ status: 'label_created', trackingNumber: s.trackingNumber, label: null })
    expect((await rejection(ship.label(s.id))).code).toBe('INVALID_STATE')
    expect(JSON.stringify(await shop.commerce.privacy.export({ email: 'ada@example.com' }))).not.toContain(s.trackingNumber!)
  })

  it('canceling an order before all of it shipped voids its labels at the carrier', async () => {
    const { carrier, state } = recordingCarrier()
    shop = await openShop(storage, { carriers: [carrier] })
    const order = await shop.order([[shop.mug, 3]])
    const ship = shop.commerce['shipping-rates'].shipments
    const s = await ship.create({ orderId: order.id, lines: [{ lineId: lineOf(order, 'MUG-1'), quantity: 1 }], locationId: shop.warehouse.id, idempotencyKey: `oc-${order.id}` })
    await shop.commerce.orders.cancel(order.id)
    await shop.commerce.outbox.drain()
    expect((await ship.get(s.id)).status).toBe('canceled')
    expect(state.canceled).toEqual([s.trackingNumber])
    expect((await rejection(ship.create({ orderId: order.id, lines: [{ lineId: lineOf(order, 'MUG-1'), quantity: 1 }], locationId: shop.warehouse.id, idempotencyKey: `oc2-${order.id}` }))).code).toBe('INVALID_STATE')
  })

  it('the Admin endpoints create, list, cancel and print shipments through the service', async () => {
    shop = await openShop(storage)
    const order = await shop.order([[shop.mug, 2]])
    const route = (method: string, path: string) => shop.commerce.endpoints.find((e) => e.surface === 'admin' && e.method === method && e.path === path)!
    const call = async (method: string, path: string, input: unknown) => {
      const endpoint = route(method, path)
      const parsed = endpoint.input!.parse(input)
      return endpoint.output.parse(await endpoint.handler({ input: parsed, actor: { kind: 'staff', staffId: 'stf_1', permissions: [] }, commerce: shop.commerce }))
    }
    const created = (await call('POST', '/orders/:orderId/shipments', { orderId: order.id, lines: [{ lineId: lineOf(order, 'MUG-1'), quantity: 2 }], locationId: shop.warehouse.id, idempotencyKey: `api-${order.id}` })) as { id: string }
    expect(await call('GET', '/orders/:orderId/shipments', { orderId: order.id })).toMatchObject({ items: [{ id: created.id, status: 'label_created' }] })
    const label = (await call('GET', '/shipments/:shipmentId/label', { shipmentId: created.id })) as { contentType: string; base64: string }
    expect([label.contentType, Buffer.from(label.base64, 'base64').subarray(0, 5).toString('latin1')]).toEqual(['application/pdf', '%PDF-'])
    expect(await call('POST', '/shipments/:shipmentId/cancel', { shipmentId: created.id })).toMatchObject({ id: created.id, status: 'canceled' })
    expect(await call('GET', '/shipments/:shipmentId/tracking', { shipmentId: created.id })).toEqual({ items: [] })
  })
})
