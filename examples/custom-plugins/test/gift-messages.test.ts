import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { storeApi } from '@cartwright/http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_GIFT_MESSAGE } from '../src/index.js'
import { openShop } from './support.js'

type Shop = Awaited<ReturnType<typeof openShop>>

describe('gift messages over the Store API (HTTP on 127.0.0.1, SQLite file)', () => {
  let shop: Shop
  let server: ServerType
  let base: string

  beforeAll(async () => {
    shop = await openShop()
    const app = storeApi(shop.commerce)
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
    })
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    if (server) await new Promise((resolve) => server.close(resolve))
    await shop.close()
  })

  const newCart = async () => {
    const response = await fetch(`${base}/carts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ currency: 'EUR' }) })
    expect(response.status).toBe(200)
    return (await response.json()) as { id: string; accessToken: string }
  }
  const put = (cartId: string, body: unknown, token?: string) =>
    fetch(`${base}/carts/${cartId}/gift-message`, { method: 'PUT', headers: { 'content-type': 'application/json', ...(token ? { 'x-cart-token': token } : {}) }, body: JSON.stringify(body) })
  const stored = (cartId: string) => shop.row<{ message: string; from_name: string | null; order_id: string | null } | undefined>('select message, from_name, order_id from gift_messages_messages where cart_id = ?', cartId)
  const announced = (cartId: string) =>
    (shop.count('cw_outbox') ? (shop.row<{ n: number }>("select count(*) as n from cw_outbox where type = 'gift_messages.added' and payload like ?", `%${cartId}%`)).n : 0)

  it('PUT /carts/:cartId/gift-message with the cart token stores the message and announces it through the outbox', async () => {
    const cart = await newCart()
    const response = await put(cart.id, { message: '  Happy birthday, Ada!  ', from: 'Charles' }, cart.accessToken)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ cartId: cart.id, orderId: null, message: 'Happy birthday, Ada!', from: 'Charles' })
    expect(stored(cart.id)).toEqual({ message: 'Happy birthday, Ada!', from_name: 'Charles', order_id: null })
    expect(announced(cart.id)).toBe(1)

    await put(cart.id, { message: 'Happy birthday!' }, cart.accessToken)
    expect(stored(cart.id)).toEqual({ message: 'Happy birthday!', from_name: null, order_id: null })
    expect(announced(cart.id)).toBe(2)
  })

  it("answers 404 without the cart's token, or with another cart's, and stores nothing", async () => {
    const cart = await newCart()
    const other = await newCart()
    for (const token of [undefined, other.accessToken, 'garbage']) {
      const response = await put(cart.id, { message: 'Not mine to write' }, token)
      expect(response.status).toBe(404)
      expect(((await response.json()) as { code: string }).code).toBe('NOT_FOUND')
    }
    expect(stored(cart.id)).toBeUndefined()
    expect(announced(cart.id)).toBe(0)
  })

  it.each([
    ['an empty message', { message: '   ' }],
    ['a message over the limit', { message: 'x'.repeat(MAX_GIFT_MESSAGE + 1) }],
    ['control characters', { message: 'Happy\u0007 birthday' }],
  ])('refuses %s with 400 VALIDATION naming the message, and stores nothing', async (_, body) => {
    const cart = await newCart()
    const response = await put(cart.id, body, cart.accessToken)
    expect(response.status).toBe(400)
    const error = (await response.json()) as { code: string; details: { fields: string[] } }
    expect(error.code).toBe('VALIDATION')
    expect(error.details.fields).toContain('message')
    expect(stored(cart.id)).toBeUndefined()
  })

  it("lists the route in the Store API's OpenAPI document", async () => {
    const response = await fetch(`${base}/openapi.json`)
    expect(response.status).toBe(200)
    const document = (await response.json()) as { paths: Record<string, Record<string, { summary?: string }>> }
    const route = Object.entries(document.paths).find(([path]) => /^\/carts\/\{cartId\}\/gift-message$/.test(path))
    expect(route?.[1]['put']?.summary).toBe("Write or replace the gift message printed on a card in the cart's parcel")
  })

  it('the message follows the cart into its order, and cannot change after checkout', async () => {
    const cart = await shop.cart('1016 GV')
    await shop.commerce['gift-messages'].set(cart.id, { message: 'For the marathon', from: 'Charles' })
    await shop.commerce.carts.setShippingOption(cart.id, 'courier:zone-a')
    const order = await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
    if (order.status === 'requires_action') throw new Error('the test gateway approves at once')
    expect(await shop.commerce['gift-messages'].forOrder(order.id)).toMatchObject({ cartId: cart.id, orderId: order.id, message: 'For the marathon' })
    expect(stored(cart.id)?.order_id).toBe(order.id)
    const late = await shop.commerce['gift-messages'].set(cart.id, { message: 'Changed my mind' }).catch((e: unknown) => e)
    expect(late).toMatchObject({ code: 'INVALID_STATE' })
    expect(stored(cart.id)?.message).toBe('For the marathon')
  })
})
