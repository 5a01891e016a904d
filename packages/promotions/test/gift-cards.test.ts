import { createHash } from 'node:crypto'
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Order, Plugin } from '@cartwright/core'
import { GIFT_CARD_CODE_ALPHABET, GIFT_CARD_PROVIDER, promotions, type PromotionsService } from '../src/index.js'
import { STORAGES, SHIPPING, UNIT_PRICE, openShop, rejection, type GiftCardShop } from './gift-cards-support.js'

const ORDER_TOTAL = UNIT_PRICE + SHIPPING // 50.00

async function issue(shop: GiftCardShop, amount: number, extra: { expiresAt?: string; email?: string; currency?: string } = {}) {
  const card = await shop.cards.issue({ currency: 'USD', amount, idempotencyKey: randomUUID(), ...extra })
  return { id: card.id, code: card.code! }
}

const authorizations = (shop: GiftCardShop) => shop.payments.calls.filter((c) => c.operation === 'authorize' && c.charged)

describe.each(STORAGES)('gift cards on %s', (storage) => {
  it('of 10 concurrent checkouts each redeeming 10.00 from a 50.00 card, exactly 5 are placed with it; the others are refused before the gateway; the balance ends at 0 and equals its ledger', async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 5000)
      const carts = []
      for (let i = 0; i < 10; i++) {
        const cart = await shop.cart()
        await shop.cards.apply(cart.id, card.code, { amount: 1000 })
        carts.push(cart)
      }
      const outcomes = await Promise.allSettled(carts.map((c) => shop.checkout(c.id)))
      const placed = outcomes.filter((o): o is PromiseFulfilledResult<Order> => o.status === 'fulfilled').map((o) => o.value)
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason.code)
      expect(placed).toHaveLength(5)
      expect(refused).toEqual(Array(5).fill('GIFT_CARD_INSUFFICIENT'))
      // Only the 5 placed checkouts reached the gateway, each for what the card did not pay.
      expect(authorizations(shop).map((c) => c.amount)).toEqual(Array(5).fill(ORDER_TOTAL - 1000))

      for (const order of placed) {
        const stored = await shop.commerce.orders.get(order.id)
        expect(stored.payments.reduce((s, p) => s + p.amount, 0)).toBe(stored.totals.total)
        expect(stored.payments.filter((p) => p.kind === 'tender')).toMatchObject([{ provider: GIFT_CARD_PROVIDER, reference: card.id, amount: 1000, capturedAmount: 1000, status: 'captured' }])
      }
      const books = await shop.books(card.id)
      expect(books.balance).toBe(0)
      expect(books.ledger).toBe(books.balance)
      expect(books.entries.map((e) => e.kind).sort()).toEqual(['issue', ...Array(5).fill('redeem')].sort())
      // The refused carts are open again, holding nothing of the card.
      expect((await shop.rows(`select status, count(*) as n from gift_cards_holds group by status`)).map((r) => [r.status, Number(r.n)])).toEqual([['placed', 5]])
    } finally {
      await shop.close()
    }
  })

  it('a 30.00 card on a 50.00 order: the gateway is asked for 20.00, the payments add up to the total, a full refund returns 30.00 to the card and 20.00 to the gateway, once', async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 3000)
      const cart = await shop.cart()
      const applied = await shop.cards.apply(cart.id, card.code)
      expect(applied).toMatchObject({ total: ORDER_TOTAL, dueAtGateway: ORDER_TOTAL - 3000, cards: [{ cardId: card.id, amount: 3000, requested: null, usable: true }] })
      const order = await shop.checkout(cart.id)
      expect(authorizations(shop).map((c) => c.amount)).toEqual([2000])
      expect(order.payments.reduce((s, p) => s + p.amount, 0)).toBe(ORDER_TOTAL)
      expect((await shop.books(card.id)).balance).toBe(0)
      await shop.commerce.outbox.drain()
      const redeemed = await shop.rows(`select payload from cw_outbox where type = 'gift-cards.redeemed'`)
      expect(redeemed.map((r) => (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload))).toMatchObject([{ cardId: card.id, orderId: order.id, amount: 3000 }])

      await shop.commerce.orders.capturePayment(order.id)
      const refunded = await shop.commerce.orders.refund(order.id, { amount: ORDER_TOTAL, idempotencyKey: 'refund-all' })
      expect(refunded.paymentStatus).toBe('refunded')
      expect(refunded.payments.find((p) => p.kind === 'gateway')!.refundedAmount).toBe(2000)
      expect(refunded.payments.find((p) => p.kind === 'tender')!.refundedAmount).toBe(3000)
      expect(shop.payments.calls.filter((c) => c.operation === 'refund').map((c) => c.amount)).toEqual([2000])
      const books = await shop.books(card.id)
      expect(books).toMatchObject({ balance: 3000, ledger: 3000 })
      expect(books.entries.map((e) => [e.kind, e.amount])).toEqual([['issue', 3000], ['redeem', -3000], ['refund', 3000]])

      // The same refund again replays it: nothing moves twice, at the gateway or on the card.
      await shop.commerce.orders.refund(order.id, { amount: ORDER_TOTAL, idempotencyKey: 'refund-all' })
      expect((await shop.books(card.id)).balance).toBe(3000)
      const tender = refunded.payments.find((p) => p.kind === 'tender')!
      expect((await shop.rows(`select count(*) as n from gift_cards_ledger where kind = 'refund' and payment_id = '${tender.id}'`)).map((r) => Number(r.n))).toEqual([1])
    } finally {
      await shop.close()
    }
  })

  it("the tender provider's refund credits a card once per idempotency key, even when called twice at once", async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 1000)
      const provider = shop.plugin.payments![0]!
      const input = { paymentId: 'pay_x', operationId: 'pop_x', reference: card.id, idempotencyKey: 'refund-key-1', amount: 700, currency: 'USD' }
      const answers = await Promise.all([provider.refund!(input), provider.refund!(input), provider.refund!(input)])
      expect(answers.map((a) => a.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
      expect(await shop.books(card.id)).toMatchObject({ balance: 1700, ledger: 1700 })
      await provider.refund!({ ...input, idempotencyKey: 'refund-key-2' })
      expect((await shop.books(card.id)).balance).toBe(2400)
    } finally {
      await shop.close()
    }
  })

  it('a declined gateway payment gives the card its 30.00 back, with a release in the ledger; the next attempt uses it again', async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 3000)
      const cart = await shop.cart()
      await shop.cards.apply(cart.id, card.code)
      shop.payments.script('decline')
      expect((await rejection(shop.checkout(cart.id))).code).toBe('PAYMENT_DECLINED')
      const books = await shop.books(card.id)
      expect(books).toMatchObject({ balance: 3000, ledger: 3000 })
      expect(books.entries.map((e) => [e.kind, e.amount])).toEqual([['issue', 3000], ['redeem', -3000], ['release', 3000]])
      expect(await shop.rows(`select status from cw_payments where kind = 'tender'`)).toEqual([{ status: 'voided' }])

      const order = await shop.checkout(cart.id)
      expect(order.payments.find((p) => p.kind === 'tender')!.amount).toBe(3000)
      expect((await shop.books(card.id)).balance).toBe(0)
    } finally {
      await shop.close()
    }
  })

  it("canceling an order paid partly by card returns the card's part to the card", async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 1200)
      const cart = await shop.cart()
      await shop.cards.apply(cart.id, card.code)
      const order = await shop.checkout(cart.id)
      await shop.commerce.orders.cancel(order.id)
      const books = await shop.books(card.id)
      expect(books).toMatchObject({ balance: 1200, ledger: 1200 })
      expect(books.entries.map((e) => e.kind)).toEqual(['issue', 'redeem', 'refund'])
    } finally {
      await shop.close()
    }
  })

  it('several cards pay in the order they were applied, never more than the total; a card whose requested amount exceeds what is left pays only that', async () => {
    const shop = await openShop(storage)
    try {
      const a = await issue(shop, 2000)
      const b = await issue(shop, 6000)
      const cart = await shop.cart()
      await shop.cards.apply(cart.id, a.code)
      const applied = await shop.cards.apply(cart.id, b.code, { amount: 4000 })
      expect(applied.cards.map((c) => [c.cardId, c.amount])).toEqual([[a.id, 2000], [b.id, 3000]])
      expect(applied.dueAtGateway).toBe(0)
      const order = await shop.checkout(cart.id)
      // Nothing left for the gateway: it is not asked at all.
      expect(authorizations(shop)).toEqual([])
      expect(order.payments.filter((p) => p.kind === 'tender').map((p) => [p.reference, p.amount])).toEqual([[a.id, 2000], [b.id, 3000]])
      expect((await shop.books(a.id)).balance).toBe(0)
      expect(await shop.books(b.id)).toMatchObject({ balance: 3000, ledger: 3000 })

      // Taking a card off: the next cart pays with the other only.
      const next = await shop.cart()
      await shop.cards.apply(next.id, b.code)
      const removed = await shop.cards.remove(next.id, b.code)
      expect(removed.cards).toEqual([])
      expect(removed.dueAtGateway).toBe(ORDER_TOTAL)
    } finally {
      await shop.close()
    }
  })

  it('the same card applied to a cart twice at once is on it once, with the amount of one of the calls', async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 4000)
      const cart = await shop.cart()
      await Promise.all([shop.cards.apply(cart.id, card.code, { amount: 1000 }), shop.cards.apply(cart.id, card.code, { amount: 2000 }), shop.cards.apply(cart.id, card.code, { amount: 1000 })])
      const { cards } = await shop.cards.applied(cart.id)
      expect(cards).toHaveLength(1)
      expect([1000, 2000]).toContain(cards[0]!.requested)
      // Applied again later: it keeps its place and takes the new amount.
      const again = await shop.cards.apply(cart.id, card.code, { amount: 500 })
      expect(again.cards.map((c) => [c.cardId, c.requested])).toEqual([[card.id, 500]])
    } finally {
      await shop.close()
    }
  })

  it('composed with promotions(): the card pays the discounted total, and a decline gives back both the coupon use and the card', async () => {
    const shop = await openShop(storage, { plugins: [promotions() as unknown as Plugin] })
    const promos = (shop.commerce as unknown as { promotions: PromotionsService }).promotions
    try {
      const promo = await promos.create({ name: '20% off', code: 'TWENTY', discount: { type: 'percentage', percent: '20' }, usageLimit: 1 })
      const card = await issue(shop, 10_000)
      const cart = await shop.cart()
      await promos.applyCode(cart.id, 'TWENTY')
      const applied = await shop.cards.apply(cart.id, card.code)
      const discounted = ORDER_TOTAL - UNIT_PRICE / 5 // 20% of the line, none of the shipping
      expect(applied).toMatchObject({ total: discounted, dueAtGateway: 0, cards: [{ amount: discounted }] })

      shop.payments.setDefault('decline')
      // Nothing is left for the gateway: this checkout is paid by the card alone and is placed.
      const order = await shop.checkout(cart.id)
      expect(order.totals.total).toBe(discounted)
      expect(order.payments.filter((p) => p.kind === 'tender').map((p) => p.amount)).toEqual([discounted])
      expect((await promos.usage(promo.id)).used).toBe(1)
      expect((await shop.books(card.id)).balance).toBe(10_000 - discounted)

      // A card that covers only part, with a gateway that declines: both the card and the coupon's use come back.
      await promos.update(promo.id, { usageLimit: 2 })
      const other = await shop.cart()
      await promos.applyCode(other.id, 'TWENTY')
      await shop.cards.apply(other.id, card.code, { amount: 1000 })
      expect((await rejection(shop.checkout(other.id))).code).toBe('PAYMENT_DECLINED')
      expect((await promos.usage(promo.id)).used).toBe(1)
      expect(await shop.books(card.id)).toMatchObject({ balance: 10_000 - discounted, ledger: 10_000 - discounted })
    } finally {
      await shop.close()
    }
  })

  it("endpoints: a shopper changes only the cart whose token they hold, and the balance check answers one 404", async () => {
    const shop = await openShop(storage)
    try {
      const route = (method: string, path: string) => shop.commerce.endpoints.find((e) => e.method === method && e.path === path)!
      const card = await issue(shop, 1500)
      const mine = await shop.cart()
      const theirs = await shop.cart()
      const apply = route('POST', '/carts/:cartId/gift-cards')
      const applied = await apply.handler({ input: { cartId: mine.id, code: card.code }, actor: { kind: 'cart', cartId: mine.id }, commerce: shop.commerce })
      expect(apply.output.parse(applied)).toMatchObject({ cartId: mine.id, cards: [{ cardId: card.id, amount: 1500 }] })
      const refused = await rejection(Promise.resolve().then(() => apply.handler({ input: { cartId: theirs.id, code: card.code }, actor: { kind: 'cart', cartId: mine.id }, commerce: shop.commerce })))
      expect(refused.code).toBe('NOT_FOUND')
      expect((await shop.cards.applied(theirs.id)).cards).toEqual([])

      const balance = route('POST', '/gift-cards/balance')
      expect(balance).toMatchObject({ surface: 'store', access: 'public', rateLimit: { max: 10 } })
      expect(await balance.handler({ input: { code: card.code }, actor: { kind: 'anonymous' }, commerce: shop.commerce })).toMatchObject({ balance: 1500, currency: 'USD' })
      await shop.cards.disable(card.id)
      const misses = await Promise.all(
        [card.code, 'AAAA-BBBB-CCCC-DDDD'].map((code) => rejection(Promise.resolve().then(() => balance.handler({ input: { code }, actor: { kind: 'anonymous' }, commerce: shop.commerce })))),
      )
      expect(misses.map((m) => m.code)).toEqual(['NOT_FOUND', 'NOT_FOUND'])
      expect(shop.commerce.endpoints.filter((e) => e.path.startsWith('/gift-cards') && e.surface === 'admin').every((e) => e.access === 'staff')).toBe(true)
    } finally {
      await shop.close()
    }
  })

  it('unknown, disabled, expired, empty and other-currency codes all get the same refusal, and nothing is applied', async () => {
    const shop = await openShop(storage)
    try {
      const cart = await shop.cart()
      const disabled = await issue(shop, 1000)
      await shop.cards.disable(disabled.id, { reason: 'reported stolen' })
      const empty = await issue(shop, 1000)
      await shop.cards.adjust(empty.id, { amount: -1000, reason: 'spent at the till', idempotencyKey: 'till-1' })
      const euro = await issue(shop, 1000, { currency: 'EUR' })
      const soon = await issue(shop, 1000, { expiresAt: new Date(Date.now() + 500).toISOString() })
      await new Promise((r) => setTimeout(r, 600))
      const unknown = 'AAAA-BBBB-CCCC-DDDD'
      const refusals = []
      for (const code of [unknown, disabled.code, empty.code, euro.code, soon.code]) refusals.push(await rejection(shop.cards.apply(cart.id, code)))
      expect(new Set(refusals.map((r) => `${r.code}: ${r.message}`))).toEqual(new Set(['GIFT_CARD_INVALID: This gift card cannot be used']))
      expect(await shop.rows('select cart_id from gift_cards_applied')).toEqual([])

      // The balance check: the same "not found" for unknown, disabled and expired codes.
      const misses = []
      for (const code of [unknown, disabled.code, soon.code]) misses.push(await rejection(shop.cards.balance(code)))
      expect(misses.map((m) => m.code)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND'])
      expect(await shop.cards.balance(euro.code.toLowerCase().replace(/-/g, ' '))).toMatchObject({ currency: 'EUR', balance: 1000 })
    } finally {
      await shop.close()
    }
  })

  it('a card disabled after it was applied is refused at checkout before the gateway, and the cart stays open', async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 1000)
      const cart = await shop.cart()
      await shop.cards.apply(cart.id, card.code)
      await shop.cards.disable(card.id)
      expect((await rejection(shop.checkout(cart.id))).code).toBe('GIFT_CARD_INVALID')
      expect(authorizations(shop)).toEqual([])
      expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')
      expect((await shop.books(card.id)).balance).toBe(1000)
    } finally {
      await shop.close()
    }
  })

  it('codes are 16 characters of the unambiguous alphabet, stored only as their SHA-256 with the last four', async () => {
    const shop = await openShop(storage)
    try {
      const issued = await shop.cards.issue({ currency: 'USD', amount: 500, idempotencyKey: 'k-code' })
      const plain = issued.code!.replace(/-/g, '')
      expect(issued.code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/)
      expect([...plain].every((c) => GIFT_CARD_CODE_ALPHABET.includes(c))).toBe(true)
      expect(GIFT_CARD_CODE_ALPHABET).not.toMatch(/[01IO]/)
      const [row] = await shop.rows(`select * from gift_cards_cards where id = '${issued.id}'`)
      expect(row!.code_hash).toBe(createHash('sha256').update(plain).digest('hex'))
      expect(row!.last4).toBe(plain.slice(-4))
      expect(JSON.stringify(row)).not.toContain(plain)
      expect(issued.maskedCode).toBe(`••••-••••-••••-${plain.slice(-4)}`)
      // A replay of the key answers the same card, without the code.
      const again = await shop.cards.issue({ currency: 'USD', amount: 500, idempotencyKey: 'k-code' })
      expect(again.id).toBe(issued.id)
      expect(again.code).toBeUndefined()
      expect((await rejection(shop.cards.issue({ currency: 'USD', amount: 600, idempotencyKey: 'k-code' }))).code).toBe('CONFLICT')
      expect((await shop.cards.findByCode(issued.code!)).id).toBe(issued.id)
      const page = await shop.cards.list()
      expect(page.items.map((c) => c.id)).toEqual([issued.id])
      expect(JSON.stringify(page)).not.toContain(plain)
    } finally {
      await shop.close()
    }
  })

  it('the database refuses a negative balance whatever the update (check constraint)', async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 500)
      await expect(shop.rows(`update gift_cards_cards set balance = balance - 501 where id = '${card.id}'`)).rejects.toThrow(/check|constraint/i)
      expect((await shop.books(card.id)).balance).toBe(500)
    } finally {
      await shop.close()
    }
  })

  it('adjust: a change below zero is refused, a replayed key changes nothing, and the ledger keeps each reason', async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 1000)
      expect((await rejection(shop.cards.adjust(card.id, { amount: -1001, reason: 'too much', idempotencyKey: 'a1' }))).code).toBe('GIFT_CARD_INSUFFICIENT')
      expect(await shop.books(card.id)).toMatchObject({ balance: 1000, ledger: 1000 })
      await shop.cards.adjust(card.id, { amount: 250, reason: 'goodwill', idempotencyKey: 'a2' })
      await shop.cards.adjust(card.id, { amount: 250, reason: 'goodwill', idempotencyKey: 'a2' })
      // The ledger lists entries by their time (to the millisecond): two made in the same one would come in either order.
      await new Promise((resolve) => setTimeout(resolve, 5))
      await shop.cards.adjust(card.id, { amount: -1000, reason: 'used at the till', idempotencyKey: 'a3' })
      expect(await shop.books(card.id)).toMatchObject({ balance: 250, ledger: 250 })
      expect((await shop.cards.ledger(card.id)).map((e) => [e.kind, e.amount, e.reason])).toEqual([
        ['issue', 1000, null],
        ['adjust', 250, 'goodwill'],
        ['adjust', -1000, 'used at the till'],
      ])
    } finally {
      await shop.close()
    }
  })

  it('bad input is refused with VALIDATION naming the field, and nothing is stored', async () => {
    const shop = await openShop(storage)
    try {
      const cart = await shop.cart()
      const card = await issue(shop, 100)
      const cases: Array<[() => Promise<unknown>, string]> = [
        [() => shop.cards.issue({ currency: 'usd', amount: 100, idempotencyKey: 'b1' }), 'currency'],
        [() => shop.cards.issue({ currency: 'USD', amount: 0, idempotencyKey: 'b2' }), 'amount'],
        [() => shop.cards.issue({ currency: 'USD', amount: 1.5, idempotencyKey: 'b3' }), 'amount'],
        [() => shop.cards.issue({ currency: 'USD', amount: 100, idempotencyKey: '' }), 'idempotencyKey'],
        [() => shop.cards.issue({ currency: 'USD', amount: 100, idempotencyKey: 'b4', expiresAt: '2001-01-01T00:00:00Z' }), 'expiresAt'],
        [() => shop.cards.issue({ currency: 'USD', amount: 100, idempotencyKey: 'b5', email: 'not an email' }), 'email'],
        [() => shop.cards.apply(cart.id, 'AAAA', { amount: -5 }), 'amount'],
        [() => shop.cards.apply(cart.id, 'A\u0000B'), 'code'],
        [() => shop.cards.adjust(card.id, { amount: 0, reason: 'x', idempotencyKey: 'b6' }), 'amount'],
        [() => shop.cards.adjust(card.id, { amount: 5, reason: ' ', idempotencyKey: 'b7' }), 'reason'],
        [() => shop.cards.sellAs(shop.giftVariantId, { amounts: { USD: -1 } }), 'amounts.USD'],
      ]
      for (const [call, field] of cases) {
        const error = await rejection(call())
        expect({ code: error.code, fields: error.fields }).toEqual({ code: 'VALIDATION', fields: [field] })
      }
      expect((await shop.rows('select id from gift_cards_cards')).map((r) => r.id)).toEqual([card.id])
      expect(await shop.books(card.id)).toMatchObject({ balance: 100, ledger: 100 })
      expect(await shop.rows('select cart_id from gift_cards_applied')).toEqual([])
      expect(await shop.rows('select variant_id from gift_cards_products')).toEqual([])
    } finally {
      await shop.close()
    }
  })

  it('privacy: a recipient email is exported with the masked card, and erased without touching the balance', async () => {
    const shop = await openShop(storage)
    try {
      const card = await issue(shop, 700, { email: 'Grace@Example.com' })
      const exported = await shop.commerce.privacy.export({ email: 'grace@example.com' })
      expect(JSON.stringify(exported)).toContain(card.id)
      expect(JSON.stringify(exported)).not.toContain(card.code.replace(/-/g, ''))
      await shop.commerce.privacy.erase({ email: 'grace@example.com' })
      const after = await shop.cards.get(card.id)
      expect(after).toMatchObject({ email: null, balance: 700 })
    } finally {
      await shop.close()
    }
  })
})

