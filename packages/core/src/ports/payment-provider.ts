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
}

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
  /** Provider-specific data from the shopper's client (a token, a payment method id). Never trusted for amounts. */
  data: Record<string, unknown>
}

/** The gateway's answer to an authorization. */
export type AuthorizeResult =
  | { status: 'authorized'; reference: string; data?: Record<string, unknown> }
  /** The provider captured at once (no separate capture step). */
  | { status: 'captured'; reference: string; data?: Record<string, unknown> }
  | { status: 'declined'; reason: string; reference?: string }

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
}
