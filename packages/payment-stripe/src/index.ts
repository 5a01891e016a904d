export { stripePayments, stripeIdempotencyKey, type StripePayments, type StripeOperation } from './stripe-payments.js'
export type { StripePaymentsOptions, StripeEndpoint } from './stripe-options.js'
export { toStripeAmount, fromStripeAmount, stripeChargeStep, STRIPE_ZERO_DECIMAL, STRIPE_THREE_DECIMAL } from './stripe-amounts.js'
export { StripeWebhookError, verifyStripeSignature, verifyStripeWebhook, type StripeWebhookFailure, type StripeSignatureCheck } from './stripe-webhooks.js'
