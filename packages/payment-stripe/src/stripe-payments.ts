import { createHash } from 'node:crypto'
import { CommerceError, type AuthorizeResult, type PaymentOperationInput, type PaymentOperationResult, type PaymentProvider, type RetrieveResult } from '@cartwright/core'
import Stripe from 'stripe'
import { fromStripeAmount, stripeChargeStep, toStripeAmount } from './stripe-amounts.js'
import { classifyStripeError, stripeCallError } from './stripe-errors.js'
import { parseOptions, type StripePaymentsOptions } from './stripe-options.js'
import { failureReason, verifyStripeWebhook } from './stripe-webhooks.js'

/** A Stripe payment provider, with the SDK client it calls. */
export interface StripePayments extends PaymentProvider {
  /** The Stripe client the adapter calls: yours when you passed one. */
  readonly stripe: Stripe
}

/** The operations that move money, each keyed apart at Stripe. */
export type StripeOperation = 'authorize' | 'capture' | 'void' | 'refund'

/**
 * The `Idempotency-Key` sent to Stripe for Cartwright's key of one operation: `cw-<operation>-<key>`,
 * so a retry of the same operation is replayed by Stripe and two operations never share a key.
 * Keys that would pass Stripe's 255 characters are hashed (SHA-256). Stripe keeps keys for at
 * least 24 hours: a retry later than that is a new request.
 *
 * @example
 * ```ts
 * stripeIdempotencyKey('capture', 'pop_01J9Z3V6Q8M4N2K7T5R1W0X3Y9') // 'cw-capture-pop_01J9Z3V6Q8M4N2K7T5R1W0X3Y9'
 * ```
 */
export function stripeIdempotencyKey(operation: StripeOperation, key: string): string {
  const direct = `cw-${operation}-${key}`
  return direct.length <= 255 ? direct : `cw-${operation}-sha256-${createHash('sha256').update(key, 'utf8').digest('hex')}`
}

const PAYMENT_METHOD = /^pm_[A-Za-z0-9_]{1,200}$/

/**
 * Stripe payments through PaymentIntents, on the official `stripe` SDK.
 *
 * - `authorize` creates and confirms a PaymentIntent with the shopper's PaymentMethod
 *   (`payment.data.paymentMethod`, a `pm_…` id from Stripe.js; nothing else is accepted, and no
 *   card data ever passes through Cartwright). With `capture: 'manual'` (default) it holds the
 *   amount and `orders.capturePayment` captures it, in full or in part; with `'automatic'` the
 *   money is captured at once. A card that needs 3-D Secure answers `requires_action` with the
 *   client secret (or a redirect URL, given `returnUrl`).
 * - `void` cancels the PaymentIntent; `refund` refunds in full or in part; `retrieve` reads its status.
 * - Every call that moves money carries an idempotency key derived from Cartwright's
 *   ({@link stripeIdempotencyKey}), so a retry after a lost answer is replayed by Stripe, never charged twice.
 * - `webhooks.verify` checks the signature itself (see `verifyStripeSignature`) and maps events.
 * - Amounts are converted between ISO minor units and Stripe's ({@link toStripeAmount});
 *   `chargeStep` tells core that Stripe charges KWD, BHD, JOD, OMR and TND in steps of 10.
 *
 * Bad options throw `CONFIGURATION` at once: `[cartwright:payment-stripe] invalid options: …`.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const stripe = stripePayments({
 *   secretKey: process.env.STRIPE_SECRET_KEY ?? 'sk_test_…',
 *   webhookSecret: process.env.STRIPE_WEBHOOK_SECRET ?? 'whsec_…',
 *   capture: 'manual',
 * })
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), payments: [stripe] })
 * ```
 */
