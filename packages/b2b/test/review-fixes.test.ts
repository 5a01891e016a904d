import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CommerceError } from '@cartwright/core'
import { openShop, rejection, STORAGES, type B2bShop } from './support.js'

const DAY = 86_400_000
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each(STORAGES)('b2b guards on %s', (storage) => {
  let shop: B2bShop
  beforeEach(async () => {
    shop = await openShop(storage)
  })
  afterEach(() => shop.close())

  /** A company with a buyer (limit 500.00 unless given) and an approver; credit 1,000.00. */
  async function company(spendingLimit: number | null = 50_000) {
    const { b2b } = shop.commerce
    const acme = await b2b.createCompany({ name: 'Acme', currency: 'USD', creditLimit: 100_000, netDays: 30 })
    await b2b.addMember({ companyId: acme.id, customerId: 'cus_buyer', role: 'buyer', spendingLimit })
    await b2b.addMember({ companyId: acme.id, customerId: 'cus_approver', role: 'approver' })
    return acme
  }

  async function address(cartId: string) {
    await shop.commerce.carts.update(cartId, { email: 'buyer@example.com', shippingAddress: { firstName: 'A', lastName: 'B', line1: '1 St', city: 'X', postalCode: '1', country: 'GB' } })
    await shop.commerce.carts.setShippingOption(cartId, 'flat:standard')
  }

  describe('quotes', () => {
    it("an accepted quote's price holds at the quoted quantity only, and its cart is refused at checkout after the quote's expiry", async () => {
      const acme = await company(null)
      const quote = await shop.commerce.b2b.createQuote({
        companyId: acme.id,
        buyerId: 'cus_buyer',
        currency: 'USD',
        expiresAt: new Date(Date.now() + DAY).toISOString(),
        lines: [{ variantId: shop.bolt, quantity: 1000, unitPrice: 1 }],
      })
      await shop.commerce.b2b.sendQuote(quote.id)
      const { cartId } = await shop.commerce.b2b.acceptQuote(quote.id)
      const accepted = await shop.commerce.carts.get(cartId)
      expect([accepted.lines[0]!.quantity, accepted.lines[0]!.unitPrice]).toEqual([1000, 1])

      // Below the quoted quantity, the list (here core's) price.
      const lowered = await shop.commerce.carts.updateItem(cartId, accepted.lines[0]!.id, { quantity: 1 })
      expect(lowered.lines[0]!.unitPrice).toBe(1000)
      const back = await shop.commerce.carts.updateItem(cartId, accepted.lines[0]!.id, { quantity: 1000 })
      expect(back.lines[0]!.unitPrice).toBe(1)

      // Past the expiry: no longer priced by the quote, and checkout refuses the cart.
      await address(cartId)
      shop.advance(2 * DAY)
      const explained = await shop.commerce.catalog.explainPrice(shop.bolt, { currency: 'USD', quantity: 1000, customerId: 'cus_buyer' })
      expect(explained.amount).toBe(1000)
      const relisted = await shop.commerce.carts.updateItem(cartId, accepted.lines[0]!.id, { quantity: 999 })
      expect(relisted.lines[0]!.unitPrice).toBe(1000)
      const again = await shop.commerce.carts.updateItem(cartId, accepted.lines[0]!.id, { quantity: 1000 })
      expect(again.lines[0]!.unitPrice).toBe(1000)
      const refused = await rejection(shop.checkout(cartId))
      expect(refused.code).toBe('B2B_QUOTE_EXPIRED')
      expect(refused.details).toMatchObject({ cartId, quoteId: quote.id })
      expect(await shop.rows(`select id from cw_orders where cart_id = '${cartId}'`)).toEqual([])
      expect(await shop.rows(`select id from cw_reservations where cart_id = '${cartId}'`)).toEqual([])

      // expireQuotes expires an accepted quote past its deadline; its cart stays refused.
      expect(await shop.commerce.b2b.expireQuotes()).toBe(1)
      expect((await shop.commerce.b2b.getQuote(quote.id)).status).toBe('expired')
      expect((await rejection(shop.checkout(cartId))).code).toBe('B2B_QUOTE_EXPIRED')
      const repriced = await shop.commerce.carts.updateItem(cartId, accepted.lines[0]!.id, { quantity: 999 })
      expect(repriced.lines[0]!.unitPrice).toBe(1000)
    })

    it('a quote cart lowered below the quoted quantity is charged the list price', async () => {
      const acme = await company(null)
      const quote = await shop.commerce.b2b.createQuote({
        companyId: acme.id,
        buyerId: 'cus_buyer',
        currency: 'USD',
        expiresAt: new Date(Date.now() + DAY).toISOString(),
        lines: [{ variantId: shop.bolt, quantity: 1000, unitPrice: 1 }],
      })
      await shop.commerce.b2b.sendQuote(quote.id)
      const { cartId } = await shop.commerce.b2b.acceptQuote(quote.id)
      const cart = await shop.commerce.carts.get(cartId)
      await shop.commerce.carts.updateItem(cartId, cart.lines[0]!.id, { quantity: 1 })
      await address(cartId)
      const order = await shop.checkout(cartId)
      if (order.status === 'requires_action') throw new Error('unexpected action')
      expect(order.totals.subtotal).toBe(1000)
    })
  })

  describe('invoice credit', () => {
    /** Two 400.00 orders paid by invoice (credit 1,000.00). */
    async function twoInvoices() {
      const acme = await company(null)
      const orders = []
      for (let i = 0; i < 2; i++) {
        const cart = await shop.cart('cus_buyer', [[shop.bolt, 40]])
        const order = await shop.checkout(cart.id, 'invoice')
        if (order.status === 'requires_action') throw new Error('unexpected action')
        orders.push(order)
      }
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(80_000)
      return { acme, a: orders[0]!, b: orders[1]! }
    }

    /** A credit note as the engine sends it to the invoice provider, for an invoice's payment. */
    function creditNote(paymentId: string, amount: number, key: string) {
      return shop.plugin.payments![0]!.refund!({ paymentId, operationId: `op_${key}`, reference: 'r', idempotencyKey: key, amount, currency: 'USD' })
    }
    const paymentOf = async (orderId: string) => (await shop.commerce.b2b.invoiceOf(orderId))!.paymentId

    async function openSum() {
      return (await shop.rows(`select amount from b2b_invoices where status = 'open'`)).reduce((sum, r) => sum + Number(r.amount), 0)
    }

    /**
     * Runs `started` and `arriving` so that they overlap. On PostgreSQL a transaction holding the
     * company's row makes `started` wait halfway (after it touched the invoice, before the credit),
     * then `arriving` begins, then the row is let go. On SQLite (one writer at a time) both start in
     * the same tick, `arriving` first: its read outside a transaction comes before `started` writes.
     */
    async function overlap(companyId: string, started: () => Promise<unknown>, arriving: () => Promise<unknown>) {
      if (storage !== 'postgres') {
        await Promise.all([arriving(), started()])
        return
      }
      let letGo!: () => void
      const held = new Promise<void>((resolve) => (letGo = resolve))
      let locked!: () => void
      const isLocked = new Promise<void>((resolve) => (locked = resolve))
      const holder = shop.commerce.db.transaction().execute(async (trx) => {
        await sql`select id from b2b_companies where id = ${companyId} for update`.execute(trx)
        locked()
        await held
      })
      await isLocked
      const first = started()
      await pause(300)
      const second = arriving()
      await pause(300)
      letGo()
      await Promise.all([holder, first, second])
    }

    it('a credit note under way when the invoice is marked paid frees the credit once: what is used is what open invoices hold', async () => {
      const { acme, a } = await twoInvoices()
      const paymentId = await paymentOf(a.id)
      await overlap(acme.id, () => creditNote(paymentId, 10_000, 'note-1'), () => shop.commerce.b2b.markInvoicePaid(a.id))
      expect((await shop.commerce.b2b.invoiceOf(a.id))?.status).toBe('paid')
      expect(await openSum()).toBe(40_000)
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(40_000)
    })

    it('a credit note arriving while the invoice is being marked paid frees nothing more', async () => {
      const { acme, a } = await twoInvoices()
      const paymentId = await paymentOf(a.id)
      await overlap(acme.id, () => shop.commerce.b2b.markInvoicePaid(a.id), () => creditNote(paymentId, 10_000, 'note-2'))
      expect((await shop.commerce.b2b.invoiceOf(a.id))?.status).toBe('paid')
      expect(await openSum()).toBe(40_000)
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(40_000)
    })

    it('a credit note under way when the order is canceled frees the credit once', async () => {
      const { acme, a } = await twoInvoices()
      const paymentId = await paymentOf(a.id)
      await overlap(acme.id, () => creditNote(paymentId, 10_000, 'note-3'), () => shop.commerce.orders.cancel(a.id))
      expect((await shop.commerce.b2b.invoiceOf(a.id))?.status).toBe('released')
      expect(await openSum()).toBe(40_000)
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(40_000)
    })

    it('a credit note of a paid invoice frees nothing', async () => {
      const { acme, a } = await twoInvoices()
      await shop.commerce.b2b.markInvoicePaid(a.id)
      await creditNote(await paymentOf(a.id), 10_000, 'note-4')
      expect((await shop.commerce.b2b.invoiceOf(a.id))?.amount).toBe(40_000)
      expect((await shop.commerce.b2b.getCompany(acme.id)).creditUsed).toBe(40_000)
    })
  })

  describe('quantity rules at checkout', () => {
    it('a cart holding 5 when a minimum of 12 was set afterwards is refused at checkout, with nothing reserved', async () => {
      const cart = await shop.cart(null, [[shop.bolt, 5]])
      await shop.commerce.b2b.setQuantityRule({ variantId: shop.bolt, minQuantity: 12, increment: 1 })
      const refused = await rejection(shop.checkout(cart.id))
      expect(refused.code).toBe('B2B_QUANTITY_RULE')
      expect(refused.details).toMatchObject({ variantId: shop.bolt, quantity: 5, minQuantity: 12 })
      expect(await shop.rows(`select id from cw_orders where cart_id = '${cart.id}'`)).toEqual([])
      expect(await shop.rows(`select id from cw_reservations where cart_id = '${cart.id}'`)).toEqual([])
      expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')
    })

    it('an increment set afterwards is checked at checkout too', async () => {
      const cart = await shop.cart(null, [[shop.bolt, 13]])
      await shop.commerce.b2b.setQuantityRule({ variantId: shop.bolt, minQuantity: 6, increment: 6 })
      expect((await rejection(shop.checkout(cart.id))).code).toBe('B2B_QUANTITY_RULE')
    })
  })

  describe('tax-inclusive price lists', () => {
    it('are refused with VALIDATION naming taxInclusive, and nothing is written', async () => {
      const group = await shop.commerce.customers.groups.create({ code: 'trade', name: 'Trade' })
      const before = await shop.b2bTables()
      const refused = await rejection(shop.commerce.b2b.createPriceList({ name: 'Gross', groupId: group.id, currency: 'USD', taxInclusive: true, prices: [{ variantId: shop.bolt, amount: 11_900 }] }))
      expect([refused.code, refused.fields]).toEqual(['VALIDATION', ['taxInclusive']])
      expect(await shop.b2bTables()).toEqual(before)
      const net = await shop.commerce.b2b.createPriceList({ name: 'Net', groupId: group.id, currency: 'USD', taxInclusive: false, prices: [{ variantId: shop.bolt, amount: 10_000 }] })
      expect(net.taxInclusive).toBe(false)
    })
  })

  describe('approvals and companies', () => {
    it("an approval granted by the buyer's former company does not cover their cart in the new one", async () => {
      await company()
      const cart = await shop.cart('cus_buyer', [[shop.drill, 2]])
      const approval = await shop.commerce.b2b.requestApproval(cart.id)
      await shop.commerce.b2b.approve({ approvalId: approval.id, approverId: 'cus_approver' })
      const other = await shop.commerce.b2b.createCompany({ name: 'Other', currency: 'USD', creditLimit: null, netDays: 30 })
      await shop.commerce.b2b.addMember({ companyId: other.id, customerId: 'cus_buyer', role: 'buyer', spendingLimit: 50_000 })
      const refused = await rejection(shop.checkout(cart.id))
      expect(refused.code).toBe('B2B_APPROVAL_REQUIRED')
      expect(await shop.rows(`select id from cw_orders where cart_id = '${cart.id}'`)).toEqual([])
      // Approved by the new company, it is placed.
      const again = await shop.commerce.b2b.requestApproval(cart.id)
      expect(again.companyId).toBe(other.id)
      await shop.commerce.b2b.addMember({ companyId: other.id, customerId: 'cus_boss', role: 'approver' })
      await shop.commerce.b2b.approve({ approvalId: again.id, approverId: 'cus_boss' })
      const order = await shop.checkout(cart.id)
      if (order.status === 'requires_action') throw new Error('unexpected action')
      // The order keeps the approval that let it through: the new company's.
      expect((await shop.commerce.b2b.orderLink(order.id))?.approvalId).toBe(again.id)
    })
  })

  describe('cart merge at login with quantity rules', () => {
    it('a line whose stock cap breaks a quantity rule is reported unavailable; the other lines are merged and the guest cart emptied', async () => {
      const box = (await shop.product('Box', 'BOX-1', 500, 20)).variants[0]!.id
      await shop.commerce.b2b.setQuantityRule({ variantId: box, minQuantity: 12, increment: 12 })
      const ada = await shop.commerce.customers.create({ email: 'ada@example.com' })
      const own = await shop.commerce.carts.create({ currency: 'USD', customerId: ada.id })
      await shop.commerce.carts.addItem(own.id, { variantId: box, quantity: 12 })
      const guest = await shop.commerce.carts.create({ currency: 'USD' })
      await shop.commerce.carts.addItem(guest.id, { variantId: box, quantity: 12 })
      await shop.commerce.carts.addItem(guest.id, { variantId: shop.bolt, quantity: 1 })

      const { cart, caps } = await shop.commerce.customers.mergeCarts({ customerId: ada.id, guestCartId: guest.id })
      expect(cart.id).toBe(own.id)
      expect(Object.fromEntries(cart.lines.map((l) => [l.variantId, l.quantity]))).toEqual({ [box]: 12, [shop.bolt]: 1 })
      expect(caps).toEqual([{ variantId: box, requested: 24, quantity: 12, reason: 'unavailable' }])
      expect((await shop.commerce.carts.get(guest.id)).lines).toEqual([])
    })

    it('a guest line below a minimum set after it was added is left out, and the guest cart is still emptied', async () => {
      const box = (await shop.product('Box', 'BOX-1', 500, 100)).variants[0]!.id
      const ada = await shop.commerce.customers.create({ email: 'ada@example.com' })
      const own = await shop.commerce.carts.create({ currency: 'USD', customerId: ada.id })
      await shop.commerce.carts.addItem(own.id, { variantId: shop.drill, quantity: 1 })
      const guest = await shop.commerce.carts.create({ currency: 'USD' })
      await shop.commerce.carts.addItem(guest.id, { variantId: shop.bolt, quantity: 1 })
      await shop.commerce.carts.addItem(guest.id, { variantId: box, quantity: 5 })
      await shop.commerce.b2b.setQuantityRule({ variantId: box, minQuantity: 12, increment: 1 })

      const { cart, caps } = await shop.commerce.customers.mergeCarts({ customerId: ada.id, guestCartId: guest.id })
      expect(Object.fromEntries(cart.lines.map((l) => [l.variantId, l.quantity]))).toEqual({ [shop.drill]: 1, [shop.bolt]: 1 })
      expect(caps).toEqual([{ variantId: box, requested: 5, quantity: 0, reason: 'unavailable' }])
      expect((await shop.commerce.carts.get(guest.id)).lines).toEqual([])
    })

    it.each(['first', 'second'] as const)('a merge stopped at its %s line by a storage failure can be retried: every guest line is merged once', async (which) => {
      const ada = await shop.commerce.customers.create({ email: 'ada@example.com' })
      const own = await shop.commerce.carts.create({ currency: 'USD', customerId: ada.id })
      await shop.commerce.carts.addItem(own.id, { variantId: shop.bolt, quantity: 2 })
      const guest = await shop.commerce.carts.create({ currency: 'USD' })
      await shop.commerce.carts.addItem(guest.id, { variantId: shop.bolt, quantity: 1 })
      await shop.commerce.carts.addItem(guest.id, { variantId: shop.drill, quantity: 1 })

      // One line's copy fails once as the database would: the bolt's (first) or the drill's (second, after the bolt's was merged).
      const failing = which === 'first' ? shop.bolt : shop.drill
      const carts = shop.commerce.carts
      const addItem = carts.addItem
      let failures = 0
      carts.addItem = (async (cartId: string, input: { variantId: string; quantity: number }) => {
        if (cartId === own.id && input.variantId === failing && failures++ === 0) throw new CommerceError('STORAGE', 'connection lost')
        return addItem.call(carts, cartId, input)
      }) as typeof carts.addItem
      const updateItem = carts.updateItem
      carts.updateItem = (async (cartId: string, lineId: string, input: { quantity: number }) => {
        const line = (await carts.get(cartId)).lines.find((l) => l.id === lineId)
        if (cartId === own.id && line?.variantId === failing && failures++ === 0) throw new CommerceError('STORAGE', 'connection lost')
        return updateItem.call(carts, cartId, lineId, input)
      }) as typeof carts.updateItem
      try {
        expect((await rejection(shop.commerce.customers.mergeCarts({ customerId: ada.id, guestCartId: guest.id }))).code).toBe('STORAGE')
      } finally {
        carts.addItem = addItem
        carts.updateItem = updateItem
      }
      expect(failures).toBe(1)

      const { cart } = await shop.commerce.customers.mergeCarts({ customerId: ada.id, guestCartId: guest.id })
      expect(cart.id).toBe(own.id)
      expect(Object.fromEntries(cart.lines.map((l) => [l.variantId, l.quantity]))).toEqual({ [shop.bolt]: 3, [shop.drill]: 1 })
      expect((await shop.commerce.carts.get(guest.id)).lines).toEqual([])
    })
  })
})
