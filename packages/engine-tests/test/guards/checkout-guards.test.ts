import { afterEach, describe, expect, it } from 'vitest'
import { testPayments, type Cart, type Commerce, type CommerceOptions, type Order } from '@cartwright/core'
import { testGateway, type TestGateway } from '@cartwright/testkit'
import { sql } from 'kysely'
import { address, failure, gate, GUARDED_STORAGES, key, openShop, placed, readyCart, sleep, until, type Shop, type StorageKind } from '../support/index.js'

/**
 * Guards of checkout.complete (checkout-service.ts) that a mutation run found untested (see
 * docs/mutation-testing.md), the interleavings forced at 'checkout.authorize.before' under an
 * engine clock that moves only when the test moves it:
 * - a placement that finds the payment already settled by another caller returns that order;
 * - a decline is recorded once: a late decline of a checkout another caller already finished
 *   does not reopen the cart or release the stock of the order placed since;
 * - the caller that takes over a checkout holds its lease: a third caller waits;
 * - a checkout taken over under another key goes through its own payment provider;
 * - on PostgreSQL, placement reads the payment under a row lock, so a caller that took the
 *   checkout over waits for a placement in progress instead of placing a second order;
 * - another checkout of an ordered cart returns that order, without checking the cart again;
 * - a cart is checked before anything is reserved or charged (empty, no shipping option, a
 *   product no longer for sale, a price gone), a free order never reaches the gateway, and a checkout waited
 *   for too long answers CONFLICT.
 */

const NOW = Date.parse('2026-03-01T12:00:00.000Z')
const LEASE_MS = 60_000

interface CheckoutShop extends Shop {
  gateway: TestGateway
  advance(ms: number): void
  /** Stops the next checkout that reaches the gateway, before the call; the caller releases it. */
  holdAuthorize(): { reached: Promise<void>; release: () => void }
  pay(cartId: string, idempotencyKey: string, provider?: string): Promise<Order>
  authorizations(): string[]
}

function shops(storage: StorageKind) {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })
  return async (options: Partial<CommerceOptions> = {}): Promise<CheckoutShop> => {
    const gateway = testGateway({ id: 'gateway' })
    let clock = NOW
    const holds: Array<() => Promise<void>> = []
    const shop = await openShop({
      storage,
      payments: [gateway, testPayments()],
      now: () => new Date(clock),
      checkoutLeaseMs: LEASE_MS,
      testPoints: { 'checkout.authorize.before': async () => holds.shift()?.() },
      ...options,
    })
    open.push(shop)
    return Object.assign(shop, {
      gateway,
      advance: (ms: number) => void (clock += ms),
      holdAuthorize() {
        const reached = gate()
        const released = gate()
        holds.push(async () => {
          reached.open()
          await released.promise
        })
        return { reached: reached.promise, release: () => released.open() }
      },
      pay: async (cartId: string, idempotencyKey: string, provider = 'gateway') => placed(await shop.commerce.checkout.complete(cartId, { payment: { provider }, idempotencyKey })),
      authorizations: () => gateway.calls.filter((c) => c.operation === 'authorize').map((c) => c.outcome),
    })
  }
}

function settle<T>(promise: Promise<T>) {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error as { code?: string; retryable?: boolean } }),
  )
}

async function ordersOf(commerce: Commerce, cartId: string) {
  return commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cartId).execute()
}

async function paymentsOf(commerce: Commerce, cartId: string) {
  return commerce.db.selectFrom('cw_payments').select(['status', 'provider']).where('cart_id', '=', cartId).orderBy('created_at').execute()
}

