import { z } from 'zod'
import { addressSchema, CommerceError, defineEndpoint, notFound, type Actor, type Endpoint, type Order, type Page } from '@cartwright/core'
import type { CustomersService } from './customers.js'
import { CONSENT_SOURCES, MAX_PASSWORD } from './schemas.js'

/** The engine as the endpoints' handlers use it. */
type Engine = { customers: CustomersService; carts: { verifyToken(cartId: string, token: string): Promise<boolean> }; orders: { list(input: { customerId: string; limit?: number; cursor?: string }): Promise<Page<Order>> } }
/** The engine a handler is given (typed `unknown` by the descriptor): one with this plugin. */
const engine = (commerce: unknown) => commerce as Engine

/** The staff member's id, or `INVALID_STATE` (the HTTP layer checks `access: 'staff'` first). */
function staffOf(actor: Actor): string {
  if (actor.kind !== 'staff') throw new CommerceError('INVALID_STATE', 'Staff only')
  return actor.staffId
}

/** The same input without `undefined` values, for the service's strict inputs. */
function defined<T extends Record<string, unknown>>(input: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> }
}

/** A whole number from a query string (or a number, when called directly). */
function queryInt(min: number, max: number) {
  return z.union([z.number(), z.string().regex(/^-?\d{1,16}$/, 'must be a whole number').transform(Number)]).pipe(z.number().int().min(min).max(max))
}

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
  summary: 'Register an account: the same answer whether the email has an account or not ("check your email")',
  description:
    'Answers `{ ok: true }` for every valid request, never `EMAIL_TAKEN`, and takes the same work (the password is hashed either way): the answer tells no one which emails have accounts. A new email gets an account and a verification mail (`customers.verification_requested`): its password is in force only once the email is verified, and until then a login with it fails like a wrong password, so registering then logging in does not tell either. The email of a customer staff made without an account gets nothing (no password is set by whoever typed it): its owner is mailed a link to set a password (`customers.password_reset_requested`). An email that has an account creates and changes nothing, and its owner is told someone tried (`customers.registration_attempted`). The shopper is then asked to check their email.',
  access: 'public',
  rateLimit: tight,
  input: z.strictObject({ email, password, firstName: z.string().max(100).optional(), lastName: z.string().max(100).optional(), locale: z.string().max(35).optional() }),
  output: ok,
  handler: async ({ input, commerce }) => {
    // The outcome stays here: created, profile or taken, the answer is the same.
    await engine(commerce).customers.accounts.registerOrNotify(input)
    return { ok: true as const }
  },
})

const login = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/login',
  summary: "Log in: a session token, and the guest cart merged into the customer's",
  description:
    "Every failure is answered alike (`INVALID_CREDENTIALS`). Failures are counted for the connection's address (the HTTP layer's client), never for anything the body says. `guestCartId` is merged only when the request carries that cart's token (`X-Cart-Token` or the cart cookie); otherwise the answer is 404, as for a missing cart.",
  access: 'public',
  rateLimit: tight,
  input: z.strictObject({ email, password, guestCartId: z.string().max(64).optional() }),
  output: z.object({ sessionToken: z.string(), customer: customerSchema, caps: z.array(z.object({ variantId: z.string(), requested: z.number().int(), quantity: z.number().int(), reason: z.enum(['stock', 'line_limit', 'unavailable']) })) }),
  handler: async ({ input, commerce, request }) => {
    if (!request) throw new CommerceError('INVALID_STATE', 'Logging in over HTTP needs the request (the client it counts for)')
    const { guestCartId, ...credentials } = input
    if (guestCartId !== undefined && !(request.cartToken !== undefined && (await engine(commerce).carts.verifyToken(guestCartId, request.cartToken)))) throw notFound('Cart', guestCartId)
    const result = await engine(commerce).customers.accounts.login({ ...credentials, clientId: request.client, ...(guestCartId !== undefined ? { guestCartId } : {}) })
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

const changePassword = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/password',
  summary: 'Change the password, given the current one: every session ends, this one too (log in again)',
  description: 'A wrong current password is `INVALID_CREDENTIALS`. Reset links already mailed stop working.',
  access: 'customer',
  rateLimit: tight,
  input: z.strictObject({ currentPassword: password, newPassword: password }),
  output: ok,
  handler: async ({ input, actor, commerce }) => {
    await engine(commerce).customers.accounts.changePassword(customerOf(actor), input)
    return { ok: true as const }
  },
})

const requestVerification = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/account/verify/request',
  summary: 'Ask for the verification mail again',
  access: 'customer',
  // Each call sends a mail: few a client may ask for.
  rateLimit: { windowMs: 60_000, max: 3 },
  input: z.strictObject({}),
  output: ok,
  handler: async ({ actor, commerce }) => {
    await engine(commerce).customers.accounts.requestVerification(customerOf(actor))
    return { ok: true as const }
  },
})

