import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeApi } from '../src/index.js'
import { cookiesOf, json, openShop, ORIGIN, signIn, STORAGES } from './support.js'

type Shop = Awaited<ReturnType<typeof openShop>>

describe.each(STORAGES)('storeApi on %s', (storage) => {
  let shop: Shop
  let app: ReturnType<typeof storeApi>
  const logged: Array<{ message: string; fields: Record<string, unknown> }> = []
  const call = (path: string, init?: RequestInit) => app.request(`${ORIGIN}${path}`, init)
  const newCart = async () => {
    const response = await call('/t/carts', json('POST', { currency: 'USD' }))
    return (await response.json()) as { id: string; accessToken: string }
  }
  const linesOf = async (cartId: string) => (await shop.commerce.carts.get(cartId)).lines.length

  beforeAll(async () => {
    shop = await openShop(storage)
    app = storeApi(shop.commerce, {
      validateOutput: true,
      logger: { error: (message, fields) => logged.push({ message, fields }), info: (message, fields) => logged.push({ message, fields }) },
    })
  })
  afterAll(() => shop?.close())

  describe('cookies', () => {
    it('sets the cart token as an HttpOnly, Secure, SameSite=Lax cookie on path /', async () => {
      const created = await call('/t/carts', json('POST', { currency: 'USD' }))
      expect(created.status).toBe(200)
      const cart = (await created.json()) as { id: string; accessToken: string }
      const cookie = cookiesOf(created).get('cw_cart')!
      expect(cookie).toContain(`cw_cart=${cart.accessToken}`)
      expect(cookie).toMatch(/; HttpOnly/)
      expect(cookie).toMatch(/; Secure/)
      expect(cookie).toMatch(/; SameSite=Lax/)
      expect(cookie).toMatch(/; Path=\//)
    })

    it('opens a cart with the cookie alone (a safe method needs no Origin)', async () => {
      const cart = await newCart()
      const read = await call(`/t/carts/${cart.id}`, { headers: { cookie: `cw_cart=${cart.accessToken}` } })
      expect(read.status).toBe(200)
    })
  })

  describe('access to carts', () => {
    it('opens a cart with its token in X-Cart-Token', async () => {
      const cart = await newCart()
      const read = await call(`/t/carts/${cart.id}`, { headers: { 'x-cart-token': cart.accessToken } })
      expect(read.status).toBe(200)
      expect(((await read.json()) as { id: string }).id).toBe(cart.id)
    })

    it("answers 404, as for a missing cart, to a missing token, another cart's token or garbage", async () => {
      const mine = await newCart()
      const theirs = await newCart()
      const missing = await call('/t/carts/cart_missing', { headers: { 'x-cart-token': mine.accessToken } })
      const missingBody = (await missing.json()) as { code: string }
      expect(missing.status).toBe(404)
      const attempts: Array<Record<string, string>> = [{}, { 'x-cart-token': mine.accessToken }, { 'x-cart-token': 'garbage' }, { cookie: `cw_cart=${mine.accessToken}`, origin: ORIGIN }]
      for (const headers of attempts) {
        const read = await call(`/t/carts/${theirs.id}`, { headers })
        expect(read.status).toBe(404)
        const body = (await read.json()) as { code: string }
        expect(body.code).toBe(missingBody.code)
        const add = await call(`/t/carts/${theirs.id}/lines`, json('POST', { variantId: shop.variantId, quantity: 1 }, headers))
        expect(add.status).toBe(404)
      }
      expect(await linesOf(theirs.id)).toBe(0)
    })

    it("opens a customer's cart with their session, and not with another customer's", async () => {
      const ada = await signIn(shop.commerce, `ada-${storage}@example.com`)
      const bob = await signIn(shop.commerce, `bob-${storage}@example.com`)
      const created = await call('/t/carts', json('POST', { currency: 'USD' }, { authorization: `Bearer ${ada.sessionToken}` }))
      const cart = (await created.json()) as { id: string; customerId: string }
      expect(cart.customerId).toBe(ada.customerId)
      expect((await call(`/t/carts/${cart.id}`, { headers: { authorization: `Bearer ${ada.sessionToken}` } })).status).toBe(200)
      expect((await call(`/t/carts/${cart.id}`, { headers: { authorization: `Bearer ${bob.sessionToken}` } })).status).toBe(404)
      expect((await call(`/t/carts/${cart.id}`, { headers: { authorization: 'Bearer not-a-session' } })).status).toBe(404)
    })
  })

  describe('input', () => {
    it('refuses unknown fields with 400 naming them, and writes nothing', async () => {
      const cart = await newCart()
      const response = await call(`/t/carts/${cart.id}/lines`, json('POST', { variantId: shop.variantId, quantity: 1, unitPrice: 1 }, { 'x-cart-token': cart.accessToken }))
      expect(response.status).toBe(400)
      const body = (await response.json()) as { code: string; details: { fields: string[] } }
      expect(body.code).toBe('VALIDATION')
      expect(body.details.fields).toEqual(['unitPrice'])
      expect(await linesOf(cart.id)).toBe(0)
    })

    it('refuses a body repeating a path parameter with another value', async () => {
      const cart = await newCart()
      const other = await newCart()
      const response = await call(`/t/carts/${cart.id}/lines`, json('POST', { cartId: other.id, variantId: shop.variantId, quantity: 1 }, { 'x-cart-token': cart.accessToken }))
      expect(response.status).toBe(400)
      expect(((await response.json()) as { details: { fields: string[] } }).details.fields).toEqual(['cartId'])
      expect(await linesOf(cart.id)).toBe(0)
      expect(await linesOf(other.id)).toBe(0)
    })

    it('takes GET input from the query string, a repeated name as an array', async () => {
      const response = await call('/t/echo?q=socks&tag=a&tag=b&limit=5')
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ q: 'socks', tag: ['a', 'b'], limit: 5, actor: 'anonymous' })
      expect((await call('/t/echo?q=socks&admin=1')).status).toBe(400)
    })

    it('refuses a body that is not JSON (415) or not a JSON object (400)', async () => {
      const form = await call('/t/guess-free', { method: 'POST' })
      expect(form.status).toBe(404)
      const cart = await newCart()
      const path = `/t/carts/${cart.id}/lines`
      const headers = { 'x-cart-token': cart.accessToken }
      const urlencoded = await call(path, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: 'quantity=1' })
      expect(urlencoded.status).toBe(415)
      expect(((await urlencoded.json()) as { code: string }).code).toBe('UNSUPPORTED_MEDIA_TYPE')
      const broken = await call(path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"quantity":' })
      expect(broken.status).toBe(400)
      const array = await call(path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '[1]' })
      expect(array.status).toBe(400)
      expect(await linesOf(cart.id)).toBe(0)
    })

    it('refuses a body over the limit with 413', async () => {
      const cart = await newCart()
      const big = 'x'.repeat(101 * 1024)
      const response = await call(`/t/carts/${cart.id}`, json('PATCH', { email: `${big}@example.com` }, { 'x-cart-token': cart.accessToken }))
      expect(response.status).toBe(413)
      expect(((await response.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE')
      const small = storeApi(shop.commerce, { bodyLimit: 64 })
      const refused = await small.request(`${ORIGIN}/t/carts/${cart.id}`, json('PATCH', { email: 'an-address-long-enough-to-pass-the-64-byte-limit@example.com' }, { 'x-cart-token': cart.accessToken }))
      expect(refused.status).toBe(413)
      expect((await shop.commerce.carts.get(cart.id)).email).toBeNull()
    })

    it('needs an Idempotency-Key header of 1–255 printable characters on an idempotent endpoint, passed as input.idempotencyKey', async () => {
      const cart = await newCart()
      const path = `/t/carts/${cart.id}/checkout`
      const headers = { 'x-cart-token': cart.accessToken }
      expect((await call(path, json('POST', {}, headers))).status).toBe(400)
      expect((await call(path, json('POST', {}, { ...headers, 'idempotency-key': 'k'.repeat(256) }))).status).toBe(400)
      expect((await call(path, json('POST', {}, { ...headers, 'idempotency-key': 'bad\u0001key' }))).status).toBe(400)
      expect((await call(path, json('POST', { idempotencyKey: 'in-body' }, { ...headers, 'idempotency-key': 'k1' }))).status).toBe(400)
      const ok = await call(path, json('POST', {}, { ...headers, 'idempotency-key': 'order-attempt-1' }))
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ key: 'order-attempt-1' })
    })
  })

  describe('errors', () => {
    it('maps CommerceError codes to statuses with { code, message, details, requestId }', async () => {
      const cart = await newCart()
      const response = await call(`/t/carts/${cart.id}/lines`, json('POST', { variantId: 'var_missing', quantity: 1 }, { 'x-cart-token': cart.accessToken }))
      expect(response.status).toBe(404)
      const body = (await response.json()) as Record<string, unknown>
      expect(Object.keys(body).sort()).toEqual(['code', 'details', 'message', 'requestId'])
      expect(body.code).toBe('NOT_FOUND')
      expect(body.requestId).toBe(response.headers.get('x-request-id'))
    })

    it('answers a crash 500 INTERNAL without its message or stack, and logs it with the request id', async () => {
      const response = await call('/t/fail/crash', json('POST', {}, { 'x-request-id': 'req-crash-1' }))
      expect(response.status).toBe(500)
      const text = await response.text()
      expect(text).not.toContain('hunter2')
      expect(text).not.toContain('at ')
      expect(JSON.parse(text)).toMatchObject({ code: 'INTERNAL', requestId: 'req-crash-1' })
      const line = logged.find((l) => l.fields.requestId === 'req-crash-1' && l.message.includes('failed'))
      expect(line?.message).toContain('req-crash-1')
      expect(JSON.stringify(line?.fields)).toContain('hunter2')
    })

    it('answers a database or provider failure with its code and status but not its message or details, and logs them', async () => {
      for (const [how, code, status] of [['storage', 'STORAGE', 503], ['provider', 'PROVIDER', 502]] as const) {
        const response = await call(`/t/fail/${how}`, json('POST', {}, { 'x-request-id': `req-${how}-1` }))
        expect(response.status).toBe(status)
        const text = await response.text()
        expect(text).not.toMatch(/secret_table|hunter2|duplicate key/)
        expect(JSON.parse(text)).toMatchObject({ code, details: {}, requestId: `req-${how}-1` })
        const line = logged.find((l) => l.fields.requestId === `req-${how}-1`)
        expect(JSON.stringify(line?.fields)).toMatch(/secret_table|hunter2/)
      }
    })

    it('refuses an answer outside the output schema when validating output', async () => {
      const response = await call('/t/fail/drift', json('POST', {}))
      expect(response.status).toBe(500)
      expect(((await response.json()) as { code: string }).code).toBe('INTERNAL')
    })

    it('overrides the status of a code with the statuses option', async () => {
      const custom = storeApi(shop.commerce, { statuses: { NOT_FOUND: 410 }, logger: { error: () => undefined } })
      const response = await custom.request(`${ORIGIN}/t/carts/cart_missing`)
      expect(response.status).toBe(410)
    })

    it('answers an unknown route 404 in the same shape', async () => {
      const response = await call('/nowhere')
      expect(response.status).toBe(404)
      expect(((await response.json()) as { code: string }).code).toBe('NOT_FOUND')
    })
  })

  describe('request ids', () => {
    it('puts X-Request-Id on every response, keeps a sane incoming one and replaces an insane one', async () => {
      const fresh = await call('/t/echo?q=a')
      expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect((await call('/t/echo?q=a', { headers: { 'x-request-id': 'edge-42' } })).headers.get('x-request-id')).toBe('edge-42')
      const insane = await call('/t/echo?q=a', { headers: { 'x-request-id': 'a b<script>' } })
      expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      const error = await call('/t/echo?q=a&x=1', { headers: { 'x-request-id': 'edge-43' } })
      expect(error.headers.get('x-request-id')).toBe('edge-43')
      expect(((await error.json()) as { requestId: string }).requestId).toBe('edge-43')
      expect(logged.some((l) => l.fields.requestId === 'edge-42' && l.message.includes('edge-42'))).toBe(true)
    })
  })

  describe('CSRF', () => {
    it('refuses a cross-origin form post carrying the cart cookie, and writes nothing', async () => {
      const cart = await newCart()
      const response = await call(`/t/carts/${cart.id}/lines`, {
        method: 'POST',
        headers: { cookie: `cw_cart=${cart.accessToken}`, origin: 'https://evil.example', 'content-type': 'application/json' },
        body: JSON.stringify({ variantId: shop.variantId, quantity: 1 }),
      })
      expect(response.status).toBe(403)
      expect(((await response.json()) as { code: string }).code).toBe('CSRF')
      expect(await linesOf(cart.id)).toBe(0)
    })

    it('refuses a cookie-authenticated state change with no Origin or Referer', async () => {
      const cart = await newCart()
      const response = await call(`/t/carts/${cart.id}/lines`, json('POST', { variantId: shop.variantId, quantity: 1 }, { cookie: `cw_cart=${cart.accessToken}` }))
      expect(response.status).toBe(403)
      expect(await linesOf(cart.id)).toBe(0)
    })

    it('refuses a session-cookie request from another origin', async () => {
      const eve = await signIn(shop.commerce, `eve-${storage}@example.com`)
      const response = await call('/t/carts', json('POST', { currency: 'USD' }, { cookie: `cw_session=${eve.sessionToken}`, origin: 'https://evil.example' }))
      expect(response.status).toBe(403)
    })

    it('accepts the same request from its own origin, from a Referer on it, or from a trusted origin', async () => {
      const cart = await newCart()
      const body = { variantId: shop.variantId, quantity: 1 }
      expect((await call(`/t/carts/${cart.id}/lines`, json('POST', body, { cookie: `cw_cart=${cart.accessToken}`, origin: ORIGIN }))).status).toBe(200)
      expect((await call(`/t/carts/${cart.id}/lines`, json('POST', body, { cookie: `cw_cart=${cart.accessToken}`, referer: `${ORIGIN}/checkout` }))).status).toBe(200)
      const trusting = storeApi(shop.commerce, { trustedOrigins: ['https://shop.example'] })
      const trusted = await trusting.request(`${ORIGIN}/t/carts/${cart.id}/lines`, json('POST', body, { cookie: `cw_cart=${cart.accessToken}`, origin: 'https://shop.example' }))
      expect(trusted.status).toBe(200)
      expect(await linesOf(cart.id)).toBe(1)
    })

    it('does not apply to a request authenticated by a header token', async () => {
      const cart = await newCart()
      const response = await call(`/t/carts/${cart.id}/lines`, json('POST', { variantId: shop.variantId, quantity: 1 }, { 'x-cart-token': cart.accessToken, origin: 'https://app.example' }))
      expect(response.status).toBe(200)
    })
  })

  describe('headers', () => {
    it('sends the secure headers', async () => {
      const response = await call('/t/echo?q=a')
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=/)
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN')
      expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    })

    it('has CORS off by default and allows only the listed origins when on', async () => {
      const off = await call('/t/echo?q=a', { headers: { origin: 'https://shop.example' } })
      expect(off.headers.get('access-control-allow-origin')).toBeNull()
      const on = storeApi(shop.commerce, { cors: { origins: ['https://shop.example'] } })
      const allowed = await on.request(`${ORIGIN}/t/echo?q=a`, { headers: { origin: 'https://shop.example' } })
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example')
      expect(allowed.headers.get('access-control-allow-credentials')).toBe('true')
      const other = await on.request(`${ORIGIN}/t/echo?q=a`, { headers: { origin: 'https://evil.example' } })
      expect(other.headers.get('access-control-allow-origin')).toBeNull()
      const preflight = await on.request(`${ORIGIN}/t/guess`, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' } })
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Idempotency-Key/)
    })
  })
})