describe.each(GUARDED_STORAGES)('checkouts finished by two callers, on %s', (storage) => {
  const open = shops(storage)

  it('returns the order another caller placed when a late first caller reaches placement: one order, one authorization', async () => {
    const s = await open()
    const cart = await readyCart(s.commerce, s.variantId, 1)
    const first = s.holdAuthorize()
    const a = settle(s.pay(cart.id, 'checkout-two-1'))
    await first.reached
    s.advance(LEASE_MS + 1)
    const placed = await s.pay(cart.id, 'checkout-two-1')
    first.release()
    const late = await a

    expect(late.ok && late.value.id).toBe(placed.id)
    expect(await ordersOf(s.commerce, cart.id)).toEqual([{ id: placed.id }])
    expect(await paymentsOf(s.commerce, cart.id)).toEqual([{ status: 'authorized', provider: 'gateway' }])
    expect(s.authorizations()).toEqual(['done', 'replayed'])
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ reserved: 1 })
  })

  it("does not apply a late decline twice: the cart, checked out again meanwhile, keeps its order and its stock", async () => {
    const s = await open()
    const cart = await readyCart(s.commerce, s.variantId, 2)
    const first = s.holdAuthorize()
    const a = settle(s.pay(cart.id, 'checkout-two-2'))
    await first.reached
    s.advance(LEASE_MS + 1)
    // B takes the checkout over and is declined: the cart reopens and its stock is released.
    s.gateway.script('authorize', 'refuse')
    await failure(s.pay(cart.id, 'checkout-two-2'), 'PAYMENT_DECLINED')
    // The shopper pays with another key: the cart is ordered.
    const order = await s.pay(cart.id, 'checkout-two-3')
    // A reaches the gateway at last, which replays the decline.
    first.release()
    const late = await a
    expect(!late.ok && late.error.code).toBe('PAYMENT_DECLINED')

    expect((await s.commerce.carts.get(cart.id)).status).toBe('completed')
    expect(await ordersOf(s.commerce, cart.id)).toEqual([{ id: order.id }])
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ onHand: 10, reserved: 2 })
    const reservations = await s.commerce.inventory.reservations({ cartId: cart.id })
    expect(reservations.map((r) => [r.quantity, r.status, r.orderId]).sort()).toEqual(
      [
        [2, 'held', order.id],
        [2, 'released', null],
      ].sort(),
    )
  })

  it('keeps a third caller waiting while the caller that took over a failed authorization sends it: the gateway is asked once more, not twice', async () => {
    const s = await open()
    const cart = await readyCart(s.commerce, s.variantId, 1)
    s.gateway.script('authorize', 'error')
    await failure(s.pay(cart.id, 'checkout-two-4'), 'PAYMENT_FAILED')
    // The failed call freed its lease at once (the clock has not moved): B takes the checkout over.
    const second = s.holdAuthorize()
    const b = settle(s.pay(cart.id, 'checkout-two-4'))
    await second.reached
    const c = settle(s.pay(cart.id, 'checkout-two-4'))
    await sleep(100)
    second.release()
    const [resultB, resultC] = await Promise.all([b, c])

    expect(resultB.ok && resultC.ok && resultB.value.id === resultC.value.id).toBe(true)
    expect(s.authorizations()).toEqual(['error', 'done'])
    expect(await ordersOf(s.commerce, cart.id)).toHaveLength(1)
  })

  it("authorizes a checkout taken over under another key through the checkout's own provider, not the caller's", async () => {
    const s = await open()
    const cart = await readyCart(s.commerce, s.variantId, 1)
    s.gateway.script('authorize', 'error')
    await failure(s.pay(cart.id, 'checkout-two-5', 'gateway'), 'PAYMENT_FAILED')

    const order = await s.pay(cart.id, 'checkout-two-6', 'test')

    expect(s.authorizations()).toEqual(['error', 'done'])
    expect(await paymentsOf(s.commerce, cart.id)).toEqual([{ status: 'authorized', provider: 'gateway' }])
    expect(order.payments.map((p) => p.provider)).toEqual(['gateway'])
  })

  it('returns the order to another checkout of an ordered cart, even once its product stopped selling', async () => {
    let hooks = 0
    const s = await open()
    s.commerce.hooks.hook('checkout.beforeComplete', () => void hooks++)
    const cart = await readyCart(s.commerce, s.variantId, 1)
    const order = await s.pay(cart.id, key())
    await s.commerce.catalog.updateProduct(s.shoe.id, { status: 'archived' })

    expect((await s.pay(cart.id, key())).id).toBe(order.id)
    expect(hooks).toBe(1)
    expect(s.authorizations()).toEqual(['done'])
  })
})

