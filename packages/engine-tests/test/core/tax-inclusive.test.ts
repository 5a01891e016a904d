import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { fixedRateTax, flatRateShipping, type Commerce, type TaxProvider, type TaxRounding } from '@cartwright/core'
import { address, assertTotalsViews, failure, GUARDED_STORAGES, key, openShop, placed, type Shop, type StorageKind } from '../support/index.js'

/**
 * Tax through the engine (issue 12, done-means 1 and 2): tax-inclusive prices back-calculated so
 * that net + tax = gross, each rounding policy, tax classes, tax lines persisted with the order on
 * its lines and its shipping, the pricing order (shipping quoted on the discounted subtotal, then
 * shipping discounts), and a tax provider's wrong answers refused.
 */

const vat20 = () => fixedRateTax({ rate: '20', jurisdiction: 'GB', name: 'VAT', classes: { books: '0', reduced: '5' } })

describe.each(GUARDED_STORAGES)('tax on %s', (storage: StorageKind) => {
  let shop: Shop | undefined
  afterEach(async () => {
    await shop?.close()
    shop = undefined
  })

  /** A shop with 20% VAT, a product at `amount` in `currency`, and flat shipping at `shipping`. */
  async function vatShop(options: { amount: number; currency?: string; shipping?: number; rounding?: Partial<TaxRounding>; inclusive?: boolean; taxClass?: string }) {
    const currency = options.currency ?? 'GBP'
    shop = await openShop({
      storage,
      tax: vat20(),
      pricesIncludeTax: options.inclusive ?? true,
      shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { [currency]: options.shipping ?? 0 } }] })],
      ...(options.rounding ? { taxRounding: options.rounding } : {}),
    })
    const product = await shop.commerce.catalog.createProduct({
      title: 'Item',
      variants: [{ sku: 'ITEM', manageInventory: false, ...(options.taxClass ? { taxClass: options.taxClass } : {}), prices: [{ currency, amount: options.amount }] }],
    })
    return { commerce: shop.commerce, variantId: product.variants[0]!.id, currency }
  }

  async function ready(commerce: Commerce, variantId: string, quantity: number, currency: string) {
    const cart = await commerce.carts.create({ currency })
    await commerce.carts.addItem(cart.id, { variantId, quantity })
    await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
    return commerce.carts.setShippingOption(cart.id, 'flat:standard')
  }

  it('backs tax out of tax-inclusive prices: 100.00 is 83.33 + 16.67, shipping 5.00 is 4.17 + 0.83, the order 105.00 with 17.50 tax, all persisted', async () => {
    const { commerce, variantId, currency } = await vatShop({ amount: 10000, shipping: 500 })
    const cart = await ready(commerce, variantId, 1, currency)
    expect(cart.taxInclusive).toBe(true)
    const line = cart.lines[0]!
    expect(line).toMatchObject({ unitPrice: 10000, subtotal: 10000, taxTotal: 1667, total: 10000, taxInclusive: true, net: { subtotal: 8333, total: 8333 }, gross: { subtotal: 10000, total: 10000 } })
    expect(line.taxLines).toEqual([{ jurisdiction: 'GB', name: 'VAT', taxClass: null, rate: '20', taxableBase: 8333, amount: 1667, note: null }])
    expect(cart.shippingTaxLines).toEqual([{ jurisdiction: 'GB', name: 'VAT', taxClass: null, rate: '20', taxableBase: 417, amount: 83, note: null }])
    expect(cart.totals).toMatchObject({ subtotal: 10000, shippingTotal: 500, taxTotal: 1750, total: 10500, taxInclusive: true, net: { subtotal: 8333, shippingTotal: 417 }, gross: { subtotal: 10000, shippingTotal: 500 } })
    assertTotalsViews(cart.totals)

    const order = placed(await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    expect(order.totals).toEqual(cart.totals)
    expect(order.lines[0]).toMatchObject({ taxLines: line.taxLines, net: line.net, gross: line.gross, taxInclusive: true })
    expect(order.shippingTaxLines).toEqual(cart.shippingTaxLines)
    expect(order.payments.map((p) => p.amount)).toEqual([10500])
    // The columns: without tax in the checked ones, with tax beside them.
    const row = await commerce.db.selectFrom('cw_orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow()
    expect([row.subtotal, row.shipping_total, row.tax_total, row.total, row.gross_subtotal, row.gross_shipping_total, row.tax_inclusive].map(Number)).toEqual([8333, 417, 1750, 10500, 10000, 500, 1])
    expect((await commerce.orders.get(order.id)).totals).toEqual(cart.totals)
  })

  it('rounds 10 × 38.23 by the policy: per unit 63.70 (31.86 net a unit), per line 63.72 (318.58 net)', async () => {
    for (const [level, tax, net] of [['unit', 6370, 31860], ['line', 6372, 31858]] as const) {
      const { commerce, variantId, currency } = await vatShop({ amount: 3823, rounding: { level } })
      const cart = await ready(commerce, variantId, 10, currency)
      expect(cart.lines[0]).toMatchObject({ subtotal: 38230, taxTotal: tax, net: { total: net } })
      const order = placed(await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(order.totals).toMatchObject({ taxTotal: tax, total: 38230 })
      await shop!.close()
      shop = undefined
    }
  })

  it('keeps JPY and KWD amounts in their own minor units: 1000 yen is 1000, 1.234 KWD is 1234', async () => {
    for (const [currency, amount] of [['JPY', 1000], ['KWD', 1234]] as const) {
      const { commerce, variantId } = await vatShop({ amount, currency, inclusive: false })
      const cart = await ready(commerce, variantId, 1, currency)
      expect(cart.lines[0]!.unitPrice).toBe(amount)
      expect(cart.totals).toMatchObject({ subtotal: amount, taxTotal: Math.round(amount * 0.2), total: amount + Math.round(amount * 0.2) })
      await shop!.close()
      shop = undefined
    }
  })

  it('taxes by class, and a price entered without tax in a tax-inclusive shop gets tax on top', async () => {
    const { commerce, currency } = await vatShop({ amount: 100 })
    const book = await commerce.catalog.createProduct({ title: 'Book', variants: [{ sku: 'BOOK', manageInventory: false, taxClass: 'books', prices: [{ currency, amount: 1200 }] }] })
    const net = await commerce.catalog.createProduct({ title: 'Trade', variants: [{ sku: 'NET', manageInventory: false, prices: [{ currency, amount: 1000, taxInclusive: false }] }] })
    expect(book.variants[0]!.taxClass).toBe('books')
    expect(net.variants[0]!.prices[0]!.taxInclusive).toBe(false)
    const cart = await commerce.carts.create({ currency })
    await commerce.carts.addItem(cart.id, { variantId: book.variants[0]!.id, quantity: 1 })
    const priced = await commerce.carts.addItem(cart.id, { variantId: net.variants[0]!.id, quantity: 1 })
    const [b, n] = priced.lines
    expect(b).toMatchObject({ taxClass: 'books', taxTotal: 0, total: 1200, taxLines: [{ rate: '0', taxClass: 'books', amount: 0 }] })
    expect(n).toMatchObject({ taxInclusive: false, subtotal: 1000, taxTotal: 200, total: 1200, net: { total: 1000 }, gross: { total: 1200 } })
    // Shown tax-inclusive: the net price is shown with its tax.
    expect(priced.totals).toMatchObject({ subtotal: 2400, total: 2400, taxTotal: 200 })
    assertTotalsViews(priced.totals)
  })

  it('quotes shipping on the subtotal after line discounts, then takes shipping discounts off the quoted charge', async () => {
    shop = await openShop({
      storage,
      tax: vat20(),
      shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 1000 }, freeAbove: { USD: 12000 } }] })],
    })
    const { commerce, variantId } = shop // 129.00 a unit
    const lineOff = commerce.hooks.hook('cart.adjust', ({ adjustments }) => {
      adjustments.push({ code: 'TEN', label: '10.00 off', amount: 1000 })
    })
    const halfShipping = commerce.hooks.hook('cart.adjustShipping', ({ shipping, adjustments }) => {
      adjustments.push({ code: 'HALFSHIP', label: 'Half-price shipping', amount: Math.floor(shipping.amount / 2), target: 'shipping' })
    })
    const cart = await ready(commerce, variantId, 1, 'USD')
    // 129.00 − 10.00 = 119.00 is below the 120.00 threshold: shipping is charged, then halved.
    expect(cart.shippingMethod!.amount).toBe(1000)
    expect(cart.adjustments.map((a) => [a.code, a.target, a.amount])).toEqual([['TEN', 'lines', 1000], ['HALFSHIP', 'shipping', 500]])
    expect(cart.totals).toMatchObject({ subtotal: 12900, discountTotal: 1500, shippingTotal: 1000, taxTotal: 2380 + 100, total: 11900 + 500 + 2480 })
    assertTotalsViews(cart.totals)
    lineOff()
    halfShipping()
    // Without the line discount the subtotal passes the threshold: free shipping.
    expect((await commerce.carts.get(cart.id)).shippingMethod!.amount).toBe(0)
  })

  it('shows cart.adjustShipping the shipping adjustments cart.adjust already pushed, read-only', async () => {
    shop = await openShop({ storage, shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 1000 } }] })] })
    const { commerce, variantId } = shop
    commerce.hooks.hook('cart.adjust', ({ adjustments }) => {
      adjustments.push({ code: 'SHIP3', label: '3.00 off shipping', amount: 300, target: 'shipping' })
    })
    const seen: unknown[] = []
    commerce.hooks.hook('cart.adjustShipping', ({ shipping, applied, adjustments }) => {
      seen.push(applied.map((a) => [a.code, a.amount]))
      expect(Object.isFrozen(applied)).toBe(true)
      const left = shipping.amount - applied.reduce((sum, a) => sum + a.amount, 0)
      adjustments.push({ code: 'REST', label: 'The rest of shipping', amount: left, target: 'shipping' })
    })
    const cart = await ready(commerce, variantId, 1, 'USD')
    expect(seen.at(-1)).toEqual([['SHIP3', 300]])
    // 10.00 shipping: 3.00 from cart.adjust and the 7.00 left from cart.adjustShipping; never more than the charge.
    expect(cart.adjustments.filter((a) => a.target === 'shipping').map((a) => [a.code, a.amount])).toEqual([['SHIP3', 300], ['REST', 700]])
    expect(cart.totals).toMatchObject({ shippingTotal: 1000, discountTotal: 1000 })
    assertTotalsViews(cart.totals)
  })

  it('refuses a cart.adjustShipping adjustment on lines with VETOED naming the field', async () => {
    shop = await openShop({ storage })
    const { commerce, variantId } = shop
    commerce.hooks.hook('cart.adjustShipping', ({ adjustments }) => {
      adjustments.push({ code: 'BAD', label: 'Bad', amount: 100 })
    })
    const cart = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
    await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
    const error = await failure(commerce.carts.setShippingOption(cart.id, 'flat:standard'), 'VETOED')
    expect(error.details).toMatchObject({ hook: 'cart.adjustShipping', issues: [{ path: 'adjustments.0.target' }] })
  })

  it('refuses a tax provider’s wrong answers with PROVIDER: an invalid rate, an unknown line, no jurisdiction', async () => {
    const answers: Array<TaxProvider['calculate']> = [
      (input) => ({ lines: input.lines.map((l) => ({ id: l.id, rates: [{ rate: '20%', jurisdiction: 'GB' }] })), shipping: [] }),
      (input) => ({ lines: [...input.lines.map((l) => ({ id: l.id, rates: [] })), { id: 'line_nope', rates: [] }], shipping: [] }),
      (input) => ({ lines: input.lines.map((l) => ({ id: l.id, rates: [{ rate: '20', jurisdiction: '' }] })), shipping: [] }),
      () => ({ lines: [] }) as never,
    ]
    let answer = answers[0]!
    shop = await openShop({ storage, tax: { id: 'wrong', calculate: (input, db) => answer(input, db) } })
    const { commerce, variantId } = shop
    const cart = await commerce.carts.create({ currency: 'USD' })
    for (const next of answers) {
      answer = next
      const error = await failure(commerce.carts.addItem(cart.id, { variantId, quantity: 1 }), 'PROVIDER')
      expect(error.details).toMatchObject({ provider: 'wrong' })
    }
    expect((await commerce.db.selectFrom('cw_cart_lines').select('id').where('cart_id', '=', cart.id).execute()).length).toBe(0)
  })
})

