import type { Kysely } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { CommerceError, type PriceAnswer, type PriceQuery, type PriceSource } from '@cartwright/core'
import { address, failure, GUARDED_STORAGES, key, openShop, placed, type Shop, type ShopOptions } from '../support/index.js'

/** The toy price list's own table: a customer's contract price for a variant in a currency. */
interface PriceListDatabase {
  pl_prices: { customer_id: string; variant_id: string; currency: string; amount: number; label: string }
}

const WHOLESALE = 'cus_wholesale'

/** What a source was asked, call by call. */
type Asked = PriceQuery[]

/**
 * A toy price-list source: a customer's contract prices, read from its own table through the
 * handle core passes (the executor the cart is read with). No answer for guests or unlisted variants.
 */
function priceList(asked: Asked = [], priority = 10): PriceSource {
  return {
    id: 'price-list',
    priority,
    async resolve(query, db) {
      asked.push(structuredClone(query))
      if (!query.customerId) return query.lines.map(() => undefined)
      const rows = await (db as Kysely<PriceListDatabase>)
        .selectFrom('pl_prices')
        .select(['variant_id', 'amount', 'label'])
        .where('customer_id', '=', query.customerId)
        .where('currency', '=', query.currency)
        .execute()
      const byVariant = new Map(rows.map((r) => [r.variant_id, r]))
      return query.lines.map((line) => {
        const row = byVariant.get(line.variantId)
        return row ? { amount: Number(row.amount), label: row.label } : undefined
      })
    },
  }
}

/** A source answering `answer` for every line. */
function fixed(id: string, priority: number, answer: PriceAnswer | undefined): PriceSource {
  return { id, priority, resolve: (query) => query.lines.map(() => answer) }
}

interface PricedShop extends Shop {
  /** Bulk Socks: 100.00 a pair, 90.00 a pair from 10 pairs; 95.00 on the wholesale customer's list. */
  socks: string
}

const opened: Shop[] = []
afterEach(async () => {
  for (const shop of opened.splice(0)) await shop.close()
})

