import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { startServer } from '../src/server.js'
import { createShop, type ShopCommerce } from '../src/shop.js'
import { DEMO_CUSTOMER, WHOLESALE_APPROVER, WHOLESALE_BUYER, giftCardCode, seed } from '../src/seed.js'
import { browserless, h1, inputValue } from './support.js'

// The security review's findings, each on a seeded shop outside demo mode unless the test says so.
let commerce: ShopCommerce
let app: ReturnType<typeof createApp>

beforeAll(async () => {
  commerce = (await createShop({ filename: ':memory:' })).commerce
  await seed(commerce, () => undefined)
  app = createApp(commerce, { demo: false })
})
afterAll(() => commerce?.close())

describe('outside demo mode', () => {
  it('shows no verification link after registering, only "check your email"', async () => {
    const shopper = browserless(app)
    const page = await (await shopper.post('/account/register', { name: 'Mallory', email: 'victim@example.com', password: 'a long enough password 42' })).text()
    expect(h1(page)).toBe('Check your email')
    expect(page).not.toContain('/account/verify?token=')
  })

  it('shows no demo logins or gift card on the home page', async () => {
    const home = await (await app.request('/')).text()
    expect(home).not.toContain(DEMO_CUSTOMER.password)
    expect(home).not.toContain((await giftCardCode(commerce))!)
  })

  it('serves an empty shop without seeding demo accounts', async () => {
    const server = await startServer({ port: 0, filename: ':memory:', quiet: true, demo: false })
    try {
      const home = await (await fetch(server.url)).text()
      expect(h1(home)).toBe('Cartwright Shoes')
      const login = await fetch(`${server.url}/account/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams({ email: DEMO_CUSTOMER.email, password: DEMO_CUSTOMER.password }),
        redirect: 'manual',
      })
      expect(login.status).toBe(400)
    } finally {
      await server.close()
    }
  })
})

describe('in demo mode', () => {
  it('shows the verification link and the demo logins', async () => {
    const demo = createApp(commerce, { demo: true })
    const page = await (await browserless(demo).post('/account/register', { name: 'Dee Mo', email: 'demo-shopper@example.com', password: 'a long enough password 42' })).text()
    expect(page).toContain('/account/verify?token=')
    expect(await (await demo.request('/')).text()).toContain(DEMO_CUSTOMER.password)
  })
})

describe('reviews', () => {
  const review = { name: 'Grace', email: DEMO_CUSTOMER.email, rating: '5', title: 'Great', body: 'Best shoes I never bought.' }
  const stored = async () => commerce.db.selectFrom('reviews_reviews' as never).selectAll().where('body' as never, '=', review.body as never).execute() as Promise<Array<{ email: string; verified_buyer: number }>>

  it("needs a signed-in customer, and stores nothing for a stranger who types a buyer's email", async () => {
    const response = await browserless(app).post('/products/trail-runner/reviews', review)
    expect([response.status, response.headers.get('location')]).toEqual([303, '/account/login'])
    expect(await stored()).toEqual([])
  })

  it("files a signed-in customer's review under their account's email, never a typed one", async () => {
    const ada = browserless(app)
    expect((await ada.post('/account/login', { email: DEMO_CUSTOMER.email, password: DEMO_CUSTOMER.password })).headers.get('location')).toBe('/account')
    const response = await ada.post('/products/trail-runner/reviews', { ...review, email: 'someone-else@example.com' })
    expect(response.status).toBe(303)
    expect((await stored()).map((r) => r.email)).toEqual([DEMO_CUSTOMER.email])
  })
})

describe('notices after a redirect', () => {
  const fake = 'Your account is locked: call +49 30 1234567'
  const alerts = (html: string) => [...html.matchAll(/role="alert"[^>]*>([^<]*)</g)].map((m) => m[1])

  it('show the text of a known code only, never text from the URL', async () => {
    const shopper = browserless(app)
    expect(alerts(await (await shopper.get(`/cart?error=${encodeURIComponent(fake)}`)).text())).toEqual([])
    expect(alerts(await (await shopper.get('/products/trail-runner?error=toString')).text())).toEqual([])
    expect(alerts(await (await shopper.get('/cart?error=stock')).text())).toEqual(['Not enough pairs in stock in that size.'])
    const ada = browserless(app)
    await ada.post('/account/login', { email: DEMO_CUSTOMER.email, password: DEMO_CUSTOMER.password })
    for (const path of ['/account/addresses', '/account/approvals', '/account/quotes']) {
      const html = await (await ada.get(`${path}?error=${encodeURIComponent(fake)}`)).text()
      expect(h1(html)).not.toBe('Sign in')
      expect(alerts(html)).toEqual([])
    }
  })

  it("are in the shopper's language", async () => {
    const shopper = browserless(app)
    await shopper.post('/language', { locale: 'de', back: '/' })
    expect(alerts(await (await shopper.get('/cart?error=stock')).text())).toEqual(['In dieser Größe sind nicht genug Paare auf Lager.'])
  })

  it('a refused code redirects with a code, not the error text', async () => {
    const shopper = browserless(app)
    const product = await commerce.catalog.getProduct('trail-runner')
    const variant = product.variants.find((v) => v.options.Colour === 'Red' && v.options.Size === '43')!
    await shopper.post('/cart/lines', { variantId: variant.id, quantity: '1', handle: 'trail-runner', colour: 'red' })
    const refused = await shopper.post('/cart/code', { code: 'NO-SUCH-COUPON' })
    expect(refused.headers.get('location')).toBe('/cart?error=code')
    expect(alerts(await (await shopper.get('/cart?error=code')).text())).toEqual(['That code cannot be used on this cart.'])
  })
})

describe('signing in with a stale cart cookie', () => {
  it('signs in and forgets the cookie', async () => {
    const ada = browserless(app)
    ada.jar.set('shoe_cart', 'cart_doesnotexist.x')
    const login = await ada.post('/account/login', { email: DEMO_CUSTOMER.email, password: DEMO_CUSTOMER.password })
    expect([login.status, login.headers.get('location')]).toEqual([303, '/account'])
    expect(ada.jar.has('shoe_cart')).toBe(false)
    expect(h1(await (await ada.get('/account')).text())).toBe('Your account')
  })
})

describe('an approval', () => {
  it('is decided only by a post naming approve or reject', async () => {
    const buyer = browserless(app)
    await buyer.post('/account/login', { email: WHOLESALE_BUYER.email, password: WHOLESALE_BUYER.password })
    const product = await commerce.catalog.getProduct('trail-runner')
    const variant = product.variants.find((v) => v.options.Colour === 'Red' && v.options.Size === '43')!
    await buyer.post('/cart/lines', { variantId: variant.id, quantity: '4', handle: 'trail-runner', colour: 'red' })
    await buyer.post('/checkout', { email: WHOLESALE_BUYER.email, firstName: 'Bea', lastName: 'Buyer', line1: 'Lindenstraße 5', city: 'Berlin', postalCode: '10969', country: 'DE' })
    const step = await (await buyer.get('/checkout/shipping')).text()
    const shipping = /name="shipping" value="([^"]+)"/.exec(step)![1]!
    expect((await buyer.post('/checkout/place', { shipping, outcome: 'approve', attempt: inputValue(step, 'attempt') })).status).toBe(409)
    expect((await buyer.post('/account/approvals/request', {})).headers.get('location')).toBe('/account/approvals')

    const approver = browserless(app)
    await approver.post('/account/login', { email: WHOLESALE_APPROVER.email, password: WHOLESALE_APPROVER.password })
    const approvalId = /action="\/account\/approvals\/([^"]+)"/.exec(await (await approver.get('/account/approvals')).text())![1]!
    const status = async () => (await commerce.db.selectFrom('b2b_approvals' as never).select('status' as never).where('id' as never, '=', approvalId as never).executeTakeFirstOrThrow() as { status: string }).status
    for (const fields of [{}, { decision: 'Reject' }, { decision: '' }, { decision: 'maybe' }]) {
      expect((await approver.post(`/account/approvals/${approvalId}`, fields as Record<string, string>)).status).toBe(400)
      expect(await status()).toBe('pending')
    }
    expect((await approver.post(`/account/approvals/${approvalId}`, { decision: 'reject' })).headers.get('location')).toBe('/account/approvals')
    expect(await status()).toBe('rejected')
  })
})

describe('registering', () => {
  it('answers the same for an email that has an account as for a new one', async () => {
    const fields = (email: string) => ({ name: 'Eve', email, password: 'a long enough password 42' })
    const taken = await browserless(app).post('/account/register', fields(DEMO_CUSTOMER.email))
    const fresh = await browserless(app).post('/account/register', fields('eve-new@example.com'))
    expect([taken.status, fresh.status]).toEqual([200, 200])
    const [a, b] = [await taken.text(), await fresh.text()]
    expect(a.replace(DEMO_CUSTOMER.email, 'EMAIL')).toBe(b.replace('eve-new@example.com', 'EMAIL'))
    expect(a).not.toMatch(/role="alert"/)
  })
})