describe('tax through the engine, random carts (SQLite)', () => {
  it('for random prices, quantities, discounts, conventions and policies: lines and tax lines add up, net + tax = gross, nothing negative, the order keeps the cart’s totals', async () => {
    const policies: TaxRounding[] = (['unit', 'line', 'total'] as const).flatMap((level) => (['half-up', 'half-even'] as const).map((mode) => ({ level, mode })))
    for (const [p, policy] of policies.entries()) {
      for (const inclusive of [false, true]) {
        const shop = await openShop({ tax: fixedRateTax({ rate: '8.875', classes: { reduced: '5.5' } }), taxRounding: policy, pricesIncludeTax: inclusive, stock: 100_000 })
        try {
          const { commerce } = shop
          const variants = shop.shoe.variants
          await commerce.catalog.updateVariant(variants[1]!.id, { taxClass: 'reduced' })
          for (const v of variants.slice(1)) await commerce.inventory.setStock({ variantId: v.id, locationId: shop.warehouse.id, onHand: 100_000 })
          let discounts: Array<{ amount: number; line: number | null; shipping: boolean }> = []
          commerce.hooks.hook('cart.adjust', ({ cart, adjustments }) => {
            discounts.forEach((d, i) =>
              adjustments.push(d.shipping ? { code: `S${i}`, label: 'off shipping', amount: d.amount, target: 'shipping' } : { code: `D${i}`, label: 'off', amount: d.amount, ...(d.line !== null && cart.lines[d.line] ? { lineIds: [cart.lines[d.line]!.id] } : {}) }),
            )
          })
          await fc.assert(
            fc.asyncProperty(
              fc.array(fc.record({ variant: fc.integer({ min: 0, max: 3 }), quantity: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 4 }),
              fc.array(fc.record({ amount: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 10_000_000 })), line: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }), shipping: fc.boolean() }), { maxLength: 3 }),
              async (lines, ds) => {
                discounts = ds
                const cart = await commerce.carts.create({ currency: 'USD' })
                for (const l of lines) await commerce.carts.addItem(cart.id, { variantId: variants[l.variant]!.id, quantity: l.quantity })
                await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
                const priced = await commerce.carts.setShippingOption(cart.id, 'flat:standard')
                const t = priced.totals
                assertTotalsViews(t)
                expect(t.taxInclusive).toBe(inclusive)
                for (const amount of [t.subtotal, t.discountTotal, t.shippingTotal, t.taxTotal, t.total, ...Object.values(t.net), ...Object.values(t.gross)]) {
                  expect(Number.isSafeInteger(amount) && amount >= 0).toBe(true)
                }
                for (const line of priced.lines) {
                  expect(line.taxLines.reduce((a, x) => a + x.amount, 0)).toBe(line.taxTotal)
                  expect(line.net.total + line.taxTotal).toBe(line.gross.total)
                  expect(line.gross.total).toBe(line.total)
                  for (const view of [line.net, line.gross]) expect(view.subtotal - view.discountTotal).toBe(view.total)
                  expect(line.total >= 0 && line.net.discountTotal >= 0 && line.gross.discountTotal >= 0).toBe(true)
                }
                const lineTax = priced.lines.reduce((a, l) => a + l.taxTotal, 0)
                const shippingTax = priced.shippingTaxLines.reduce((a, x) => a + x.amount, 0)
                expect(lineTax + shippingTax).toBe(t.taxTotal)
                expect(priced.lines.reduce((a, l) => a + l.gross.total, 0) + t.gross.shippingTotal - (t.gross.discountTotal - priced.lines.reduce((a, l) => a + l.gross.discountTotal, 0))).toBe(t.total)
                if (p % 2 === 0) {
                  const order = placed(await commerce.checkout.complete(priced.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
                  expect(order.totals).toEqual(t)
                  expect(order.lines.map((l) => [l.taxLines, l.net, l.gross])).toEqual(priced.lines.map((l) => [l.taxLines, l.net, l.gross]))
                }
              },
            ),
            { numRuns: Number(process.env.TAX_ENGINE_RUNS ?? 25) },
          )
        } finally {
          await shop.close()
        }
      }
    }
  })
})
