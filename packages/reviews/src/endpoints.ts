import { z } from 'zod'
import { defineEndpoint, validationError, type Actor, type Endpoint } from '@cartwright/core'
import type { ReviewsService } from './reviews.js'
import { MAX_BODY, MAX_NAME, MAX_REASON, MAX_TITLE, REVIEW_STATUSES, publishedReviewSchema, reviewSchema, summarySchema } from './schemas.js'

/**
 * The engine as the endpoints' handlers use it; `customers` is there when `@cartwright/customers`
 * is in the composition (it is what proves a signed-in customer's email).
 */
type Engine = { reviews: ReviewsService; customers?: { get?(customerId: string): Promise<{ email: string; emailVerified: boolean }> } }
/** The engine a handler is given (typed `unknown` by the descriptor): one with this plugin. */
const engine = (commerce: unknown) => commerce as Engine

/**
 * The email the request proves to be the caller's: the signed-in customer's, when
 * `@cartwright/customers` says it is verified. Null for anyone else (no session, an unverified
 * email, or no customers plugin to ask).
 */
async function provenEmail(commerce: unknown, actor: Actor): Promise<{ email: string | null; account: string | null }> {
  const customers = engine(commerce).customers
  if (actor.kind !== 'customer' || typeof customers?.get !== 'function') return { email: null, account: null }
  const customer = await customers.get(actor.customerId)
  return { email: customer.emailVerified ? customer.email : null, account: customer.email }
}

const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() })
const paging = { limit: z.coerce.number().int().min(1).max(100).optional(), cursor: z.string().max(200).optional() }
const id = z.string().min(1).max(64)

const submit = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/products/:productId/reviews',
  summary: "Submit a review of a product (held for moderation); verifiedBuyer only for a signed-in customer's verified email",
  description:
    "`verifiedBuyer` is decided by the session, never by the body: it is true only when the request is signed in as a customer (`@cartwright/customers`) whose email is verified, and an order with the product (not canceled) exists for that email; the review then carries the account's email. Without a session, or for an unverified account, the review is never a verified buyer's, not even after an order with the email: `email` is then only a contact address for staff (required without a session). A signed-in customer may leave `email` out (the account's is used); one that differs from the account's verified email is taken as a contact address, and the review is not a verified buyer's.",
  access: 'public',
  rateLimit: { windowMs: 60_000, max: 5 },
  input: z.strictObject({
    productId: id,
    email: z.string().max(320).optional(),
    name: z.string().max(MAX_NAME).optional(),
    rating: z.number().int().min(1).max(5),
    title: z.string().max(MAX_TITLE).optional(),
    body: z.string().max(MAX_BODY),
  }),
  output: publishedReviewSchema.extend({ status: reviewSchema.shape.status }),
  handler: async ({ input, actor, commerce }) => {
    const { email: typed, ...fields } = input
    const { email: proven, account } = await provenEmail(commerce, actor)
    // The typed email counts as the reviewer's only when it is the session's verified one.
    const vouched = proven !== null && (typed === undefined || typed.trim().toLowerCase() === proven.toLowerCase())
    const email = vouched ? proven : (typed ?? account)
    if (email === null) throw validationError('review', [{ path: 'email', message: 'is required without a signed-in customer' }])
    const review = await engine(commerce).reviews.submit({ ...fields, email, emailVerified: vouched })
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
 * again, field by field, by the service. A review submitted over the Store API is a verified
 * buyer's only when the session is a customer's with a verified email (`@cartwright/customers`);
 * a typed email is only a contact address.
 *
 * @example
 * ```ts
 * for (const e of reviewEndpoints) console.log(e.surface, e.method, e.path, e.access)
 * ```
 */
export const reviewEndpoints = [submit, listPublished, summary, listAll, approve, reject, remove] as const satisfies readonly Endpoint[]
