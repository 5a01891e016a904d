import { afterEach, describe, expect, it } from 'vitest'
import { address, findings, openShop, rejection, STORAGES, type CustomerShop } from './support.js'

const PASSWORD = 'correct horse battery'

describe.each(STORAGES)('customers on %s', (storage) => {
  let shop: CustomerShop
  afterEach(async () => {
    await shop?.close()
  })

  it('register → verify → login → cart → checkout: the order is in the history, and so is the guest order of the same email', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    // A guest checks out first, with the email in another case.
    const guestCart = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(guestCart.id, { variantId: shop.variant(shop.b), quantity: 1 })
    const guestOrder = await shop.checkout(guestCart.id, 'Ada.Lovelace@Example.com')

    const ada = await commerce.customers.accounts.register({ email: 'ada.lovelace@example.com', password: PASSWORD, firstName: 'Ada' })
    expect(ada.emailVerified).toBe(false)
    expect(JSON.stringify(ada)).not.toContain('argon2')
    // Not attached before the email is proven.
    expect((await commerce.orders.list({ customerId: ada.id })).items).toEqual([])

    const token = await commerce.customers.accounts.mintVerificationToken(ada.id)
    const verified = await commerce.customers.accounts.verifyEmail({ token })
    expect(verified.emailVerified).toBe(true)
    expect((await commerce.orders.list({ customerId: ada.id })).items.map((o) => o.id)).toEqual([guestOrder.id])

    const login = await commerce.customers.accounts.login({ email: 'ADA.lovelace@example.com', password: PASSWORD, clientId: '203.0.113.7' })
    expect((await commerce.customers.accounts.authenticate(login.sessionToken)).id).toBe(ada.id)
    const cart = await commerce.carts.create({ currency: 'USD', customerId: ada.id })
    await commerce.carts.addItem(cart.id, { variantId: shop.variant(shop.c), quantity: 2 })
    const order = await shop.checkout(cart.id, ada.email)
    expect(order.customerId).toBe(ada.id)

    const history = (await commerce.orders.list({ customerId: ada.id })).items.map((o) => o.id).sort()
    expect(history).toEqual([guestOrder.id, order.id].sort())
    await commerce.outbox.drain({ timeoutMs: 5_000 })
    const timeline = await commerce.customers.timeline(ada.id)
    expect(timeline.filter((e) => e.kind === 'order_placed').map((e) => e.refId)).toEqual([order.id])
    expect(timeline.filter((e) => e.kind === 'orders_attached').map((e) => e.refId)).toEqual([guestOrder.id])

    // Sessions are listed and revoked.
    const [session] = await commerce.customers.accounts.listSessions(ada.id)
    expect(session!.id).toBe(login.session.id)
    await commerce.customers.accounts.revokeSession(ada.id, session!.id)
    expect((await rejection(commerce.customers.accounts.authenticate(login.sessionToken))).code).toBe('SESSION_INVALID')
  })

  it('reset tokens are single-use, expire, are voided by a newer one, and only their hash is stored', async () => {
    shop = await openShop(storage, { hashing: { memoryCost: 1024, timeCost: 1 }, resetTtlMs: 200 })
    const { commerce } = shop
    const ada = await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    await commerce.customers.accounts.requestPasswordReset({ email: 'ada@example.com' })

    const first = await commerce.customers.accounts.mintResetToken(ada.id)
    const second = await commerce.customers.accounts.mintResetToken(ada.id)
    // A re-sent mail voids the earlier link.
    expect((await rejection(commerce.customers.accounts.resetPassword({ token: first, password: 'a brand new secret' }))).code).toBe('TOKEN_INVALID')

    // Hash only: no table (the outbox included) holds a raw token.
    const verify = await commerce.customers.accounts.mintVerificationToken(ada.id)
    const rows = await shop.allRows()
    expect(findings(rows, [first, second, verify])).toEqual([])
    expect(rows.customers_tokens!.length).toBe(2)

    await commerce.customers.accounts.resetPassword({ token: second, password: 'a brand new secret' })
    // Used twice: the second fails.
    expect((await rejection(commerce.customers.accounts.resetPassword({ token: second, password: 'yet another secret' }))).code).toBe('TOKEN_INVALID')
    await commerce.customers.accounts.login({ email: 'ada@example.com', password: 'a brand new secret', clientId: 'c1' })

    // Expired: fails.
    const late = await commerce.customers.accounts.mintResetToken(ada.id)
    await new Promise((r) => setTimeout(r, 300))
    expect((await rejection(commerce.customers.accounts.resetPassword({ token: late, password: 'too late a secret' }))).code).toBe('TOKEN_INVALID')
    await commerce.customers.accounts.login({ email: 'ada@example.com', password: 'a brand new secret', clientId: 'c1' })
  })

  it('20 wrong passwords in a row lock the account, with the answer of a wrong password; an unknown email gets the same answer', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const wrong = await rejection(commerce.customers.accounts.login({ email: 'ada@example.com', password: 'nope', clientId: 'c0' }))
    const unknown = await rejection(commerce.customers.accounts.login({ email: 'nobody@example.com', password: 'nope', clientId: 'c0' }))
    expect(unknown).toEqual(wrong)
    expect(wrong.code).toBe('INVALID_CREDENTIALS')
    // 19 more from several clients: 20 in a row for the account.
    for (let i = 1; i < 20; i++) await rejection(commerce.customers.accounts.login({ email: 'ada@example.com', password: `nope ${i}`, clientId: `c${i % 3}` }))
    const locked = await rejection(commerce.customers.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'fresh-client' }))
    expect(locked).toEqual(wrong)
    const { rows } = await import('kysely').then(({ sql }) => sql<{ failures: number }>`select failures from customers_attempts where key like 'account:%'`.execute(commerce.db))
    expect(Number(rows[0]!.failures)).toBe(20)
  })

  it('failures from one client across accounts lock that client only', async () => {
    shop = await openShop(storage, { hashing: { memoryCost: 1024, timeCost: 1 }, maxClientFailures: 5 })
    const { commerce } = shop
    await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const wrong = await rejection(commerce.customers.accounts.login({ email: 'ada@example.com', password: 'nope', clientId: '198.51.100.9' }))
    // Guessing across accounts, known or not: the client's count goes on.
    for (let i = 0; i < 4; i++) await rejection(commerce.customers.accounts.login({ email: `someone${i}@example.com`, password: 'nope', clientId: '198.51.100.9' }))
    expect(await rejection(commerce.customers.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: '198.51.100.9' }))).toEqual(wrong)
    // Another client is let in: the account has 1 failure, far from its limit.
    await commerce.customers.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: '203.0.113.7' })
  })

  it('a verification link mailed to the old email does not verify a new one', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const guest = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.b), quantity: 1 })
    const victimOrder = await shop.checkout(guest.id, 'victim@example.com')
    const mallory = await commerce.customers.accounts.register({ email: 'mallory@example.com', password: PASSWORD })
    const token = await commerce.customers.accounts.mintVerificationToken(mallory.id)
    await commerce.customers.update(mallory.id, { email: 'victim@example.com' })
    expect((await rejection(commerce.customers.accounts.verifyEmail({ token }))).code).toBe('TOKEN_INVALID')
    expect((await commerce.orders.get(victimOrder.id)).customerId).toBeNull()
  })

  it('two registrations of one email at once: one account, the other EMAIL_TAKEN', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const results = await Promise.allSettled([
      commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD }),
      commerce.customers.accounts.register({ email: 'ADA@example.com', password: PASSWORD }),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(failed.reason.code).toBe('EMAIL_TAKEN')
    expect((await commerce.customers.list()).items).toHaveLength(1)
  })

  it('19 wrong passwords then the right one let the customer in and start the count again', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    for (let i = 0; i < 19; i++) await rejection(commerce.customers.accounts.login({ email: 'ada@example.com', password: 'nope', clientId: 'c' }))
    await commerce.customers.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'c' })
    for (let i = 0; i < 19; i++) await rejection(commerce.customers.accounts.login({ email: 'ada@example.com', password: 'nope', clientId: 'c' }))
    await commerce.customers.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'c' })
  })

  it('merges a guest cart {A×2, B×1} into the customer cart {A×1, C×1} with A capped by stock, at the group prices', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.customers.groups.create({ code: 'wholesale', name: 'Wholesale' })
    const ada = await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    await commerce.customers.groups.addMember('wholesale', ada.id)
    const own = await commerce.carts.create({ currency: 'USD', customerId: ada.id })
    await commerce.carts.addItem(own.id, { variantId: shop.variant(shop.a), quantity: 1 })
    await commerce.carts.addItem(own.id, { variantId: shop.variant(shop.c), quantity: 1 })
    const guest = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.a), quantity: 2 })
    const guestPriced = await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.b), quantity: 1 })
    expect(guestPriced.lines.find((l) => l.variantId === shop.variant(shop.b))!.unitPrice).toBe(1000)

    const { merge } = await commerce.customers.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'c', guestCartId: guest.id })
    const quantities = Object.fromEntries(merge!.cart.lines.map((l) => [l.variantId, l.quantity]))
    expect(quantities).toEqual({ [shop.variant(shop.a)]: 2, [shop.variant(shop.b)]: 1, [shop.variant(shop.c)]: 1 })
    expect(merge!.caps).toEqual([{ variantId: shop.variant(shop.a), requested: 3, quantity: 2, reason: 'stock' }])
    expect(merge!.cart.id).toBe(own.id)
    expect(merge!.cart.customerId).toBe(ada.id)
    // The customer's group prices every line of the merged cart, the guest's too.
    expect(merge!.cart.lines.map((l) => l.unitPrice)).toEqual([800, 800, 800])
    expect((await commerce.carts.get(guest.id)).lines).toEqual([])
  })

  it('caps a merged line at the line limit, and reports it', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.inventory.setStock({ variantId: shop.variant(shop.b), locationId: shop.location.id, onHand: 20_000 })
    const ada = await commerce.customers.create({ email: 'ada@example.com' })
    const own = await commerce.carts.create({ currency: 'USD', customerId: ada.id })
    await commerce.carts.addItem(own.id, { variantId: shop.variant(shop.b), quantity: 6_000 })
    const guest = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.b), quantity: 6_000 })
    const { cart, caps } = await commerce.customers.mergeCarts({ customerId: ada.id, guestCartId: guest.id })
    expect(cart.lines.map((l) => l.quantity)).toEqual([10_000])
    expect(caps).toEqual([{ variantId: shop.variant(shop.b), requested: 12_000, quantity: 10_000, reason: 'line_limit' }])
  })

  it('a token used twice at once is used once', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const ada = await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const token = await commerce.customers.accounts.mintResetToken(ada.id)
    const results = await Promise.allSettled([
      commerce.customers.accounts.resetPassword({ token, password: 'first new secret' }),
      commerce.customers.accounts.resetPassword({ token, password: 'second new secret' }),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    expect(((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as { code: string }).code).toBe('TOKEN_INVALID')
  })

  it('the timeline records notes, consent, emails sent, merges and privacy exports, without the notes’ text', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const ada = await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    await commerce.customers.accounts.mintVerificationToken(ada.id)
    await commerce.customers.notes.add(ada.id, { body: 'Private remark', author: 'sam' })
    await commerce.customers.consent.set(ada.id, { granted: true, source: 'checkout' })
    await commerce.customers.consent.set(ada.id, { granted: false, source: 'account' })
    const guest = await commerce.carts.create({ currency: 'USD' })
    await commerce.customers.mergeCarts({ customerId: ada.id, guestCartId: guest.id })
    await commerce.privacy.export({ customerId: ada.id })
    const timeline = await commerce.customers.timeline(ada.id)
    expect(timeline.map((e) => e.kind)).toEqual(['registered', 'email_sent', 'note', 'consent', 'consent', 'carts_merged', 'privacy_export'])
    expect(JSON.stringify(timeline)).not.toContain('Private remark')
    const me = await commerce.customers.get(ada.id)
    expect(me.marketingConsent).toMatchObject({ granted: false, source: 'account' })
    expect((await commerce.customers.consent.history(ada.id)).map((c) => c.granted)).toEqual([true, false])
  })

  it('a guest cart becomes the customer’s when they have none, priced for them', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.customers.groups.create({ code: 'wholesale', name: 'Wholesale' })
    const ada = await commerce.customers.create({ email: 'ada@example.com' })
    await commerce.customers.groups.addMember('wholesale', ada.id)
    const guest = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.b), quantity: 3 })
    const { cart, caps } = await commerce.customers.mergeCarts({ customerId: ada.id, guestCartId: guest.id })
    expect(cart.id).toBe(guest.id)
    expect(caps).toEqual([])
    expect(cart.customerId).toBe(ada.id)
    expect(cart.lines[0]!.unitPrice).toBe(800)
  })

  it('export holds the profile, addresses, orders and notes; after erase no table holds the name, email, phone or address, and totals stay', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const email = 'adelina.quenneville@example.com'
    const ada = await commerce.customers.accounts.register({ email, password: PASSWORD, firstName: 'Adelina', lastName: 'Quenneville', phone: '+44 7700 900123' })
    await commerce.customers.addresses.add(ada.id, { address, defaultShipping: true })
    await commerce.customers.notes.add(ada.id, { body: 'Asked for gift wrapping', author: 'sam' })
    await commerce.customers.consent.set(ada.id, { granted: true, source: 'checkout' })
    await commerce.customers.paymentMethods.add(ada.id, { provider: 'test', reference: 'pm_123', label: 'Visa •••• 4242' })
    await commerce.customers.accounts.login({ email, password: PASSWORD, clientId: 'c' })
    const cart = await commerce.carts.create({ currency: 'USD', customerId: ada.id })
    await commerce.carts.addItem(cart.id, { variantId: shop.variant(shop.b), quantity: 2 })
    const order = await shop.checkout(cart.id, email)
    // A guest order of the same email, and an open cart with the address.
    const guest = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.c), quantity: 1 })
    const guestOrder = await shop.checkout(guest.id, email)
    const open = await commerce.carts.create({ currency: 'USD', customerId: ada.id })
    await commerce.carts.update(open.id, { shippingAddress: address })
    await commerce.outbox.drain({ timeoutMs: 5_000 })

    const data = await commerce.privacy.export({ email, customerId: ada.id })
    const mine = (data.plugins.customers as { customers: Array<{ profile: { email: string; firstName: string }; addresses: unknown[]; notes: Array<{ body: string }> }> }).customers
    expect(mine[0]!.profile.email).toBe(email)
    expect(mine[0]!.profile.firstName).toBe('Adelina')
    expect(mine[0]!.addresses).toHaveLength(1)
    expect(mine[0]!.notes.map((n) => n.body)).toEqual(['Asked for gift wrapping'])
    expect(data.orders.map((o) => o.id).sort()).toEqual([order.id, guestOrder.id].sort())

    const needles = [email, 'Adelina', 'Quenneville', '7700 900123', '17 Zephyr Lane', 'Brightholm', 'ZX9 4QW']
    expect(findings(await shop.allRows(), needles).length).toBeGreaterThan(0)
    await commerce.privacy.erase({ email, customerId: ada.id })
    expect(findings(await shop.allRows(), needles)).toEqual([])
    expect((await commerce.orders.get(order.id)).totals).toEqual(order.totals)
    expect((await commerce.orders.get(guestOrder.id)).totals).toEqual(guestOrder.totals)
    expect((await rejection(commerce.customers.get(ada.id))).code).toBe('NOT_FOUND')
  })

  it('serves register, login, verify, reset, me and addresses as Store endpoints', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const route = (method: string, path: string) => {
      const e = commerce.endpoints.find((x) => x.method === method && x.path === path)
      if (!e) throw new Error(`no ${method} ${path}`)
      return e
    }
    expect(commerce.endpoints.filter((e) => e.path.startsWith('/account')).map((e) => `${e.method} ${e.path} ${e.access}`)).toEqual([
      'POST /account/register public',
      'POST /account/login public',
      'POST /account/logout public',
      'POST /account/verify public',
      'POST /account/password-reset public',
      'POST /account/password-reset/confirm public',
      'GET /account customer',
      'PATCH /account customer',
      'POST /account/password customer',
      'POST /account/verify/request customer',
      'PUT /account/marketing-consent customer',
      'GET /account/addresses customer',
      'POST /account/addresses customer',
      'PATCH /account/addresses/:addressId customer',
      'DELETE /account/addresses/:addressId customer',
      'GET /account/orders customer',
      'GET /account/sessions customer',
      'DELETE /account/sessions/:sessionId customer',
    ])
    const anonymous = { kind: 'anonymous' } as const
    const call = async (method: string, path: string, input: unknown, actor: Parameters<ReturnType<typeof route>['handler']>[0]['actor'] = anonymous) => {
      const e = route(method, path)
      const parsed = e.input ? e.input.parse(input) : input
      return e.output.parse(await e.handler({ input: parsed, actor, commerce, request: { client: '203.0.113.7' } }))
    }
    expect(await call('POST', '/account/register', { email: 'ada@example.com', password: PASSWORD })).toEqual({ ok: true })
    const [ada] = (await commerce.customers.list({ email: 'ada@example.com' })).items
    if (!ada) throw new Error('registering created no customer')
    await call('POST', '/account/verify', { token: await commerce.customers.accounts.mintVerificationToken(ada.id) })
    const login = (await call('POST', '/account/login', { email: 'ada@example.com', password: PASSWORD })) as { sessionToken: string }
    expect((await commerce.customers.accounts.authenticate(login.sessionToken)).id).toBe(ada.id)
    const me = { kind: 'customer', customerId: ada.id } as const
    expect(((await call('GET', '/account', {}, me)) as { emailVerified: boolean }).emailVerified).toBe(true)
    const saved = (await call('POST', '/account/addresses', { address, defaultShipping: true }, me)) as { id: string }
    expect(((await call('GET', '/account/addresses', {}, me)) as Array<{ id: string }>).map((a) => a.id)).toEqual([saved.id])
    await call('DELETE', '/account/addresses/:addressId', { addressId: saved.id }, me)
    expect(await call('GET', '/account/addresses', {}, me)).toEqual([])
    await call('POST', '/account/password-reset', { email: 'nobody@example.com' })
    await call('POST', '/account/logout', { sessionToken: login.sessionToken })
    expect((await rejection(commerce.customers.accounts.authenticate(login.sessionToken))).code).toBe('SESSION_INVALID')
    expect((await rejection(call('GET', '/account', {}))).code).toBe('INVALID_STATE')
  })

  it('refuses bad input through every method with a typed error naming the field, the database unchanged', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const c = commerce.customers
    const ada = await c.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const [addr] = [await c.addresses.add(ada.id, { address })]
    const guest = await commerce.carts.create({ currency: 'USD' })
    const other = await commerce.carts.create({ currency: 'USD', customerId: 'cus_someone_else' })
    const before = await shop.snapshot()
    const long = 'x'.repeat(5001)
    const cases: Array<[string, () => Promise<unknown>, string, string]> = [
      ['create: bad email', () => c.create({ email: 'not-an-email' }), 'VALIDATION', 'email'],
      ['create: unknown field', () => c.create({ email: 'b@example.com', admin: true } as never), 'VALIDATION', ''],
      ['create: NUL in name', () => c.create({ email: 'b@example.com', firstName: 'a\u0000b' }), 'VALIDATION', 'firstName'],
      ['create: taken email in another case', () => c.create({ email: 'ADA@example.com' }), 'EMAIL_TAKEN', 'email'],
      ['get: empty id', () => c.get(''), 'VALIDATION', 'customerId'],
      ['get: number', () => c.get(42 as never), 'VALIDATION', 'customerId'],
      ['update: bad phone', () => c.update(ada.id, { phone: 'call me' }), 'VALIDATION', 'phone'],
      ['update: bad locale', () => c.update(ada.id, { locale: 'English!' }), 'VALIDATION', 'locale'],
      ['update: metadata not text', () => c.update(ada.id, { metadata: { a: 1 } as never }), 'VALIDATION', 'metadata.a'],
      ['update: unknown customer', () => c.update('cus_nope', { firstName: 'X' }), 'NOT_FOUND', ''],
      ['list: limit 0', () => c.list({ limit: 0 }), 'VALIDATION', 'limit'],
      ['list: forged cursor', () => c.list({ cursor: "x' or 1=1" }), 'VALIDATION', 'cursor'],
      ['addresses.add: no line1', () => c.addresses.add(ada.id, { address: { city: 'X', country: 'GB' } as never }), 'VALIDATION', 'address.line1'],
      ['addresses.add: bad country', () => c.addresses.add(ada.id, { address: { ...address, country: 'GBR' } }), 'VALIDATION', 'address.country'],
      ['addresses.update: unknown', () => c.addresses.update(ada.id, 'addr_nope', { label: 'Home' }), 'NOT_FOUND', ''],
      ['addresses.update: label too long', () => c.addresses.update(ada.id, addr!.id, { label: 'x'.repeat(61) }), 'VALIDATION', 'label'],
      ['addresses.remove: unknown', () => c.addresses.remove(ada.id, 'addr_nope'), 'NOT_FOUND', ''],
      ['groups.create: bad code', () => c.groups.create({ code: 'Whole Sale', name: 'W' }), 'VALIDATION', 'code'],
      ['groups.addMember: unknown group', () => c.groups.addMember('nope', ada.id), 'NOT_FOUND', ''],
      ['tags.add: bad tag', () => c.tags.add(ada.id, '<script>'), 'VALIDATION', 'tag'],
      ['notes.add: no author', () => c.notes.add(ada.id, { body: 'x' } as never), 'VALIDATION', 'author'],
      ['notes.add: body too long', () => c.notes.add(ada.id, { body: long, author: 'sam' }), 'VALIDATION', 'body'],
      ['consent.set: unknown source', () => c.consent.set(ada.id, { granted: true, source: 'guess' as never }), 'VALIDATION', 'source'],
      ['consent.set: granted not boolean', () => c.consent.set(ada.id, { granted: 'yes' as never, source: 'staff' }), 'VALIDATION', 'granted'],
      ['paymentMethods.add: card number as label', () => c.paymentMethods.add(ada.id, { provider: 'test', reference: 'pm_1', label: '4242 4242 4242 4242' }), 'VALIDATION', 'label'],
      ['paymentMethods.remove: unknown', () => c.paymentMethods.remove(ada.id, 'cpm_nope'), 'NOT_FOUND', ''],
      ['timeline: unknown', () => c.timeline('cus_nope'), 'NOT_FOUND', ''],
      ['mergeCarts: unknown cart', () => c.mergeCarts({ customerId: ada.id, guestCartId: 'cart_nope' }), 'NOT_FOUND', ''],
      ['mergeCarts: missing customer', () => c.mergeCarts({ guestCartId: guest.id } as never), 'VALIDATION', 'customerId'],
      ['register: short password', () => c.accounts.register({ email: 'b@example.com', password: 'short' }), 'VALIDATION', 'password'],
      ['register: taken email', () => c.accounts.register({ email: 'Ada@Example.com', password: PASSWORD }), 'EMAIL_TAKEN', 'email'],
      ['registerOrNotify: short password', () => c.accounts.registerOrNotify({ email: 'ada@example.com', password: 'short' }), 'VALIDATION', 'password'],
      ['registerOrNotify: bad email', () => c.accounts.registerOrNotify({ email: 'ada', password: PASSWORD }), 'VALIDATION', 'email'],
      ['login: no client', () => c.accounts.login({ email: 'ada@example.com', password: PASSWORD } as never), 'VALIDATION', 'clientId'],
      ['login: unknown guest cart, right password', () => c.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'c', guestCartId: 'cart_nope' }), 'NOT_FOUND', ''],
      ['mergeCarts: a cart of another customer', () => c.mergeCarts({ customerId: ada.id, guestCartId: other.id }), 'INVALID_STATE', 'guestCartId'],
      ['authenticate: empty token', () => c.accounts.authenticate(''), 'VALIDATION', 'token'],
      ['authenticate: unknown token', () => c.accounts.authenticate('x'.repeat(43)), 'SESSION_INVALID', ''],
      ['revokeSession: unknown', () => c.accounts.revokeSession(ada.id, 'ses_nope'), 'NOT_FOUND', ''],
      ['verifyEmail: unknown token', () => c.accounts.verifyEmail({ token: 'x'.repeat(43) }), 'TOKEN_INVALID', ''],
      ['verifyEmail: token too long', () => c.accounts.verifyEmail({ token: 'x'.repeat(201) }), 'VALIDATION', 'token'],
      ['requestPasswordReset: bad email', () => c.accounts.requestPasswordReset({ email: 'nope' }), 'VALIDATION', 'email'],
      ['resetPassword: short password', () => c.accounts.resetPassword({ token: 'x', password: 'short' }), 'VALIDATION', 'password'],
      ['mintResetToken: unknown customer', () => c.accounts.mintResetToken('cus_nope'), 'NOT_FOUND', ''],
      ['changePassword: wrong current', () => c.accounts.changePassword(ada.id, { currentPassword: 'nope', newPassword: 'a brand new secret' }), 'INVALID_CREDENTIALS', ''],
    ]
    for (const [name, call, code, field] of cases) {
      const error = await rejection(call())
      expect(error.code, name).toBe(code)
      if (field) expect(error.fields, name).toContain(field)
    }
    expect(await shop.snapshot()).toBe(before)
  })
})
