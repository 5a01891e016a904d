import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { address, call, dump, openShop, STORAGES, type Shop } from './routes-support.js'

describe.each(STORAGES)('Store API tampering on %s', (storage) => {
  let shop: Shop
  let cart: { id: string; token: string }
  let order: { id: string; token: string }
  let lineId: string

  beforeAll(async () => {
    shop = await openShop(storage)
    cart = await shop.readyCart()
    lineId = (await shop.commerce.carts.get(cart.id)).lines[0]!.id
    const placed = await shop.placeOrder()
    order = { id: placed.id, token: placed.token }
  })
  afterAll(() => shop?.close())

  const forged = { unitPrice: 1, total: 1, status: 'completed', customerId: 'cus_00000000000000000000000000' }

  /** A body a shopper may send, and where the forged fields go into it. */
  const cases = (): Array<{ name: string; method: string; path: () => string; body: Record<string, unknown>; headers?: Record<string, string>; kind: 'cart' | 'order' | 'public' }> => [
    { name: 'open a cart', method: 'POST', path: () => '/carts', body: { currency: 'USD' }, kind: 'public' },
    { name: 'add a line', method: 'POST', path: () => `/carts/${cart.id}/lines`, body: { variantId: shop.sock.variants[0]!.id, quantity: 1 }, kind: 'cart' },
    { name: 'change a line', method: 'PATCH', path: () => `/carts/${cart.id}/lines/${lineId}`, body: { quantity: 2 }, kind: 'cart' },
    { name: 'set the address', method: 'PATCH', path: () => `/carts/${cart.id}`, body: { email: 'eve@example.com', shippingAddress: address }, kind: 'cart' },
    { name: 'choose shipping', method: 'PUT', path: () => `/carts/${cart.id}/shipping-option`, body: { optionId: 'pickup:warehouse' }, kind: 'cart' },
    { name: 'enter a coupon', method: 'POST', path: () => `/carts/${cart.id}/promotion-codes`, body: { code: 'TEN' }, kind: 'cart' },
    { name: 'complete', method: 'POST', path: () => `/carts/${cart.id}/checkout`, body: { payment: { provider: 'gateway' } }, headers: { 'idempotency-key': 'tamper-key-1' }, kind: 'cart' },
    { name: 'cancel the order', method: 'POST', path: () => `/orders/${order.id}/cancel`, body: {}, headers: { 'idempotency-key': 'tamper-key-2' }, kind: 'order' },
  ]

  const auth = (kind: 'cart' | 'order' | 'public'): Record<string, string> => (kind === 'cart' ? { 'x-cart-token': cart.token } : kind === 'order' ? { 'x-order-token': order.token } : {})

  it('refuses bodies carrying unitPrice, total, status or customerId (400, naming the field), the database unchanged', async () => {
    const before = await dump(shop.commerce, storage)
    const answers: string[] = []
    for (const c of cases()) {
      for (const [field, value] of Object.entries(forged)) {
        const answer = await call(shop.store, c.method, c.path(), { body: { ...c.body, [field]: value }, headers: { ...c.headers, ...auth(c.kind) } })
        const named = JSON.stringify(answer.body?.details ?? {}).includes(field)
        answers.push(`${c.name} + ${field}: ${answer.status} ${answer.body?.code}${named ? '' : ' (field not named)'}`)
      }
    }
    expect(answers).toEqual(cases().flatMap((c) => Object.keys(forged).map((field) => `${c.name} + ${field}: 400 VALIDATION`)))
    expect(await dump(shop.commerce, storage)).toEqual(before)
  })

  it('refuses the same fields nested where a shopper sends objects (the address, the payment)', async () => {
    const before = await dump(shop.commerce, storage)
    const nested = [
      { method: 'PATCH', path: `/carts/${cart.id}`, body: { shippingAddress: { ...address, customerId: forged.customerId } } },
      { method: 'PATCH', path: `/carts/${cart.id}`, body: { billingAddress: { ...address, status: 'completed' } } },
      { method: 'POST', path: `/carts/${cart.id}/checkout`, body: { payment: { provider: 'gateway', total: 1 } }, headers: { 'idempotency-key': 'tamper-key-3' } },
      { method: 'POST', path: `/carts/${cart.id}/checkout`, body: { payment: { provider: 'gateway', unitPrice: 1 } }, headers: { 'idempotency-key': 'tamper-key-4' } },
    ]
    for (const request of nested) {
      const answer = await call(shop.store, request.method, request.path, { body: request.body, headers: { ...request.headers, 'x-cart-token': cart.token } })
      expect([answer.status, answer.body.code]).toEqual([400, 'VALIDATION'])
    }
    expect(await dump(shop.commerce, storage)).toEqual(before)
  })

  it('refuses the other fields a shopper never sets: price, metadata, an owner, a channel on a line', async () => {
    const before = await dump(shop.commerce, storage)
    const extra = [
      { method: 'POST', path: `/carts/${cart.id}/lines`, body: { variantId: shop.sock.variants[0]!.id, quantity: 1, price: 1 } },
      { method: 'POST', path: `/carts/${cart.id}/lines`, body: { variantId: shop.sock.variants[0]!.id, quantity: 1, subtotal: 1, discountTotal: 1 } },
      { method: 'PATCH', path: `/carts/${cart.id}`, body: { metadata: { vip: true } } },
      { method: 'PATCH', path: `/carts/${cart.id}`, body: { ifCustomerId: null, customerId: null } },
      { method: 'POST', path: '/carts', body: { currency: 'USD', metadata: { source: 'x' } } },
      { method: 'POST', path: '/carts', body: { currency: 'USD', customerId: forged.customerId } },
    ]
    for (const request of extra) {
      const answer = await call(shop.store, request.method, request.path, { body: request.body, headers: { 'x-cart-token': cart.token } })
      expect([request.path, answer.status]).toEqual([request.path, 400])
    }
    expect(await dump(shop.commerce, storage)).toEqual(before)
  })
})
