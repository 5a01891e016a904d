import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Commerce, CommerceOptions } from '@cartwright/core'
import { checkPaymentBooks, testGateway, virtualClock, type TestGateway, type VirtualClock } from '@cartwright/testkit'
import { failure, gate, key, openEngine, openShop, placed, readyCart, startWorker, tempDir, until, type Place, type Shop, type WorkerProcess } from '../support/index.js'

/**
 * Recovery that runs by itself (issue 8, done-means 5): a gateway that hangs on authorize, an
 * answer lost after the gateway acted, and a process killed between the gateway's answer and the
 * engine storing it each end, with nobody calling anything but time passing, in one of the two
 * allowed states — here an order with its payment — with exactly one charge at the gateway. And
 * the scheduler's lease: one process at a time runs a round.
 */

const START = Date.parse('2030-01-01T00:00:00.000Z')
const LEASE_MS = 30_000
const INTERVAL_MS = 30_000

/** Multi-process: a SQLite file and PostgreSQL (SQLite only when CARTWRIGHT_SKIP_POSTGRES=1). */
const STORAGES = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? (['sqlite-file'] as const) : (['sqlite-file', 'postgres'] as const)

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface RecoveryShop extends Shop {
  gateway: TestGateway
  clock: VirtualClock
  cart(): Promise<string>
  orders(cartId: string): Promise<string[]>
}

async function open(storage: 'sqlite-file' | 'postgres', options: Partial<CommerceOptions> & { autoCapture?: boolean } = {}): Promise<RecoveryShop> {
  const { autoCapture, ...rest } = options
  // Time moves only when the test moves it; the gateway's stalls are on the same clock.
  const clock = virtualClock({ start: new Date(START), autoAdvance: false })
  const gateway = testGateway({ id: 'gateway', clock, autoCapture: autoCapture ?? false })
  const shop = await openShop({ storage, payments: [gateway], clock, checkoutLeaseMs: LEASE_MS, recovery: { intervalMs: INTERVAL_MS }, ...rest })
  cleanups.push(() => shop.close())
  return Object.assign(shop, {
    gateway,
    clock,
    cart: async () => (await readyCart(shop.commerce, shop.variantId, 1)).id,
    orders: async (cartId: string) => (await shop.commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cartId).execute()).map((o) => o.id),
  })
}

/**
 * Lets time pass, a recovery interval at a time, until `probe` answers: after each step the work
 * its timers started (on storage that may be across the network) is given a moment of real time.
 */
async function passTimeUntil<T>(clock: VirtualClock, probe: () => Promise<T | undefined>, what: string, steps = 40): Promise<T> {
  for (let step = 0; step < steps; step++) {
    const value = await probe()
    if (value !== undefined) return value
    await clock.advance(INTERVAL_MS)
    try {
      return await until(probe, what, 500)
    } catch {
      // Not yet: let more time pass.
    }
  }
  throw new Error(`${what} did not happen within ${steps} recovery intervals`)
}

