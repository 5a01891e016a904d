import { z } from 'zod'
import { defineEndpoint, type Endpoint } from '@cartwright/core'
import type { ReviewsService } from './reviews.js'
import { MAX_BODY, MAX_NAME, MAX_REASON, MAX_TITLE, REVIEW_STATUSES, publishedReviewSchema, reviewSchema, summarySchema } from './schemas.js'

/** The engine as the endpoints' handlers use it. */
type Engine = { reviews: ReviewsService }
/** The engine a handler is given (typed `unknown` by the descriptor): one with this plugin. */
const engine = (commerce: unknown) => commerce as Engine

const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() })
const paging = { limit: z.coerce.number().int().min(1).max(100).optional(), cursor: z.string().max(200).optional() }
const id = z.string().min(1).max(64)

const submit = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/products/:productId/reviews',
  summary: 'Submit a review of a product (held for moderation)',
  access: 'public',
  rateLimit: { windowMs: 60_000, max: 5 },
  input: z.strictObject({
    productId: id,
    email: z.string().max(320),
    name: z.string().max(MAX_NAME).optional(),
    rating: z.number().int().min(1).max(5),
    title: z.string().max(MAX_TITLE).optional(),
    body: z.string().max(MAX_BODY),
  }),
  output: publishedReviewSchema.extend({ status: reviewSchema.shape.status }),
  handler: async ({ input, commerce }) => {
    const review = await engine(commerce).reviews.submit(input)
    const { id, productId, name, rating, title, body, verifiedBuyer, createdAt, status } = review
    return { id, productId, name, rating, title, body, verifiedBuyer, createdAt, status }
  },
})

const listPublished = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/products/:productId/reviews',
  summary: "A product's approved reviews, newest first",
  access: 'public',
  input: z.strictObject({ productId: id, ...paging }),
  output: page(publishedReviewSchema),
  handler: ({ input, commerce }) => engine(commerce).reviews.listPublished(input),
})

const summary = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/products/:productId/reviews/summary',
  summary: "A product's average rating and count of approved reviews",
  access: 'public',
  input: z.strictObject({ productId: id }),
  output: summarySchema,
  handler: ({ input, commerce }) => engine(commerce).reviews.summary(input.productId),
})

const listAll = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/reviews',
  summary: 'Reviews of any status, one product or all (the moderation queue with status=pending)',
  access: 'staff',
  input: z.strictObject({ productId: id.optional(), status: z.enum(REVIEW_STATUSES).optional(), ...paging }),
  output: page(reviewSchema),
  handler: ({ input, commerce }) => engine(commerce).reviews.list(input),
})

const approve = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/reviews/:reviewId/approve',
  summary: 'Approve a review: it is published and counts in its product summary',
  access: 'staff',
  input: z.strictObject({ reviewId: id }),
  output: reviewSchema,
  handler: ({ input, commerce }) => engine(commerce).reviews.approve(input.reviewId),
})

const reject = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/reviews/:reviewId/reject',
  summary: 'Reject a pending review, or unpublish an approved one',
  access: 'staff',
  input: z.strictObject({ reviewId: id, reason: z.string().max(MAX_REASON).optional() }),
  output: reviewSchema,
  handler: ({ input, commerce }) => {
    const { reviewId, reason } = input
    return engine(commerce).reviews.reject(reviewId, reason === undefined ? {} : { reason })
  },
})

const remove = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/reviews/:reviewId',
  summary: 'Remove a review for good',
  access: 'staff',
  input: z.strictObject({ reviewId: id }),
  output: reviewSchema,
  handler: ({ input, commerce }) => engine(commerce).reviews.remove(input.reviewId),
})

/**
 * The plugin's routes, for the HTTP layer to mount: Store (submit, a product's approved reviews,
 * its summary) and Admin (every review by status, approve, reject, remove). Inputs are checked
 * again, field by field, by the service.
 *
 * @example
 * ```ts
 * for (const e of reviewEndpoints) console.log(e.surface, e.method, e.path, e.access)
 * ```
 */
export const reviewEndpoints = [submit, listPublished, summary, listAll, approve, reject, remove] as const satisfies readonly Endpoint[]
