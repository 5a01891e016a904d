import { z } from 'zod'
import { addressSchema, CommerceError, defineEndpoint, type Actor, type Endpoint } from '@cartwright/core'
import type { CustomersService } from './customers.js'
import { MAX_PASSWORD } from './schemas.js'

/** The engine as the endpoints' handlers use it. */
type Engine = { customers: CustomersService }
/** The engine a handler is given (typed `unknown` by the descriptor): one with this plugin. */
const engine = (commerce: unknown) => commerce as Engine

/** The signed-in customer's id, or `INVALID_STATE` (the HTTP layer checks `access: 'customer'` first). */
function customerOf(actor: Actor): string {
  if (actor.kind !== 'customer') throw new CommerceError('INVALID_STATE', 'Sign in first')
  return actor.customerId
}

/**
 * A customer as the Store and Admin APIs return it (never a password hash).
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /store/account`
 * const me = customerSchema.parse(body)
 * ```
 */
export const customerSchema = z.object({
  id: z.string(),
  email: z.string(),
  emailVerified: z.boolean(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  phone: z.string().nullable(),
  locale: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  hasAccount: z.boolean(),
  defaultShippingAddressId: z.string().nullable(),
  defaultBillingAddressId: z.string().nullable(),
  groups: z.array(z.string()),
  tags: z.array(z.string()),
  marketingConsent: z.object({ granted: z.boolean(), source: z.string(), at: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

const savedAddressSchema = z.object({
  id: z.string(),
  customerId: z.string(),
  label: z.string().nullable(),
  address: addressSchema,
  defaultShipping: z.boolean(),
  defaultBilling: z.boolean(),
  createdAt: z.string(),
})

const email = z.string().max(320)
const password = z.string().max(MAX_PASSWORD)
const token = z.string().max(200)
const ok = z.object({ ok: z.literal(true) })
// Credentials are guessed by brute force: few tries per client and window.
const tight = { windowMs: 60_000, max: 10 }

const register = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/register',
  summary: 'Register an account (a verification mail is due)',
  access: 'public',
  rateLimit: tight,
  input: z.strictObject({ email, password, firstName: z.string().max(100).optional(), lastName: z.string().max(100).optional(), locale: z.string().max(35).optional() }),
  output: customerSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.accounts.register(input),
})

const login = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/login',
  summary: "Log in: a session token, and the guest cart merged into the customer's",
  description:
    'Every failure is answered alike (`INVALID_CREDENTIALS`). `clientId` is the client failures are counted for: the host sets it from the connection (its IP address), not from what the client sends.',
  access: 'public',
  rateLimit: tight,
  input: z.strictObject({ email, password, clientId: z.string().max(200), guestCartId: z.string().max(64).optional() }),
  output: z.object({ sessionToken: z.string(), customer: customerSchema, caps: z.array(z.object({ variantId: z.string(), requested: z.number().int(), quantity: z.number().int(), reason: z.enum(['stock', 'line_limit', 'unavailable']) })) }),
  handler: async ({ input, commerce }) => {
    const result = await engine(commerce).customers.accounts.login(input)
    return { sessionToken: result.sessionToken, customer: result.customer, caps: result.merge?.caps ?? [] }
  },
})

const logout = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/logout',
  summary: 'End a session',
  access: 'public',
  input: z.strictObject({ sessionToken: token }),
  output: ok,
  handler: async ({ input, commerce }) => {
    await engine(commerce).customers.accounts.logout(input.sessionToken)
    return { ok: true as const }
  },
})

const verify = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/verify',
  summary: "Verify the account's email with the token of the mailed link",
  access: 'public',
  rateLimit: tight,
  input: z.strictObject({ token }),
  output: customerSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.accounts.verifyEmail(input),
})

const requestReset = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/password-reset',
  summary: 'Ask for a password reset mail (the answer is the same whether the email is known or not)',
  access: 'public',
  rateLimit: tight,
  input: z.strictObject({ email }),
  output: ok,
  handler: async ({ input, commerce }) => {
    await engine(commerce).customers.accounts.requestPasswordReset(input)
    return { ok: true as const }
  },
})

const reset = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/password-reset/confirm',
  summary: 'Set a new password with the token of the mailed link (every session ends)',
  access: 'public',
  rateLimit: tight,
  input: z.strictObject({ token, password }),
  output: customerSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.accounts.resetPassword(input),
})

const me = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/account',
  summary: 'The signed-in customer',
  access: 'customer',
  input: z.strictObject({}),
  output: customerSchema,
  handler: ({ actor, commerce }) => engine(commerce).customers.get(customerOf(actor)),
})

const listAddresses = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/account/addresses',
  summary: "The signed-in customer's address book",
  access: 'customer',
  input: z.strictObject({}),
  output: z.array(savedAddressSchema),
  handler: ({ actor, commerce }) => engine(commerce).customers.addresses.list(customerOf(actor)),
})

const addAddress = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/addresses',
  summary: 'Add an address to the book',
  access: 'customer',
  input: z.strictObject({ address: addressSchema, label: z.string().max(60).optional(), defaultShipping: z.boolean().optional(), defaultBilling: z.boolean().optional() }),
  output: savedAddressSchema,
  handler: ({ input, actor, commerce }) => engine(commerce).customers.addresses.add(customerOf(actor), input),
})

const removeAddress = defineEndpoint({
  surface: 'store',
  method: 'DELETE',
  path: '/account/addresses/:addressId',
  summary: 'Remove an address from the book',
  access: 'customer',
  input: z.strictObject({ addressId: z.string().min(1).max(64) }),
  output: ok,
  handler: async ({ input, actor, commerce }) => {
    await engine(commerce).customers.addresses.remove(customerOf(actor), input.addressId)
    return { ok: true as const }
  },
})

/**
 * The plugin's Store routes, for the HTTP layer to mount: register, login, logout, verify, password
 * reset (request and confirm), the signed-in customer, and their address book. Inputs are checked
 * again, field by field, by the service.
 *
 * @example
 * ```ts
 * for (const e of customerEndpoints) console.log(e.surface, e.method, e.path, e.access)
 * ```
 */
export const customerEndpoints: readonly Endpoint[] = [register, login, logout, verify, requestReset, reset, me, listAddresses, addAddress, removeAddress] as readonly Endpoint[]
