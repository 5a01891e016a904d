import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { customers } from '@cartwright/customers'
import { catalogFacts, type Plugin } from '@cartwright/core'
import { CODE_REFUSED_MESSAGE } from '../src/index.js'
import { openShop, rejection, SHIPPING, STORAGES, type Shop } from './support.js'

describe.each(STORAGES)('promotions on %s', (storage) => {
  let shop: Shop
  afterEach(async () => {
    await shop?.close()
  })

  const rows = async (query: string) => (await sql.raw<Record<string, unknown>>(query).execute(shop.commerce.db)).rows

  it('takes a percentage off the order, split over the lines, and keeps it on the order', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.promotions.create({ name: '10% off', code: 'TEN', discount: { type: 'percentage', percent: '10' } })
    const cartId = await shop.cart('ada@example.com', [[shop.shoe, 1], [shop.sock, 2]], { codes: ['ten'] })
    const cart = await commerce.carts.get(cartId)
    // 10% of 129.00 + 30.00 = 15.90, split 12.90 / 3.00 by the lines' subtotals.
    expect(cart.totals.discountTotal).toBe(1590)
    expect(cart.lines.map((l) => l.discountTotal)).toEqual([1290, 300])
    expect(cart.adjustments).toEqual([expect.objectContaining({ code: 'TEN', amount: 1590, source: 'promotions' })])
    const order = await shop.checkout(cartId)
    expect(order.totals.discountTotal).toBe(1590)
    expect(order.adjustments.reduce((s, a) => s + a.amount, 0)).toBe(1590)
    const promotionId = (await commerce.promotions.list()).items[0]!.id
    expect((await commerce.promotions.usage(promotionId)).used).toBe(1)
    const events = await rows(`select payload from cw_outbox where type = 'promotions.redeemed'`)
    expect(events.map((e) => (typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload))).toEqual([{ promotionId, code: 'TEN', orderId: order.id, cartId, amount: 1590 }])
  })

  it('a 100% discount on matching lines leaves exactly 0 on them, the other lines untouched', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.promotions.create({ name: 'Free socks', automatic: true, discount: { type: 'percentage', percent: '100', appliesTo: 'matching_lines' }, conditions: { tags: ['wool'] } })
    const cartId = await shop.cart('ada@example.com', [[shop.shoe, 1], [shop.sock, 3]])
    const cart = await commerce.carts.get(cartId)
    const sock = cart.lines.find((l) => l.productId === shop.sock.id)!
    const shoe = cart.lines.find((l) => l.productId === shop.shoe.id)!
    expect(sock.subtotal - sock.discountTotal).toBe(0)
    expect(shoe.discountTotal).toBe(0)
  })

  it('buy 2 get 1 free discounts the cheapest unit of every 3', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.promotions.create({ name: '3 for 2', automatic: true, discount: { type: 'buy_x_get_y', buy: 2, get: 1 }, conditions: { tags: ['running'] } })
    // Units: shoe 129.00, socks 15.00 × 2: one group of 3, the cheapest unit (a sock) free. The hat is not running gear.
    const cartId = await shop.cart('ada@example.com', [[shop.shoe, 1], [shop.sock, 2], [shop.hat, 1]])
    const cart = await commerce.carts.get(cartId)
    expect(cart.totals.discountTotal).toBe(1500)
    expect(cart.lines.find((l) => l.productId === shop.sock.id)!.discountTotal).toBe(1500)
  })

  it('free shipping and a percentage off shipping come off the shipping charge', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.promotions.create({ name: 'Free shipping over 100', automatic: true, discount: { type: 'free_shipping' }, conditions: { minSubtotal: { amount: 10000, currency: 'USD' } } })
    const big = await commerce.carts.get(await shop.cart('ada@example.com', [[shop.shoe, 1]]))
    expect(big.totals.shippingTotal).toBe(SHIPPING)
    expect(big.totals.discountTotal).toBe(SHIPPING)
    expect(big.adjustments).toEqual([expect.objectContaining({ target: 'shipping', amount: SHIPPING })])
    const small = await commerce.carts.get(await shop.cart('ada@example.com', [[shop.sock, 1]]))
    expect(small.totals.discountTotal).toBe(0)
  })

  it('stacking: the best of each exclusive promotion alone and all combinable ones together', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.promotions.create({ name: '5 off', automatic: true, discount: { type: 'fixed', amount: 500, currency: 'USD' }, priority: 10 })
    await commerce.promotions.create({ name: '10% off', automatic: true, discount: { type: 'percentage', percent: '10' }, priority: 5 })
    const exclusive = await commerce.promotions.create({ name: '20% alone', code: 'TWENTY', discount: { type: 'percentage', percent: '20' }, stacking: 'exclusive' })
    // 159.00: combinable = 5.00, then 10% of 154.00 = 15.40 → 20.40; exclusive 20% = 31.80 wins.
    const cartId = await shop.cart('ada@example.com', [[shop.shoe, 1], [shop.sock, 2]])
    expect((await commerce.carts.get(cartId)).totals.discountTotal).toBe(2040)
    await commerce.promotions.applyCode(cartId, 'twenty')
    const cart = await commerce.carts.get(cartId)
    expect(cart.totals.discountTotal).toBe(3180)
    expect(cart.adjustments.map((a) => a.code)).toEqual(['TWENTY'])
    await commerce.promotions.deactivate(exclusive.id)
    expect((await commerce.carts.get(cartId)).totals.discountTotal).toBe(2040)
  })

  it('stacking is decided among line discounts and among shipping discounts apart', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.promotions.create({ name: '10% off', automatic: true, discount: { type: 'percentage', percent: '10' }, stacking: 'exclusive' })
    await commerce.promotions.create({ name: 'Half shipping', automatic: true, discount: { type: 'shipping_percentage', percent: '50' } })
    const cartId = await shop.cart('ada@example.com', [[shop.hat, 1]])
    // The exclusive 10% off the lines and the combinable half-price shipping both apply: 2.50 + 2.50.
    let cart = await commerce.carts.get(cartId)
    expect(cart.adjustments.map((a) => [a.label, a.target, a.amount])).toEqual([
      ['10% off', 'lines', 250],
      ['Half shipping', 'shipping', 250],
    ])
    // An exclusive free-shipping code beats the half-price shipping, and still combines with the 10%.
    await commerce.promotions.create({ name: 'Free shipping', code: 'SHIPFREE', discount: { type: 'free_shipping' }, stacking: 'exclusive' })
    await commerce.promotions.applyCode(cartId, 'shipfree')
    cart = await commerce.carts.get(cartId)
    expect(cart.adjustments.map((a) => [a.label, a.target, a.amount])).toEqual([
      ['10% off', 'lines', 250],
      ['Free shipping', 'shipping', SHIPPING],
    ])
    expect(cart.totals.total).toBe(2500 - 250)
  })

  it('collections, hand-picked and by rules, pick the matching lines', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const picked = await commerce.collections.create({ title: 'Hats', handle: 'hats' })
    await commerce.collections.addProducts(picked.id, [shop.hat.id])
    const wool = await commerce.collections.create({ title: 'Wool', handle: 'wool', kind: 'rules', rules: [{ field: 'tag', value: 'wool' }] })
    await commerce.promotions.create({ name: 'Hats and wool half off', automatic: true, discount: { type: 'percentage', percent: '50', appliesTo: 'matching_lines' }, conditions: { collectionIds: [picked.id, wool.id] } })
    const cart = await commerce.carts.get(await shop.cart('ada@example.com', [[shop.shoe, 1], [shop.sock, 1], [shop.hat, 1]]))
    const discountOf = (productId: string) => cart.lines.find((l) => l.productId === productId)!.discountTotal
    expect([discountOf(shop.shoe.id), discountOf(shop.sock.id), discountOf(shop.hat.id)]).toEqual([0, 750, 1250])
  })

  it("catalogFacts: a product's tags, categories and collections (rule-based ones when asked about)", async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const category = await commerce.categories.create({ title: 'Apparel', handle: 'apparel' })
    await commerce.categories.addProducts(category.id, [shop.sock.id, shop.hat.id])
    const picked = await commerce.collections.create({ title: 'Picks', handle: 'picks' })
    await commerce.collections.addProducts(picked.id, [shop.shoe.id])
    const running = await commerce.collections.create({ title: 'Running', handle: 'running', kind: 'rules', rules: [{ field: 'tag', value: 'running' }] })
    const facts = await catalogFacts(commerce.db, [shop.shoe.id, shop.sock.id, shop.hat.id, 'prod_unknown'], { collectionIds: [running.id] })
    expect(Object.fromEntries(facts)).toEqual({
      [shop.shoe.id]: { tags: ['running'], categoryIds: [], collectionIds: [picked.id, running.id].sort() },
      [shop.sock.id]: { tags: ['running', 'wool'], categoryIds: [category.id], collectionIds: [running.id] },
      [shop.hat.id]: { tags: [], categoryIds: [category.id], collectionIds: [] },
      prod_unknown: { tags: [], categoryIds: [], collectionIds: [] },
    })
    // A rule-based collection not asked about is not resolved.
    expect((await catalogFacts(commerce.db, [shop.sock.id])).get(shop.sock.id)!.collectionIds).toEqual([])
  })

  it("a customer-group condition holds for the group's members only, and never without the customers plugin", async () => {
    shop = await openShop(storage, { plugins: [customers({ hashing: { memoryCost: 1024, timeCost: 1 } }) as unknown as Plugin] })
    const commerce = shop.commerce as typeof shop.commerce & { customers: any }
    await commerce.customers.groups.create({ code: 'vip', name: 'VIP' })
    const [group] = await commerce.customers.groups.list()
    const vip = await commerce.customers.create({ email: 'vip@example.com' })
    const other = await commerce.customers.create({ email: 'other@example.com' })
    await commerce.customers.groups.addMember('vip', vip.id)
    await commerce.promotions.create({ name: 'VIP 20%', automatic: true, discount: { type: 'percentage', percent: '20' }, conditions: { customerGroupIds: [group.id] } })
    const discount = async (email: string, customerId?: string) =>
      (await commerce.carts.get(await shop.cart(email, [[shop.hat, 1]], customerId ? { customerId } : {}))).totals.discountTotal
    expect(await discount('vip@example.com', vip.id)).toBe(500)
    expect(await discount('other@example.com', other.id)).toBe(0)
    expect(await discount('vip@example.com')).toBe(0)
    await shop.close()
    // No customers plugin, so no group tables: the condition never holds, and carts are still priced.
    shop = await openShop(storage)
    await shop.commerce.promotions.create({ name: 'VIP 20%', automatic: true, discount: { type: 'percentage', percent: '20' }, conditions: { customerGroupIds: [group.id] } })
    const cart = await shop.commerce.carts.get(await shop.cart('vip@example.com', [[shop.hat, 1]], { customerId: 'cus_unknown' }))
    expect(cart.totals.discountTotal).toBe(0)
    expect(cart.pricingProblem).toBeNull()
  })

  it('describes its Store and Admin endpoints, whose handlers call the service', async () => {
    shop = await openShop(storage)
    const routes = shop.commerce.endpoints.filter((e) => e.path.includes('promotion')).map((e) => `${e.surface} ${e.method} ${e.path} ${e.access}`)
    expect(routes).toEqual([
      'store POST /carts/:cartId/promotion-codes cart',
      'store DELETE /carts/:cartId/promotion-codes/:code cart',
      'store GET /carts/:cartId/promotion-codes cart',
      'admin GET /promotions staff',
      'admin POST /promotions staff',
      'admin GET /promotions/:promotionId staff',
      'admin PATCH /promotions/:promotionId staff',
      'admin POST /promotions/:promotionId/deactivate staff',
      'admin POST /promotions/:promotionId/codes staff',
      'admin GET /promotions/:promotionId/usage staff',
    ])
    const route = (method: string, path: string) => shop.commerce.endpoints.find((e) => e.method === method && e.path === path)!
    const staff = { kind: 'staff' as const, staffId: 'staff_1', permissions: [] }
    const created = await route('POST', '/promotions').handler({ input: route('POST', '/promotions').input!.parse({ name: 'Ten', code: 'TEN', discount: { type: 'percentage', percent: '10' } }), actor: staff, commerce: shop.commerce })
    expect(created).toMatchObject({ name: 'Ten', code: 'TEN', used: 0, active: true })
    const cartId = await shop.cart('ada@example.com', [[shop.hat, 1]])
    const apply = route('POST', '/carts/:cartId/promotion-codes')
    expect(apply.rateLimit).toEqual({ windowMs: 60_000, max: 10 })
    expect(await apply.handler({ input: apply.input!.parse({ cartId, code: 'ten' }), actor: { kind: 'cart', cartId }, commerce: shop.commerce })).toEqual({ cartId, codes: ['TEN'] })
    expect((await shop.commerce.carts.get(cartId)).totals.discountTotal).toBe(250)
  })

  it('refuses unknown, expired, not yet started, used up and below-minimum codes alike', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const now = Date.now()
    await commerce.promotions.create({ name: 'Ended', code: 'ENDED', discount: { type: 'percentage', percent: '10' }, startsAt: new Date(now - 86_400_000).toISOString(), endsAt: new Date(now - 1000).toISOString() })
    await commerce.promotions.create({ name: 'Later', code: 'LATER', discount: { type: 'percentage', percent: '10' }, startsAt: new Date(now + 86_400_000).toISOString() })
    await commerce.promotions.create({ name: 'Big carts', code: 'BIG', discount: { type: 'percentage', percent: '10' }, conditions: { minSubtotal: { amount: 100_000, currency: 'USD' } } })
    const once = await commerce.promotions.create({ name: 'Once', code: 'ONCE', discount: { type: 'percentage', percent: '10' }, usageLimit: 1 })
    await shop.checkout(await shop.cart('grace@example.com', [[shop.sock, 1]], { codes: ['ONCE'] }))
    expect((await commerce.promotions.get(once.id)).used).toBe(1)
    const cartId = await shop.cart('ada@example.com', [[shop.sock, 1]])
    const answers = []
    for (const code of ['NOPE', 'ENDED', 'LATER', 'BIG', 'ONCE']) answers.push(await rejection(commerce.promotions.applyCode(cartId, code)))
    for (const answer of answers) expect(answer).toEqual({ code: 'PROMOTION_CODE_REFUSED', fields: [], message: CODE_REFUSED_MESSAGE })
    expect(await rows(`select * from promotions_applied where cart_id = '${cartId}'`)).toEqual([])
  })

  it('bad input is refused naming the field, and nothing is stored', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const cases: Array<[unknown, string]> = [
      [{ name: '', discount: { type: 'percentage', percent: '10' } }, 'name'],
      [{ name: 'x', discount: { type: 'percentage', percent: '100.5' } }, 'discount.percent'],
      [{ name: 'x', discount: { type: 'percentage', percent: '0.1e1' } }, 'discount.percent'],
      [{ name: 'x', discount: { type: 'fixed', amount: -1, currency: 'USD' } }, 'discount.amount'],
      [{ name: 'x', discount: { type: 'fixed', amount: 100, currency: 'XXX1' } }, 'discount.currency'],
      [{ name: 'x', discount: { type: 'buy_x_get_y', buy: 0, get: 1 } }, 'discount.buy'],
      [{ name: 'x', code: 'a b', discount: { type: 'free_shipping' } }, 'code'],
      [{ name: 'x', automatic: true, code: 'AUTO', discount: { type: 'free_shipping' } }, 'code'],
      [{ name: 'x', discount: { type: 'free_shipping' }, usageLimit: 0 }, 'usageLimit'],
      [{ name: 'x', discount: { type: 'free_shipping' }, startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }, 'endsAt'],
      [{ name: 'x', discount: { type: 'free_shipping' }, conditions: { productIds: [] } }, 'conditions.productIds'],
    ]
    for (const [input, field] of cases) {
      const refused = await rejection(commerce.promotions.create(input as never))
      expect(refused.code, field).toBe('VALIDATION')
      expect(refused.fields, field).toContain(field)
    }
    const taken = await commerce.promotions.create({ name: 'Taken', code: 'TAKEN', discount: { type: 'free_shipping' } })
    const updates: Array<[unknown, string]> = [
      [{ name: ' ' }, 'name'],
      [{ discount: { type: 'percentage', percent: '-5' } }, 'discount.percent'],
      [{ usageLimit: 1.5 }, 'usageLimit'],
      [{ endsAt: 'tomorrow' }, 'endsAt'],
      [{ active: 'no' }, 'active'],
      [{ colour: 'red' }, ''],
    ]
    for (const [input, field] of updates) {
      const refused = await rejection(commerce.promotions.update(taken.id, input as never))
      expect(refused.code, field).toBe('VALIDATION')
      if (field) expect(refused.fields, field).toContain(field)
    }
    expect((await rejection(commerce.promotions.update('', {}))).fields).toEqual(['promotionId'])
    expect(await commerce.promotions.get(taken.id)).toEqual(taken)
    expect((await rejection(commerce.promotions.create({ name: 'Again', code: 'taken', discount: { type: 'free_shipping' } }))).fields).toEqual(['code'])
    expect(await rows(`select name from promotions_promotions`)).toEqual([{ name: 'Taken' }])
    expect((await rows(`select count(*) as n from promotions_codes`)).map((r) => Number(r.n))).toEqual([1])
  })

  it('generated codes: 16 random characters from the alphabet, stored hashed, single-use, case-insensitive', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const promo = await commerce.promotions.create({ name: 'Welcome', discount: { type: 'fixed', amount: 1000, currency: 'USD' } })
    const { codes } = await commerce.promotions.generateCodes(promo.id, { count: 20, prefix: 'WELCOME' })
    expect(new Set(codes).size).toBe(20)
    for (const code of codes) expect(code).toMatch(/^WELCOME-[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){3}$/)
    const stored = await rows(`select code_hash, hint from promotions_codes`)
    expect(stored).toHaveLength(20)
    for (const r of stored) for (const code of codes) expect(String(r.code_hash)).not.toContain(code.slice(8, 12))
    const cartId = await shop.cart('ada@example.com', [[shop.sock, 1]], { codes: [codes[0]!.toLowerCase()] })
    expect((await commerce.carts.get(cartId)).totals.discountTotal).toBe(1000)
    await shop.checkout(cartId)
    const again = await shop.cart('grace@example.com', [[shop.sock, 1]])
    expect((await rejection(commerce.promotions.applyCode(again, codes[0]!))).code).toBe('PROMOTION_CODE_REFUSED')
    await commerce.promotions.applyCode(again, codes[1]!)
  })

  it('a per-customer limit counts a guest by email, whatever its case', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    await commerce.promotions.create({ name: 'Once each', code: 'ONCEEACH', discount: { type: 'percentage', percent: '10' }, perCustomerLimit: 1 })
    await shop.checkout(await shop.cart('Ada@Example.com', [[shop.sock, 1]], { codes: ['ONCEEACH'] }))
    // Entered before the email is known, the code is refused at the claim.
    const cartId = await shop.cart('x@example.com', [[shop.sock, 1]], { codes: ['ONCEEACH'] })
    await commerce.carts.update(cartId, { email: 'ada@example.com' })
    const calls = shop.gateway.calls.length
    expect((await rejection(shop.checkout(cartId))).code).toBe('PROMOTION_UNAVAILABLE')
    expect(shop.gateway.calls.length).toBe(calls)
    // Another guest gets it.
    await shop.checkout(await shop.cart('grace@example.com', [[shop.sock, 1]], { codes: ['ONCEEACH'] }))
    // Kept under a hash, never the email; exported and erased with the person's data.
    expect(JSON.stringify(await rows(`select * from promotions_customer_uses`))).not.toMatch(/example\.com/i)
    const promotionId = (await commerce.promotions.list()).items[0]!.id
    expect((await commerce.privacy.export({ email: 'ADA@example.com' })).plugins.promotions).toEqual({ uses: [{ promotionId, used: 1 }] })
    await commerce.privacy.erase({ email: 'ada@example.com' })
    expect((await commerce.promotions.usage(promotionId)).customers).toHaveLength(1)
    expect((await commerce.privacy.export({ email: 'grace@example.com' })).plugins.promotions).toEqual({ uses: [{ promotionId, used: 1 }] })
    expect((await commerce.promotions.usage(promotionId)).used).toBe(2)
  })

  it('a removed code stops discounting; a declined payment and a canceled order give their use back', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const promo = await commerce.promotions.create({ name: 'One', code: 'ONE', discount: { type: 'percentage', percent: '10' }, usageLimit: 1 })
    const cartId = await shop.cart('ada@example.com', [[shop.sock, 1]], { codes: ['ONE'] })
    await commerce.promotions.removeCode(cartId, 'one')
    expect((await commerce.carts.get(cartId)).totals.discountTotal).toBe(0)
    await commerce.promotions.applyCode(cartId, 'ONE')
    expect((await rejection(shop.checkout(cartId, { outcome: 'decline' }))).code).toBe('PAYMENT_DECLINED')
    expect((await commerce.promotions.get(promo.id)).used).toBe(0)
    const order = await shop.checkout(cartId)
    expect(order.totals.discountTotal).toBe(150)
    expect((await commerce.promotions.get(promo.id)).used).toBe(1)
    await commerce.orders.cancel(order.id)
    expect((await commerce.promotions.get(promo.id)).used).toBe(0)
    expect(await rows(`select released_at is not null as released from promotions_uses order by claimed_at`)).toHaveLength(2)
  })
})
