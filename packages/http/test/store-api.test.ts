import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeApi } from '../src/index.js'
import { cookiesOf, json, openShop, ORIGIN, STORAGES } from './support.js'

describe.each(STORAGES)('storeApi on %s', (storage) => {
  let shop: Awaited<ReturnType<typeof openShop>>
  let app: ReturnType<typeof storeApi>
  const call = (path: string, init?: RequestInit) => app.request(`${ORIGIN}${path}`, init)

  beforeAll(async () => {
    shop = await openShop(storage)
    app = storeApi(shop.commerce, { validateOutput: true, logger: { error: () => undefined } })
  })
  afterAll(() => shop?.close())

  it('creates a cart, sets its token as an HttpOnly Secure SameSite=Lax cookie, and opens it with the token', async () => {
    const created = await call('/t/carts', json('POST', { currency: 'USD' }))
    expect(created.status).toBe(200)
    const cart = (await created.json()) as { id: string; accessToken: string }
    const cookie = cookiesOf(created).get('cw_cart')!
    expect(cookie).toContain(`cw_cart=${cart.accessToken}`)
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/Secure/)
    expect(cookie).toMatch(/SameSite=Lax/)
    expect(cookie).toMatch(/Path=\//)
    const read = await call(`/t/carts/${cart.id}`, { headers: { 'x-cart-token': cart.accessToken } })
    expect(read.status).toBe(200)
    expect(((await read.json()) as { id: string }).id).toBe(cart.id)
  })
})