describe.each(STORAGES)('gift cards sold as products on %s', (storage) => {
  async function issuedEvents(shop: GiftCardShop) {
    const rows = await shop.rows(`select payload from cw_outbox where type = 'gift-cards.issued'`)
    return rows.map((r) => (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload))
  }

  it('a paid order issues one card per unit sold, once, even when its events are delivered several times at once, and announces each with the recipient email', async () => {
    const shop = await openShop(storage, { dispatcher: false })
    try {
      await shop.cards.sellAs(shop.giftVariantId)
      const cart = await shop.cart({ variantId: shop.giftVariantId, quantity: 2, email: 'friend@example.com' })
      const order = await shop.checkout(cart.id)
      await shop.commerce.outbox.drain()
      // Authorized, not yet captured: not paid, so no card yet.
      expect(await shop.rows(`select id from gift_cards_cards`)).toEqual([])
      expect(await shop.rows(`select status from gift_cards_sales`)).toEqual([{ status: 'pending' }, { status: 'pending' }])

      await shop.commerce.orders.capturePayment(order.id)
      // The capture's event, delivered three times at once (a redelivery racing the first), then by the outbox.
      const [captured] = await shop.rows(`select id, type, payload, created_at from cw_outbox where type = 'payment.captured'`)
      const envelope = {
        id: String(captured!.id),
        type: 'payment.captured' as const,
        payload: typeof captured!.payload === 'string' ? JSON.parse(captured!.payload as string) : captured!.payload,
        createdAt: String(captured!.created_at),
      }
      const subscriber = shop.plugin.subscribers![0]!
      await Promise.all([1, 2, 3].map((attempt) => subscriber.handle(envelope, { attempt, subscriber: subscriber.id })))
      await shop.commerce.outbox.drain()
      expect(await shop.cards.issueForOrder(order.id)).toEqual([])

      const events = await issuedEvents(shop)
      expect(events.map((e) => [e.email, e.amount, e.currency, e.orderId])).toEqual(Array(2).fill(['friend@example.com', 2500, 'USD', order.id]))
      // The code in the event is the card's: the recipient can use it.
      expect(await shop.cards.balance(events[0].code)).toMatchObject({ balance: 2500 })
      const cards = await shop.cards.list({ source: 'order' })
      expect(cards.items.map((c) => [c.orderId, c.balance, c.email])).toEqual(Array(2).fill([order.id, 2500, 'friend@example.com']))
      for (const card of cards.items) expect((await shop.books(card.id)).ledger).toBe(2500)
      // Each unit sold points to the one card issued for it.
      const sales = await shop.rows(`select status, card_id from gift_cards_sales order by card_id`)
      expect(sales).toEqual(cards.items.map((c) => ({ status: 'issued', card_id: c.id })).sort((a, b) => (a.card_id < b.card_id ? -1 : 1)))
    } finally {
      await shop.close()
    }
  })

  it('a fixed value per currency and a validity in days are used instead of the unit price', async () => {
    const shop = await openShop(storage, { autoCapture: true })
    try {
      await shop.cards.sellAs(shop.giftVariantId, { amounts: { USD: 3000 }, expiresInDays: 365 })
      const order = await shop.checkout((await shop.cart({ variantId: shop.giftVariantId })).id)
      await shop.commerce.outbox.drain()
      const [card] = (await shop.cards.list()).items
      expect(card).toMatchObject({ orderId: order.id, initialAmount: 3000, balance: 3000, source: 'order' })
      const days = (new Date(card!.expiresAt!).getTime() - new Date(card!.createdAt).getTime()) / 86_400_000
      expect(days).toBe(365)
    } finally {
      await shop.close()
    }
  })

  it('an order canceled before it was paid issues no card, and its sales are void', async () => {
    const shop = await openShop(storage)
    try {
      await shop.cards.sellAs(shop.giftVariantId)
      const order = await shop.checkout((await shop.cart({ variantId: shop.giftVariantId })).id)
      await shop.commerce.orders.cancel(order.id)
      await shop.commerce.outbox.drain()
      expect(await shop.cards.issueForOrder(order.id)).toEqual([])
      expect(await shop.rows(`select id from gift_cards_cards`)).toEqual([])
      expect(await shop.rows(`select status from gift_cards_sales`)).toEqual([{ status: 'void' }])
      expect(await issuedEvents(shop)).toEqual([])
    } finally {
      await shop.close()
    }
  })
})