async function pricedShop(options: ShopOptions = {}): Promise<PricedShop> {
  const shop = await openShop(options)
  opened.push(shop)
  const { commerce } = shop
  const product = await commerce.catalog.createProduct({
    title: 'Bulk Socks',
    variants: [
      {
        sku: 'SOCKS',
        manageInventory: false,
        prices: [
          { currency: 'USD', amount: 10000 },
          { currency: 'USD', amount: 9000, minQuantity: 10 },
        ],
      },
    ],
  })
  const socks = product.variants[0]!.id
  await commerce.db.schema
    .createTable('pl_prices')
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('variant_id', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .execute()
  await (commerce.db as unknown as Kysely<PriceListDatabase>)
    .insertInto('pl_prices')
    .values({ customer_id: WHOLESALE, variant_id: socks, currency: 'USD', amount: 9500, label: 'wholesale-2026' })
    .execute()
  return { ...shop, socks }
}

describe('catalog.explainPrice', () => {
  it('reports the base price, the tier for the quantity and the list price, the list overriding both', async () => {
    const { commerce, socks } = await pricedShop({ priceSources: [priceList()] })
    expect(await commerce.catalog.explainPrice(socks, { currency: 'USD', customerId: WHOLESALE })).toEqual({
      variantId: socks,
      currency: 'USD',
      quantity: 1,
      customerId: WHOLESALE,
      channelId: null,
      amount: 9500,
      source: 'price-list',
      chain: [
        { source: 'base', kind: 'base', amount: 10000, minQuantity: 1, applied: false, overriddenBy: 'price-list' },
        { source: 'price-list', kind: 'source', amount: 9500, applied: true, label: 'wholesale-2026' },
      ],
      problem: null,
    })
    // From 10 pairs the tier (90.00) is below the list (95.00), but the list's priority is above
    // core's: a winning source replaces core's price, tiers included.
    const ten = await commerce.catalog.explainPrice(socks, { currency: 'usd', quantity: 10, customerId: WHOLESALE })
    expect(ten).toMatchObject({ amount: 9500, source: 'price-list', quantity: 10 })
    expect(ten.chain).toEqual([
      { source: 'base', kind: 'base', amount: 10000, minQuantity: 1, applied: false, overriddenBy: 'price-list' },
      { source: 'tier', kind: 'tier', amount: 9000, minQuantity: 10, applied: false, overriddenBy: 'price-list' },
      { source: 'price-list', kind: 'source', amount: 9500, applied: true, label: 'wholesale-2026' },
    ])
  })

  it("gives a guest core's price: the base, or the tier overriding it, and lists no source that had no answer", async () => {
    const { commerce, socks } = await pricedShop({ priceSources: [priceList()] })
    expect(await commerce.catalog.explainPrice(socks, { currency: 'USD' })).toMatchObject({
      amount: 10000,
      source: 'base',
      customerId: null,
      chain: [{ source: 'base', kind: 'base', amount: 10000, minQuantity: 1, applied: true }],
    })
    expect(await commerce.catalog.explainPrice(socks, { currency: 'USD', quantity: 12 })).toMatchObject({
      amount: 9000,
      source: 'tier',
      chain: [
        { source: 'base', amount: 10000, applied: false, overriddenBy: 'tier' },
        { source: 'tier', amount: 9000, minQuantity: 10, applied: true },
      ],
    })
  })

  it('says clearly that a variant has no price in a currency, or none for so few units', async () => {
    const { commerce, socks, variantId } = await pricedShop({ priceSources: [priceList()] })
    expect(await commerce.catalog.explainPrice(socks, { currency: 'EUR', customerId: WHOLESALE })).toEqual({
      variantId: socks,
      currency: 'EUR',
      quantity: 1,
      customerId: WHOLESALE,
      channelId: null,
      amount: null,
      source: null,
      chain: [],
      problem: `Variant ${socks} has no EUR price, and no price source answered`,
    })
    await commerce.catalog.setPrices(variantId, [{ currency: 'USD', amount: 5000, minQuantity: 5 }])
    const few = await commerce.catalog.explainPrice(variantId, { currency: 'USD', quantity: 2 })
    expect(few).toMatchObject({ amount: null, source: null, chain: [] })
    expect(few.problem).toBe(`Variant ${variantId} has no USD price for 2 units (its first USD tier starts at 5), and no price source answered`)
  })

  it('is NOT_FOUND for an unknown variant and VALIDATION naming the field for bad input', async () => {
    const { commerce, socks } = await pricedShop({ priceSources: [priceList()] })
    const missing = await failure(commerce.catalog.explainPrice('var_missing', { currency: 'USD' }), 'NOT_FOUND')
    expect(missing.message).toContain('var_missing')
    expect((await failure(commerce.catalog.explainPrice('', { currency: 'USD' }), 'VALIDATION')).details.fields).toEqual(['variantId'])
    const cases: Array<[unknown, string]> = [
      [{ currency: 'XXX' }, 'currency'],
      [{}, 'currency'],
      [{ currency: 'USD', quantity: 0 }, 'quantity'],
      [{ currency: 'USD', quantity: 1.5 }, 'quantity'],
      [{ currency: 'USD', customerId: '' }, 'customerId'],
      [{ currency: 'USD', channelId: 7 }, 'channelId'],
      [{ currency: 'USD', price: 1 }, 'price'],
    ]
    for (const [input, field] of cases) {
      const error = await failure(commerce.catalog.explainPrice(socks, input as never), 'VALIDATION', JSON.stringify(input))
      expect(error.details.fields, JSON.stringify(input)).toEqual([field])
    }
  })
})

describe('price sources', () => {
  describe.each(GUARDED_STORAGES)('on %s', (storage) => {
    it("price a customer's cart by their list: line unit price, totals, and the placed order's lines", async () => {
      const asked: Asked = []
      const { commerce, socks, variantId, payments } = await pricedShop({ storage, priceSources: [priceList(asked)] })
      let cart = await commerce.carts.create({ currency: 'USD', customerId: WHOLESALE })
      // The cart a change returns is priced by the list already, not only the next read of it.
      cart = await commerce.carts.addItem(cart.id, { variantId: socks, quantity: 2 })
      expect(cart.lines[0]).toMatchObject({ unitPrice: 9500, subtotal: 19000 })
      cart = await commerce.carts.updateItem(cart.id, cart.lines[0]!.id, { quantity: 10 })
      expect(cart.lines[0]).toMatchObject({ unitPrice: 9500, subtotal: 95000 })
      // The shoe is not on the list: core's price.
      cart = await commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
      await commerce.carts.update(cart.id, { email: 'buyer@example.com', shippingAddress: address })
      cart = await commerce.carts.setShippingOption(cart.id, 'flat:standard')
      expect(cart.lines.map((l) => [l.variantId, l.unitPrice])).toEqual([
        [socks, 9500],
        [variantId, 12900],
      ])
      // 10 × 95.00 + 129.00; shipping 5.00; tax 8 % of each line and of shipping.
      expect(cart.totals).toMatchObject({ subtotal: 107900, discountTotal: 0, shippingTotal: 500, taxTotal: 7600 + 1032 + 40, total: 107900 + 500 + 8672 })
      expect(await commerce.carts.get(cart.id)).toEqual(cart)

      // One call per cart load, all its lines at once, with core's price for each line's quantity.
      asked.length = 0
      await commerce.carts.get(cart.id)
      expect(asked).toEqual([
        {
          currency: 'USD',
          customerId: WHOLESALE,
          channelId: null,
          cartId: cart.id,
          lines: [
            { variantId: socks, quantity: 10, base: 9000 },
            { variantId, quantity: 1, base: 12900 },
          ],
        },
      ])

      const order = placed(await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(order.lines.map((l) => [l.sku, l.unitPrice, l.subtotal])).toEqual([
        ['SOCKS', 9500, 95000],
        ['TR-42-BLU', 12900, 12900],
      ])
      expect(order.totals).toEqual(cart.totals)
      const persisted = await commerce.db.selectFrom('cw_order_lines').select(['sku', 'unit_price', 'subtotal']).where('order_id', '=', order.id).orderBy('position').execute()
      expect(persisted.map((l) => [l.sku, Number(l.unit_price), Number(l.subtotal)])).toEqual([
        ['SOCKS', 9500, 95000],
        ['TR-42-BLU', 12900, 12900],
      ])
      expect(Number((await commerce.db.selectFrom('cw_orders').select('total').where('id', '=', order.id).executeTakeFirstOrThrow()).total)).toBe(cart.totals.total)
      expect(payments.calls.filter((c) => c.operation === 'authorize').map((c) => c.amount)).toEqual([cart.totals.total])
    })
  })

  it("leave a guest's cart at core's prices", async () => {
    const { commerce, socks } = await pricedShop({ priceSources: [priceList()] })
    let cart = await commerce.carts.create({ currency: 'USD' })
    cart = await commerce.carts.addItem(cart.id, { variantId: socks, quantity: 10 })
    expect(cart.lines[0]).toMatchObject({ unitPrice: 9000, subtotal: 90000 })
  })

  it('change nothing when none is configured: core prices carts and explanations as before', async () => {
    const { commerce, socks } = await pricedShop()
    let cart = await commerce.carts.create({ currency: 'USD', customerId: WHOLESALE })
    cart = await commerce.carts.addItem(cart.id, { variantId: socks, quantity: 1 })
    expect(cart.lines[0]).toMatchObject({ unitPrice: 10000, subtotal: 10000 })
    cart = await commerce.carts.updateItem(cart.id, cart.lines[0]!.id, { quantity: 10 })
    expect(cart.lines[0]).toMatchObject({ unitPrice: 9000, subtotal: 90000 })
    expect((await commerce.carts.get(cart.id)).lines[0]).toMatchObject({ unitPrice: 9000 })
    expect(await commerce.catalog.explainPrice(socks, { currency: 'USD', quantity: 10, customerId: WHOLESALE })).toMatchObject({
      amount: 9000,
      source: 'tier',
      chain: [{ source: 'base', overriddenBy: 'tier' }, { source: 'tier', applied: true }],
    })
  })

  it('follow one precedence: the highest priority wins, ties go to the source given first, core before them', async () => {
    const sources = [
      fixed('first-at-20', 20, { amount: 7000 }),
      fixed('at-5', 5, { amount: 8000 }),
      fixed('second-at-20', 20, { amount: 6000 }),
      fixed('core-equal', 0, { amount: 100 }),
    ]
    const { commerce, socks } = await pricedShop({ priceSources: sources })
    const explained = await commerce.catalog.explainPrice(socks, { currency: 'USD' })
    // Weakest first: a source at 0 ranks below core; of two at 20 the one given first wins.
    expect(explained.chain.map((s) => [s.source, s.amount, s.applied, s.overriddenBy])).toEqual([
      ['core-equal', 100, false, 'first-at-20'],
      ['base', 10000, false, 'first-at-20'],
      ['at-5', 8000, false, 'first-at-20'],
      ['second-at-20', 6000, false, 'first-at-20'],
      ['first-at-20', 7000, true, undefined],
    ])
    let cart = await commerce.carts.create({ currency: 'USD' })
    cart = await commerce.carts.addItem(cart.id, { variantId: socks, quantity: 1 })
    expect(cart.lines[0]!.unitPrice).toBe(7000)
  })

  it('at priority 0 or below price only what core cannot: a line whose variant lost its price', async () => {
    const { commerce, socks } = await pricedShop({ priceSources: [fixed('price-on-request', -1, { amount: 4200, note: 'quoted' })] })
    let cart = await commerce.carts.create({ currency: 'USD' })
    cart = await commerce.carts.addItem(cart.id, { variantId: socks, quantity: 1 })
    expect(cart.lines[0]!.unitPrice).toBe(10000)
    await commerce.catalog.setPrices(socks, [{ currency: 'EUR', amount: 9000 }])
    expect((await commerce.carts.get(cart.id)).lines[0]).toMatchObject({ unitPrice: 4200, subtotal: 4200 })
    expect(await commerce.catalog.explainPrice(socks, { currency: 'USD' })).toMatchObject({
      amount: 4200,
      source: 'price-on-request',
      chain: [{ source: 'price-on-request', kind: 'source', amount: 4200, applied: true, note: 'quoted' }],
      problem: null,
    })
  })

  const badAnswers: Array<[string, (query: PriceQuery) => unknown]> = [
    ['a negative amount', (q) => q.lines.map(() => ({ amount: -1 }))],
    ['a fractional amount', (q) => q.lines.map(() => ({ amount: 95.5 }))],
    ['an amount past 2^53 − 1', (q) => q.lines.map(() => ({ amount: 2 ** 53 }))],
    ['an amount as a string', (q) => q.lines.map(() => ({ amount: '9500' }))],
    ['a bare number', (q) => q.lines.map(() => 9500)],
    ['a label that is not a string', (q) => q.lines.map(() => ({ amount: 9500, label: 7 }))],
    ['one answer too few', (q) => q.lines.slice(1).map(() => ({ amount: 9500 }))],
    ['one answer too many', (q) => [...q.lines, q.lines[0]].map(() => ({ amount: 9500 }))],
    ['no array', () => ({ amount: 9500 })],
  ]

  it.each(badAnswers)('refuse %s with PROVIDER naming the source, and leave the cart as it was', async (_, answer) => {
    let broken = false
    const source: PriceSource = { id: 'broken-list', priority: 10, resolve: (query) => (broken ? answer(query) : query.lines.map(() => undefined)) as never }
    const { commerce, socks } = await pricedShop({ priceSources: [source] })
    const cart = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(cart.id, { variantId: socks, quantity: 1 })
    const before = await commerce.db.selectFrom('cw_carts').select(['version', 'updated_at']).where('id', '=', cart.id).executeTakeFirstOrThrow()
    broken = true
    for (const call of [
      () => commerce.carts.get(cart.id),
      () => commerce.carts.addItem(cart.id, { variantId: socks, quantity: 1 }),
      () => commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }),
      () => commerce.catalog.explainPrice(socks, { currency: 'USD' }),
    ]) {
      const error = await failure(call(), 'PROVIDER')
      expect(error.message).toMatch(/^Price source broken-list /)
      expect(error.details.source).toBe('broken-list')
    }
    expect(await commerce.db.selectFrom('cw_cart_lines').select(['variant_id', 'quantity']).where('cart_id', '=', cart.id).execute()).toEqual([{ variant_id: socks, quantity: 1 }])
    expect(await commerce.db.selectFrom('cw_carts').select(['version', 'updated_at']).where('id', '=', cart.id).executeTakeFirstOrThrow()).toEqual(before)
    expect(await commerce.db.selectFrom('cw_payments').select('id').execute()).toEqual([])
  })

  it('turn a source that throws into PROVIDER naming it, and let its own CommerceError through', async () => {
    const { commerce, socks } = await pricedShop({
      priceSources: [{ id: 'flaky', priority: 1, resolve: () => Promise.reject(new TypeError('list not loaded')) }],
    })
    const error = await failure(commerce.catalog.explainPrice(socks, { currency: 'USD' }), 'PROVIDER')
    expect(error.message).toBe('Price source flaky failed: list not loaded')
    expect(error.details.source).toBe('flaky')
    expect(error.cause).toBeInstanceOf(TypeError)
    const own = new CommerceError('INVALID_STATE', 'The price list of this customer has expired')
    const strict = await pricedShop({ priceSources: [{ id: 'expiring', priority: 1, resolve: () => Promise.reject(own) }] })
    expect(await failure(strict.commerce.catalog.explainPrice(strict.socks, { currency: 'USD' }), 'INVALID_STATE')).toBe(own)
  })

  it('are checked by createCommerce: each a source, ids unique and not core’s', async () => {
    const cases: Array<[unknown[], string]> = [
      [[priceList(), priceList()], 'priceSources.1.id: two price sources share the id "price-list"'],
      [[fixed('base', 5, undefined)], `priceSources.0.id: "base" is core's own price; use another id`],
      [[fixed('tier', 5, undefined)], `priceSources.0.id: "tier" is core's own price; use another id`],
      [[{ id: 'x', priority: 1 }], 'priceSources.0: not a price source'],
      [[{ id: 'x', priority: Number.NaN, resolve: () => [] }], 'priceSources.0: not a price source'],
      [[{ id: '', priority: 1, resolve: () => [] }], 'priceSources.0: not a price source'],
    ]
    for (const [priceSources, message] of cases) {
      const error = await failure(openShop({ priceSources: priceSources as PriceSource[] }), 'CONFIGURATION', message)
      expect(error.message).toContain(message)
    }
  })
})
