import { join } from 'node:path'
import { expect, it } from 'vitest'
import type { Commerce, CommerceEventName, CommerceOptions, DurableSubscriber, PruneResult, TestPoints } from '@cartwright/core'
import { checkout, failure, gate, key, openEngine, openShop, readyCart, seedShop, tempDir, type Shop, type StorageKind } from './index.js'

/**
 * The retention tests, run on SQLite (test/core/retention.test.ts) and PostgreSQL
 * (test/postgres/retention.test.ts). Each builds a shop's history on a settable clock, moves the
 * clock on, prunes, and compares what is stored before and after.
 */

const DAY = 86_400_000
const T0 = Date.parse('2026-01-01T00:00:00.000Z')

/** A clock the engine reads; tests move it by days. */
function settableClock() {
  let t = T0
  return {
    now: () => new Date(t),
    day: (n: number) => void (t = T0 + n * DAY),
    advance: (ms: number) => void (t += ms),
    time: () => t,
  }
}

const time = (value: string | Date | null): number => (value === null ? Number.NaN : new Date(value).getTime())
const sorted = (ids: Iterable<string>) => [...ids].sort()

/** Every row retention may touch, and every row it must not, read straight from the tables. */
async function snapshot(db: Commerce['db']) {
  const [events, deliveries, carts, lines, payments, operations, reservations, orders, orderLines, levels] = await Promise.all([
    db.selectFrom('cw_outbox').selectAll().execute(),
    db.selectFrom('cw_outbox_deliveries').selectAll().execute(),
    db.selectFrom('cw_carts').selectAll().execute(),
    db.selectFrom('cw_cart_lines').selectAll().execute(),
    db.selectFrom('cw_payments').selectAll().execute(),
    db.selectFrom('cw_payment_operations').selectAll().execute(),
    db.selectFrom('cw_reservations').selectAll().execute(),
    db.selectFrom('cw_orders').selectAll().execute(),
    db.selectFrom('cw_order_lines').selectAll().execute(),
    db.selectFrom('cw_inventory_levels').selectAll().execute(),
  ])
  return { events, deliveries, carts, lines, payments, operations, reservations, orders, orderLines, levels }
}
type Snapshot = Awaited<ReturnType<typeof snapshot>>

function gone<T extends { id: string | number }>(before: T[], after: T[]): string[] {
  const kept = new Set(after.map((r) => String(r.id)))
  return sorted(before.map((r) => String(r.id)).filter((id) => !kept.has(id)))
}

function byId<T extends { id: string | number }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1))
}

/** `reserved` of every level is the sum of its held reservations. */
function expectReservedIsHeld(state: Snapshot): void {
  for (const level of state.levels) {
    const held = state.reservations.filter((r) => r.level_id === level.id && r.status === 'held').reduce((sum, r) => sum + r.quantity, 0)
    expect(level.reserved, `reserved of ${level.id}`).toBe(held)
  }
}

/** The events the `audit` subscriber gets; `product.created` and `inventory.adjusted` go to no one. */
const AUDITED: CommerceEventName[] = ['cart.created', 'cart.item_added', 'cart.updated', 'payment.authorized', 'payment.captured', 'payment.declined', 'order.placed']

const subscribers: DurableSubscriber[] = [
  { id: 'audit', events: AUDITED, handle() {} },
  {
    id: 'broken',
    events: ['order.placed'],
    handle() {
      throw new Error('mail server down')
    },
  },
  {
    id: 'retrying',
    events: ['cart.updated'],
    handle() {
      throw new Error('not yet')
    },
  },
]

type Found = Parameters<TestPoints['retention.batch.found']>[0]

/** A shop on `storage` on a settable clock, whose `retention.batch.found` point calls `onFound` when set. */
async function retentionShop(storage: StorageKind, options: Partial<CommerceOptions> = {}) {
  const clock = settableClock()
  let onFound: ((found: Found) => Promise<void>) | null = null
  const shop = await openShop({
    storage,
    stock: 50,
    now: clock.now,
    outbox: { enabled: false, maxAttempts: 2, backoffBaseMs: 1000 },
    testPoints: { 'retention.batch.found': (found) => onFound?.(found) },
    ...options,
  })
  return { shop, clock, setOnFound: (fn: typeof onFound) => void (onFound = fn) }
}

const declined = (commerce: Commerce, cartId: string) =>
  failure(commerce.checkout.complete(cartId, { payment: { provider: 'test', data: { outcome: 'decline' } }, idempotencyKey: key() }), 'PAYMENT_DECLINED')

/** A checkout whose gateway response was lost: the cart stays `completing` with a pending payment and held stock. */
async function inFlight(shop: Shop, cartId: string): Promise<void> {
  shop.payments.script('lost')
  await failure(checkout(shop.commerce, cartId), 'PAYMENT_FAILED')
}

