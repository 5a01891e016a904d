import { sql, type Kysely, type Transaction } from 'kysely'
import { CommerceError, definePlugin, type Commerce, ERASED_EMAIL, notFound, validationError, type EventsOf, type Page, type PluginContext, type PluginTx } from '@cartwright/core'
import { reviewEndpoints } from './endpoints.js'
import {
  idSchema,
  listSchema,
  parse,
  publishedListSchema,
  rejectSchema,
  reviewEvents,
  submitSchema,
  type ListPublishedInput,
  type ListReviewsInput,
  type PublishedReview,
  type Review,
  type ReviewStatus,
  type ReviewSummary,
  type SubmitReviewInput,
} from './schemas.js'

/**
 * The plugin's tables (prefix `reviews_`), for a host's own read queries.
 *
 * @example
 * ```ts
 * import type { Kysely } from 'kysely'
 *
 * declare const db: Kysely<ReviewTables>
 * const top = await db.selectFrom('reviews_summaries').selectAll().orderBy('review_count', 'desc').limit(10).execute()
 * ```
 */
export interface ReviewTables {
  reviews_reviews: {
    id: string
    product_id: string
    email: string
    /** The email in lower case: the reviewer's key for verified purchases. */
    email_key: string
    /**
     * 1 when the email was proven to be the reviewer's at submission (a signed-in customer's
     * verified email, or one the shop's code vouched for); 0 for a typed contact address. Only a
     * review with 1 is ever marked a verified buyer's.
     */
    email_verified: number
    name: string | null
    rating: number
    title: string | null
    body: string
    status: ReviewStatus
    verified_buyer: number
    rejection_reason: string | null
    created_at: string | Date
    updated_at: string | Date
  }
  /** Per product, over approved reviews: kept in the transaction of every status change. */
  reviews_summaries: { product_id: string; review_count: number; rating_sum: number }
  /** Products bought per order and email (lower case), written when the order is placed, deleted when it is canceled. */
  reviews_purchases: { order_id: string; product_id: string; email_key: string }
  /** One row per (reviewer, product) ever bought or reviewed: the lock that orders a purchase and a review of it. */
  reviews_buyers: { email_key: string; product_id: string }
}

type ReviewEvents = EventsOf<typeof reviewEvents>
type Ctx = PluginContext<ReviewTables, ReviewEvents, ReviewErrorCode>
type Tx = PluginTx<ReviewTables, ReviewEvents>
type Row = ReviewTables['reviews_reviews']

/**
 * The plugin's own error codes: `REVIEW_STATE`, a moderation change the review's status does not
 * allow (a removed review stays removed).
 *
 * @example
 * ```ts
 * import { isCommerceError } from '@cartwright/core'
 *
 * declare const shop: CommerceWithReviews
 * try {
 *   await shop.reviews.approve('rev_1')
 * } catch (error) {
 *   if (isCommerceError<ReviewErrorCode>(error, 'REVIEW_STATE')) console.log('already removed')
 *   else throw error
 * }
 * ```
 */
export type ReviewErrorCode = 'REVIEW_STATE'

const errorCodes = {
  REVIEW_STATE: { description: 'The review cannot make this moderation change from its status (a removed review stays removed)' },
} as const

/**
 * An engine composed with this plugin (and maybe others): what a host passes to code that uses
 * `commerce.reviews`.
 *
 * @example
 * ```ts
 * async function stars(shop: CommerceWithReviews, productId: string): Promise<string> {
 *   const { average, count } = await shop.reviews.summary(productId)
 *   return average === null ? 'no reviews yet' : `${average.toFixed(1)} of 5 (${count})`
 * }
 * ```
 */
export type CommerceWithReviews = Commerce<[ReturnType<typeof reviews>]>

/**
 * Options of {@link reviews}.
 *
 * @example
 * ```ts
 * const options: ReviewsOptions = { initialStatus: 'approved' } // publish without moderation
 * ```
 */
export interface ReviewsOptions {
  /**
   * Status of a new review: `'pending'` (the default) holds it for moderation; `'approved'`
   * publishes it at once (it counts in the summary from its submission).
   */
  initialStatus?: 'pending' | 'approved'
}

/** What a moderation call changes a review to, and from which statuses it may. */
const MOVES = {
  approve: { to: 'approved', from: ['pending', 'rejected'] },
  reject: { to: 'rejected', from: ['pending', 'approved'] },
  remove: { to: 'removed', from: ['pending', 'approved', 'rejected'] },
} as const satisfies Record<string, { to: ReviewStatus; from: readonly ReviewStatus[] }>