const addressId = z.string().min(1).max(64)

const updateAddress = defineEndpoint({
  surface: 'store',
  method: 'PATCH',
  path: '/account/addresses/:addressId',
  summary: 'Change an address of the book, or make it a default (`false` clears a default that was this address)',
  access: 'customer',
  input: z.strictObject({
    addressId,
    address: addressSchema.optional(),
    label: z.string().max(60).nullable().optional(),
    defaultShipping: z.boolean().optional(),
    defaultBilling: z.boolean().optional(),
  }),
  output: savedAddressSchema,
  handler: ({ input: { addressId: id, ...change }, actor, commerce }) => engine(commerce).customers.addresses.update(customerOf(actor), id, defined(change)),
})

const updateProfile = defineEndpoint({
  surface: 'store',
  method: 'PATCH',
  path: '/account',
  summary: "Change the signed-in customer's name, phone or locale (`null` clears one)",
  description: 'The email is changed by staff or through support: a session alone does not prove who owns the new address.',
  access: 'customer',
  input: z.strictObject({
    firstName: z.string().max(100).nullable().optional(),
    lastName: z.string().max(100).nullable().optional(),
    phone: z.string().max(40).nullable().optional(),
    locale: z.string().max(35).nullable().optional(),
  }),
  output: customerSchema,
  handler: ({ input, actor, commerce }) => engine(commerce).customers.update(customerOf(actor), defined(input)),
})

const setConsent = defineEndpoint({
  surface: 'store',
  method: 'PUT',
  path: '/account/marketing-consent',
  summary: 'Give or withdraw consent to marketing mail (recorded with the time and the source `account`)',
  access: 'customer',
  input: z.strictObject({ granted: z.boolean() }),
  output: customerSchema,
  handler: ({ input, actor, commerce }) => engine(commerce).customers.consent.set(customerOf(actor), { granted: input.granted, source: 'account' }),
})

/**
 * An order as the customer's order history lists it: enough for a list row. The whole order is
 * `GET /orders/:orderId`, which the customer's session opens.
 *
 * @example
 * ```ts
 * declare const body: { items: unknown[] } // a response of `GET /store/account/orders`
 * const rows = body.items.map((item) => orderSummarySchema.parse(item))
 * ```
 */
export const orderSummarySchema = z.object({
  id: z.string(),
  number: z.number().int(),
  status: z.string(),
  paymentStatus: z.string(),
  fulfillmentStatus: z.string(),
  currency: z.string(),
  totals: z.object({ subtotal: z.number().int(), discountTotal: z.number().int(), shippingTotal: z.number().int(), taxTotal: z.number().int(), total: z.number().int() }),
  lines: z.array(z.object({ id: z.string(), productId: z.string(), variantId: z.string(), sku: z.string(), title: z.string(), variantTitle: z.string(), quantity: z.number().int(), total: z.number().int() })),
  createdAt: z.string(),
  canceledAt: z.string().nullable(),
})

const summarize = (order: Order): z.input<typeof orderSummarySchema> => ({
  id: order.id,
  number: order.number,
  status: order.status,
  paymentStatus: order.paymentStatus,
  fulfillmentStatus: order.fulfillmentStatus,
  currency: order.currency,
  totals: { subtotal: order.totals.subtotal, discountTotal: order.totals.discountTotal, shippingTotal: order.totals.shippingTotal, taxTotal: order.totals.taxTotal, total: order.totals.total },
  lines: order.lines.map((l) => ({ id: l.id, productId: l.productId, variantId: l.variantId, sku: l.sku, title: l.title, variantTitle: l.variantTitle, quantity: l.quantity, total: l.total })),
  createdAt: order.createdAt,
  canceledAt: order.canceledAt,
})

const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() })
const paging = { limit: queryInt(1, 100).optional(), cursor: z.string().max(200).optional() }

const orderHistory = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/account/orders',
  summary: "The signed-in customer's orders, newest first, a page at a time",
  access: 'customer',
  input: z.strictObject(paging),
  output: pageOf(orderSummarySchema),
  handler: async ({ input, actor, commerce }) => {
    const page = await engine(commerce).orders.list({ customerId: customerOf(actor), ...defined(input) })
    return { items: page.items.map(summarize), nextCursor: page.nextCursor }
  },
})

const sessionSchema = z.object({ id: z.string(), createdAt: z.string(), expiresAt: z.string(), revokedAt: z.string().nullable() })
const sessionId = z.string().min(1).max(64)

const listSessions = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/account/sessions',
  summary: "The signed-in customer's sessions, newest first (never their tokens)",
  access: 'customer',
  input: z.strictObject({}),
  output: z.array(sessionSchema),
  handler: async ({ actor, commerce }) => (await engine(commerce).customers.accounts.listSessions(customerOf(actor))).map(({ customerId: _, ...s }) => s),
})

