import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommerce, testPayments, type Commerce, type DurableSubscriber } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { seededBytes, seededIds, virtualClock } from '@cartwright/testkit'
import { address, failure, openShop, placed, readyCart, seedShop, shopProviders, sleep, tempDir, until, type Shop } from '../support/index.js'

/**
 * Deterministic ids and virtual time: `createCommerce({ ids, clock })` decides every id, timestamp,
 * wait, backoff and jitter of the engine, so a seeded run on SQLite replays exactly, and a wait
 * for another checkout's lease passes in virtual time.
 */

const START = '2030-01-01T00:00:00.000Z'
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function newFile(): string {
  const dir = tempDir()
  cleanups.push(dir.remove)
  return join(dir.dir, 'shop.db')
}

type Dump = Record<string, unknown[]>

/** Every row of every table of a SQLite file (and the schema), each table in primary-key order. */
function dump(filename: string): Dump {
  const db = new Database(filename, { readonly: true })
  try {
    const schema = db.prepare("select type, name, tbl_name, sql from sqlite_master order by type, name").all() as Array<{ type: string; name: string; sql: string | null }>
    const out: Dump = { sqlite_master: schema }
    for (const table of schema.filter((s) => s.type === 'table')) {
      const order = /without rowid/i.test(table.sql ?? '') ? '1' : 'rowid'
      out[table.name] = db.prepare(`select * from "${table.name}" order by ${order}`).all()
    }
    return out
  } finally {
    db.close()
  }
}

/**
 * One scripted day of a shop on a fresh SQLite file, on a virtual clock, with ids and access
 * tokens' bytes seeded with `seed`: catalog and stock, four carts, checkouts (one declined, then paid with a new key), a
 * capture, a refund, a cancel, a subscriber that fails once and is retried after its backoff, and
 * the outbox drained. Returns the file, closed.
 */
async function scriptedRun(seed: number): Promise<string> {
  const filename = newFile()
  const clock = virtualClock({ start: START })
  let failedOnce = false
  const ledger: DurableSubscriber = {
    id: 'ledger',
    events: '*',
    handle(event) {
      // Fails its first order.placed once, so a retry is scheduled on the clock and run after it.
      if (event.type === 'order.placed' && !failedOnce) {
        failedOnce = true
        throw new Error('ledger is down')
      }
    },
  }
  const commerce = await createCommerce({
    storage: sqliteStorage({ filename }),
    payments: [testPayments({ clock })],
    ...shopProviders(),
    onListenerError: () => undefined,
    subscribers: [ledger],
    ids: seededIds(seed),
    clock,
    secretBytes: seededBytes(seed),
    // Deliveries happen where the script drains, not wherever a poll lands.
    outbox: { enabled: false },
  })
  try {
    const later = () => clock.advance(1_500)
    const { variantId, shoe } = await seedShop(commerce, { stock: 4 })
    await later()
    const carts = []
    for (let i = 0; i < 4; i++) {
      carts.push(await readyCart(commerce, i % 2 === 0 ? variantId : shoe.variants[2]!.id, 1 + (i % 2)))
      await later()
    }
    await commerce.carts.addItem(carts[3]!.id, { variantId: shoe.variants[1]!.id, quantity: 1 })
    await commerce.carts.update(carts[3]!.id, { email: 'grace@example.com', shippingAddress: { ...address, firstName: 'Grace' } })
    const pay = { provider: 'test' }
    const [a, b, c] = [
      placed(await commerce.checkout.complete(carts[0]!.id, { payment: pay, idempotencyKey: 'checkout-a' })),
      placed(await commerce.checkout.complete(carts[1]!.id, { payment: pay, idempotencyKey: 'checkout-b' })),
      placed(await commerce.checkout.complete(carts[2]!.id, { payment: pay, idempotencyKey: 'checkout-c' })),
    ]
    await later()
    await failure(commerce.checkout.complete(carts[3]!.id, { payment: { provider: 'test', data: { outcome: 'decline' } }, idempotencyKey: 'checkout-d1' }), 'PAYMENT_DECLINED')
    await later()
    const d = placed(await commerce.checkout.complete(carts[3]!.id, { payment: pay, idempotencyKey: 'checkout-d2' }))
    await later()
    await commerce.orders.capturePayment(a.id)
    await later()
    await commerce.orders.refund(a.id, { amount: 1_000, reason: 'scuffed box' })
    await later()
    await commerce.orders.cancel(b.id, { reason: 'changed mind' })
    await commerce.orders.capturePayment(c.id, { amount: 5_000 })
    await commerce.orders.fulfill(d.id)
    await later()
    await commerce.outbox.drain()
    // The failed delivery is due again after its backoff (1 s): drained once time has passed it.
    await clock.advance(2_000)
    await commerce.outbox.drain()
  } finally {
    await commerce.close()
  }
  return filename
}

