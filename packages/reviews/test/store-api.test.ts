import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Plugin } from '@cartwright/core'
import { customers, type CustomersService } from '@cartwright/customers'
// The HTTP layer from its source: @cartwright/http already depends on this package for its own
// tests, so it is not declared here (a dependency cycle in the workspace).
import { http, storeApi, type HttpCommerce } from '../../http/src/index.js'
import { openShop, STORAGES, type ReviewShop } from './support.js'

const PASSWORD = 'correct horse battery staple'

describe.each(STORAGES)('reviews over the Store API on %s', (storage) => {
  let shop: ReviewShop
  let store: ReturnType<typeof storeApi>
  beforeEach(async () => {
    // Typed as plain plugins: the shop's engine type is the reviews plugin's alone (see openShop).
    shop = await openShop(storage, {}, [customers({ hashing: { memoryCost: 1024, timeCost: 1 } }), http()] as unknown as Plugin[])
    store = storeApi(shop.commerce as unknown as HttpCommerce, { validateOutput: true, logger: { error: () => undefined } })
  })
  afterEach(() => shop.close())

  const accounts = () => (shop.commerce as unknown as { customers: CustomersService }).customers.accounts

  /** A customer's session token, after registering (and verifying the email when `verified`). */
  async function signIn(email: string, verified: boolean): Promise<string> {
    const customer = await accounts().register({ email, password: PASSWORD })
    if (verified) await accounts().verifyEmail({ token: await accounts().mintVerificationToken(customer.id) })
    return (await accounts().login({ email, password: PASSWORD, clientId: 'tests' })).sessionToken
  }

  /** `POST /store/products/:productId/reviews`, with a session when given. */
  async function post(productId: string, body: Record<string, unknown>, session?: string): Promise<{ status: number; body: any }> {
    const response = await store.request(`http://shop.test/products/${productId}/reviews`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(session ? { authorization: `Bearer ${session}` } : {}) },
      body: JSON.stringify({ rating: 5, body: 'Great.', ...body }),
    })
    return { status: response.status, body: await response.json() }
  }

  const stored = async (id: string) => (await shop.tables()).reviews.find((r) => r.id === id)

  it("an anonymous review with a buyer's email is not a verified buyer's", async () => {
    await shop.buy('ada@example.com', shop.shoe)
    const answer = await post(shop.shoe.id, { email: 'Ada@Example.com' })
    expect(answer.status).toBe(200)
    expect(answer.body.verifiedBuyer).toBe(false)
    expect(await stored(answer.body.id)).toMatchObject({ email: 'Ada@Example.com', email_verified: 0, verified_buyer: 0 })
    // The email is required without a session.
    const missing = await post(shop.shoe.id, {})
    expect([missing.status, missing.body.code, missing.body.details.fields]).toEqual([400, 'VALIDATION', ['email']])
  })

  it('an anonymous review is not upgraded when its typed email later buys the product', async () => {
    const answer = await post(shop.shoe.id, { email: 'ada@example.com' })
    await shop.buy('ada@example.com', shop.shoe)
    expect(await stored(answer.body.id)).toMatchObject({ email_verified: 0, verified_buyer: 0 })
    expect((await shop.commerce.reviews.get(answer.body.id)).verifiedBuyer).toBe(false)
  })

  it("a signed-in customer with a verified email who bought is a verified buyer, under the account's email", async () => {
    const session = await signIn('ada@example.com', true)
    await shop.buy('ADA@example.com', shop.shoe)
    const answer = await post(shop.shoe.id, {}, session)
    expect([answer.status, answer.body.verifiedBuyer]).toEqual([200, true])
    expect(await stored(answer.body.id)).toMatchObject({ email: 'ada@example.com', email_verified: 1, verified_buyer: 1 })
    // The same account typing its own email, in another case: still the account's review.
    expect((await post(shop.shoe.id, { email: ' ADA@example.com ' }, session)).body.verifiedBuyer).toBe(true)

    // Typing someone else's email (a buyer's) makes it a contact address: not verified.
    await shop.buy('grace@example.com', shop.shoe)
    const typed = await post(shop.shoe.id, { email: 'grace@example.com' }, session)
    expect(typed.body.verifiedBuyer).toBe(false)
    expect(await stored(typed.body.id)).toMatchObject({ email: 'grace@example.com', email_verified: 0, verified_buyer: 0 })

    // A review of a product not yet bought is upgraded when the account's email buys it.
    const early = await post(shop.sock.id, {}, session)
    expect(early.body.verifiedBuyer).toBe(false)
    await shop.buy('ada@example.com', shop.sock)
    expect(await stored(early.body.id)).toMatchObject({ email_verified: 1, verified_buyer: 1 })
  })

  it('a signed-in customer whose email is not verified is not a verified buyer, nor after another order', async () => {
    const session = await signIn('ada@example.com', false)
    await shop.buy('ada@example.com', shop.shoe)
    const answer = await post(shop.shoe.id, {}, session)
    expect([answer.status, answer.body.verifiedBuyer]).toEqual([200, false])
    await shop.buy('ada@example.com', shop.shoe)
    expect(await stored(answer.body.id)).toMatchObject({ email: 'ada@example.com', email_verified: 0, verified_buyer: 0 })
  })
})
