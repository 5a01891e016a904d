import { afterEach, describe, expect, it } from 'vitest'
import type { CheckoutRiskContext, CommerceEventName, CommerceOptions, Order } from '@cartwright/core'
import { checkPaymentBooks, testGateway, type TestGateway } from '@cartwright/testkit'
import { address, failure, GUARDED_STORAGES, key, openShop, placed, readyCart, type Shop, type StorageKind } from '../support/index.js'

/**
 * Orders held for review: a `checkout.risk` hook (or staff) holds an order whose payment is
 * authorized; it is not captured nor fulfilled until released, and canceling it voids the
 * authorization and releases the stock. The books are compared with the test gateway's ledger.
 */

interface HoldShop extends Shop {
  gateway: TestGateway
  checkout(email?: string): Promise<Order>
  /** The events in the outbox (those of one transaction in no particular order). */
  outbox(): Promise<Array<{ type: string; payload: Record<string, unknown> }>>
  stored(orderId: string): Promise<unknown>
}

function shops(storage: StorageKind) {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })
  return async (options: Partial<CommerceOptions> = {}): Promise<HoldShop> => {
    const gateway = testGateway({ id: 'gateway' })
    const shop = await openShop({ storage, payments: [gateway], ...options })
    open.push(shop)
    const db = shop.commerce.db
    return Object.assign(shop, {
      gateway,
      async checkout(email = 'ada@example.com') {
        const cart = await readyCart(shop.commerce, shop.variantId, 2)
        await shop.commerce.carts.update(cart.id, { email, billingAddress: { ...address, country: 'FR' } })
        return placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
      },
      async outbox() {
        const rows = await db.selectFrom('cw_outbox').select(['type', 'payload']).orderBy('created_at').orderBy('id').execute()
        return rows.map((r) => ({ type: r.type, payload: JSON.parse(r.payload) as Record<string, unknown> }))
      },
      async stored(orderId: string) {
        return {
          order: await db.selectFrom('cw_orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow(),
          payments: await db.selectFrom('cw_payments').selectAll().where('order_id', '=', orderId).execute(),
          operations: await db.selectFrom('cw_payment_operations').selectAll().where('order_id', '=', orderId).execute(),
          levels: await db.selectFrom('cw_inventory_levels').selectAll().orderBy('id').execute(),
          calls: gateway.calls.length,
        }
      },
    })
  }
}

const types = (events: Array<{ type: string }>, ...only: CommerceEventName[]) => events.map((e) => e.type).filter((t) => only.includes(t as CommerceEventName))

