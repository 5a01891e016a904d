import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2'
import { sql, type Kysely } from 'kysely'
import type { z } from 'zod'
import {
  CommerceError,
  definePlugin,
  isCommerceError,
  notFound,
  validationError,
  type Address,
  type Cart,
  type ColumnTypes,
  type Commerce,
  type EventsOf,
  type Page,
  type PluginContext,
  type PluginTx,
} from '@cartwright/core'
import {
  addAddressSchema,
  changePasswordSchema,
  consentSchema,
  createCustomerSchema,
  createGroupSchema,
  customerEvents,
  idSchema,
  listSchema,
  loginSchema,
  mergeSchema,
  noteSchema,
  parse,
  paymentMethodSchema,
  registerSchema,
  requestResetSchema,
  resetSchema,
  tagSchema,
  tokenInputSchema,
  updateAddressSchema,
  updateCustomerSchema,
  type AddAddressInput,
  type AddNoteInput,
  type ConsentInput,
  type CreateCustomerInput,
  type CreateGroupInput,
  type ListCustomersInput,
  type LoginInput,
  type MergeCartsInput,
  type PaymentMethodInput,
  type RegisterInput,
  type UpdateAddressInput,
  type UpdateCustomerInput,
} from './schemas.js'
import { customerEndpoints } from './endpoints.js'

/**
 * The plugin's tables (prefix `customers_`). `customers_groups` and `customers_group_members` are
 * read by other plugins (`@cartwright/b2b` prices by group): their names and columns are stable.
 *
 * @example
 * ```ts
 * import type { Kysely } from 'kysely'
 *
 * declare const db: Kysely<CustomerTables>
 * const wholesale = await db.selectFrom('customers_group_members as m').innerJoin('customers_groups as g', 'g.id', 'm.group_id').select('m.customer_id').where('g.code', '=', 'wholesale').execute()
 * ```
 */
export interface CustomerTables {
  customers_customers: {
    id: string
    email: string
    /** The email in lower case: unique. */
    email_key: string
    first_name: string | null
    last_name: string | null
    phone: string | null
    locale: string | null
    metadata: string
    /**
     * argon2id (PHC string) of the password in force; null for a customer made by staff without an
     * account, and for a registration whose email is not verified yet.
     */
    password_hash: string | null
    /**
     * The password a registration over `accounts.registerOrNotify` chose: it becomes `password_hash`
     * only when a verification token is used (whoever opens that mail owns the email). Until then a
     * login with it fails like a wrong password, so the register form tells no one which emails are new.
     */
    pending_password_hash: string | null
    email_verified_at: string | Date | null
    default_shipping_address_id: string | null
    default_billing_address_id: string | null
    erased_at: string | Date | null
    created_at: string | Date
    updated_at: string | Date
  }
  customers_addresses: { id: string; customer_id: string; label: string | null; address: string; created_at: string | Date }
  customers_groups: { id: string; code: string; name: string }
  customers_group_members: { group_id: string; customer_id: string }
  customers_tags: { customer_id: string; tag: string }
  customers_notes: { id: string; customer_id: string; author: string; body: string; created_at: string | Date }
  customers_consents: { id: string; customer_id: string; granted: number; source: string; at: string | Date }
  customers_payment_methods: { id: string; customer_id: string; provider: string; reference: string; label: string; created_at: string | Date }
  customers_timeline: { id: string; customer_id: string; kind: string; ref_id: string | null; summary: string; at: string | Date }
  /** Verification and reset tokens, by the SHA-256 of the token: the token itself is never stored. */
  customers_tokens: { token_hash: string; customer_id: string; purpose: string; expires_at: string | Date; used_at: string | Date | null; created_at: string | Date }
  /** Guest carts merged into a customer's: one merge per cart and version (two logins at once copy its lines once). */
  customers_merges: { guest_cart_id: string; guest_version: number; customer_id: string; at: string | Date }
  /** Sessions, by the SHA-256 of their token. */
  customers_sessions: {
    token_hash: string
    id: string
    customer_id: string
    created_at: string | Date
    expires_at: string | Date
    revoked_at: string | Date | null
  }
  /**
   * Failed logins in a row, per account (`account:<customer id>`) and per client (`client:<client id>`);
   * `last_attempt` names the attempt counted last (so a caller knows whether its own was counted).
   */
  customers_attempts: { key: string; failures: number; locked_until: string | Date | null; updated_at: string | Date; last_attempt: string | null }
}

/**
 * The plugin's own error codes. `INVALID_CREDENTIALS` answers every failed login alike (unknown
 * email, wrong password, locked account or client); `TOKEN_INVALID` every token that cannot be
 * used (unknown, used, voided, expired); `SESSION_INVALID` a session token that opens nothing;
 * `EMAIL_TAKEN` an email another customer has.
 *
 * @example
 * ```ts
 * import { isCommerceError } from '@cartwright/core'
 *
 * declare const shop: CommerceWithCustomers
 * try {
 *   await shop.customers.accounts.login({ email: 'ada@example.com', password: 'guess', clientId: '203.0.113.7' })
 * } catch (error) {
 *   if (isCommerceError<CustomerErrorCode>(error, 'INVALID_CREDENTIALS')) console.log('wrong email or password')
 *   else throw error
 * }
 * ```
 */
export type CustomerErrorCode = 'INVALID_CREDENTIALS' | 'TOKEN_INVALID' | 'SESSION_INVALID' | 'EMAIL_TAKEN'

const errorCodes = {
  INVALID_CREDENTIALS: { description: 'The email or the password is wrong (or too many attempts failed): one answer for all' },
  TOKEN_INVALID: { description: 'The verification or reset token is unknown, used, replaced by a newer one, or expired' },
  SESSION_INVALID: { description: 'The session token is unknown, revoked or expired' },
  EMAIL_TAKEN: { description: 'Another customer has this email' },
} as const

/**
 * Options of {@link customers}.
 *
 * @example
 * ```ts
 * const options: CustomersOptions = { hashing: { memoryCost: 1024, timeCost: 1 } } // fast, for tests only
 * ```
 */
export interface CustomersOptions {
  /** argon2id parameters; the defaults are the library's recommended ones (19 MiB, 2 passes, 1 lane). Lower them in tests only. */
  hashing?: { memoryCost?: number; timeCost?: number; parallelism?: number }
  /** How long a verification token is good for, in ms (default 24 h). */
  verificationTtlMs?: number
  /** How long a reset token is good for, in ms (default 1 h). */
  resetTtlMs?: number
  /** How long a session lasts, in ms (default 30 days). */
  sessionTtlMs?: number
  /** Wrong passwords in a row that lock an account (default 20). */
  maxAccountFailures?: number
  /** Failed logins in a row that lock a client (default 100: a client may try several accounts). */
  maxClientFailures?: number
  /** How long a lock lasts, in ms (default 15 min); a count with no failure for as long starts again. */
  lockoutMs?: number
}

/**
 * A customer as staff and the customer see it: never a password hash.
 *
 * @example
 * ```ts
 * const greeting = (c: Customer) => `Hello ${c.firstName ?? c.email}`
 * ```
 */
export interface Customer {
  id: string
  email: string
  emailVerified: boolean
  firstName: string | null
  lastName: string | null
  phone: string | null
  locale: string | null
  metadata: Record<string, string>
  /** A password is in force: false for a profile staff made, and for a registration whose email is not verified yet. */
  hasAccount: boolean
  defaultShippingAddressId: string | null
  defaultBillingAddressId: string | null
  groups: string[]
  tags: string[]
  marketingConsent: { granted: boolean; source: string; at: string } | null
  createdAt: string
  updatedAt: string
}

/**
 * A saved address.
 *
 * @example
 * ```ts
 * const line = (a: SavedAddress) => `${a.address.line1}, ${a.address.city}`
 * ```
 */
export interface SavedAddress {
  id: string
  customerId: string
  label: string | null
  address: Address
  defaultShipping: boolean
  defaultBilling: boolean
  createdAt: string
}

/**
 * A customer group.
 *
 * @example
 * ```ts
 * const isWholesale = (g: CustomerGroup) => g.code === 'wholesale'
 * ```
 */
export interface CustomerGroup {
  id: string
  code: string
  name: string
}

/**
 * A staff note.
 *
 * @example
 * ```ts
 * const byline = (n: CustomerNote) => `${n.author}: ${n.body}`
 * ```
 */
export interface CustomerNote {
  id: string
  customerId: string
  author: string
  body: string
  createdAt: string
}

/**
 * A payment method the provider keeps, by its reference.
 *
 * @example
 * ```ts
 * const shown = (m: SavedPaymentMethod) => m.label
 * ```
 */
export interface SavedPaymentMethod {
  id: string
  customerId: string
  provider: string
  reference: string
  label: string
  createdAt: string
}

/**
 * An entry of a customer's timeline.
 *
 * @example
 * ```ts
 * const line = (e: TimelineEntry) => `${e.at} ${e.kind}: ${e.summary}`
 * ```
 */
export interface TimelineEntry {
  id: string
  kind: 'registered' | 'created' | 'order_placed' | 'orders_attached' | 'note' | 'email_sent' | 'consent' | 'email_verified' | 'password_changed' | 'privacy_export' | 'privacy_erase' | 'carts_merged'
  refId: string | null
  summary: string
  at: string
}

/**
 * A session as its owner lists it: never its token or the token's hash.
 *
 * @example
 * ```ts
 * const open = (s: SessionInfo) => s.revokedAt === null
 * ```
 */
export interface SessionInfo {
  id: string
  customerId: string
  createdAt: string
  expiresAt: string
  revokedAt: string | null
}

/**
 * What the cart merge did to one variant: the quantity wanted (the customer's line plus the
 * guest's), the quantity the merged line holds, and why it holds less.
 *
 * @example
 * ```ts
 * const message = (c: MergeCap) => `Only ${c.quantity} of ${c.variantId} could be kept (${c.reason})`
 * ```
 */
export interface MergeCap {
  variantId: string
  requested: number
  quantity: number
  reason: 'stock' | 'line_limit' | 'unavailable'
}

/**
 * The result of a cart merge.
 *
 * @example
 * ```ts
 * const notice = (m: MergeResult) => m.caps.length ? 'Some quantities were lowered' : ''
 * ```
 */
export interface MergeResult {
  cart: Cart
  caps: MergeCap[]
}

