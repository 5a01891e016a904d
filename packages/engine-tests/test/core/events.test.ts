import { sql } from 'kysely'
import { describe, expect, it, vi } from 'vitest'
import { CommerceError, type DeliveryContext, type Order, type StoredEvent } from '@cartwright/core'
import { assertTotalsViews, checkout as complete, failure, key, placed as orderOf, readyCart, shopPerTest, shownTotals, sleep, type Shop } from '../support/index.js'

const open = shopPerTest()

/** The order checkout returned, less its access token: that response is the only place the token appears, never an event. */
async function checkout(s: Shop, quantity = 1): Promise<Order> {
  const cart = await readyCart(s.commerce, s.variantId, quantity)
  const { accessToken: _, ...order } = await complete(s.commerce, cart.id)
  return order
}

/** The order as it travels through the outbox: plain JSON. */
const asJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

const DAY_MS = 24 * 60 * 60 * 1000

async function outboxRows(s: Shop, type?: string) {
  let q = s.commerce.db.selectFrom('cw_outbox').selectAll().orderBy('id')
  if (type) q = q.where('type', '=', type)
  return q.execute()
}

describe('events.on (after-commit listeners)', () => {
  it('does not fail the checkout when an order.placed listener throws or rejects, and reports both errors', async () => {
    const reported: Array<{ message: string; context: { event: string; listener: string } }> = []
    const s = await open({ onListenerError: (error, context) => reported.push({ message: (error as Error).message, context }) })
    const seen: Order[] = []
    s.commerce.events.on('order.placed', () => {
      throw new Error('sync listener failed')
    })
    s.commerce.events.on('order.placed', async () => {
      await sleep(1)
      throw new Error('async listener failed')
    })
    s.commerce.events.on('order.placed', ({ order }) => {
      seen.push(order)
    })

    const order = await checkout(s)

    expect(order.status).toBe('placed')
    expect(seen.map((o) => o.id)).toEqual([order.id])
    expect(seen[0]).toEqual(order)
    await vi.waitFor(() => expect(reported).toHaveLength(2))
    expect(reported).toEqual(
      expect.arrayContaining([
        { message: 'sync listener failed', context: { event: 'order.placed', listener: 'event' } },
        { message: 'async listener failed', context: { event: 'order.placed', listener: 'event' } },
      ]),
    )
    expect(await s.commerce.orders.get(order.id)).toMatchObject({ id: order.id, status: 'placed' })
  })

  it('stops calling a listener once the function returned by on() is called', async () => {
    const s = await open()
    const calls: string[] = []
    const off = s.commerce.events.on('order.placed', ({ order }) => {
      calls.push(order.id)
    })
    const first = await checkout(s)
    off()
    await checkout(s)
    expect(calls).toEqual([first.id])
  })

  it('removes only the subscription whose unsubscribe was called when one function listens to two events', async () => {
    const s = await open()
    const calls: string[] = []
    const listener = (payload: { payment: { id: string } } | { order: { id: string } }) => {
      calls.push('order' in payload ? 'order.placed' : 'payment.authorized')
    }
    const offPlaced = s.commerce.events.on('order.placed', listener)
    s.commerce.events.on('payment.authorized', listener)
    offPlaced()
    await checkout(s)
    expect(calls).toEqual(['payment.authorized'])
  })

  it('removes one registration per unsubscribe, and every registration for one event with off()', async () => {
    const s = await open()
    let calls = 0
    const listener = () => {
      calls++
    }
    const offFirst = s.commerce.events.on('order.placed', listener)
    s.commerce.events.on('order.placed', listener)
    s.commerce.events.on('payment.authorized', listener)
    await checkout(s)
    expect(calls).toBe(3)
    offFirst()
    offFirst()
    await checkout(s)
    expect(calls).toBe(3 + 2)
    s.commerce.events.off('order.placed', listener)
    await checkout(s)
    expect(calls).toBe(3 + 2 + 1)
  })

  it('emits nothing for a checkout that fails', async () => {
    const s = await open()
    const calls: string[] = []
    s.commerce.events.on('order.placed', ({ order }) => {
      calls.push(order.id)
    })
    const cart = await readyCart(s.commerce, s.variantId, 10)
    await s.commerce.inventory.adjust({ variantId: s.variantId, locationId: s.warehouse.id, delta: -1 })
    await failure(s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'OUT_OF_STOCK')
    expect(calls).toEqual([])
  })
})

