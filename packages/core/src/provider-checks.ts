import { CommerceError } from './errors.js'
import type { PaymentCapabilities } from './ports/payment-provider.js'

/**
 * Checks, member by member, that the providers given to `createCommerce` are what their ports
 * say: TypeScript checks this for typed callers, but a provider written in plain JavaScript (or
 * built from JSON) would otherwise pass and fail later, mid-checkout, with a raw `TypeError`.
 */

/** The capability flags every payment provider declares. */
const PAYMENT_FLAGS = ['capture', 'partialCapture', 'refund', 'void'] as const satisfies ReadonlyArray<keyof PaymentCapabilities>

/** Keys of `T` that are not optional. */
type RequiredKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? never : K }[keyof T]
// A flag made required in PaymentCapabilities must be listed in PAYMENT_FLAGS: this fails to compile until it is.
true satisfies [Exclude<RequiredKeys<PaymentCapabilities>, (typeof PAYMENT_FLAGS)[number]>] extends [never] ? true : false

/** Operations a payment provider implements when it declares the capability of the same name. */
const PAYMENT_OPERATIONS = ['capture', 'void', 'refund'] as const

type Loose = Record<string, unknown>

const isObject = (value: unknown): value is Loose => typeof value === 'object' && value !== null

/** How a provider is named in a problem: by its id when it has one, else by its place in the options. */
function label(kind: string, value: Loose, place: string): string {
  return typeof value['id'] === 'string' && value['id'] !== '' ? `${kind} provider "${value['id']}"` : `${kind} provider at ${place}`
}

function checkId(kind: string, value: Loose, place: string, problems: string[]): void {
  if (typeof value['id'] !== 'string' || value['id'] === '') problems.push(`${label(kind, value, place)} has no id: give it a non-empty string id`)
}

function checkMethod(kind: string, value: Loose, place: string, method: string, problems: string[]): void {
  if (typeof value[method] !== 'function') problems.push(`${label(kind, value, place)} has no ${method}() method`)
}

function checkPayment(value: Loose, place: string, problems: string[]): void {
  checkId('payment', value, place, problems)
  checkMethod('payment', value, place, 'authorize', problems)
  const name = label('payment', value, place)
  const capabilities = value['capabilities']
  if (!isObject(capabilities)) {
    problems.push(`${name} has no capabilities object: declare { ${PAYMENT_FLAGS.map((f) => `${f}: boolean`).join(', ')} }`)
    return
  }
  for (const flag of PAYMENT_FLAGS) {
    if (typeof capabilities[flag] !== 'boolean') problems.push(`${name} capability "${flag}" is ${describe(capabilities[flag])}; declare it true or false`)
  }
  // Optional flags (multiCapture, and any added later) are booleans when present.
  for (const [flag, flagValue] of Object.entries(capabilities)) {
    if (!(PAYMENT_FLAGS as readonly string[]).includes(flag) && flagValue !== undefined && typeof flagValue !== 'boolean') {
      problems.push(`${name} capability "${flag}" is ${describe(flagValue)}; declare it true or false, or leave it out`)
    }
  }
  for (const op of PAYMENT_OPERATIONS) {
    if (capabilities[op] === true && typeof value[op] !== 'function') problems.push(`${name} claims the ${op} capability but has no ${op}() method`)
  }
  if (capabilities['retrieve'] === true && typeof value['retrieve'] !== 'function') problems.push(`${name} claims the retrieve capability but has no retrieve() method`)
  if (capabilities['webhooks'] === true && typeof (value['webhooks'] as Loose | undefined)?.['verify'] !== 'function') {
    problems.push(`${name} claims the webhooks capability but has no webhooks.verify() method`)
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing'
  return `${typeof value === 'string' ? JSON.stringify(value) : String(value)} (${value === null ? 'null' : typeof value}), not a boolean`
}

/**
 * Throws `CONFIGURATION` naming each provider and what it lacks: an id, a required method
 * (`authorize`, `quote`, `calculate`), a capabilities object with boolean flags, or the method of
 * a capability it claims.
 */
export function checkProviders(payments: readonly unknown[], shipping: readonly unknown[], tax: unknown): void {
  const problems: string[] = []
  payments.forEach((p, i) => {
    if (isObject(p)) checkPayment(p, `payments[${i}]`, problems)
    else problems.push(`payments[${i}] is not a payment provider object`)
  })
  shipping.forEach((p, i) => {
    if (isObject(p)) {
      checkId('shipping', p, `shipping[${i}]`, problems)
      checkMethod('shipping', p, `shipping[${i}]`, 'quote', problems)
    } else problems.push(`shipping[${i}] is not a shipping provider object`)
  })
  if (tax !== undefined) {
    if (!isObject(tax)) problems.push('tax is not a tax provider object')
    else {
      checkId('tax', tax, 'tax', problems)
      checkMethod('tax', tax, 'tax', 'calculate', problems)
    }
  }
  if (problems.length) {
    throw new CommerceError('CONFIGURATION', `[cartwright] ${problems.join('; ')}`, { details: { problems } })
  }
}
