import { CommerceError, currencyExponent } from '@cartwright/core'

/**
 * Stripe's zero-decimal currencies (its documented list): an amount is a count of whole units.
 * All are zero-decimal in ISO 4217 too, except MGA (ISO exponent 2).
 *
 * @example
 * ```ts
 * STRIPE_ZERO_DECIMAL.has('JPY') // true
 * ```
 */
export const STRIPE_ZERO_DECIMAL: ReadonlySet<string> = new Set([
  'BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF',
])

/**
 * Stripe's three-decimal currencies: sent in thousandths, as ISO 4217 counts them, but the last
 * digit must be 0 (Stripe's payment partners settle in hundredths).
 *
 * @example
 * ```ts
 * STRIPE_THREE_DECIMAL.has('KWD') // true
 * ```
 */
export const STRIPE_THREE_DECIMAL: ReadonlySet<string> = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND'])

/**
 * ISK is zero-decimal in ISO 4217 and in practice (card networks take whole krónur only), but
 * Stripe's API keeps it two-decimal for backwards compatibility: 1 króna is sent as `100`, and
 * anything not divisible by 100 is refused. Cartwright's ISK amounts are whole krónur already.
 */
const STRIPE_TWO_DECIMAL_WHOLE: ReadonlySet<string> = new Set(['ISK'])

/**
 * How Stripe counts a currency: its exponent in the API, and the step (in Stripe's units) an
 * amount must be a multiple of. HUF and TWD are two-decimal for charges (Stripe pays them out in
 * whole units only, which is a payout rule, not a charge rule), so they take every amount.
 */
function stripeScale(currency: string): { exponent: number; step: number } {
  if (STRIPE_ZERO_DECIMAL.has(currency)) return { exponent: 0, step: 1 }
  if (STRIPE_THREE_DECIMAL.has(currency)) return { exponent: 3, step: 10 }
  if (STRIPE_TWO_DECIMAL_WHOLE.has(currency)) return { exponent: 2, step: 100 }
  // "Unless otherwise specified, currencies are two-decimal."
  return { exponent: 2, step: 1 }
}

/** Normalizes a currency code to upper case and checks that Cartwright knows it (VALIDATION otherwise). */
function isoExponent(currency: string): number {
  return currencyExponent(currency.toUpperCase())
}

/**
 * The smallest amount, in ISO 4217 minor units (Cartwright's), that Stripe can charge in `currency`:
 * 10 for BHD, JOD, KWD, OMR and TND (the last of three digits must be 0); 100 for MGA (ISO counts
 * hundredths, Stripe whole ariary); 1 for every other currency.
 *
 * @example
 * ```ts
 * stripeChargeStep('KWD') // 10: 1.234 KWD cannot be charged, 1.230 can
 * stripeChargeStep('USD') // 1
 * stripeChargeStep('JPY') // 1
 * ```
 */
export function stripeChargeStep(currency: string): number {
  const code = currency.toUpperCase()
  const iso = isoExponent(code)
  const { exponent, step } = stripeScale(code)
  // One Stripe step, expressed in ISO minor units (rounded up to a whole ISO unit).
  const stepInIso = exponent >= iso ? Math.max(1, step / 10 ** (exponent - iso)) : step * 10 ** (iso - exponent)
  return Math.ceil(stepInIso)
}

/**
 * Converts an amount in ISO 4217 minor units (as Cartwright stores money) to the integer Stripe's
 * API expects for `currency`. Throws `VALIDATION` naming `amount` when Stripe cannot charge it:
 * not a positive safe integer, or not a multiple of {@link stripeChargeStep} (KWD 1.234).
 *
 * @example
 * ```ts
 * toStripeAmount(1234, 'USD') // 1234 (12.34 USD)
 * toStripeAmount(1000, 'JPY') // 1000 (¥1000)
 * toStripeAmount(1230, 'KWD') // 1230 (1.230 KWD)
 * toStripeAmount(500, 'ISK')  // 50000 (500 krónur, which Stripe counts in hundredths)
 * ```
 */
export function toStripeAmount(amount: number, currency: string): number {
  const code = currency.toUpperCase()
  const iso = isoExponent(code)
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw amountError(`must be a non-negative integer count of minor units, got ${amount}`, amount, code)
  }
  const chargeStep = stripeChargeStep(code)
  if (amount % chargeStep !== 0) {
    throw amountError(`Stripe charges ${code} in steps of ${chargeStep} minor units; ${amount} is not a multiple of ${chargeStep}`, amount, code)
  }
  const { exponent } = stripeScale(code)
  const stripe = exponent >= iso ? amount * 10 ** (exponent - iso) : amount / 10 ** (iso - exponent)
  if (!Number.isSafeInteger(stripe)) throw amountError(`is too large for Stripe`, amount, code)
  return stripe
}

/**
 * Converts an integer amount from Stripe (a PaymentIntent's `amount_received`, a refund's
 * `amount`, a webhook's payload) back to ISO 4217 minor units for `currency`.
 *
 * @example
 * ```ts
 * fromStripeAmount(1230, 'kwd') // 1230 (1.230 KWD)
 * fromStripeAmount(50000, 'isk') // 500 (500 krónur)
 * fromStripeAmount(5, 'mga')    // 500 (5 ariary, which ISO counts in hundredths)
 * ```
 */
export function fromStripeAmount(amount: number, currency: string): number {
  const code = currency.toUpperCase()
  const iso = isoExponent(code)
  const { exponent } = stripeScale(code)
  // Stripe never sends a fraction of an ISO unit (ISK arrives in whole hundreds); round defensively.
  return exponent >= iso ? Math.round(amount / 10 ** (exponent - iso)) : amount * 10 ** (iso - exponent)
}

function amountError(message: string, amount: number, currency: string): CommerceError {
  return new CommerceError('VALIDATION', `[cartwright:payment-stripe] amount ${message}`, {
    details: { issues: [{ path: 'amount', message }], fields: ['amount'], amount, currency },
  })
}