describe('durable subscribers (outbox)', () => {
  it('retries a subscriber that fails 3 times and applies its side effect exactly once, on the 4th attempt', async () => {
    const attempts: number[] = []
    const sideEffects: string[] = []
    let later = 0
    const s = await open({
      now: () => new Date(Date.now() + later),
      outbox: { backoffBaseMs: 1, pollIntervalMs: 10 },
      subscribers: [
        {
          id: 'warehouse-notice',
          events: ['order.placed'],
          handle(event: StoredEvent, context: DeliveryContext) {
            attempts.push(context.attempt)
            if (attempts.length <= 3) throw new Error(`warehouse down (attempt ${context.attempt})`)
            sideEffects.push(event.id)
          },
        },
      ],
    })

    const order = await checkout(s)

    await vi.waitFor(async () => expect(await s.commerce.outbox.list({ status: 'delivered' })).toHaveLength(1), { timeout: 5_000 })
    const [placed] = await outboxRows(s, 'order.placed')
    const [delivery] = await s.commerce.outbox.list()
    expect(delivery).toMatchObject({ eventId: placed!.id, eventType: 'order.placed', subscriber: 'warehouse-notice', status: 'delivered', attempts: 4, lastError: null })
    expect(delivery!.deliveredAt).not.toBeNull()
    expect(attempts).toEqual([1, 2, 3, 4])
    expect(sideEffects).toEqual([placed!.id])
    expect(JSON.parse(placed!.payload)).toEqual({ order: asJson(order) })

    // Nothing is redelivered later: a day on, past any backoff or lease, nothing is due.
    later = DAY_MS
    expect(await s.commerce.outbox.drain()).toBe(0)
    expect(attempts).toEqual([1, 2, 3, 4])
    expect(sideEffects).toEqual([placed!.id])
    expect(await s.commerce.outbox.list()).toEqual([{ ...delivery, status: 'delivered', attempts: 4 }])
  })

  it('drain waits for the round the background dispatcher has in flight: its deliveries are done when drain returns', async () => {
    let entered!: () => void
    const inside = new Promise<void>((resolve) => (entered = resolve))
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const done: string[] = []
    const s = await open({
      outbox: { pollIntervalMs: 10 },
      subscribers: [
        {
          id: 'slow-notice',
          events: ['order.placed'],
          async handle(event: StoredEvent) {
            entered()
            await gate
            done.push(event.id)
          },
        },
      ],
    })
    await checkout(s)
    // The background dispatcher has claimed the delivery and is inside the subscriber.
    await inside
    let drained = false
    const draining = s.commerce.outbox.drain({ timeoutMs: 5_000 }).then(() => (drained = true))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(drained).toBe(false)
    release()
    await draining
    expect(done).toHaveLength(1)
    expect(await s.commerce.outbox.list({ status: 'delivered' })).toHaveLength(1)
  })

  it('hands the subscriber the order.placed payload equal to the order checkout returned', async () => {
    const received: StoredEvent[] = []
    const s = await open({
      outbox: { enabled: false },
      subscribers: [{ id: 'audit', events: ['order.placed'], handle: (event) => void received.push(event) }],
    })
    const order = await checkout(s)
    expect(await s.commerce.outbox.drain()).toBe(1)
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({ type: 'order.placed', payload: { order: asJson(order) } })
  })

  it('writes no outbox row and no delivery for a checkout that fails with OUT_OF_STOCK', async () => {
    const s = await open({
      outbox: { enabled: false },
      subscribers: [{ id: 'everything', events: '*', handle: () => undefined }],
    })
    const cart = await readyCart(s.commerce, s.variantId, 10)
    await s.commerce.inventory.adjust({ variantId: s.variantId, locationId: s.warehouse.id, delta: -1 })
    const events = await outboxRows(s)
    const deliveries = await s.commerce.db.selectFrom('cw_outbox_deliveries').select('id').execute()
    expect(events.length).toBeGreaterThan(0)
    await failure(s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'OUT_OF_STOCK')
    expect(await outboxRows(s)).toEqual(events)
    expect(await s.commerce.db.selectFrom('cw_outbox_deliveries').select('id').execute()).toEqual(deliveries)
  })

  it('commits an order and its order.placed event together: when the outbox write fails, no order exists', async () => {
    let offset = 0
    const delivered: StoredEvent[] = []
    const s = await open({
      now: () => new Date(Date.now() + offset),
      outbox: { enabled: false },
      subscribers: [{ id: 'confirmation', events: ['order.placed'], handle: (event) => void delivered.push(event) }],
    })
    const cart = await readyCart(s.commerce, s.variantId)
    // A real SQLite failure inside the placing transaction, after the order rows were written.
    await sql`create trigger test_outbox_down before insert on cw_outbox when new.type = 'order.placed'
      begin select raise(abort, 'outbox is down'); end`.execute(s.commerce.db)
    const idempotencyKey = key()
    await failure(s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey }), 'STORAGE')
    expect(await s.commerce.db.selectFrom('cw_orders').select('id').execute()).toHaveLength(0)
    expect(await s.commerce.db.selectFrom('cw_order_lines').select('id').execute()).toHaveLength(0)
    expect(await outboxRows(s, 'order.placed')).toHaveLength(0)
    expect(await outboxRows(s, 'payment.authorized')).toHaveLength(0)
    expect(await s.commerce.db.selectFrom('cw_payments').select('status').execute()).toEqual([{ status: 'pending' }])
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ reserved: 1 })

    // Once storage works again and the claim's lease has run out, the same key resumes: one charge, one order, one event.
    await sql`drop trigger test_outbox_down`.execute(s.commerce.db)
    offset = 31_000
    const { accessToken: _, ...order } = orderOf(await s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey }))
    expect(order.status).toBe('placed')
    expect(s.payments.authorizations()).toBe(1)
    const placed = await outboxRows(s, 'order.placed')
    expect(placed).toHaveLength(1)
    expect(JSON.parse(placed[0]!.payload)).toEqual({ order: asJson(order) })
    await s.commerce.outbox.drain()
    expect(delivered.map((e) => e.id)).toEqual([placed[0]!.id])
  })

  it('dead-letters a delivery after maxAttempts, shows it, and delivers it after retry() once the subscriber is fixed', async () => {
    let fixed = false
    const attempts: number[] = []
    let later = 0
    const s = await open({
      now: () => new Date(Date.now() + later),
      outbox: { backoffBaseMs: 1, pollIntervalMs: 10, maxAttempts: 2 },
      subscribers: [
        {
          id: 'crm-sync',
          events: ['order.placed'],
          handle(_event, context) {
            attempts.push(context.attempt)
            if (!fixed) throw new Error('crm rejected the payload')
          },
        },
      ],
    })
    await checkout(s)

    await vi.waitFor(async () => expect(await s.commerce.outbox.list({ status: 'dead' })).toHaveLength(1), { timeout: 5_000 })
    const [dead] = await s.commerce.outbox.list({ status: 'dead' })
    expect(dead).toMatchObject({ subscriber: 'crm-sync', eventType: 'order.placed', status: 'dead', attempts: 2, lastError: 'crm rejected the payload', deliveredAt: null })
    // A dead letter is never attempted again by itself: a day on, nothing is due.
    later = DAY_MS
    expect(await s.commerce.outbox.drain()).toBe(0)
    expect(attempts).toEqual([1, 2])
    expect(await s.commerce.outbox.list()).toEqual([dead])

    fixed = true
    await s.commerce.outbox.retry(dead!.id)
    await vi.waitFor(async () => expect(await s.commerce.outbox.list({ status: 'delivered' })).toHaveLength(1), { timeout: 5_000 })
    expect(await s.commerce.outbox.list({ status: 'dead' })).toHaveLength(0)
    expect((await s.commerce.outbox.list({ status: 'delivered' }))[0]).toMatchObject({ id: dead!.id, attempts: 1, lastError: null })
    expect(attempts).toEqual([1, 2, 1])
  })
})