describe.each(GUARDED_STORAGES)('a cart checked before anything is reserved or charged, on %s', (storage) => {
  const open = shops(storage)

  async function refused(s: CheckoutShop, cart: Cart, problem: string) {
    const error = await failure(s.pay(cart.id, key()), 'INVALID_STATE')
    expect(error.details.problems).toEqual(expect.arrayContaining([expect.stringContaining(problem)]))
    expect(await paymentsOf(s.commerce, cart.id)).toEqual([])
    expect(await s.commerce.inventory.reservations({ cartId: cart.id })).toEqual([])
    expect((await s.commerce.carts.get(cart.id)).status).toBe('open')
  }

  it('refuses an empty cart', async () => {
    const s = await open()
    const cart = await s.commerce.carts.create({ currency: 'USD' })
    await s.commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
    await refused(s, await s.commerce.carts.setShippingOption(cart.id, 'flat:standard'), 'the cart is empty')
  })

  it('refuses a cart that ships without a shipping option', async () => {
    const s = await open()
    const cart = await s.commerce.carts.create({ currency: 'USD' })
    await s.commerce.carts.addItem(cart.id, { variantId: s.variantId, quantity: 1 })
    await refused(s, await s.commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address }), 'choose a shipping option')
  })

  it('refuses a cart holding a product no longer for sale', async () => {
    const s = await open()
    const cart = await readyCart(s.commerce, s.variantId, 1)
    await s.commerce.catalog.updateProduct(s.shoe.id, { status: 'archived' })
    await refused(s, cart, 'no longer for sale')
  })

  it('refuses a cart holding a variant that has lost its price in the cart currency', async () => {
    const s = await open()
    const cart = await readyCart(s.commerce, s.variantId, 1)
    await s.commerce.catalog.setPrices(s.variantId, [])
    await refused(s, cart, 'has no USD price')
    expect(s.authorizations()).toEqual([])
  })

  it('places a free order without asking the gateway, with nothing to capture', async () => {
    const s = await open({ shipping: [] })
    const product = await s.commerce.catalog.createProduct({ title: 'Sticker', variants: [{ sku: 'STICKER-1', manageInventory: false, prices: [{ currency: 'USD', amount: 0 }] }] })
    const cart = await s.commerce.carts.create({ currency: 'USD' })
    await s.commerce.carts.addItem(cart.id, { variantId: product.variants[0]!.id, quantity: 1 })
    await s.commerce.carts.update(cart.id, { email: 'ada@example.com' })

    const order = await s.pay(cart.id, key())

    expect(order.totals.total).toBe(0)
    expect(order.paymentStatus).toBe('captured')
    expect(s.gateway.calls).toEqual([])
    const [payment] = (await s.commerce.payments.list({ orderId: order.id })).items
    expect(payment).toMatchObject({ provider: 'gateway', amount: 0, capturedAmount: 0, operations: [] })
  })

  it('refuses an unknown payment provider (VALIDATION) and an unknown cart (NOT_FOUND)', async () => {
    const s = await open()
    const cart = await readyCart(s.commerce, s.variantId, 1)
    const error = await failure(s.pay(cart.id, key(), 'nope'), 'VALIDATION')
    expect(error.details.issues).toEqual([expect.objectContaining({ path: 'payment.provider' })])
    await failure(s.pay('cart_missing', key()), 'NOT_FOUND')
    expect(await paymentsOf(s.commerce, cart.id)).toEqual([])
  })

  it('answers a retryable CONFLICT to a checkout that waited past its deadline for another in flight', { timeout: 30_000 }, async () => {
    // A 1 s lease on a clock that does not move: the first checkout's lease never runs out.
    const s = await open({ checkoutLeaseMs: 1_000 })
    const cart = await readyCart(s.commerce, s.variantId, 1)
    const first = s.holdAuthorize()
    const a = settle(s.pay(cart.id, key()))
    await first.reached

    const conflict = await failure(s.pay(cart.id, key()), 'CONFLICT')
    expect(conflict.retryable).toBe(true)
    first.release()
    expect((await a).ok).toBe(true)
    expect(await ordersOf(s.commerce, cart.id)).toHaveLength(1)
  })
})

describe.each(GUARDED_STORAGES.filter((s) => s === 'postgres'))('a checkout taken over while its first caller is placing the order, on %s', (storage) => {
  const open = shops(storage)

  it('makes the taker wait for the placement in progress (the payment row is locked), and both callers get the one order', async () => {
    let clock = NOW
    const now = () => new Date(clock)
    const placing = gate()
    const release = gate()
    let held = false
    const s = await open({
      now,
      testPoints: {
        'checkout.place.before': async () => {
          if (held) return
          held = true
          placing.open()
          await release.promise
        },
      },
    })
    // A second engine on its own connections, the same gateway and clock.
    const other = await s.engine({ payments: [s.gateway], now, checkoutLeaseMs: LEASE_MS })
    const cart = await readyCart(s.commerce, s.variantId, 1)
    const a = settle(s.pay(cart.id, 'checkout-placing-1'))
    await placing.promise
    clock += LEASE_MS + 1
    const b = settle(other.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: 'checkout-placing-1' }).then(placed))
    let settledB = false
    void b.then(() => (settledB = true))
    // B either finished (it must not have placed an order of its own) or waits for A's row lock.
    await until(async () => (settledB || (await waitingForLocks(s.commerce)) > 0 ? true : undefined), 'the taker to finish or to wait for a lock')
    release.open()
    const [resultA, resultB] = await Promise.all([a, b])

    expect([resultA.ok, resultB.ok], JSON.stringify([resultA, resultB].map((r) => (r.ok ? 'ok' : r.error.code)))).toEqual([true, true])
    expect(resultA.ok && resultB.ok && resultA.value.id === resultB.value.id).toBe(true)
    expect(await ordersOf(s.commerce, cart.id)).toHaveLength(1)
  })
})

/** Sessions of this database waiting for a lock (PostgreSQL). */
async function waitingForLocks(commerce: Commerce): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(commerce.db)
  return rows[0]!.n
}
