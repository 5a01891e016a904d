import { sql, type Kysely } from 'kysely'
import { z } from 'zod'
import { CommerceError, definePlugin, notFound, validationError, type Commerce, type PluginContext, type PluginTx, type TaxProvider } from '@cartwright/core'
import { taxRulesEndpoints } from './endpoints.js'
import { compileRules, resolveRates, type Buyer, type TaxRulesOptions } from './rules.js'
import { checkVatNumber } from './vat.js'

/**
 * The plugin's tables (prefix `tax_rules_`), for a host's own read queries.
 *
 * @example
 * ```ts
 * import type { Kysely } from 'kysely'
 *
 * declare const db: Kysely<TaxRulesTables>
 * const exempt = await db.selectFrom('tax_rules_profiles').select('customer_id').where('exempt', '=', 1).execute()
 * ```
 */
export interface TaxRulesTables {
  /** A customer's tax profile, by customer id. */
  tax_rules_profiles: {
    customer_id: string
    /** Compact, validated (`'DE136695976'`), or null. */
    vat_number: string | null
    /** The VAT number's country (`'GR'` for an `EL` number), or null. */
    vat_country: string | null
    exempt: number
    exempt_reason: string | null
    exempt_certificate: string | null
    updated_at: string | Date
  }
  /**
   * What an order was placed with: the buyer's VAT number and exemption when it had either
   * (written in the transaction that places it; kept with the order, as invoices need them).
   */
  tax_rules_order_profiles: {
    order_id: string
    vat_number: string | null
    vat_country: string | null
    exemption: string | null
    created_at: string | Date
  }
  /** A guest cart's VAT number, by cart id (removed when the cart becomes an order). */
  tax_rules_cart_profiles: {
    cart_id: string
    vat_number: string | null
    vat_country: string | null
    updated_at: string | Date
  }
}

type Ctx = PluginContext<TaxRulesTables>
type Tx = PluginTx<TaxRulesTables>

/**
 * A customer's tax profile: their VAT number and whether (and why) they pay no tax.
 *
 * @example
 * ```ts
 * const profile: CustomerTaxProfile = { customerId: 'cus_1', vatNumber: 'DE136695976', vatCountry: 'DE', exempt: false, exemptReason: null, exemptCertificate: null }
 * ```
 */
export interface CustomerTaxProfile {
  customerId: string
  vatNumber: string | null
  vatCountry: string | null
  exempt: boolean
  exemptReason: string | null
  exemptCertificate: string | null
}

/**
 * The VAT number a guest gave for a cart.
 *
 * @example
 * ```ts
 * const profile: CartTaxProfile = { cartId: 'cart_1', vatNumber: 'IT00743110157', vatCountry: 'IT' }
 * ```
 */
export interface CartTaxProfile {
  cartId: string
  vatNumber: string | null
  vatCountry: string | null
}

/**
 * The VAT number and exemption an order was placed with, for its invoice.
 *
 * @example
 * ```ts
 * const profile: OrderTaxProfile = { orderId: 'ord_1', vatNumber: 'DE136695976', vatCountry: 'DE', exemption: null }
 * ```
 */
export interface OrderTaxProfile {
  orderId: string
  vatNumber: string | null
  vatCountry: string | null
  /** The reason the buyer paid no tax (their profile's, with the certificate, or their group's), or null. */
  exemption: string | null
}

/**
 * What `setCustomerProfile` changes; a field left out keeps its value.
 *
 * @example
 * ```ts
 * const input: SetCustomerProfileInput = { exempt: true, exemptReason: 'Registered charity', exemptCertificate: 'CH-2291' }
 * ```
 */
export interface SetCustomerProfileInput {
  /** A VAT number with its country prefix (checked, checksum included), or null to remove it. */
  vatNumber?: string | null
  /** Whether the customer pays no tax; `exemptReason` is then required. */
  exempt?: boolean
  exemptReason?: string | null
  /** The exemption certificate's reference, printed with the reason. */
  exemptCertificate?: string | null
}

