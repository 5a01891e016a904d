import { afterEach, describe, expect, it } from 'vitest'
import type { Commerce, CommerceOptions, Order } from '@cartwright/core'
import { testGateway, type TestGateway, type TestGatewayOptions } from '@cartwright/testkit'
import { failure, gate, GUARDED_STORAGES, key, mapLimit, openShop, placed, readyCart, sleep, type Shop, type StorageKind } from '../support/index.js'

/**
 * One checkout, one order, one charge, however often and however concurrently it is asked for:
 * - the same checkout 20 times with one idempotency key (10 calls at once with the first, 10 after
 *   it succeeded): 1 order, 1 authorization, at most 1 capture at the gateway; the same key with
 *   another body (another provider, other payment data) is a CONFLICT;
 * - two completions of one cart at once with different keys, 100 times over: exactly 1 order and
 *   at most 1 authorization per cart.
 * Counted at the scriptable test gateway's ledger, on SQLite and PostgreSQL.
 */

function shops(storage: StorageKind) {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })
  return async (gateways: TestGateway[], options: Partial<CommerceOptions> = {}) => {
    const shop = await openShop({ storage, payments: gateways, stock: 1000, ...options })
    open.push(shop)
    return shop
  }
}

const complete = (commerce: Commerce, cartId: string, idempotencyKey: string, payment: { provider: string; data?: Record<string, unknown> } = { provider: 'gateway' }) =>
  commerce.checkout.complete(cartId, { payment, idempotencyKey }).then(placed)

describe.each(GUARDED_STORAGES)('the same checkout 20 times with one key, on %s', (storage) => {
  const open = shops(storage)

  it.each<[string, TestGatewayOptions]>([
    ['a gateway that authorizes, then captures on request', {}],
    ['a gateway that captures at authorization', { autoCapture: true }],
  ])('with %s: 1 order, 1 authorization, at most 1 capture', async (_name, options) => {
    const gateway = testGateway({ id: 'gateway', ...options, defaults: { authorize: { delayMs: 30 } } })
    const shop = await open([gateway])
    const cart = await readyCart(shop.commerce, shop.variantId, 1)
    const idempotencyKey = key()
    const data = { token: 'tok_visa', wallet: { type: 'card', last4: '4242' } }
    // The first and 10 more at once, while the first is still at the gateway.
    const first = complete(shop.commerce, cart.id, idempotencyKey, { provider: 'gateway', data })
    const concurrent = Array.from({ length: 10 }, () => complete(shop.commerce, cart.id, idempotencyKey, { provider: 'gateway', data }))
    const order = await first
    const together = await Promise.all(concurrent)
    // 10 more after it succeeded; the data's keys in another order are the same data.
    const after: Order[] = []
    for (let i = 0; i < 10; i++) after.push(await complete(shop.commerce, cart.id, idempotencyKey, { provider: 'gateway', data: { wallet: { last4: '4242', type: 'card' }, token: 'tok_visa' } }))
    for (const answer of [...together, ...after]) expect(answer.id).toBe(order.id)

    const db = shop.commerce.db
    expect(await db.selectFrom('cw_orders').select('id').where('cart_id', '=', cart.id).execute()).toEqual([{ id: order.id }])
    expect(await db.selectFrom('cw_payments').select(['idempotency_key', 'status']).where('cart_id', '=', cart.id).execute()).toEqual([
      { idempotency_key: idempotencyKey, status: options.autoCapture ? 'captured' : 'authorized' },
    ])
    expect(gateway.charges()).toHaveLength(1)
    expect(gateway.calls.filter((c) => c.operation === 'authorize').map((c) => c.outcome)).toEqual(['done'])
    expect(gateway.charges()[0]!.captures).toBe(options.autoCapture ? 1 : 0)
    expect(gateway.calls.filter((c) => c.operation === 'capture')).toEqual([])

    // Capturing it, also 20 times with one key: still at most 1 capture at the gateway.
    await Promise.allSettled(Array.from({ length: 20 }, () => shop.commerce.orders.capturePayment(order.id, { idempotencyKey: `${idempotencyKey}:capture` })))
    expect(gateway.charges()[0]!.captures).toBe(1)
    expect(gateway.charges()[0]!.captured).toBe(order.totals.total)
  })

  it('answers CONFLICT to the same key with another provider or other payment data, before and after the order, and charges nothing there', async () => {
    const gateway = testGateway({ id: 'gateway' })
    const wallet = testGateway({ id: 'wallet' })
    const release = gate()
    gateway.script('authorize', { until: release.promise })
    const shop = await open([gateway, wallet])
    const cart = await readyCart(shop.commerce, shop.variantId, 1)
    const idempotencyKey = key()
    const data = { token: 'tok_visa' }
    const first = complete(shop.commerce, cart.id, idempotencyKey, { provider: 'gateway', data })
    // While the first is at the gateway: answered at once, not made to wait for it (the timer only
    // lets a build that waits fail instead of hanging).
    const other = complete(shop.commerce, cart.id, idempotencyKey, { provider: 'gateway', data: { token: 'tok_mastercard' } })
    const waited = sleep(3_000).then(() => Promise.reject(new Error('the call waited for the checkout in flight instead of answering CONFLICT')))
    const whileInFlight = await failure(Promise.race([other, waited]), 'CONFLICT')
    waited.catch(() => undefined)
    other.catch(() => undefined)
    expect(whileInFlight.details).toMatchObject({ field: 'payment.data' })
    await failure(complete(shop.commerce, cart.id, idempotencyKey, { provider: 'wallet', data }), 'CONFLICT')
    release.open()
    const order = await first
    // After the order:
    const bodies = [
      { provider: 'wallet', data },
      { provider: 'gateway', data: { token: 'tok_mastercard' } },
      { provider: 'gateway', data: { token: 'tok_visa', save: true } },
      { provider: 'gateway', data: {} },
      { provider: 'gateway' },
    ]
    for (const body of bodies) await failure(complete(shop.commerce, cart.id, idempotencyKey, body), 'CONFLICT', JSON.stringify(body))
    expect((await complete(shop.commerce, cart.id, idempotencyKey, { provider: 'gateway', data })).id).toBe(order.id)
    expect(wallet.calls).toEqual([])
    expect(gateway.calls.filter((c) => c.operation === 'authorize')).toHaveLength(1)
    expect(await shop.commerce.db.selectFrom('cw_payments').select('id').where('cart_id', '=', cart.id).execute()).toHaveLength(1)
  })
})