/**
 * What `accounts.registerOrNotify` did, for the shop's own code (the Store API answers the same
 * whatever it is):
 * - `created`: a new account, its password in force once the email is verified; a verification
 *   mail is due (`customers.verification_requested`);
 * - `profile`: a customer staff made without an account has the email: nothing was created or
 *   set, and a mail is due that lets the email's owner set a password of their own
 *   (`customers.password_reset_requested`);
 * - `taken`: an account (or a registration waiting for its verification) has the email: nothing
 *   was created or changed, and a mail to its owner is due (`customers.registration_attempted`).
 *
 * @example
 * ```ts
 * const note = (r: RegistrationOutcome) => (r.outcome === 'created' ? `verify ${r.customer.email}` : `${r.customer.id} is mailed`)
 * ```
 */
export interface RegistrationOutcome {
  outcome: 'created' | 'profile' | 'taken'
  /** The new account, the profile staff made (`profile`), or the account that has the email (`taken`). */
  customer: Customer
}

/**
 * The result of a login: the session token (shown once: keep it in a cookie) and the customer.
 *
 * @example
 * ```ts
 * const cookie = (l: LoginResult) => l.sessionToken
 * ```
 */
export interface LoginResult {
  sessionToken: string
  session: SessionInfo
  customer: Customer
  /** The merge of the guest cart passed to `login`, when one was. */
  merge: MergeResult | null
}

type Events = EventsOf<typeof customerEvents>
type Ctx = PluginContext<CustomerTables, Events, CustomerErrorCode>
type Tx = PluginTx<CustomerTables, Events>
type Row = CustomerTables['customers_customers']
type Reader = Ctx['db'] | Tx['db']
/** One login attempt as `take` counted it: refused (not counted) while a lock holds; `lockedBy` is the lock it set. */
interface Taken {
  key: string
  counted: boolean
  lockedBy: string | null
}

/** Longest a cart line may be (core refuses more). */
const LINE_LIMIT = 10_000

const iso = (value: string | Date): string => (value instanceof Date ? value : new Date(value)).toISOString()
const isoOrNull = (value: string | Date | null): string | null => (value === null ? null : iso(value))
const sha256 = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')
const newToken = (): string => randomBytes(32).toString('base64url')
/** Constant-time equality of two hex hashes of equal length. */
const sameHash = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'))

/**
 * An engine composed with this plugin: what a host passes to code that uses `commerce.customers`.
 *
 * @example
 * ```ts
 * async function me(shop: CommerceWithCustomers, sessionToken: string) {
 *   return shop.customers.accounts.authenticate(sessionToken)
 * }
 * ```
 */
export type CommerceWithCustomers = Commerce<[ReturnType<typeof customers>]>

/**
 * Customers and accounts as a plugin: profiles with an address book, groups, tags, staff notes,
 * marketing consent, saved payment-method references and a timeline; accounts with argon2id
 * passwords, email verification and password reset by single-use expiring tokens stored only as
 * SHA-256 hashes, sessions, and login attempts limited per account and per client; guest orders
 * attached when an email is verified; a guest cart merged into the customer's at login. Adds
 * `commerce.customers` ({@link CustomersService}), its events and its share of privacy export and
 * erase.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const shop = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), plugins: [customers()] })
 * const ada = await shop.customers.accounts.register({ email: 'ada@example.com', password: 'correct horse battery' })
 * const token = await shop.customers.accounts.mintVerificationToken(ada.id) // in the mailer
 * await shop.customers.accounts.verifyEmail({ token })
 * const { sessionToken } = await shop.customers.accounts.login({ email: 'ada@example.com', password: 'correct horse battery', clientId: '203.0.113.7' })
 * ```
 */
