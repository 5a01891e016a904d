import { z } from 'zod'
import { addressSchema, validationError } from '@cartwright/core'

/** Text every storage keeps as sent: no NUL and no unpaired surrogate (PostgreSQL refuses one, SQLite mangles the other). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const storable = (s: string) => !UNSTORABLE.test(s)
const storableMessage = 'must not contain a NUL character or an unpaired surrogate'

const text = (max: number) => z.string().trim().min(1).max(max).refine(storable, storableMessage)

/** Shortest password accepted, in characters. */
export const MIN_PASSWORD = 10
/** Longest password accepted, in characters (argon2 takes any length; this bounds the work of one call). */
export const MAX_PASSWORD = 256

export const idSchema = z.string().min(1).max(64).refine(storable, storableMessage)
export const emailSchema = z.string().trim().max(320).pipe(z.email())
export const passwordSchema = z.string().min(MIN_PASSWORD).max(MAX_PASSWORD).refine(storable, storableMessage)
const tokenSchema = z.string().min(1).max(200)
const localeSchema = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 tag such as en or pt-BR')
const phoneSchema = z.string().trim().min(3).max(40).regex(/^[0-9+()\-. ]+$/, 'may hold digits, spaces and + ( ) - . only')
const metadataSchema = z
  .record(z.string().min(1).max(40), z.string().max(500).refine(storable, storableMessage))
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 keys')
const clientIdSchema = z.string().min(1).max(200).refine(storable, storableMessage)

const profileFields = {
  firstName: text(100).nullable().optional(),
  lastName: text(100).nullable().optional(),
  phone: phoneSchema.nullable().optional(),
  locale: localeSchema.nullable().optional(),
  metadata: metadataSchema.optional(),
}

export const createCustomerSchema = z.strictObject({ email: emailSchema, ...profileFields })
export const updateCustomerSchema = z.strictObject({ email: emailSchema.optional(), ...profileFields })
export const registerSchema = z.strictObject({ email: emailSchema, password: passwordSchema, ...profileFields })
export const loginSchema = z.strictObject({
  email: emailSchema,
  password: z.string().min(1).max(MAX_PASSWORD),
  /** Who is trying (an IP address, a device id): failures are counted per client too. */
  clientId: clientIdSchema,
  /** A guest cart to merge into the customer's open cart once logged in. */
  guestCartId: idSchema.optional(),
})
export const tokenInputSchema = z.strictObject({ token: tokenSchema })
export const resetSchema = z.strictObject({ token: tokenSchema, password: passwordSchema })
export const requestResetSchema = z.strictObject({ email: emailSchema })
export const changePasswordSchema = z.strictObject({
  currentPassword: z.string().min(1).max(MAX_PASSWORD),
  newPassword: passwordSchema,
  /** The session the change is made from: it stays open; every other session of the customer ends. */
  keepSessionId: idSchema.optional(),
})

export const addAddressSchema = z.strictObject({
  address: addressSchema,
  label: text(60).optional(),
  defaultShipping: z.boolean().optional(),
  defaultBilling: z.boolean().optional(),
})
export const updateAddressSchema = z.strictObject({
  address: addressSchema.optional(),
  label: text(60).nullable().optional(),
  defaultShipping: z.boolean().optional(),
  defaultBilling: z.boolean().optional(),
})

export const createGroupSchema = z.strictObject({
  code: z.string().min(1).max(40).regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
  name: text(100),
})
export const tagSchema = z.string().trim().min(1).max(40).regex(/^[\p{L}\p{N} _.-]+$/u, 'letters, digits, spaces, _ . and - only')
export const noteSchema = z.strictObject({ body: text(5000), author: text(100) })
export const CONSENT_SOURCES = ['checkout', 'account', 'staff', 'import'] as const
export const consentSchema = z.strictObject({ granted: z.boolean(), source: z.enum(CONSENT_SOURCES) })
export const paymentMethodSchema = z.strictObject({
  /** The payment provider's id (`stripe`): the provider keeps the card. */
  provider: z.string().min(1).max(40).regex(/^[a-z0-9][a-z0-9_-]*$/, 'a provider id'),
  /** The provider's reference for the saved method (`pm_1Nx…`). */
  reference: text(200),
  /** What the customer sees (`Visa •••• 4242`): never a card number. */
  label: text(60).refine((l) => !/\d{7,}/.test(l.replace(/[\s-]/g, '')), 'must not hold a card number'),
})
export const mergeSchema = z.strictObject({ customerId: idSchema, guestCartId: idSchema })
export const listSchema = z.strictObject({
  email: z.string().trim().min(1).max(320).optional(),
  /** Text found, in any case, in the email or the full name. */
  query: z.string().trim().min(1).max(100).refine(storable, storableMessage).optional(),
  groupCode: z.string().min(1).max(40).optional(),
  tag: tagSchema.optional(),
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
})

/**
 * Input of `customers.create`.
 *
 * @example
 * ```ts
 * const input: CreateCustomerInput = { email: 'ada@example.com', firstName: 'Ada' }
 * ```
 */
export type CreateCustomerInput = z.input<typeof createCustomerSchema>
/**
 * Input of `customers.update`.
 *
 * @example
 * ```ts
 * const input: UpdateCustomerInput = { phone: '+44 20 7946 0000' }
 * ```
 */
export type UpdateCustomerInput = z.input<typeof updateCustomerSchema>
/**
 * Input of `customers.accounts.register`.
 *
 * @example
 * ```ts
 * const input: RegisterInput = { email: 'ada@example.com', password: 'correct horse battery' }
 * ```
 */
