import { CommerceError, isCommerceError } from '../errors.js'
import type { OrderTable, PaymentTable } from '../db/database.js'
import { iso } from '../db/rows.js'
import type { Runtime } from '../runtime.js'
import type { Cart, Order, OrderHold, Totals } from '../types.js'
import type { Address } from '../validation.js'

/**
 * Orders held for review. A `checkout.risk` hook looks at a checkout once its payment is
 * authorized and may answer `{ hold: true, reason }`: the order is placed with the authorization,
 * and held. A held order's payment cannot be captured nor the order fulfilled until staff release
 * it (`orders.release`); canceling it voids the authorization and releases the stock, as for any
 * order.
 */

/**
 * What a `checkout.risk` hook sees: the checkout whose payment the gateway just authorized.
 *
 * @example
 * ```ts
 * commerce.hooks.hook('checkout.risk', (context: CheckoutRiskContext) => {
 *   const { shippingAddress, billingAddress, payment } = context
 *   if (payment.amount > 100_000 && shippingAddress?.country !== billingAddress?.country) return { hold: true, reason: 'large order, countries differ' }
 * })
 * ```
 */
export interface CheckoutRiskContext {
  /** The cart as it was priced for this checkout. */
  cart: Cart
  totals: Totals
  email: string | null
  shippingAddress: Address | null
  /** The billing address; the shipping address when the shopper gave none. */
  billingAddress: Address | null
  /** The gateway's answer for the checkout's payment. */
  payment: {
    id: string
    provider: string
    /** `captured` when the provider captured at authorization (a hold then stops fulfillment only). */
    status: 'authorized' | 'captured'
    /** Minor units asked of the gateway: the total less any tenders. */
    amount: number
    currency: string
    /** The gateway's reference for the payment. */
    reference: string
  }
}

/**
 * What a `checkout.risk` hook answers: `{ hold: true, reason }` to hold the order for review, or nothing.
 *
 * @example
 * ```ts
 * // The host's fraud service:
 * declare const fraud: { score(input: { email: string | null; amount: number }): Promise<number> }
 *
 * commerce.hooks.hook('checkout.risk', async ({ email, payment }): Promise<CheckoutRiskAnswer> => {
 *   const score = await fraud.score({ email, amount: payment.amount })
 *   return score > 0.8 ? { hold: true, reason: `fraud score ${score}` } : undefined
 * })
 * ```
 */
export type CheckoutRiskAnswer = { hold: true; reason: string } | { hold: false } | undefined | void

/** The longest reason kept; a longer one is cut. */
const MAX_REASON = 500

/**
 * @internal Runs the `checkout.risk` hooks for a checkout whose payment was authorized, and returns
 * the hold they ask for: the first hook that answers `hold: true` decides. A hook that throws, or
 * answers something else than the documented shapes, holds the order too (`risk check failed: …`):
 * the money is already authorized, so a failed check must lead to a review, not to an unchecked
 * order nor to a lost one. Free when no hook is registered.
 */
export async function assessRisk(rt: Runtime, context: CheckoutRiskContext): Promise<{ reason: string } | null> {
  if (!rt.hooks.has('checkout.risk')) return null
  let answers: unknown[]
  try {
    answers = await rt.hooks.run('checkout.risk', context)
  } catch (error) {
    const cause = isCommerceError(error) ? (error.cause ?? error) : error
    return { reason: cut(`risk check failed: ${(cause as Error)?.message ?? String(cause)}`) }
  }
  for (const answer of answers) {
    if (answer === undefined || answer === null) continue
    if (typeof answer === 'object' && (answer as { hold?: unknown }).hold === false) continue
    if (typeof answer === 'object' && (answer as { hold?: unknown }).hold === true) {
      const reason = (answer as { reason?: unknown }).reason
      if (typeof reason === 'string' && reason.trim().length > 0) return { reason: cut(reason.trim()) }
      return { reason: 'risk check failed: a checkout.risk hook asked for a hold without a reason' }
    }
    return { reason: cut(`risk check failed: a checkout.risk hook answered ${safeJson(answer)}; answer { hold: true, reason } or nothing`) }
  }
  return null
}

/**
 * @internal {@link assessRisk} for a checkout whose payment the gateway answered with `result`:
 * the context is built from the priced cart and the payment. Free when no hook is registered.
 */
export function assessCheckoutRisk(
  rt: Runtime,
  cart: Cart,
  payment: Pick<PaymentTable, 'id' | 'provider' | 'amount' | 'currency'>,
  result: { status: string; reference?: string },
): Promise<{ reason: string } | null> {
  if (!rt.hooks.has('checkout.risk')) return Promise.resolve(null)
  return assessRisk(rt, {
    cart,
    totals: cart.totals,
    email: cart.email,
    shippingAddress: cart.shippingAddress,
    billingAddress: cart.billingAddress ?? cart.shippingAddress,
    payment: { id: payment.id, provider: payment.provider, status: result.status === 'captured' ? 'captured' : 'authorized', amount: payment.amount, currency: payment.currency, reference: result.reference ?? '' },
  })
}

const cut = (text: string) => (text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text)

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 100) ?? String(value)
  } catch {
    return String(value)
  }
}

/** @internal The columns of an order row for a hold (or for none). */
export function holdColumns(hold: { reason: string } | null, at: string): Pick<OrderTable, 'hold_reason' | 'held_at'> {
  return hold ? { hold_reason: hold.reason, held_at: at } : { hold_reason: null, held_at: null }
}

/** @internal An order's hold, from its row. */
export function toOrderHold(row: Pick<OrderTable, 'hold_reason' | 'held_at'>): OrderHold | null {
  return row.held_at ? { reason: row.hold_reason ?? '', at: iso(row.held_at) } : null
}

/** @internal `INVALID_STATE` for money or goods that must wait until a held order is released. */
export function heldError(order: Pick<OrderTable, 'id' | 'number' | 'hold_reason' | 'held_at'>, action = 'its payment cannot be captured'): CommerceError {
  return new CommerceError('INVALID_STATE', `Order ${order.number} is held for review (${order.hold_reason ?? 'no reason given'}): ${action} until it is released (orders.release)`, {
    details: { orderId: order.id, hold: toOrderHold(order) },
  })
}

/** @internal The event payload of a placed order that was held. */
export function heldEvent(order: Pick<Order, 'id' | 'number'>, reason: string): { orderId: string; number: number; reason: string } {
  return { orderId: order.id, number: order.number, reason }
}