export function customers(options: CustomersOptions = {}) {
  const hashing = { algorithm: 2 /* Argon2id */, memoryCost: options.hashing?.memoryCost ?? 19_456, timeCost: options.hashing?.timeCost ?? 2, parallelism: options.hashing?.parallelism ?? 1 }
  const verificationTtl = options.verificationTtlMs ?? 24 * 3600_000
  const resetTtl = options.resetTtlMs ?? 3600_000
  const sessionTtl = options.sessionTtlMs ?? 30 * 24 * 3600_000
  const maxAccountFailures = options.maxAccountFailures ?? 20
  const maxClientFailures = options.maxClientFailures ?? 100
  const lockoutMs = options.lockoutMs ?? 15 * 60_000
  let context: Ctx | null = null

  return definePlugin({
    id: 'customers',
    events: customerEvents,
    errorCodes,
    endpoints: customerEndpoints,
    // A bad, expired or revoked token (or one that is not text) is nobody: the HTTP layer answers 401.
    async resolveActor({ sessionToken }: { sessionToken: string }, commerce: { customers: CustomersService }) {
      try {
        const customer = await commerce.customers.accounts.authenticate(sessionToken)
        return { kind: 'customer' as const, customerId: customer.id }
      } catch (error) {
        if (isCommerceError<string>(error) && (error.code === 'VALIDATION' || error.code === 'SESSION_INVALID' || error.code === 'NOT_FOUND')) return null
        throw error
      }
    },
    migrations: { '0001_customers': { up: migrate }, '0002_claims': { up: migrateClaims }, '0003_no_claims': { up: voidClaims } },
    subscribers: [
      {
        // The timeline learns of an order from the outbox: at least once, so the entry is keyed by the order.
        id: 'customers-timeline-orders',
        events: ['order.placed'],
        async handle(event) {
          if (event.type !== 'order.placed' || !context) return
          const { order } = event.payload as { order: { id: string; number: number; customerId: string | null; totals: { total: number }; currency: string } }
          if (!order.customerId) return
          const ctx = context
          await ctx.transaction(async (tx) => {
            // An erased customer's timeline gets nothing new (the event may have waited in the outbox).
            const exists = await tx.db.selectFrom('customers_customers').select('id').where('id', '=', order.customerId!).where('erased_at', 'is', null).executeTakeFirst()
            if (exists) await addTimeline(ctx, tx, order.customerId!, 'order_placed', order.id, `Order ${order.number} placed (${order.totals.total} ${order.currency} minor units)`)
          })
        },
      },
    ],
    init(ctx: Ctx): CustomersService {
      context = ctx
      let dummyHash: Promise<string> | null = null
      const hashPassword = (password: string) => argonHash(password, hashing)
      /** A hash to verify against when the email is unknown: the same work as a wrong password. */
      const dummy = () => (dummyHash ??= argonHash(newToken(), hashing))
      const invalidCredentials = () => ctx.error('INVALID_CREDENTIALS', 'The email or the password is wrong')
      const tokenInvalid = () => ctx.error('TOKEN_INVALID', 'This link is invalid or has expired')

      const rowById = async (db: Reader, id: string): Promise<Row> => {
        const row = await db.selectFrom('customers_customers').selectAll().where('id', '=', id).where('erased_at', 'is', null).executeTakeFirst()
        if (!row) throw notFound('Customer', id)
        return row
      }
      const load = async (db: Reader, row: Row): Promise<Customer> => toCustomer(db, row)
      const get = async (id: string): Promise<Customer> => load(ctx.db, await rowById(ctx.db, id))
      const emailFree = async (db: Reader, emailKey: string, except: string | null) => {
        const other = await db.selectFrom('customers_customers').select('id').where('email_key', '=', emailKey).executeTakeFirst()
        if (other && other.id !== except) throw ctx.error('EMAIL_TAKEN', 'Another customer has this email', { details: { fields: ['email'] } })
      }

      /** Runs a write that inserts a customer: two at once with one email end as `EMAIL_TAKEN` for the loser, not a storage error. */
      const inserting = async <T>(emailKey: string, work: () => Promise<T>): Promise<T> => {
        try {
          return await work()
        } catch (error) {
          if (isCommerceError(error) && error.code !== 'STORAGE') throw error
          await emailFree(ctx.db, emailKey, null)
          throw error
        }
      }

      /**
       * Inserts a customer: made by staff (`password` null), or registered with a password in force
       * at once (`register`) or waiting for the email's verification (`registerOrNotify`).
       */
      const insertCustomer = async (
        tx: Tx,
        data: { email: string; firstName?: string | null; lastName?: string | null; phone?: string | null; locale?: string | null; metadata?: Record<string, string> },
        password: { hash: string; pending: boolean } | null,
      ): Promise<Row> => {
        const emailKey = data.email.toLowerCase()
        await emailFree(tx.db, emailKey, null)
        const now = ctx.now().toISOString()
        const row: Row = {
          id: ctx.newId('cus'),
          email: data.email,
          email_key: emailKey,
          first_name: data.firstName ?? null,
          last_name: data.lastName ?? null,
          phone: data.phone ?? null,
          locale: data.locale ?? null,
          metadata: JSON.stringify(data.metadata ?? {}),
          password_hash: password && !password.pending ? password.hash : null,
          pending_password_hash: password?.pending ? password.hash : null,
          email_verified_at: null,
          default_shipping_address_id: null,
          default_billing_address_id: null,
          erased_at: null,
          created_at: now,
          updated_at: now,
        }
        await tx.db.insertInto('customers_customers').values(row).execute()
        tx.emit('customers.created', { customerId: row.id, registered: password !== null })
        const summary = password === null ? 'Created by staff' : password.pending ? 'Registered an account (the password is in force once the email is verified)' : 'Registered an account'
        await addTimeline(ctx, tx, row.id, password === null ? 'created' : 'registered', null, summary)
        return row
      }

      /** A profile staff made: no password in force, and none of a registration waiting for verification. */
      const staffMade = (r: Row | undefined): r is Row => r !== undefined && r.password_hash === null && r.pending_password_hash === null && r.erased_at === null

      /**
       * Registers in `tx`: inserts a customer (`EMAIL_TAKEN` when another has the email), a
       * verification mail due; its password is in force at once, or (`pending`) only once the
       * email is verified. The email of a profile staff made gets nothing from a registration: whoever
       * typed it may not be its owner, and a verification mail the owner never asked for would hand
       * them the typed password. The profile stays as it is, and its owner is mailed a link to set
       * a password of their own (the reset mail).
       */
      const registerIn = async (tx: Tx, data: z.output<typeof registerSchema>, passwordHash: string, pending: boolean): Promise<{ outcome: 'created' | 'profile'; row: Row }> => {
        const existing = await tx.db.selectFrom('customers_customers').selectAll().where('email_key', '=', data.email.toLowerCase()).executeTakeFirst()
        if (staffMade(existing)) {
          tx.emit('customers.password_reset_requested', { customerId: existing.id })
          return { outcome: 'profile', row: existing }
        }
        const { password: _password, ...profile } = data
        const created = await insertCustomer(tx, profile, { hash: passwordHash, pending })
        tx.emit('customers.verification_requested', { customerId: created.id })
        return { outcome: 'created', row: created }
      }

      /**
       * Takes one attempt of `key`, before the password is verified, in one atomic statement (an
       * upsert: concurrent attempts on several processes never lose a count nor clear a lock):
       * - while a lock holds, the attempt is refused and neither counted nor extends the lock;
       * - a lock that ran out, or a count with no failure for `lockoutMs`, starts again at 1;
       * - otherwise the count goes up by one, and the attempt that reaches `max` locks the key.
       * The attempt is counted as a failure until `release` says it was not one.
       */
      const take = async (tx: Tx, key: string, max: number): Promise<Taken> => {
        const now = ctx.now()
        const at = now.toISOString()
        const quietSince = new Date(now.getTime() - lockoutMs).toISOString()
        const until = new Date(now.getTime() + lockoutMs).toISOString()
        const held = sql<boolean>`(customers_attempts.locked_until is not null and customers_attempts.locked_until > ${at})`
        const fresh = sql<boolean>`((customers_attempts.locked_until is not null and customers_attempts.locked_until <= ${at}) or (customers_attempts.locked_until is null and customers_attempts.updated_at <= ${quietSince}))`
        const next = sql<number>`(case when ${fresh} then 1 else customers_attempts.failures + 1 end)`
        const attempt = ctx.newId('catt')
        const row = await tx.db
          .insertInto('customers_attempts')
          .values({ key, failures: 1, locked_until: max <= 1 ? until : null, updated_at: at, last_attempt: attempt })
          .onConflict((oc) =>
            oc.column('key').doUpdateSet({
              failures: sql<number>`case when ${held} then customers_attempts.failures else ${next} end`,
              locked_until: sql<string>`case when ${held} then customers_attempts.locked_until when ${next} >= ${max} then ${until} else null end`,
              updated_at: sql<string>`case when ${held} then customers_attempts.updated_at else ${at} end`,
              last_attempt: sql<string>`case when ${held} then customers_attempts.last_attempt else ${attempt} end`,
            }),
          )
          .returning(['locked_until', 'last_attempt'])
          .executeTakeFirstOrThrow()
        // Refused: the row was left as it was (a lock held). Counted: the row names this attempt.
        const counted = row.last_attempt === attempt
        return { key, counted, lockedBy: counted && isoOrNull(row.locked_until) === until ? until : null }
      }
      /**
       * Gives back an attempt `take` counted, once the password proved right. An account starts its
       * count again (unless a concurrent failure locked it meanwhile: a lock is never lifted by
       * another writer); a client only loses this attempt (its count of failures goes on, and decays
       * after `lockoutMs` without one), and a lock this very attempt set is lifted.
       */
      const release = async (tx: Tx, taken: Taken, kind: 'account' | 'client') => {
        if (!taken.counted) return
        if (kind === 'account') {
          await tx.db
            .deleteFrom('customers_attempts')
            .where('key', '=', taken.key)
            .where((eb) => eb.or([eb('locked_until', 'is', null), ...(taken.lockedBy ? [eb('locked_until', '=', taken.lockedBy)] : [])]))
            .execute()
          return
        }
        await tx.db
          .updateTable('customers_attempts')
          .set({
            failures: sql<number>`case when failures > 0 then failures - 1 else 0 end`,
            ...(taken.lockedBy ? { locked_until: sql<string>`case when locked_until = ${taken.lockedBy} then null else locked_until end` } : {}),
          })
          .where('key', '=', taken.key)
          .execute()
        // A client left with no failure and no lock holds nothing worth keeping.
        await tx.db.deleteFrom('customers_attempts').where('key', '=', taken.key).where('failures', '<=', 0).where('locked_until', 'is', null).execute()
      }

      const mint = async (customerId: string, purpose: 'verify' | 'reset', ttl: number): Promise<string> => {
        const id = parse(idSchema, customerId, 'customer id', 'customerId')
        const token = newToken()
        await ctx.transaction(async (tx) => {
          await rowById(tx.db, id)
          // A new mail voids every earlier token of its kind: only the last link works.
          await tx.db.deleteFrom('customers_tokens').where('customer_id', '=', id).where('purpose', '=', purpose).execute()
          const now = ctx.now()
          await tx.db
            .insertInto('customers_tokens')
            .values({ token_hash: sha256(token), customer_id: id, purpose, expires_at: new Date(now.getTime() + ttl).toISOString(), used_at: null, created_at: now.toISOString() })
            .execute()
          await addTimeline(ctx, tx, id, 'email_sent', null, purpose === 'verify' ? 'Verification email sent' : 'Password reset email sent')
        })
        return token
      }

      /** Uses a token once, in `tx`: the conditional update lets only one of two concurrent uses through. */
      const consume = async (tx: Tx, token: string, purpose: 'verify' | 'reset'): Promise<string> => {
        const digest = sha256(token)
        const row = await tx.db.selectFrom('customers_tokens').selectAll().where('token_hash', '=', digest).executeTakeFirst()
        if (!row || !sameHash(row.token_hash, digest) || row.purpose !== purpose) throw tokenInvalid()
        if (row.used_at !== null) throw tokenInvalid()
        const now = ctx.now()
        if (new Date(row.expires_at).getTime() <= now.getTime()) throw tokenInvalid()
        const used = await tx.db.updateTable('customers_tokens').set({ used_at: now.toISOString() }).where('token_hash', '=', digest).where('used_at', 'is', null).executeTakeFirst()
        if (Number(used.numUpdatedRows) !== 1) throw tokenInvalid()
        return row.customer_id
      }

      const openSession = async (tx: Tx, customerId: string): Promise<{ token: string; session: SessionInfo }> => {
        const token = newToken()
        const now = ctx.now()
        const row = { token_hash: sha256(token), id: ctx.newId('ses'), customer_id: customerId, created_at: now.toISOString(), expires_at: new Date(now.getTime() + sessionTtl).toISOString(), revoked_at: null }
        await tx.db.insertInto('customers_sessions').values(row).execute()
        tx.emit('customers.logged_in', { customerId, sessionId: row.id })
        return { token, session: toSession(row) }
      }

      /** The guest cart, if it can be merged into the customer's: open, and nobody else's. */
      const mergeable = async (guestCartId: string, customerId: string): Promise<Cart> => {
        const guest = await ctx.commerce.carts.get(guestCartId)
        if (guest.status !== 'open') throw new CommerceError('INVALID_STATE', `Cart ${guest.id} is ${guest.status} and cannot be merged`, { details: { fields: ['guestCartId'] } })
        if (guest.customerId !== null && guest.customerId !== customerId) {
          throw new CommerceError('INVALID_STATE', `Cart ${guest.id} belongs to another customer`, { details: { fields: ['guestCartId'] } })
        }
        return guest
      }

      const mergeCarts = async (input: MergeCartsInput): Promise<MergeResult> => {
        const data = parse(mergeSchema, input, 'cart merge')
        const customer = await get(data.customerId)
        const carts = ctx.commerce.carts
        const guest = await mergeable(data.guestCartId, customer.id)
        const own = await carts.openForCustomer(customer.id)
        // No open cart of their own, or the guest cart is already theirs: it becomes theirs as it is.
        if (!own || own.id === guest.id || own.currency !== guest.currency) {
          // (Carts in two currencies are not added up: the guest cart, the latest, becomes the customer's.)
          let cart: Cart
          if (guest.customerId === customer.id) cart = guest.email ? guest : await carts.update(guest.id, { email: customer.email })
          else {
            try {
              // Taken over only while it belongs to no one: of two customers logging in with one
              // guest cart at once, one gets it; the other is refused.
              cart = await carts.update(guest.id, { customerId: customer.id, ifCustomerId: null, ...(guest.email ? {} : { email: customer.email }) })
            } catch (error) {
              if (!isCommerceError(error, 'INVALID_STATE')) throw error
              const now = await carts.get(guest.id)
              // A concurrent login of the same customer took it over: the same outcome.
              if (now.customerId !== customer.id || now.status !== 'open') throw new CommerceError('INVALID_STATE', `Cart ${guest.id} belongs to another customer`, { details: { fields: ['guestCartId'] } })
              cart = now
            }
          }
          await ctx.transaction(async (tx) => {
            tx.emit('customers.carts_merged', { customerId: customer.id, cartId: cart.id, guestCartId: guest.id })
            await addTimeline(ctx, tx, customer.id, 'carts_merged', cart.id, 'Guest cart taken over at login')
          })
          return { cart, caps: [] }
        }
        // The guest cart at the version read is claimed before its lines are copied: of two logins
        // at once with it (two tabs, a retry), one copies; the other finds the merge done.
        const claimed = await ctx.transaction(async (tx) =>
          tx.db
            .insertInto('customers_merges')
            .values({ guest_cart_id: guest.id, guest_version: guest.version, customer_id: customer.id, at: ctx.now().toISOString() })
            .onConflict((oc) => oc.columns(['guest_cart_id', 'guest_version']).doNothing())
            .returning('guest_cart_id')
            .execute(),
        )
        if (claimed.length === 0) return { cart: await carts.get(own.id), caps: [] }
        const caps: MergeCap[] = []
        let cart = own
        // A line that cannot be taken for any reason of its own (stock, a plugin's rule such as a
        // minimum quantity, no longer for sale) is left out and reported; a storage failure is not
        // a reason of the line's: the merge stops, and can be retried.
        const lineRefusal = (error: unknown): error is CommerceError => isCommerceError(error) && error.code !== 'STORAGE'
        const deferred: string[] = []
        const removeGuestLine = (lineId: string, last = false) =>
          carts.removeItem(guest.id, lineId).then(
            () => undefined,
            (error: unknown) => {
              // A line the guest removed meanwhile is gone already.
              if (isCommerceError(error, 'NOT_FOUND')) return
              if (!last && lineRefusal(error)) deferred.push(lineId)
              else if (!lineRefusal(error)) throw error
            },
          )
        try {
          for (const line of guest.lines) {
            const mine = cart.lines.find((l) => l.variantId === line.variantId)
            const requested = (mine?.quantity ?? 0) + line.quantity
            let target = requested
            if (target > LINE_LIMIT) {
              target = LINE_LIMIT
              caps.push({ variantId: line.variantId, requested, quantity: target, reason: 'line_limit' })
            }
            const set = async (quantity: number) => {
              const current = cart.lines.find((l) => l.variantId === line.variantId)
              if (current) return current.quantity === quantity ? cart : carts.updateItem(cart.id, current.id, { quantity })
              return carts.addItem(cart.id, { variantId: line.variantId, quantity })
            }
            try {
              cart = await set(target)
            } catch (error) {
              if (isCommerceError(error, 'OUT_OF_STOCK')) {
                const shortage = (error.details.shortages as Array<{ variantId: string; available: number }> | undefined)?.find((s) => s.variantId === line.variantId)
                const available = Math.max(0, Math.min(target, Number(shortage?.available ?? 0)))
                // Never below what the customer's own line already held.
                const keep = Math.max(available, mine?.quantity ?? 0)
                const capIndex = caps.findIndex((c) => c.variantId === line.variantId)
                if (capIndex >= 0) caps.splice(capIndex, 1)
                let reason: MergeCap['reason'] = 'stock'
                if (keep > (mine?.quantity ?? 0)) {
                  try {
                    cart = await set(keep)
                  } catch (capped) {
                    // The quantity stock allows breaks another rule (a minimum, an increment): the
                    // customer's own line stays as it was.
                    if (!lineRefusal(capped)) throw capped
                    reason = 'unavailable'
                  }
                }
                caps.push({ variantId: line.variantId, requested, quantity: reason === 'stock' ? keep : (mine?.quantity ?? 0), reason })
              } else if (lineRefusal(error)) {
                // No longer for sale, not priced in the cart's currency, or refused by a plugin's
                // rule: left out, and said so.
                caps.push({ variantId: line.variantId, requested, quantity: mine?.quantity ?? 0, reason: 'unavailable' })
              } else {
                throw error
              }
            }
            // The guest line is removed as soon as it is merged (or left out): a merge stopped
            // halfway and retried does not add a line twice.
            await removeGuestLine(line.id)
          }
          // A removal a plugin refused for another line of the guest cart (a line below a minimum
          // set after it was added) is made again once that line is gone.
          for (const lineId of deferred.splice(0)) await removeGuestLine(lineId, true)
        } catch (error) {
          // The merge did not finish: its claim is withdrawn so that a retry merges what is left.
          await ctx.transaction((tx) => tx.db.deleteFrom('customers_merges').where('guest_cart_id', '=', guest.id).where('guest_version', '=', guest.version).execute()).catch(() => undefined)
          throw error
        }
        await ctx.transaction(async (tx) => {
          tx.emit('customers.carts_merged', { customerId: customer.id, cartId: cart.id, guestCartId: guest.id })
          await addTimeline(ctx, tx, customer.id, 'carts_merged', cart.id, `Guest cart merged${caps.length ? `, ${caps.length} line(s) capped` : ''}`)
        })
        return { cart: await carts.get(cart.id), caps }
      }

      ctx.privacy({
        async export({ email, customerId }, db) {
          const rows = await subjectRows(db, email, customerId)
          if (rows.length === 0) return undefined
          const out = []
          for (const row of rows) {
            out.push({
              profile: await toCustomer(db, row),
              addresses: (await db.selectFrom('customers_addresses').selectAll().where('customer_id', '=', row.id).orderBy('created_at').orderBy('id').execute()).map((a) => toAddress(a, row)),
              notes: (await db.selectFrom('customers_notes').selectAll().where('customer_id', '=', row.id).orderBy('created_at').orderBy('id').execute()).map(toNote),
              consents: (await db.selectFrom('customers_consents').selectAll().where('customer_id', '=', row.id).orderBy('at').orderBy('id').execute()).map((c) => ({ granted: Number(c.granted) === 1, source: c.source, at: iso(c.at) })),
              paymentMethods: (await db.selectFrom('customers_payment_methods').selectAll().where('customer_id', '=', row.id).orderBy('created_at').execute()).map(toPaymentMethod),
              sessions: (await db.selectFrom('customers_sessions').selectAll().where('customer_id', '=', row.id).orderBy('created_at').execute()).map(toSession),
              timeline: (await db.selectFrom('customers_timeline').selectAll().where('customer_id', '=', row.id).orderBy('at').orderBy('id').execute()).map(toTimeline),
            })
          }
          // Recorded on the timeline after the read, so the export shows what was held when asked.
          await ctx.transaction(async (tx) => {
            for (const row of rows) await addTimeline(ctx, tx, row.id, 'privacy_export', null, 'Personal data exported')
          })
          return { customers: out }
        },
        async erase({ email, customerId }, tx) {
          const rows = await subjectRows(tx.db, email, customerId)
          const now = ctx.now().toISOString()
          for (const row of rows) {
            const id = row.id
            for (const table of ['customers_addresses', 'customers_notes', 'customers_consents', 'customers_payment_methods', 'customers_tokens', 'customers_sessions', 'customers_tags', 'customers_group_members', 'customers_timeline', 'customers_merges'] as const) {
              await tx.db.deleteFrom(table).where('customer_id', '=', id).execute()
            }
            await tx.db.deleteFrom('customers_attempts').where('key', '=', `account:${id}`).execute()
            // The row stays, without anything personal, so the id others keep still means "erased".
            await tx.db
              .updateTable('customers_customers')
              .set({
                email: `erased-${id}@erased.invalid`,
                email_key: `erased-${id}@erased.invalid`,
                first_name: null,
                last_name: null,
                phone: null,
                locale: null,
                metadata: '{}',
                password_hash: null,
                pending_password_hash: null,
                default_shipping_address_id: null,
                default_billing_address_id: null,
                erased_at: now,
                updated_at: now,
              })
              .where('id', '=', id)
              .execute()
            await addTimeline(ctx, tx, id, 'privacy_erase', null, 'Personal data erased')
            tx.emit('customers.erased', { customerId: id })
          }
        },
      })

      const addresses: CustomersService['addresses'] = {
        async add(customerId, input) {
          const id = parse(idSchema, customerId, 'customer id', 'customerId')
          const data = parse(addAddressSchema, input, 'address')
          return ctx.transaction(async (tx) => {
            const owner = await rowById(tx.db, id)
            const row = { id: ctx.newId('addr'), customer_id: id, label: data.label ?? null, address: JSON.stringify(data.address), created_at: ctx.now().toISOString() }
            await tx.db.insertInto('customers_addresses').values(row).execute()
            const first = (await tx.db.selectFrom('customers_addresses').select('id').where('customer_id', '=', id).execute()).length === 1
            const defaults = {
              default_shipping_address_id: data.defaultShipping || (first && owner.default_shipping_address_id === null) ? row.id : owner.default_shipping_address_id,
              default_billing_address_id: data.defaultBilling || (first && owner.default_billing_address_id === null) ? row.id : owner.default_billing_address_id,
            }
            await tx.db.updateTable('customers_customers').set({ ...defaults, updated_at: row.created_at }).where('id', '=', id).execute()
            return toAddress(row, { ...owner, ...defaults })
          })
        },
        async update(customerId, addressId, input) {
          const id = parse(idSchema, customerId, 'customer id', 'customerId')
          const aid = parse(idSchema, addressId, 'address id', 'addressId')
          const data = parse(updateAddressSchema, input, 'address')
          return ctx.transaction(async (tx) => {
            const owner = await rowById(tx.db, id)
            const row = await tx.db.selectFrom('customers_addresses').selectAll().where('id', '=', aid).where('customer_id', '=', id).executeTakeFirst()
            if (!row) throw notFound('Address', aid)
            const next = { ...row, ...(data.address ? { address: JSON.stringify(data.address) } : {}), ...(data.label !== undefined ? { label: data.label } : {}) }
            await tx.db.updateTable('customers_addresses').set({ address: next.address, label: next.label }).where('id', '=', aid).execute()
            const defaults = {
              default_shipping_address_id: data.defaultShipping === true ? aid : data.defaultShipping === false && owner.default_shipping_address_id === aid ? null : owner.default_shipping_address_id,
              default_billing_address_id: data.defaultBilling === true ? aid : data.defaultBilling === false && owner.default_billing_address_id === aid ? null : owner.default_billing_address_id,
            }
            await tx.db.updateTable('customers_customers').set({ ...defaults, updated_at: ctx.now().toISOString() }).where('id', '=', id).execute()
            return toAddress(next, { ...owner, ...defaults })
          })
        },
        async remove(customerId, addressId) {
          const id = parse(idSchema, customerId, 'customer id', 'customerId')
          const aid = parse(idSchema, addressId, 'address id', 'addressId')
          await ctx.transaction(async (tx) => {
            const owner = await rowById(tx.db, id)
            const gone = await tx.db.deleteFrom('customers_addresses').where('id', '=', aid).where('customer_id', '=', id).executeTakeFirst()
            if (Number(gone.numDeletedRows) !== 1) throw notFound('Address', aid)
            await tx.db
              .updateTable('customers_customers')
              .set({
                default_shipping_address_id: owner.default_shipping_address_id === aid ? null : owner.default_shipping_address_id,
                default_billing_address_id: owner.default_billing_address_id === aid ? null : owner.default_billing_address_id,
              })
              .where('id', '=', id)
              .execute()
          })
        },
        async list(customerId) {
          const id = parse(idSchema, customerId, 'customer id', 'customerId')
          const owner = await rowById(ctx.db, id)
          const rows = await ctx.db.selectFrom('customers_addresses').selectAll().where('customer_id', '=', id).orderBy('created_at').orderBy('id').execute()
          return rows.map((r) => toAddress(r, owner))
        },
      }

      return {
        async create(input) {
          const data = parse(createCustomerSchema, input, 'customer')
          const row = await inserting(data.email.toLowerCase(), () => ctx.transaction((tx) => insertCustomer(tx, data, null)))
          return load(ctx.db, row)
        },
        async get(customerId) {
          return get(parse(idSchema, customerId, 'customer id', 'customerId'))
        },
        async findByEmail(email) {
          const key = parse(requestResetSchema, { email }, 'customer email').email.toLowerCase()
          const row = await ctx.db.selectFrom('customers_customers').selectAll().where('email_key', '=', key).where('erased_at', 'is', null).executeTakeFirst()
          return row ? load(ctx.db, row) : null
        },
        async update(customerId, input) {
          const id = parse(idSchema, customerId, 'customer id', 'customerId')
          const data = parse(updateCustomerSchema, input, 'customer')
          await ctx.transaction(async (tx) => {
            const row = await rowById(tx.db, id)
            const changes: Partial<Row> = { updated_at: ctx.now().toISOString() }
            if (data.email !== undefined && data.email.toLowerCase() !== row.email_key) {
              await emailFree(tx.db, data.email.toLowerCase(), id)
              // A new address is not verified until its owner proves it, and a link mailed to the old
              // one must not verify the new one (it would hand over the new email's guest orders).
              Object.assign(changes, { email: data.email, email_key: data.email.toLowerCase(), email_verified_at: null })
              await tx.db.deleteFrom('customers_tokens').where('customer_id', '=', id).execute()
            } else if (data.email !== undefined) changes.email = data.email
            if (data.firstName !== undefined) changes.first_name = data.firstName
            if (data.lastName !== undefined) changes.last_name = data.lastName
            if (data.phone !== undefined) changes.phone = data.phone
            if (data.locale !== undefined) changes.locale = data.locale
            if (data.metadata !== undefined) changes.metadata = JSON.stringify(data.metadata)
            await tx.db.updateTable('customers_customers').set(changes).where('id', '=', id).execute()
            tx.emit('customers.updated', { customerId: id })
            if (changes.email_verified_at === null) tx.emit('customers.verification_requested', { customerId: id })
          })
          return get(id)
        },
        async list(input = {}) {
          const data = parse(listSchema, input, 'customer list')
          let q = ctx.db.selectFrom('customers_customers').selectAll().where('erased_at', 'is', null)
          if (data.email) q = q.where('email_key', '=', data.email.toLowerCase())
          if (data.query) {
            // The text is matched as written: % and _ in it are not wildcards.
            const pattern = `%${data.query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
            q = q.where(sql<boolean>`(email_key like ${pattern} escape '\\' or lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) like ${pattern} escape '\\')`)
          }
          if (data.groupCode) {
            const code = data.groupCode
            q = q.where('id', 'in', (eb) => eb.selectFrom('customers_group_members as m').innerJoin('customers_groups as g', 'g.id', 'm.group_id').select('m.customer_id').where('g.code', '=', code))
          }
          if (data.tag) {
            const tag = data.tag
            q = q.where('id', 'in', (eb) => eb.selectFrom('customers_tags').select('customer_id').where('tag', '=', tag))
          }
          if (data.cursor !== undefined) {
            if (!/^cus_[0-9a-z]{1,60}$/.test(data.cursor)) throw validationError('customer list', [{ path: 'cursor', message: 'is not a cursor this list returned' }])
            q = q.where('id', '>', data.cursor)
          }
          const rows = await q.orderBy('id').limit(data.limit + 1).execute()
          const items = rows.slice(0, data.limit)
          return { items: await Promise.all(items.map((r) => load(ctx.db, r))), nextCursor: rows.length > data.limit ? items.at(-1)!.id : null }
        },
        addresses,
        groups: {
          async create(input) {
            const data = parse(createGroupSchema, input, 'customer group')
            return ctx.transaction(async (tx) => {
              const taken = await tx.db.selectFrom('customers_groups').select('id').where('code', '=', data.code).executeTakeFirst()
              if (taken) throw new CommerceError('CONFLICT', `A group with code ${data.code} exists`, { details: { fields: ['code'] } })
              const row = { id: ctx.newId('cgrp'), code: data.code, name: data.name }
              await tx.db.insertInto('customers_groups').values(row).execute()
              return row
            })
          },
          list: () => ctx.db.selectFrom('customers_groups').selectAll().orderBy('code').execute(),
          async addMember(groupCode, customerId) {
            const code = parse(createGroupSchema.shape.code, groupCode, 'group code', 'groupCode')
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            await ctx.transaction(async (tx) => {
              await rowById(tx.db, id)
              const group = await tx.db.selectFrom('customers_groups').select('id').where('code', '=', code).executeTakeFirst()
              if (!group) throw notFound('Customer group', code)
              await tx.db.insertInto('customers_group_members').values({ group_id: group.id, customer_id: id }).onConflict((oc) => oc.columns(['group_id', 'customer_id']).doNothing()).execute()
            })
            return get(id)
          },
          async removeMember(groupCode, customerId) {
            const code = parse(createGroupSchema.shape.code, groupCode, 'group code', 'groupCode')
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            await ctx.transaction(async (tx) => {
              await rowById(tx.db, id)
              const group = await tx.db.selectFrom('customers_groups').select('id').where('code', '=', code).executeTakeFirst()
              if (!group) throw notFound('Customer group', code)
              await tx.db.deleteFrom('customers_group_members').where('group_id', '=', group.id).where('customer_id', '=', id).execute()
            })
            return get(id)
          },
        },
        tags: {
          async add(customerId, tag) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            const t = parse(tagSchema, tag, 'tag', 'tag')
            await ctx.transaction(async (tx) => {
              await rowById(tx.db, id)
              await tx.db.insertInto('customers_tags').values({ customer_id: id, tag: t }).onConflict((oc) => oc.columns(['customer_id', 'tag']).doNothing()).execute()
            })
            return get(id)
          },
          async remove(customerId, tag) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            const t = parse(tagSchema, tag, 'tag', 'tag')
            await ctx.transaction(async (tx) => {
              await rowById(tx.db, id)
              await tx.db.deleteFrom('customers_tags').where('customer_id', '=', id).where('tag', '=', t).execute()
            })
            return get(id)
          },
        },
        notes: {
          async add(customerId, input) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            const data = parse(noteSchema, input, 'note')
            return ctx.transaction(async (tx) => {
              await rowById(tx.db, id)
              const row = { id: ctx.newId('cnote'), customer_id: id, author: data.author, body: data.body, created_at: ctx.now().toISOString() }
              await tx.db.insertInto('customers_notes').values(row).execute()
              // The timeline points at the note; its text stays in the note only.
              await addTimeline(ctx, tx, id, 'note', row.id, `Note by staff`)
              tx.emit('customers.note_added', { customerId: id, noteId: row.id })
              return toNote(row)
            })
          },
          async list(customerId) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            await rowById(ctx.db, id)
            return (await ctx.db.selectFrom('customers_notes').selectAll().where('customer_id', '=', id).orderBy('created_at', 'desc').orderBy('id', 'desc').execute()).map(toNote)
          },
        },
        consent: {
          async set(customerId, input) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            const data = parse(consentSchema, input, 'marketing consent')
            await ctx.transaction(async (tx) => {
              await rowById(tx.db, id)
              await tx.db.insertInto('customers_consents').values({ id: ctx.newId('ccon'), customer_id: id, granted: data.granted ? 1 : 0, source: data.source, at: ctx.now().toISOString() }).execute()
              await addTimeline(ctx, tx, id, 'consent', null, `Marketing consent ${data.granted ? 'given' : 'withdrawn'} (${data.source})`)
              tx.emit('customers.consent_changed', { customerId: id, granted: data.granted, source: data.source })
            })
            return get(id)
          },
          async history(customerId) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            await rowById(ctx.db, id)
            const rows = await ctx.db.selectFrom('customers_consents').selectAll().where('customer_id', '=', id).orderBy('at').orderBy('id').execute()
            return rows.map((c) => ({ granted: Number(c.granted) === 1, source: c.source, at: iso(c.at) }))
          },
        },
        paymentMethods: {
          async add(customerId, input) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            const data = parse(paymentMethodSchema, input, 'payment method')
            return ctx.transaction(async (tx) => {
              await rowById(tx.db, id)
              const row = { id: ctx.newId('cpm'), customer_id: id, provider: data.provider, reference: data.reference, label: data.label, created_at: ctx.now().toISOString() }
              await tx.db.insertInto('customers_payment_methods').values(row).execute()
              return toPaymentMethod(row)
            })
          },
          async list(customerId) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            await rowById(ctx.db, id)
            return (await ctx.db.selectFrom('customers_payment_methods').selectAll().where('customer_id', '=', id).orderBy('created_at').orderBy('id').execute()).map(toPaymentMethod)
          },
          async remove(customerId, paymentMethodId) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            const pm = parse(idSchema, paymentMethodId, 'payment method id', 'paymentMethodId')
            const gone = await ctx.transaction((tx) => tx.db.deleteFrom('customers_payment_methods').where('id', '=', pm).where('customer_id', '=', id).executeTakeFirst())
            if (Number(gone.numDeletedRows) !== 1) throw notFound('Payment method', pm)
          },
        },
        async timeline(customerId) {
          const id = parse(idSchema, customerId, 'customer id', 'customerId')
          await rowById(ctx.db, id)
          return (await ctx.db.selectFrom('customers_timeline').selectAll().where('customer_id', '=', id).orderBy('at').orderBy('id').execute()).map(toTimeline)
        },
        async attachGuestOrders(customerId) {
          const id = parse(idSchema, customerId, 'customer id', 'customerId')
          const row = await rowById(ctx.db, id)
          if (row.email_verified_at === null) throw new CommerceError('INVALID_STATE', `Customer ${id} has not verified their email`, { details: { fields: ['customerId'] } })
          const { orderIds } = await ctx.commerce.orders.assignCustomer({ email: row.email, customerId: id })
          if (orderIds.length) {
            await ctx.transaction(async (tx) => {
              for (const orderId of orderIds) await addTimeline(ctx, tx, id, 'orders_attached', orderId, 'Guest order attached after email verification')
            })
          }
          return orderIds
        },
        mergeCarts,
        accounts: {
          async register(input) {
            const data = parse(registerSchema, input, 'registration')
            const emailKey = data.email.toLowerCase()
            // Refused before the costly hash when an account has the email (checked again in the
            // transaction): this method is for the shop's code and staff, who may know it.
            if (!staffMade(await ctx.db.selectFrom('customers_customers').selectAll().where('email_key', '=', emailKey).executeTakeFirst())) await emailFree(ctx.db, emailKey, null)
            const passwordHash = await hashPassword(data.password)
            const { row } = await inserting(emailKey, () => ctx.transaction((tx) => registerIn(tx, data, passwordHash, false)))
            return load(ctx.db, row)
          },
          async registerOrNotify(input) {
            const data = parse(registerSchema, input, 'registration')
            const emailKey = data.email.toLowerCase()
            // The same work whatever the email: the password is hashed even when an account has it,
            // so the time of the answer does not tell either.
            const passwordHash = await hashPassword(data.password)
            /** Nothing is created: the account's owner is told someone tried (a mail is due; an erased customer has no one to tell). */
            const taken = (tx: Tx, row: Row) => {
              if (row.erased_at === null) tx.emit('customers.registration_attempted', { customerId: row.id })
              return { outcome: 'taken' as const, row }
            }
            let done: { outcome: RegistrationOutcome['outcome']; row: Row }
            try {
              done = await inserting(emailKey, () =>
                ctx.transaction(async (tx) => {
                  const existing = await tx.db.selectFrom('customers_customers').selectAll().where('email_key', '=', emailKey).executeTakeFirst()
                  // A new account's password waits for the email's verification: a login with it
                  // fails like a wrong password until then, as it does for a taken email, so
                  // registering then logging in does not tell either.
                  return existing && !staffMade(existing) ? taken(tx, existing) : registerIn(tx, data, passwordHash, true)
                }),
              )
            } catch (error) {
              // Another registration of the email committed first: its owner is told all the same.
              if (!isCommerceError<string>(error, 'EMAIL_TAKEN')) throw error
              const winner = await ctx.db.selectFrom('customers_customers').selectAll().where('email_key', '=', emailKey).executeTakeFirstOrThrow()
              done = await ctx.transaction(async (tx) => taken(tx, winner))
            }
            // Loaded whatever the outcome: the same work again.
            return { outcome: done.outcome, customer: await load(ctx.db, done.row) }
          },
          async login(input) {
            const data = parse(loginSchema, input, 'login')
            const row = await ctx.db.selectFrom('customers_customers').selectAll().where('email_key', '=', data.email.toLowerCase()).where('erased_at', 'is', null).executeTakeFirst()
            // The attempt is taken before the password is verified, atomically: parallel attempts
            // cannot slip past the limit between a check and a count. A locked client's attempt
            // does not reach the account; a locked key is neither counted nor extended.
            const taken = await ctx.transaction(async (tx) => {
              const client = await take(tx, `client:${data.clientId}`, maxClientFailures)
              const account = client.counted && row ? await take(tx, `account:${row.id}`, maxAccountFailures) : null
              return { client, account }
            })
            const allowed = taken.client.counted && (!row || taken.account?.counted === true)
            // The same work and the same answer whatever the reason: unknown email, lock, wrong password,
            // or a registration's password that waits for the email's verification (verified, then refused).
            const stored = (allowed && (row?.password_hash ?? row?.pending_password_hash)) || (await dummy())
            const match = await argonVerify(stored, data.password).catch(() => false)
            if (!allowed || !row || !row.password_hash || !match) {
              const lockedBy = taken.account?.lockedBy
              if (row && lockedBy) await ctx.transaction(async (tx) => tx.emit('customers.locked_out', { customerId: row.id, until: lockedBy }))
              throw invalidCredentials()
            }
            // A guest cart that cannot be merged is refused before a session is opened.
            let refused: unknown = null
            if (data.guestCartId) await mergeable(data.guestCartId, row.id).catch((error: unknown) => (refused = error))
            const opened = await ctx.transaction(async (tx) => {
              // The right password: the attempts taken were not failures. The client's count of
              // failures is never reset by a success (else logging into one's own account would
              // let a client guess others' passwords without limit).
              await release(tx, taken.account!, 'account')
              await release(tx, taken.client, 'client')
              return refused === null ? openSession(tx, row.id) : null
            })
            if (opened === null) throw refused
            const merge = data.guestCartId ? await mergeCarts({ customerId: row.id, guestCartId: data.guestCartId }) : null
            return { sessionToken: opened.token, session: opened.session, customer: await load(ctx.db, row), merge }
          },
          async authenticate(sessionToken) {
            const token = parse(tokenInputSchema, { token: sessionToken }, 'session').token
            const digest = sha256(token)
            const row = await ctx.db.selectFrom('customers_sessions').selectAll().where('token_hash', '=', digest).executeTakeFirst()
            if (!row || !sameHash(row.token_hash, digest) || row.revoked_at !== null || new Date(row.expires_at).getTime() <= ctx.now().getTime()) {
              throw ctx.error('SESSION_INVALID', 'The session has ended: log in again')
            }
            return get(row.customer_id)
          },
          async logout(sessionToken) {
            const token = parse(tokenInputSchema, { token: sessionToken }, 'session').token
            await ctx.transaction((tx) => tx.db.updateTable('customers_sessions').set({ revoked_at: ctx.now().toISOString() }).where('token_hash', '=', sha256(token)).where('revoked_at', 'is', null).execute())
          },
          async listSessions(customerId) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            await rowById(ctx.db, id)
            const rows = await ctx.db.selectFrom('customers_sessions').selectAll().where('customer_id', '=', id).orderBy('created_at', 'desc').orderBy('id', 'desc').execute()
            return rows.map(toSession)
          },
          async revokeSession(customerId, sessionId) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            const sid = parse(idSchema, sessionId, 'session id', 'sessionId')
            await ctx.transaction(async (tx) => {
              const row = await tx.db.selectFrom('customers_sessions').select('id').where('id', '=', sid).where('customer_id', '=', id).executeTakeFirst()
              if (!row) throw notFound('Session', sid)
              await tx.db.updateTable('customers_sessions').set({ revoked_at: ctx.now().toISOString() }).where('id', '=', sid).where('revoked_at', 'is', null).execute()
            })
          },
          async requestVerification(customerId) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            await ctx.transaction(async (tx) => {
              await rowById(tx.db, id)
              tx.emit('customers.verification_requested', { customerId: id })
            })
          },
          mintVerificationToken: (customerId) => mint(customerId, 'verify', verificationTtl),
          async verifyEmail(input) {
            const data = parse(tokenInputSchema, input, 'verification')
            const id = await ctx.transaction(async (tx) => {
              const customerId = await consume(tx, data.token, 'verify')
              // A registration's password takes effect now, when the email's owner proves it.
              await tx.db
                .updateTable('customers_customers')
                .set({
                  email_verified_at: ctx.now().toISOString(),
                  password_hash: sql<string | null>`coalesce(pending_password_hash, password_hash)`,
                  pending_password_hash: null,
                  updated_at: ctx.now().toISOString(),
                })
                .where('id', '=', customerId)
                .execute()
              await addTimeline(ctx, tx, customerId, 'email_verified', null, 'Email verified')
              tx.emit('customers.email_verified', { customerId })
              return customerId
            })
            // The guest orders of the now proven email are the customer's.
            const row = await rowById(ctx.db, id)
            const { orderIds } = await ctx.commerce.orders.assignCustomer({ email: row.email, customerId: id })
            if (orderIds.length) {
              await ctx.transaction(async (tx) => {
                for (const orderId of orderIds) await addTimeline(ctx, tx, id, 'orders_attached', orderId, 'Guest order attached after email verification')
              })
            }
            return load(ctx.db, row)
          },
          async requestPasswordReset(input) {
            const data = parse(requestResetSchema, input, 'password reset')
            const row = await ctx.db.selectFrom('customers_customers').select('id').where('email_key', '=', data.email.toLowerCase()).where('erased_at', 'is', null).executeTakeFirst()
            // Nothing is said about whether the email is known: the caller answers "if it is, a mail is on its way".
            if (!row) return
            await ctx.transaction(async (tx) => tx.emit('customers.password_reset_requested', { customerId: row.id }))
          },
          mintResetToken: (customerId) => mint(customerId, 'reset', resetTtl),
          async resetPassword(input) {
            const data = parse(resetSchema, input, 'password reset')
            const passwordHash = await hashPassword(data.password)
            const id = await ctx.transaction(async (tx) => {
              const customerId = await consume(tx, data.token, 'reset')
              const now = ctx.now().toISOString()
              // The owner of the email sets the password: a registration's password waiting for
              // verification is dropped.
              await tx.db.updateTable('customers_customers').set({ password_hash: passwordHash, pending_password_hash: null, updated_at: now }).where('id', '=', customerId).execute()
              // Whoever knew the old password is logged out, and the lock is lifted.
              await tx.db.updateTable('customers_sessions').set({ revoked_at: now }).where('customer_id', '=', customerId).where('revoked_at', 'is', null).execute()
              await tx.db.deleteFrom('customers_attempts').where('key', '=', `account:${customerId}`).execute()
              await addTimeline(ctx, tx, customerId, 'password_changed', null, 'Password reset by email')
              tx.emit('customers.password_changed', { customerId })
              return customerId
            })
            return get(id)
          },
          async changePassword(customerId, input) {
            const id = parse(idSchema, customerId, 'customer id', 'customerId')
            const data = parse(changePasswordSchema, input, 'password change')
            const row = await rowById(ctx.db, id)
            if (!row.password_hash || !(await argonVerify(row.password_hash, data.currentPassword).catch(() => false))) throw invalidCredentials()
            const passwordHash = await hashPassword(data.newPassword)
            await ctx.transaction(async (tx) => {
              const now = ctx.now().toISOString()
              await tx.db.updateTable('customers_customers').set({ password_hash: passwordHash, pending_password_hash: null, updated_at: now }).where('id', '=', id).execute()
              // Whoever knew the old password is logged out (but for the session the change came
              // from), and a reset link already mailed no longer sets another password.
              let others = tx.db.updateTable('customers_sessions').set({ revoked_at: now }).where('customer_id', '=', id).where('revoked_at', 'is', null)
              if (data.keepSessionId) others = others.where('id', '!=', data.keepSessionId)
              await others.execute()
              await tx.db.deleteFrom('customers_tokens').where('customer_id', '=', id).where('purpose', '=', 'reset').execute()
              await addTimeline(ctx, tx, id, 'password_changed', null, 'Password changed')
              tx.emit('customers.password_changed', { customerId: id })
            })
          },
        },
      }
    },
  })
}

async function subjectRows(db: Reader, email: string | null, customerId: string | null): Promise<Row[]> {
  if (!email && !customerId) return []
  return db
    .selectFrom('customers_customers')
    .selectAll()
    .where('erased_at', 'is', null)
    .where((eb) => eb.or([...(email ? [eb('email_key', '=', email.toLowerCase())] : []), ...(customerId ? [eb('id', '=', customerId)] : [])]))
    .orderBy('id')
    .execute()
}

async function addTimeline(ctx: Ctx, tx: Tx, customerId: string, kind: TimelineEntry['kind'], refId: string | null, summary: string): Promise<void> {
  await tx.db
    .insertInto('customers_timeline')
    .values({ id: ctx.newId('ctl'), customer_id: customerId, kind, ref_id: refId, summary, at: ctx.now().toISOString() })
    // One entry per order and kind: the outbox delivers at least once.
    .onConflict((oc) => oc.columns(['customer_id', 'kind', 'ref_id']).doNothing())
    .execute()
}

async function toCustomer(db: Reader, row: Row): Promise<Customer> {
  const groups = await db.selectFrom('customers_group_members as m').innerJoin('customers_groups as g', 'g.id', 'm.group_id').select('g.code').where('m.customer_id', '=', row.id).orderBy('g.code').execute()
  const tags = await db.selectFrom('customers_tags').select('tag').where('customer_id', '=', row.id).orderBy('tag').execute()
  const consent = await db.selectFrom('customers_consents').selectAll().where('customer_id', '=', row.id).orderBy('at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst()
  return {
    id: row.id,
    email: row.email,
    emailVerified: row.email_verified_at !== null,
    firstName: row.first_name,
    lastName: row.last_name,
    phone: row.phone,
    locale: row.locale,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    hasAccount: row.password_hash !== null,
    defaultShippingAddressId: row.default_shipping_address_id,
    defaultBillingAddressId: row.default_billing_address_id,
    groups: groups.map((g) => g.code),
    tags: tags.map((t) => t.tag),
    marketingConsent: consent ? { granted: Number(consent.granted) === 1, source: consent.source, at: iso(consent.at) } : null,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

function toAddress(row: CustomerTables['customers_addresses'], owner: Pick<Row, 'default_shipping_address_id' | 'default_billing_address_id'>): SavedAddress {
  return {
    id: row.id,
    customerId: row.customer_id,
    label: row.label,
    address: JSON.parse(row.address) as Address,
    defaultShipping: owner.default_shipping_address_id === row.id,
    defaultBilling: owner.default_billing_address_id === row.id,
    createdAt: iso(row.created_at),
  }
}

const toNote = (row: CustomerTables['customers_notes']): CustomerNote => ({ id: row.id, customerId: row.customer_id, author: row.author, body: row.body, createdAt: iso(row.created_at) })
const toPaymentMethod = (row: CustomerTables['customers_payment_methods']): SavedPaymentMethod => ({
  id: row.id,
  customerId: row.customer_id,
  provider: row.provider,
  reference: row.reference,
  label: row.label,
  createdAt: iso(row.created_at),
})
const toTimeline = (row: CustomerTables['customers_timeline']): TimelineEntry => ({ id: row.id, kind: row.kind as TimelineEntry['kind'], refId: row.ref_id, summary: row.summary, at: iso(row.at) })
const toSession = (row: CustomerTables['customers_sessions']): SessionInfo => ({
  id: row.id,
  customerId: row.customer_id,
  createdAt: iso(row.created_at),
  expiresAt: iso(row.expires_at),
  revokedAt: isoOrNull(row.revoked_at),
})

async function migrate(db: Kysely<any>, { types }: { types: ColumnTypes }): Promise<void> {
  const ts = types.timestamp
  await db.schema
    .createTable('customers_customers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_key', 'text', (c) => c.notNull().unique())
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('phone', 'text')
    .addColumn('locale', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('email_verified_at', ts)
    .addColumn('default_shipping_address_id', 'text')
    .addColumn('default_billing_address_id', 'text')
    .addColumn('erased_at', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('customers_addresses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('label', 'text')
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('customers_addresses_customer').on('customers_addresses').column('customer_id').execute()
  await db.schema
    .createTable('customers_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('customers_group_members')
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('customers_group_members_pk', ['group_id', 'customer_id'])
    .execute()
  await db.schema.createIndex('customers_group_members_customer').on('customers_group_members').column('customer_id').execute()
  await db.schema
    .createTable('customers_tags')
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('customers_tags_pk', ['customer_id', 'tag'])
    .execute()
  await db.schema
    .createTable('customers_notes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('customers_notes_customer').on('customers_notes').column('customer_id').execute()
  await db.schema
    .createTable('customers_consents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('granted', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('at', ts, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('customers_consents_customer').on('customers_consents').columns(['customer_id', 'at']).execute()
  await db.schema
    .createTable('customers_payment_methods')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('customers_timeline')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('ref_id', 'text')
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('at', ts, (c) => c.notNull())
    .execute()
  // Entries without a ref (notes of consent, emails sent) repeat freely: NULLs are distinct in a unique index on both storages.
  await db.schema.createIndex('customers_timeline_ref').on('customers_timeline').columns(['customer_id', 'kind', 'ref_id']).unique().execute()
  await db.schema
    .createTable('customers_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('used_at', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('customers_tokens_customer').on('customers_tokens').columns(['customer_id', 'purpose']).execute()
  await db.schema
    .createTable('customers_sessions')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('revoked_at', ts)
    .execute()
  await db.schema.createIndex('customers_sessions_customer').on('customers_sessions').column('customer_id').execute()
  await db.schema
    .createTable('customers_attempts')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('locked_until', ts)
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute()
}

/**
 * Version 2: the attempt counted last on a key (`customers_attempts.last_attempt`), a password
 * waiting for the email's verification on a claimed profile (`pending_password_hash`), and the
 * guest carts merged, by cart and version (`customers_merges`).
 */
async function migrateClaims(db: Kysely<any>, { types }: { types: ColumnTypes }): Promise<void> {
  await db.schema.alterTable('customers_attempts').addColumn('last_attempt', 'text').execute()
  await db.schema.alterTable('customers_customers').addColumn('pending_password_hash', 'text').execute()
  await db.schema
    .createTable('customers_merges')
    .addColumn('guest_cart_id', 'text', (c) => c.notNull())
    .addColumn('guest_version', 'integer', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('at', types.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('customers_merges_pk', ['guest_cart_id', 'guest_version'])
    .execute()
  await db.schema.createIndex('customers_merges_customer').on('customers_merges').column('customer_id').execute()
}

/**
 * Version 3: a registration no longer claims a profile staff made. The passwords registrations
 * left waiting on such profiles (`pending_password_hash` without a `password_hash`: before this
 * version only a claim made one) are dropped, so that a verification mail the profile's owner
 * opens can no longer put a stranger's password in force; the owner sets one by the reset mail.
 */
async function voidClaims(db: Kysely<any>): Promise<void> {
  await db.updateTable('customers_customers').set({ pending_password_hash: null }).where('password_hash', 'is', null).where('pending_password_hash', 'is not', null).execute()
}

/**
 * The customers service, reachable as `commerce.customers`. Every method parses its input strictly
 * and throws `VALIDATION` naming the field, before anything is read or written.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithCustomers
 * const ada = await shop.customers.create({ email: 'ada@example.com', firstName: 'Ada' })
 * await shop.customers.addresses.add(ada.id, { address: { line1: '1 Analytical St', city: 'London', country: 'GB' } })
 * ```
 */
export interface CustomersService {
  /**
   * A customer made by staff, without an account. `EMAIL_TAKEN` when the email is known, in any case.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * const ada = await shop.customers.create({ email: 'ada@example.com', firstName: 'Ada', locale: 'en-GB' })
   * ```
   */
  create(input: CreateCustomerInput): Promise<Customer>
  /**
   * A customer by id; `NOT_FOUND` when there is none (an erased customer included).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * const ada = await shop.customers.get('cus_1')
   * console.log(ada.email, ada.groups, ada.marketingConsent?.granted)
   * ```
   */
  get(customerId: string): Promise<Customer>
  /**
   * A customer by email, in any case, or null.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * const found = await shop.customers.findByEmail('Ada@Example.com')
   * ```
   */
  findByEmail(email: string): Promise<Customer | null>
  /**
   * Changes the profile. A new email is unverified until proven: a verification mail is due, and
   * tokens mailed to the old address stop working.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * await shop.customers.update('cus_1', { lastName: 'King', phone: '+44 20 7946 0000' })
   * ```
   */
  update(customerId: string, input: UpdateCustomerInput): Promise<Customer>
  /**
   * Customers by id, filtered by email (exact), text in the email or name (`query`), group code or
   * tag, a page at a time.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * const { items, nextCursor } = await shop.customers.list({ groupCode: 'wholesale', limit: 50 })
   * const found = await shop.customers.list({ query: 'lovelace' })
   * ```
   */
  list(input?: ListCustomersInput): Promise<Page<Customer>>
  /**
   * The address book. The first address becomes the default for shipping and billing;
   * `defaultShipping` / `defaultBilling` move the defaults.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * const home = await shop.customers.addresses.add('cus_1', { address: { line1: '1 Analytical St', city: 'London', country: 'GB' }, label: 'Home' })
   * await shop.customers.addresses.update('cus_1', home.id, { defaultBilling: true })
   * const book = await shop.customers.addresses.list('cus_1')
   * await shop.customers.addresses.remove('cus_1', home.id)
   * ```
   */
  addresses: {
    /**
     * Adds an address; `NOT_FOUND` for an unknown customer.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.addresses.add('cus_1', { address: { line1: '1 Analytical St', city: 'London', country: 'GB' }, defaultShipping: true })
     * ```
     */
    add(customerId: string, input: AddAddressInput): Promise<SavedAddress>
    /**
     * Changes an address or moves a default to it (`false` clears a default that was this address).
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.addresses.update('cus_1', 'addr_1', { label: 'Office', defaultShipping: true })
     * ```
     */
    update(customerId: string, addressId: string, input: UpdateAddressInput): Promise<SavedAddress>
    /**
     * Removes an address; a default that was this address is cleared.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.addresses.remove('cus_1', 'addr_1')
     * ```
     */
    remove(customerId: string, addressId: string): Promise<void>
    /**
     * The addresses, oldest first, each marked when it is a default.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const shipping = (await shop.customers.addresses.list('cus_1')).find((a) => a.defaultShipping)
     * ```
     */
    list(customerId: string): Promise<SavedAddress[]>
  }
  /**
   * Groups by code (`customers_groups`) and their members (`customers_group_members`), which other
   * plugins read (B2B price lists by group).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * await shop.customers.groups.create({ code: 'wholesale', name: 'Wholesale' })
   * await shop.customers.groups.addMember('wholesale', 'cus_1')
   * ```
   */
  groups: {
    /**
     * Creates a group; `CONFLICT` when the code is taken.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const group = await shop.customers.groups.create({ code: 'wholesale', name: 'Wholesale' })
     * ```
     */
    create(input: CreateGroupInput): Promise<CustomerGroup>
    /**
     * Every group, by code.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const codes = (await shop.customers.groups.list()).map((g) => g.code)
     * ```
     */
    list(): Promise<CustomerGroup[]>
    /**
     * Adds a customer to a group (again: nothing changes).
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const ada = await shop.customers.groups.addMember('wholesale', 'cus_1')
     * ```
     */
    addMember(groupCode: string, customerId: string): Promise<Customer>
    /**
     * Takes a customer out of a group.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.groups.removeMember('wholesale', 'cus_1')
     * ```
     */
    removeMember(groupCode: string, customerId: string): Promise<Customer>
  }
  /**
   * Free tags.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * await shop.customers.tags.add('cus_1', 'vip')
   * ```
   */
  tags: {
    /**
     * Tags a customer (again: nothing changes).
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.tags.add('cus_1', 'vip')
     * ```
     */
    add(customerId: string, tag: string): Promise<Customer>
    /**
     * Removes a tag.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.tags.remove('cus_1', 'vip')
     * ```
     */
    remove(customerId: string, tag: string): Promise<Customer>
  }
  /**
   * Staff notes, with their author; each is noted on the timeline (without its text).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * await shop.customers.notes.add('cus_1', { body: 'Prefers phone calls', author: 'sam@shop.example' })
   * ```
   */
  notes: {
    /**
     * Adds a note.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const note = await shop.customers.notes.add('cus_1', { body: 'Parcel left with a neighbour', author: 'sam' })
     * ```
     */
    add(customerId: string, input: AddNoteInput): Promise<CustomerNote>
    /**
     * The notes, newest first.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * for (const n of await shop.customers.notes.list('cus_1')) console.log(n.author, n.body)
     * ```
     */
    list(customerId: string): Promise<CustomerNote[]>
  }
  /**
   * Marketing consent, given or withdrawn, with when and how; the whole history is kept.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * await shop.customers.consent.set('cus_1', { granted: true, source: 'checkout' })
   * ```
   */
  consent: {
    /**
     * Records a consent given or withdrawn; the customer's `marketingConsent` is the latest.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const ada = await shop.customers.consent.set('cus_1', { granted: false, source: 'account' })
     * ```
     */
    set(customerId: string, input: ConsentInput): Promise<Customer>
    /**
     * Every change, oldest first.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const changes = await shop.customers.consent.history('cus_1')
     * ```
     */
    history(customerId: string): Promise<Array<{ granted: boolean; source: string; at: string }>>
  }
  /**
   * Saved payment methods as the provider's references and a label, never card data.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * await shop.customers.paymentMethods.add('cus_1', { provider: 'stripe', reference: 'pm_1', label: 'Visa •••• 4242' })
   * ```
   */
  paymentMethods: {
    /**
     * Saves a reference; a label that holds a card number is refused.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const pm = await shop.customers.paymentMethods.add('cus_1', { provider: 'stripe', reference: 'pm_1', label: 'Visa •••• 4242' })
     * ```
     */
    add(customerId: string, input: PaymentMethodInput): Promise<SavedPaymentMethod>
    /**
     * The saved references, oldest first.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const methods = await shop.customers.paymentMethods.list('cus_1')
     * ```
     */
    list(customerId: string): Promise<SavedPaymentMethod[]>
    /**
     * Forgets a saved reference (the provider keeps its own record).
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.paymentMethods.remove('cus_1', 'cpm_1')
     * ```
     */
    remove(customerId: string, paymentMethodId: string): Promise<void>
  }
  /**
   * What happened with the customer, oldest first: registration, orders placed, guest orders
   * attached, notes, emails sent, consent, password changes, carts merged, privacy export and erase.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * for (const e of await shop.customers.timeline('cus_1')) console.log(e.at, e.kind, e.summary)
   * ```
   */
  timeline(customerId: string): Promise<TimelineEntry[]>
  /**
   * Attaches the guest orders of the customer's verified email (`verifyEmail` does it); returns
   * their ids. `INVALID_STATE` while the email is unverified.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * const orderIds = await shop.customers.attachGuestOrders('cus_1')
   * ```
   */
  attachGuestOrders(customerId: string): Promise<string[]>
  /**
   * Merges a guest cart into the customer's open cart (the rules are in the README): quantities
   * add, capped by the line limit and the stock, every cap reported; priced for the customer.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * const { cart, caps } = await shop.customers.mergeCarts({ customerId: 'cus_1', guestCartId: 'cart_1' })
   * ```
   */
  mergeCarts(input: MergeCartsInput): Promise<MergeResult>
  /**
   * Accounts: passwords (argon2id), verification and reset tokens (single-use, expiring, stored as
   * SHA-256), sessions, and login attempts limited per account and per client.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithCustomers
   * const { sessionToken } = await shop.customers.accounts.login({ email: 'ada@example.com', password: 'correct horse battery', clientId: '203.0.113.7' })
   * ```
   */
  accounts: {
    /**
     * Registers an account for the shop's code and staff: the password is in force at once, and a
     * verification mail is due (`customers.verification_requested`). `EMAIL_TAKEN` when an account,
     * or a registration waiting for its verification, has the email. The email of a customer staff
     * made without an account gets no password from a registration: the profile is returned as it
     * is (`hasAccount: false`), and a mail that lets the email's owner set a password is due
     * (`customers.password_reset_requested`). A public form calls `accounts.registerOrNotify`
     * instead (as the Store API does), whose answer says nothing of the email.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const ada = await shop.customers.accounts.register({ email: 'ada@example.com', password: 'correct horse battery' })
     * ```
     */
    register(input: RegisterInput): Promise<Customer>
    /**
     * Registers like `accounts.register`, but never says whether the email has an account: what the
     * Store API's `POST /account/register` calls, whose answer is then the same for every email.
     * - A new email gets an account whose password is in force only once the email is verified (a
     *   verification mail is due): until then a login with it fails like a wrong password, so
     *   registering then logging in does not tell a new email from a taken one either.
     * - The email of a customer staff made without an account: nothing is created or set, and a
     *   mail that lets the email's owner set a password of their own is due
     *   (`customers.password_reset_requested`).
     * - An email that has an account (or a registration waiting for its verification): nothing is
     *   created or changed, and its owner is to be told (`customers.registration_attempted`: a mail
     *   such as "someone tried to register with your email: sign in, or reset your password").
     *
     * The password is hashed whatever the email, so the time taken does not tell either. The
     * outcome is for the shop's own code only: never show it to whoever typed the email.
     * `VALIDATION` for bad input.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const { outcome } = await shop.customers.accounts.registerOrNotify({ email: 'ada@example.com', password: 'correct horse battery' })
     * const answer = { ok: true } // the same for 'created', 'profile' and 'taken'
     * ```
     */
    registerOrNotify(input: RegisterInput): Promise<RegistrationOutcome>
    /**
     * Logs in: a session token (shown once), and the merge of `guestCartId` when given. Every failure
     * is `INVALID_CREDENTIALS`: unknown email, wrong password, a locked account or client. The
     * attempt is counted atomically before the password is verified; a success starts the account's
     * count again, never the client's.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const { sessionToken, merge } = await shop.customers.accounts.login({ email: 'ada@example.com', password: 'correct horse battery', clientId: '203.0.113.7', guestCartId: 'cart_1' })
     * ```
     */
    login(input: LoginInput): Promise<LoginResult>
    /**
     * The customer a session token opens; `SESSION_INVALID` when it is unknown, revoked or expired.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * declare const cookie: string
     * const me = await shop.customers.accounts.authenticate(cookie)
     * ```
     */
    authenticate(sessionToken: string): Promise<Customer>
    /**
     * Ends the session of a token (an unknown one: nothing happens).
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * declare const cookie: string
     * await shop.customers.accounts.logout(cookie)
     * ```
     */
    logout(sessionToken: string): Promise<void>
    /**
     * The customer's sessions, newest first, without their tokens.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const open = (await shop.customers.accounts.listSessions('cus_1')).filter((s) => s.revokedAt === null)
     * ```
     */
    listSessions(customerId: string): Promise<SessionInfo[]>
    /**
     * Ends one session ("log out that device").
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.accounts.revokeSession('cus_1', 'ses_1')
     * ```
     */
    revokeSession(customerId: string, sessionId: string): Promise<void>
    /**
     * Asks for a new verification mail: emits `customers.verification_requested`.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.accounts.requestVerification('cus_1')
     * ```
     */
    requestVerification(customerId: string): Promise<void>
    /**
     * Mints a verification token where the mail is sent: returned once, stored only as its SHA-256,
     * voiding every earlier one.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const token = await shop.customers.accounts.mintVerificationToken('cus_1')
     * const link = `https://shop.example/verify?token=${encodeURIComponent(token)}`
     * ```
     */
    mintVerificationToken(customerId: string): Promise<string>
    /**
     * Uses a verification token once: the email is verified, the password a registration left
     * waiting for it is in force, and the email's guest orders are attached. `TOKEN_INVALID` for a
     * token unknown, used, voided or expired.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * declare const token: string
     * const ada = await shop.customers.accounts.verifyEmail({ token })
     * ```
     */
    verifyEmail(input: { token: string }): Promise<Customer>
    /**
     * Asks for a reset mail: emits `customers.password_reset_requested` when the email is known, and
     * answers the same either way.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.accounts.requestPasswordReset({ email: 'ada@example.com' })
     * ```
     */
    requestPasswordReset(input: { email: string }): Promise<void>
    /**
     * Mints a reset token where the mail is sent: returned once, stored only as its SHA-256, voiding
     * every earlier one.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * const token = await shop.customers.accounts.mintResetToken('cus_1')
     * ```
     */
    mintResetToken(customerId: string): Promise<string>
    /**
     * Uses a reset token once: sets the password (of a profile staff made too, whose owner a
     * registration had mailed; a registration's password waiting for verification is dropped),
     * ends every session and lifts a lock.
     * `TOKEN_INVALID` for a token unknown, used, voided or expired.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * declare const token: string
     * await shop.customers.accounts.resetPassword({ token, password: 'a brand new secret' })
     * ```
     */
    resetPassword(input: { token: string; password: string }): Promise<Customer>
    /**
     * Changes the password given the current one (`INVALID_CREDENTIALS` otherwise). In the same
     * transaction every other session ends (all of them without `keepSessionId`, the session the
     * change is made from) and reset links already mailed stop working.
     *
     * @example
     * ```ts
     * declare const shop: CommerceWithCustomers
     * await shop.customers.accounts.changePassword('cus_1', { currentPassword: 'correct horse battery', newPassword: 'a brand new secret', keepSessionId: 'ses_1' })
     * ```
     */
    changePassword(customerId: string, input: { currentPassword: string; newPassword: string; keepSessionId?: string }): Promise<void>
  }
}