/**
 * The reviews service, reachable as `commerce.reviews`. Shoppers submit reviews, held for
 * moderation; staff approve, reject or remove them; each product's summary (count and average of
 * approved ratings) is kept exact in the transaction of every change.
 */
export interface ReviewsService {
  /**
   * Submits a review, held for moderation (`pending`). The email is only a contact address unless
   * the caller says it has proven it to be the reviewer's (`emailVerified: true`, such as a
   * signed-in customer's verified email): an email typed in a form gives no badge, whatever it
   * bought. `verifiedBuyer` is true when the email is proven and an order with the product exists
   * for it, in any case (canceled orders do not count); it is kept up to date as such orders are
   * placed and canceled, for proven emails only. The Store API's `POST /products/:productId/reviews`
   * proves the email by the session, never by the body. Throws `VALIDATION` naming the field for
   * bad input, `NOT_FOUND` for an unknown product.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithReviews
   * const review = await shop.reviews.submit({ productId: 'prod_1', email: 'ada@example.com', emailVerified: true, rating: 5, body: 'Light and grippy.' })
   * review.status // 'pending'
   * const typed = await shop.reviews.submit({ productId: 'prod_1', email: 'someone@example.com', rating: 1, body: 'Too tight.' })
   * typed.verifiedBuyer // false, whatever that email bought
   * ```
   */
  submit(input: SubmitReviewInput): Promise<Review>
  /**
   * One review, any status (staff). Throws `NOT_FOUND`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithReviews
   * const review = await shop.reviews.get('rev_1')
   * ```
   */
  get(reviewId: string): Promise<Review>
  /**
   * Publishes a review (from `pending` or `rejected`); it counts in its product's summary from
   * this transaction on. Approving an approved review changes nothing: two approvals at once count
   * once. Throws `REVIEW_STATE` for a removed review.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithReviews
   * const review = await shop.reviews.approve('rev_1')
   * const { count, average } = await shop.reviews.summary(review.productId)
   * ```
   */
  approve(reviewId: string): Promise<Review>
  /**
   * Rejects a pending review, or unpublishes an approved one (it stops counting), with an optional
   * reason for staff. Throws `REVIEW_STATE` for a removed review.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithReviews
   * await shop.reviews.reject('rev_1', { reason: 'about the courier, not the product' })
   * ```
   */
  reject(reviewId: string, input?: { reason?: string }): Promise<Review>
  /**
   * Removes a review for good, whatever its status; an approved one stops counting. Removing a
   * removed review changes nothing.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithReviews
   * await shop.reviews.remove('rev_1')
   * ```
   */
  remove(reviewId: string): Promise<Review>
  /**
   * Reviews for staff: any status (or one), one product or all, newest first, a page at a time.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithReviews
   * const queue = await shop.reviews.list({ status: 'pending', limit: 50 })
   * for (const review of queue.items) console.log(review.email, review.rating, review.body)
   * ```
   */
  list(input?: ListReviewsInput): Promise<Page<Review>>
  /**
   * A product's approved reviews for shoppers, without emails, newest first, a page at a time.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithReviews
   * const first = await shop.reviews.listPublished({ productId: 'prod_1', limit: 10 })
   * const next = first.nextCursor ? await shop.reviews.listPublished({ productId: 'prod_1', limit: 10, cursor: first.nextCursor }) : null
   * ```
   */
  listPublished(input: ListPublishedInput): Promise<Page<PublishedReview>>
  /**
   * A product's rating over its approved reviews: `count`, `ratingSum` and `average`
   * (`ratingSum / count`, null with no approved review).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithReviews
   * const { average, count } = await shop.reviews.summary('prod_1')
   * const stars = average === null ? 'no reviews yet' : `${average.toFixed(1)} (${count})`
   * ```
   */
  summary(productId: string): Promise<ReviewSummary>
}

