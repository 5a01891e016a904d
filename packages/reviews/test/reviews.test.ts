import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { definePlugin } from '@cartwright/core'
import { openShop, random, rejection, STORAGES, type ReviewShop } from './support.js'

describe.each(STORAGES)('reviews on %s', (storage) => {
  let shop: ReviewShop
  beforeEach(async () => {
    shop = await openShop(storage)
  })
  afterEach(() => shop.close())

  /** A review whose email the shop's code has proven (a signed-in customer's verified email). */
  const review = (productId: string, email: string, rating = 5) =>
    shop.commerce.reviews.submit({ productId, email, emailVerified: true, rating, body: `Rated ${rating}` })

  describe('verified buyers', () => {
    it('a review from a customer who bought the product is marked verified, whatever the case of the email', async () => {
      await shop.buy('Ada.Lovelace@Example.com', shop.shoe)

      const buyer = await review(shop.shoe.id, 'ada.lovelace@example.COM')
      const other = await review(shop.shoe.id, 'grace@example.com')
      const notThisProduct = await review(shop.sock.id, 'ada.lovelace@example.com')

      expect([buyer.verifiedBuyer, other.verifiedBuyer, notThisProduct.verifiedBuyer]).toEqual([true, false, false])
      expect(buyer.status).toBe('pending')
      // An email the shop's code does not vouch for is a contact address: never a buyer's.
      const typed = await shop.commerce.reviews.submit({ productId: shop.shoe.id, email: 'ada.lovelace@example.com', emailVerified: false, rating: 5, body: 'Typed.' })
      expect([typed.emailVerified, typed.verifiedBuyer, buyer.emailVerified]).toEqual([false, false, true])
      const { reviews } = await shop.tables()
      expect(reviews.map((r) => [r.id, Number(r.verified_buyer), r.status])).toEqual(
        [
          [buyer.id, 1, 'pending'],
          [other.id, 0, 'pending'],
          [notThisProduct.id, 0, 'pending'],
          [typed.id, 0, 'pending'],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      )
    })

    it('a review becomes verified when its author orders the product, and stops being when that order is canceled', async () => {
      const before = await review(shop.shoe.id, 'ada@example.com')
      expect(before.verifiedBuyer).toBe(false)

      const first = await shop.buy('ADA@example.com', shop.shoe, shop.sock)
      expect((await shop.commerce.reviews.get(before.id)).verifiedBuyer).toBe(true)

      const second = await shop.buy('ada@example.com', shop.shoe)
      await shop.commerce.orders.cancel(first.id)
      // Still bought, by the second order.
      expect((await shop.commerce.reviews.get(before.id)).verifiedBuyer).toBe(true)

      await shop.commerce.orders.cancel(second.id)
      expect((await shop.commerce.reviews.get(before.id)).verifiedBuyer).toBe(false)
      expect((await shop.tables()).purchases).toEqual([])
    })

    it('an email the caller does not say is proven (no emailVerified) is a contact address: never a buyer’s, not even after an order', async () => {
      await shop.buy('ada@example.com', shop.shoe)
      const unsaid = await shop.commerce.reviews.submit({ productId: shop.shoe.id, email: 'ada@example.com', rating: 5, body: 'Typed in a form.' })
      expect([unsaid.emailVerified, unsaid.verifiedBuyer]).toEqual([false, false])
      await shop.buy('ada@example.com', shop.shoe)
      expect(await shop.commerce.reviews.get(unsaid.id)).toMatchObject({ emailVerified: false, verifiedBuyer: false })
      const { reviews } = await shop.tables()
      expect(reviews.map((r) => [r.id, Number(r.email_verified), Number(r.verified_buyer)])).toEqual([[unsaid.id, 0, 0]])
    })

    it('a canceled order does not make a new review verified', async () => {
      const order = await shop.buy('ada@example.com', shop.shoe)
      await shop.commerce.orders.cancel(order.id)
      expect((await review(shop.shoe.id, 'ada@example.com')).verifiedBuyer).toBe(false)
    })
  })

  describe('moderation and the product summary', () => {
    it('approving and removing reviews keeps the product average and count exact', async () => {
      const [a, b, c] = [await review(shop.shoe.id, 'a@example.com', 5), await review(shop.shoe.id, 'b@example.com', 2), await review(shop.shoe.id, 'c@example.com', 4)]
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toEqual({ productId: shop.shoe.id, count: 0, ratingSum: 0, average: null })

      await shop.commerce.reviews.approve(a.id)
      await shop.commerce.reviews.approve(b.id)
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toEqual({ productId: shop.shoe.id, count: 2, ratingSum: 7, average: 3.5 })

      await shop.commerce.reviews.approve(c.id)
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toMatchObject({ count: 3, ratingSum: 11, average: 11 / 3 })

      await shop.commerce.reviews.remove(a.id)
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toMatchObject({ count: 2, ratingSum: 6, average: 3 })
      // Removing a pending or rejected review changes nothing; unpublishing an approved one does.
      await shop.commerce.reviews.reject(b.id, { reason: 'off topic' })
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toMatchObject({ count: 1, ratingSum: 4, average: 4 })
      await shop.commerce.reviews.remove(b.id)
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toMatchObject({ count: 1, ratingSum: 4, average: 4 })
      // The other product is untouched.
      expect(await shop.commerce.reviews.summary(shop.sock.id)).toMatchObject({ count: 0, average: null })
      expect((await shop.tables()).summaries).toEqual([{ product_id: shop.shoe.id, review_count: 1, rating_sum: 4 }])
    })

    it('concurrent approvals of the same review count it once', async () => {
      const reviews = [await review(shop.shoe.id, 'a@example.com', 5), await review(shop.shoe.id, 'b@example.com', 3)]
      // Ten approvals of each at once (the pool has ten connections on PostgreSQL).
      const results = await Promise.allSettled(reviews.flatMap((r) => Array.from({ length: 10 }, () => shop.commerce.reviews.approve(r.id))))
      expect(results.filter((r) => r.status === 'rejected')).toEqual([])
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toEqual({ productId: shop.shoe.id, count: 2, ratingSum: 8, average: 4 })
      expect((await shop.tables()).summaries).toEqual([{ product_id: shop.shoe.id, review_count: 2, rating_sum: 8 }])

      // And concurrent removals of an approved review take it away once.
      await Promise.all(Array.from({ length: 10 }, () => shop.commerce.reviews.remove(reviews[0]!.id)))
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toEqual({ productId: shop.shoe.id, count: 1, ratingSum: 3, average: 3 })
    })

    it('a random sequence of approvals, rejections and removals keeps every summary equal to one recomputed from the reviews', async () => {
      const next = random(storage === 'sqlite' ? 7 : 11)
      const products = [shop.shoe.id, shop.sock.id]
      const ids: string[] = []
      for (let i = 0; i < 16; i++) ids.push((await review(products[i % 2]!, `r${i}@example.com`, 1 + Math.floor(next() * 5))).id)
      const actions = ['approve', 'approve', 'reject', 'remove'] as const
      for (let step = 0; step < 60; step++) {
        const id = ids[Math.floor(next() * ids.length)]!
        const action = actions[Math.floor(next() * actions.length)]!
        try {
          await shop.commerce.reviews[action](id)
        } catch (error) {
          // Only a removed review refuses a change.
          expect((await shop.commerce.reviews.get(id)).status).toBe('removed')
          expect((await rejection(Promise.reject(error))).code).toBe('REVIEW_STATE')
        }
        for (const productId of products) {
          const ratings = await shop.approvedRatings(productId)
          const sum = ratings.reduce((s, r) => s + r, 0)
          expect(await shop.commerce.reviews.summary(productId), `step ${step}: ${action} ${id}`).toEqual({
            productId,
            count: ratings.length,
            ratingSum: sum,
            average: ratings.length ? sum / ratings.length : null,
          })
        }
      }
    })

    it('a removed review stays removed', async () => {
      const r = await review(shop.shoe.id, 'a@example.com')
      await shop.commerce.reviews.remove(r.id)
      expect(await rejection(shop.commerce.reviews.approve(r.id))).toMatchObject({ code: 'REVIEW_STATE' })
      expect(await rejection(shop.commerce.reviews.reject(r.id))).toMatchObject({ code: 'REVIEW_STATE' })
      expect((await shop.commerce.reviews.remove(r.id)).status).toBe('removed')
      expect(await rejection(shop.commerce.reviews.approve('rev_nothing'))).toMatchObject({ code: 'NOT_FOUND' })
    })

    it('announces submissions, approvals and removals with the summary after the change', async () => {
      const seen: Array<[string, unknown]> = []
      shop.commerce.events.on('reviews.submitted', (p) => void seen.push(['submitted', p.rating]))
      shop.commerce.events.on('reviews.approved', (p) => void seen.push(['approved', p.summary.count]))
      shop.commerce.events.on('reviews.removed', (p) => void seen.push(['removed', [p.wasApproved, p.summary.count]]))
      const r = await review(shop.shoe.id, 'a@example.com', 4)
      await shop.commerce.reviews.approve(r.id)
      await shop.commerce.reviews.approve(r.id) // nothing changes, nothing is announced
      await shop.commerce.reviews.remove(r.id)
      expect(seen).toEqual([
        ['submitted', 4],
        ['approved', 1],
        ['removed', [true, 0]],
      ])
    })
  })

  describe('listing', () => {
    it('shoppers see approved reviews without emails, staff see every status, a page at a time', async () => {
      const ids: string[] = []
      for (let i = 0; i < 7; i++) ids.push((await review(shop.shoe.id, `r${i}@example.com`, 1 + (i % 5))).id)
      for (const id of ids.slice(0, 5)) await shop.commerce.reviews.approve(id)
      await shop.commerce.reviews.reject(ids[5]!)

      const published: string[] = []
      let cursor: string | undefined
      do {
        const page = await shop.commerce.reviews.listPublished({ productId: shop.shoe.id, limit: 2, ...(cursor ? { cursor } : {}) })
        expect(page.items.length).toBeLessThanOrEqual(2)
        for (const item of page.items) expect(item).not.toHaveProperty('email')
        published.push(...page.items.map((r) => r.id))
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      expect(published.sort()).toEqual(ids.slice(0, 5).sort())

      const all = await shop.commerce.reviews.list({ productId: shop.shoe.id, limit: 100 })
      expect(all.items.map((r) => r.id).sort()).toEqual([...ids].sort())
      expect(all.nextCursor).toBeNull()
      expect((await shop.commerce.reviews.list({ status: 'pending' })).items.map((r) => r.id)).toEqual([ids[6]])
      expect((await shop.commerce.reviews.list({ status: 'rejected' })).items.map((r) => r.email)).toEqual(['r5@example.com'])
    })

    it('describes its Store and Admin endpoints', () => {
      const routes = shop.commerce.endpoints.map((e) => `${e.surface} ${e.method} ${e.path} ${e.access}`)
      expect(routes).toEqual(
        expect.arrayContaining([
          'store POST /products/:productId/reviews public',
          'store GET /products/:productId/reviews public',
          'store GET /products/:productId/reviews/summary public',
          'admin GET /reviews staff',
          'admin POST /reviews/:reviewId/approve staff',
          'admin POST /reviews/:reviewId/reject staff',
          'admin DELETE /reviews/:reviewId staff',
        ]),
      )
    })
  })

  describe('privacy', () => {
    it("exports a person's reviews, and erase keeps the ratings counted without the email and name", async () => {
      await shop.buy('ada@example.com', shop.shoe)
      const r = await shop.commerce.reviews.submit({ productId: shop.shoe.id, email: 'Ada@Example.com', name: 'Ada', rating: 4, body: 'Good.' })
      await shop.commerce.reviews.approve(r.id)

      const data = await shop.commerce.privacy.export({ email: 'ada@example.com' })
      expect((data.plugins.reviews as { reviews: Array<{ id: string }> }).reviews.map((x) => x.id)).toEqual([r.id])

      await shop.commerce.privacy.erase({ email: 'ada@example.com' })
      const { reviews, purchases } = await shop.tables()
      expect(reviews).toMatchObject([{ id: r.id, name: null, status: 'approved', rating: 4 }])
      expect(reviews[0]!.email).not.toMatch(/ada/i)
      expect(purchases).toEqual([])
      expect((await shop.tables()).buyers).toEqual([])
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toMatchObject({ count: 1, ratingSum: 4 })
    })
  })

  describe('bad input', () => {
    it('is a VALIDATION error naming the field, and leaves every table unchanged', async () => {
      const r = await review(shop.shoe.id, 'a@example.com')
      await shop.commerce.reviews.approve(r.id)
      await shop.buy('a@example.com', shop.shoe)
      const before = await shop.tables()

      const good = { productId: shop.shoe.id, email: 'b@example.com', rating: 4, body: 'Fine.' }
      const cases: Array<[string, () => Promise<unknown>]> = [
        ['rating', () => shop.commerce.reviews.submit({ ...good, rating: 0 })],
        ['rating', () => shop.commerce.reviews.submit({ ...good, rating: 6 })],
        ['rating', () => shop.commerce.reviews.submit({ ...good, rating: 4.5 })],
        ['rating', () => shop.commerce.reviews.submit({ ...good, rating: '5' as never })],
        ['email', () => shop.commerce.reviews.submit({ ...good, email: 'not an email' })],
        ['emailVerified', () => shop.commerce.reviews.submit({ ...good, emailVerified: 'yes' as never })],
        ['email', () => shop.commerce.reviews.submit({ ...good, email: `${'x'.repeat(320)}@example.com` })],
        ['body', () => shop.commerce.reviews.submit({ ...good, body: '   ' })],
        ['body', () => shop.commerce.reviews.submit({ ...good, body: 'x'.repeat(5001) })],
        ['body', () => shop.commerce.reviews.submit({ ...good, body: 'null \u0000 byte' })],
        ['title', () => shop.commerce.reviews.submit({ ...good, title: 'x'.repeat(151) })],
        ['name', () => shop.commerce.reviews.submit({ ...good, name: '\ud800' })],
        ['productId', () => shop.commerce.reviews.submit({ ...good, productId: '' })],
        ['', () => shop.commerce.reviews.submit({ ...good, verifiedBuyer: true } as never)],
        ['reviewId', () => shop.commerce.reviews.approve('')],
        ['reviewId', () => shop.commerce.reviews.remove('x'.repeat(65))],
        ['reason', () => shop.commerce.reviews.reject(r.id, { reason: 'x'.repeat(501) })],
        ['productId', () => shop.commerce.reviews.summary(42 as never)],
        ['status', () => shop.commerce.reviews.list({ status: 'published' as never })],
        ['limit', () => shop.commerce.reviews.list({ limit: 0 })],
        ['cursor', () => shop.commerce.reviews.list({ cursor: "' or 1=1 --" })],
        ['cursor', () => shop.commerce.reviews.listPublished({ productId: shop.shoe.id, cursor: Buffer.from(JSON.stringify(['2020-02-30T00:00:00.000Z', 'rev_x'])).toString('base64url') })],
      ]
      for (const [field, call] of cases) {
        const error = await rejection(call())
        expect(error.code, `${field}: ${error.message}`).toBe('VALIDATION')
        expect(error.fields, error.message).toContain(field)
      }
      expect(await rejection(shop.commerce.reviews.submit({ ...good, productId: 'prod_missing' }))).toMatchObject({ code: 'NOT_FOUND' })
      expect(await shop.tables()).toEqual(before)
    })
  })
})

describe.each(STORAGES)('reviews published without moderation on %s', (storage) => {
  it('counts a review from its submission when initialStatus is approved', async () => {
    const shop = await openShop(storage, { initialStatus: 'approved' })
    try {
      const r = await shop.commerce.reviews.submit({ productId: shop.shoe.id, email: 'a@example.com', rating: 3, body: 'Fine.' })
      expect(r.status).toBe('approved')
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toMatchObject({ count: 1, ratingSum: 3, average: 3 })
      await shop.commerce.reviews.remove(r.id)
      expect(await shop.commerce.reviews.summary(shop.shoe.id)).toMatchObject({ count: 0, ratingSum: 0, average: null })
    } finally {
      await shop.close()
    }
  })
})

describe('a purchase and a review of it committing at once, on postgres', () => {
  it.skipIf(!STORAGES.includes('postgres'))('leave the review verified, whichever commits first', async () => {
    // A plugin after reviews holds the placing transaction open, after reviews' own hook has run.
    let reached!: () => void
    const atPlace = new Promise<void>((resolve) => (reached = resolve))
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const holder = definePlugin({
      id: 'holder',
      init(ctx) {
        ctx.hooks.hook('checkout.place', async () => {
          reached()
          await gate
        })
      },
    })
    const shop = await openShop('postgres', {}, [holder])
    try {
      const placing = shop.buy('ada@example.com', shop.shoe)
      await atPlace
      // The review is submitted while the purchase is written but not committed.
      let submitted = false
      const submitting = shop.commerce.reviews.submit({ productId: shop.shoe.id, email: 'ada@example.com', emailVerified: true, rating: 5, body: 'Great.' }).then((r) => {
        submitted = true
        return r
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      // It waits for the purchase (the buyer's lock) rather than decide "not bought" on its own.
      expect(submitted).toBe(false)
      open()
      await placing
      const review = await submitting
      expect(review.verifiedBuyer).toBe(true)
      expect((await shop.commerce.reviews.get(review.id)).verifiedBuyer).toBe(true)
    } finally {
      open()
      await shop.close()
    }
  })
})
