import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import type { customerEndpoints } from '@cartwright/customers'
import type { b2bEndpoints } from '@cartwright/b2b'
import type { giftCardEndpoints, promotionEndpoints } from '@cartwright/promotions'
import type { reviewEndpoints } from '@cartwright/reviews'
import type { taxRulesEndpoints } from '@cartwright/tax-rules'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { createStoreClient, isStoreApiError, StoreApiError, type StoreClient, type StoreRequest, type StoreResponse, type StoreRoute, type storeEndpoints } from '../src/index.js'
import { address, openShop, SHIPPING, type Shop } from './routes-support.js'

type Store = [...typeof storeEndpoints, ...typeof promotionEndpoints, ...typeof customerEndpoints]

describe('createStoreClient: types from the endpoints', () => {
  // Type-level only: checked by `tsc -p .` (the test folder is in the package's tsconfig).
  const client = createStoreClient<Store>({ baseUrl: 'http://127.0.0.1:1' })

  it('names every Store route of core and of the plugins given, and no Admin route', () => {
    expectTypeOf<'POST /carts/:cartId/lines'>().toExtend<StoreRoute<Store>>()
    expectTypeOf<'POST /carts/:cartId/promotion-codes'>().toExtend<StoreRoute<Store>>()
    expectTypeOf<'POST /account/login'>().toExtend<StoreRoute<Store>>()
    expectTypeOf<'GET /promotions'>().not.toExtend<StoreRoute<Store>>()
    type Everything = [...Store, ...typeof giftCardEndpoints, ...typeof reviewEndpoints, ...typeof taxRulesEndpoints, ...typeof b2bEndpoints]
    expectTypeOf<'POST /products/:productId/reviews' | 'PUT /carts/:cartId/tax-profile'>().toExtend<StoreRoute<Everything>>()
    expectTypeOf<StoreRequest<Everything, 'GET /products/:productId/reviews'>>().toHaveProperty('params').toEqualTypeOf<{ productId: string }>()
    expectTypeOf<'POST /carts/:cartId/promotion-codes'>().not.toExtend<StoreRoute<typeof storeEndpoints>>()
  })

  it('takes path params apart, the rest as the body (or the query for GET), and answers the output type', () => {
    expectTypeOf<StoreRequest<Store, 'POST /carts/:cartId/lines'>>().toHaveProperty('params').toEqualTypeOf<{ cartId: string }>()
    expectTypeOf<StoreRequest<Store, 'POST /carts/:cartId/lines'>>().toHaveProperty('body').toEqualTypeOf<{ variantId: string; quantity: number }>()
    expectTypeOf<StoreRequest<Store, 'GET /products'>>().toHaveProperty('query')
    expectTypeOf<StoreResponse<Store, 'GET /carts/:cartId'>>().toHaveProperty('totals').toHaveProperty('total').toEqualTypeOf<number>()
    expectTypeOf<StoreResponse<Store, 'POST /carts/:cartId/promotion-codes'>>().toEqualTypeOf<{ cartId: string; codes: string[] }>()
  })

  it('refuses a wrong body field, a missing param, a missing idempotency key, an unknown route and an Admin route', () => {
    const typeOnly = async () => {
      await client.call('POST /carts/:cartId/lines', { params: { cartId: 'c' }, body: { variantId: 'v', quantity: 1 } })
      // @ts-expect-error a shopper's body never carries a price
      await client.call('POST /carts/:cartId/lines', { params: { cartId: 'c' }, body: { variantId: 'v', quantity: 1, unitPrice: 1 } })
      // @ts-expect-error quantity is a number
      await client.call('POST /carts/:cartId/lines', { params: { cartId: 'c' }, body: { variantId: 'v', quantity: '1' } })
      // @ts-expect-error the :cartId param is missing
      await client.call('POST /carts/:cartId/lines', { body: { variantId: 'v', quantity: 1 } })
      // @ts-expect-error the path param goes in params, not in the body
      await client.call('GET /carts/:cartId', { query: { cartId: 'c' } })
      // @ts-expect-error checkout needs an idempotency key
      await client.call('POST /carts/:cartId/checkout', { params: { cartId: 'c' }, body: { payment: { provider: 'test' } } })
      // @ts-expect-error the key is the Idempotency-Key header, not a body field
      await client.call('POST /carts/:cartId/checkout', { params: { cartId: 'c' }, body: { payment: { provider: 'test' }, idempotencyKey: 'k' } })
      // @ts-expect-error no such route
      await client.call('GET /carts', {})
      // @ts-expect-error an Admin route is not on the Store client
      await client.call('GET /promotions', {})
      // @ts-expect-error GET /account takes no fields
      await client.call('GET /account', { query: { email: 'ada@example.com' } })
      // Needs nothing: the request may be left out.
      await client.call('GET /categories')
      await client.call('GET /account', { session: 'session-token' })
    }
    expect(typeOnly).toBeTypeOf('function')
  })

  it('checks its options at once', () => {
    expect(() => createStoreClient<Store>({ baseUrl: 'shop.example' })).toThrow(/\[cartwright:client\] baseUrl/)
    expect(() => createStoreClient<Store>({ baseUrl: 'ftp://shop.example' })).toThrow(/\[cartwright:client\] baseUrl/)
  })

  it('refuses . and .. as a path parameter before sending anything (they would move the request and its token to another route)', async () => {
    const sent: string[] = []
    const client = createStoreClient<Store>({ baseUrl: 'https://shop.example/store', fetch: async (url) => (sent.push(String(url)), new Response('{}')) })
    for (const cartId of ['.', '..']) {
      await expect(client.call('GET /carts/:cartId', { params: { cartId }, cartToken: 'token' })).rejects.toThrow(/params\.cartId cannot be/)
    }
    expect(sent).toEqual([])
  })
})

