import { CommerceError, defineEndpoint, definePlugin, type Actor, type CoreCommerce, type PluginContext } from '@cartwright/core'
import type { Kysely } from 'kysely'
import { z } from 'zod'

// Routes the storefront's pages need that the Store API does not have yet: stock per variant on
// the product page, and the B2B lists (a buyer's quotes, an approver's pending requests). Each
// answers only what a shopper may see.

const customerOf = (actor: Actor) => {
  if (actor.kind !== 'customer') throw new CommerceError('NOT_FOUND', 'Sign in first')
  return actor.customerId
}

const stock = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/storefront/products/:handle/stock',
  summary: 'Units a shopper can buy now, per variant of an active product',
  access: 'public',
  input: z.strictObject({ handle: z.string().min(1).max(120) }),
  output: z.array(z.object({ variantId: z.string(), available: z.number().int() })),
  handler: async ({ input, commerce }) => {
    const engine = commerce as CoreCommerce
    const product = await engine.catalog.getProduct(input.handle)
    if (product.status !== 'active') throw new CommerceError('NOT_FOUND', `Product "${input.handle}" was not found`, { details: { entity: 'Product', id: input.handle } })
    return Promise.all(product.variants.map(async (v) => ({ variantId: v.id, available: Math.max(0, await engine.inventory.available(v.id)) })))
  },
})

const approvalRow = z.object({ id: z.string(), cartId: z.string(), buyerId: z.string(), buyerEmail: z.string().nullable(), total: z.number().int(), currency: z.string(), status: z.string(), createdAt: z.string() })

const approvals = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/storefront/b2b/approvals',
  summary: "The signed-in customer's company's approval requests: theirs as a buyer, all as an approver",
  access: 'customer',
  input: z.strictObject({}),
  output: z.array(approvalRow),
  handler: async ({ actor, commerce }) => {
    const customerId = customerOf(actor)
    const db = (commerce as CoreCommerce).db as unknown as Kysely<any>
    const member = await db.selectFrom('b2b_members').selectAll().where('customer_id', '=', customerId ).executeTakeFirst() as { company_id: string; role: string } | undefined
    if (!member) return []
    let query = db
      .selectFrom('b2b_approvals as a')
      .leftJoin('customers_customers as c', 'c.id', 'a.buyer_id')
      .select(['a.id', 'a.cart_id', 'a.buyer_id', 'c.email', 'a.total', 'a.currency', 'a.status', 'a.created_at'] )
      .where('a.company_id', '=', member.company_id )
    if (member.role === 'buyer') query = query.where('a.buyer_id', '=', customerId )
    const rows = (await query.orderBy('a.created_at', 'desc').limit(50).execute()) as Array<Record<string, unknown>>
    return rows.map((r) => ({ id: String(r.id), cartId: String(r.cart_id), buyerId: String(r.buyer_id), buyerEmail: (r.email as string | null) ?? null, total: Number(r.total), currency: String(r.currency), status: String(r.status), createdAt: String(r.created_at) }))
  },
})

const quotes = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/storefront/b2b/quotes',
  summary: 'Quotes sent to the signed-in buyer (not drafts), newest first',
  access: 'customer',
  input: z.strictObject({}),
  output: z.array(z.object({ id: z.string(), status: z.string(), currency: z.string(), expiresAt: z.string(), cartId: z.string().nullable() })),
  handler: async ({ actor, commerce }) => {
    const customerId = customerOf(actor)
    const db = (commerce as CoreCommerce).db as unknown as Kysely<any>
    const rows = (await db
      .selectFrom('b2b_quotes')
      .select(['id', 'status', 'currency', 'expires_at', 'cart_id'] )
      .where('buyer_id', '=', customerId )
      .where('status', '!=', 'draft')
      .orderBy('created_at', 'desc')
      .limit(50)
      .execute()) as Array<Record<string, unknown>>
    return rows.map((r) => ({ id: String(r.id), status: String(r.status), currency: String(r.currency), expiresAt: String(r.expires_at), cartId: (r.cart_id as string | null) ?? null }))
  },
})

/** The storefront's own Store routes, as a tuple for the typed client. */
export const storefrontEndpoints = [stock, approvals, quotes] as const

/** The storefront plugin's table: facts of the demo, by key. */
export interface StorefrontTables {
  storefront_demo: { key: string; value: string }
}

/**
 * A plugin carrying {@link storefrontEndpoints}, and a small table of the demo's facts (the seeded
 * gift card's code, which is random and shown only once when issued).
 */
export const storefront = () =>
  definePlugin({
    id: 'storefront',
    endpoints: storefrontEndpoints,
    migrations: {
      '0001_demo': {
        async up(db) {
          await db.schema.createTable('storefront_demo').addColumn('key', 'text', (c) => c.primaryKey()).addColumn('value', 'text', (c) => c.notNull()).execute()
        },
      },
    },
    init(ctx: PluginContext<StorefrontTables>) {
      return {
        async fact(key: string): Promise<string | null> {
          return (await ctx.db.selectFrom('storefront_demo').select('value').where('key', '=', key).executeTakeFirst())?.value ?? null
        },
        async remember(key: string, value: string): Promise<void> {
          await ctx.db.insertInto('storefront_demo').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute()
        },
      }
    },
  })