/**
 * What `setCartProfile` sets.
 *
 * @example
 * ```ts
 * const input: SetCartProfileInput = { vatNumber: 'NL004495445B01' }
 * ```
 */
export interface SetCartProfileInput {
  /** A VAT number with its country prefix, or null to remove it. */
  vatNumber: string | null
}

/**
 * `commerce['tax-rules']`: the tax profiles of customers and guest carts.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithTaxRules
 * await shop['tax-rules'].setCustomerProfile('cus_1', { vatNumber: 'DE 136 695 976' })
 * ```
 */
export interface TaxRulesService {
  /**
   * Sets a customer's VAT number and exemption (a field left out keeps its value), and marks the
   * customer's open carts changed so that a checkout prices them again. `VALIDATION` naming the
   * field for a VAT number that is not one (format or checksum), or an exemption without a reason.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithTaxRules
   * await shop['tax-rules'].setCustomerProfile('cus_1', { exempt: true, exemptReason: 'Registered charity', exemptCertificate: 'CH-2291' })
   * ```
   */
  setCustomerProfile(customerId: string, input: SetCustomerProfileInput): Promise<CustomerTaxProfile>
  /**
   * A customer's tax profile, or null when none was set.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithTaxRules
   * const vat = (await shop['tax-rules'].getCustomerProfile('cus_1'))?.vatNumber ?? null
   * ```
   */
  getCustomerProfile(customerId: string): Promise<CustomerTaxProfile | null>
  /**
   * Sets the VAT number a guest gave for an open cart, and marks the cart changed in the same
   * transaction (a checkout that priced it before prices it again). `NOT_FOUND` for no such cart,
   * `INVALID_STATE` once it is being checked out or completed, `VALIDATION` for a bad number.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithTaxRules
   * const cart = await shop.carts.create({ currency: 'EUR' })
   * await shop['tax-rules'].setCartProfile(cart.id, { vatNumber: 'DE136695976' })
   * ```
   */
  setCartProfile(cartId: string, input: SetCartProfileInput): Promise<CartTaxProfile>
  /**
   * The VAT number given for a cart, or null.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithTaxRules
   * const profile = await shop['tax-rules'].getCartProfile('cart_1')
   * ```
   */
  getCartProfile(cartId: string): Promise<CartTaxProfile | null>
  /**
   * The VAT number and exemption an order was placed with (to print on its invoice), or null when
   * the buyer had neither.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithTaxRules
   * const vat = (await shop['tax-rules'].getOrderProfile('ord_1'))?.vatNumber ?? null
   * ```
   */
  getOrderProfile(orderId: string): Promise<OrderTaxProfile | null>
}

/**
 * An engine composed with this plugin (and maybe others).
 *
 * @example
 * ```ts
 * async function isExempt(shop: CommerceWithTaxRules, customerId: string): Promise<boolean> {
 *   return (await shop['tax-rules'].getCustomerProfile(customerId))?.exempt ?? false
 * }
 * ```
 */
export type CommerceWithTaxRules = Commerce<[ReturnType<typeof taxRules>]>

const idSchema = z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')
const noteText = (max: number) => z.string().trim().min(1).max(max).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')
const vatSchema = z
  .string()
  .max(40)
  .transform((value, ctx) => {
    const check = checkVatNumber(value)
    if (!check.valid) {
      ctx.addIssue({ code: 'custom', message: check.reason === 'checksum' ? 'the check digits do not match: not a valid VAT number' : 'not an EU VAT number with its country prefix' })
      return z.NEVER
    }
    return check
  })
const customerProfileSchema = z.strictObject({
  vatNumber: vatSchema.nullable().optional(),
  exempt: z.boolean().optional(),
  exemptReason: noteText(300).nullable().optional(),
  exemptCertificate: noteText(100).nullable().optional(),
})
const cartProfileSchema = z.strictObject({ vatNumber: vatSchema.nullable() })

function parse<S extends z.ZodType>(schema: S, input: unknown, subject: string, prefix?: string): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw validationError(
    subject,
    result.error.issues.map((issue) => ({ path: [...(prefix ? [prefix] : []), ...issue.path.map(String)].join('.'), message: issue.message })),
  )
}