export function stripePayments(options: StripePaymentsOptions): StripePayments {
  const config = parseOptions(options)
  const stripe: Stripe =
    config.client && 'paymentIntents' in config.client
      ? config.client
      : new Stripe(config.secretKey, {
          maxNetworkRetries: config.maxNetworkRetries,
          timeout: config.timeoutMs,
          telemetry: false,
          appInfo: { name: 'Cartwright', url: 'https://github.com/cartwright-commerce/cartwright' },
          ...(config.client ? { host: config.client.host, port: config.client.port, protocol: config.client.protocol } : {}),
        })
  const manual = config.capture === 'manual'

  function authorization(pi: Stripe.PaymentIntent): AuthorizeResult {
    switch (pi.status) {
      case 'requires_capture':
        return { status: 'authorized', reference: pi.id }
      case 'succeeded':
        return { status: 'captured', reference: pi.id }
      case 'requires_payment_method':
        return { status: 'declined', reason: failureReason(pi.last_payment_error) ?? 'requires_payment_method', reference: pi.id }
      case 'canceled':
        return { status: 'declined', reason: pi.cancellation_reason ?? 'canceled', reference: pi.id }
      default: {
        // requires_action (3-D Secure), or still processing: the outcome arrives by webhook or retrieve.
        const redirect = pi.next_action?.type === 'redirect_to_url' ? pi.next_action.redirect_to_url?.url : null
        if (redirect) return { status: 'requires_action', reference: pi.id, action: { type: 'redirect', url: redirect } }
        if (!pi.client_secret) throw new CommerceError('PROVIDER', `[cartwright:payment-stripe] PaymentIntent ${pi.id} is ${pi.status} without a client secret`)
        return { status: 'requires_action', reference: pi.id, action: { type: 'client_secret', clientSecret: pi.client_secret } }
      }
    }
  }

  /** Runs one money-moving operation; a refusal is `failed`, an unknown outcome throws. */
  async function operation(name: Exclude<StripeOperation, 'authorize'>, input: PaymentOperationInput, call: (key: string, amount: number) => Promise<PaymentOperationResult>): Promise<PaymentOperationResult> {
    const amount = toStripeAmount(input.amount, input.currency)
    try {
      return await call(stripeIdempotencyKey(name, input.idempotencyKey), amount)
    } catch (error) {
      const failure = classifyStripeError(error)
      if (failure.kind === 'refused' || failure.kind === 'declined') {
        // Voiding what is already canceled has done what was asked.
        const state = (error as { payment_intent?: { status?: string } }).payment_intent?.status
        if (name === 'void' && state === 'canceled') return { status: 'succeeded', reference: input.reference }
        return { status: 'failed', reason: failure.reason }
      }
      throw stripeCallError(name, failure, error, { paymentId: input.paymentId, operationId: input.operationId, reference: input.reference })
    }
  }

  return {
    id: config.id,
    stripe,
    capabilities: { capture: manual, partialCapture: manual, multiCapture: false, refund: true, void: true, retrieve: true, webhooks: true },

    async authorize(input) {
      const keys = Object.keys(input.data)
      const paymentMethod = input.data['paymentMethod']
      if (typeof paymentMethod !== 'string' || !PAYMENT_METHOD.test(paymentMethod) || keys.some((k) => k !== 'paymentMethod')) {
        // Nothing reached Stripe: refuse as a decline, so the cart reopens for another attempt.
        return { status: 'declined', reason: 'payment_method_invalid: send only { paymentMethod: "pm_…" } from Stripe.js' }
      }
      const params: Stripe.PaymentIntentCreateParams = {
        amount: toStripeAmount(input.amount, input.currency),
        currency: input.currency.toLowerCase(),
        capture_method: manual ? 'manual' : 'automatic',
        confirm: true,
        payment_method: paymentMethod,
        metadata: { cartwright_payment_id: input.paymentId, cartwright_cart_id: input.cartId },
        ...(config.returnUrl ? { return_url: config.returnUrl } : { automatic_payment_methods: { enabled: true, allow_redirects: 'never' } }),
      }
      let pi: Stripe.PaymentIntent
      try {
        pi = await stripe.paymentIntents.create(params, { idempotencyKey: stripeIdempotencyKey('authorize', input.idempotencyKey) })
      } catch (error) {
        const failure = classifyStripeError(error)
        if (failure.kind === 'declined') return { status: 'declined', reason: failure.reason, ...(failure.paymentIntent ? { reference: failure.paymentIntent } : {}) }
        // Stripe refused the request itself (an unknown PaymentMethod, an amount under its minimum): nothing was created.
        if (failure.kind === 'refused') return { status: 'declined', reason: failure.reason }
        throw stripeCallError('authorize', failure, error, { paymentId: input.paymentId, cartId: input.cartId })
      }
      return authorization(pi)
    },

    capture: (input) =>
      operation('capture', input, async (idempotencyKey, amount) => {
        const pi = await stripe.paymentIntents.capture(input.reference, { amount_to_capture: amount }, { idempotencyKey })
        return pi.status === 'succeeded' ? { status: 'succeeded', reference: pi.id } : { status: 'failed', reason: `payment_intent_${pi.status}` }
      }),

    void: (input) =>
      operation('void', input, async (idempotencyKey) => {
        const pi = await stripe.paymentIntents.cancel(input.reference, {}, { idempotencyKey })
        return pi.status === 'canceled' ? { status: 'succeeded', reference: pi.id } : { status: 'failed', reason: `payment_intent_${pi.status}` }
      }),

    refund: (input) =>
      operation('refund', input, async (idempotencyKey, amount) => {
        const refund = await stripe.refunds.create({ payment_intent: input.reference, amount }, { idempotencyKey })
        // `pending` is accepted by Stripe and settles later (some payment methods); `failed` arrives by webhook then.
        if (refund.status === 'succeeded' || refund.status === 'pending') return { status: 'succeeded', reference: refund.id }
        return { status: 'failed', reason: refund.failure_reason ?? `refund_${refund.status}` }
      }),

    async retrieve({ paymentId, reference }) {
      let pi: Stripe.PaymentIntent
      try {
        pi = await stripe.paymentIntents.retrieve(reference, { expand: ['latest_charge'] })
      } catch (error) {
        const failure = classifyStripeError(error)
        if (failure.kind === 'refused') {
          throw new CommerceError('NOT_FOUND', `[cartwright:payment-stripe] retrieve: Stripe has no PaymentIntent ${reference}: ${failure.reason}`, {
            cause: error,
            details: { paymentId, reference },
          })
        }
        throw stripeCallError('retrieve', failure, error, { paymentId, reference })
      }
      return retrieved(pi)
    },

    webhooks: {
      verify: (request) => verifyStripeWebhook(request, { secret: config.webhookSecret, toleranceSeconds: config.webhookToleranceSeconds }),
    },

    chargeStep: (currency) => stripeChargeStep(currency),
  }
}

/** A PaymentIntent's state as core's {@link RetrieveResult}, amounts in ISO minor units. */
export function retrieved(pi: Stripe.PaymentIntent): RetrieveResult {
  const money = (amount: number) => fromStripeAmount(amount, pi.currency)
  const charge = typeof pi.latest_charge === 'object' && pi.latest_charge !== null ? pi.latest_charge : null
  switch (pi.status) {
    case 'requires_capture':
      return { status: 'authorized', authorizedAmount: money(pi.amount_capturable) }
    case 'succeeded':
      return { status: 'captured', authorizedAmount: money(pi.amount), capturedAmount: money(pi.amount_received), refundedAmount: money(charge?.amount_refunded ?? 0) }
    case 'processing':
      return { status: 'processing' }
    case 'canceled':
      return { status: 'canceled', ...(pi.cancellation_reason ? { reason: pi.cancellation_reason } : {}) }
    case 'requires_payment_method':
      // Confirmed with a payment method that failed (this adapter always confirms at once).
      return { status: 'declined', reason: failureReason(pi.last_payment_error) ?? 'requires_payment_method' }
    default:
      // requires_action, requires_confirmation: waiting for the shopper.
      return { status: 'requires_action' }
  }
}
