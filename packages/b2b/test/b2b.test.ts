import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openShop, rejection, STORAGES, type B2bShop } from './support.js'

describe.each(STORAGES)('b2b on %s', (storage) => {
  let shop: B2bShop
  beforeEach(async () => {
    shop = await openShop(storage)
  })
  afterEach(() => shop.close())

  /** A company with a buyer (limit 500.00), an approver and an admin; credit 1,000.00. */
  async function company(creditLimit: number | null = 100_000) {
    const { b2b } = shop.commerce
    const acme = await b2b.createCompany({ name: 'Acme', currency: 'USD', creditLimit, netDays: 30 })
    await b2b.addMember({ companyId: acme.id, customerId: 'cus_buyer', role: 'buyer', spendingLimit: 50_000 })
    await b2b.addMember({ companyId: acme.id, customerId: 'cus_approver', role: 'approver' })
    await b2b.addMember({ companyId: acme.id, customerId: 'cus_admin', role: 'admin' })
    return acme
  }

  describe('price lists', () => {
    async function wholesale() {
      const group = await shop.commerce.customers.groups.create({ code: 'wholesale', name: 'Wholesale' })
      const buyer = await shop.commerce.customers.create({ email: 'trade@example.com' })
      const retail = await shop.commerce.customers.create({ email: 'shopper@example.com' })
      await shop.commerce.customers.groups.addMember('wholesale', buyer.id)
      const list = await shop.commerce.b2b.createPriceList({
        name: 'Wholesale 2026',
        groupId: group.id,
        currency: 'USD',
        taxInclusive: false,
        prices: [
          { variantId: shop.bolt, amount: 800 },
          { variantId: shop.bolt, amount: 750, minQuantity: 40 },
        ],
      })
      return { group, list, buyer: buyer.id, retail: retail.id }
    }

    it('a wholesale customer buying 50 pays the list tier 7.50, with the list and the tier as reasons; a retail customer pays the base 10.00', async () => {
      const { list, buyer, retail: retailId } = await wholesale()
      const explained = await shop.commerce.catalog.explainPrice(shop.bolt, { currency: 'USD', quantity: 50, customerId: buyer })
      expect(explained.amount).toBe(750)
      expect(explained.source).toBe('b2b-price-tier')
      expect(explained.chain.map((s) => [s.source, s.amount, s.applied, s.overriddenBy ?? null])).toEqual([
        ['base', 1000, false, 'b2b-price-tier'],
        ['b2b-price-list', 800, false, 'b2b-price-tier'],
        ['b2b-price-tier', 750, true, null],
      ])
      expect(explained.chain[1]!.label).toBe(`Wholesale 2026 (list ${list.id})`)
      expect(explained.chain[2]!.label).toBe(`Wholesale 2026 from 40 (list ${list.id})`)
      expect(explained.chain[2]!.note).toContain("instead of the list's 800")

      const retail = await shop.commerce.catalog.explainPrice(shop.bolt, { currency: 'USD', quantity: 50, customerId: retailId })
      expect([retail.amount, retail.source, retail.chain.length]).toEqual([1000, 'base', 1])

      // Below the tier, the list's own price.
      const few = await shop.commerce.catalog.explainPrice(shop.bolt, { currency: 'USD', quantity: 39, customerId: buyer })
      expect([few.amount, few.source]).toEqual([800, 'b2b-price-list'])

      // A cart prices its line the same way.
      const cart = await shop.cart(buyer, [[shop.bolt, 50]])
      expect(cart.lines[0]!.unitPrice).toBe(750)
      expect(cart.totals.subtotal).toBe(37_500)
    })

    it('precedence: a list for the channel before a list for every channel, then the lowest price; lists out of their dates or currency do not apply', async () => {
      const { b2b, customers } = shop.commerce
      const group = await customers.groups.create({ code: 'trade', name: 'Trade' })
      const other = await customers.groups.create({ code: 'vip', name: 'VIP' })
      const trade = (await customers.create({ email: 'trade@example.com' })).id
      await customers.groups.addMember('trade', trade)
      await customers.groups.addMember('vip', trade)
      const cheap = await b2b.createPriceList({ name: 'Everywhere', groupId: group.id, currency: 'USD', prices: [{ variantId: shop.bolt, amount: 700 }] })
      await b2b.createPriceList({ name: 'VIP', groupId: other.id, currency: 'USD', prices: [{ variantId: shop.bolt, amount: 650 }] })
      const web = await b2b.createPriceList({ name: 'Web', groupId: group.id, currency: 'USD', channelId: 'chn_web', prices: [{ variantId: shop.bolt, amount: 900 }] })
      await b2b.createPriceList({ name: 'Expired', groupId: group.id, currency: 'USD', startsAt: '2000-01-01T00:00:00Z', endsAt: '2001-01-01T00:00:00Z', prices: [{ variantId: shop.bolt, amount: 100 }] })
      await b2b.createPriceList({ name: 'Future', groupId: group.id, currency: 'USD', startsAt: '2999-01-01T00:00:00Z', prices: [{ variantId: shop.bolt, amount: 100 }] })
      await b2b.createPriceList({ name: 'Euro', groupId: group.id, currency: 'EUR', prices: [{ variantId: shop.bolt, amount: 100 }] })

      const anywhere = await b2b.getPriceList(cheap.id)
      expect(anywhere.prices).toEqual([{ variantId: shop.bolt, amount: 700, minQuantity: 1 }])
      const noChannel = await shop.commerce.catalog.explainPrice(shop.bolt, { currency: 'USD', customerId: trade })
      expect([noChannel.amount, noChannel.chain.at(-1)!.label]).toEqual([650, expect.stringContaining('VIP')])
      const inWeb = await shop.commerce.catalog.explainPrice(shop.bolt, { currency: 'USD', customerId: trade, channelId: 'chn_web' })
      expect([inWeb.amount, inWeb.chain.at(-1)!.label]).toEqual([900, `Web (list ${web.id})`])
      const inShop = await shop.commerce.catalog.explainPrice(shop.bolt, { currency: 'USD', customerId: trade, channelId: 'chn_shop' })
      expect(inShop.amount).toBe(650)

      await b2b.deletePriceList(web.id)
      expect((await shop.commerce.catalog.explainPrice(shop.bolt, { currency: 'USD', customerId: trade, channelId: 'chn_web' })).amount).toBe(650)
    })
  })

  describe('sales channels', () => {
    it("a cart in a channel is priced by that channel's list; the same customer elsewhere by the list for every channel", async () => {
      const { b2b, customers, channels, catalog } = shop.commerce
      await customers.groups.create({ code: 'trade', name: 'Trade' })
      const group = (await customers.groups.list()).find((g) => g.code === 'trade')!
      const trade = (await customers.create({ email: 'trade@example.com' })).id
      await customers.groups.addMember('trade', trade)
      const web = await channels.create({ code: 'web', name: 'Web', currencies: ['USD'] })
      await channels.publish(web.id, [(await catalog.getVariant(shop.bolt)).productId])
      await b2b.createPriceList({ name: 'Everywhere', groupId: group.id, currency: 'USD', prices: [{ variantId: shop.bolt, amount: 700 }] })
      await b2b.createPriceList({ name: 'Web only', groupId: group.id, currency: 'USD', channelId: web.id, prices: [{ variantId: shop.bolt, amount: 900 }] })

      const inWeb = await shop.commerce.carts.create({ currency: 'USD', customerId: trade, channelId: web.id })
      const priced = await shop.commerce.carts.addItem(inWeb.id, { variantId: shop.bolt, quantity: 2 })
      expect(priced.lines[0]!.unitPrice).toBe(900)
      const anywhere = await shop.cart(trade, [[shop.bolt, 2]])
      expect(anywhere.lines[0]!.unitPrice).toBe(700)
    })
  })

  describe('approvals', () => {
    it('a 650.00 cart of a buyer limited to 500.00 is refused until approved, with no stock reserved and no payment taken; approved, it is placed', async () => {
      await company()
      const cart = await shop.cart('cus_buyer', [[shop.drill, 2]])
      expect(cart.totals.total).toBe(65_000)

      const refused = await rejection(shop.checkout(cart.id))
      expect(refused.code).toBe('B2B_APPROVAL_REQUIRED')
      expect(refused.details).toMatchObject({ cartId: cart.id, total: 65_000, spendingLimit: 50_000, approvalStatus: null })
      expect(shop.gateway.authorizations()).toBe(0)
      expect(await shop.rows(`select id from cw_payments where cart_id = '${cart.id}'`)).toEqual([])
      expect(await shop.rows(`select id from cw_reservations where cart_id = '${cart.id}'`)).toEqual([])
      expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')

      const approval = await shop.commerce.b2b.requestApproval(cart.id)
      expect([approval.status, approval.cartVersion, approval.total]).toEqual(['pending', cart.version, 65_000])
      // Pending is not approved.
      expect((await rejection(shop.checkout(cart.id))).details.approvalStatus).toBe('pending')
      expect(await shop.rows(`select id from cw_reservations where cart_id = '${cart.id}'`)).toEqual([])

      // A buyer cannot approve, nor can a member of another company.
      expect((await rejection(shop.commerce.b2b.approve({ approvalId: approval.id, approverId: 'cus_buyer' }))).code).toBe('B2B_FORBIDDEN')
      const approved = await shop.commerce.b2b.approve({ approvalId: approval.id, approverId: 'cus_approver' })
      expect([approved.status, approved.decidedBy]).toEqual(['approved', 'cus_approver'])

      const order = await shop.checkout(cart.id)
      expect(order.status).not.toBe('requires_action')
      if (order.status === 'requires_action') return
      expect(order.totals.total).toBe(65_000)
      expect(shop.gateway.authorizations()).toBe(1)
      expect((await shop.commerce.b2b.orderLink(order.id))?.approvalId).toBe(approval.id)
    })

    it('a cart changed after its approval is refused again, and needs a new approval', async () => {
      await company()
      const cart = await shop.cart('cus_buyer', [[shop.drill, 2]])
      const first = await shop.commerce.b2b.requestApproval(cart.id)
      await shop.commerce.b2b.approve({ approvalId: first.id, approverId: 'cus_admin' })
      await shop.commerce.carts.addItem(cart.id, { variantId: shop.bolt, quantity: 1 })

      const refused = await rejection(shop.checkout(cart.id))
      expect(refused.code).toBe('B2B_APPROVAL_REQUIRED')
      expect(refused.message).toContain('changed after it was approved')
      expect(shop.gateway.authorizations()).toBe(0)
      expect(await shop.rows(`select id from cw_reservations where cart_id = '${cart.id}'`)).toEqual([])

      const second = await shop.commerce.b2b.requestApproval(cart.id)
      expect(second.total).toBe(66_000)
      await shop.commerce.b2b.approve({ approvalId: second.id, approverId: 'cus_approver' })
      const order = await shop.checkout(cart.id)
      expect(order.status === 'requires_action' ? null : order.totals.total).toBe(66_000)
    })

    it('a rejected cart is refused, the buyer is told by the status and an event, and a decided approval cannot be decided again', async () => {
      await company()
      const told: unknown[] = []
      shop.commerce.events.on('b2b.approval_rejected', (payload) => void told.push(payload))
      const cart = await shop.cart('cus_buyer', [[shop.drill, 2]])
      const approval = await shop.commerce.b2b.requestApproval(cart.id)
      const rejected = await shop.commerce.b2b.reject({ approvalId: approval.id, approverId: 'cus_approver', reason: 'over budget' })
      expect([rejected.status, rejected.reason]).toEqual(['rejected', 'over budget'])
      expect(told).toEqual([{ approvalId: approval.id, companyId: approval.companyId, cartId: cart.id, buyerId: 'cus_buyer', approverId: 'cus_approver', reason: 'over budget' }])
      expect((await shop.commerce.b2b.approvalOf(cart.id))?.status).toBe('rejected')
      const refused = await rejection(shop.checkout(cart.id))
      expect([refused.code, refused.details.approvalStatus]).toEqual(['B2B_APPROVAL_REQUIRED', 'rejected'])
      expect((await rejection(shop.commerce.b2b.approve({ approvalId: approval.id, approverId: 'cus_approver' }))).code).toBe('B2B_STATE')
      const outbox = await shop.rows(`select type from cw_outbox where type like 'b2b.%' order by type`)
      expect(outbox.map((r) => r.type)).toEqual(['b2b.approval_rejected', 'b2b.approval_requested'])
    })

    it("a cart in another currency than the company's always needs an approval, and cannot be paid by invoice", async () => {
      const euro = await shop.commerce.b2b.createCompany({ name: 'Euro GmbH', currency: 'EUR', creditLimit: 10_000_000 })
      await shop.commerce.b2b.addMember({ companyId: euro.id, customerId: 'cus_eu', role: 'buyer', spendingLimit: 10_000_000 })
      await shop.commerce.b2b.addMember({ companyId: euro.id, customerId: 'cus_eu_boss', role: 'admin' })
      const cart = await shop.cart('cus_eu', [[shop.bolt, 1]])
      expect((await rejection(shop.checkout(cart.id))).code).toBe('B2B_APPROVAL_REQUIRED')
      const approval = await shop.commerce.b2b.requestApproval(cart.id)
      await shop.commerce.b2b.approve({ approvalId: approval.id, approverId: 'cus_eu_boss' })
      expect((await rejection(shop.checkout(cart.id, 'invoice'))).code).toBe('B2B_CREDIT_LIMIT')
      expect((await shop.commerce.b2b.getCompany(euro.id)).creditUsed).toBe(0)
    })

    it('a cart within the limit needs no approval', async () => {
      await company()
      const cart = await shop.cart('cus_buyer', [[shop.bolt, 50]])
      const order = await shop.checkout(cart.id)
      expect(order.status === 'requires_action' ? null : order.totals.total).toBe(50_000)
    })
  })

  describe('minimum order quantities and increments', () => {
    it('a line below the minimum or off the increment is refused, naming the variant, and the cart is unchanged', async () => {
      await shop.commerce.b2b.setQuantityRule({ variantId: shop.bolt, minQuantity: 12, increment: 6 })
      const cart = await shop.commerce.carts.create({ currency: 'USD' })
      const below = await rejection(shop.commerce.carts.addItem(cart.id, { variantId: shop.bolt, quantity: 6 }))
      expect([below.code, below.details.variantId, below.details.minQuantity]).toEqual(['B2B_QUANTITY_RULE', shop.bolt, 12])
      expect((await shop.commerce.carts.get(cart.id)).lines).toEqual([])

      await shop.commerce.carts.addItem(cart.id, { variantId: shop.bolt, quantity: 12 })
      const off = await rejection(shop.commerce.carts.addItem(cart.id, { variantId: shop.bolt, quantity: 1 }))
      expect([off.code, off.details.variantId, off.details.quantity]).toEqual(['B2B_QUANTITY_RULE', shop.bolt, 13])
      const [line] = (await shop.commerce.carts.get(cart.id)).lines
      expect(line!.quantity).toBe(12)
      await shop.commerce.carts.addItem(cart.id, { variantId: shop.bolt, quantity: 6 })
      expect((await shop.commerce.carts.get(cart.id)).lines[0]!.quantity).toBe(18)
      // Other variants are free.
      await shop.commerce.carts.addItem(cart.id, { variantId: shop.drill, quantity: 1 })
    })
  })

  describe('pay by invoice', () => {
    it('takes the company credit at claim, refuses what would pass the limit, and gives it back on cancel and on payment', async () => {
      const acme = await company(100_000)
      const first = await shop.cart('cus_buyer', [[shop.bolt, 40]])
      const order = await shop.checkout(first.id, 'invoice')
      if (order.status === 'requires_action') throw new Error('unexpected action')
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(40_000)
      const invoice = await shop.commerce.b2b.invoiceOf(order.id)
      expect([invoice?.amount, invoice?.status]).toEqual([40_000, 'open'])
      expect(Date.parse(invoice!.dueAt!) - Date.parse(order.createdAt)).toBeGreaterThanOrEqual(30 * 86_400_000 - 1000)

      // 400 + 400 fits in 1,000; a third 400 does not.
      const second = await shop.cart('cus_buyer', [[shop.bolt, 40]])
      const placed = await shop.checkout(second.id, 'invoice')
      const third = await shop.cart('cus_buyer', [[shop.bolt, 40]])
      const refused = await rejection(shop.checkout(third.id, 'invoice'))
      expect(refused.code).toBe('B2B_CREDIT_LIMIT')
      expect(await shop.rows(`select id from cw_payments where cart_id = '${third.id}'`)).toEqual([])
      expect(await shop.rows(`select id from cw_reservations where cart_id = '${third.id}'`)).toEqual([])
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(80_000)

      await shop.commerce.orders.cancel(order.id)
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(40_000)
      expect((await shop.commerce.b2b.invoiceOf(order.id))?.status).toBe('released')
      if (placed.status === 'requires_action') throw new Error('unexpected action')
      await shop.commerce.b2b.markInvoicePaid(placed.id)
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(0)
      expect((await rejection(shop.commerce.b2b.markInvoicePaid(placed.id))).code).toBe('B2B_STATE')
      // Now the third fits.
      await shop.checkout(third.id, 'invoice')
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(40_000)
    })

    it('concurrent invoice checkouts never take more than the credit limit', async () => {
      const acme = await company(100_000)
      await shop.commerce.b2b.addMember({ companyId: acme.id, customerId: 'cus_buyer', role: 'buyer', spendingLimit: null })
      const carts = []
      for (let i = 0; i < 6; i++) carts.push(await shop.cart('cus_buyer', [[shop.bolt, 40]]))
      const outcomes = await Promise.allSettled(carts.map((c) => shop.checkout(c.id, 'invoice')))
      const placed = outcomes.filter((o) => o.status === 'fulfilled')
      const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as { code?: string }).code] : []))
      expect(placed).toHaveLength(2)
      expect(refused).toEqual(['B2B_CREDIT_LIMIT', 'B2B_CREDIT_LIMIT', 'B2B_CREDIT_LIMIT', 'B2B_CREDIT_LIMIT'])
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(80_000)
      const open = await shop.rows(`select amount from b2b_invoices where status = 'open'`)
      expect(open.map((r) => Number(r.amount))).toEqual([40_000, 40_000])
    })

    it('a refund of a captured invoice order lowers what is owed and the credit it holds, once per refund', async () => {
      const acme = await company(100_000)
      const cart = await shop.cart('cus_buyer', [[shop.bolt, 40]])
      const order = await shop.checkout(cart.id, 'invoice')
      if (order.status === 'requires_action') throw new Error('unexpected action')
      await shop.commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-0001' })
      await shop.commerce.orders.refund(order.id, { amount: 5_000, idempotencyKey: 'refund-0001' })
      await shop.commerce.orders.refund(order.id, { amount: 5_000, idempotencyKey: 'refund-0001' })
      expect((await shop.commerce.b2b.invoiceOf(order.id))?.amount).toBe(35_000)
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(35_000)
      // The engine sends a refund again with its key when it could not know the first arrived.
      const invoice = shop.plugin.payments![0]!
      const again = { paymentId: (await shop.commerce.b2b.invoiceOf(order.id))!.paymentId, operationId: 'op_1', reference: 'r', idempotencyKey: 'refund-0002', amount: 1_000, currency: 'USD' }
      await invoice.refund!(again)
      await invoice.refund!(again)
      expect((await shop.commerce.b2b.invoiceOf(order.id))?.amount).toBe(34_000)
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(34_000)
      await shop.commerce.orders.cancel(order.id)
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(0)
    })

    it('a customer outside any company, or a company without credit, cannot pay by invoice', async () => {
      const guest = await shop.cart(null, [[shop.bolt, 1]])
      expect((await rejection(shop.checkout(guest.id, 'invoice'))).code).toBe('B2B_CREDIT_LIMIT')
      await company(null)
      const member = await shop.cart('cus_buyer', [[shop.bolt, 1]])
      expect((await rejection(shop.checkout(member.id, 'invoice'))).code).toBe('B2B_CREDIT_LIMIT')
      expect(shop.gateway.authorizations()).toBe(0)
    })
  })

  describe('purchase orders and quotes', () => {
    it("a cart's PO number is kept for its order", async () => {
      const cart = await shop.cart('cus_buyer', [[shop.bolt, 1]])
      await shop.commerce.b2b.setPurchaseOrder({ cartId: cart.id, poNumber: 'PO-2026-118' })
      const order = await shop.checkout(cart.id)
      if (order.status === 'requires_action') throw new Error('unexpected action')
      expect(await shop.commerce.b2b.orderLink(order.id)).toEqual({ orderId: order.id, cartId: cart.id, poNumber: 'PO-2026-118', quoteId: null, approvalId: null })
      expect((await rejection(shop.commerce.b2b.setPurchaseOrder({ cartId: cart.id, poNumber: 'PO-2' }))).code).toBe('B2B_STATE')
    })

    it('a sent quote is accepted once into a cart priced by it, and its order links the quote; an expired quote cannot be accepted', async () => {
      const acme = await company()
      const quote = await shop.commerce.b2b.createQuote({
        companyId: acme.id,
        buyerId: 'cus_buyer',
        currency: 'USD',
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        lines: [{ variantId: shop.bolt, quantity: 30, unitPrice: 690 }],
      })
      expect(quote.status).toBe('draft')
      expect((await rejection(shop.commerce.b2b.acceptQuote(quote.id))).code).toBe('B2B_STATE')
      await shop.commerce.b2b.sendQuote(quote.id)
      const { cartId } = await shop.commerce.b2b.acceptQuote(quote.id)
      expect((await rejection(shop.commerce.b2b.acceptQuote(quote.id))).code).toBe('B2B_STATE')
      const cart = await shop.commerce.carts.get(cartId)
      expect([cart.customerId, cart.lines[0]!.quantity, cart.lines[0]!.unitPrice]).toEqual(['cus_buyer', 30, 690])
      // The quote prices its own cart only.
      const other = await shop.cart('cus_buyer', [[shop.bolt, 30]])
      expect(other.lines[0]!.unitPrice).toBe(1000)

      await shop.commerce.carts.update(cartId, { email: 'buyer@example.com', shippingAddress: { firstName: 'A', lastName: 'B', line1: '1 St', city: 'X', postalCode: '1', country: 'GB' } })
      await shop.commerce.carts.setShippingOption(cartId, 'flat:standard')
      const order = await shop.checkout(cartId)
      if (order.status === 'requires_action') throw new Error('unexpected action')
      expect(order.totals.total).toBe(20_700)
      expect((await shop.commerce.b2b.orderLink(order.id))?.quoteId).toBe(quote.id)
      expect((await shop.commerce.b2b.getQuote(quote.id))).toMatchObject({ status: 'ordered', orderId: order.id })

      const stale = await shop.commerce.b2b.createQuote({ companyId: acme.id, buyerId: 'cus_buyer', currency: 'USD', expiresAt: new Date(Date.now() + 50).toISOString(), lines: [{ variantId: shop.bolt, quantity: 1, unitPrice: 1 }] })
      await shop.commerce.b2b.sendQuote(stale.id)
      await new Promise((r) => setTimeout(r, 60))
      expect((await rejection(shop.commerce.b2b.acceptQuote(stale.id))).code).toBe('B2B_QUOTE_EXPIRED')
      expect((await shop.commerce.b2b.getQuote(stale.id)).status).toBe('expired')
      const later = await shop.commerce.b2b.createQuote({ companyId: acme.id, buyerId: 'cus_buyer', currency: 'USD', expiresAt: new Date(Date.now() + 50).toISOString(), lines: [{ variantId: shop.bolt, quantity: 1, unitPrice: 1 }] })
      await shop.commerce.b2b.sendQuote(later.id)
      expect(await shop.commerce.b2b.expireQuotes()).toBe(0)
      await new Promise((r) => setTimeout(r, 60))
      expect(await shop.commerce.b2b.expireQuotes()).toBe(1)
      expect((await shop.commerce.b2b.getQuote(later.id)).status).toBe('expired')
    })
  })

  describe('quotes at once, and privacy', () => {
    it('a quote accepted by several calls at once is accepted once', async () => {
      const acme = await company()
      const quote = await shop.commerce.b2b.createQuote({ companyId: acme.id, buyerId: 'cus_buyer', currency: 'USD', expiresAt: '2999-01-01T00:00:00Z', lines: [{ variantId: shop.bolt, quantity: 3, unitPrice: 500 }] })
      await shop.commerce.b2b.sendQuote(quote.id)
      const outcomes = await Promise.allSettled([1, 2, 3, 4].map(() => shop.commerce.b2b.acceptQuote(quote.id)))
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
      expect(outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as { code?: string }).code] : []))).toEqual(['B2B_STATE', 'B2B_STATE', 'B2B_STATE'])
      const events = await shop.rows(`select count(*) as n from cw_outbox where type = 'b2b.quote_accepted'`)
      expect(events.map((r) => Number(r.n))).toEqual([1])
    })

    it("a customer's export holds their membership, approvals and quotes; erase removes the membership and the reasons", async () => {
      const acme = await company()
      const cart = await shop.cart('cus_buyer', [[shop.drill, 2]])
      const approval = await shop.commerce.b2b.requestApproval(cart.id)
      await shop.commerce.b2b.reject({ approvalId: approval.id, approverId: 'cus_admin', reason: 'call me, Ada' })
      const exported = await shop.commerce.privacy.export({ customerId: 'cus_buyer' })
      expect(exported.plugins.b2b).toMatchObject({ membership: { company_id: acme.id, role: 'buyer' }, approvals: [{ id: approval.id, reason: 'call me, Ada' }] })
      await shop.commerce.privacy.erase({ customerId: 'cus_buyer' })
      expect(await shop.commerce.b2b.membership('cus_buyer')).toBeNull()
      expect((await shop.commerce.b2b.approvalOf(cart.id))?.reason).toBeNull()
    })
  })

  describe('endpoints', () => {
    const route = (method: string, path: string) => {
      const found = shop.commerce.endpoints.find((e) => e.method === method && e.path === path)
      if (!found) throw new Error(`no route ${method} ${path}`)
      return found
    }
    const call = (method: string, path: string, input: unknown, actor: unknown) => {
      const e = route(method, path)
      return Promise.resolve(e.handler({ input: e.input!.parse(input), actor: actor as never, commerce: shop.commerce }))
    }

    it("a buyer asks for approval of their own cart only, and an approver of the company decides through the Store API", async () => {
      expect(shop.commerce.endpoints.filter((e) => e.path.startsWith('/b2b/')).map((e) => `${e.surface} ${e.access}`)).toContain('store customer')
      await company()
      const cart = await shop.cart('cus_buyer', [[shop.drill, 2]])
      const buyer = { kind: 'customer', customerId: 'cus_buyer' }
      const stranger = { kind: 'customer', customerId: 'cus_someone' }
      expect((await rejection(call('POST', '/b2b/carts/:cartId/approval', { cartId: cart.id }, stranger))).code).toBe('NOT_FOUND')
      expect((await rejection(call('POST', '/b2b/carts/:cartId/approval', { cartId: cart.id }, { kind: 'anonymous' }))).code).toBe('INVALID_STATE')
      expect(await shop.rows('select id from b2b_approvals')).toEqual([])
      const approval = (await call('POST', '/b2b/carts/:cartId/approval', { cartId: cart.id }, buyer)) as { id: string; status: string }
      expect(approval.status).toBe('pending')
      expect((await rejection(call('POST', '/b2b/approvals/:approvalId/approve', { approvalId: approval.id }, buyer))).code).toBe('B2B_FORBIDDEN')
      const decided = (await call('POST', '/b2b/approvals/:approvalId/approve', { approvalId: approval.id }, { kind: 'customer', customerId: 'cus_approver' })) as { status: string }
      expect(decided.status).toBe('approved')
      expect(((await call('GET', '/b2b/carts/:cartId/approval', { cartId: cart.id }, buyer)) as { status: string }).status).toBe('approved')
    })
  })

  describe('lists', () => {
    it("approvalsFor: a buyer's own requests, the company's for an approver or admin, none for another company; quotesFor: sent quotes only, the buyer's", async () => {
      const acme = await company()
      const globex = await shop.commerce.b2b.createCompany({ name: 'Globex', currency: 'USD' })
      await shop.commerce.b2b.addMember({ companyId: globex.id, customerId: 'cus_rival', role: 'admin' })
      await shop.commerce.b2b.addMember({ companyId: acme.id, customerId: 'cus_colleague', role: 'buyer', spendingLimit: 50_000 })
      const mine = await shop.commerce.b2b.requestApproval((await shop.cart('cus_buyer', [[shop.drill, 2]])).id)
      const theirs = await shop.commerce.b2b.requestApproval((await shop.cart('cus_colleague', [[shop.drill, 2]])).id)
      const ids = async (customerId: string) => (await shop.commerce.b2b.approvalsFor(customerId)).map((a) => a.id).sort()
      expect(await ids('cus_buyer')).toEqual([mine.id])
      expect(await ids('cus_approver')).toEqual([mine.id, theirs.id].sort())
      expect(await ids('cus_admin')).toEqual([mine.id, theirs.id].sort())
      expect(await ids('cus_rival')).toEqual([])
      expect(await ids('cus_nobody')).toEqual([])
      // No customers account behind these ids: no email to show.
      expect((await shop.commerce.b2b.approvalsFor('cus_buyer'))[0]!.buyerEmail).toBeNull()

      const lines = [{ variantId: shop.bolt, quantity: 100, unitPrice: 690 }]
      const sent = await shop.commerce.b2b.createQuote({ companyId: acme.id, buyerId: 'cus_buyer', currency: 'USD', expiresAt: '2999-01-01T00:00:00Z', lines })
      await shop.commerce.b2b.sendQuote(sent.id)
      await shop.commerce.b2b.createQuote({ companyId: acme.id, buyerId: 'cus_buyer', currency: 'USD', expiresAt: '2999-01-01T00:00:00Z', lines })
      expect((await shop.commerce.b2b.quotesFor('cus_buyer')).map((q) => [q.id, q.status, q.lines])).toEqual([[sent.id, 'sent', lines]])
      expect(await shop.commerce.b2b.quotesFor('cus_colleague')).toEqual([])
    })
  })

  describe('bad input', () => {
    it('every method refuses bad input with VALIDATION naming the field, and writes nothing', async () => {
      const acme = await company()
      const before = await shop.b2bTables()
      const { b2b } = shop.commerce
      const cases: Array<[() => Promise<unknown>, string]> = [
        [() => b2b.createPriceList({ name: '', groupId: 'g', currency: 'USD' }), 'name'],
        [() => b2b.createPriceList({ name: 'x', groupId: 'g', currency: 'usd' }), 'currency'],
        [() => b2b.createPriceList({ name: 'x', groupId: 'g', currency: 'USD', prices: [{ variantId: shop.bolt, amount: 1.5 }] }), 'prices.0.amount'],
        [() => b2b.createPriceList({ name: 'x', groupId: 'g', currency: 'USD', startsAt: '2026-02-01T00:00:00Z', endsAt: '2026-01-01T00:00:00Z' }), 'endsAt'],
        [() => b2b.createPriceList({ name: 'x', groupId: 'g', currency: 'USD', extra: 1 } as never), ''],
        [() => b2b.getPriceList(42 as never), 'listId'],
        [() => b2b.deletePriceList('' as never), 'listId'],
        [() => b2b.createCompany({ name: 'x', currency: 'USD', creditLimit: -1 }), 'creditLimit'],
        [() => b2b.createCompany({ name: 'x' } as never), 'currency'],
        [() => b2b.getCompany(null as never), 'companyId'],
        [() => b2b.addMember({ companyId: acme.id, customerId: 'c', role: 'owner' as never }), 'role'],
        [() => b2b.addMember({ companyId: acme.id, customerId: 'c', role: 'buyer', spendingLimit: 1e300 }), 'spendingLimit'],
        [() => b2b.membership(undefined as never), 'customerId'],
        [() => b2b.requestApproval({} as never), 'cartId'],
        [() => b2b.approve({ approvalId: 'a' } as never), 'approverId'],
        [() => b2b.reject({ approvalId: 'a', approverId: 'b', reason: 'x'.repeat(501) }), 'reason'],
        [() => b2b.approvalOf(1 as never), 'cartId'],
        [() => b2b.approvalsFor('' as never), 'customerId'],
        [() => b2b.quotesFor(['cus_buyer'] as never), 'customerId'],
        [() => b2b.setPurchaseOrder({ cartId: 'c', poNumber: '' }), 'poNumber'],
        [() => b2b.setPurchaseOrder({ cartId: 'c', poNumber: 'PO\n1' }), 'poNumber'],
        [() => b2b.orderLink('' as never), 'orderId'],
        [() => b2b.setQuantityRule({ variantId: shop.bolt, minQuantity: 0 }), 'minQuantity'],
        [() => b2b.setQuantityRule({ variantId: shop.bolt, minQuantity: 10, increment: 3 }), 'minQuantity'],
        [() => b2b.createQuote({ companyId: acme.id, buyerId: 'cus_buyer', currency: 'USD', expiresAt: 'tomorrow', lines: [{ variantId: shop.bolt, quantity: 1, unitPrice: 1 }] }), 'expiresAt'],
        [() => b2b.createQuote({ companyId: acme.id, buyerId: 'cus_buyer', currency: 'USD', expiresAt: '2999-01-01T00:00:00Z', lines: [] }), 'lines'],
        [() => b2b.sendQuote(7 as never), 'quoteId'],
        [() => b2b.acceptQuote(7 as never), 'quoteId'],
        [() => b2b.getQuote(7 as never), 'quoteId'],
        [() => b2b.invoiceOf(7 as never), 'orderId'],
        [() => b2b.markInvoicePaid(7 as never), 'orderId'],
      ]
      for (const [call, field] of cases) {
        const error = await rejection(call())
        expect(error.code, `${error.message}`).toBe('VALIDATION')
        expect(error.fields, error.message).toContain(field)
      }
      expect(await shop.b2bTables()).toEqual(before)
      // Unknown ids: NOT_FOUND, nothing written.
      const unknown = [
        () => b2b.getPriceList('pl_none'),
        () => b2b.getCompany('co_none'),
        () => b2b.getQuote('quo_none'),
        () => b2b.approve({ approvalId: 'apr_none', approverId: 'cus_admin' }),
        () => b2b.setQuantityRule({ variantId: 'var_none' }),
      ]
      for (const call of unknown) {
        expect((await rejection(call())).code).toBe('NOT_FOUND')
      }
      expect(await shop.b2bTables()).toEqual(before)
    })
  })
})