const customerProfile = (r: TaxRulesTables['tax_rules_profiles']): CustomerTaxProfile => ({
  customerId: r.customer_id,
  vatNumber: r.vat_number,
  vatCountry: r.vat_country,
  exempt: Number(r.exempt) === 1,
  exemptReason: r.exempt_reason,
  exemptCertificate: r.exempt_certificate,
})
const cartProfile = (r: TaxRulesTables['tax_rules_cart_profiles']): CartTaxProfile => ({ cartId: r.cart_id, vatNumber: r.vat_number, vatCountry: r.vat_country })

/**
 * Tax by rules: jurisdictions by country, region and postal prefix, with rates per tax class and
 * date; rates of places marked `stack` add up (a state's and a county's). A buyer with a valid VAT
 * number of another EU state than `origin` (goods going to another EU state) is reverse-charged at
 * 0% with the legal note; exempt customers and members of `exemptGroups` pay 0% with their reason.
 * The buyer's data comes from the customer's tax profile when signed in, else from the cart's.
 * The provider answers rates only: core computes and rounds the amounts.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const shop = await createCommerce({
 *   storage: sqliteStorage({ filename: ':memory:' }),
 *   plugins: [
 *     taxRules({
 *       origin: 'FR',
 *       jurisdictions: [
 *         { id: 'FR', name: 'TVA', country: 'FR', rates: { standard: '20', reduced: '5.5' } },
 *         { id: 'DE', name: 'MwSt', country: 'DE', rates: { standard: '19', reduced: '7' } },
 *       ],
 *     }),
 *   ],
 * })
 * await shop['tax-rules'].setCustomerProfile('cus_1', { vatNumber: 'DE136695976' })
 * ```
 */