describe.each(GUARDED_STORAGES)('two completions of one cart at once with different keys, 100 carts, on %s', (storage) => {
  const open = shops(storage)

  it('places exactly 1 order and makes at most 1 authorization per cart', async () => {
    const CARTS = 100
    const gateway = testGateway({ id: 'gateway', defaults: { authorize: { delayMs: 5 } } })
    const shop = await open([gateway])
    // On PostgreSQL the second completion comes from another engine with its own connections.
    const other = storage === 'postgres' ? await shop.engine({ payments: [gateway] }) : shop.commerce
    const carts = await mapLimit(Array.from({ length: CARTS }), 8, () => readyCart(shop.commerce, shop.variantId, 1))
    const outcomes = await mapLimit(carts, 8, (cart) =>
      Promise.allSettled([complete(shop.commerce, cart.id, key()), complete(other, cart.id, key())]),
    )
    const db = shop.commerce.db
    const orders = await db.selectFrom('cw_orders').select(['id', 'cart_id']).execute()
    const payments = await db.selectFrom('cw_payments').select(['id', 'cart_id']).execute()
    const cartOf = new Map(payments.map((p) => [p.id, p.cart_id]))
    const charges = new Map<string, number>()
    for (const charge of gateway.charges()) charges.set(cartOf.get(charge.paymentId)!, (charges.get(cartOf.get(charge.paymentId)!) ?? 0) + 1)
    for (const [i, cart] of carts.entries()) {
      const own = orders.filter((o) => o.cart_id === cart.id)
      expect(own, `cart ${i}`).toHaveLength(1)
      expect(charges.get(cart.id) ?? 0, `cart ${i}`).toBeLessThanOrEqual(1)
      // Every call that answered, answered with the cart's one order.
      for (const outcome of outcomes[i]!) {
        if (outcome.status === 'fulfilled') expect(outcome.value.id).toBe(own[0]!.id)
        else expect(String(outcome.reason)).toMatch(/in progress/)
      }
    }
    expect(orders).toHaveLength(CARTS)
    expect(gateway.calls.filter((c) => c.operation === 'authorize' && c.outcome === 'done')).toHaveLength(CARTS)
  })
})
