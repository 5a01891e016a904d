export { reviews, type CommerceWithReviews, type ReviewsService, type ReviewsOptions, type ReviewTables, type ReviewErrorCode } from './reviews.js'
export { reviewEndpoints } from './endpoints.js'
export {
  reviewEvents,
  reviewSchema,
  publishedReviewSchema,
  summarySchema,
  MAX_BODY,
  MAX_NAME,
  MAX_REASON,
  MAX_TITLE,
  type Review,
  type PublishedReview,
  type ReviewSummary,
  type ReviewStatus,
  type SubmitReviewInput,
  type ListReviewsInput,
  type ListPublishedInput,
} from './schemas.js'