/** Declares the retention tests on `storage` (a SQLite file or PostgreSQL). */
export function retentionCases(storage: Extract<StorageKind, 'sqlite-file' | 'postgres'>): void {
  it('removes what the default policy lets go and keeps every order, live checkout and undelivered event', async () => {
    const { shop, clock } = await retentionShop(storage, { subscribers })
    try {
      const { commerce, variantId } = shop
      // Day 0: an order captured; an order whose first attempt was declined; a declined attempt on a
      // cart left open; a cart with a line and an empty one, both left; a checkout whose gateway
      // answer was lost (money may have moved); a cart its shopper comes back to on day 95.
      const orderA = await checkout(commerce, (await readyCart(commerce, variantId, 2)).id)
      await commerce.orders.capturePayment(orderA.id)
      const cartB = await readyCart(commerce, variantId)
      await declined(commerce, cartB.id)
      const orderB = await checkout(commerce, cartB.id)
      const cartD = await readyCart(commerce, variantId)
      await declined(commerce, cartD.id)
      const cartE = await readyCart(commerce, variantId)
      const cartF = await commerce.carts.create({ currency: 'USD' })
      const cartG = await readyCart(commerce, variantId)
      await inFlight(shop, cartG.id)
      const cartH = await readyCart(commerce, variantId)
      // Two rounds of delivery: `broken` and `retrying` dead-letter what they got.
      await commerce.outbox.drain()
      clock.advance(60_000)
      await commerce.outbox.drain()
      // Undelivered until day 95; `retrying` still has its cart.updated pending at day 100.
      const cartI = await commerce.carts.create({ currency: 'USD' })
      await commerce.carts.update(cartI.id, { email: 'later@example.com' })
      clock.day(95)
      await commerce.carts.update(cartH.id, { email: 'back@example.com' })
      await commerce.outbox.drain()
      clock.day(100)

      const before = await snapshot(commerce.db)
      const orderABefore = await commerce.orders.get(orderA.id)
      const result = await commerce.retention.prune()
      const after = await snapshot(commerce.db)

      // Carts: open, untouched for 90 days, no payment attempt left (D's declined attempt goes first).
      expect(gone(before.carts, after.carts)).toEqual(sorted([cartD.id, cartE.id, cartF.id, cartI.id]))
      expect(gone(before.lines, after.lines)).toEqual(sorted(before.lines.filter((l) => [cartD.id, cartE.id].includes(l.cart_id)).map((l) => l.id)))
      // Declined attempts and released reservations of carts without an order; B's are its order's history.
      const attemptD = before.payments.filter((p) => p.cart_id === cartD.id)
      expect(attemptD.map((p) => p.status)).toEqual(['declined'])
      expect(gone(before.payments, after.payments)).toEqual(attemptD.map((p) => p.id))
      const releasedD = before.reservations.filter((r) => r.cart_id === cartD.id)
      expect(releasedD.map((r) => r.status)).toEqual(['released'])
      expect(gone(before.reservations, after.reservations)).toEqual(releasedD.map((r) => r.id))
      expect(after.payments.filter((p) => p.cart_id === cartB.id).map((p) => p.status).sort()).toEqual(['authorized', 'declined'])
      expect(after.reservations.filter((r) => r.cart_id === cartB.id).map((r) => r.status).sort()).toEqual(['held', 'released'])
      // Events: written before day 70 with every delivery done before day 70, or with none at all.
      const cutoff = clock.time() - 30 * DAY
      const deliveriesOf = (eventId: string) => before.deliveries.filter((d) => d.event_id === eventId)
      const removable = before.events.filter(
        (e) => time(e.created_at) < cutoff && deliveriesOf(e.id).every((d) => d.status === 'delivered' && time(d.delivered_at) < cutoff),
      )
      expect(gone(before.events, after.events)).toEqual(sorted(removable.map((e) => e.id)))
      expect(gone(before.deliveries, after.deliveries)).toEqual(sorted(removable.flatMap((e) => deliveriesOf(e.id)).map((d) => String(d.id))))
      // …of every kind: with no subscriber, delivered; and kept: dead-lettered, pending, delivered late.
      expect(removable.some((e) => deliveriesOf(e.id).length === 0)).toBe(true)
      expect(removable.some((e) => deliveriesOf(e.id).length > 0)).toBe(true)
      const keptDeliveries = after.deliveries.filter((d) => time(after.events.find((e) => e.id === d.event_id)!.created_at) < cutoff)
      expect(new Set(keptDeliveries.map((d) => d.status))).toEqual(new Set(['delivered', 'pending', 'dead']))
      const createdI = after.events.find((e) => e.type === 'cart.created' && JSON.parse(e.payload).cartId === cartI.id)!
      expect(after.deliveries.filter((d) => d.event_id === createdI.id).map((d) => [d.status, time(d.delivered_at)])).toEqual([['delivered', T0 + 95 * DAY]])

      expect(result).toEqual<PruneResult>({
        outboxEvents: before.events.length - after.events.length,
        outboxDeliveries: before.deliveries.length - after.deliveries.length,
        carts: before.carts.length - after.carts.length,
        cartLines: before.lines.length - after.lines.length,
        paymentAttempts: before.payments.length - after.payments.length,
        reservations: before.reservations.length - after.reservations.length,
      })
      // Orders and what they read are untouched; so are the in-flight checkout and stock.
      expect(byId(after.orders)).toEqual(byId(before.orders))
      expect(byId(after.orderLines)).toEqual(byId(before.orderLines))
      expect(byId(after.operations)).toEqual(byId(before.operations))
      expect(byId(after.levels)).toEqual(byId(before.levels))
      expect(after.carts.find((c) => c.id === cartG.id)?.status).toBe('completing')
      expect(after.payments.filter((p) => p.cart_id === cartG.id).map((p) => p.status)).toEqual(['pending'])
      expect(after.reservations.filter((r) => r.cart_id === cartG.id).map((r) => r.status)).toEqual(['held'])
      expect(after.carts.find((c) => c.id === cartH.id)?.status).toBe('open')
      expect(after.lines.filter((l) => l.cart_id === cartH.id)).toHaveLength(1)
      expectReservedIsHeld(after)
      expect(await commerce.orders.get(orderA.id)).toEqual(orderABefore)
      expect((await commerce.orders.get(orderB.id)).payments.map((p) => p.status)).toEqual(['authorized'])

      // A second run finds nothing; the in-flight checkout still ends with its order.
      expect(await commerce.retention.prune()).toEqual<PruneResult>({ outboxEvents: 0, outboxDeliveries: 0, carts: 0, cartLines: 0, paymentAttempts: 0, reservations: 0 })
      expect(await commerce.checkout.recover()).toEqual({ placed: 1, declined: 0, failed: 0 })
      expect((await commerce.carts.get(cartG.id)).status).toBe('completed')
      expectReservedIsHeld(await snapshot(commerce.db))
    } finally {
      await shop.close()
    }
  })

  it('keeps everything younger than the policy, and what a window set to false names', async () => {
    const { shop, clock } = await retentionShop(storage)
    try {
      const { commerce, variantId } = shop
      const cart = await readyCart(commerce, variantId)
      await declined(commerce, cart.id)
      await commerce.carts.create({ currency: 'USD' })
      clock.day(29)
      const before = await snapshot(commerce.db)
      expect(await commerce.retention.prune()).toEqual<PruneResult>({ outboxEvents: 0, outboxDeliveries: 0, carts: 0, cartLines: 0, paymentAttempts: 0, reservations: 0 })
      clock.day(200)
      const kept = await commerce.retention.prune({ deliveredEventsDays: false, abandonedCartsDays: false, declinedAttemptsDays: false })
      expect(kept).toEqual<PruneResult>({ outboxEvents: 0, outboxDeliveries: 0, carts: 0, cartLines: 0, paymentAttempts: 0, reservations: 0 })
      expect(await snapshot(commerce.db)).toEqual(before)
      // While its declined attempt is kept, a cart is too: only the empty one goes.
      const empty = before.carts.find((c) => c.id !== cart.id)!
      expect(await commerce.retention.prune({ deliveredEventsDays: false, declinedAttemptsDays: false })).toMatchObject({ carts: 1, cartLines: 0, paymentAttempts: 0 })
      expect((await snapshot(commerce.db)).carts.map((c) => c.id)).toEqual([cart.id])
      expect(empty.status).toBe('open')
      // The same rows go under a policy that lets them.
      const removed = await commerce.retention.prune({ deliveredEventsDays: 1, abandonedCartsDays: 150, declinedAttemptsDays: 150 })
      expect(removed).toMatchObject({ carts: 1, cartLines: 1, paymentAttempts: 1, reservations: 1, outboxEvents: before.events.length })
    } finally {
      await shop.close()
    }
  })

  it('keeps a cart that changed after it was found', async () => {
    const { shop, clock, setOnFound } = await retentionShop(storage)
    try {
      const { commerce, variantId } = shop
      const cart = await readyCart(commerce, variantId)
      clock.day(100)
      setOnFound(async ({ kind, ids }) => {
        if (kind === 'carts' && ids.includes(cart.id)) await commerce.carts.update(cart.id, { email: 'still-here@example.com' })
      })
      const result = await commerce.retention.prune({ deliveredEventsDays: false })
      expect(result.carts).toBe(0)
      const after = await commerce.carts.get(cart.id)
      expect(after).toMatchObject({ status: 'open', email: 'still-here@example.com' })
      expect(after.lines).toHaveLength(1)
    } finally {
      await shop.close()
    }
  })

  it('keeps a cart whose checkout began after it was found', async () => {
    const { shop, clock, setOnFound } = await retentionShop(storage)
    try {
      const { commerce, variantId } = shop
      const cart = await readyCart(commerce, variantId)
      clock.day(100)
      setOnFound(async ({ kind, ids }) => {
        if (kind === 'carts' && ids.includes(cart.id)) await inFlight(shop, cart.id)
      })
      expect((await commerce.retention.prune({ deliveredEventsDays: false })).carts).toBe(0)
      expect((await commerce.carts.get(cart.id)).status).toBe('completing')
      expect(await commerce.checkout.recover()).toEqual({ placed: 1, declined: 0, failed: 0 })
      expect((await commerce.carts.get(cart.id)).status).toBe('completed')
    } finally {
      await shop.close()
    }
  })

  it('removes each row once when two engines prune the same rows at once', async () => {
    // Both engines find the same first batch before either removes it; then both remove.
    const clock = settableClock()
    const bothFound = [gate(), gate()] as const
    const pointFor = (me: 0 | 1): Partial<TestPoints> => ({
      'retention.batch.found': async ({ kind }) => {
        if (kind !== 'carts') return
        bothFound[me].open()
        await bothFound[1 - me]!.promise
      },
    })
    let engines: Commerce[]
    let variantId: string
    let cleanup: () => Promise<void>
    if (storage === 'sqlite-file') {
      // Two handles on one file in one process: a short busy timeout, so a writer waiting for the
      // other's lock gives way at once (and retries) instead of blocking the thread that holds it.
      const dir = tempDir()
      const place = { kind: 'sqlite-file' as const, filename: join(dir.dir, 'shop.db'), busyTimeoutMs: 0 }
      const first = await openEngine(place, { now: clock.now, outbox: { enabled: false }, testPoints: pointFor(0) })
      const second = await openEngine(place, { now: clock.now, outbox: { enabled: false }, testPoints: pointFor(1), migrate: false })
      engines = [first, second]
      variantId = (await seedShop(first, { stock: 10 })).variantId
      cleanup = async () => {
        for (const e of engines) await e.close()
        dir.remove()
      }
    } else {
      const shop = await openShop({ storage, now: clock.now, outbox: { enabled: false }, testPoints: pointFor(0) })
      engines = [shop.commerce, await shop.engine({ now: clock.now, outbox: { enabled: false }, testPoints: pointFor(1) })]
      variantId = shop.variantId
      cleanup = () => shop.close()
    }
    try {
      const [first, second] = engines as [Commerce, Commerce]
      const carts: string[] = []
      for (let i = 0; i < 12; i++) {
        const cart = await first.carts.create({ currency: 'USD' })
        await first.carts.addItem(cart.id, { variantId, quantity: 1 })
        carts.push(cart.id)
      }
      clock.day(100)
      const policy = { deliveredEventsDays: false, batchSize: 5 } as const
      const results = await Promise.all([first.retention.prune(policy), second.retention.prune(policy)])
      expect(results[0].carts + results[1].carts).toBe(carts.length)
      expect(results[0].cartLines + results[1].cartLines).toBe(carts.length)
      expect(await first.db.selectFrom('cw_carts').select('id').execute()).toEqual([])
      expect(await first.db.selectFrom('cw_cart_lines').select('id').execute()).toEqual([])
    } finally {
      await cleanup()
    }
  })

  it('refuses a malformed policy with VALIDATION naming the field, and removes nothing', async () => {
    const { shop, clock } = await retentionShop(storage)
    try {
      const { commerce } = shop
      await commerce.carts.create({ currency: 'USD' })
      clock.day(365)
      const zero = await failure(commerce.retention.prune({ abandonedCartsDays: 0 }), 'VALIDATION')
      expect(zero.details.issues).toEqual([expect.objectContaining({ path: 'abandonedCartsDays' })])
      const unknown = await failure(commerce.retention.prune({ cartDays: 1 } as never), 'VALIDATION')
      expect(unknown.details.issues).toEqual([expect.objectContaining({ path: 'cartDays' })])
      const batch = await failure(commerce.retention.prune({ batchSize: 0.5 }), 'VALIDATION')
      expect(batch.details.issues).toEqual([expect.objectContaining({ path: 'batchSize' })])
      expect(await commerce.db.selectFrom('cw_carts').select('id').execute()).toHaveLength(1)
      // A field given as undefined keeps its default: the year-old cart goes after 90 days.
      expect(await commerce.retention.prune({ abandonedCartsDays: undefined, deliveredEventsDays: false })).toMatchObject({ carts: 1 })
    } finally {
      await shop.close()
    }
  })
}
