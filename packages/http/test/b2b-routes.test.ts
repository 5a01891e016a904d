import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { b2b, type B2bService } from '@cartwright/b2b'
import { adminApi, storeApi } from '../src/index.js'
import { call, dump } from './routes-support.js'
import { openShop, signIn, STORAGES } from './support.js'

type Shop = Awaited<ReturnType<typeof openShop>>
const HOUR = 3600_000

describe.each(STORAGES)('b2b staff routes on %s', (storage) => {
  let shop: Shop
  let service: B2bService
  let admin: ReturnType<typeof adminApi>
  let store: ReturnType<typeof storeApi>
  let staff: Record<string, string>
  let reader: Record<string, string>
  let buyer: { customerId: string; sessionToken: string }
  let approver: { customerId: string; sessionToken: string }
  let companyId: string
  // The engine's clock: the system's, moved forward by tests.
  let offset = 0
  const snapshot = () => dump(shop.commerce as never, storage)

  beforeAll(async () => {
    shop = await openShop(storage, { plugins: [b2b()], now: () => new Date(Date.now() + offset) })
    service = (shop.commerce as unknown as { b2b: B2bService }).b2b
    const options = { validateOutput: true, logger: { error: () => undefined } }
    admin = adminApi(shop.commerce, options)
    store = storeApi(shop.commerce, options)
    const owner = await shop.commerce.http.staff.create({ email: 'owner@example.com', name: 'Owner' })
    staff = { authorization: `Bearer ${(await shop.commerce.http.apiKeys.create({ staffId: owner.id, name: 'all', scopes: ['*'] })).secret}` }
    reader = { authorization: `Bearer ${(await shop.commerce.http.apiKeys.create({ staffId: owner.id, name: 'read', scopes: ['b2b:read'] })).secret}` }
    buyer = await signIn(shop.commerce, 'buyer@example.com')
    approver = await signIn(shop.commerce, 'approver@example.com')
    companyId = (await service.createCompany({ name: 'Acme', currency: 'USD' })).id
    await service.addMember({ companyId, customerId: buyer.customerId, role: 'buyer', spendingLimit: 1000 })
    await service.addMember({ companyId, customerId: approver.customerId, role: 'approver' })
  })
  afterAll(() => shop?.close())

  async function buyersCart(): Promise<string> {
    const cart = await shop.commerce.carts.create({ currency: 'USD', customerId: buyer.customerId })
    await shop.commerce.carts.addItem(cart.id, { variantId: shop.variantId, quantity: 2 })
    return cart.id
  }

  it("shows staff a cart's approval request, before and after the company decides", async () => {
    const cartId = await buyersCart()
    const none = await call(admin, 'GET', `/b2b/carts/${cartId}/approval`, { headers: staff })
    expect([none.status, none.body]).toEqual([200, null])

    const requested = await call(store, 'POST', `/b2b/carts/${cartId}/approval`, { headers: { authorization: `Bearer ${buyer.sessionToken}` } })
    expect(requested.status).toBe(200)
    const pending = await call(admin, 'GET', `/b2b/carts/${cartId}/approval`, { headers: reader })
    expect(pending.status).toBe(200)
    expect(pending.body).toMatchObject({ id: requested.body.id, cartId, companyId, buyerId: buyer.customerId, total: 3000, currency: 'USD', status: 'pending', decidedBy: null })

    const approved = await call(store, 'POST', `/b2b/approvals/${requested.body.id}/approve`, { body: {}, headers: { authorization: `Bearer ${approver.sessionToken}` } })
    expect(approved.status).toBe(200)
    const decided = await call(admin, 'GET', `/b2b/carts/${cartId}/approval`, { headers: reader })
    expect(decided.body).toMatchObject({ id: requested.body.id, status: 'approved', decidedBy: approver.customerId })
  })

  it('answers 404 for an unknown cart, and reads a customer\u2019s membership (null for none)', async () => {
    const missing = await call(admin, 'GET', '/b2b/carts/cart_00000000000000000000000000/approval', { headers: staff })
    expect([missing.status, missing.body.code]).toEqual([404, 'NOT_FOUND'])
    const member = await call(admin, 'GET', `/b2b/members/${buyer.customerId}`, { headers: reader })
    expect(member.body).toEqual({ companyId, customerId: buyer.customerId, role: 'buyer', spendingLimit: 1000 })
    const stranger = await signIn(shop.commerce, `stranger-${storage}@example.com`)
    const none = await call(admin, 'GET', `/b2b/members/${stranger.customerId}`, { headers: reader })
    expect([none.status, none.body]).toEqual([200, null])
  })

  it('reads a quote in any state, and expires the quotes past their expiry', async () => {
    const created = await call(admin, 'POST', '/b2b/quotes', {
      body: { companyId, buyerId: buyer.customerId, currency: 'USD', expiresAt: new Date(Date.now() + offset + HOUR).toISOString(), lines: [{ variantId: shop.variantId, quantity: 10, unitPrice: 1200 }] },
      headers: staff,
    })
    expect(created.status).toBe(200)
    const draft = await call(admin, 'GET', `/b2b/quotes/${created.body.id}`, { headers: reader })
    expect(draft.body).toMatchObject({ id: created.body.id, status: 'draft', lines: [{ variantId: shop.variantId, quantity: 10, unitPrice: 1200 }] })
    expect((await call(admin, 'POST', `/b2b/quotes/${created.body.id}/send`, { headers: staff })).body.status).toBe('sent')

    const early = await call(admin, 'POST', '/b2b/quotes/expire', { headers: staff })
    expect(early.body).toEqual({ expired: 0 })
    offset += 2 * HOUR
    const late = await call(admin, 'POST', '/b2b/quotes/expire', { headers: staff })
    expect(late.body).toEqual({ expired: 1 })
    expect((await call(admin, 'GET', `/b2b/quotes/${created.body.id}`, { headers: reader })).body.status).toBe('expired')
    expect((await service.getQuote(created.body.id)).status).toBe('expired')
    const missing = await call(admin, 'GET', '/b2b/quotes/quo_00000000000000000000000000', { headers: reader })
    expect(missing.status).toBe(404)
  })

  it('refuses bad input (400) and a key without the scope (403), writing nothing', async () => {
    const cartId = await buyersCart()
    const before = await snapshot()
    const bad = [
      { method: 'GET', path: `/b2b/carts/${cartId}/approval?status=approved` },
      { method: 'POST', path: '/b2b/quotes/expire', body: { before: '2099-01-01T00:00:00Z' } },
      { method: 'GET', path: `/b2b/members/${'x'.repeat(101)}` },
      { method: 'GET', path: `/b2b/quotes/${'q'.repeat(101)}` },
    ]
    for (const request of bad) {
      const answer = await call(admin, request.method, request.path, { ...(request.body ? { body: request.body } : {}), headers: staff })
      expect([request.path, answer.status, answer.body.code]).toEqual([request.path, 400, 'VALIDATION'])
    }
    const forbidden = await call(admin, 'POST', '/b2b/quotes/expire', { headers: reader })
    expect([forbidden.status, forbidden.body.code]).toEqual([403, 'FORBIDDEN'])
    // Staff decide nothing: approving stays with the company's approvers, on the Store API.
    const approve = await call(admin, 'POST', `/b2b/approvals/apr_00000000000000000000000000/approve`, { body: {}, headers: staff })
    expect(approve.status).toBe(404)
    expect(await snapshot()).toEqual(before)
  })
})

