import { afterEach, describe, expect, it } from 'vitest'
import type { Commerce } from '@cartwright/core'
import { address, failure, GUARDED_STORAGES, key, openShop, placed, readyCart, type Shop, type ShopOptions } from '../support/index.js'

/**
 * Staff-made orders (`commerce.drafts`): a draft is a cart made by staff, with prices staff may
 * override (recorded), stock held while it is open until it expires, paid through a payment link
 * (the normal checkout) or marked paid by a method outside the gateway.
 */

/** Every row a draft touches, for "nothing was written" checks. */
async function draftRows(commerce: Commerce): Promise<unknown[]> {
  return Promise.all([
    commerce.db.selectFrom('cw_carts').selectAll().orderBy('id').execute(),
    commerce.db.selectFrom('cw_cart_lines').selectAll().orderBy('id').execute(),
    commerce.db.selectFrom('cw_reservations').selectAll().orderBy('id').execute(),
    commerce.db.selectFrom('cw_inventory_levels').selectAll().orderBy('id').execute(),
    commerce.db.selectFrom('cw_payments').selectAll().orderBy('id').execute(),
    commerce.db.selectFrom('cw_orders').selectAll().orderBy('id').execute(),
    commerce.db.selectFrom('cw_outbox').select(['type', 'payload']).orderBy('id').execute(),
  ])
}

async function reserved(commerce: Commerce, variantId: string): Promise<number> {
  return (await commerce.inventory.levels(variantId)).reduce((n, l) => n + l.reserved, 0)
}

async function outboxTypes(commerce: Commerce): Promise<string[]> {
  return (await commerce.db.selectFrom('cw_outbox').select('type').orderBy('id').execute()).map((r) => r.type)
}

