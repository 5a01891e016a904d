import { z } from 'zod'
import { validationError } from '@cartwright/core'

/**
 * A review's moderation status: `pending` until staff approve or reject it; `removed` is final.
 *
 * @example
 * ```ts
 * const visible = (status: ReviewStatus) => status === 'approved'
 * ```
 */
export type ReviewStatus = 'pending' | 'approved' | 'rejected' | 'removed'

export const REVIEW_STATUSES = ['pending', 'approved', 'rejected', 'removed'] as const

/**
 * Longest review body, in characters (and {@link MAX_TITLE}, {@link MAX_NAME}, {@link MAX_REASON}
 * for the other texts): a storefront form can use them as `maxlength`.
 *
 * @example
 * ```ts
 * const textarea = `<textarea name="body" maxlength="${MAX_BODY}"></textarea>`
 * ```
 */
export const MAX_BODY = 5000
/** Longest review title, in characters. */
export const MAX_TITLE = 150
/** Longest reviewer name, in characters. */
export const MAX_NAME = 100
/** Longest rejection reason, in characters. */
export const MAX_REASON = 500

/** Text every storage keeps as sent: no NUL and no unpaired surrogate (PostgreSQL refuses one, SQLite mangles the other). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const storable = (s: string) => !UNSTORABLE.test(s)
const storableMessage = 'must not contain a NUL character or an unpaired surrogate'

const text = (max: number) => z.string().trim().min(1).max(max).refine(storable, storableMessage)

export const idSchema = z.string().min(1).max(64).refine(storable, storableMessage)

export const submitSchema = z.strictObject({
  productId: idSchema,
  email: z.string().trim().max(320).pipe(z.email()),
  /** The caller has proven `email` to be the reviewer's (default false: a contact address only). */
  emailVerified: z.boolean().optional(),
  name: text(MAX_NAME).optional(),
  rating: z.number().int().min(1).max(5),
  title: text(MAX_TITLE).optional(),
  body: text(MAX_BODY),
})

export const rejectSchema = z.strictObject({ reason: text(MAX_REASON).optional() })

const pageFields = {
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
}

export const listSchema = z.strictObject({
  productId: idSchema.optional(),
  status: z.enum(REVIEW_STATUSES).optional(),
  ...pageFields,
})

export const publishedListSchema = z.strictObject({ productId: idSchema, ...pageFields })

/**
 * Input of `reviews.submit`. `email` is only a contact address, never the key of a verified
 * purchase, unless `emailVerified` is `true`: the shop's code says so for an email it has proven to
 * be the reviewer's (a signed-in customer's verified email). Left out, it is `false`.
 *
 * @example
 * ```ts
 * const input: SubmitReviewInput = { productId: 'prod_1', email: 'ada@example.com', emailVerified: true, rating: 4, title: 'Warm', body: 'Warm and soft.' }
 * const typed: SubmitReviewInput = { productId: 'prod_1', email: 'someone@example.com', rating: 2, body: 'Itchy.' }
 * ```
 */
export type SubmitReviewInput = z.input<typeof submitSchema>
/**
 * Input of `reviews.list` (staff): any status, one product or all.
 *
 * @example
 * ```ts
 * const queue: ListReviewsInput = { status: 'pending', limit: 50 }
 * ```
 */
export type ListReviewsInput = z.input<typeof listSchema>
/**
 * Input of `reviews.listPublished` (shoppers): one product's approved reviews.
 *
 * @example
 * ```ts
 * const firstPage: ListPublishedInput = { productId: 'prod_1', limit: 10 }
 * ```
 */
export type ListPublishedInput = z.input<typeof publishedListSchema>

/**
 * Parses a method's input, or throws a `VALIDATION` error naming every failing field
 * (`details.fields`), before anything is read or written.
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown, subject: string, prefix?: string): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw validationError(
    subject,
    result.error.issues.map((issue) => ({ path: [...(prefix ? [prefix] : []), ...issue.path.map(String)].join('.'), message: issue.message })),
  )
}

/**
 * A review as staff see it, as a zod schema (the Admin endpoints' output).
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of the Admin API
 * const review = reviewSchema.parse(body)
 * ```
 */
