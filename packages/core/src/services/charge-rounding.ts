import { CommerceError } from '../errors.js'
import type { PaymentTable, Tx } from '../db/database.js'
import type { PaymentProvider } from '../ports/payment-provider.js'
import type { Cart } from '../types.js'

/**
 * @internal Rounds `amount` (minor units, ≥ 0) to the nearest multiple of `step`, half up: 1234 in
 * steps of 10 is 1230, 1235 is 1240. A step of 1 leaves every amount as it is.
 */
export function roundToStep(amount: number, step: number): number {
  if (step <= 1) return amount
  const rest = amount % step
  return rest * 2 >= step ? amount - rest + step : amount - rest
}

/** @internal The provider's charge step in `currency` (1 when it declares none); a step that is not a positive safe integer is a `CONFIGURATION` error. */
export function chargeStepOf(provider: PaymentProvider, currency: string): number {
  if (typeof provider.chargeStep !== 'function') return 1
  const step = provider.chargeStep(currency)
  if (!Number.isSafeInteger(step) || step < 1) {
    throw new CommerceError('CONFIGURATION', `payment provider ${provider.id}: chargeStep(${currency}) must be a positive integer number of minor units, got ${String(step)}`)
  }
  return step
}

/**
 * @internal In the claim's transaction, after the `checkout.claim` hooks (whose tenders left
 * `payment.amount` for the gateway): when the provider charges the cart's currency in steps larger
 * than 1 minor unit and the gateway's amount is not a multiple of the step, rounds it to the nearest
 * multiple (half up) and carries the difference on the snapshot as `totals.rounding`, with
 * `totals.total` moved by the same amount, so that the order's total is exactly what the gateway and
 * the tenders are asked for. Updates the payment row and the cart's snapshot, and `payment` and
 * `cart` in place. Returns the rounding (0 when none).
 */
export async function applyChargeRounding(tx: Tx, provider: PaymentProvider, cart: Cart, payment: PaymentTable): Promise<number> {
  const step = chargeStepOf(provider, cart.currency)
  const charged = roundToStep(payment.amount, step)
  const rounding = charged - payment.amount
  if (rounding === 0) return 0
  cart.totals = { ...cart.totals, rounding, total: cart.totals.total + rounding }
  payment.amount = charged
  await tx.updateTable('cw_payments').set({ amount: charged }).where('id', '=', payment.id).execute()
  await tx.updateTable('cw_carts').set({ checkout: JSON.stringify(cart) }).where('id', '=', cart.id).execute()
  return rounding
}