describe.each(STORAGES)('recovery by itself, on %s', (storage) => {
  it('a gateway that hangs on authorize: the checkout gives up when its lease runs out, recovery finishes it with one charge', async () => {
    const s = await open(storage)
    s.gateway.script('authorize', { delayMs: 3 * 60_000 })
    const cartId = await s.cart()
    const pending = s.clock.pending
    const paying = s.commerce.checkout.complete(cartId, { payment: { provider: 'gateway' }, idempotencyKey: key() }).catch((e: unknown) => e)
    // The gateway stalls (its timer) and the checkout waits for it (its lease's timer).
    await until(() => (s.clock.pending >= pending + 2 ? true : undefined), 'the authorization to be in flight')
    await s.clock.advance(LEASE_MS)
    expect(await paying).toMatchObject({ code: 'PAYMENT_FAILED', retryable: true })
    const [orderId] = await passTimeUntil(s.clock, async () => ((await s.orders(cartId)).length ? s.orders(cartId) : undefined), 'the order placed by recovery')
    const order = await s.commerce.orders.get(orderId!)
    expect(await s.orders(cartId)).toHaveLength(1)
    expect(s.gateway.charges()).toEqual([expect.objectContaining({ paymentId: order.payments[0]!.id, authorized: order.totals.total })])
    expect(new Set(s.gateway.calls.filter((c) => c.operation === 'authorize').map((c) => c.idempotencyKey))).toEqual(new Set([order.payments[0]!.id]))
    expect((await s.commerce.carts.get(cartId)).status).toBe('completed')
    expect(await checkPaymentBooks(s.commerce, s.gateway, order.id)).toEqual([])
  })

  it('an authorization whose answer is lost after the gateway charged: recovery replays the key and places the order, one charge', async () => {
    const s = await open(storage)
    s.gateway.script('authorize', 'lost')
    const cartId = await s.cart()
    await failure(s.commerce.checkout.complete(cartId, { payment: { provider: 'gateway' }, idempotencyKey: key() }), 'PAYMENT_FAILED')
    const [orderId] = await passTimeUntil(s.clock, async () => ((await s.orders(cartId)).length ? s.orders(cartId) : undefined), 'the order placed by recovery')
    expect(s.gateway.calls.filter((c) => c.operation === 'authorize').map((c) => c.outcome)).toEqual(['lost', 'replayed'])
    expect(s.gateway.charges()).toHaveLength(1)
    expect(await checkPaymentBooks(s.commerce, s.gateway, orderId!)).toEqual([])
  })

  it('a capture done at the gateway whose answer is lost: recovery sends it again under its key and records it, one capture', async () => {
    const s = await open(storage)
    const order = placed(await s.commerce.checkout.complete(await s.cart(), { payment: { provider: 'gateway' }, idempotencyKey: key() }))
    s.gateway.script('capture', 'lost')
    await failure(s.commerce.orders.capturePayment(order.id), 'PAYMENT_FAILED')
    await passTimeUntil(
      s.clock,
      async () => ((await s.commerce.payments.get(order.payments[0]!.id)).status === 'captured' ? true : undefined),
      'the capture recorded by recovery',
    )
    expect(s.gateway.calls.filter((c) => c.operation === 'capture').map((c) => c.outcome)).toEqual(['lost', 'replayed'])
    expect(s.gateway.chargeFor(order.payments[0]!.id)).toMatchObject({ captures: 1, captured: order.totals.total })
    expect(await checkPaymentBooks(s.commerce, s.gateway, order.id)).toEqual([])
  })

  it('a process SIGKILLed between the gateway\'s answer and storing it: after a restart, recovery alone places the order, one charge', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const ledgerFile = join(dir.dir, 'gateway.json')
    // This process only prepares the cart and looks; it runs no recovery of its own.
    const shop = await openShop({ storage, payments: [testGateway({ id: 'gateway', ledgerFile })], recovery: { enabled: false } })
    cleanups.push(() => shop.close())
    const cartId = (await readyCart(shop.commerce, shop.variantId, 1)).id
    const place = shop.place as Place

    const worker: WorkerProcess = startWorker('checkout-crash-worker')
    cleanups.push(() => worker.kill())
    const answered = new Promise<string>((resolve) => worker.child.on('message', (m: { answered?: string }) => m.answered && resolve(m.answered)))
    const completing = worker.request({ type: 'checkout', place, ledgerFile, cartId, idempotencyKey: key() }).catch((e: unknown) => e)
    const paymentId = await answered
    await worker.kill()
    expect(await completing).toBeInstanceOf(Error)

    // The gateway charged (its ledger survived the kill); the engine still has the checkout pending.
    expect(testGateway({ id: 'gateway', ledgerFile }).chargeFor(paymentId)).toMatchObject({ authorized: expect.any(Number) })
    expect(await shop.commerce.payments.get(paymentId)).toMatchObject({ status: 'pending' })
    expect(await shop.commerce.db.selectFrom('cw_orders').select('id').execute()).toEqual([])

    // The restart: a new process (an engine with the gateway's ledger read back), and time passing.
    const clock = virtualClock({ start: new Date(), autoAdvance: false })
    const gateway = testGateway({ id: 'gateway', ledgerFile, clock })
    const restarted: Commerce = await openEngine(place, { migrate: false, payments: [gateway], clock, checkoutLeaseMs: LEASE_MS, recovery: { intervalMs: INTERVAL_MS } })
    cleanups.push(() => restarted.close())
    const orders = () => restarted.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cartId).execute()
    const [order] = await passTimeUntil(clock, async () => ((await orders()).length ? orders() : undefined), 'the order placed by recovery')
    expect(await orders()).toHaveLength(1)
    expect(gateway.calls.filter((c) => c.operation === 'authorize').map((c) => [c.idempotencyKey, c.outcome])).toEqual([[paymentId, 'replayed']])
    expect(gateway.charges()).toHaveLength(1)
    expect(await checkPaymentBooks(restarted, gateway, order!.id)).toEqual([])
  })

  it('one process at a time: while one holds the recovery lease, another\'s round does nothing', async () => {
    const s = await open(storage, { outbox: { enabled: false }, recovery: { enabled: false } })
    const rounds: Array<{ engine: string; leased: boolean }> = []
    const holding = gate()
    const released = gate()
    // Never left holding a round (close() waits for it), whatever the assertions say.
    cleanups.push(() => released.open())
    const engine = async (name: string, hold: boolean) => {
      const clock = virtualClock({ start: new Date(START), autoAdvance: false })
      const commerce = await s.engine({
        clock,
        payments: [s.gateway],
        outbox: { enabled: false },
        recovery: { intervalMs: INTERVAL_MS },
        testPoints: {
          'recovery.round': async ({ leased }) => {
            rounds.push({ engine: name, leased })
            if (hold && leased && rounds.filter((r) => r.engine === name).length === 1) {
              holding.open()
              await released.promise
            }
          },
        },
      })
      return { commerce, clock }
    }
    const a = await engine('a', true)
    const b = await engine('b', false)
    await a.clock.advance(INTERVAL_MS)
    await holding.promise
    await b.clock.advance(INTERVAL_MS)
    await until(() => (rounds.some((r) => r.engine === 'b') ? true : undefined), "b's round")
    expect(rounds).toEqual([
      { engine: 'a', leased: true },
      { engine: 'b', leased: false },
    ])
    released.open()
    // A gives the lease back at the end of its round; B's next round takes it.
    await until(async () => ((await s.commerce.db.selectFrom('cw_leases').select('lease_until').executeTakeFirst())?.lease_until ? true : undefined), 'the lease row')
    await passTimeUntil(b.clock, async () => (rounds.some((r) => r.engine === 'b' && r.leased) ? true : undefined), "b's round with the lease", 4)
  })
})
