import { describe, expect, it } from 'vitest'
import type { Commerce, CommerceEventName, CommerceEvents, Order } from '@cartwright/core'
import { failure, key, placed, readyCart, shopPerTest, type Shop } from '../support/index.js'

const open = shopPerTest()

/** A placed order as `orders.get` reads it: without the access token that only `complete`'s response carries. */
async function placeOrder(s: Shop, quantity = 1): Promise<Order> {
  const cart = await readyCart(s.commerce, s.variantId, quantity)
  const { accessToken: _, ...order } = placed(await s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
  return order
}

/** Records the given events, in order, as `[type, payload]`. */
function record<K extends CommerceEventName>(commerce: Commerce, ...types: K[]) {
  const seen: Array<{ type: K; payload: CommerceEvents[K] }> = []
  for (const type of types) commerce.events.on(type, (payload) => void seen.push({ type, payload }))
  return seen
}

const gatewayCalls = (s: Shop, operation: 'authorize' | 'capture' | 'void' | 'refund') => s.payments.calls.filter((c) => c.operation === operation)

async function reservations(s: Shop) {
  return s.commerce.db.selectFrom('cw_reservations').select(['status', 'quantity', 'order_id']).execute()
}

describe('orders.fulfill', () => {
  it('commits the reserved stock: on-hand and reserved both go down and the reservations are committed', async () => {
    const s = await open()
    const events = record(s.commerce, 'order.fulfilled')
    const quantity = 2
    const [before] = await s.commerce.inventory.levels(s.variantId)
    const order = await placeOrder(s, quantity)
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ onHand: before!.onHand, reserved: quantity })

    const fulfilled = await s.commerce.orders.fulfill(order.id)
    expect(fulfilled.fulfillmentStatus).toBe('fulfilled')
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({
      onHand: before!.onHand - quantity,
      reserved: 0,
      available: before!.onHand - quantity,
    })
    expect(await reservations(s)).toEqual([{ status: 'committed', quantity, order_id: order.id }])
    expect(events.map((e) => e.payload)).toEqual([{ orderId: order.id, number: order.number }])

    // Fulfilling again changes nothing.
    await s.commerce.orders.fulfill(order.id)
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ onHand: before!.onHand - quantity, reserved: 0 })
    expect(events).toHaveLength(1)
  })

  it('refuses to fulfill a canceled order', async () => {
    const s = await open()
    const order = await placeOrder(s)
    await s.commerce.orders.cancel(order.id)
    await failure(s.commerce.orders.fulfill(order.id), 'INVALID_STATE')
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ onHand: 10, reserved: 0 })
  })
})

describe('orders.cancel', () => {
  it('refuses to cancel a fulfilled order, changing nothing', async () => {
    const s = await open()
    const order = await placeOrder(s)
    await s.commerce.orders.capturePayment(order.id)
    const fulfilled = await s.commerce.orders.fulfill(order.id)
    const error = await failure(s.commerce.orders.cancel(order.id), 'INVALID_STATE')
    expect(error.details).toMatchObject({ orderId: order.id, fulfillmentStatus: 'fulfilled' })
    expect(await s.commerce.orders.get(order.id)).toEqual(fulfilled)
    expect(gatewayCalls(s, 'refund')).toHaveLength(0)
    expect(gatewayCalls(s, 'void')).toHaveLength(0)
  })

  it('lets an order.beforeCancel hook veto, leaving the order and its stock as they were', async () => {
    const s = await open()
    s.commerce.hooks.hook('order.beforeCancel', ({ reason }) => {
      if (!reason) throw new Error('a reason is required')
    })
    const order = await placeOrder(s)
    await failure(s.commerce.orders.cancel(order.id), 'VETOED')
    expect(await s.commerce.orders.get(order.id)).toEqual(order)
    expect((await s.commerce.inventory.levels(s.variantId))[0]!.reserved).toBe(1)
    expect((await s.commerce.orders.cancel(order.id, { reason: 'fraud' })).status).toBe('canceled')
  })
})

describe('orders.list, get and getByNumber', () => {
  it('pages through orders newest first with a cursor', async () => {
    let clock = Date.parse('2030-01-01T00:00:00.000Z')
    const s = await open({ now: () => new Date(clock) })
    const placed: Order[] = []
    for (let i = 0; i < 5; i++) {
      clock += 60_000
      placed.push(await placeOrder(s))
    }
    const newestFirst = [...placed].reverse().map((o) => o.id)

    const pages: string[][] = []
    let cursor: string | undefined
    for (;;) {
      const page = await s.commerce.orders.list({ limit: 2, ...(cursor ? { cursor } : {}) })
      pages.push(page.items.map((o) => o.id))
      if (!page.nextCursor) break
      cursor = page.nextCursor
    }
    expect(pages).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)])
    // A page holds whole orders, lines and payments included.
    expect((await s.commerce.orders.list({ limit: 1 })).items[0]).toEqual(placed[4])
    expect((await s.commerce.orders.list({ limit: 5 })).nextCursor).toBeNull()

    await s.commerce.orders.cancel(placed[1]!.id)
    expect((await s.commerce.orders.list({ status: 'canceled' })).items.map((o) => o.id)).toEqual([placed[1]!.id])
    await failure(s.commerce.orders.list({ cursor: 'not-a-cursor' }), 'VALIDATION')
  })

  it('finds an order by id and by its sequential number, and says NOT_FOUND otherwise', async () => {
    const s = await open()
    const first = await placeOrder(s)
    const second = await placeOrder(s)
    expect(second.number).toBe(first.number + 1)
    expect(await s.commerce.orders.getByNumber(second.number)).toEqual(second)
    expect(await s.commerce.orders.get(first.id)).toEqual(first)
    await failure(s.commerce.orders.getByNumber(second.number + 1), 'NOT_FOUND')
    await failure(s.commerce.orders.get('order_missing'), 'NOT_FOUND')
  })
})