export type RegisterInput = z.input<typeof registerSchema>
/**
 * Input of `customers.accounts.login`.
 *
 * @example
 * ```ts
 * const input: LoginInput = { email: 'ada@example.com', password: 'correct horse battery', clientId: '203.0.113.7' }
 * ```
 */
export type LoginInput = z.input<typeof loginSchema>
/**
 * Input of `customers.addresses.add`.
 *
 * @example
 * ```ts
 * const input: AddAddressInput = { address: { line1: '1 Analytical St', city: 'London', country: 'GB' }, defaultShipping: true }
 * ```
 */
export type AddAddressInput = z.input<typeof addAddressSchema>
/**
 * Input of `customers.addresses.update`.
 *
 * @example
 * ```ts
 * const input: UpdateAddressInput = { defaultBilling: true }
 * ```
 */
export type UpdateAddressInput = z.input<typeof updateAddressSchema>
/**
 * Input of `customers.groups.create`.
 *
 * @example
 * ```ts
 * const input: CreateGroupInput = { code: 'wholesale', name: 'Wholesale' }
 * ```
 */
export type CreateGroupInput = z.input<typeof createGroupSchema>
/**
 * Input of `customers.notes.add`.
 *
 * @example
 * ```ts
 * const input: AddNoteInput = { body: 'Called about a late parcel', author: 'sam@shop.example' }
 * ```
 */
export type AddNoteInput = z.input<typeof noteSchema>
/**
 * Input of `customers.consent.set`.
 *
 * @example
 * ```ts
 * const input: ConsentInput = { granted: true, source: 'checkout' }
 * ```
 */
export type ConsentInput = z.input<typeof consentSchema>
/**
 * Input of `customers.paymentMethods.add`.
 *
 * @example
 * ```ts
 * const input: PaymentMethodInput = { provider: 'stripe', reference: 'pm_123', label: 'Visa •••• 4242' }
 * ```
 */
export type PaymentMethodInput = z.input<typeof paymentMethodSchema>
/**
 * Input of `customers.mergeCarts`.
 *
 * @example
 * ```ts
 * const input: MergeCartsInput = { customerId: 'cus_1', guestCartId: 'cart_1' }
 * ```
 */
export type MergeCartsInput = z.input<typeof mergeSchema>
/**
 * Input of `customers.list`: `email` matches exactly (in any case), `query` finds text in the email
 * or the full name.
 *
 * @example
 * ```ts
 * const input: ListCustomersInput = { groupCode: 'wholesale', limit: 50 }
 * const search: ListCustomersInput = { query: 'lovelace' }
 * ```
 */
export type ListCustomersInput = z.input<typeof listSchema>

/**
 * Parses a method's input, or throws a `VALIDATION` error naming every failing field
 * (`details.fields`), before anything is read or written.
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown, subject: string, prefix?: string): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw validationError(
    subject,
    result.error.issues.map((issue) => ({ path: [...(prefix ? [prefix] : []), ...issue.path.map(String)].join('.') || (prefix ?? ''), message: issue.message })),
  )
}

/**
 * The plugin's events. Payloads carry ids only, never an email, a name or a token: the outbox
 * keeps nothing personal of a customer, and a mail that is due is sent by a subscriber that mints
 * its token then (`accounts.mintVerificationToken`).
 *
 * @example
 * ```ts
 * import type { DurableSubscriber, EventsOf } from '@cartwright/core'
 *
 * const mailer: DurableSubscriber<EventsOf<typeof customerEvents>> = {
 *   id: 'verification-mail',
 *   events: ['customers.verification_requested'],
 *   async handle(event) {
 *     if (event.type === 'customers.verification_requested') console.log('mail due for', event.payload.customerId)
 *   },
 * }
 * ```
 */
export const customerEvents = {
  'customers.created': z.strictObject({ customerId: z.string(), registered: z.boolean() }),
  'customers.updated': z.strictObject({ customerId: z.string() }),
  /** A verification mail is due: mint its token with `accounts.mintVerificationToken` where it is sent. */
  'customers.verification_requested': z.strictObject({ customerId: z.string() }),
  /**
   * Someone asked over `accounts.registerOrNotify` (the Store API's register) to register an email
   * that already has an account, or a registration waiting for its verification: nothing was
   * created or changed. A mail to the email's owner is due ("someone tried to register with your
   * email: sign in, or reset your password").
   */
  'customers.registration_attempted': z.strictObject({ customerId: z.string() }),
  'customers.email_verified': z.strictObject({ customerId: z.string() }),
  /**
   * A password-reset mail is due: mint its token with `accounts.mintResetToken` where it is sent.
   * Also when a registration named the email of a profile staff made (the customer's `hasAccount`
   * is false): the mail then invites the email's owner to set a password, and its link does so.
   */
  'customers.password_reset_requested': z.strictObject({ customerId: z.string() }),
  'customers.password_changed': z.strictObject({ customerId: z.string() }),
  'customers.logged_in': z.strictObject({ customerId: z.string(), sessionId: z.string() }),
  'customers.locked_out': z.strictObject({ customerId: z.string(), until: z.string() }),
  'customers.note_added': z.strictObject({ customerId: z.string(), noteId: z.string() }),
  'customers.consent_changed': z.strictObject({ customerId: z.string(), granted: z.boolean(), source: z.enum(CONSENT_SOURCES) }),
  'customers.carts_merged': z.strictObject({ customerId: z.string(), cartId: z.string(), guestCartId: z.string() }),
  'customers.erased': z.strictObject({ customerId: z.string() }),
}
