import { sql, type ExpressionBuilder } from 'kysely'
import { z } from 'zod'
import { CommerceError, isCommerceError, validationError } from '../errors.js'
import { parseJson, iso } from '../db/rows.js'
import type { CoreDatabase, Executor, Tx } from '../db/database.js'
import { insideTransactionalHook } from '../hooks.js'
import type { PrivacySubject } from '../ports/plugin.js'
import { read, transact, type Runtime } from '../runtime.js'
import type { Order } from '../types.js'
import type { Address } from '../validation.js'
import { fields, parseInput } from '../validation.js'
import { loadOrders } from './order-mapping.js'
import { hookScope } from './checkout-plugins.js'

const subjectSchema = z
  .strictObject({ email: fields.email.optional(), customerId: fields.id.optional() })
  .refine((s) => s.email !== undefined || s.customerId !== undefined, { message: 'give an email, a customerId, or both', path: ['email'] })

/** Whose data to export or erase: an email, a customer id, or both (rows matching either). */
export type PrivacySubjectInput = z.input<typeof subjectSchema>

/** What `privacy.export` returns: core's data about the subject, and each plugin's. */
export interface PrivacyExport {
  subject: PrivacySubject
  orders: Order[]
  carts: Array<{ id: string; status: string; email: string | null; shippingAddress: Address | null; billingAddress: Address | null; createdAt: string }>
  /** Each plugin's contribution, by plugin id (plugins with nothing to say are left out). */
  plugins: Record<string, unknown>
}

/** What `privacy.erase` changed in core's tables. */
export interface EraseResult {
  orders: number
  carts: number
  /** Plugins whose `erase` ran, by id. */
  plugins: string[]
}

/** The address an erased order keeps in place of the shopper's (orders need one). */
export const ERASED_EMAIL = 'erased@erased.invalid'

/**
 * Data export and erasure for a person (GDPR articles 15 and 17, and their equivalents): core's
 * carts and orders matching the subject's email (in any case) or customer id, and what each plugin
 * contributes (`PluginContext.privacy`). A plugin's `erase` runs in the erase's transaction, like a
 * transactional hook: a call back into the engine from there is refused with `INVALID_STATE`.
 *
 * Erasure anonymizes rather than deletes: an order stays for the books (its lines, totals and
 * payments), without its email, addresses or customer link. Events in the outbox that announced
 * the subject's orders or carts lose the same data from their payloads; a checkout in flight keeps
 * its snapshot until it ends.
 *
 * @example
 * ```ts
 * const data = await commerce.privacy.export({ email: 'ada@example.com' })
 * await commerce.privacy.erase({ email: 'ada@example.com' })
 * ```
 */
export class PrivacyService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /** Everything core and the plugins hold about the subject, as plain JSON. */
  async export(subject: PrivacySubjectInput): Promise<PrivacyExport> {
    const who = toSubject(parseInput(subjectSchema, subject, 'privacy subject'))
    const rt = this.#rt
    const core = await read(rt, async (db) => {
      const orders = await matching(db, 'cw_orders', who).selectAll().orderBy('created_at').orderBy('id').execute()
      const carts = await matching(db, 'cw_carts', who).selectAll().orderBy('created_at').orderBy('id').execute()
      return {
        orders: await loadOrders(db, orders as never),
        carts: carts.map((c) => ({
          id: c.id,
          status: c.status,
          email: c.email,
          shippingAddress: parseJson<Address | null>(c.shipping_address, null),
          billingAddress: parseJson<Address | null>(c.billing_address, null),
          createdAt: iso(c.created_at),
        })),
      }
    })
    const plugins: Record<string, unknown> = {}
    for (const record of rt.plugins ?? []) {
      for (const contribution of record.privacy) {
        if (!contribution.export) continue
        const data = await contribution.export(who, record.narrow(rt.db as never))
        if (data !== undefined) plugins[record.plugin.id] = data
      }
    }
    return { subject: who, ...core, plugins }
  }

  /**
   * Anonymizes the subject's orders and carts and runs every plugin's `erase`, in one transaction:
   * all of it, or (on any error) none of it.
   */
  async erase(subject: PrivacySubjectInput): Promise<EraseResult> {
    const who = toSubject(parseInput(subjectSchema, subject, 'privacy subject'))
    const rt = this.#rt
    return transact(rt, async (tx, emit) => {
      const now = rt.now().toISOString()
      // First, while the orders and carts still match: events repeat what they announced.
      await scrubOutbox(tx, who)
      // While the carts still match: a cart's checkout snapshot repeats its email and
      // addresses; one still being placed keeps it.
      await erasing(tx, 'cw_carts', who).set({ checkout: null }).where('status', '!=', 'completing').execute()
      const orders = await erasing(tx, 'cw_orders', who)
        .set({ email: ERASED_EMAIL, shipping_address: null, billing_address: null, customer_id: null, updated_at: now })
        .executeTakeFirst()
      const carts = await erasing(tx, 'cw_carts', who)
        .set({ email: null, shipping_address: null, billing_address: null, customer_id: null, updated_at: now })
        .executeTakeFirst()
      const ran: string[] = []
      for (const record of rt.plugins ?? []) {
        for (const contribution of record.privacy) {
          if (!contribution.erase) continue
          const pluginTx = record.tx(hookScope(rt, tx, emit as unknown as (type: string, payload: unknown) => void))
          try {
            // Like a transactional hook: a call back into the engine from here is refused instead of waiting for this transaction.
            await insideTransactionalHook.run('privacy.erase', () => contribution.erase!(who, pluginTx))
          } catch (error) {
            if (isCommerceError(error) || rt.storage.isRetryable(error)) throw error
            throw new CommerceError('VETOED', `privacy.erase: plugin ${record.plugin.id} failed: ${(error as Error)?.message ?? String(error)}`, {
              cause: error,
              details: { plugin: record.plugin.id },
            })
          }
          if (!ran.includes(record.plugin.id)) ran.push(record.plugin.id)
        }
      }
      return { orders: Number(orders.numUpdatedRows), carts: Number(carts.numUpdatedRows), plugins: ran }
    })
  }
}

