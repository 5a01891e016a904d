import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixedRateTax, type Adjustment, type Cart, type Commerce, type Order, type TaxInput, type TaxProvider } from '@cartwright/core'
import { address, checkout, failure, GUARDED_STORAGES, openShop, readyCart, type Shop } from '../support/index.js'

/**
 * Discounts applied by `cart.adjust` hooks are kept with the order (`Order.adjustments`,
 * `cw_order_adjustments`): per line and on shipping, with their source, adding up to what the
 * shopper was charged less. Shipping discounts come off the shipping amount, never below 0, and tax
 * on shipping is on what is left. `Cart.version` moves with every change to the cart.
 */

/** The shop's 8% tax, recording what it was asked. */
function recordingTax(): TaxProvider & { inputs: TaxInput[] } {
  const inner = fixedRateTax({ rate: '8' })
  const inputs: TaxInput[] = []
  return {
    id: inner.id,
    inputs,
    calculate(input, db) {
      inputs.push(structuredClone(input))
      return inner.calculate(input, db)
    },
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

/** The rows kept for an order, read from storage. */
async function storedRows(commerce: Commerce, orderId: string) {
  const rows = await commerce.db.selectFrom('cw_order_adjustments').selectAll().where('order_id', '=', orderId).execute()
  return rows.map((r) => ({ ...r, amount: Number(r.amount) }))
}

describe.each(GUARDED_STORAGES)('order adjustments, on %s', (storage) => {
  let shop: Shop
  let tax: ReturnType<typeof recordingTax>
  beforeAll(async () => {
    tax = recordingTax()
    shop = await openShop({ storage, stock: 50, tax })
  })
  afterAll(async () => {
    await shop?.close()
  })

  /** Registers `cart.adjust` pushing `make(cart)`; returns the function that removes it. */
  function adjusting(make: (cart: Cart) => Adjustment[]): () => void {
    return shop.commerce.hooks.hook('cart.adjust', ({ cart, adjustments }) => {
      adjustments.push(...make(cart))
    })
  }

  /** A cart of two lines: the Trail Runner 42 blue ×1 and 42 black ×2, ready to check out. */
  async function twoLineCart(): Promise<{ cart: Cart; blue: string; black: string }> {
    const { commerce, shoe } = shop
    const blueVariant = shoe.variants[0]!.id
    const blackVariant = shoe.variants.find((v) => v.sku === 'TR-42-BLK')!.id
    const cart = await readyCart(commerce, blueVariant, 1)
    const withBlack = await commerce.carts.addItem(cart.id, { variantId: blackVariant, quantity: 2 })
    const line = (variantId: string) => withBlack.lines.find((l) => l.variantId === variantId)!.id
    return { cart: withBlack, blue: line(blueVariant), black: line(blackVariant) }
  }

  it('keeps a discount on one line, a cart-wide one and a shipping one with the order, per line and on shipping', async () => {
    const { commerce } = shop
    const remove = adjusting((cart) => {
      const black = cart.lines.filter((l) => l.sku === 'TR-42-BLK').map((l) => l.id)
      return [
        { code: 'BLACK5', label: '5.00 off black', amount: 500, lineIds: black },
        { code: 'WELCOME', label: 'Welcome', amount: 1001, source: 'welcome-plugin' },
        { code: 'SHIP3', label: '3.00 off shipping', amount: 300, target: 'shipping' },
      ]
    })
    try {
      const { cart, blue, black } = await twoLineCart()
      const shipping = cart.shippingMethod!.amount
      expect(shipping).toBeGreaterThan(300)

      // The cart reports each adjustment as applied, with its target and source.
      expect(cart.adjustments).toEqual([
        { code: 'BLACK5', label: '5.00 off black', amount: 500, target: 'lines', lineIds: [black], source: 'BLACK5' },
        { code: 'WELCOME', label: 'Welcome', amount: 1001, target: 'lines', source: 'welcome-plugin' },
        { code: 'SHIP3', label: '3.00 off shipping', amount: 300, target: 'shipping', source: 'SHIP3' },
      ])
      expect(cart.totals.discountTotal).toBe(500 + 1001 + 300)
      expect(cart.totals.shippingTotal).toBe(shipping)
      expect(sum(cart.lines.map((l) => l.discountTotal))).toBe(500 + 1001)
      // Tax on shipping is on the discounted shipping: the provider was asked for it, and the
      // cart's tax beyond its lines' is 8% of it.
      expect(tax.inputs.at(-1)!.shipping?.amount).toBe(shipping - 300)
      expect(cart.totals.taxTotal - sum(cart.lines.map((l) => l.taxTotal))).toBe(((shipping - 300) * 8) / 100)
      const { subtotal, discountTotal, shippingTotal, taxTotal, total } = cart.totals
      expect(total).toBe(subtotal - discountTotal + shippingTotal + taxTotal)

      const order = await checkout(commerce, cart.id)
      expect(order.totals).toEqual(cart.totals)
      expect(shop.payments.calls.at(-1)).toMatchObject({ operation: 'authorize', amount: cart.totals.total })
      const lineOf = (cartLineId: string) => order.lines[cart.lines.findIndex((l) => l.id === cartLineId)]!.id
      const orderBlue = lineOf(blue)
      const orderBlack = lineOf(black)
      expect(order.adjustments).toEqual([
        { id: expect.any(String), lineId: orderBlack, target: 'lines', code: 'BLACK5', label: '5.00 off black', source: 'BLACK5', amount: 500, position: 0 },
        { id: expect.any(String), lineId: orderBlue, target: 'lines', code: 'WELCOME', label: 'Welcome', source: 'welcome-plugin', amount: expect.any(Number), position: 1 },
        { id: expect.any(String), lineId: orderBlack, target: 'lines', code: 'WELCOME', label: 'Welcome', source: 'welcome-plugin', amount: expect.any(Number), position: 1 },
        { id: expect.any(String), lineId: null, target: 'shipping', code: 'SHIP3', label: '3.00 off shipping', source: 'SHIP3', amount: 300, position: 2 },
      ])
      // WELCOME is split over what BLACK5 left of each line, within one unit, and adds up.
      const [welcomeBlue, welcomeBlack] = order.adjustments.filter((a) => a.code === 'WELCOME').map((a) => a.amount)
      const blueLeft = order.lines.find((l) => l.id === orderBlue)!.subtotal
      const blackLeft = order.lines.find((l) => l.id === orderBlack)!.subtotal - 500
      expect(welcomeBlue! + welcomeBlack!).toBe(1001)
      expect(Math.abs(welcomeBlue! * (blueLeft + blackLeft) - 1001 * blueLeft)).toBeLessThan(blueLeft + blackLeft)
      // Each line's adjustments add up to its discount, and all of them to the order's.
      for (const line of order.lines) {
        expect(sum(order.adjustments.filter((a) => a.lineId === line.id).map((a) => a.amount))).toBe(line.discountTotal)
      }
      expect(sum(order.adjustments.map((a) => a.amount))).toBe(order.totals.discountTotal)

      // Read back, one by one and listed, the same; and as stored.
      const read = await commerce.orders.get(order.id)
      expect(read.adjustments).toEqual(order.adjustments)
      expect(read.totals).toEqual(order.totals)
      const listed = await commerce.orders.list({ limit: 100 })
      expect(listed.items.find((o) => o.id === order.id)!.adjustments).toEqual(order.adjustments)
      const rows = await storedRows(commerce, order.id)
      expect(rows.map((r) => [r.id, r.line_id, r.target, r.code, r.source, r.amount, r.position]).sort()).toEqual(
        order.adjustments.map((a) => [a.id, a.lineId, a.target, a.code, a.source, a.amount, a.position]).sort(),
      )
      // The order.placed event carries them.
      const event = await commerce.db.selectFrom('cw_outbox').selectAll().where('type', '=', 'order.placed').execute()
      const placed = event.map((e) => JSON.parse(e.payload) as { order: Order }).find((p) => p.order.id === order.id)!
      expect(placed.order.adjustments).toEqual(order.adjustments)
    } finally {
      remove()
    }
  })

  it('takes a shipping discount off shipping only, never below 0: what is left of it goes to the next, and the cart reports what each took', async () => {
    const { commerce } = shop
    const remove = adjusting(() => [
      { code: 'FREESHIP', label: 'Free shipping', amount: 1_000_000, target: 'shipping' },
      { code: 'SHIPMORE', label: 'More off shipping', amount: 100, target: 'shipping', source: 'other-plugin' },
    ])
    try {
      const cart = await readyCart(commerce, shop.variantId, 1)
      const shipping = cart.shippingMethod!.amount
      expect(cart.adjustments.map((a) => [a.code, a.amount])).toEqual([
        ['FREESHIP', shipping],
        ['SHIPMORE', 0],
      ])
      expect(cart.lines[0]!.discountTotal).toBe(0)
      expect(cart.totals).toMatchObject({ discountTotal: shipping, shippingTotal: shipping })
      expect(tax.inputs.at(-1)!.shipping?.amount).toBe(0)
      expect(cart.totals.taxTotal).toBe(cart.lines[0]!.taxTotal)
      expect(cart.totals.total).toBe(cart.lines[0]!.total)

      const order = await checkout(commerce, cart.id)
      expect(order.totals).toEqual(cart.totals)
      // The one that took nothing is not kept.
      expect(order.adjustments).toEqual([
        { id: expect.any(String), lineId: null, target: 'shipping', code: 'FREESHIP', label: 'Free shipping', source: 'FREESHIP', amount: shipping, position: 0 },
      ])
      expect(await storedRows(commerce, order.id)).toHaveLength(1)
    } finally {
      remove()
    }
  })

  it('keeps an adjustment only on the lines it took money off', async () => {
    const { commerce } = shop
    // One minor unit over two lines: one line gets it, the other nothing.
    const remove = adjusting(() => [{ code: 'CENT', label: 'A cent off', amount: 1 }])
    try {
      const { cart } = await twoLineCart()
      expect(cart.lines.map((l) => l.discountTotal).sort()).toEqual([0, 1])
      const order = await checkout(commerce, cart.id)
      const discounted = order.lines.find((l) => l.discountTotal === 1)!
      expect(order.adjustments).toEqual([
        { id: expect.any(String), lineId: discounted.id, target: 'lines', code: 'CENT', label: 'A cent off', source: 'CENT', amount: 1, position: 0 },
      ])
      expect(await storedRows(commerce, order.id)).toHaveLength(1)
    } finally {
      remove()
    }
  })

  it('takes nothing off shipping while no shipping option is chosen', async () => {
    const { commerce } = shop
    const remove = adjusting(() => [{ code: 'FREESHIP', label: 'Free shipping', amount: 500, target: 'shipping' }])
    try {
      const cart = await commerce.carts.create({ currency: 'USD' })
      const withLine = await commerce.carts.addItem(cart.id, { variantId: shop.variantId, quantity: 1 })
      expect(withLine.shippingMethod).toBeNull()
      expect(withLine.adjustments).toEqual([{ code: 'FREESHIP', label: 'Free shipping', amount: 0, target: 'shipping', source: 'FREESHIP' }])
      expect(withLine.totals).toMatchObject({ discountTotal: 0, shippingTotal: 0 })
    } finally {
      remove()
    }
  })

  it('keeps no adjustments for an order placed without discounts', async () => {
    const { commerce } = shop
    const order = await checkout(commerce, (await readyCart(commerce, shop.variantId, 1)).id)
    expect(order.adjustments).toEqual([])
    expect((await commerce.orders.get(order.id)).adjustments).toEqual([])
    expect(await storedRows(commerce, order.id)).toEqual([])
  })

  it.each([
    ['a negative amount', { code: 'BAD', label: 'Bad', amount: -1 }, 'adjustments.0.amount'],
    ['a fractional amount', { code: 'BAD', label: 'Bad', amount: 1.5 }, 'adjustments.0.amount'],
    ['an unknown target', { code: 'BAD', label: 'Bad', amount: 1, target: 'tax' }, 'adjustments.0.target'],
    ['lineIds on a shipping adjustment', { code: 'BAD', label: 'Bad', amount: 1, target: 'shipping', lineIds: ['line_x'] }, 'adjustments.0.lineIds'],
    ['no code', { label: 'Bad', amount: 1 }, 'adjustments.0.code'],
    ['no label', { code: 'BAD', amount: 1 }, 'adjustments.0.label'],
    ['an empty source', { code: 'BAD', label: 'Bad', amount: 1, source: '' }, 'adjustments.0.source'],
  ])('refuses %s pushed by cart.adjust with VETOED naming the field, and leaves the cart as it was', async (_, adjustment, path) => {
    const { commerce } = shop
    const cart = await readyCart(commerce, shop.variantId, 1)
    const before = await commerce.db.selectFrom('cw_carts').selectAll().where('id', '=', cart.id).executeTakeFirstOrThrow()
    const remove = adjusting(() => [adjustment as Adjustment])
    try {
      const error = await failure(commerce.carts.updateItem(cart.id, cart.lines[0]!.id, { quantity: 2 }), 'VETOED')
      expect(error.details).toEqual({ hook: 'cart.adjust', issues: [{ path, message: expect.any(String) }] })
      await failure(checkout(commerce, cart.id), 'VETOED')
    } finally {
      remove()
    }
    expect(await commerce.db.selectFrom('cw_carts').selectAll().where('id', '=', cart.id).executeTakeFirstOrThrow()).toEqual(before)
    expect((await commerce.carts.get(cart.id)).lines.map((l) => l.quantity)).toEqual([1])
  })

  it('moves Cart.version with every change to the cart, and only then', async () => {
    const { commerce, shoe } = shop
    const versions: number[] = []
    const stored = async (id: string) => (await commerce.db.selectFrom('cw_carts').select('version').where('id', '=', id).executeTakeFirstOrThrow()).version
    let cart = await commerce.carts.create({ currency: 'USD' })
    versions.push(cart.version)
    cart = await commerce.carts.addItem(cart.id, { variantId: shop.variantId, quantity: 1 })
    versions.push(cart.version)
    cart = await commerce.carts.addItem(cart.id, { variantId: shoe.variants[1]!.id, quantity: 1 })
    versions.push(cart.version)
    cart = await commerce.carts.updateItem(cart.id, cart.lines[0]!.id, { quantity: 2 })
    versions.push(cart.version)
    cart = await commerce.carts.removeItem(cart.id, cart.lines[1]!.id)
    versions.push(cart.version)
    cart = await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
    versions.push(cart.version)
    cart = await commerce.carts.setShippingOption(cart.id, 'flat:standard')
    versions.push(cart.version)
    for (let i = 1; i < versions.length; i++) expect(versions[i], `change ${i}`).toBeGreaterThan(versions[i - 1]!)
    expect(cart.version).toBe(await stored(cart.id))
    // Reading changes nothing; a refused change neither.
    expect((await commerce.carts.get(cart.id)).version).toBe(cart.version)
    await failure(commerce.carts.updateItem(cart.id, cart.lines[0]!.id, { quantity: 1_000_000 }), 'VALIDATION')
    expect((await commerce.carts.get(cart.id)).version).toBe(cart.version)
    expect(await stored(cart.id)).toBe(cart.version)
  })
})