describe.each(GUARDED_STORAGES)('staff-made orders on %s', (storage) => {
  let shop: Shop | undefined
  afterEach(async () => {
    await shop?.close()
    shop = undefined
  })
  const open = async (options: ShopOptions = {}) => (shop = await openShop({ storage, ...options }))

  /** A draft for Ada with `quantity` Trail Runners, her address and the standard shipping. */
  async function draftWith(commerce: Commerce, variantId: string, quantity: number, expiresAt?: string) {
    const draft = await commerce.drafts.create({ currency: 'USD', createdBy: 'maria', email: 'ada@example.com', ...(expiresAt ? { expiresAt } : {}) })
    await commerce.carts.addItem(draft.id, { variantId, quantity })
    await commerce.carts.update(draft.id, { shippingAddress: address })
    await commerce.carts.setShippingOption(draft.id, 'flat:standard')
    return commerce.drafts.get(draft.id)
  }

  it('a draft with an overridden price, paid through its payment link: the order charges the override and records it; the holds are taken once', async () => {
    const { commerce, variantId } = await open({ stock: 3 })
    const draft = await draftWith(commerce, variantId, 2)
    expect(draft).toMatchObject({ createdBy: 'maria', draftStatus: 'open', heldUnits: 0, status: 'open' })
    const lineId = draft.lines[0]!.id
    const overridden = await commerce.drafts.overridePrice(draft.id, lineId, { unitPrice: 10000, reason: 'price match with the shop downtown', by: 'maria' })
    expect(overridden.lines[0]).toMatchObject({ unitPrice: 10000, subtotal: 20000, priceOverride: { unitPrice: 10000, from: 12900, reason: 'price match with the shop downtown', by: 'maria' } })
    expect(overridden.version).toBe(draft.version + 1)

    const link = await commerce.drafts.paymentLink(draft.id)
    expect((await commerce.carts.findByToken(link.token)).id).toBe(draft.id)
    expect(await reserved(commerce, variantId)).toBe(2)
    expect((await commerce.drafts.get(draft.id)).heldUnits).toBe(2)

    // Only one unit is left for anyone else while the draft holds two.
    await failure(readyCart(commerce, variantId, 2), 'OUT_OF_STOCK')

    // The customer pays through the normal checkout: the draft's two held units become the order's, not two more.
    const order = placed(await commerce.checkout.complete(draft.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    expect(order.lines[0]).toMatchObject({ unitPrice: 10000, subtotal: 20000, priceOverride: { unitPrice: 10000, from: 12900, by: 'maria' } })
    expect(order.totals.total).toBe(overridden.totals.total)
    expect(order.payments.reduce((n, p) => n + p.authorizedAmount, 0)).toBe(order.totals.total)
    expect(await reserved(commerce, variantId)).toBe(2)
    const held = await commerce.inventory.reservations({ cartId: draft.id, status: 'held' })
    expect(held.map((r) => [r.quantity, r.orderId])).toEqual([[2, order.id]])
    const line = await commerce.db.selectFrom('cw_order_lines').select('price_override').where('order_id', '=', order.id).executeTakeFirstOrThrow()
    expect(JSON.parse(line.price_override!)).toMatchObject({ unitPrice: 10000, from: 12900, reason: 'price match with the shop downtown', by: 'maria' })
    expect((await commerce.orders.get(order.id)).lines[0]!.priceOverride?.reason).toBe('price match with the shop downtown')
    expect(await outboxTypes(commerce)).toEqual(expect.arrayContaining(['draft.created', 'draft.price_overridden', 'draft.reserved', 'draft.payment_link_created', 'order.placed']))
  })

  it('markPaid places the order paid by a method outside the gateway, once per key and once per draft', async () => {
    const { commerce, variantId } = await open({ stock: 5 })
    const draft = await draftWith(commerce, variantId, 1)
    await commerce.drafts.overridePrice(draft.id, draft.lines[0]!.id, { unitPrice: 9900, reason: 'staff discount', by: 'maria' })
    const input = { method: 'bank_transfer' as const, reference: 'SEPA-1183', idempotencyKey: key() }
    const order = await commerce.drafts.markPaid(draft.id, input)
    expect(order).toMatchObject({ cartId: draft.id, paymentStatus: 'captured', email: 'ada@example.com' })
    expect(order.lines[0]).toMatchObject({ unitPrice: 9900, priceOverride: { from: 12900, reason: 'staff discount' } })
    expect(order.payments).toEqual([expect.objectContaining({ provider: 'manual', capturedAmount: order.totals.total, reference: 'SEPA-1183' })])
    expect(await reserved(commerce, variantId)).toBe(1)
    // A retry with the same key answers the same order; another key finds the draft placed.
    expect((await commerce.drafts.markPaid(draft.id, input)).id).toBe(order.id)
    await failure(commerce.drafts.markPaid(draft.id, { method: 'cash', idempotencyKey: key() }), 'INVALID_STATE')
    // The same key for another draft is a conflict, never that draft's order.
    const second = await draftWith(commerce, variantId, 1)
    await failure(commerce.drafts.markPaid(second.id, input), 'CONFLICT')
    const orders = await commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', draft.id).execute()
    expect(orders).toHaveLength(1)
    // Money taken by hand is given back by hand: the refund is recorded, as is a cancel's.
    const refunded = await commerce.orders.refund(order.id, { amount: 900, reason: 'scratched', idempotencyKey: key() })
    expect(refunded.payments[0]).toMatchObject({ provider: 'manual', refundedAmount: 900 })
    const canceled = await commerce.orders.cancel(order.id, { idempotencyKey: key() })
    expect(canceled.payments[0]).toMatchObject({ provider: 'manual', refundedAmount: order.totals.total })
    expect(await reserved(commerce, variantId)).toBe(0)
  })

  it('concurrent markPaid with the same key and with different keys place one order', async () => {
    const { commerce, variantId } = await open({ stock: 5 })
    for (const sameKey of [true, false]) {
      const draft = await draftWith(commerce, variantId, 2)
      await commerce.drafts.reserve(draft.id)
      const shared = key()
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () => commerce.drafts.markPaid(draft.id, { method: 'cash', idempotencyKey: sameKey ? shared : key() })),
      )
      const ids = new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.id] : [])))
      expect(ids.size).toBe(1)
      if (sameKey) expect(results.every((r) => r.status === 'fulfilled')).toBe(true)
      for (const r of results) if (r.status === 'rejected') expect(['INVALID_STATE', 'CONFLICT']).toContain((r.reason as { code: string }).code)
      const orders = await commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', draft.id).execute()
      expect(orders).toHaveLength(1)
      const payments = await commerce.db.selectFrom('cw_payments').select('captured_amount').where('cart_id', '=', draft.id).execute()
      expect(payments).toHaveLength(1)
    }
    expect(await reserved(commerce, variantId)).toBe(4)
  })

  it('holds stock while open, follows edits, and releases it on expiry (virtual time); an expired link cannot be paid', async () => {
    let now = new Date('2027-03-01T09:00:00.000Z')
    const { commerce, variantId } = await open({ stock: 4, now: () => now })
    const draft = await draftWith(commerce, variantId, 2, '2027-03-01T10:00:00.000Z')
    expect(draft.expiresAt).toBe('2027-03-01T10:00:00.000Z')
    const link = await commerce.drafts.paymentLink(draft.id)
    expect(link.expiresAt).toBe('2027-03-01T10:00:00.000Z')
    expect(await reserved(commerce, variantId)).toBe(2)
    // An edit moves the holds with the lines; one the stock cannot hold is refused.
    await commerce.carts.updateItem(draft.id, draft.lines[0]!.id, { quantity: 3 })
    expect(await reserved(commerce, variantId)).toBe(3)
    await failure(commerce.carts.updateItem(draft.id, draft.lines[0]!.id, { quantity: 5 }), 'OUT_OF_STOCK')
    expect(await reserved(commerce, variantId)).toBe(3)

    // Not yet due: nothing expires.
    expect(await commerce.drafts.expire()).toEqual({ expired: 0 })
    now = new Date('2027-03-01T10:00:01.000Z')
    expect((await commerce.drafts.get(draft.id)).draftStatus).toBe('expired')
    // Past its expiry it cannot be paid, even before the sweep released it.
    await failure(commerce.checkout.complete(draft.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'INVALID_STATE')
    expect(await commerce.drafts.expire()).toEqual({ expired: 1 })
    expect(await reserved(commerce, variantId)).toBe(0)
    expect(await commerce.drafts.get(draft.id)).toMatchObject({ draftStatus: 'expired', heldUnits: 0 })
    expect(await outboxTypes(commerce)).toContain('draft.expired')
    await failure(commerce.drafts.markPaid(draft.id, { method: 'cash', idempotencyKey: key() }), 'INVALID_STATE')

    // Reserved again with a new expiry, it is open and can be paid.
    const again = await commerce.drafts.reserve(draft.id, { expiresAt: '2027-03-02T10:00:00.000Z' })
    expect(again).toMatchObject({ draftStatus: 'open', heldUnits: 3, expiresAt: '2027-03-02T10:00:00.000Z' })
    const order = placed(await commerce.checkout.complete(draft.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    expect(order.lines[0]!.quantity).toBe(3)
    expect(await reserved(commerce, variantId)).toBe(3)
  })

  it('discard releases the holds and the draft can no longer be paid', async () => {
    const { commerce, variantId } = await open({ stock: 4 })
    const draft = await draftWith(commerce, variantId, 2)
    await commerce.drafts.reserve(draft.id)
    expect(await reserved(commerce, variantId)).toBe(2)
    expect((await commerce.drafts.discard(draft.id)).draftStatus).toBe('discarded')
    expect(await reserved(commerce, variantId)).toBe(0)
    await failure(commerce.drafts.markPaid(draft.id, { method: 'cash', idempotencyKey: key() }), 'INVALID_STATE')
    await failure(commerce.drafts.reserve(draft.id), 'INVALID_STATE')
  })

  it('refuses bad input with a typed error naming the field, and writes nothing', async () => {
    const { commerce, variantId } = await open()
    const draft = await draftWith(commerce, variantId, 1)
    const lineId = draft.lines[0]!.id
    const shopperCart = await readyCart(commerce, variantId, 1)
    const before = await draftRows(commerce)
    const cases: Array<[() => Promise<unknown>, string, string]> = [
      [() => commerce.drafts.create({ currency: 'USD' } as never), 'VALIDATION', 'createdBy'],
      [() => commerce.drafts.create({ currency: 'USD', createdBy: '  ' }), 'VALIDATION', 'createdBy'],
      [() => commerce.drafts.create({ currency: 'usd!', createdBy: 'maria' }), 'VALIDATION', 'currency'],
      [() => commerce.drafts.create({ currency: 'USD', createdBy: 'maria', expiresAt: '2000-01-01T00:00:00Z' }), 'VALIDATION', 'expiresAt'],
      [() => commerce.drafts.create({ currency: 'USD', createdBy: 'maria', extra: 1 } as never), 'VALIDATION', ''],
      [() => commerce.drafts.overridePrice(draft.id, lineId, { unitPrice: -1, reason: 'x', by: 'maria' }), 'VALIDATION', 'unitPrice'],
      [() => commerce.drafts.overridePrice(draft.id, lineId, { unitPrice: 10.5, reason: 'x', by: 'maria' }), 'VALIDATION', 'unitPrice'],
      [() => commerce.drafts.overridePrice(draft.id, lineId, { unitPrice: 100, reason: '', by: 'maria' }), 'VALIDATION', 'reason'],
      [() => commerce.drafts.overridePrice(draft.id, lineId, { unitPrice: 100, reason: 'ok' } as never), 'VALIDATION', 'by'],
      [() => commerce.drafts.overridePrice(draft.id, 'line_missing', { unitPrice: 100, reason: 'ok', by: 'maria' }), 'NOT_FOUND', ''],
      [() => commerce.drafts.overridePrice(shopperCart.id, shopperCart.lines[0]!.id, { unitPrice: 100, reason: 'ok', by: 'maria' }), 'NOT_FOUND', ''],
      [() => commerce.drafts.reserve(draft.id, { expiresAt: 'tomorrow' }), 'VALIDATION', 'expiresAt'],
      [() => commerce.drafts.paymentLink(draft.id, { expiresAt: '2999-01-01T00:00:00Z' }), 'VALIDATION', 'expiresAt'],
      [() => commerce.drafts.markPaid(draft.id, { method: 'gold', idempotencyKey: key() } as never), 'VALIDATION', 'method'],
      [() => commerce.drafts.markPaid(draft.id, { method: 'cash' } as never), 'VALIDATION', 'idempotencyKey'],
      [() => commerce.drafts.markPaid(draft.id, { method: 'cash', reference: 'x'.repeat(201), idempotencyKey: key() }), 'VALIDATION', 'reference'],
      [() => commerce.drafts.markPaid(shopperCart.id, { method: 'cash', idempotencyKey: key() }), 'NOT_FOUND', ''],
      [() => commerce.drafts.get(''), 'VALIDATION', 'draftId'],
      [() => commerce.drafts.get(shopperCart.id), 'NOT_FOUND', ''],
      [() => commerce.drafts.discard(42 as never), 'VALIDATION', 'draftId'],
      [() => commerce.drafts.expire({ limit: 0 }), 'VALIDATION', 'limit'],
    ]
    for (const [call, code, field] of cases) {
      const error = await failure(call(), code as 'VALIDATION')
      if (field) expect((error.details as { fields: string[] }).fields.join(' ')).toContain(field)
    }
    expect(await draftRows(commerce)).toEqual(before)
  })
})