/** Every string in a dump that reads as an instant. */
function instants(d: Dump): string[] {
  const out: string[] = []
  for (const rows of Object.values(d)) {
    for (const row of rows as Array<Record<string, unknown>>) {
      for (const value of Object.values(row)) {
        if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) out.push(value)
        if (typeof value === 'string' && value.startsWith('{')) out.push(...(value.match(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g) ?? []))
      }
    }
  }
  return out
}

describe('seeded ids and a virtual clock', () => {
  it('replay a scripted run on SQLite files into byte-identical rows, and another seed differs', async () => {
    const first = dump(await scriptedRun(7))
    const second = dump(await scriptedRun(7))
    const other = dump(await scriptedRun(8))

    // The script did what it says: the dump holds each kind of row it should.
    expect(first['cw_orders']).toHaveLength(4)
    expect((first['cw_payments'] as Array<{ status: string }>).map((p) => p.status)).toEqual([
      'partially_refunded',
      'voided',
      'partially_captured',
      'declined',
      'authorized',
    ])
    expect((first['cw_payment_operations'] as Array<{ kind: string }>).map((o) => o.kind)).toEqual(['capture', 'refund', 'void', 'capture'])
    const deliveries = first['cw_outbox_deliveries'] as Array<{ status: string; attempts: number }>
    expect(deliveries.length).toBeGreaterThan(30)
    expect(deliveries.every((d) => d.status === 'delivered')).toBe(true)
    expect(deliveries.filter((d) => d.attempts === 2)).toHaveLength(1)
    // Seeded ids have the shape of real ones.
    for (const cart of first['cw_carts'] as Array<{ id: string }>) expect(cart.id).toMatch(/^cart_[0-9a-hjkmnp-tv-z]{26}$/)

    expect(second).toEqual(first)
    expect(other).not.toEqual(first)
    expect(JSON.stringify(other['cw_carts'])).not.toEqual(JSON.stringify(first['cw_carts']))

    // No wall time anywhere: every instant written is on the virtual clock, which started at START
    // and moved about a minute (the script's steps and the delivery's backoff).
    const written = instants(first)
    expect(written.length).toBeGreaterThan(50)
    for (const instant of written) expect(instant.slice(0, 16) >= '2030-01-01T00:00' && instant.slice(0, 16) <= '2030-01-01T00:01').toBe(true)
  })
})

