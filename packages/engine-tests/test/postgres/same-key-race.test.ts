import { afterEach, describe, expect, it } from 'vitest'
import { checkPaymentBooks, testGateway } from '@cartwright/testkit'
import { key, openShop, placed as orderOf, readyCart, type Shop } from '../support/index.js'

/**
 * Two calls with one idempotency key on one order, on PostgreSQL: the second looked its key up
 * and found it unused, then waited for the order's lock while the first ran to its end (forced at
 * the named points `order.cancel.locking` and `payment.operation.locking`, where the first runs on
 * another connection of the pool). The second must see the first's operation once it holds the
 * lock: resume it, or send its own under a key of its own, and never insert the key a second
 * time (a unique violation, which surfaced as a STORAGE error in the simulation).
 */
describe('a second call with the same key, held before the order lock while the first finishes (PostgreSQL)', () => {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })

  async function shop() {
    let during: (() => Promise<void>) | undefined
    const once = async () => {
      const run = during
      during = undefined
      if (run) await run()
    }
    const gateway = testGateway({ id: 'gateway' })
    const s = await openShop({ storage: 'postgres', payments: [gateway], stock: 10, testPoints: { 'order.cancel.locking': once, 'payment.operation.locking': once } })
    open.push(s)
    const cart = await readyCart(s.commerce, s.variantId, 1)
    const order = orderOf(await s.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
    const operations = async () => (await s.commerce.payments.list({ orderId: order.id })).items[0]!.operations.map((o) => [o.kind, o.status, o.idempotencyKey === o.id ? 'own key' : o.idempotencyKey])
    return { s, gateway, order, operations, meanwhile: (run: () => Promise<void>) => (during = run) }
  }

  it('a cancel whose key another cancel used, and was refused on, meanwhile sends its own void under a key of its own', async () => {
    const { s, gateway, order, operations, meanwhile } = await shop()
    gateway.script('void', 'refuse')
    let first: unknown
    meanwhile(async () => {
      first = await s.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-race-0001' }).catch((error: unknown) => error)
    })
    const second = await s.commerce.orders.cancel(order.id, { idempotencyKey: 'cancel-race-0001' })
    expect(first).toMatchObject({ code: 'PAYMENT_FAILED' })
    expect(second).toMatchObject({ status: 'canceled', paymentStatus: 'voided' })
    expect(await operations()).toEqual([
      ['void', 'failed', 'cancel-race-0001'],
      ['void', 'succeeded', 'own key'],
    ])
    expect(await checkPaymentBooks(s.commerce, gateway, order.id)).toEqual([])
  })

  it('a capture whose key another capture used meanwhile answers with that capture and sends nothing more', async () => {
    const { s, gateway, order, operations, meanwhile } = await shop()
    meanwhile(async () => {
      await s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-race-0001' })
    })
    const second = await s.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-race-0001' })
    expect(second).toMatchObject({ paymentStatus: 'captured' })
    expect(await operations()).toEqual([['capture', 'succeeded', 'capture-race-0001']])
    expect(gateway.calls.filter((c) => c.operation === 'capture')).toHaveLength(1)
    expect(await checkPaymentBooks(s.commerce, gateway, order.id)).toEqual([])
  })
})