export function taxRules(options: TaxRulesOptions) {
  const rules = compileRules(options)
  const exemptGroups = new Map(rules.options.exemptGroups.map((g) => [g.group, g.reason]))
  /** Whether `@cartwright/customers`' group tables exist: learned once, in `init`. */
  let groupsReadable = false

  async function buyer(input: { cartId: string; customerId: string | null }, db: Kysely<any>): Promise<Buyer & { vatNumber: string | null }> {
    let vatNumber: string | null = null
    let vatCountry: string | null = null
    let exemption: string | null = null
    let found = false
    if (input.customerId !== null) {
      const row = await db.selectFrom('tax_rules_profiles').selectAll().where('customer_id', '=', input.customerId).executeTakeFirst()
      if (row) {
        found = true
        vatNumber = row.vat_number
        vatCountry = row.vat_country
        if (Number(row.exempt) === 1) exemption = row.exempt_certificate ? `${row.exempt_reason} (certificate ${row.exempt_certificate})` : row.exempt_reason
      }
      if (exemption === null && exemptGroups.size > 0 && groupsReadable) {
        const { rows } = await sql<{ code: string }>`select g.code from customers_group_members m join customers_groups g on g.id = m.group_id where m.customer_id = ${input.customerId} order by g.code`.execute(db)
        const hit = rows.find((r) => exemptGroups.has(r.code))
        if (hit) exemption = exemptGroups.get(hit.code)!
      }
    }
    if (!found) {
      const row = await db.selectFrom('tax_rules_cart_profiles').select(['vat_number', 'vat_country']).where('cart_id', '=', input.cartId).executeTakeFirst()
      vatNumber = row?.vat_number ?? null
      vatCountry = row?.vat_country ?? null
    }
    return { vatNumber, vatCountry, exemption }
  }

  const tax: TaxProvider = {
    id: 'tax-rules',
    async calculate(input, db) {
      return resolveRates(rules, input, await buyer(input, db))
    },
  }

  return definePlugin({
    id: 'tax-rules',
    tax,
    endpoints: taxRulesEndpoints,
    migrations: {
      '0001_tax_rules': {
        async up(db, { types }) {
          await db.schema
            .createTable('tax_rules_profiles')
            .addColumn('customer_id', 'text', (c) => c.primaryKey())
            .addColumn('vat_number', 'text')
            .addColumn('vat_country', 'text')
            .addColumn('exempt', 'integer', (c) => c.notNull().defaultTo(0).check(sql`exempt in (0, 1)`))
            .addColumn('exempt_reason', 'text')
            .addColumn('exempt_certificate', 'text')
            .addColumn('updated_at', types.timestamp, (c) => c.notNull())
            .addCheckConstraint('tax_rules_profiles_reason', sql`exempt = 0 or exempt_reason is not null`)
            .execute()
          await db.schema
            .createTable('tax_rules_cart_profiles')
            .addColumn('cart_id', 'text', (c) => c.primaryKey())
            .addColumn('vat_number', 'text')
            .addColumn('vat_country', 'text')
            .addColumn('updated_at', types.timestamp, (c) => c.notNull())
            .execute()
          await db.schema
            .createTable('tax_rules_order_profiles')
            .addColumn('order_id', 'text', (c) => c.primaryKey())
            .addColumn('vat_number', 'text')
            .addColumn('vat_country', 'text')
            .addColumn('exemption', 'text')
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .execute()
        },
      },
    },
    async init(ctx: Ctx): Promise<TaxRulesService> {
      // Group rules read @cartwright/customers' tables when that plugin is composed: every plugin's
      // migrations have run by now, so one probe outside any transaction tells (a failed query
      // inside a PostgreSQL transaction would abort the cart's pricing).
      if (exemptGroups.size > 0) {
        groupsReadable = await sql`select 1 from customers_group_members m join customers_groups g on g.id = m.group_id where 1 = 0`
          .execute(ctx.db)
          .then(
            () => true,
            () => false,
          )
      }

      // The order keeps the VAT number and exemption it was priced with; the cart's copy goes.
      ctx.hooks.hook('checkout.place', async ({ order, cart }, tx) => {
        const who = await buyer({ cartId: cart.id, customerId: cart.customerId }, tx.db as unknown as Kysely<any>)
        if (who.vatNumber !== null || who.exemption !== null) {
          await tx.db
            .insertInto('tax_rules_order_profiles')
            .values({ order_id: order.id, vat_number: who.vatNumber, vat_country: who.vatCountry, exemption: who.exemption, created_at: ctx.now().toISOString() })
            .onConflict((oc) => oc.column('order_id').doNothing())
            .execute()
        }
        await tx.db.deleteFrom('tax_rules_cart_profiles').where('cart_id', '=', cart.id).execute()
      })

      ctx.privacy({
        async export(subject, db) {
          const profile = subject.customerId ? await db.selectFrom('tax_rules_profiles').selectAll().where('customer_id', '=', subject.customerId).executeTakeFirst() : undefined
          const byEmail = subject.email ? sql`lower(o.email) = lower(${subject.email})` : sql`1 = 0`
          const byCustomer = subject.customerId ? sql`o.customer_id = ${subject.customerId}` : sql`1 = 0`
          const { rows: orders } = await sql<TaxRulesTables['tax_rules_order_profiles']>`select p.order_id, p.vat_number, p.vat_country, p.exemption from tax_rules_order_profiles p join cw_orders o on o.id = p.order_id where ${byEmail} or ${byCustomer} order by p.order_id`.execute(db)
          if (!profile && orders.length === 0) return undefined
          return {
            profile: profile ? customerProfile(profile) : null,
            orders: orders.map((r) => ({ orderId: r.order_id, vatNumber: r.vat_number, vatCountry: r.vat_country, exemption: r.exemption })),
          }
        },
        async erase(subject, tx) {
          if (subject.customerId) await tx.db.deleteFrom('tax_rules_profiles').where('customer_id', '=', subject.customerId).execute()
        },
      })

      const cartRow = async (tx: Tx, cartId: string) =>
        (await sql<{ id: string; status: string }>`select id, status from cw_carts where id = ${cartId}`.execute(tx.db)).rows[0]

      return {
        async setCustomerProfile(customerId, input) {
          const id = parse(idSchema, customerId, 'customer id', 'customerId')
          const change = parse(customerProfileSchema, input, 'tax profile')
          return ctx.transaction(async (tx) => {
            const before = await tx.db.selectFrom('tax_rules_profiles').selectAll().where('customer_id', '=', id).executeTakeFirst()
            const vat = change.vatNumber === undefined ? (before ? { vatNumber: before.vat_number, country: before.vat_country } : { vatNumber: null, country: null }) : change.vatNumber === null ? { vatNumber: null, country: null } : change.vatNumber
            const exempt = change.exempt ?? Number(before?.exempt ?? 0) === 1
            const reason = change.exemptReason === undefined ? (before?.exempt_reason ?? null) : change.exemptReason
            const certificate = change.exemptCertificate === undefined ? (before?.exempt_certificate ?? null) : change.exemptCertificate
            if (exempt && reason === null) throw validationError('tax profile', [{ path: 'exemptReason', message: 'an exempt customer needs the reason of the exemption' }])
            const row = {
              customer_id: id,
              vat_number: vat.vatNumber,
              vat_country: vat.country,
              exempt: exempt ? 1 : 0,
              exempt_reason: reason,
              exempt_certificate: certificate,
              updated_at: ctx.now().toISOString(),
            }
            await tx.db
              .insertInto('tax_rules_profiles')
              .values(row)
              .onConflict((oc) => oc.column('customer_id').doUpdateSet({ vat_number: row.vat_number, vat_country: row.vat_country, exempt: row.exempt, exempt_reason: row.exempt_reason, exempt_certificate: row.exempt_certificate, updated_at: row.updated_at }))
              .execute()
            const carts = (await sql<{ id: string }>`select id from cw_carts where customer_id = ${id} and status = 'open' order by id`.execute(tx.db)).rows
            for (const cart of carts) await tx.touchCart(cart.id)
            return customerProfile(row)
          })
        },
        async getCustomerProfile(customerId) {
          const id = parse(idSchema, customerId, 'customer id', 'customerId')
          const row = await ctx.db.selectFrom('tax_rules_profiles').selectAll().where('customer_id', '=', id).executeTakeFirst()
          return row ? customerProfile(row) : null
        },
        async setCartProfile(cartId, input) {
          const id = parse(idSchema, cartId, 'cart id', 'cartId')
          const change = parse(cartProfileSchema, input, 'cart tax profile')
          return ctx.transaction(async (tx) => {
            const cart = await cartRow(tx, id)
            if (!cart) throw notFound('Cart', id)
            if (cart.status !== 'open') throw new CommerceError('INVALID_STATE', `Cart ${JSON.stringify(id)} is ${cart.status}: its tax profile can no longer change`, { details: { cartId: id, status: cart.status } })
            const row = { cart_id: id, vat_number: change.vatNumber?.vatNumber ?? null, vat_country: change.vatNumber?.country ?? null, updated_at: ctx.now().toISOString() }
            await tx.db
              .insertInto('tax_rules_cart_profiles')
              .values(row)
              .onConflict((oc) => oc.column('cart_id').doUpdateSet({ vat_number: row.vat_number, vat_country: row.vat_country, updated_at: row.updated_at }))
              .execute()
            await tx.touchCart(id)
            return cartProfile(row)
          })
        },
        async getOrderProfile(orderId) {
          const id = parse(idSchema, orderId, 'order id', 'orderId')
          const row = await ctx.db.selectFrom('tax_rules_order_profiles').selectAll().where('order_id', '=', id).executeTakeFirst()
          return row ? { orderId: row.order_id, vatNumber: row.vat_number, vatCountry: row.vat_country, exemption: row.exemption } : null
        },
        async getCartProfile(cartId) {
          const id = parse(idSchema, cartId, 'cart id', 'cartId')
          const row = await ctx.db.selectFrom('tax_rules_cart_profiles').selectAll().where('cart_id', '=', id).executeTakeFirst()
          return row ? cartProfile(row) : null
        },
      }
    },
  })
}