const revokeSession = defineEndpoint({
  surface: 'store',
  method: 'DELETE',
  path: '/account/sessions/:sessionId',
  summary: 'End one of the signed-in customer\'s sessions ("log out that device")',
  access: 'customer',
  input: z.strictObject({ sessionId }),
  output: ok,
  handler: async ({ input, actor, commerce }) => {
    await engine(commerce).customers.accounts.revokeSession(customerOf(actor), input.sessionId)
    return { ok: true as const }
  },
})

// ---- Admin: staff --------------------------------------------------------------------------

const customerId = z.string().min(1).max(64)
const read = 'customers:read'
const write = 'customers:write'
const profile = {
  firstName: z.string().max(100).nullable().optional(),
  lastName: z.string().max(100).nullable().optional(),
  phone: z.string().max(40).nullable().optional(),
  locale: z.string().max(35).nullable().optional(),
  metadata: z.record(z.string().max(40), z.string().max(500)).optional(),
}

const adminList = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customers',
  summary: 'Customers by id, filtered by email (exact, in any case), text in the email or name (`query`), group code or tag, a page at a time',
  access: 'staff',
  scope: read,
  input: z.strictObject({ email: z.string().max(320).optional(), query: z.string().max(100).optional(), groupCode: z.string().max(40).optional(), tag: z.string().max(40).optional(), ...paging }),
  output: pageOf(customerSchema),
  handler: ({ input, commerce }) => engine(commerce).customers.list(defined(input)),
})

const adminCreate = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/customers',
  summary: 'Add a customer without an account (they may register later with the same email)',
  access: 'staff',
  scope: write,
  input: z.strictObject({ email: z.string().max(320), ...profile }),
  output: customerSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.create(defined(input)),
})

const adminGet = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customers/:customerId',
  summary: 'A customer',
  access: 'staff',
  scope: read,
  input: z.strictObject({ customerId }),
  output: customerSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.get(input.customerId),
})

const adminUpdate = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/customers/:customerId',
  summary: "Change a customer's profile; a new email is unverified until its owner proves it (a verification mail is due)",
  access: 'staff',
  scope: write,
  input: z.strictObject({ customerId, email: z.string().max(320).optional(), ...profile }),
  output: customerSchema,
  handler: ({ input: { customerId: id, ...change }, commerce }) => engine(commerce).customers.update(id, defined(change)),
})

const adminAddresses = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customers/:customerId/addresses',
  summary: "A customer's address book",
  access: 'staff',
  scope: read,
  input: z.strictObject({ customerId }),
  output: z.array(savedAddressSchema),
  handler: ({ input, commerce }) => engine(commerce).customers.addresses.list(input.customerId),
})

const adminOrders = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customers/:customerId/orders',
  summary: "A customer's orders, newest first, a page at a time (summaries: `GET /orders/:orderId` has the rest)",
  access: 'staff',
  scope: 'orders:read',
  input: z.strictObject({ customerId, ...paging }),
  output: pageOf(orderSummarySchema),
  handler: async ({ input: { customerId: id, ...page }, commerce }) => {
    const customer = await engine(commerce).customers.get(id)
    const found = await engine(commerce).orders.list({ customerId: customer.id, ...defined(page) })
    return { items: found.items.map(summarize), nextCursor: found.nextCursor }
  },
})

const adminSessions = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customers/:customerId/sessions',
  summary: "A customer's sessions, newest first (never their tokens)",
  access: 'staff',
  scope: read,
  input: z.strictObject({ customerId }),
  output: z.array(sessionSchema),
  handler: async ({ input, commerce }) => (await engine(commerce).customers.accounts.listSessions(input.customerId)).map(({ customerId: _, ...s }) => s),
})

const adminRevokeSession = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/customers/:customerId/sessions/:sessionId',
  summary: "End one of a customer's sessions",
  access: 'staff',
  scope: write,
  input: z.strictObject({ customerId, sessionId }),
  output: ok,
  handler: async ({ input, commerce }) => {
    await engine(commerce).customers.accounts.revokeSession(input.customerId, input.sessionId)
    return { ok: true as const }
  },
})

const noteSchema = z.object({ id: z.string(), customerId: z.string(), author: z.string(), body: z.string(), createdAt: z.string() })

const adminNotes = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customers/:customerId/notes',
  summary: "Staff notes on a customer, newest first",
  access: 'staff',
  scope: read,
  input: z.strictObject({ customerId }),
  output: z.array(noteSchema),
  handler: ({ input, commerce }) => engine(commerce).customers.notes.list(input.customerId),
})