describe.each(STORAGES)('b2b Store lists on %s', (storage) => {
  let shop: Shop
  let service: B2bService
  let store: ReturnType<typeof storeApi>
  let buyer: { customerId: string; sessionToken: string }
  let colleague: { customerId: string; sessionToken: string }
  let approver: { customerId: string; sessionToken: string }
  let rival: { customerId: string; sessionToken: string }
  let acme: string
  let globex: string
  const as = (who: { sessionToken: string }) => ({ headers: { authorization: `Bearer ${who.sessionToken}` } })

  beforeAll(async () => {
    shop = await openShop(storage, { plugins: [b2b()] })
    service = (shop.commerce as unknown as { b2b: B2bService }).b2b
    store = storeApi(shop.commerce, { validateOutput: true, logger: { error: () => undefined } })
    buyer = await signIn(shop.commerce, 'buyer@acme.example')
    colleague = await signIn(shop.commerce, 'colleague@acme.example')
    approver = await signIn(shop.commerce, 'approver@acme.example')
    rival = await signIn(shop.commerce, 'approver@globex.example')
    acme = (await service.createCompany({ name: 'Acme', currency: 'USD' })).id
    globex = (await service.createCompany({ name: 'Globex', currency: 'USD' })).id
    await service.addMember({ companyId: acme, customerId: buyer.customerId, role: 'buyer', spendingLimit: 1000 })
    await service.addMember({ companyId: acme, customerId: colleague.customerId, role: 'buyer', spendingLimit: 1000 })
    await service.addMember({ companyId: acme, customerId: approver.customerId, role: 'approver' })
    await service.addMember({ companyId: globex, customerId: rival.customerId, role: 'admin' })
  })
  afterAll(() => shop?.close())

  async function request(who: { customerId: string }): Promise<string> {
    const cart = await shop.commerce.carts.create({ currency: 'USD', customerId: who.customerId })
    await shop.commerce.carts.addItem(cart.id, { variantId: shop.variantId, quantity: 2 })
    return (await service.requestApproval(cart.id)).id
  }

  it("lists a buyer's own approval requests, the company's to an approver, none to another company's member or to no one signed in", async () => {
    const mine = await request(buyer)
    const theirs = await request(colleague)

    const own = await call(store, 'GET', '/b2b/approvals', as(buyer))
    expect(own.status).toBe(200)
    expect(own.body).toEqual([expect.objectContaining({ id: mine, companyId: acme, buyerId: buyer.customerId, buyerEmail: 'buyer@acme.example', total: 3000, currency: 'USD', status: 'pending' })])

    const company = await call(store, 'GET', '/b2b/approvals', as(approver))
    expect(company.body.map((a: { id: string }) => a.id).sort()).toEqual([mine, theirs].sort())
    expect(company.body.find((a: { id: string }) => a.id === theirs).buyerEmail).toBe('colleague@acme.example')

    const rivals = await call(store, 'GET', '/b2b/approvals', as(rival))
    expect([rivals.status, rivals.body]).toEqual([200, []])
    const stranger = await signIn(shop.commerce, `stranger-${storage}@example.com`)
    expect((await call(store, 'GET', '/b2b/approvals', as(stranger))).body).toEqual([])

    const anonymous = await call(store, 'GET', '/b2b/approvals')
    expect(anonymous.status).toBe(401)
    expect(JSON.stringify(anonymous.body)).not.toContain(mine)
  })

  it('lists the quotes sent to the signed-in buyer with their lines, never drafts, never to anyone else', async () => {
    const expiresAt = new Date(Date.now() + 3600_000).toISOString()
    const lines = [{ variantId: shop.variantId, quantity: 10, unitPrice: 1200 }]
    const sent = await service.createQuote({ companyId: acme, buyerId: buyer.customerId, currency: 'USD', expiresAt, lines })
    await service.sendQuote(sent.id)
    const draft = await service.createQuote({ companyId: acme, buyerId: buyer.customerId, currency: 'USD', expiresAt, lines })

    const own = await call(store, 'GET', '/b2b/quotes', as(buyer))
    expect(own.status).toBe(200)
    expect(own.body).toEqual([{ id: sent.id, companyId: acme, buyerId: buyer.customerId, currency: 'USD', status: 'sent', expiresAt, cartId: null, orderId: null, lines }])
    expect(JSON.stringify(own.body)).not.toContain(draft.id)

    for (const other of [colleague, approver, rival]) {
      const answer = await call(store, 'GET', '/b2b/quotes', as(other))
      expect([answer.status, answer.body]).toEqual([200, []])
    }
    expect((await call(store, 'GET', '/b2b/quotes')).status).toBe(401)
  })

  it('refuses a query string it does not know (400)', async () => {
    for (const path of ['/b2b/approvals?companyId=x', '/b2b/quotes?buyerId=x']) {
      const answer = await call(store, 'GET', path, as(buyer))
      expect([path, answer.status, answer.body.code]).toEqual([path, 400, 'VALIDATION'])
    }
  })
})
