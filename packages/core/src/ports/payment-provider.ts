/** What a payment provider can do beyond authorizing. Core refuses operations a provider cannot do. */
export interface PaymentCapabilities {
  /** Authorize first and capture later (`orders.capturePayment`). */
  capture: boolean
  /** Capture less than the authorized amount. */
  partialCapture: boolean
  /**
   * Capture an authorization several times, up to its amount (for shipping in parts). Without it,
   * an authorization is captured once: a partial capture releases the rest, as most gateways do.
   */
  multiCapture?: boolean
  /** Refund captured money, wholly or in part. */
  refund: boolean
  /** Void an authorization that was not captured. */
  void: boolean
  /** `retrieve(reference)` reports the gateway's current status: recovery asks instead of re-sending an authorization. */
  retrieve?: boolean
  /** `webhooks.verify` turns the gateway's signed notifications into {@link GatewayEvent}s. */
  webhooks?: boolean
}

/**
 * What the storefront needs for the shopper to confirm a payment with their bank or wallet
 * (3-D Secure, a redirect, a wallet sheet): a URL to send them to, or a client secret for the
 * gateway's own script.
 */
export type CustomerAction =
  | { type: 'redirect'; url: string }
  | { type: 'client_secret'; clientSecret: string }

/** Asks the gateway to reserve `amount` on the shopper's payment method. */
export interface AuthorizeInput {
  /** Cartwright's payment id. */
  paymentId: string
  /**
   * Idempotency key for the gateway. The same key is sent again when a checkout is resumed
   * after a crash or a lost response; the gateway must then return the first result, not charge twice.
   */
  idempotencyKey: string
  /** Exactly the persisted order total, in minor units. */
  amount: number
  currency: string
  cartId: string
  email: string | null
  /**
   * Provider-specific data from the shopper's client (a token, a payment method id). Never trusted
   * for amounts, and never card data: core refuses, before anything is stored or sent, data holding
   * something that looks like a card number or a card field (`cvc`, `card_number`…), so the
   * gateway's client-side script must turn the card into a token first.
   */
  data: Record<string, unknown>
}

/** The gateway's answer to an authorization. */
export type AuthorizeResult =
  | { status: 'authorized'; reference: string; data?: Record<string, unknown> }
  /** The provider captured at once (no separate capture step). */
  | { status: 'captured'; reference: string; data?: Record<string, unknown> }
  | { status: 'declined'; reason: string; reference?: string }
  /**
   * The shopper must confirm (3-D Secure, a redirect): the payment waits for them, with the stock
   * reserved, until the gateway reports the outcome (its webhook, or `retrieve`) or a deadline passes.
   */
  | { status: 'requires_action'; reference: string; action: CustomerAction; data?: Record<string, unknown> }

/** The gateway's current view of a payment, from {@link PaymentProvider.retrieve}. Amounts in minor units. */
export interface RetrieveResult {
  status: 'requires_action' | 'processing' | 'authorized' | 'captured' | 'declined' | 'canceled'
  /** Held (authorized) in total; for `captured`, what was authorized before capture. */
  authorizedAmount?: number
  capturedAmount?: number
  refundedAmount?: number
  /** Why, for `declined` and `canceled`. */
  reason?: string
}

/**
 * A gateway notification, normalized. `id` is the gateway's own event id (the dedup key);
 * `reference` is the payment's gateway reference (what `authorize` returned). `amount` is in minor
 * units, for `captured` and `refunded` the amount of this capture or refund.
 */
export interface GatewayEvent {
  id: string
  type: 'authorized' | 'captured' | 'failed' | 'canceled' | 'refunded' | 'requires_action' | 'dispute.opened' | 'dispute.closed'
  reference: string
  amount?: number
  currency?: string
  reason?: string
  /** When the gateway says it happened (ISO 8601), if it says. */
  occurredAt?: string
}

/** A webhook request as it arrived: the raw body, byte for byte, and its headers. */
export interface WebhookRequest {
  rawBody: string | Uint8Array
  headers: Record<string, string | readonly string[] | undefined>
}

/** Input to capture, void and refund: the gateway reference from the authorization. */
export interface PaymentOperationInput {
  paymentId: string
  /** Cartwright's id of this capture, void or refund. */
  operationId: string
  reference: string
  /**
   * Key unique to this one operation, repeated on every retry of it: a gateway that sees it again
   * must answer as it did the first time, not move money twice.
   */
  idempotencyKey: string
  /** Minor units: to capture, to refund, or (for a void) the authorization released. */
  amount: number
  currency: string
}

/**
 * The gateway's answer to capture, void or refund. `failed` means the gateway refused and nothing
 * moved. A provider that cannot tell (a timeout, a lost connection) must throw instead: the
 * operation then stays pending and is sent again with the same key.
 */
export type PaymentOperationResult = { status: 'succeeded'; reference?: string } | { status: 'failed'; reason: string }

/**
 * A payment gateway adapter. Implement it as a factory that parses its options and returns
 * a plain object. Every method must be idempotent on its `idempotencyKey`: Cartwright resends the
 * same key when it cannot know whether the first call reached the gateway.
 *
 * The contract has no field for card data, by design: card numbers and security codes go from the
 * shopper's browser to the gateway, never through Cartwright, so that no row, event or log line of a
 * shop holds one; a provider receives the gateway's token in `AuthorizeInput.data`.
 *
 * @example
 * ```ts
 * export function myGateway(options: { apiKey: string }): PaymentProvider {
 *   const client = createClient(options.apiKey) // your gateway's SDK
 *   return {
 *     id: 'my-gateway',
 *     capabilities: { capture: true, partialCapture: false, refund: true, void: true },
 *     async authorize(input) {
 *       const r = await client.authorize(input.amount, input.currency, { idempotencyKey: input.idempotencyKey })
 *       return r.ok ? { status: 'authorized', reference: r.id } : { status: 'declined', reason: r.message }
 *     },
 *     capture: (input) => client.capture(input.reference, input.amount, input.idempotencyKey),
 *     void: (input) => client.void(input.reference, input.idempotencyKey),
 *     refund: (input) => client.refund(input.reference, input.amount, input.idempotencyKey),
 *   }
 * }
 * ```
 */
export interface PaymentProvider {
  /** Unique provider id, chosen by the shopper at checkout (`payment: { provider: 'stripe' }`). */
  readonly id: string
  readonly capabilities: PaymentCapabilities
  authorize(input: AuthorizeInput): Promise<AuthorizeResult>
  capture?(input: PaymentOperationInput): Promise<PaymentOperationResult>
  void?(input: PaymentOperationInput): Promise<PaymentOperationResult>
  refund?(input: PaymentOperationInput): Promise<PaymentOperationResult>
  /** The gateway's current status of a payment (capability `retrieve`). Throws when the gateway cannot be reached. */
  retrieve?(input: { paymentId: string; reference: string }): Promise<RetrieveResult>
  /**
   * Webhooks (capability `webhooks`): `verify` checks the request's signature over the raw body and
   * returns the events it carries. It throws on a missing, malformed, stale or wrong signature, and
   * on a body that is not byte for byte what the gateway signed.
   */
  readonly webhooks?: { verify(request: WebhookRequest): Promise<GatewayEvent[]> | GatewayEvent[] }
  /**
   * The smallest amount step the gateway can charge in `currency`, in minor units (default 1).
   * Stripe charges three-decimal currencies such as KWD in steps of 10: core then rounds the order
   * total to that step with a visible rounding adjustment, so the charge always equals the total.
   */
  chargeStep?(currency: string): number
}
