import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { definePlugin } from '@cartwright/core'
import { REVERSE_CHARGE_NOTE } from '../src/index.js'
import { ADDRESSES, brief, openShop, rejection, STORAGES, type TaxShop } from './support.js'

const GERMAN_COMPANY = 'DE136695976'

describe.each(STORAGES)('tax rules through the engine on %s', (storage) => {
  let shop: TaxShop
  beforeAll(async () => {
    shop = await openShop(storage)
  })
  afterAll(async () => {
    await shop?.close()
  })

  /** The order as stored: its tax columns and its lines' tax lines, parsed back from the rows. */
  async function stored(orderId: string) {
    const [order] = await shop.rows('select tax_total, total, shipping_tax_lines from cw_orders where id = $1', orderId)
    const lines = await shop.rows('select variant_id, tax_total, tax_lines from cw_order_lines where order_id = $1 order by variant_id', orderId)
    return {
      taxTotal: Number(order!.tax_total),
      total: Number(order!.total),
      shippingTaxLines: JSON.parse(String(order!.shipping_tax_lines)).map(brief),
      lines: Object.fromEntries(lines.map((l) => [l.variant_id === shop.lamp ? 'lamp' : 'book', { taxTotal: Number(l.tax_total), taxLines: JSON.parse(String(l.tax_lines)).map(brief) }])),
    }
  }

  it('a French shop charges a German consumer German VAT (destination rule), per class, on the order as stored', async () => {
    const cart = await shop.cart(ADDRESSES.berlin)
    const order = await shop.checkout(cart.id)
    // Lamp 100.00 at 19% = 19.00; book 20.00 at the reduced 7% = 1.40; shipping 5.00 at 19% = 0.95.
    expect(await stored(order.id)).toEqual({
      taxTotal: 2135,
      total: 12000 + 500 + 2135,
      shippingTaxLines: [{ jurisdiction: 'DE', rate: '19', amount: 95, note: null }],
      lines: {
        lamp: { taxTotal: 1900, taxLines: [{ jurisdiction: 'DE', rate: '19', amount: 1900, note: null }] },
        book: { taxTotal: 140, taxLines: [{ jurisdiction: 'DE', rate: '7', amount: 140, note: null }] },
      },
    })
    expect(order.lines.find((l) => l.variantId === shop.lamp)!.taxLines.map(brief)).toEqual([{ jurisdiction: 'DE', rate: '19', amount: 1900, note: null }])
  })

  it('reverse-charges a German company that gave a valid VAT number for its guest cart: 0 with the legal note on every line and on shipping', async () => {
    const cart = await shop.cart(ADDRESSES.berlin, { vatNumber: 'de 136 695 976' })
    expect(await shop.commerce['tax-rules'].getCartProfile(cart.id)).toEqual({ cartId: cart.id, vatNumber: GERMAN_COMPANY, vatCountry: 'DE' })
    expect(cart.totals.taxTotal).toBe(0)
    const order = await shop.checkout(cart.id)
    const reverse = { jurisdiction: 'DE', rate: '0', amount: 0, note: REVERSE_CHARGE_NOTE }
    expect(await stored(order.id)).toEqual({
      taxTotal: 0,
      total: 12500,
      shippingTaxLines: [reverse],
      lines: { lamp: { taxTotal: 0, taxLines: [reverse] }, book: { taxTotal: 0, taxLines: [reverse] } },
    })
  })

  it('keeps the VAT number an order was placed with, for its invoice, and drops the cart\'s copy', async () => {
    const cart = await shop.cart(ADDRESSES.berlin, { vatNumber: GERMAN_COMPANY })
    const order = await shop.checkout(cart.id)
    expect(await shop.commerce['tax-rules'].getOrderProfile(order.id)).toEqual({ orderId: order.id, vatNumber: GERMAN_COMPANY, vatCountry: 'DE', exemption: null })
    expect(await shop.rows('select cart_id from tax_rules_cart_profiles where cart_id = $1', cart.id)).toEqual([])
    // A consumer's order has no tax profile.
    const consumer = await shop.checkout((await shop.cart(ADDRESSES.berlin)).id)
    expect(await shop.commerce['tax-rules'].getOrderProfile(consumer.id)).toBeNull()
  })

  it('exports a customer\'s tax profile and the profiles of their orders, and erases the customer\'s profile', async () => {
    const customer = await shop.commerce.customers.create({ email: 'privacy@example.de' })
    await shop.commerce['tax-rules'].setCustomerProfile(customer.id, { vatNumber: GERMAN_COMPANY })
    const order = await shop.checkout((await shop.cart(ADDRESSES.berlin, { customerId: customer.id })).id)
    const exported = await shop.commerce.privacy.export({ customerId: customer.id })
    expect(exported.plugins['tax-rules']).toEqual({
      profile: { customerId: customer.id, vatNumber: GERMAN_COMPANY, vatCountry: 'DE', exempt: false, exemptReason: null, exemptCertificate: null },
      orders: [{ orderId: order.id, vatNumber: GERMAN_COMPANY, vatCountry: 'DE', exemption: null }],
    })
    await shop.commerce.privacy.erase({ customerId: customer.id })
    expect(await shop.commerce['tax-rules'].getCustomerProfile(customer.id)).toBeNull()
    // The order's record stays with the order (invoices are kept by law).
    expect((await shop.commerce['tax-rules'].getOrderProfile(order.id))?.vatNumber).toBe(GERMAN_COMPANY)
  })

  it('Store and Admin endpoints: a cart\'s token holder sets its VAT number, a customer their own, staff the exemption', async () => {
    const call = async (method: string, path: string, input: unknown, actor: unknown) => {
      const e = shop.commerce.endpoints.find((r) => r.method === method && r.path === path)
      if (!e) throw new Error(`no route ${method} ${path}`)
      return await Promise.resolve(e.handler({ input: e.input ? e.input.parse(input) : undefined, actor: actor as never, commerce: shop.commerce }))
    }
    const cart = await shop.cart(ADDRESSES.berlin)
    const other = await shop.cart(ADDRESSES.berlin)
    // Another cart's token does not reach this cart.
    expect((await rejection(call('PUT', '/carts/:cartId/tax-profile', { cartId: cart.id, vatNumber: GERMAN_COMPANY }, { kind: 'cart', cartId: other.id }))).code).toBe('NOT_FOUND')
    expect(await shop.rows('select cart_id from tax_rules_cart_profiles where cart_id = $1', cart.id)).toEqual([])
    expect(await call('PUT', '/carts/:cartId/tax-profile', { cartId: cart.id, vatNumber: GERMAN_COMPANY }, { kind: 'cart', cartId: cart.id })).toEqual({ cartId: cart.id, vatNumber: GERMAN_COMPANY, vatCountry: 'DE' })
    expect((await shop.commerce.carts.get(cart.id)).totals.taxTotal).toBe(0)

    const customer = await shop.commerce.customers.create({ email: 'endpoints@example.org' })
    const me = { kind: 'customer', customerId: customer.id }
    expect(await call('GET', '/account/tax-profile', {}, me)).toBeNull()
    expect(await call('PUT', '/account/tax-profile', { vatNumber: 'ATU13585627' }, me)).toMatchObject({ vatNumber: 'ATU13585627', vatCountry: 'AT', exempt: false })
    // A customer cannot exempt themselves: the Store route has no such field.
    expect(() => shop.commerce.endpoints.find((r) => r.path === '/account/tax-profile' && r.method === 'PUT')!.input!.parse({ vatNumber: null, exempt: true })).toThrow()
    const staff = { kind: 'staff', staffId: 'st_1', permissions: [] }
    expect(await call('PATCH', '/customers/:customerId/tax-profile', { customerId: customer.id, exempt: true, exemptReason: 'Registered charity' }, staff)).toMatchObject({ vatNumber: 'ATU13585627', exempt: true, exemptReason: 'Registered charity' })
    expect(shop.commerce.endpoints.filter((e) => e.path.includes('tax-profile')).map((e) => `${e.surface} ${e.method} ${e.path} ${e.access}`)).toEqual([
      'store PUT /carts/:cartId/tax-profile cart',
      'store GET /carts/:cartId/tax-profile cart',
      'store GET /account/tax-profile customer',
      'store PUT /account/tax-profile customer',
      'admin GET /customers/:customerId/tax-profile staff',
      'admin PATCH /customers/:customerId/tax-profile staff',
      'admin GET /orders/:orderId/tax-profile staff',
    ])
  })

  it('charges French VAT to a French company (same country as the shop)', async () => {
    const cart = await shop.cart(ADDRESSES.paris, { vatNumber: 'FR40303265045' })
    // 100.00 at 20% + 20.00 at 5.5% + 5.00 at 20%.
    expect(cart.totals.taxTotal).toBe(2000 + 110 + 100)
  })

  it('reverse-charges a signed-in customer by their tax profile, and prices their open cart again when it changes', async () => {
    const customer = await shop.commerce.customers.create({ email: 'einkauf@example.de' })
    const cart = await shop.cart(ADDRESSES.berlin, { customerId: customer.id })
    expect(cart.totals.taxTotal).toBe(2135)
    await shop.commerce['tax-rules'].setCustomerProfile(customer.id, { vatNumber: GERMAN_COMPANY })
    const after = await shop.commerce.carts.get(cart.id)
    expect(after.version).toBeGreaterThan(cart.version)
    expect(after.totals.taxTotal).toBe(0)
    expect(after.lines.map((l) => l.taxLines.map(brief))).toEqual([[{ jurisdiction: 'DE', rate: '0', amount: 0, note: REVERSE_CHARGE_NOTE }], [{ jurisdiction: 'DE', rate: '0', amount: 0, note: REVERSE_CHARGE_NOTE }]])
  })

  it('stacks New York State, New York City and the MCTD surcharge on a Manhattan address; upstate pays the state rate only', async () => {
    const cart = await shop.cart(ADDRESSES.manhattan, { currency: 'USD' })
    const lamp = cart.lines.find((l) => l.variantId === shop.lamp)!
    const book = cart.lines.find((l) => l.variantId === shop.book)!
    expect(lamp.taxLines.map((t) => `${t.jurisdiction}:${t.rate}`)).toEqual(['US-NY:4', 'US-NY-MCTD:0.375', 'US-NY-NYC:4.5'])
    // 100.00 at 8.875% = 8.875 → 8.88; 20.00 at 8.875% = 1.775 → 1.78 (the book's class is not named in New York: taxed as standard).
    expect(lamp.taxTotal).toBe(888)
    expect(book.taxTotal).toBe(178)
    for (const line of [lamp, book]) expect(line.taxLines.reduce((s, t) => s + t.amount, 0)).toBe(line.taxTotal)
    // Shipping is not taxed in New York.
    expect(cart.totals.taxTotal).toBe(888 + 178)

    const upstate = await shop.cart(ADDRESSES.albany, { currency: 'USD' })
    expect(upstate.lines.find((l) => l.variantId === shop.lamp)!.taxLines.map(brief)).toEqual([{ jurisdiction: 'US-NY', rate: '4', amount: 400, note: null }])
    expect(upstate.lines.find((l) => l.variantId === shop.book)!.taxLines.map(brief)).toEqual([{ jurisdiction: 'US-NY', rate: '4', amount: 80, note: null }])
  })

  it('lets a postal area win over its country: Heligoland pays no German VAT', async () => {
    const cart = await shop.cart(ADDRESSES.helgoland)
    expect(cart.totals.taxTotal).toBe(0)
    expect(cart.lines.map((l) => l.taxLines.map((t) => `${t.jurisdiction}:${t.rate}`))).toEqual([['DE-HELGOLAND:0'], ['DE-HELGOLAND:0']])
  })

  it('applies the rate in force at the engine clock: Germany\'s 16% ends at midnight, Berlin time, on 2021-01-01', async () => {
    try {
      shop.setNow('2020-12-31T22:59:59.000Z')
      const cart = await shop.cart(ADDRESSES.berlin)
      // Lamp 100.00 at 16%, book at 7%, shipping 5.00 at 16%.
      expect(cart.totals.taxTotal).toBe(1600 + 140 + 80)
      shop.setNow('2020-12-31T23:00:00.000Z')
      const order = await shop.checkout(cart.id)
      expect((await stored(order.id)).lines.lamp).toEqual({ taxTotal: 1900, taxLines: [{ jurisdiction: 'DE', rate: '19', amount: 1900, note: null }] })
    } finally {
      shop.setNow('2026-03-01T10:00:00.000Z')
    }
  })

  it('exempts members of an exempt customer group, with the reason on each line', async () => {
    const customer = await shop.commerce.customers.create({ email: 'embassy@example.org' })
    await shop.commerce.customers.groups.create({ code: 'diplomats', name: 'Diplomatic missions' })
    const before = await shop.cart(ADDRESSES.paris, { customerId: customer.id })
    expect(before.totals.taxTotal).toBe(2210)
    await shop.commerce.customers.groups.addMember('diplomats', customer.id)
    const cart = await shop.commerce.carts.get(before.id)
    expect(cart.totals.taxTotal).toBe(0)
    const order = await shop.checkout(cart.id)
    const exempt = { jurisdiction: 'FR', rate: '0', amount: 0, note: 'Tax exempt: Diplomatic mission (Art. 151 Directive 2006/112/EC)' }
    expect(await stored(order.id)).toEqual({ taxTotal: 0, total: 12500, shippingTaxLines: [exempt], lines: { lamp: { taxTotal: 0, taxLines: [exempt] }, book: { taxTotal: 0, taxLines: [exempt] } } })
  })

  it('exempts a customer whose profile says so, with the reason and certificate', async () => {
    const customer = await shop.commerce.customers.create({ email: 'charity@example.org' })
    const cart = await shop.cart(ADDRESSES.paris, { customerId: customer.id })
    await shop.commerce['tax-rules'].setCustomerProfile(customer.id, { exempt: true, exemptReason: 'Registered charity', exemptCertificate: 'EX-2291' })
    const after = await shop.commerce.carts.get(cart.id)
    expect(after.totals.taxTotal).toBe(0)
    expect(after.lines[0]!.taxLines.map(brief)).toEqual([{ jurisdiction: 'FR', rate: '0', amount: 0, note: 'Tax exempt: Registered charity (certificate EX-2291)' }])
    // Lifting the exemption keeps the reason on file and charges VAT again.
    await shop.commerce['tax-rules'].setCustomerProfile(customer.id, { exempt: false })
    expect((await shop.commerce.carts.get(cart.id)).totals.taxTotal).toBe(2210)
  })

  it('refuses a VAT number with wrong check digits, naming the field, and changes nothing', async () => {
    const cart = await shop.cart(ADDRESSES.berlin)
    const failure = await rejection(shop.commerce['tax-rules'].setCartProfile(cart.id, { vatNumber: 'DE136695977' }))
    expect(failure).toMatchObject({ code: 'VALIDATION', fields: ['vatNumber'] })
    expect(failure.message).toMatch(/check digits/)
    expect(await shop.rows('select cart_id from tax_rules_cart_profiles where cart_id = $1', cart.id)).toEqual([])
    expect((await shop.commerce.carts.get(cart.id)).version).toBe(cart.version)

    const customer = await shop.commerce.customers.create({ email: 'nobody@example.org' })
    expect(await rejection(shop.commerce['tax-rules'].setCustomerProfile(customer.id, { vatNumber: 'FR41303265045' }))).toMatchObject({ code: 'VALIDATION', fields: ['vatNumber'] })
    expect(await rejection(shop.commerce['tax-rules'].setCustomerProfile(customer.id, { exempt: true }))).toMatchObject({ code: 'VALIDATION', fields: ['exemptReason'] })
    expect(await rejection(shop.commerce['tax-rules'].setCustomerProfile(customer.id, { vatNumber: GERMAN_COMPANY, colour: 'red' } as never))).toMatchObject({ code: 'VALIDATION' })
    expect(await shop.rows('select customer_id from tax_rules_profiles where customer_id = $1', customer.id)).toEqual([])
  })

  it('refuses a tax profile for an unknown cart and for one already ordered', async () => {
    expect(await rejection(shop.commerce['tax-rules'].setCartProfile('cart_missing', { vatNumber: GERMAN_COMPANY }))).toMatchObject({ code: 'NOT_FOUND' })
    const cart = await shop.cart(ADDRESSES.berlin)
    await shop.checkout(cart.id)
    expect(await rejection(shop.commerce['tax-rules'].setCartProfile(cart.id, { vatNumber: GERMAN_COMPANY }))).toMatchObject({ code: 'INVALID_STATE' })
    expect(await shop.rows('select cart_id from tax_rules_cart_profiles where cart_id = $1', cart.id)).toEqual([])
  })

  it('a checkout that priced the cart before the VAT number was given prices it again', async () => {
    const cart = await shop.cart(ADDRESSES.berlin)
    const profile = await shop.commerce['tax-rules'].setCartProfile(cart.id, { vatNumber: GERMAN_COMPANY })
    expect(profile.vatCountry).toBe('DE')
    const after = await shop.commerce.carts.get(cart.id)
    expect(after.version).toBe(cart.version + 1)
    const order = await shop.checkout(cart.id)
    expect(order.totals.taxTotal).toBe(0)
    // Removing the number of another cart brings its VAT back.
    const other = await shop.cart(ADDRESSES.berlin, { vatNumber: GERMAN_COMPANY })
    await shop.commerce['tax-rules'].setCartProfile(other.id, { vatNumber: null })
    expect((await shop.commerce.carts.get(other.id)).totals.taxTotal).toBe(2135)
  })
})