describe('createStoreClient over HTTP (127.0.0.1, SQLite)', () => {
  let shop: Shop
  let server: ServerType
  let client: StoreClient<Store>
  let port: number

  beforeAll(async () => {
    shop = await openShop('sqlite')
    // The Store API mounted under a prefix in a host app, as a shop serves it.
    const host = new Hono().route('/store', shop.store)
    port = await new Promise<number>((resolve) => {
      server = serve({ fetch: host.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => resolve(info.port))
    })
    client = createStoreClient<Store>({ baseUrl: `http://127.0.0.1:${port}/store/` })
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    await shop?.close()
  })

  it('buys from cart to order: lines, a code, address, shipping, checkout with a key (its retry answers the same order), the order by its token, the buyer cancels', async () => {
    const cart = await client.call('POST /carts', { body: { currency: 'USD' } })
    expect(cart.accessToken).toEqual(expect.any(String))
    const mine = client.with({ cartToken: cart.accessToken! })
    const params = { cartId: cart.id }

    const added = await mine.call('POST /carts/:cartId/lines', { params, body: { variantId: shop.sock.variants[0]!.id, quantity: 2 } })
    expect(added.totals.subtotal).toBe(3000)
    await mine.call('PATCH /carts/:cartId/lines/:lineId', { params: { ...params, lineId: added.lines[0]!.id }, body: { quantity: 1 } })
    await mine.call('POST /carts/:cartId/lines', { params, body: { variantId: shop.shoe.variants[0]!.id, quantity: 1 } })
    const coded = await mine.call('POST /carts/:cartId/promotion-codes', { params, body: { code: 'TEN' } })
    expect(coded.codes).toEqual(['TEN'])
    await mine.call('PATCH /carts/:cartId', { params, body: { email: 'ada@example.com', shippingAddress: address } })
    const options = await mine.call('GET /carts/:cartId/shipping-options', { params })
    expect(options.map((o) => o.id).sort()).toEqual(['flat:standard', 'pickup:warehouse'])
    const ready = await mine.call('PUT /carts/:cartId/shipping-option', { params, body: { optionId: 'flat:standard' } })
    expect(ready.totals.total).toBe(1500 + 12900 - 1000 + SHIPPING)

    const checkout = { params, idempotencyKey: `client-${cart.id}`, body: { payment: { provider: 'gateway' } } }
    const placed = await mine.call('POST /carts/:cartId/checkout', checkout)
    if (placed.status !== 'placed') throw new Error(`expected an order, got ${placed.status}`)
    expect(placed.totals.total).toBe(ready.totals.total)
    const retried = await mine.call('POST /carts/:cartId/checkout', checkout)
    expect(retried.status === 'placed' && retried.id).toBe(placed.id)
    expect((await shop.commerce.orders.list({ limit: 100 })).items.filter((o) => o.cartId === cart.id)).toHaveLength(1)

    const viewed = await client.call('GET /orders/:orderId', { params: { orderId: placed.id }, orderToken: placed.accessToken! })
    expect(viewed.number).toBe(placed.number)
    const canceled = await client.call('POST /orders/:orderId/cancel', {
      params: { orderId: placed.id },
      orderToken: placed.accessToken!,
      idempotencyKey: `cancel-${placed.id}`,
      body: { reason: 'changed my mind' },
    })
    expect(canceled.status).toBe('canceled')
    expect((await shop.commerce.orders.get(placed.id)).status).toBe('canceled')
  })

  it('sends GET inputs as the query string, arrays as repeated names', async () => {
    const listed = await client.call('GET /products', { query: { tags: ['running'], currency: 'USD', maxPrice: 2000, facets: true } })
    expect(listed.items.map((hit) => hit.product.handle)).toEqual(['wool-sock'])
    const product = await client.call('GET /products/:handle', { params: { handle: 'trail-runner' } })
    expect(product.id).toBe(shop.shoe.id)
  })

  it('throws a StoreApiError with the status, code, message, details and request id of a 404', async () => {
    const other = await client.call('POST /carts', { body: { currency: 'USD' } })
    const error = await client
      .call('GET /carts/:cartId', { params: { cartId: other.id }, cartToken: 'ct_not-this-cart', headers: { 'x-request-id': 'client-test-404' } })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreApiError)
    expect(isStoreApiError(error, 'NOT_FOUND')).toBe(true)
    const { status, code, message, requestId, route } = error as StoreApiError
    expect({ status, code, requestId, route }).toEqual({ status: 404, code: 'NOT_FOUND', requestId: 'client-test-404', route: `GET /carts/${other.id}` })
    expect(message).toMatch(/not found/i)
  })

  it('throws a StoreApiError naming the field of a 400, and the cart is unchanged', async () => {
    const cart = await client.call('POST /carts', { body: { currency: 'USD' } })
    const mine = client.with({ cartToken: cart.accessToken! })
    const error = await mine
      .call('POST /carts/:cartId/lines', { params: { cartId: cart.id }, body: { variantId: shop.sock.variants[0]!.id, quantity: 0 } })
      .catch((e: unknown) => e)
    expect(isStoreApiError(error, 'VALIDATION')).toBe(true)
    const { status, details, requestId } = error as StoreApiError
    expect(status).toBe(400)
    expect(details.fields).toEqual(['quantity'])
    expect(requestId).toEqual(expect.any(String))
    expect((await shop.commerce.carts.get(cart.id)).lines).toEqual([])
  })

  it('throws HTTP_<status> for an answer that is not an error body (a wrong baseUrl)', async () => {
    const astray = createStoreClient<Store>({ baseUrl: `http://127.0.0.1:${port}/shop` })
    const error = await astray.call('GET /categories').catch((e: unknown) => e)
    expect(isStoreApiError(error, 'HTTP_404')).toBe(true)
    expect((error as StoreApiError).details.body).toBe('404 Not Found')
  })

  it("signs in with the customers plugin's routes and sends the session as a bearer token; without it, a 401", async () => {
    await client.call('POST /account/register', { body: { email: 'grace@example.com', password: 'correct horse battery staple', firstName: 'Grace' } })
    // The password works once the email is verified (the link a mailer would send).
    const grace = await shop.commerce.customers.findByEmail('grace@example.com')
    await client.call('POST /account/verify', { body: { token: await shop.commerce.customers.accounts.mintVerificationToken(grace!.id) } })
    const login = await client.call('POST /account/login', { body: { email: 'grace@example.com', password: 'correct horse battery staple' } })
    const signedIn = client.with({ session: login.sessionToken })
    expect((await signedIn.call('GET /account')).id).toBe(login.customer.id)
    const cart = await signedIn.call('POST /carts', { body: { currency: 'USD' } })
    expect((await shop.commerce.carts.get(cart.id)).customerId).toBe(login.customer.id)

    const error = await client.call('GET /account').catch((e: unknown) => e)
    expect(isStoreApiError(error, 'UNAUTHENTICATED') && error.status).toBe(401)
  })
})
