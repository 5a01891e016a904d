import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { createShop, type ShopCommerce } from '../src/shop.js'
import { COUPON_CODE, COUPON_PERCENT, DEMO_CUSTOMER, GIFT_CARD_AMOUNT, TRAIL_RUNNER_PRICE, TRAIL_RUNNER_RED_43_STOCK, WHOLESALE_APPROVER, WHOLESALE_BUYER, giftCardCode, seed } from '../src/seed.js'
import { STYLESHEET } from '../src/style.js'
import { browserless, h1, inputValue, pageSizes, term } from './support.js'

let commerce: ShopCommerce
let app: ReturnType<typeof createApp>

beforeAll(async () => {
  commerce = (await createShop({ filename: ':memory:' })).commerce
  await seed(commerce, () => undefined)
  app = createApp(commerce)
})
afterAll(() => commerce?.close())

async function red43() {
  const product = await commerce.catalog.getProduct('trail-runner')
  return product.variants.find((v) => v.options.Colour === 'Red' && v.options.Size === '43')!
}

const orderCount = async () => Number((await commerce.db.selectFrom('cw_orders').select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)

/** Product page → size 43, red → cart (with the coupon when asked) → address → the shipping and payment step. */
async function toPayment(shopper: ReturnType<typeof browserless>, options: { coupon?: boolean; email?: string } = {}) {
  const variant = await red43()
  const product = await (await shopper.get('/products/trail-runner?colour=red')).text()
  expect(product).toContain(`value="${variant.id}"`)
  const added = await shopper.post('/cart/lines', { variantId: variant.id, quantity: '1', handle: 'trail-runner', colour: 'red' })
  expect([added.status, added.headers.get('location')]).toEqual([303, '/cart'])
  if (options.coupon) expect((await shopper.post('/cart/code', { code: COUPON_CODE })).status).toBe(303)
  expect(h1(await (await shopper.get('/checkout')).text())).toBe('Checkout')
  const address = await shopper.post('/checkout', { email: options.email ?? 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', line1: 'Torstraße 12', city: 'Berlin', postalCode: '10119', country: 'DE' })
  expect([address.status, address.headers.get('location')]).toEqual([303, '/checkout/shipping'])
  const step = await (await shopper.get('/checkout/shipping')).text()
  const shipping = /name="shipping" value="([^"]+)"/.exec(step)![1]!
  return { variant, step, shipping, attempt: inputValue(step, 'attempt') }
}

describe('the seed', () => {
  it('holds the facts the tests and the demo rely on, once', async () => {
    const trail = await commerce.catalog.getProduct('trail-runner')
    expect(trail.title).toBe('Trail Runner')
    expect(trail.options.find((o) => o.name === 'Size')!.values).toEqual(['38', '39', '40', '41', '42', '43', '44', '45', '46'])
    expect(trail.variants.every((v) => v.prices[0]!.amount === TRAIL_RUNNER_PRICE)).toBe(true)
    const variant = await red43()
    const levels = TRAIL_RUNNER_RED_43_STOCK.berlin + TRAIL_RUNNER_RED_43_STOCK.hamburg + TRAIL_RUNNER_RED_43_STOCK.pickup
    expect(await commerce.inventory.available(variant.id)).toBe(levels)
    // Each colour has its own picture.
    const pictures = trail.media.map((m) => trail.variants.find((v) => v.id === m.variantId)?.options.Colour)
    expect(pictures.sort()).toEqual(['Black', 'Blue', 'Red'])
    expect((await commerce.reviews.summary(trail.id)).count).toBe(2)
    const code = await giftCardCode(commerce)
    expect((await commerce['gift-cards'].balance(code!)).balance).toBe(GIFT_CARD_AMOUNT)
    expect((await commerce.catalog.getProduct('trail-runner', { locale: 'de' })).description).toMatch(/Gelände/)
    expect((await commerce.channels.list()).items.map((c) => c.code).sort()).toEqual(['web', 'wholesale'])
    const buyer = await commerce.customers.accounts.login({ email: WHOLESALE_BUYER.email, password: WHOLESALE_BUYER.password, clientId: 'seed-test' })
    expect(await commerce.b2b.membership(buyer.customer.id)).toMatchObject({ role: 'buyer' })
    // A second run changes nothing.
    const products = (await commerce.catalog.listProducts({ limit: 100 })).items.length
    expect(await seed(commerce, () => undefined)).toEqual({ seeded: false })
    expect((await commerce.catalog.listProducts({ limit: 100 })).items.length).toBe(products)
  })
})

describe('the pages', () => {
  const pages: Array<[string, string]> = [
    ['/', 'Cartwright Shoes'],
    ['/categories/running', 'Running'],
    ['/categories/running?colour=Red&size=43', 'Running'],
    ['/search?q=trail', 'Search results'],
    ['/products/trail-runner?colour=red', 'Trail Runner'],
    ['/cart', 'Your cart'],
    ['/account/login', 'Sign in'],
    ['/account/register', 'Create an account'],
  ]

  it.each(pages)('%s answers 200 with its heading, under 100 KB with its stylesheet', async (path, heading) => {
    const response = await browserless(app).get(path)
    const html = await response.text()
    expect(response.status).toBe(200)
    expect(h1(html)).toBe(heading)
    for (const landmark of ['<header', '<main', '<footer', 'role="search"']) expect(html).toContain(landmark)
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'")
    // A browser's form posts must carry the page's origin for the same-site check: never no-referrer.
    expect(response.headers.get('referrer-policy')).toBe('same-origin')
    expect(Buffer.byteLength(html) + Buffer.byteLength(STYLESHEET)).toBeLessThan(100 * 1024)
  })

  it('filters a category by colour and size', async () => {
    const html = await (await browserless(app).get('/categories/everyday?colour=Red')).text()
    expect(html).toContain('City Sneaker')
    expect(html).not.toContain('Canvas Low</a>')
  })

  it('shows the product in German after the language switch', async () => {
    const shopper = browserless(app)
    const switched = await shopper.post('/language', { locale: 'de', back: '/products/summit-boot' })
    expect([switched.status, switched.headers.get('location')]).toEqual([303, '/products/summit-boot'])
    const html = await (await shopper.get('/products/summit-boot')).text()
    expect(h1(html)).toBe('Gipfelstiefel')
    expect(html).toContain('lang="de"')
    expect(html).toContain('In den Warenkorb')
    expect(h1(await (await shopper.get('/cart')).text())).toBe('Ihr Warenkorb')
  })

  it('refuses a form posted from another site, and adds nothing to a cart', async () => {
    const variant = await red43()
    const body = new URLSearchParams({ variantId: variant.id, quantity: '1', handle: 'trail-runner', colour: 'red' })
    const carts = async () => Number((await commerce.db.selectFrom('cw_carts').select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
    const before = await carts()
    for (const headers of [{ origin: 'https://evil.example' }, { referer: 'https://evil.example/page' }, {}] as Array<Record<string, string>>) {
      const response = await app.request('/cart/lines', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } })
      expect(response.status).toBe(403)
    }
    expect(await carts()).toBe(before)
  })

  it('sends the language switch back only to a page of this site', async () => {
    const shopper = browserless(app)
    expect((await shopper.post('/language', { locale: 'en', back: '/\\evil.example' })).headers.get('location')).toBe('/')
    expect((await shopper.post('/language', { locale: 'en', back: '/search?q=trail' })).headers.get('location')).toBe('/search?q=trail')
  })

  it('marks a sold-out size disabled', async () => {
    const html = await (await browserless(app).get('/products/trail-runner?colour=red')).text()
    expect(html).toMatch(/<input type="radio" name="variantId" value="[^"]+" disabled=""[^>]*\/>46/)
  })
})

describe('the purchase path with JavaScript off (forms and redirects)', () => {
  it('buys a Trail Runner, red, 43, with the coupon, and confirms the order', async () => {
    const shopper = browserless(app)
    const { variant, shipping, attempt } = await toPayment(shopper, { coupon: true })
    const before = await commerce.inventory.available(variant.id)
    const placed = await shopper.post('/checkout/place', { shipping, outcome: 'approve', attempt })
    expect(placed.status).toBe(303)
    const location = placed.headers.get('location')!
    const orderId = /^\/orders\/([^?]+)\?token=[^&]+&placed=1$/.exec(location)![1]!
    const confirmation = await (await shopper.get(location)).text()
    expect(h1(confirmation)).toBe('Thank you for your order')
    const order = await commerce.orders.get(orderId)
    expect(order.totals.discountTotal).toBe(Math.round((TRAIL_RUNNER_PRICE * COUPON_PERCENT) / 100))
    expect(term(confirmation, 'Total')).toBe(order.totals.total)
    expect(confirmation).toContain(`#${order.number}`)
    expect(await commerce.inventory.available(variant.id)).toBe(before - 1)
    // The status page from the link, later.
    const status = await (await browserless(app).get(location.replace('&placed=1', ''))).text()
    expect(h1(status)).toBe(`Order #${order.number}`)
  })

  it('places one order for a form submitted twice at once, and shows it to both requests', async () => {
    const shopper = browserless(app)
    const { shipping, attempt } = await toPayment(shopper)
    const orders = await orderCount()
    const [first, second] = await Promise.all([0, 1].map(() => shopper.post('/checkout/place', { shipping, outcome: 'approve', attempt })))
    expect([first!.status, second!.status]).toEqual([303, 303])
    expect(/\/orders\/[^?]+/.exec(second!.headers.get('location')!)![0]).toBe(/\/orders\/[^?]+/.exec(first!.headers.get('location')!)![0])
    expect(await orderCount()).toBe(orders + 1)
  })

  it('re-renders checkout with an alert for a declined payment, stock and orders unchanged', async () => {
    const shopper = browserless(app)
    const { variant, shipping, attempt } = await toPayment(shopper)
    const before = await commerce.inventory.available(variant.id)
    const orders = await orderCount()
    const declined = await shopper.post('/checkout/place', { shipping, outcome: 'decline', attempt })
    const html = await declined.text()
    expect(h1(html)).toBe('Checkout')
    expect(/role="alert"[^>]*>([^<]*)/.exec(html)![1]).toMatch(/declined/)
    expect(await commerce.inventory.available(variant.id)).toBe(before)
    expect(await orderCount()).toBe(orders)
  })

  it('asks to confirm a "requires action" payment, then places the order', async () => {
    const shopper = browserless(app)
    const { shipping, attempt } = await toPayment(shopper)
    const orders = await orderCount()
    const waiting = await shopper.post('/checkout/place', { shipping, outcome: 'requires_action', attempt })
    expect(waiting.status).toBe(303)
    const confirmPage = await (await shopper.get(waiting.headers.get('location')!)).text()
    expect(h1(confirmPage)).toBe('Confirm your payment')
    expect(await orderCount()).toBe(orders)
    const confirmed = await shopper.post('/checkout/confirm-payment', { ref: inputValue(confirmPage, 'ref') })
    expect(confirmed.status).toBe(303)
    const html = await (await shopper.get(confirmed.headers.get('location')!)).text()
    expect(h1(html)).toBe('Thank you for your order')
    expect(await orderCount()).toBe(orders + 1)
  })

  it('lets a shopper pick up at the pickup point', async () => {
    const shopper = browserless(app)
    const { step, attempt } = await toPayment(shopper)
    const pickup = /name="shipping" value="([^"]+)"[^>]*\/>Pick up/.exec(step)![1]!
    const placed = await shopper.post('/checkout/place', { shipping: pickup, outcome: 'approve', attempt })
    const order = await commerce.orders.get(/\/orders\/([^?]+)/.exec(placed.headers.get('location')!)![1]!)
    expect(order.shippingMethod?.pickupLocationId).toBeTruthy()
    expect(order.totals.shippingTotal).toBe(0)
  })

  it('registers, verifies, signs in, buys and finds the order in the history', async () => {
    const shopper = browserless(app)
    const email = `lin-${Date.now()}@example.com`
    const registered = await (await shopper.post('/account/register', { name: 'Lin Shopper', email, password: 'a long enough password 42' })).text()
    const link = /href="(\/account\/verify\?token=[^"]+)"/.exec(registered)![1]!.replace(/&amp;/g, '&')
    expect((await shopper.get(link)).headers.get('location')).toBe('/account/login?verified=1')
    const customer = (await commerce.customers.list({ email })).items[0]!
    expect(customer.emailVerified).toBe(true)
    expect((await shopper.post('/account/login', { email, password: 'a long enough password 42' })).headers.get('location')).toBe('/account')
    const { shipping, attempt } = await toPayment(shopper, { email })
    const placed = await shopper.post('/checkout/place', { shipping, outcome: 'approve', attempt })
    const order = await commerce.orders.get(/\/orders\/([^?]+)/.exec(placed.headers.get('location')!)![1]!)
    expect(order.customerId).toBe(customer.id)
    const account = await (await shopper.get('/account')).text()
    expect(h1(account)).toBe('Your account')
    expect(account).toContain(`Order #${order.number}</a>`)
    for (const [path, heading] of [['/account/addresses', 'Your addresses'], ['/account/approvals', 'Approvals'], ['/account/quotes', 'Quotes']]) {
      expect(h1(await (await shopper.get(path!)).text())).toBe(heading)
    }
  })

  it('pays part of an order with the gift card and the rest with the test gateway', async () => {
    const shopper = browserless(app)
    const code = (await giftCardCode(commerce))!
    const before = (await commerce['gift-cards'].balance(code)).balance
    const { shipping, attempt } = await toPayment(shopper)
    const applied = await shopper.post('/cart/code', { code, back: '/checkout/shipping' })
    expect(applied.headers.get('location')).toBe('/checkout/shipping?applied=1')
    const step = await (await shopper.get('/checkout/shipping')).text()
    expect(term(step, 'Paid by gift card')).toBe(-Math.min(before, GIFT_CARD_AMOUNT))
    const placed = await shopper.post('/checkout/place', { shipping, outcome: 'approve', attempt })
    const order = await commerce.orders.get(/\/orders\/([^?]+)/.exec(placed.headers.get('location')!)![1]!)
    expect(order.payments.map((p) => [p.provider, p.amount]).sort()).toEqual([['gift-card', before], ['test', order.totals.total - before]].sort())
    expect((await commerce['gift-cards'].balance(code)).balance).toBe(0)
  })

  it('sends a wholesale order above the buyer\'s limit for approval, and places it once approved', async () => {
    const buyer = browserless(app)
    await buyer.post('/account/login', { email: WHOLESALE_BUYER.email, password: WHOLESALE_BUYER.password })
    const variant = await red43()
    await buyer.post('/cart/lines', { variantId: variant.id, quantity: '4', handle: 'trail-runner', colour: 'red' })
    await buyer.post('/checkout', { email: WHOLESALE_BUYER.email, firstName: 'Bea', lastName: 'Buyer', line1: 'Lindenstraße 5', city: 'Berlin', postalCode: '10969', country: 'DE' })
    let step = await (await buyer.get('/checkout/shipping')).text()
    const shipping = /name="shipping" value="([^"]+)"/.exec(step)![1]!
    const refused = await (await buyer.post('/checkout/place', { shipping, outcome: 'approve', attempt: inputValue(step, 'attempt') })).text()
    expect(/role="alert"[^>]*>([^<]*)/.exec(refused)![1]).toMatch(/spending limit/)
    expect((await buyer.post('/account/approvals/request', {})).headers.get('location')).toBe('/account/approvals')

    const approver = browserless(app)
    await approver.post('/account/login', { email: WHOLESALE_APPROVER.email, password: WHOLESALE_APPROVER.password })
    const list = await (await approver.get('/account/approvals')).text()
    const approvalId = /action="\/account\/approvals\/([^"]+)"/.exec(list)![1]!
    expect((await approver.post(`/account/approvals/${approvalId}`, { decision: 'approve' })).headers.get('location')).toBe('/account/approvals')

    step = await (await buyer.get('/checkout/shipping')).text()
    const placed = await buyer.post('/checkout/place', { shipping, outcome: 'approve', attempt: inputValue(step, 'attempt') })
    expect(placed.headers.get('location')).toMatch(/^\/orders\//)
    const order = await commerce.orders.get(/\/orders\/([^?]+)/.exec(placed.headers.get('location')!)![1]!)
    expect(order.lines[0]!.unitPrice).toBeLessThan(TRAIL_RUNNER_PRICE)
  })

  it("shows the wholesale buyer's quote and the demo customer's account", async () => {
    const buyer = browserless(app)
    await buyer.post('/account/login', { email: WHOLESALE_BUYER.email, password: WHOLESALE_BUYER.password })
    const quotes = await (await buyer.get('/account/quotes')).text()
    expect(quotes).toContain('Accept quote')
    const quoteId = /action="\/account\/quotes\/([^/]+)\/accept"/.exec(quotes)![1]!
    expect((await buyer.post(`/account/quotes/${quoteId}/accept`, {})).headers.get('location')).toBe('/cart')
    const cart = await (await buyer.get('/cart')).text()
    const [line] = (await commerce.b2b.getQuote(quoteId)).lines
    expect(cart).toContain(`value="${line!.quantity}"`)
    expect(term(cart, 'Subtotal')).toBe(line!.unitPrice * line!.quantity)
    const ada = browserless(app)
    await ada.post('/account/login', { email: DEMO_CUSTOMER.email, password: DEMO_CUSTOMER.password })
    expect(h1(await (await ada.get('/account')).text())).toBe('Your account')
  })
})

describe('page weight', () => {
  it('keeps every page the tests above were served under 100 KB of HTML and CSS', () => {
    const css = Buffer.byteLength(STYLESHEET)
    const sizes = Object.fromEntries([...pageSizes].map(([page, bytes]) => [page, bytes + css]))
    if (process.env.SHOE_STORE_PAGE_SIZES === '1') console.table(sizes)
    for (const page of ['GET /', 'GET /products/trail-runner', 'GET /cart', 'GET /checkout', 'GET /checkout/shipping', 'POST /checkout/place', 'GET /orders/:id', 'GET /account']) {
      expect(sizes[page], page).toBeGreaterThan(css)
    }
    for (const [page, bytes] of Object.entries(sizes)) expect(bytes, page).toBeLessThan(100 * 1024)
  })
})
