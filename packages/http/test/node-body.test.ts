import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeApi } from '../src/index.js'
import { openShop } from './support.js'

/**
 * On Node the Store API reads JSON bodies straight from the request's message (no Fetch Request is
 * built): the size limit, the JSON and a body a host already read must behave as through `fetch`.
 */
describe('request bodies over a Node server', () => {
  let shop: Awaited<ReturnType<typeof openShop>>
  let server: ServerType
  let base: string

  beforeAll(async () => {
    shop = await openShop('sqlite')
    const host = new Hono()
    // A host that reads the body itself before the Store API gets it, on one path.
    host.use('/read-first/*', async (c, next) => {
      await c.req.text()
      await next()
    })
    host.route('/store', storeApi(shop.commerce, { bodyLimit: 1024 }))
    host.route('/read-first/store', storeApi(shop.commerce, { bodyLimit: 1024 }))
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: host.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s))
    })
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await shop.close()
  })

  /** Sends `chunks` one write at a time (chunked transfer encoding unless a length is given). */
  const send = (method: string, path: string, headers: Record<string, string>, chunks: string[]) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }))
      })
      req.on('error', reject)
      for (const chunk of chunks) req.write(chunk)
      req.end()
    })

  const newCart = async (prefix = '/store') => {
    const created = await send('POST', `${prefix}/carts`, {}, [JSON.stringify({ currency: 'USD' })])
    expect(created.status).toBe(200)
    return created.body as { id: string; accessToken: string }
  }

  it('reads a JSON body sent in several chunks', async () => {
    const cart = await newCart()
    const body = JSON.stringify({ email: 'ada@example.com' })
    const patched = await send('PATCH', `/store/carts/${cart.id}`, { 'x-cart-token': cart.accessToken }, [body.slice(0, 5), body.slice(5, 12), body.slice(12)])
    expect(patched.status).toBe(200)
    expect((await shop.commerce.carts.get(cart.id)).email).toBe('ada@example.com')
  })

  it('refuses a Content-Length over the limit with 413', async () => {
    const cart = await newCart()
    const body = JSON.stringify({ email: `${'x'.repeat(2000)}@example.com` })
    const refused = await send('PATCH', `/store/carts/${cart.id}`, { 'x-cart-token': cart.accessToken, 'content-length': String(Buffer.byteLength(body)) }, [body])
    expect([refused.status, refused.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    expect((await shop.commerce.carts.get(cart.id)).email).toBeNull()
  })

  it('refuses a chunked body that grows over the limit with 413, and writes nothing', async () => {
    const cart = await newCart()
    const padding = 'x'.repeat(300)
    const chunks = ['{"email":"', padding, padding, padding, padding, '@example.com"}']
    const refused = await send('PATCH', `/store/carts/${cart.id}`, { 'x-cart-token': cart.accessToken }, chunks)
    expect([refused.status, refused.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    expect((await shop.commerce.carts.get(cart.id)).email).toBeNull()
    // A body just under the limit, chunked, passes.
    const fits = await send('PATCH', `/store/carts/${cart.id}`, { 'x-cart-token': cart.accessToken }, ['{"email":"ada@example.com"', ' '.repeat(900), '}'])
    expect(fits.status).toBe(200)
  })

  it('refuses malformed JSON read from the socket with 400', async () => {
    const cart = await newCart()
    const broken = await send('PATCH', `/store/carts/${cart.id}`, { 'x-cart-token': cart.accessToken }, ['{"email":'])
    expect([broken.status, broken.body.code]).toEqual([400, 'VALIDATION'])
  })

  it('still reads the body, and still limits it, when the host read it first', async () => {
    const cart = await newCart('/read-first/store')
    const patched = await send('PATCH', `/read-first/store/carts/${cart.id}`, { 'x-cart-token': cart.accessToken }, [JSON.stringify({ email: 'grace@example.com' })])
    expect(patched.status).toBe(200)
    expect((await shop.commerce.carts.get(cart.id)).email).toBe('grace@example.com')
    const refused = await send('PATCH', `/read-first/store/carts/${cart.id}`, { 'x-cart-token': cart.accessToken }, ['{"email":"x@example.com"', ' '.repeat(1100), '}'])
    expect([refused.status, refused.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    expect((await shop.commerce.carts.get(cart.id)).email).toBe('grace@example.com')
  })
})
