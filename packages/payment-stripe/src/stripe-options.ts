import { CommerceError } from '@cartwright/core'
import type Stripe from 'stripe'
import { z } from 'zod'

/** Where the SDK sends requests: a local server (the fake in `@cartwright/payment-stripe/testing`, stripe-mock) instead of api.stripe.com. */
export interface StripeEndpoint {
  host: string
  port: number
  protocol: 'http' | 'https'
}

/**
 * Options of {@link stripePayments}.
 *
 * @example
 * ```ts
 * const options: StripePaymentsOptions = {
 *   secretKey: 'sk_test_…',
 *   webhookSecret: 'whsec_…',
 *   capture: 'manual', // authorize at checkout, capture when you ship
 * }
 * ```
 */
export interface StripePaymentsOptions {
  /** Your secret API key (`sk_live_…`, `sk_test_…`) or a restricted key (`rk_…`). */
  secretKey: string
  /** The signing secret of your webhook endpoint (`whsec_…`), from the Dashboard or `stripe listen`. */
  webhookSecret: string
  /**
   * `manual` (default): `authorize` places a hold and `orders.capturePayment` captures it, in full
   * or in part (once: the rest is released). `automatic`: the payment is captured at checkout.
   */
  capture?: 'manual' | 'automatic'
  /**
   * How far, in seconds, a webhook's signed timestamp may be from now, in the past or in the
   * future, before it is refused as a replay or a forgery. Default 300 (Stripe's own).
   */
  webhookToleranceSeconds?: number
  /**
   * Where the return from a redirect-based authentication (3-D Secure by redirect, bank
   * redirects) should land. With it, `requires_action` answers a `redirect` the storefront follows;
   * without it, a `client_secret` for Stripe.js (`stripe.handleNextAction`) and redirect-only
   * payment methods are not offered.
   */
  returnUrl?: string
  /**
   * A Stripe client you made yourself, or the `{ host, port, protocol }` of a local server to
   * reach instead of api.stripe.com (tests, stripe-mock). Default: a client on api.stripe.com.
   */
  client?: StripeEndpoint | Stripe
  /** Provider id, chosen at checkout as `payment: { provider: id }`. Default `'stripe'`. */
  id?: string
  /** Retries the SDK makes on a lost connection, with the same idempotency key (default 2). Ignored with your own `client`. */
  maxNetworkRetries?: number
  /** How long the SDK waits for an answer, in milliseconds (default 30 000). Ignored with your own `client`. */
  timeoutMs?: number
}

const endpointSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  protocol: z.enum(['http', 'https']),
})

export const optionsSchema = z.strictObject({
  secretKey: z
    .string({ error: 'is required: your secret API key (sk_…)' })
    .regex(/^(sk|rk)_(test|live)_\S+$/, 'must be a secret or restricted API key (sk_test_…, sk_live_…, rk_…), never a publishable key'),
  webhookSecret: z.string({ error: 'is required: the signing secret of your webhook endpoint (whsec_…)' }).regex(/^whsec_\S+$/, 'must be a webhook signing secret (whsec_…)'),
  capture: z.enum(['manual', 'automatic']).default('manual'),
  webhookToleranceSeconds: z.number().int().min(1).max(86_400).default(300),
  returnUrl: z.url({ protocol: /^https?$/ }).optional(),
  client: z
    .union([
      // Duck-typed, so a client from another copy of the SDK is accepted too.
      z.custom<Stripe>((v) => typeof v === 'object' && v !== null && 'paymentIntents' in v && 'refunds' in v, { message: 'must be a Stripe client' }),
      endpointSchema,
    ])
    .optional(),
  id: z.string().min(1).max(64).default('stripe'),
  maxNetworkRetries: z.number().int().min(0).max(10).default(2),
  timeoutMs: z.number().int().min(1).max(600_000).default(30_000),
})

export type ParsedOptions = z.output<typeof optionsSchema>

/** Parses the options, or throws `CONFIGURATION` naming each bad field: `[cartwright:payment-stripe] invalid options: …`. */
export function parseOptions(options: unknown): ParsedOptions {
  const result = optionsSchema.safeParse(options)
  if (result.success) return result.data
  const issues = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'is not a field you can set' }))
      : [{ path: issue.path.map(String).join('.'), message: issue.message }],
  )
  throw new CommerceError('CONFIGURATION', `[cartwright:payment-stripe] invalid options: ${issues.map((i) => `${i.path || '(options)'}: ${i.message}`).join('; ')}`, {
    details: { issues },
  })
}