/**
 * Customer reviews as a plugin: ratings held for moderation, "verified buyer" from the shop's
 * orders, and per product an exact count and average of approved ratings. Adds
 * `commerce.reviews` ({@link ReviewsService}), the events `reviews.submitted`,
 * `reviews.approved`, `reviews.rejected` and `reviews.removed`, Store and Admin endpoints, and
 * its share of privacy export and erase.
 *
 * Purchases are recorded as orders are placed (in the order's own transaction) and forgotten when
 * they are canceled; orders placed before the plugin was added are not known to it.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const shop = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), plugins: [reviews()] })
 * const review = await shop.reviews.submit({ productId: 'prod_1', email: 'ada@example.com', rating: 4, body: 'Runs a little small.' })
 * await shop.reviews.approve(review.id)
 * ```
 */
export function reviews(options: ReviewsOptions = {}) {
  const initialStatus = options.initialStatus ?? 'pending'
  let context: Ctx | null = null
  return definePlugin({
    id: 'reviews',
    events: reviewEvents,
    errorCodes,
    endpoints: reviewEndpoints,
    migrations: {
      '0001_reviews': {
        async up(db, { types }) {
          await db.schema
            .createTable('reviews_reviews')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('product_id', 'text', (c) => c.notNull())
            .addColumn('email', 'text', (c) => c.notNull())
            .addColumn('email_key', 'text', (c) => c.notNull())
            .addColumn('name', 'text')
            .addColumn('rating', 'integer', (c) => c.notNull().check(sql`rating between 1 and 5`))
            .addColumn('title', 'text')
            .addColumn('body', 'text', (c) => c.notNull())
            .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'approved', 'rejected', 'removed')`))
            .addColumn('verified_buyer', 'integer', (c) => c.notNull().defaultTo(0))
            .addColumn('rejection_reason', 'text')
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .addColumn('updated_at', types.timestamp, (c) => c.notNull())
            .execute()
          await db.schema.createIndex('reviews_reviews_product').on('reviews_reviews').columns(['product_id', 'status', 'created_at', 'id']).execute()
          await db.schema.createIndex('reviews_reviews_status').on('reviews_reviews').columns(['status', 'created_at', 'id']).execute()
          await db.schema.createIndex('reviews_reviews_reviewer').on('reviews_reviews').columns(['email_key', 'product_id']).execute()
          await db.schema
            .createTable('reviews_summaries')
            .addColumn('product_id', 'text', (c) => c.primaryKey())
            .addColumn('review_count', 'integer', (c) => c.notNull().check(sql`review_count >= 0`))
            .addColumn('rating_sum', 'integer', (c) => c.notNull().check(sql`rating_sum >= 0`))
            .execute()
          await db.schema
            .createTable('reviews_purchases')
            .addColumn('order_id', 'text', (c) => c.notNull())
            .addColumn('product_id', 'text', (c) => c.notNull())
            .addColumn('email_key', 'text', (c) => c.notNull())
            .addPrimaryKeyConstraint('reviews_purchases_pk', ['order_id', 'product_id'])
            .execute()
          await db.schema.createIndex('reviews_purchases_buyer').on('reviews_purchases').columns(['email_key', 'product_id']).execute()
        },
      },
      '0002_buyer_locks': {
        async up(db) {
          // A purchase and a review of it may commit at once; each first locks this row, so the one
          // that commits second sees the other (see lockBuyer).
          await db.schema
            .createTable('reviews_buyers')
            .addColumn('email_key', 'text', (c) => c.notNull())
            .addColumn('product_id', 'text', (c) => c.notNull())
            .addPrimaryKeyConstraint('reviews_buyers_pk', ['email_key', 'product_id'])
            .execute()
        },
      },
      '0003_proven_emails': {
        async up(db) {
          // Whether the reviewer's email was proven at submission: only such reviews are verified
          // by a purchase. Reviews stored before cannot tell, so they count as unproven: they keep
          // their verified_buyer as it is, and a later order no longer upgrades them.
          await db.schema.alterTable('reviews_reviews').addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0)).execute()
        },
      },
    },
    subscribers: [
      {
        // A backstop for cancellations the `checkout.release` hook does not see (an order paid by
        // tenders only has no gateway payment to release): forgetting an order twice is harmless.
        id: 'reviews-forget-canceled-orders',
        events: ['order.canceled'],
        async handle(event) {
          if (event.type !== 'order.canceled' || !context) return
          const { orderId } = event.payload
          await context.transaction((tx) => forgetOrder(tx, orderId))
        },
      },
    ],
    init(ctx: Ctx): ReviewsService {
      context = ctx

      // An order's products are bought by its email from the transaction that places it; the
      // reviews it verifies are those whose email was proven at submission (a typed email is a
      // contact address: the order of whoever owns it does not make that review a buyer's).
      ctx.hooks.hook('checkout.place', async ({ order }, tx) => {
        const productIds = [...new Set(order.lines.map((l) => l.productId))]
        if (productIds.length === 0) return
        const emailKey = order.email.toLowerCase()
        await lockBuyer(tx, emailKey, productIds)
        await tx.db
          .insertInto('reviews_purchases')
          .values(productIds.map((productId) => ({ order_id: order.id, product_id: productId, email_key: emailKey })))
          .onConflict((oc) => oc.columns(['order_id', 'product_id']).doNothing())
          .execute()
        await tx.db
          .updateTable('reviews_reviews')
          .set({ verified_buyer: 1 })
          .where('email_key', '=', emailKey)
          .where('product_id', 'in', productIds)
          .where('email_verified', '=', 1)
          .where('verified_buyer', '=', 0)
          .execute()
      })
      // ... and no longer from the transaction that cancels it.
      ctx.hooks.hook('checkout.release', async ({ orderId, reason }, tx) => {
        if (reason === 'canceled' && orderId) await forgetOrder(tx, orderId)
      })

      ctx.privacy({
        async export({ email }, db) {
          if (!email) return undefined
          const rows = await db.selectFrom('reviews_reviews').selectAll().where('email_key', '=', email.toLowerCase()).orderBy('created_at').orderBy('id').execute()
          return rows.length ? { reviews: rows.map(toReview) } : undefined
        },
        // The review stays (its rating counts in the summary), without who wrote it.
        async erase({ email }, tx) {
          if (!email) return
          const key = email.toLowerCase()
          await tx.db.updateTable('reviews_reviews').set({ email: ERASED_EMAIL, email_key: ERASED_EMAIL, email_verified: 0, name: null, updated_at: ctx.now().toISOString() }).where('email_key', '=', key).execute()
          await tx.db.deleteFrom('reviews_purchases').where('email_key', '=', key).execute()
          await tx.db.deleteFrom('reviews_buyers').where('email_key', '=', key).execute()
        },
      })

      const moderate = async (action: keyof typeof MOVES, reviewId: string, reason: string | null = null): Promise<Review> => {
        const id = parse(idSchema, reviewId, 'review id', 'reviewId')
        const move = MOVES[action]
        return ctx.transaction(async (tx) => {
          // Another moderation may change the status between our read and our update: the update
          // is conditional on the status we read, and on a miss we read again.
          for (let attempt = 0; ; attempt++) {
            const row = await tx.db.selectFrom('reviews_reviews').selectAll().where('id', '=', id).executeTakeFirst()
            if (!row) throw notFound('Review', id)
            // Asking again for the status it has changes nothing (and counts nothing twice).
            if (row.status === move.to) return toReview(row)
            if (!(move.from as readonly ReviewStatus[]).includes(row.status)) {
              throw ctx.error('REVIEW_STATE', `Review ${id} is ${row.status} and cannot be ${move.to}`, { details: { reviewId: id, status: row.status } })
            }
            const now = ctx.now().toISOString()
            const changed = await tx.db
              .updateTable('reviews_reviews')
              .set({ status: move.to, updated_at: now, ...(action === 'reject' ? { rejection_reason: reason } : {}) })
              .where('id', '=', id)
              .where('status', '=', row.status)
              .executeTakeFirst()
            if (Number(changed.numUpdatedRows) !== 1) {
              if (attempt >= 5) throw new CommerceError('CONFLICT', `Review ${id} keeps changing; try again`, { retryable: true, details: { reviewId: id } })
              continue
            }
            const delta = (move.to === 'approved' ? 1 : 0) - (row.status === 'approved' ? 1 : 0)
            if (delta !== 0) await countIn(tx, row.product_id, delta, Number(row.rating))
            const summary = await summaryIn(tx.db, row.product_id)
            const review = toReview({ ...row, status: move.to, updated_at: now, rejection_reason: action === 'reject' ? reason : row.rejection_reason })
            if (action === 'approve') tx.emit('reviews.approved', { reviewId: id, productId: row.product_id, rating: review.rating, summary })
            else if (action === 'reject') tx.emit('reviews.rejected', { reviewId: id, productId: row.product_id, reason, summary })
            else tx.emit('reviews.removed', { reviewId: id, productId: row.product_id, wasApproved: row.status === 'approved', summary })
            return review
          }
        })
      }

      return {
        async submit(input) {
          const data = parse(submitSchema, input, 'review', undefined)
          // The product must exist (NOT_FOUND otherwise); read before the transaction, never inside.
          await ctx.commerce.catalog.getProduct(data.productId)
          const emailKey = data.email.toLowerCase()
          // The email is the reviewer's proven own only when the caller says so (see ReviewsService.submit).
          const proven = data.emailVerified === true
          return ctx.transaction(async (tx) => {
            let bought = false
            if (proven) {
              // After the lock, a purchase committing at the same moment is either seen here or
              // sees this review (its update of verified_buyer waits for this transaction).
              await lockBuyer(tx, emailKey, [data.productId])
              const purchase = await tx.db
                .selectFrom('reviews_purchases')
                .select('order_id')
                .where('email_key', '=', emailKey)
                .where('product_id', '=', data.productId)
                .limit(1)
                .executeTakeFirst()
              bought = purchase !== undefined
            }
            const now = ctx.now().toISOString()
            const row: Row = {
              id: ctx.newId('rev'),
              product_id: data.productId,
              email: data.email,
              email_key: emailKey,
              email_verified: proven ? 1 : 0,
              name: data.name ?? null,
              rating: data.rating,
              title: data.title ?? null,
              body: data.body,
              status: initialStatus,
              verified_buyer: proven && bought ? 1 : 0,
              rejection_reason: null,
              created_at: now,
              updated_at: now,
            }
            await tx.db.insertInto('reviews_reviews').values(row).execute()
            if (initialStatus === 'approved') await countIn(tx, row.product_id, 1, row.rating)
            tx.emit('reviews.submitted', { reviewId: row.id, productId: row.product_id, rating: row.rating, verifiedBuyer: row.verified_buyer === 1 })
            return toReview(row)
          })
        },

        async get(reviewId) {
          const id = parse(idSchema, reviewId, 'review id', 'reviewId')
          const row = await ctx.db.selectFrom('reviews_reviews').selectAll().where('id', '=', id).executeTakeFirst()
          if (!row) throw notFound('Review', id)
          return toReview(row)
        },

        approve: (reviewId) => moderate('approve', reviewId),
        async reject(reviewId, input = {}) {
          const data = parse(rejectSchema, input, 'review rejection')
          return moderate('reject', reviewId, data.reason ?? null)
        },
        remove: (reviewId) => moderate('remove', reviewId),

        async list(input = {}) {
          const data = parse(listSchema, input, 'review list')
          const after = decodeCursor(data.cursor)
          let q = ctx.db.selectFrom('reviews_reviews').selectAll()
          if (data.productId) q = q.where('product_id', '=', data.productId)
          if (data.status) q = q.where('status', '=', data.status)
          if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]))
          const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(data.limit + 1).execute()
          return pageOf(rows, data.limit, toReview)
        },

        async listPublished(input) {
          const data = parse(publishedListSchema, input, 'review list')
          const after = decodeCursor(data.cursor)
          let q = ctx.db.selectFrom('reviews_reviews').selectAll().where('product_id', '=', data.productId).where('status', '=', 'approved')
          if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]))
          const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(data.limit + 1).execute()
          return pageOf(rows, data.limit, (row) => {
            const { id, productId, name, rating, title, body, verifiedBuyer, createdAt } = toReview(row)
            return { id, productId, name, rating, title, body, verifiedBuyer, createdAt }
          })
        },

        async summary(productId) {
          const id = parse(idSchema, productId, 'product id', 'productId')
          return summaryIn(ctx.db, id)
        },
      }
    },
  })
}

/** Adds (`delta` 1) or takes away (-1) one approved rating, in the status change's transaction. */
async function countIn(tx: Tx, productId: string, delta: number, rating: number): Promise<void> {
  if (delta < 0) {
    // Only an approved review is taken away, so its product's row exists.
    await tx.db
      .updateTable('reviews_summaries')
      .set({ review_count: sql`review_count + ${delta}`, rating_sum: sql`rating_sum + ${delta * rating}` })
      .where('product_id', '=', productId)
      .execute()
    return
  }
  await tx.db
    .insertInto('reviews_summaries')
    .values({ product_id: productId, review_count: delta, rating_sum: delta * rating })
    .onConflict((oc) =>
      oc.column('product_id').doUpdateSet({
        review_count: sql`reviews_summaries.review_count + ${delta}`,
        rating_sum: sql`reviews_summaries.rating_sum + ${delta * rating}`,
      }),
    )
    .execute()
}

async function summaryIn(db: Kysely<ReviewTables> | Transaction<ReviewTables>, productId: string): Promise<ReviewSummary> {
  const row = await db.selectFrom('reviews_summaries').selectAll().where('product_id', '=', productId).executeTakeFirst()
  const count = Number(row?.review_count ?? 0)
  const ratingSum = Number(row?.rating_sum ?? 0)
  return { productId, count, ratingSum, average: count === 0 ? null : ratingSum / count }
}

/**
 * Locks the (reviewer, product) rows, creating them when new: a purchase being placed and a review
 * being submitted for the same reviewer and product then run one after the other. Without it, on
 * PostgreSQL a review could read "not bought" while the purchase was not yet committed, and the
 * purchase's update of verified_buyer not see the review: a verified buyer left unverified. An
 * UPDATE takes the row lock on PostgreSQL (SQLite serializes writers anyway); ids in order, so two
 * orders of several products never wait on each other in a cycle.
 */
async function lockBuyer(tx: Tx, emailKey: string, productIds: string[]): Promise<void> {
  const ids = [...new Set(productIds)].sort()
  await tx.db
    .insertInto('reviews_buyers')
    .values(ids.map((product_id) => ({ email_key: emailKey, product_id })))
    .onConflict((oc) => oc.columns(['email_key', 'product_id']).doNothing())
    .execute()
  for (const productId of ids) {
    await tx.db.updateTable('reviews_buyers').set({ email_key: emailKey }).where('email_key', '=', emailKey).where('product_id', '=', productId).execute()
  }
}

/** Forgets a canceled order's purchases, and marks unverified the reviews no other order verifies. */
async function forgetOrder(tx: Tx, orderId: string): Promise<void> {
  const gone = await tx.db.selectFrom('reviews_purchases').selectAll().where('order_id', '=', orderId).execute()
  if (gone.length === 0) return
  await tx.db.deleteFrom('reviews_purchases').where('order_id', '=', orderId).execute()
  for (const { product_id, email_key } of gone) {
    await lockBuyer(tx, email_key, [product_id])
    const other = await tx.db.selectFrom('reviews_purchases').select('order_id').where('email_key', '=', email_key).where('product_id', '=', product_id).limit(1).executeTakeFirst()
    if (other) continue
    await tx.db.updateTable('reviews_reviews').set({ verified_buyer: 0 }).where('email_key', '=', email_key).where('product_id', '=', product_id).where('verified_buyer', '=', 1).execute()
  }
}

const iso = (value: string | Date): string => (value instanceof Date ? value : new Date(value)).toISOString()

function toReview(row: Row): Review {
  return {
    id: row.id,
    productId: row.product_id,
    email: row.email,
    emailVerified: Number(row.email_verified) === 1,
    name: row.name,
    rating: Number(row.rating),
    title: row.title,
    body: row.body,
    status: row.status,
    verifiedBuyer: Number(row.verified_buyer) === 1,
    rejectionReason: row.rejection_reason,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

function pageOf<T>(rows: Row[], limit: number, map: (row: Row) => T): Page<T> {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items: items.map(map), nextCursor: rows.length > limit && last ? encodeCursor(iso(last.created_at), last.id) : null }
}

const encodeCursor = (createdAt: string, id: string) => Buffer.from(JSON.stringify([createdAt, id])).toString('base64url')

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const REVIEW_ID = /^rev_[0-9a-z]{1,60}$/

/** The position a cursor encodes: only what {@link encodeCursor} writes is accepted (`VALIDATION` otherwise). */
function decodeCursor(cursor: string | undefined): { createdAt: string; id: string } | null {
  if (cursor === undefined) return null
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown]
    if (
      typeof createdAt === 'string' &&
      typeof id === 'string' &&
      ISO_UTC.test(createdAt) &&
      !Number.isNaN(Date.parse(createdAt)) &&
      new Date(createdAt).toISOString() === createdAt &&
      REVIEW_ID.test(id) &&
      encodeCursor(createdAt, id) === cursor
    ) {
      return { createdAt, id }
    }
  } catch {
    // falls through to the error below
  }
  throw validationError('review list', [{ path: 'cursor', message: 'is not a cursor this list returned' }])
}