/** Address fields that say who or where a person is (a country alone does not). */
const PERSONAL_ADDRESS_FIELDS = ['firstName', 'lastName', 'company', 'line1', 'line2', 'city', 'postalCode', 'phone'] as const

/**
 * Events in the outbox repeat what they announced: an `order.placed` carries the order with its
 * email and addresses. The payloads that mention the subject's email, customer id, or one of
 * their orders or carts lose the subject's email (replaced by {@link ERASED_EMAIL}), customer id
 * and every address holding one of the subject's name, street, city, postcode or phone strings.
 */
async function scrubOutbox(tx: Tx, who: PrivacySubject): Promise<void> {
  const orders = await matching(tx, 'cw_orders', who).select(['id', 'email', 'shipping_address', 'billing_address']).execute()
  const carts = await matching(tx, 'cw_carts', who).select(['id', 'email', 'shipping_address', 'billing_address']).execute()
  const emails = new Set<string>()
  const personal = new Set<string>()
  if (who.email) emails.add(who.email.toLowerCase())
  for (const row of [...orders, ...carts]) {
    if (row.email && row.email.toLowerCase() !== ERASED_EMAIL) emails.add(row.email.toLowerCase())
    for (const raw of [row.shipping_address, row.billing_address]) {
      const address = parseJson<Record<string, unknown> | null>(raw, null)
      for (const key of PERSONAL_ADDRESS_FIELDS) {
        const value = address?.[key]
        if (typeof value === 'string' && value.trim() !== '') personal.add(value.trim().toLowerCase())
      }
    }
  }
  const needles = [...emails, ...(who.customerId ? [who.customerId] : []), ...orders.map((o) => o.id), ...carts.map((c) => c.id)]
  if (needles.length === 0) return
  const customerId = who.customerId
  const scrub = (value: unknown, key: string | null): unknown => {
    if (typeof value === 'string') {
      const lower = value.toLowerCase()
      if (emails.has(lower)) return ERASED_EMAIL
      if (customerId !== null && value === customerId) return null
      if (key !== null && (PERSONAL_ADDRESS_FIELDS as readonly string[]).includes(key) && personal.has(value.trim().toLowerCase())) return null
      return value
    }
    if (Array.isArray(value)) return value.map((v) => scrub(v, null))
    if (value && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>)
      // An address holding any of the subject's strings goes whole: what is left would still point at them.
      const isAddress = 'line1' in value && 'country' in value
      if (isAddress && entries.some(([k, v]) => (PERSONAL_ADDRESS_FIELDS as readonly string[]).includes(k) && typeof v === 'string' && personal.has(v.trim().toLowerCase()))) return null
      return Object.fromEntries(entries.map(([k, v]) => [k, scrub(v, k)]))
    }
    return value
  }
  // Unescaped: a `_` or `%` in a needle only widens the match, and only exact values are scrubbed.
  // Chunks keep each statement's parameters well under both storages' limits.
  for (let i = 0; i < needles.length; i += 200) {
    const chunk = needles.slice(i, i + 200)
    const rows = await tx
      .selectFrom('cw_outbox')
      .select(['id', 'payload'])
      .where((eb) => eb.or(chunk.map((n) => eb(sql<string>`lower(payload)`, 'like', `%${n.toLowerCase()}%`))))
      .execute()
    for (const row of rows) {
      const before = row.payload
      const after = JSON.stringify(scrub(JSON.parse(before), null))
      if (after !== before) await tx.updateTable('cw_outbox').set({ payload: after }).where('id', '=', row.id).execute()
    }
  }
}

function toSubject(input: z.output<typeof subjectSchema>): PrivacySubject {
  if (input.email?.toLowerCase() === ERASED_EMAIL) throw validationError('privacy subject', [{ path: 'email', message: 'is the placeholder of erased orders' }])
  return { email: input.email ?? null, customerId: input.customerId ?? null }
}

/**
 * Rows of the subject: its customer id, or its email in any case (`Ada@Example.com` is the
 * `ada@example.com` the person asks about; both sides are lowered by the database, alike).
 */
function subjectRows(eb: ExpressionBuilder<CoreDatabase, 'cw_orders' | 'cw_carts'>, who: PrivacySubject) {
  return eb.or([
    ...(who.email ? [eb(sql<string>`lower(email)`, '=', sql<string>`lower(${who.email})`)] : []),
    ...(who.customerId ? [eb('customer_id', '=', who.customerId)] : []),
  ])
}

function matching(db: Executor, table: 'cw_orders' | 'cw_carts', who: PrivacySubject) {
  return db.selectFrom(table).where((eb) => subjectRows(eb as never, who))
}

function erasing(tx: Tx, table: 'cw_orders' | 'cw_carts', who: PrivacySubject) {
  return tx.updateTable(table).where((eb) => subjectRows(eb as never, who))
}
