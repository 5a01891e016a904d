import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeApi } from '../src/index.js'
import { address, call, dump, openShop, STORAGES, type Shop } from './routes-support.js'

const PASSWORD = 'correct horse battery staple'

describe.each(STORAGES)('customers routes on %s', (storage) => {
  let shop: Shop
  let ada: { id: string; session: string; orders: string[] }
  let bob: { id: string; session: string; orders: string[] }
  const as = (who: { session: string }) => ({ authorization: `Bearer ${who.session}` })

  /** An order placed over the Store API by the signed-in customer. */
  async function orderAs(who: { session: string }): Promise<string> {
    const cart = await shop.readyCart(as(who))
    const placed = await call(shop.store, 'POST', `/carts/${cart.id}/checkout`, {
      body: { payment: { provider: 'gateway' } },
      headers: { ...as(who), 'idempotency-key': `order-${cart.id}` },
    })
    expect(placed.status).toBe(200)
    expect(placed.body.customerId).toEqual(expect.any(String))
    return placed.body.id
  }

  async function customer(email: string) {
    const session = await shop.signIn(email)
    const me = await call(shop.store, 'GET', '/account', { headers: { authorization: `Bearer ${session}` } })
    expect(me.status).toBe(200)
    return { id: me.body.id as string, session, orders: [] as string[] }
  }

  beforeAll(async () => {
    shop = await openShop(storage)
    ada = await customer(`ada-${storage}@example.com`)
    bob = await customer(`bob-${storage}@example.com`)
    ada.orders.push(await orderAs(ada))
    bob.orders.push(await orderAs(bob))
    ada.orders.push(await orderAs(ada))
    // A guest order never shows in anyone's history.
    await shop.placeOrder()
  })
  afterAll(() => shop?.close())

  describe('Store: order history', () => {
    it("lists the signed-in customer's orders only, newest first, a page at a time", async () => {
      const all = await call(shop.store, 'GET', '/account/orders', { headers: as(ada) })
      expect(all.status).toBe(200)
      expect(all.body.items.map((o: { id: string }) => o.id)).toEqual([...ada.orders].reverse())
      expect(all.body.nextCursor).toBeNull()
      const order = await shop.commerce.orders.get(ada.orders[0]!)
      const row = all.body.items.find((o: { id: string }) => o.id === order.id)
      expect(row).toMatchObject({ number: order.number, currency: 'USD', status: 'placed', totals: { total: order.totals.total } })
      expect(row.lines).toEqual([expect.objectContaining({ variantId: shop.shoe.variants[0]!.id, quantity: 1 })])

      const first = await call(shop.store, 'GET', '/account/orders?limit=1', { headers: as(ada) })
      expect(first.body.items.map((o: { id: string }) => o.id)).toEqual([ada.orders[1]])
      const second = await call(shop.store, 'GET', `/account/orders?limit=1&cursor=${first.body.nextCursor}`, { headers: as(ada) })
      expect(second.body.items.map((o: { id: string }) => o.id)).toEqual([ada.orders[0]])

      const theirs = await call(shop.store, 'GET', '/account/orders', { headers: as(bob) })
      expect(theirs.body.items.map((o: { id: string }) => o.id)).toEqual(bob.orders)
    })

    it("never shows one customer's orders to another: not in the history, and the order itself is 404", async () => {
      const seen = await call(shop.store, 'GET', '/account/orders?limit=100', { headers: as(bob) })
      expect(seen.body.items.some((o: { id: string }) => ada.orders.includes(o.id))).toBe(false)
      for (const id of ada.orders) {
        const read = await call(shop.store, 'GET', `/orders/${id}`, { headers: as(bob) })
        expect([read.status, read.body.code]).toEqual([404, 'NOT_FOUND'])
      }
      const cancel = await call(shop.store, 'POST', `/orders/${ada.orders[0]}/cancel`, { body: {}, headers: { ...as(bob), 'idempotency-key': `cancel-${ada.orders[0]}` } })
      expect([cancel.status, cancel.body.code]).toEqual([404, 'NOT_FOUND'])
      expect((await shop.commerce.orders.get(ada.orders[0]!)).status).toBe('placed')
      // Her own session opens it.
      expect((await call(shop.store, 'GET', `/orders/${ada.orders[0]}`, { headers: as(ada) })).status).toBe(200)
    })

    it('needs a session (401), and refuses a customerId, a bad limit or a forged cursor (400)', async () => {
      expect((await call(shop.store, 'GET', '/account/orders')).status).toBe(401)
      expect((await call(shop.store, 'GET', '/account/orders', { headers: { authorization: 'Bearer nobody' } })).status).toBe(401)
      for (const query of [`customerId=${ada.id}`, 'limit=0', 'limit=101', 'limit=ten', 'cursor=not-a-cursor']) {
        const answer = await call(shop.store, 'GET', `/account/orders?${query}`, { headers: as(bob) })
        expect([query, answer.status, answer.body.code]).toEqual([query, 400, 'VALIDATION'])
      }
    })
  })

  describe('Store: login', () => {
    /** The Store API as a client at one address sees it. */
    const from = (client: string) => storeApi(shop.commerce, { clientKey: () => client, logger: { error: () => undefined } })

    it("counts a failed login for the connection's address, and refuses a clientId sent in the body", async () => {
      const app = from(`198.51.100.${storage === 'sqlite' ? 20 : 21}`)
      const forged = await call(app, 'POST', '/account/login', { body: { email: `ada-${storage}@example.com`, password: 'not the password', clientId: 'someone-else' } })
      expect([forged.status, forged.body.code, JSON.stringify(forged.body.details)]).toEqual([400, 'VALIDATION', expect.stringContaining('clientId')])
      const wrong = await call(app, 'POST', '/account/login', { body: { email: `ada-${storage}@example.com`, password: 'not the password' } })
      expect([wrong.status, wrong.body.code]).toEqual([401, 'INVALID_CREDENTIALS'])
      const keys = (await shop.commerce.db.selectFrom('customers_attempts' as never).select('key' as never).execute()).map((r) => (r as { key: string }).key)
      expect(keys).toContain(`client:198.51.100.${storage === 'sqlite' ? 20 : 21}`)
      expect(keys).not.toContain('client:someone-else')
    })

    it("merges a guest cart at login only when the request carries that cart's token: its id alone, or with another cart's token, is 404 and moves nothing", async () => {
      const email = `dora-${storage}@example.com`
      await shop.commerce.customers.accounts.register({ email, password: PASSWORD })
      const dora = (await shop.commerce.customers.findByEmail(email))!
      const app = from('198.51.100.30')
      const guest = await shop.openCart()
      const other = await shop.openCart()
      expect((await call(shop.store, 'POST', `/carts/${guest.id}/lines`, { body: { variantId: shop.sock.variants[0]!.id, quantity: 2 }, headers: { 'x-cart-token': guest.token } })).status).toBe(200)
      for (const headers of [{}, { 'x-cart-token': other.token }, { 'x-cart-token': 'garbage' }] as Array<Record<string, string>>) {
        const refused = await call(app, 'POST', '/account/login', { body: { email, password: PASSWORD, guestCartId: guest.id }, headers })
        expect([refused.status, refused.body.code]).toEqual([404, 'NOT_FOUND'])
        expect((await shop.commerce.carts.get(guest.id)).customerId).toBeNull()
      }
      const merged = await call(app, 'POST', '/account/login', { body: { email, password: PASSWORD, guestCartId: guest.id }, headers: { 'x-cart-token': guest.token } })
      expect(merged.status).toBe(200)
      const cart = await shop.commerce.carts.get(guest.id)
      expect([cart.customerId, cart.lines.map((l) => l.quantity)]).toEqual([dora.id, [2]])
    })
  })

  describe('Store: sessions', () => {
    it('lists the signed-in customer\u2019s sessions without their tokens, and ends one of them', async () => {
      const second = await shop.commerce.customers.accounts.login({ email: `ada-${storage}@example.com`, password: PASSWORD, clientId: 'tests' })
      const listed = await call(shop.store, 'GET', '/account/sessions', { headers: as(ada) })
      expect(listed.status).toBe(200)
      expect(listed.body.map((s: { id: string }) => s.id)).toContain(second.session.id)
      expect(JSON.stringify(listed.body)).not.toContain(second.sessionToken)
      expect(JSON.stringify(listed.body)).not.toContain(ada.session)
      expect(Object.keys(listed.body[0]).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'revokedAt'])

      const ended = await call(shop.store, 'DELETE', `/account/sessions/${second.session.id}`, { headers: as(ada) })
      expect([ended.status, ended.body]).toEqual([200, { ok: true }])
      expect((await call(shop.store, 'GET', '/account', { headers: { authorization: `Bearer ${second.sessionToken}` } })).status).toBe(401)
      expect((await call(shop.store, 'GET', '/account', { headers: as(ada) })).status).toBe(200)
    })

    it("cannot see or end another customer's session (404, the session still open)", async () => {
      const theirs = await shop.commerce.customers.accounts.login({ email: `ada-${storage}@example.com`, password: PASSWORD, clientId: 'tests' })
      const bobs = await call(shop.store, 'GET', '/account/sessions', { headers: as(bob) })
      expect(bobs.body.map((s: { id: string }) => s.id)).not.toContain(theirs.session.id)
      const before = await dump(shop.commerce, storage)
      const attempt = await call(shop.store, 'DELETE', `/account/sessions/${theirs.session.id}`, { headers: as(bob) })
      expect([attempt.status, attempt.body.code]).toEqual([404, 'NOT_FOUND'])
      expect(await dump(shop.commerce, storage)).toEqual(before)
      expect((await call(shop.store, 'GET', '/account', { headers: { authorization: `Bearer ${theirs.sessionToken}` } })).status).toBe(200)
      expect((await call(shop.store, 'DELETE', `/account/sessions/${theirs.session.id}`)).status).toBe(401)
    })
  })

  describe('Store: profile and address book', () => {
    it('changes an address of the book and its defaults', async () => {
      const added = await call(shop.store, 'POST', '/account/addresses', { body: { address, label: 'Home' }, headers: as(ada) })
      const office = await call(shop.store, 'POST', '/account/addresses', { body: { address: { ...address, line1: '2 Office Row' }, label: 'Office' }, headers: as(ada) })
      expect(added.body.defaultBilling).toBe(true)
      const changed = await call(shop.store, 'PATCH', `/account/addresses/${office.body.id}`, { body: { label: 'Work', defaultBilling: true, address: { ...address, line1: '3 Work Lane' } }, headers: as(ada) })
      expect(changed.status).toBe(200)
      expect(changed.body).toMatchObject({ id: office.body.id, label: 'Work', defaultBilling: true, address: { line1: '3 Work Lane' } })
      const book = await shop.commerce.customers.addresses.list(ada.id)
      expect(book.find((a) => a.id === office.body.id)).toMatchObject({ label: 'Work', defaultBilling: true })
      expect(book.find((a) => a.id === added.body.id)).toMatchObject({ label: 'Home', defaultBilling: false })
    })

    it("cannot change another customer's address (404), nor send an owner or unknown fields (400), writing nothing", async () => {
      const mine = await call(shop.store, 'POST', '/account/addresses', { body: { address, label: 'Mine' }, headers: as(ada) })
      const before = await dump(shop.commerce, storage)
      const theirs = await call(shop.store, 'PATCH', `/account/addresses/${mine.body.id}`, { body: { label: 'Stolen' }, headers: as(bob) })
      expect([theirs.status, theirs.body.code]).toEqual([404, 'NOT_FOUND'])
      for (const body of [{ label: 'x', customerId: bob.id }, { label: 'x', status: 'default' }, { address: { ...address, customerId: bob.id } }, { label: 'x'.repeat(61) }]) {
        const answer = await call(shop.store, 'PATCH', `/account/addresses/${mine.body.id}`, { body, headers: as(ada) })
        expect([answer.status, answer.body.code]).toEqual([400, 'VALIDATION'])
      }
      expect(await dump(shop.commerce, storage)).toEqual(before)
    })

    it('changes the name and locale of the signed-in customer, and never their email, metadata or groups', async () => {
      const changed = await call(shop.store, 'PATCH', '/account', { body: { firstName: 'Augusta', locale: 'en-GB' }, headers: as(ada) })
      expect(changed.status).toBe(200)
      expect(changed.body).toMatchObject({ id: ada.id, firstName: 'Augusta', locale: 'en-GB' })
      expect((await shop.commerce.customers.get(ada.id)).firstName).toBe('Augusta')
      const before = await dump(shop.commerce, storage)
      for (const body of [{ email: 'mallory@example.com' }, { metadata: { vip: 'yes' } }, { groups: ['wholesale'] }, { customerId: bob.id, firstName: 'Bob' }, { locale: 'not a locale' }]) {
        const answer = await call(shop.store, 'PATCH', '/account', { body, headers: as(ada) })
        expect([JSON.stringify(body), answer.status, answer.body.code]).toEqual([JSON.stringify(body), 400, 'VALIDATION'])
      }
      expect(await dump(shop.commerce, storage)).toEqual(before)
    })

    it('changes the password given the current one: every session ends, the new password logs in', async () => {
      const email = `dave-${storage}@example.com`
      const dave = await customer(email)
      const before = await dump(shop.commerce, storage)
      const wrong = await call(shop.store, 'POST', '/account/password', { body: { currentPassword: 'not the password', newPassword: 'a brand new secret' }, headers: as(dave) })
      expect([wrong.status, wrong.body.code]).toEqual([401, 'INVALID_CREDENTIALS'])
      const short = await call(shop.store, 'POST', '/account/password', { body: { currentPassword: PASSWORD, newPassword: 'short' }, headers: as(dave) })
      expect([short.status, short.body.code]).toEqual([400, 'VALIDATION'])
      const forged = await call(shop.store, 'POST', '/account/password', { body: { currentPassword: PASSWORD, newPassword: 'a brand new secret', customerId: ada.id }, headers: as(dave) })
      expect(forged.status).toBe(400)
      expect(await dump(shop.commerce, storage)).toEqual(before)

      const changed = await call(shop.store, 'POST', '/account/password', { body: { currentPassword: PASSWORD, newPassword: 'a brand new secret' }, headers: as(dave) })
      expect([changed.status, changed.body]).toEqual([200, { ok: true }])
      expect((await call(shop.store, 'GET', '/account', { headers: as(dave) })).status).toBe(401)
      const login = await shop.commerce.customers.accounts.login({ email, password: 'a brand new secret', clientId: 'tests' })
      expect(login.customer.id).toBe(dave.id)
      // Ada's password and sessions are untouched.
      expect((await call(shop.store, 'GET', '/account', { headers: as(ada) })).status).toBe(200)
    })

    it('asks for the verification mail again', async () => {
      const due: string[] = []
      const off = shop.commerce.events.on('customers.verification_requested', ({ customerId }) => void due.push(customerId))
      const asked = await call(shop.store, 'POST', '/account/verify/request', { headers: as(bob) })
      off()
      expect([asked.status, asked.body]).toEqual([200, { ok: true }])
      expect(due).toEqual([bob.id])
      expect((await call(shop.store, 'POST', '/account/verify/request', { body: { customerId: ada.id }, headers: as(bob) })).status).toBe(400)
      expect((await call(shop.store, 'POST', '/account/verify/request')).status).toBe(401)
    })

    it('records marketing consent given from the account', async () => {
      const given = await call(shop.store, 'PUT', '/account/marketing-consent', { body: { granted: true }, headers: as(bob) })
      expect(given.status).toBe(200)
      expect(given.body.marketingConsent).toMatchObject({ granted: true, source: 'account' })
      const forged = await call(shop.store, 'PUT', '/account/marketing-consent', { body: { granted: true, source: 'staff' }, headers: as(bob) })
      expect(forged.status).toBe(400)
      expect(await shop.commerce.customers.consent.history(bob.id)).toEqual([expect.objectContaining({ granted: true, source: 'account' })])
    })
  })

  describe('Admin', () => {
    it('lists, finds by email, makes, reads and changes customers', async () => {
      const found = await call(shop.admin, 'GET', `/customers?email=${encodeURIComponent(`BOB-${storage}@example.com`)}`, { headers: shop.staff })
      expect(found.status).toBe(200)
      expect(found.body.items.map((c: { id: string }) => c.id)).toEqual([bob.id])
      const made = await call(shop.admin, 'POST', '/customers', { body: { email: `carol-${storage}@example.com`, firstName: 'Carol', metadata: { source: 'phone' } }, headers: shop.staff })
      expect(made.status).toBe(200)
      expect(made.body).toMatchObject({ email: `carol-${storage}@example.com`, hasAccount: false, metadata: { source: 'phone' } })
      const page = await call(shop.admin, 'GET', '/customers?limit=2', { headers: shop.staff })
      expect(page.body.items).toHaveLength(2)
      const ids: string[] = page.body.items.map((c: { id: string }) => c.id)
      for (let cursor = page.body.nextCursor; cursor; ) {
        const next = await call(shop.admin, 'GET', `/customers?limit=2&cursor=${cursor}`, { headers: shop.staff })
        expect(next.body.items.length).toBeLessThanOrEqual(2)
        ids.push(...next.body.items.map((c: { id: string }) => c.id))
        cursor = next.body.nextCursor
      }
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids).toEqual(expect.arrayContaining([ada.id, bob.id, made.body.id]))

      const search = async (query: string) =>
        (await call(shop.admin, 'GET', `/customers?query=${encodeURIComponent(query)}`, { headers: shop.staff })).body.items.map((c: { id: string }) => c.id)
      expect(await search(`ADA-${storage}`)).toEqual([ada.id])
      expect(await search('carol')).toEqual([made.body.id])
      // % and _ are text, not wildcards.
      expect(await search('%')).toEqual([])
      expect(await search('a_a')).toEqual([])

      const read = await call(shop.admin, 'GET', `/customers/${made.body.id}`, { headers: shop.staff })
      expect(read.body.firstName).toBe('Carol')
      const changed = await call(shop.admin, 'PATCH', `/customers/${made.body.id}`, { body: { lastName: 'King', email: `carol.king-${storage}@example.com` }, headers: shop.staff })
      expect(changed.status).toBe(200)
      expect(changed.body).toMatchObject({ lastName: 'King', email: `carol.king-${storage}@example.com`, emailVerified: false })
      expect(await search('Carol King')).toEqual([made.body.id])
      expect((await shop.commerce.customers.get(made.body.id)).lastName).toBe('King')
      const missing = await call(shop.admin, 'GET', '/customers/cus_00000000000000000000000000', { headers: shop.staff })
      expect([missing.status, missing.body.code]).toEqual([404, 'NOT_FOUND'])
    })

    it("reads a customer's addresses, orders and sessions, and ends a session", async () => {
      const addresses = await call(shop.admin, 'GET', `/customers/${ada.id}/addresses`, { headers: shop.staff })
      expect(addresses.body.length).toBeGreaterThan(0)
      expect(addresses.body.every((a: { customerId: string }) => a.customerId === ada.id)).toBe(true)
      const orders = await call(shop.admin, 'GET', `/customers/${bob.id}/orders`, { headers: shop.staff })
      expect(orders.body.items.map((o: { id: string }) => o.id)).toEqual(bob.orders)
      const extra = await shop.commerce.customers.accounts.login({ email: `bob-${storage}@example.com`, password: PASSWORD, clientId: 'tests' })
      const sessions = await call(shop.admin, 'GET', `/customers/${bob.id}/sessions`, { headers: shop.staff })
      expect(sessions.body.map((s: { id: string }) => s.id)).toContain(extra.session.id)
      // A session named under another customer is not found, and stays open.
      const wrong = await call(shop.admin, 'DELETE', `/customers/${ada.id}/sessions/${extra.session.id}`, { headers: shop.staff })
      expect(wrong.status).toBe(404)
      expect((await call(shop.store, 'GET', '/account', { headers: { authorization: `Bearer ${extra.sessionToken}` } })).status).toBe(200)
      const ended = await call(shop.admin, 'DELETE', `/customers/${bob.id}/sessions/${extra.session.id}`, { headers: shop.staff })
      expect(ended.status).toBe(200)
      expect((await call(shop.store, 'GET', '/account', { headers: { authorization: `Bearer ${extra.sessionToken}` } })).status).toBe(401)
    })

    it('adds notes signed by the staff member of the key, tags, groups, and reads the timeline and consent history', async () => {
      const note = await call(shop.admin, 'POST', `/customers/${bob.id}/notes`, { body: { body: 'Prefers phone calls' }, headers: shop.staff })
      expect(note.status).toBe(200)
      const owner = (await shop.commerce.http.staff.list()).find((s) => s.email === 'owner@example.com')!
      expect(note.body).toMatchObject({ customerId: bob.id, author: owner.id, body: 'Prefers phone calls' })
      const notes = await call(shop.admin, 'GET', `/customers/${bob.id}/notes`, { headers: shop.staff })
      expect(notes.body.map((n: { id: string }) => n.id)).toEqual([note.body.id])
      // The author is the key's, never the body's.
      expect((await call(shop.admin, 'POST', `/customers/${bob.id}/notes`, { body: { body: 'x', author: 'someone else' }, headers: shop.staff })).status).toBe(400)

      expect((await call(shop.admin, 'PUT', `/customers/${bob.id}/tags/vip`, { headers: shop.staff })).body.tags).toEqual(['vip'])
      const tagged = await call(shop.admin, 'GET', '/customers?tag=vip', { headers: shop.staff })
      expect(tagged.body.items.map((c: { id: string }) => c.id)).toEqual([bob.id])
      expect((await call(shop.admin, 'DELETE', `/customers/${bob.id}/tags/vip`, { headers: shop.staff })).body.tags).toEqual([])

      const group = await call(shop.admin, 'POST', '/customer-groups', { body: { code: 'wholesale', name: 'Wholesale' }, headers: shop.staff })
      expect(group.body).toMatchObject({ code: 'wholesale', name: 'Wholesale' })
      expect((await call(shop.admin, 'POST', '/customer-groups', { body: { code: 'wholesale', name: 'Again' }, headers: shop.staff })).status).toBe(409)
      expect((await call(shop.admin, 'GET', '/customer-groups', { headers: shop.staff })).body.map((g: { code: string }) => g.code)).toEqual(['wholesale'])
      expect((await call(shop.admin, 'PUT', `/customer-groups/wholesale/members/${ada.id}`, { headers: shop.staff })).body.groups).toEqual(['wholesale'])
      expect((await call(shop.admin, 'GET', '/customers?groupCode=wholesale', { headers: shop.staff })).body.items.map((c: { id: string }) => c.id)).toEqual([ada.id])
      expect((await call(shop.admin, 'DELETE', `/customer-groups/wholesale/members/${ada.id}`, { headers: shop.staff })).body.groups).toEqual([])
      expect((await call(shop.admin, 'PUT', `/customer-groups/retail/members/${ada.id}`, { headers: shop.staff })).status).toBe(404)

      const timeline = await call(shop.admin, 'GET', `/customers/${bob.id}/timeline`, { headers: shop.staff })
      expect(timeline.body.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(['registered', 'note']))
      const consent = await call(shop.admin, 'GET', `/customers/${bob.id}/marketing-consent`, { headers: shop.staff })
      expect(consent.body).toEqual([expect.objectContaining({ granted: true, source: 'account' })])
    })

    it('needs the scope: a customers:read key reads but cannot change (403), nothing written', async () => {
      const member = await shop.commerce.http.staff.create({ email: `reader-${storage}@example.com`, name: 'Reader' })
      const { secret } = await shop.commerce.http.apiKeys.create({ staffId: member.id, name: 'read only', scopes: ['customers:read'] })
      const reader = { authorization: `Bearer ${secret}` }
      expect((await call(shop.admin, 'GET', `/customers/${ada.id}`, { headers: reader })).status).toBe(200)
      const before = await dump(shop.commerce, storage)
      const refused = [
        await call(shop.admin, 'PATCH', `/customers/${ada.id}`, { body: { firstName: 'Eve' }, headers: reader }),
        await call(shop.admin, 'POST', `/customers/${ada.id}/notes`, { body: { body: 'hi' }, headers: reader }),
        await call(shop.admin, 'GET', `/customers/${ada.id}/orders`, { headers: reader }),
        await call(shop.admin, 'GET', `/customers/${ada.id}`),
      ]
      expect(refused.map((a) => a.status)).toEqual([403, 403, 403, 401])
      expect(await dump(shop.commerce, storage)).toEqual(before)
    })

    it('refuses bad input with 400 naming the field, writing nothing', async () => {
      const before = await dump(shop.commerce, storage)
      const bad = [
        { method: 'POST', path: '/customers', body: { email: 'not an email' } },
        { method: 'POST', path: '/customers', body: { email: `dan-${storage}@example.com`, hasAccount: true } },
        { method: 'PATCH', path: `/customers/${ada.id}`, body: { phone: 'call me maybe' } },
        { method: 'PATCH', path: `/customers/${ada.id}`, body: { emailVerified: true } },
        { method: 'PUT', path: `/customers/${ada.id}/tags/${encodeURIComponent('<script>')}` },
        { method: 'POST', path: '/customer-groups', body: { code: 'Not A Code', name: 'x' } },
        { method: 'GET', path: '/customers?limit=1000' },
      ]
      for (const request of bad) {
        const answer = await call(shop.admin, request.method, request.path, { ...(request.body ? { body: request.body } : {}), headers: shop.staff })
        expect([request.path, answer.status, answer.body.code]).toEqual([request.path, 400, 'VALIDATION'])
        expect(answer.body.details.fields.length).toBeGreaterThan(0)
      }
      expect((await call(shop.admin, 'POST', '/customers', { body: { email: `ADA-${storage}@example.com` }, headers: shop.staff })).status).toBe(409)
      expect(await dump(shop.commerce, storage)).toEqual(before)
    })
  })
})