describe('a checkout waiting for another checkout\'s lease', () => {
  let shop: Shop | undefined
  afterEach(async () => {
    await shop?.close()
    shop = undefined
  })

  it('waits the lease out in virtual time, takes the checkout over and places the order, without sleeping for real', async () => {
    const clock = virtualClock({ start: START })
    // Engine A claims the cart (payment row, lease, stock) and stops before asking the gateway.
    shop = await openShop({
      storage: 'sqlite-file',
      clock,
      // A stands for a process that died there: it runs no recovery of its own.
      recovery: { enabled: false },
      testPoints: {
        'checkout.authorize.before': () => {
          throw new Error('engine A stopped before asking the gateway')
        },
      },
    })
    const gateway = testPayments({ clock })
    const engineB: Commerce = await shop.engine({ clock, payments: [gateway] })
    const cart = await readyCart(shop.commerce, shop.variantId, 2)
    const input = { payment: { provider: 'test' }, idempotencyKey: 'checkout-of-the-cart' }
    await expect(shop.commerce.checkout.complete(cart.id, input)).rejects.toThrow(/engine A stopped/)
    const claimed = await engineB.db.selectFrom('cw_payments').select(['status', 'lease_until']).where('cart_id', '=', cart.id).executeTakeFirstOrThrow()
    expect(claimed.status).toBe('pending')
    const leaseMs = new Date(claimed.lease_until!).getTime() - clock.now().getTime()
    expect(leaseMs).toBe(30_000)

    const realStart = performance.now()
    const virtualStart = clock.now().getTime()
    const order = placed(await engineB.checkout.complete(cart.id, input))
    const realMs = performance.now() - realStart
    const virtualMs = clock.now().getTime() - virtualStart

    expect(order).toMatchObject({ cartId: cart.id, status: 'placed', paymentStatus: 'authorized' })
    expect(gateway.authorizations()).toBe(1)
    expect(shop.payments.authorizations()).toBe(0)
    // B waited until the lease ran out, and took over within one of its pauses (at most 200 ms).
    expect(virtualMs).toBeGreaterThanOrEqual(leaseMs)
    expect(virtualMs).toBeLessThanOrEqual(leaseMs + 200)
    expect(realMs).toBeLessThan(5_000)
    const payments = await engineB.db.selectFrom('cw_payments').select(['status', 'order_id']).where('cart_id', '=', cart.id).execute()
    expect(payments).toEqual([{ status: 'authorized', order_id: order.id }])
    expect(await engineB.db.selectFrom('cw_orders').select('id').execute()).toEqual([{ id: order.id }])
  })
})

describe('the outbox dispatcher on a virtual clock', () => {
  it('delivers what a commit makes due at once, and keeps time still while the engine is idle', async () => {
    const clock = virtualClock({ start: START })
    const delivered: string[] = []
    const commerce = await createCommerce({
      storage: sqliteStorage({ filename: newFile() }),
      onListenerError: () => undefined,
      clock,
      subscribers: [{ id: 'seen', events: ['cart.created'], handle: (event) => void delivered.push(event.type) }],
    })
    cleanups.push(() => commerce.close())
    await commerce.carts.create({ currency: 'USD' })
    await until(() => (delivered.length > 0 ? true : undefined), 'the delivery', 2_000)
    // Real time passes; the idle dispatcher's polls do not move the virtual clock (nor spin).
    await sleep(100)
    expect(clock.now().toISOString()).toBe(START)
    expect(delivered).toEqual(['cart.created'])
    // Its next poll is a background timer, left for time to pass.
    expect(clock.pending).toBeGreaterThan(0)
  })
})

describe('createCommerce({ ids, clock, now })', () => {
  it('refuses ids of another shape than the engine\'s, naming ids, before opening storage', async () => {
    for (const ids of [(prefix: string) => `${prefix}-1`, (prefix: string) => `${prefix}_${'A'.repeat(26)}`, () => `cart_${'0'.repeat(26)}`]) {
      const filename = newFile()
      const error = await failure(createCommerce({ storage: sqliteStorage({ filename }), ids }), 'CONFIGURATION')
      expect(error.details).toMatchObject({ issues: [{ path: 'ids' }] })
      expect(existsSync(filename)).toBe(false)
    }
  })

  it('refuses a clock and the older now option together, naming now, before opening storage', async () => {
    const filename = newFile()
    const error = await failure(
      createCommerce({ storage: sqliteStorage({ filename }), clock: virtualClock(), now: () => new Date(START) }),
      'CONFIGURATION',
    )
    expect(error.details).toMatchObject({ issues: [{ path: 'now' }] })
    expect(existsSync(filename)).toBe(false)
  })

  it('keeps the older now option as the clock of every timestamp', async () => {
    const filename = newFile()
    const commerce = await createCommerce({ storage: sqliteStorage({ filename }), now: () => new Date(START), onListenerError: () => undefined })
    try {
      const cart = await commerce.carts.create({ currency: 'USD' })
      expect(cart.createdAt).toBe(START)
    } finally {
      await commerce.close()
    }
  })
})