describe('hooks', () => {
  it('lets checkout.beforeComplete veto with VETOED before any stock is reserved or payment attempted', async () => {
    const s = await open()
    const off = s.commerce.hooks.hook('checkout.beforeComplete', () => {
      throw new Error('checkout is closed for maintenance')
    })
    const cart = await readyCart(s.commerce, s.variantId, 2)
    const error = await failure(s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'VETOED')
    expect(error.message).toContain('checkout is closed for maintenance')
    expect(error.details).toMatchObject({ hook: 'checkout.beforeComplete' })
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ reserved: 0, available: 10 })
    expect(await s.commerce.db.selectFrom('cw_reservations').select('id').execute()).toHaveLength(0)
    expect(await s.commerce.db.selectFrom('cw_payments').select('id').execute()).toHaveLength(0)
    expect(s.payments.calls).toHaveLength(0)
    expect((await s.commerce.carts.get(cart.id)).status).toBe('open')

    off()
    const order = orderOf(await s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    expect(order.status).toBe('placed')
  })

  it('passes a CommerceError thrown by checkout.beforeComplete to the caller with its own code', async () => {
    const s = await open()
    s.commerce.hooks.hook('checkout.beforeComplete', ({ totals }) => {
      if (totals.total > 10_000) throw new CommerceError('INVALID_STATE', 'Orders over 100.00 need approval', { details: { limit: 10_000 } })
    })
    const cart = await readyCart(s.commerce, s.variantId)
    const error = await failure(s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'INVALID_STATE')
    expect(error.details).toEqual({ limit: 10_000 })
    expect((await s.commerce.inventory.levels(s.variantId))[0]!.reserved).toBe(0)
    expect(s.payments.calls).toHaveLength(0)
  })

  it('applies a cart.adjust discount to the cart totals, the order and the amount authorized', async () => {
    const s = await open()
    const discount = 1000
    s.commerce.hooks.hook('cart.adjust', ({ adjustments }) => {
      adjustments.push({ code: 'WELCOME10', label: 'Welcome, 10.00 off', amount: discount })
    })
    const cart = await readyCart(s.commerce, s.variantId, 1)
    const unitPrice = cart.lines[0]!.unitPrice
    const shipping = cart.shippingMethod!.amount
    // 8% tax on the discounted goods and on shipping.
    const expectedTax = ((unitPrice - discount) * 8) / 100 + (shipping * 8) / 100
    expect(Number.isInteger(expectedTax)).toBe(true)
    expect(cart.adjustments).toEqual([{ code: 'WELCOME10', label: 'Welcome, 10.00 off', amount: discount, target: 'lines', source: 'WELCOME10' }])
    assertTotalsViews(cart.totals)
    expect(shownTotals(cart.totals)).toEqual({
      subtotal: unitPrice,
      discountTotal: discount,
      shippingTotal: shipping,
      taxTotal: expectedTax,
      rounding: 0,
      total: unitPrice - discount + shipping + expectedTax,
    })

    const order = orderOf(await s.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    expect({
      subtotal: order.totals.subtotal,
      discountTotal: order.totals.discountTotal,
      shippingTotal: order.totals.shippingTotal,
      taxTotal: order.totals.taxTotal,
      rounding: order.totals.rounding,
      total: order.totals.total,
    }).toEqual(shownTotals(cart.totals))
    expect(order.totals).toEqual(cart.totals)
    expect(order.lines[0]).toMatchObject({ discountTotal: discount, subtotal: unitPrice, total: unitPrice - discount + ((unitPrice - discount) * 8) / 100 })
    expect(order.payments[0]).toMatchObject({ amount: cart.totals.total, authorizedAmount: cart.totals.total })
    expect(s.payments.calls.map((c) => [c.operation, c.amount])).toEqual([['authorize', cart.totals.total]])
  })
})