const adminAddNote = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/customers/:customerId/notes',
  summary: 'Add a staff note (its author is the staff member of the API key)',
  access: 'staff',
  scope: write,
  input: z.strictObject({ customerId, body: z.string().max(5000) }),
  output: noteSchema,
  handler: ({ input, actor, commerce }) => engine(commerce).customers.notes.add(input.customerId, { body: input.body, author: staffOf(actor) }),
})

const tag = z.string().min(1).max(40)

const adminTag = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/customers/:customerId/tags/:tag',
  summary: 'Tag a customer (again: nothing changes)',
  access: 'staff',
  scope: write,
  input: z.strictObject({ customerId, tag }),
  output: customerSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.tags.add(input.customerId, input.tag),
})

const adminUntag = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/customers/:customerId/tags/:tag',
  summary: "Remove a customer's tag",
  access: 'staff',
  scope: write,
  input: z.strictObject({ customerId, tag }),
  output: customerSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.tags.remove(input.customerId, input.tag),
})

const adminTimeline = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customers/:customerId/timeline',
  summary: 'What happened with a customer, oldest first',
  access: 'staff',
  scope: read,
  input: z.strictObject({ customerId }),
  output: z.array(z.object({ id: z.string(), kind: z.string(), refId: z.string().nullable(), summary: z.string(), at: z.string() })),
  handler: ({ input, commerce }) => engine(commerce).customers.timeline(input.customerId),
})

const adminConsent = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customers/:customerId/marketing-consent',
  summary: 'Every change of marketing consent, oldest first',
  access: 'staff',
  scope: read,
  input: z.strictObject({ customerId }),
  output: z.array(z.object({ granted: z.boolean(), source: z.enum(CONSENT_SOURCES), at: z.string() })),
  handler: ({ input, commerce }) => engine(commerce).customers.consent.history(input.customerId) as Promise<Array<{ granted: boolean; source: (typeof CONSENT_SOURCES)[number]; at: string }>>,
})

const groupSchema = z.object({ id: z.string(), code: z.string(), name: z.string() })
const groupCode = z.string().min(1).max(40)

const adminGroups = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customer-groups',
  summary: 'Every customer group, by code',
  access: 'staff',
  scope: read,
  input: z.strictObject({}),
  output: z.array(groupSchema),
  handler: ({ commerce }) => engine(commerce).customers.groups.list(),
})

const adminCreateGroup = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/customer-groups',
  summary: 'Create a customer group (B2B price lists price by group)',
  access: 'staff',
  scope: write,
  input: z.strictObject({ code: groupCode, name: z.string().max(100) }),
  output: groupSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.groups.create(input),
})

const adminAddMember = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/customer-groups/:groupCode/members/:customerId',
  summary: 'Add a customer to a group (again: nothing changes)',
  access: 'staff',
  scope: write,
  input: z.strictObject({ groupCode, customerId }),
  output: customerSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.groups.addMember(input.groupCode, input.customerId),
})

const adminRemoveMember = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/customer-groups/:groupCode/members/:customerId',
  summary: 'Take a customer out of a group',
  access: 'staff',
  scope: write,
  input: z.strictObject({ groupCode, customerId }),
  output: customerSchema,
  handler: ({ input, commerce }) => engine(commerce).customers.groups.removeMember(input.groupCode, input.customerId),
})

/**
 * The plugin's routes, for the HTTP layer to mount. Store: register, login, logout, verify,
 * password reset (request and confirm); for the signed-in customer, their profile, password,
 * verification mail, marketing consent, address book, order history and sessions (another customer's address or session is
 * `NOT_FOUND`). Admin (scopes `customers:read|write`, and `orders:read` for a customer's orders):
 * customers listed, searched, filtered, made, read and changed, their addresses, orders, sessions, notes, tags,
 * timeline and consent history, and customer groups with their members. Inputs are checked again,
 * field by field, by the service. A tuple: each route keeps its schemas, method and path in its
 * type, for `createStoreClient` from `@cartwright/http`.
 *
 * @example
 * ```ts
 * for (const e of customerEndpoints) console.log(e.surface, e.method, e.path, e.access)
 * ```
 */
export const customerEndpoints = [
  register,
  login,
  logout,
  verify,
  requestReset,
  reset,
  me,
  updateProfile,
  changePassword,
  requestVerification,
  setConsent,
  listAddresses,
  addAddress,
  updateAddress,
  removeAddress,
  orderHistory,
  listSessions,
  revokeSession,
  adminList,
  adminCreate,
  adminGet,
  adminUpdate,
  adminAddresses,
  adminOrders,
  adminSessions,
  adminRevokeSession,
  adminNotes,
  adminAddNote,
  adminTag,
  adminUntag,
  adminTimeline,
  adminConsent,
  adminGroups,
  adminCreateGroup,
  adminAddMember,
  adminRemoveMember,
] as const satisfies readonly Endpoint[]