export const reviewSchema = z.object({
  id: z.string(),
  productId: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  rating: z.number().int(),
  title: z.string().nullable(),
  body: z.string(),
  status: z.enum(REVIEW_STATUSES),
  /**
   * The email was proven to be the reviewer's when the review was submitted (a signed-in
   * customer's verified email, or one the shop's own code vouched for): only such a review can be
   * a verified buyer's.
   */
  emailVerified: z.boolean(),
  /**
   * The email is proven (`emailVerified`) and an order with the product exists for it (any
   * case); canceled orders do not count.
   */
  verifiedBuyer: z.boolean(),
  rejectionReason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

/**
 * A review as shoppers see it: approved, without the reviewer's email.
 *
 * @example
 * ```ts
 * declare const body: unknown // an item of the Store API's list
 * const { rating, verifiedBuyer } = publishedReviewSchema.parse(body)
 * ```
 */
export const publishedReviewSchema = reviewSchema.pick({ id: true, productId: true, name: true, rating: true, title: true, body: true, verifiedBuyer: true, createdAt: true })

/**
 * A product's rating over its approved reviews.
 *
 * @example
 * ```ts
 * declare const body: unknown // the Store API's summary
 * const { average, count } = summarySchema.parse(body)
 * ```
 */
export const summarySchema = z.object({
  productId: z.string(),
  /** Approved reviews. */
  count: z.number().int(),
  /** Sum of their ratings. */
  ratingSum: z.number().int(),
  /** `ratingSum / count`, or null without approved reviews. */
  average: z.number().nullable(),
})

/**
 * A review as staff see it (see {@link reviewSchema}).
 *
 * @example
 * ```ts
 * const line = (r: Review) => `${r.rating}/5 by ${r.email}${r.verifiedBuyer ? ' (verified)' : ''}: ${r.status}`
 * ```
 */
export type Review = z.output<typeof reviewSchema>
/**
 * A review as shoppers see it (see {@link publishedReviewSchema}).
 *
 * @example
 * ```ts
 * const byline = (r: PublishedReview) => `${r.name ?? 'A customer'}${r.verifiedBuyer ? ', verified buyer' : ''}`
 * ```
 */
export type PublishedReview = z.output<typeof publishedReviewSchema>
/**
 * A product's rating over its approved reviews (see {@link summarySchema}).
 *
 * @example
 * ```ts
 * const label = (s: ReviewSummary) => (s.average === null ? 'No reviews yet' : `${s.average.toFixed(1)} (${s.count})`)
 * ```
 */
export type ReviewSummary = z.output<typeof summarySchema>

/**
 * The plugin's events, with their payload schemas: payloads are validated before the outbox write.
 *
 * @example
 * ```ts
 * import type { DurableSubscriber, EventsOf } from '@cartwright/core'
 *
 * const refreshCache: DurableSubscriber<EventsOf<typeof reviewEvents>> = {
 *   id: 'refresh-rating-cache',
 *   events: ['reviews.approved', 'reviews.removed'],
 *   handle(event) {
 *     if (event.type === 'reviews.approved' || event.type === 'reviews.removed') console.log(event.payload.productId, event.payload.summary.average)
 *   },
 * }
 * ```
 */
export const reviewEvents = {
  /** A review was submitted and waits for moderation. */
  'reviews.submitted': z.strictObject({ reviewId: z.string(), productId: z.string(), rating: z.number().int(), verifiedBuyer: z.boolean() }),
  /** A review was approved: it is published and counts in its product's summary. */
  'reviews.approved': z.strictObject({ reviewId: z.string(), productId: z.string(), rating: z.number().int(), summary: summarySchema }),
  /** A review was rejected (from pending, or unpublished after approval). */
  'reviews.rejected': z.strictObject({ reviewId: z.string(), productId: z.string(), reason: z.string().nullable(), summary: summarySchema }),
  /** A review was removed for good; if it was approved, it no longer counts. */
  'reviews.removed': z.strictObject({ reviewId: z.string(), productId: z.string(), wasApproved: z.boolean(), summary: summarySchema }),
}
