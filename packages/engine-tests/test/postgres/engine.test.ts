import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { isCommerceError, testPayments, type Commerce, type StoredEvent } from '@cartwright/core'
import { checkout, gate, key, readyCart, shopPerTest, sleep, until } from '../support/index.js'

// Each test opens its own shop on a fresh PostgreSQL database: none depends on another's state.
const open = shopPerTest({ storage: 'postgres' })

/** The order as it travels through the outbox: plain JSON. */
const asJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

describe('the engine on PostgreSQL', () => {
  it('places an order, captures, fulfills', async () => {
    const { commerce, variantId } = await open({ stock: 5 })
    const cart = await readyCart(commerce, variantId, 2)
    const order = await checkout(commerce, cart.id)
    // 2 × 129.00; shipping 5.00; tax 8% of 258.00 = 20.64 plus 8% of 5.00 = 0.40
    expect(order).toMatchObject({ number: 1001, totals: { subtotal: 25800, shippingTotal: 500, taxTotal: 2064 + 40, total: 25800 + 500 + 2104 } })
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: 5, reserved: 2, available: 3 })
    const captured = await commerce.orders.capturePayment(order.id)
    expect(captured.paymentStatus).toBe('captured')
    const fulfilled = await commerce.orders.fulfill(order.id)
    expect(fulfilled.fulfillmentStatus).toBe('fulfilled')
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: 3, reserved: 0, available: 3 })
    expect(order.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  })

  it('lets exactly the available units win a concurrent race', async () => {
    const { commerce, variantId, payments } = await open({ stock: 3 })
    const carts = await Promise.all(Array.from({ length: 8 }, () => readyCart(commerce, variantId, 1)))
    const results = await Promise.allSettled(carts.map((c) => checkout(commerce, c.id)))
    const placed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    expect(placed).toHaveLength(3)
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    expect(refused.map((e) => (isCommerceError(e) ? e.code : String(e)))).toEqual(Array(5).fill('OUT_OF_STOCK'))
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: 3, reserved: 3, available: 0 })
    expect(payments.authorizations()).toBe(3)
  })

  it('delivers durable events through the outbox, once each', async () => {
    const received: StoredEvent[] = []
    let later = 0
    const { commerce, variantId } = await open({
      now: () => new Date(Date.now() + later),
      outbox: { enabled: false },
      subscribers: [{ id: 'confirmation', events: ['order.placed', 'payment.authorized'], handle: (event) => void received.push(event) }],
    })
    // The event carries the order without its access token, which only checkout's response carries.
    const { accessToken: _, ...order } = await checkout(commerce, (await readyCart(commerce, variantId, 1)).id)
    const events = await commerce.db.selectFrom('cw_outbox').select(['id', 'type']).where('type', 'in', ['order.placed', 'payment.authorized']).orderBy('id').execute()
    expect(events.map((e) => e.type).sort()).toEqual(['order.placed', 'payment.authorized'])
    expect(await commerce.outbox.list({ status: 'pending' })).toHaveLength(2)

    expect(await commerce.outbox.drain()).toBe(2)
    expect(received.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort())
    expect(received.find((e) => e.type === 'order.placed')!.payload).toEqual({ order: asJson(order) })
    const deliveries = await commerce.outbox.list()
    expect(deliveries.map((d) => ({ eventId: d.eventId, status: d.status, attempts: d.attempts, subscriber: d.subscriber })).sort((a, b) => (a.eventId < b.eventId ? -1 : 1))).toEqual(
      events.map((e) => ({ eventId: e.id, status: 'delivered', attempts: 1, subscriber: 'confirmation' })),
    )
    // Nothing is redelivered: a day on, past any lease or backoff, nothing is due.
    later = 24 * 60 * 60 * 1000
    expect(await commerce.outbox.drain()).toBe(0)
    expect(received).toHaveLength(2)
  })

  it('pages orders newest first with a cursor', async () => {
    const { commerce, variantId } = await open()
    const placed = []
    for (let i = 0; i < 3; i++) placed.push(await checkout(commerce, (await readyCart(commerce, variantId, 1)).id))
    const page = await commerce.orders.list({ limit: 2 })
    const next = await commerce.orders.list({ limit: 2, cursor: page.nextCursor! })
    const newestFirst = [...placed].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1))
    expect([...page.items, ...next.items].map((o) => o.id)).toEqual(newestFirst.map((o) => o.id))
    expect(next.nextCursor).toBeNull()
  })

  it('places one order when a lease holder and its successor reach placement together', async () => {
    const shop = await open()
    const shared = testPayments()
    const answered = gate()
    const resume = gate()
    const first = await shop.engine({
      payments: [shared],
      checkoutLeaseMs: 1000,
      outbox: { enabled: false },
      // The first caller has the gateway's answer, then stalls until its 1 s lease has run out.
      testPoints: {
        'checkout.authorize.answered': async () => {
          answered.open()
          await resume.promise
        },
      },
    })
    const second = await shop.engine({
      payments: [shared],
      checkoutLeaseMs: 1000,
      outbox: { enabled: false },
      // The successor, holding the payment's row lock in its placement, lets the first caller go and
      // goes on only once it waits for that lock: both are placing the one order at once.
      testPoints: {
        'checkout.place.before': async () => {
          resume.open()
          await until(async () => ((await waitingForLocks(shop.commerce)) > 0 ? true : undefined), 'the first caller to wait for the payment row')
        },
      },
    })
    const cart = await readyCart(shop.commerce, shop.variantId, 1)
    const idempotencyKey = key()
    const a = checkout(first, cart.id, idempotencyKey)
    await answered.promise
    await sleep(1100)
    // The second caller takes the checkout over with the same gateway key, and gets the same answer.
    const b = checkout(second, cart.id, idempotencyKey)
    const [orderA, orderB] = await Promise.all([a, b])
    expect(orderB.id).toBe(orderA.id)
    expect(shared.calls.filter((c) => c.operation === 'authorize' && c.charged)).toHaveLength(1)
    expect(await shop.commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cart.id).execute()).toEqual([{ id: orderA.id }])
  })
})

/** Sessions of this database waiting for a lock. */
async function waitingForLocks(commerce: Commerce): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(commerce.db)
  return rows[0]!.n
}