describe.each(STORAGES)('without @cartwright/customers on %s', (storage) => {
  it('group rules never match and pricing works', async () => {
    const shop = await openShop(storage, { withCustomers: false })
    try {
      const cart = await shop.cart(ADDRESSES.berlin, { customerId: 'cus_external' })
      expect(cart.totals.taxTotal).toBe(2135)
      const order = await shop.checkout(cart.id)
      expect(order.totals.taxTotal).toBe(2135)
    } finally {
      await shop.close()
    }
  })
})

describe.each(STORAGES)('a VAT number given while a checkout is under way on %s', (storage) => {
  it('the checkout that priced the cart before prices it again: the order is reverse-charged', async () => {
    // A plugin of the test's: when the checkout has priced the cart (with VAT) and before its
    // transaction, the guest gives a VAT number for the cart.
    let shop: TaxShop | null = null
    let given = 0
    const meanwhile = definePlugin({
      id: 'meanwhile',
      init({ hooks }) {
        hooks.hook('checkout.beforeComplete', async ({ cart, totals }) => {
          if (given > 0 || totals.taxTotal === 0) return
          given++
          await shop!.commerce['tax-rules'].setCartProfile(cart.id, { vatNumber: GERMAN_COMPANY })
        })
      },
    })
    shop = await openShop(storage, { plugins: [meanwhile] })
    try {
      const cart = await shop.cart(ADDRESSES.berlin)
      expect(cart.totals.taxTotal).toBe(2135)
      const order = await shop.checkout(cart.id)
      expect(given).toBe(1)
      expect(order.totals.taxTotal).toBe(0)
      expect(order.totals.total).toBe(12500)
      expect(order.lines.map((l) => l.taxLines.map((t) => t.note))).toEqual([[REVERSE_CHARGE_NOTE], [REVERSE_CHARGE_NOTE]])
    } finally {
      await shop.close()
    }
  })
})

describe.each(STORAGES)('tax-inclusive prices on %s', (storage) => {
  it('the same rates back-calculated from gross prices; at 0% (reverse charge) the listed price is all net', async () => {
    const shop = await openShop(storage, { pricesIncludeTax: true })
    try {
      const consumer = await shop.cart(ADDRESSES.berlin)
      const lamp = consumer.lines.find((l) => l.variantId === shop.lamp)!
      // 100.00 with 19% in it: net 84.03, tax 15.97.
      expect({ total: lamp.total, taxTotal: lamp.taxTotal, net: lamp.net.total }).toEqual({ total: 10000, taxTotal: 1597, net: 8403 })
      expect(lamp.taxLines.map(brief)).toEqual([{ jurisdiction: 'DE', rate: '19', amount: 1597, note: null }])
      // The consumer pays the listed prices: 100.00 + 20.00 + 5.00 shipping.
      expect(consumer.totals.total).toBe(12500)

      const company = await shop.cart(ADDRESSES.berlin, { vatNumber: GERMAN_COMPANY })
      expect(company.totals.taxTotal).toBe(0)
      expect(company.totals.total).toBe(12500)
    } finally {
      await shop.close()
    }
  })
})