describe.each(GUARDED_STORAGES)('orders held by the checkout.risk hook, on %s', (storage) => {
  const open = shops(storage)

  it('places a held order authorized, refuses to capture or fulfil it until released, then captures it', async () => {
    const s = await open()
    const seen: CheckoutRiskContext[] = []
    s.commerce.hooks.hook('checkout.risk', (context) => {
      seen.push(context)
      if (context.email === 'mallory@example.com') return { hold: true, reason: 'billing and shipping countries differ' }
    })
    const order = await s.checkout('mallory@example.com')
    expect(order).toMatchObject({ status: 'placed', paymentStatus: 'authorized', hold: { reason: 'billing and shipping countries differ' } })
    expect(Date.parse(order.hold!.at)).not.toBeNaN()
    expect(await s.commerce.orders.get(order.id)).toMatchObject({ hold: order.hold })
    // The hook saw the authorized payment and both addresses.
    expect(seen).toHaveLength(1)
    const payment = order.payments[0]!
    expect(seen[0]).toMatchObject({
      email: 'mallory@example.com',
      totals: order.totals,
      shippingAddress: { country: 'GB' },
      billingAddress: { country: 'FR' },
      payment: { id: payment.id, provider: 'gateway', status: 'authorized', amount: order.totals.total, currency: 'USD', reference: payment.reference },
    })
    // Announced with the order, in the same transaction.
    const events = await s.outbox()
    expect(types(events, 'order.placed', 'order.held').sort()).toEqual(['order.held', 'order.placed'])
    expect(events.find((e) => e.type === 'order.held')!.payload).toEqual({ orderId: order.id, number: order.number, reason: 'billing and shipping countries differ' })
    expect((events.find((e) => e.type === 'order.placed')!.payload['order'] as Order).hold).toEqual(order.hold)
    expect((await s.commerce.orders.list({ held: true })).items.map((o) => o.id)).toEqual([order.id])

    const before = await s.stored(order.id)
    const capture = await failure(s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'held-capture-1' }), 'INVALID_STATE')
    expect(capture.message).toContain('held for review (billing and shipping countries differ)')
    expect(capture.details).toMatchObject({ orderId: order.id, hold: order.hold })
    await failure(s.commerce.orders.capturePayment(order.id, { amount: 100 }), 'INVALID_STATE')
    const fulfill = await failure(s.commerce.orders.fulfill(order.id), 'INVALID_STATE')
    expect(fulfill.message).toContain('held for review')
    expect(await s.stored(order.id)).toEqual(before)
    expect(s.gateway.calls.filter((c) => c.operation === 'capture')).toEqual([])

    const released = await s.commerce.orders.release(order.id)
    expect(released.hold).toBeNull()
    expect((await s.commerce.orders.list({ held: true })).items).toEqual([])
    expect(types(await s.outbox(), 'order.released')).toEqual(['order.released'])
    // The same key, refused while held, now captures.
    const captured = await s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'held-capture-1' })
    expect(captured.paymentStatus).toBe('captured')
    expect(s.gateway.chargeFor(payment.id)).toMatchObject({ captured: order.totals.total, captures: 1 })
    expect(await checkPaymentBooks(s.commerce, s.gateway, order.id)).toEqual([])
    await s.commerce.orders.fulfill(order.id)
    expect((await s.commerce.orders.get(order.id)).status).toBe('completed')
  })

  it('canceling a held order voids the authorization and releases the stock; it cannot be released after', async () => {
    const s = await open()
    s.commerce.hooks.hook('checkout.risk', () => ({ hold: true, reason: 'card testing suspected' }))
    const order = await s.checkout()
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ reserved: 2 })
    const canceled = await s.commerce.orders.cancel(order.id, { reason: 'fraud', idempotencyKey: 'cancel-held-1' })
    expect(canceled).toMatchObject({ status: 'canceled', paymentStatus: 'voided', hold: order.hold })
    expect((await s.commerce.inventory.levels(s.variantId))[0]).toMatchObject({ onHand: 10, reserved: 0, available: 10 })
    expect(s.gateway.chargeFor(order.payments[0]!.id)).toMatchObject({ voided: true, captured: 0 })
    expect(s.gateway.calls.filter((c) => c.operation === 'void').map((c) => c.outcome)).toEqual(['done'])
    expect(await checkPaymentBooks(s.commerce, s.gateway, order.id)).toEqual([])
    const release = await failure(s.commerce.orders.release(order.id), 'INVALID_STATE')
    expect(release.message).toContain('canceled')
    await failure(s.commerce.orders.capturePayment(order.id), 'INVALID_STATE')
  })

  it('holds the order when a risk hook throws or answers nonsense; places it unheld when hooks answer nothing or { hold: false }', async () => {
    const s = await open()
    let mode: 'throw' | 'nonsense' | 'nothing' | 'no' = 'throw'
    s.commerce.hooks.hook('checkout.risk', () => {
      if (mode === 'throw') throw new Error('fraud service unreachable')
      if (mode === 'nonsense') return { hold: 'maybe' } as never
      if (mode === 'no') return { hold: false }
    })
    const failed = await s.checkout()
    expect(failed.hold).toMatchObject({ reason: 'risk check failed: fraud service unreachable' })
    mode = 'nonsense'
    expect((await s.checkout()).hold!.reason).toMatch(/^risk check failed: a checkout.risk hook answered/)
    mode = 'nothing'
    expect((await s.checkout()).hold).toBeNull()
    mode = 'no'
    const clean = await s.checkout()
    expect(clean.hold).toBeNull()
    expect(await s.commerce.orders.capturePayment(clean.id)).toMatchObject({ paymentStatus: 'captured' })
    expect(types(await s.outbox(), 'order.held')).toEqual(['order.held', 'order.held'])
  })
})

describe.each(GUARDED_STORAGES)('orders.hold and orders.release by staff, on %s', (storage) => {
  const open = shops(storage)

  it('holds a placed order once (its first reason), releases it once, and refuses bad input or a canceled order, changing nothing', async () => {
    const s = await open()
    const order = await s.checkout()
    expect(order.hold).toBeNull()
    // Released when not held: returned as it is, nothing announced.
    expect(await s.commerce.orders.release(order.id)).toEqual(await s.commerce.orders.get(order.id))
    const bad = await failure(s.commerce.orders.hold(order.id, { reason: '  ' }), 'VALIDATION')
    expect(bad.details['fields']).toEqual(['reason'])
    expect(await s.commerce.orders.get(order.id)).toMatchObject({ hold: null })

    const held = await s.commerce.orders.hold(order.id, { reason: 'customer reported the card stolen' })
    expect(held.hold).toMatchObject({ reason: 'customer reported the card stolen' })
    expect((await s.commerce.orders.hold(order.id, { reason: 'another reason' })).hold).toEqual(held.hold)
    await failure(s.commerce.orders.capturePayment(order.id), 'INVALID_STATE')
    await s.commerce.orders.release(order.id)
    await s.commerce.orders.release(order.id)
    expect(types(await s.outbox(), 'order.held', 'order.released').sort()).toEqual(['order.held', 'order.released'])

    const other = await s.checkout()
    await s.commerce.orders.cancel(other.id)
    const before = await s.stored(other.id)
    await failure(s.commerce.orders.hold(other.id, { reason: 'too late' }), 'INVALID_STATE')
    expect(await s.stored(other.id)).toEqual(before)
    await failure(s.commerce.orders.hold('order_missing', { reason: 'x' }), 'NOT_FOUND')
    await failure(s.commerce.orders.release('order_missing'), 'NOT_FOUND')
  })
})
