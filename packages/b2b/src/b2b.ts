import { sql, type Kysely } from 'kysely'
import { definePlugin, notFound, type Cart, type Commerce, type EventsOf, type PaymentProvider, type PluginContext, type PluginTx, type PriceAnswer, type PriceQuery } from '@cartwright/core'
import { b2bEndpoints } from './endpoints.js'
import {
  b2bEvents,
  companySchema,
  decideSchema,
  parseId,
  memberSchema,
  parse,
  poSchema,
  priceListSchema,
  quantityRuleSchema,
  quoteSchema,
  type AddMemberInput,
  type CreateCompanyInput,
  type CreatePriceListInput,
  type CreateQuoteInput,
  type DecideApprovalInput,
  type SetPurchaseOrderInput,
  type SetQuantityRuleInput,
} from './schemas.js'

/**
 * The plugin's tables (prefix `b2b_`), for a host's own read queries.
 *
 * @example
 * ```ts
 * import type { Kysely } from 'kysely'
 *
 * declare const db: Kysely<B2bTables>
 * const owing = await db.selectFrom('b2b_companies').select(['name', 'credit_used']).where('credit_used', '>', 0).execute()
 * ```
 */
export interface B2bTables {
  b2b_price_lists: {
    id: string
    name: string
    group_id: string
    currency: string
    channel_id: string | null
    starts_at: string | null
    ends_at: string | null
    tax_inclusive: number
    created_at: string
  }
  b2b_price_list_prices: { list_id: string; variant_id: string; min_quantity: number; amount: number }
  b2b_companies: { id: string; name: string; currency: string; credit_limit: number | null; credit_used: number; net_days: number; created_at: string }
  b2b_members: { customer_id: string; company_id: string; role: MemberRole; spending_limit: number | null }
  b2b_approvals: {
    id: string
    company_id: string
    cart_id: string
    buyer_id: string
    cart_version: number
    total: number
    currency: string
    status: ApprovalStatus
    decided_by: string | null
    reason: string | null
    created_at: string
    decided_at: string | null
  }
  b2b_cart_po: { cart_id: string; po_number: string }
  b2b_order_links: { order_id: string; cart_id: string; po_number: string | null; quote_id: string | null; approval_id: string | null }
  b2b_quantity_rules: { variant_id: string; min_quantity: number; increment: number }
  b2b_quotes: {
    id: string
    company_id: string
    buyer_id: string
    currency: string
    status: QuoteStatus
    expires_at: string
    cart_id: string | null
    order_id: string | null
    created_at: string
  }
  b2b_quote_lines: { quote_id: string; variant_id: string; quantity: number; unit_price: number }
  /** Refunds of invoices already counted, by the engine's idempotency key. */
  b2b_invoice_refunds: { key: string; payment_id: string; amount: number }
  b2b_invoices: {
    payment_id: string
    company_id: string
    cart_id: string
    amount: number
    status: InvoiceStatus
    order_id: string | null
    due_at: string | null
  }
}

/** A member's role in a company: buyers order, approvers approve carts above a buyer's limit, admins do both. */
export type MemberRole = 'buyer' | 'approver' | 'admin'
/** An approval's status. `superseded`: the buyer asked again for the same cart. */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'superseded'
/** A quote's status. */
export type QuoteStatus = 'draft' | 'sent' | 'accepted' | 'ordered' | 'expired'
/** An invoice's status: `open` holds credit, `paid` and `released` (declined or canceled) do not. */
export type InvoiceStatus = 'open' | 'paid' | 'released'

type Events = EventsOf<typeof b2bEvents>
type Ctx = PluginContext<B2bTables, Events, B2bErrorCode>
type Tx = PluginTx<B2bTables, Events>

/**
 * The plugin's own error codes.
 *
 * @example
 * ```ts
 * import { isCommerceError } from '@cartwright/core'
 *
 * declare const shop: CommerceWithB2b
 * declare const cartId: string
 * try {
 *   await shop.checkout.complete(cartId, { payment: { provider: 'invoice' }, idempotencyKey: crypto.randomUUID() })
 * } catch (error) {
 *   if (isCommerceError<B2bErrorCode>(error, 'B2B_APPROVAL_REQUIRED')) await shop.b2b.requestApproval(cartId)
 *   else throw error
 * }
 * ```
 */
export type B2bErrorCode = 'B2B_APPROVAL_REQUIRED' | 'B2B_QUANTITY_RULE' | 'B2B_CREDIT_LIMIT' | 'B2B_QUOTE_EXPIRED' | 'B2B_STATE' | 'B2B_FORBIDDEN'

const errorCodes = {
  B2B_APPROVAL_REQUIRED: { description: "The cart's total is above the buyer's spending limit and no approval covers this version and total of the cart" },
  B2B_QUANTITY_RULE: { description: "A line's quantity is below the variant's minimum order quantity or not a multiple of its order increment" },
  B2B_CREDIT_LIMIT: { description: "Paying by invoice would take the company above its credit limit, or the buyer's company has no credit" },
  B2B_QUOTE_EXPIRED: { description: 'The quote expired: it cannot be accepted, and the cart accepted from it cannot be checked out' },
  B2B_STATE: { description: 'The approval, quote or invoice is not in a status that allows this' },
  B2B_FORBIDDEN: { description: 'The customer is not a member of the company in a role that may do this' },
} as const

/** The id of the payment provider the plugin contributes: pay by invoice on net terms. */
export const INVOICE_PROVIDER = 'invoice'

/** Priorities of the plugin's price sources (core's prices are 0): a quote beats a list's tier, which beats its price. */
export const PRIORITIES = { list: 10, tier: 11, quote: 20 } as const

/**
 * Options of {@link b2b}.
 *
 * @example
 * ```ts
 * const options: B2bOptions = { invoiceProvider: 'invoice' }
 * ```
 */
export interface B2bOptions {
  /** The id of the pay-by-invoice provider (default `'invoice'`). */
  invoiceProvider?: string
}

/** A price list, as returned. Amounts in minor units. */
export interface PriceList {
  id: string
  name: string
  groupId: string
  currency: string
  channelId: string | null
  startsAt: string | null
  endsAt: string | null
  taxInclusive: boolean
  prices: Array<{ variantId: string; amount: number; minQuantity: number }>
}

/** A company and its credit. */
export interface Company {
  id: string
  name: string
  /** The currency of the credit limit and of the members' spending limits. */
  currency: string
  creditLimit: number | null
  creditUsed: number
  netDays: number
}

/** A company member. */
export interface Member {
  companyId: string
  customerId: string
  role: MemberRole
  spendingLimit: number | null
}

/** An approval request for one version and total of a cart. */
export interface Approval {
  id: string
  companyId: string
  cartId: string
  buyerId: string
  cartVersion: number
  total: number
  currency: string
  status: ApprovalStatus
  decidedBy: string | null
  reason: string | null
  createdAt: string
  decidedAt: string | null
}

/**
 * An approval request as the company's members list it: with the buyer's email (null once the
 * buyer's account is erased or gone).
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithB2b
 * const pending = (await shop.b2b.approvalsFor('cus_boss')).filter((a: CompanyApproval) => a.status === 'pending')
 * ```
 */
export interface CompanyApproval extends Approval {
  buyerEmail: string | null
}

/** How many approvals or quotes `approvalsFor` and `quotesFor` answer at most, newest first. */
export const LIST_LIMIT = 100

/** A quote with its negotiated lines. */
export interface Quote {
  id: string
  companyId: string
  buyerId: string
  currency: string
  status: QuoteStatus
  expiresAt: string
  cartId: string | null
  orderId: string | null
  lines: Array<{ variantId: string; quantity: number; unitPrice: number }>
}

/** What the plugin keeps about an order: its purchase-order number, quote and approval. */
export interface OrderLink {
  orderId: string
  cartId: string
  poNumber: string | null
  quoteId: string | null
  approvalId: string | null
}

/** An invoice (a checkout paid by invoice). */
export interface Invoice {
  paymentId: string
  companyId: string
  orderId: string | null
  amount: number
  status: InvoiceStatus
  dueAt: string | null
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v))
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v))

const toApproval = (r: B2bTables['b2b_approvals']): Approval => ({
  id: r.id,
  companyId: r.company_id,
  cartId: r.cart_id,
  buyerId: r.buyer_id,
  cartVersion: Number(r.cart_version),
  total: Number(r.total),
  currency: r.currency,
  status: r.status,
  decidedBy: r.decided_by,
  reason: r.reason,
  createdAt: iso(r.created_at),
  decidedAt: isoOrNull(r.decided_at),
})

const toCompany = (r: B2bTables['b2b_companies']): Company => ({
  id: r.id,
  name: r.name,
  currency: r.currency,
  creditLimit: r.credit_limit === null ? null : Number(r.credit_limit),
  creditUsed: Number(r.credit_used),
  netDays: Number(r.net_days),
})

/** One list's price of a variant for a quantity: its price from 1 unit and its tier for the quantity. */
interface ListChoice {
  list: B2bTables['b2b_price_lists']
  base: { amount: number; minQuantity: number } | null
  tier: { amount: number; minQuantity: number }
}

/**
 * The list that prices each line, by the documented precedence: lists of the customer's groups in
 * the query's currency, in force now, for the query's channel or for every channel; of those, a
 * list for the channel before a list for every channel, then the lowest price for the line's
 * quantity, then the list created first (then the smaller id).
 */
async function chooseLists(db: Kysely<B2bTables>, query: PriceQuery, now: Date): Promise<Array<ListChoice | undefined>> {
  const none = query.lines.map(() => undefined)
  if (!query.customerId || query.lines.length === 0) return none
  const groups = (await sql<{ group_id: string }>`select group_id from customers_group_members where customer_id = ${query.customerId}`.execute(db)).rows.map((r) => r.group_id)
  if (groups.length === 0) return none
  const lists = (
    await db
      .selectFrom('b2b_price_lists')
      .selectAll()
      .where('group_id', 'in', groups)
      .where('currency', '=', query.currency)
      .execute()
  ).filter(
    (l) =>
      (l.channel_id === null || l.channel_id === query.channelId) &&
      (l.starts_at === null || Date.parse(iso(l.starts_at)) <= now.getTime()) &&
      (l.ends_at === null || Date.parse(iso(l.ends_at)) > now.getTime()),
  )
  if (lists.length === 0) return none
  const variants = [...new Set(query.lines.map((l) => l.variantId))]
  const prices = await db
    .selectFrom('b2b_price_list_prices')
    .selectAll()
    .where('list_id', 'in', lists.map((l) => l.id))
    .where('variant_id', 'in', variants)
    .execute()
  return query.lines.map((line) => {
    let best: ListChoice | undefined
    for (const list of lists) {
      const own = prices.filter((p) => p.list_id === list.id && p.variant_id === line.variantId).map((p) => ({ amount: Number(p.amount), minQuantity: Number(p.min_quantity) }))
      let tier: ListChoice['tier'] | undefined
      for (const p of own) if (p.minQuantity <= line.quantity && (!tier || p.minQuantity > tier.minQuantity)) tier = p
      if (!tier) continue
      const candidate: ListChoice = { list, base: own.find((p) => p.minQuantity === 1) ?? null, tier }
      if (!best || better(candidate, best)) best = candidate
    }
    return best
  })
}

function better(a: ListChoice, b: ListChoice): boolean {
  const specific = (c: ListChoice) => (c.list.channel_id === null ? 0 : 1)
  if (specific(a) !== specific(b)) return specific(a) > specific(b)
  if (a.tier.amount !== b.tier.amount) return a.tier.amount < b.tier.amount
  const at = iso(a.list.created_at)
  const bt = iso(b.list.created_at)
  if (at !== bt) return at < bt
  return a.list.id < b.list.id
}

const taxNote = (list: B2bTables['b2b_price_lists']) => (Number(list.tax_inclusive) ? 'prices include tax' : 'prices exclude tax')

/**
 * The B2B service, reachable as `commerce.b2b`: price lists per customer group, companies with
 * members and spending limits, approvals of carts above a buyer's limit, purchase-order numbers,
 * quotes, minimum order quantities and order increments, and invoices on net terms.
 */
export interface B2bService {
  /**
   * Creates a price list for a customer group, in one currency, optionally for one channel and a
   * date range, with prices per variant from a minimum quantity (quantity tiers).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const list = await shop.b2b.createPriceList({
   *   name: 'Wholesale', groupId: 'grp_1', currency: 'USD',
   *   prices: [{ variantId, amount: 800 }, { variantId, amount: 750, minQuantity: 40 }],
   * })
   * ```
   */
  createPriceList(input: CreatePriceListInput): Promise<PriceList>
  /**
   * A price list. Throws `NOT_FOUND`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const list = await shop.b2b.getPriceList('pl_1')
   * ```
   */
  getPriceList(listId: string): Promise<PriceList>
  /**
   * Deletes a price list and its prices: carts priced by it fall back to the next price.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * await shop.b2b.deletePriceList('pl_1')
   * ```
   */
  deletePriceList(listId: string): Promise<void>
  /**
   * Creates a company; `creditLimit` (minor units) lets its buyers pay by invoice up to it.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const acme = await shop.b2b.createCompany({ name: 'Acme', currency: 'USD', creditLimit: 1_000_000, netDays: 30 })
   * ```
   */
  createCompany(input: CreateCompanyInput): Promise<Company>
  /**
   * A company, with the credit its open invoices use. Throws `NOT_FOUND`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const { creditUsed, creditLimit } = await shop.b2b.getCompany('co_1')
   * ```
   */
  getCompany(companyId: string): Promise<Company>
  /**
   * Adds a customer to a company (or changes their role and limit). A customer belongs to one company.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * await shop.b2b.addMember({ companyId: 'co_1', customerId: 'cus_1', role: 'buyer', spendingLimit: 50_000 })
   * ```
   */
  addMember(input: AddMemberInput): Promise<Member>
  /**
   * The company membership of a customer, or null.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const member = await shop.b2b.membership('cus_1')
   * ```
   */
  membership(customerId: string): Promise<Member | null>
  /**
   * Asks the buyer's company to approve the cart as it is now (its version and total). Nothing is
   * reserved: it is only a request. An earlier pending request for the cart is superseded.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const approval = await shop.b2b.requestApproval(cart.id)
   * approval.status // 'pending'
   * ```
   */
  requestApproval(cartId: string): Promise<Approval>
  /**
   * Approves a pending request (an approver or admin of the company, not the buyer).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * await shop.b2b.approve({ approvalId: 'apr_1', approverId: 'cus_boss' })
   * ```
   */
  approve(input: DecideApprovalInput): Promise<Approval>
  /**
   * Rejects a pending request, with an optional reason: the buyer is told by the status and the
   * `b2b.approval_rejected` event.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * await shop.b2b.reject({ approvalId: 'apr_1', approverId: 'cus_boss', reason: 'over budget' })
   * ```
   */
  reject(input: DecideApprovalInput): Promise<Approval>
  /**
   * The latest approval request of a cart, or null.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const latest = await shop.b2b.approvalOf(cart.id)
   * if (latest?.status === 'rejected') console.log(latest.reason)
   * ```
   */
  approvalOf(cartId: string): Promise<Approval | null>
  /**
   * The approval requests a signed-in member may see, newest first (at most {@link LIST_LIMIT}):
   * a buyer's own requests; every request of the company for an approver or an admin. Empty for a
   * customer of no company.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const requests = await shop.b2b.approvalsFor('cus_boss')
   * for (const r of requests) console.log(r.buyerEmail, r.total, r.status)
   * ```
   */
  approvalsFor(customerId: string): Promise<CompanyApproval[]>
  /**
   * Sets the purchase-order number of a cart; the order placed from it keeps it.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * await shop.b2b.setPurchaseOrder({ cartId: cart.id, poNumber: 'PO-2026-118' })
   * ```
   */
  setPurchaseOrder(input: SetPurchaseOrderInput): Promise<void>
  /**
   * What the plugin linked to an order (PO number, quote, approval), or null.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const link = await shop.b2b.orderLink(order.id)
   * link?.poNumber
   * ```
   */
  orderLink(orderId: string): Promise<OrderLink | null>
  /**
   * Sets a variant's minimum order quantity and order increment (both 1 removes the rule's effect).
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * await shop.b2b.setQuantityRule({ variantId, minQuantity: 12, increment: 6 })
   * ```
   */
  setQuantityRule(input: SetQuantityRuleInput): Promise<void>
  /**
   * Creates a draft quote: negotiated unit prices for a buyer of a company, valid until `expiresAt`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const quote = await shop.b2b.createQuote({ companyId: 'co_1', buyerId: 'cus_1', currency: 'USD', expiresAt: '2026-12-31T23:59:59Z', lines: [{ variantId, quantity: 100, unitPrice: 690 }] })
   * ```
   */
  createQuote(input: CreateQuoteInput): Promise<Quote>
  /**
   * Sends a draft quote to its buyer.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * await shop.b2b.sendQuote('quo_1')
   * ```
   */
  sendQuote(quoteId: string): Promise<Quote>
  /**
   * Accepts a sent quote into a new cart of its buyer, whose lines the quote prices at the quoted
   * quantities until the quote's expiry; at most once, and not after it expired
   * (`B2B_QUOTE_EXPIRED`). The cart must be checked out before the expiry: after it, checkout
   * refuses it with `B2B_QUOTE_EXPIRED`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const { cartId } = await shop.b2b.acceptQuote('quo_1')
   * ```
   */
  acceptQuote(quoteId: string): Promise<{ quote: Quote; cartId: string }>
  /**
   * A quote. Throws `NOT_FOUND`.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const quote = await shop.b2b.getQuote('quo_1')
   * ```
   */
  getQuote(quoteId: string): Promise<Quote>
  /**
   * The quotes sent to a buyer (never drafts), newest first (at most {@link LIST_LIMIT}), with
   * their lines.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const open = (await shop.b2b.quotesFor('cus_1')).filter((q) => q.status === 'sent')
   * ```
   */
  quotesFor(customerId: string): Promise<Quote[]>
  /**
   * Marks every sent or accepted (not yet ordered) quote past its expiry `expired`; returns how
   * many. An accepted quote's cart is then no longer priced by it, and its checkout is refused.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const expired = await shop.b2b.expireQuotes()
   * ```
   */
  expireQuotes(): Promise<number>
  /**
   * The invoice of an order paid by invoice, or null.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * const invoice = await shop.b2b.invoiceOf(order.id)
   * invoice?.dueAt
   * ```
   */
  invoiceOf(orderId: string): Promise<Invoice | null>
  /**
   * Records that the company paid an order's invoice: its credit is given back.
   *
   * @example
   * ```ts
   * declare const shop: CommerceWithB2b
   * await shop.b2b.markInvoicePaid(order.id)
   * ```
   */
  markInvoicePaid(orderId: string): Promise<Invoice>
}

/**
 * An engine composed with this plugin: what a host passes to code that uses `commerce.b2b`.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithB2b
 * async function owing(shop: CommerceWithB2b, companyId: string) {
 *   return (await shop.b2b.getCompany(companyId)).creditUsed
 * }
 * ```
 */
export type CommerceWithB2b = Commerce<[ReturnType<typeof b2b>]>

/**
 * The B2B plugin. Needs `@cartwright/customers` (customer groups) in the same composition.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { customers } from '@cartwright/customers'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 * import { b2b } from '@cartwright/b2b'
 *
 * const shop = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), plugins: [customers(), b2b()] })
 * await shop.b2b.createCompany({ name: 'Acme', currency: 'USD', creditLimit: 1_000_000 })
 * ```
 */
export function b2b(options: B2bOptions = {}) {
  const invoiceId = options.invoiceProvider ?? INVOICE_PROVIDER
  // The invoice provider moves no money: the credit is taken in the claim and given back on a
  // release or when the invoice is paid.
  const invoiceProvider: PaymentProvider = {
    id: invoiceId,
    capabilities: { capture: true, partialCapture: false, refund: true, void: true },
    async authorize(input) {
      return { status: 'authorized', reference: `invoice:${input.paymentId}` }
    },
    async capture(input) {
      return { status: 'succeeded', reference: input.idempotencyKey }
    },
    async void(input) {
      return { status: 'succeeded', reference: input.idempotencyKey }
    },
    async refund(input) {
      // A refund of an open invoice is a credit note: the amount owed, and the credit it holds,
      // go down by it (once per key: the engine repeats the key when it retries).
      if (plugin) {
        const ctx = plugin
        await ctx.transaction(async (tx) => {
          const seen = await tx.db.insertInto('b2b_invoice_refunds').values({ key: input.idempotencyKey, payment_id: input.paymentId, amount: input.amount }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst()
          if (Number(seen.numInsertedOrUpdatedRows ?? 0) !== 1) return
          // The invoice is read by a no-op update, which locks the row (PostgreSQL waits for a
          // concurrent payment, cancel or release and sees its outcome; SQLite writes one at a
          // time): only what is open now is lowered, and only what was taken off it is freed.
          const invoice = await tx.db
            .updateTable('b2b_invoices')
            .set({ amount: sql`amount` })
            .where('payment_id', '=', input.paymentId)
            .where('status', '=', 'open')
            .returning(['amount', 'company_id'])
            .executeTakeFirst()
          if (!invoice) return
          const less = Math.min(input.amount, Number(invoice.amount))
          if (less <= 0) return
          const lowered = await tx.db
            .updateTable('b2b_invoices')
            .set({ amount: sql`amount - ${less}` })
            .where('payment_id', '=', input.paymentId)
            .where('status', '=', 'open')
            .where('amount', '>=', less)
            .executeTakeFirst()
          if (Number(lowered.numUpdatedRows) !== 1) return
          await tx.db.updateTable('b2b_companies').set({ credit_used: sql`credit_used - ${less}` }).where('id', '=', invoice.company_id).execute()
        })
      }
      return { status: 'succeeded', reference: input.idempotencyKey }
    },
  }
  let plugin: Ctx | undefined

  return definePlugin({
    id: 'b2b',
    dependsOn: ['customers'],
    events: b2bEvents,
    errorCodes,
    payments: [invoiceProvider],
    endpoints: b2bEndpoints,
    migrations: {
      '0001_b2b': {
        async up(db, { types }) {
          await db.schema
            .createTable('b2b_price_lists')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('name', 'text', (c) => c.notNull())
            .addColumn('group_id', 'text', (c) => c.notNull())
            .addColumn('currency', 'text', (c) => c.notNull())
            .addColumn('channel_id', 'text')
            .addColumn('starts_at', types.timestamp)
            .addColumn('ends_at', types.timestamp)
            .addColumn('tax_inclusive', 'integer', (c) => c.notNull())
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .execute()
          await db.schema.createIndex('b2b_price_lists_group').on('b2b_price_lists').columns(['group_id', 'currency']).execute()
          await db.schema
            .createTable('b2b_price_list_prices')
            .addColumn('list_id', 'text', (c) => c.notNull().references('b2b_price_lists.id').onDelete('cascade'))
            .addColumn('variant_id', 'text', (c) => c.notNull())
            .addColumn('min_quantity', 'integer', (c) => c.notNull())
            .addColumn('amount', types.money, (c) => c.notNull())
            .addPrimaryKeyConstraint('b2b_price_list_prices_pk', ['list_id', 'variant_id', 'min_quantity'])
            .execute()
          await db.schema
            .createTable('b2b_companies')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('name', 'text', (c) => c.notNull())
            .addColumn('currency', 'text', (c) => c.notNull())
            .addColumn('credit_limit', types.money)
            .addColumn('credit_used', types.money, (c) => c.notNull().defaultTo(0))
            .addColumn('net_days', 'integer', (c) => c.notNull())
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            // The credit check's last line of defence: never more used than the limit.
            .addCheckConstraint('b2b_companies_credit', sql`credit_used >= 0 and (credit_limit is null or credit_used <= credit_limit)`)
            .execute()
          await db.schema
            .createTable('b2b_members')
            .addColumn('customer_id', 'text', (c) => c.primaryKey())
            .addColumn('company_id', 'text', (c) => c.notNull().references('b2b_companies.id'))
            .addColumn('role', 'text', (c) => c.notNull())
            .addColumn('spending_limit', types.money)
            .execute()
          await db.schema
            .createTable('b2b_approvals')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('company_id', 'text', (c) => c.notNull())
            .addColumn('cart_id', 'text', (c) => c.notNull())
            .addColumn('buyer_id', 'text', (c) => c.notNull())
            .addColumn('cart_version', 'integer', (c) => c.notNull())
            .addColumn('total', types.money, (c) => c.notNull())
            .addColumn('currency', 'text', (c) => c.notNull())
            .addColumn('status', 'text', (c) => c.notNull())
            .addColumn('decided_by', 'text')
            .addColumn('reason', 'text')
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .addColumn('decided_at', types.timestamp)
            .execute()
          await db.schema.createIndex('b2b_approvals_cart').on('b2b_approvals').columns(['cart_id', 'status']).execute()
          await db.schema
            .createTable('b2b_cart_po')
            .addColumn('cart_id', 'text', (c) => c.primaryKey())
            .addColumn('po_number', 'text', (c) => c.notNull())
            .execute()
          await db.schema
            .createTable('b2b_order_links')
            .addColumn('order_id', 'text', (c) => c.primaryKey())
            .addColumn('cart_id', 'text', (c) => c.notNull())
            .addColumn('po_number', 'text')
            .addColumn('quote_id', 'text')
            .addColumn('approval_id', 'text')
            .execute()
          await db.schema
            .createTable('b2b_quantity_rules')
            .addColumn('variant_id', 'text', (c) => c.primaryKey())
            .addColumn('min_quantity', 'integer', (c) => c.notNull())
            .addColumn('increment', 'integer', (c) => c.notNull())
            .execute()
          await db.schema
            .createTable('b2b_quotes')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('company_id', 'text', (c) => c.notNull().references('b2b_companies.id'))
            .addColumn('buyer_id', 'text', (c) => c.notNull())
            .addColumn('currency', 'text', (c) => c.notNull())
            .addColumn('status', 'text', (c) => c.notNull())
            .addColumn('expires_at', types.timestamp, (c) => c.notNull())
            .addColumn('cart_id', 'text', (c) => c.unique())
            .addColumn('order_id', 'text')
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .execute()
          await db.schema
            .createTable('b2b_quote_lines')
            .addColumn('quote_id', 'text', (c) => c.notNull().references('b2b_quotes.id'))
            .addColumn('variant_id', 'text', (c) => c.notNull())
            .addColumn('quantity', 'integer', (c) => c.notNull())
            .addColumn('unit_price', types.money, (c) => c.notNull())
            .addPrimaryKeyConstraint('b2b_quote_lines_pk', ['quote_id', 'variant_id'])
            .execute()
          await db.schema
            .createTable('b2b_invoices')
            .addColumn('payment_id', 'text', (c) => c.primaryKey())
            .addColumn('company_id', 'text', (c) => c.notNull().references('b2b_companies.id'))
            .addColumn('cart_id', 'text', (c) => c.notNull())
            .addColumn('amount', types.money, (c) => c.notNull())
            .addColumn('status', 'text', (c) => c.notNull())
            .addColumn('order_id', 'text')
            .addColumn('due_at', types.timestamp)
            .execute()
          await db.schema.createIndex('b2b_invoices_order').on('b2b_invoices').column('order_id').execute()
          await db.schema
            .createTable('b2b_invoice_refunds')
            .addColumn('key', 'text', (c) => c.primaryKey())
            .addColumn('payment_id', 'text', (c) => c.notNull())
            .addColumn('amount', types.money, (c) => c.notNull())
            .execute()
        },
      },
    },
    init(ctx: Ctx): B2bService {
      plugin = ctx
      const { db } = ctx
      const nowIso = () => ctx.now().toISOString()

      // ---- price sources --------------------------------------------------------------------
      // Both list sources are asked with the same query object for one cart: the lists are chosen once.
      const chosenFor = new WeakMap<PriceQuery, Promise<Array<ListChoice | undefined>>>()
      const choose = (query: PriceQuery, rdb: Kysely<B2bTables>) => {
        let chosen = chosenFor.get(query)
        if (!chosen) {
          chosen = chooseLists(rdb, query, ctx.now())
          chosenFor.set(query, chosen)
          // A failed read is not kept: the next asking reads again.
          chosen.catch(() => chosenFor.delete(query))
        }
        return chosen
      }
      ctx.priceSource({
        id: 'b2b-price-list',
        priority: PRIORITIES.list,
        async resolve(query, rdb) {
          const chosen = await choose(query, rdb)
          return chosen.map((c): PriceAnswer | undefined => {
            if (!c) return undefined
            const price = c.base ?? c.tier
            return {
              amount: price.amount,
              label: `${c.list.name} (list ${c.list.id})`,
              note: `price list ${c.list.name} for customer group ${c.list.group_id}${c.list.channel_id ? ` in channel ${c.list.channel_id}` : ''}: ${price.amount} a unit from ${price.minQuantity}; ${taxNote(c.list)}`,
            }
          })
        },
      })
      ctx.priceSource({
        id: 'b2b-price-tier',
        priority: PRIORITIES.tier,
        async resolve(query, rdb) {
          const chosen = await choose(query, rdb)
          return chosen.map((c, i): PriceAnswer | undefined => {
            if (!c || c.tier.minQuantity === 1) return undefined
            return {
              amount: c.tier.amount,
              label: `${c.list.name} from ${c.tier.minQuantity} (list ${c.list.id})`,
              note: `quantity tier of price list ${c.list.name}: ${c.tier.amount} a unit from ${c.tier.minQuantity} units (${query.lines[i]!.quantity} ordered)${c.base ? `, instead of the list's ${c.base.amount}` : ''}; ${taxNote(c.list)}`,
            }
          })
        },
      })
      ctx.priceSource({
        id: 'b2b-quote',
        priority: PRIORITIES.quote,
        async resolve(query, rdb) {
          if (!query.cartId) return query.lines.map(() => undefined)
          const quote = await rdb
            .selectFrom('b2b_quotes')
            .select(['id', 'currency', 'status', 'expires_at'])
            .where('cart_id', '=', query.cartId)
            .where('status', 'in', ['accepted', 'ordered'])
            .executeTakeFirst()
          if (!quote || quote.currency !== query.currency) return query.lines.map(() => undefined)
          // An accepted quote prices its cart until its expiry only (an ordered one keeps its order's prices).
          if (quote.status === 'accepted' && Date.parse(iso(quote.expires_at)) <= ctx.now().getTime()) return query.lines.map(() => undefined)
          const lines = await rdb.selectFrom('b2b_quote_lines').selectAll().where('quote_id', '=', quote.id).execute()
          const byVariant = new Map(lines.map((l) => [l.variant_id, l]))
          return query.lines.map((line) => {
            const q = byVariant.get(line.variantId)
            // The negotiated price holds at the quoted quantity only; at any other, lists and core price the line.
            if (!q || line.quantity !== Number(q.quantity)) return undefined
            return { amount: Number(q.unit_price), label: `quote ${quote.id}`, note: `negotiated in quote ${quote.id} for ${Number(q.quantity)} units` }
          })
        },
      })

      // ---- hooks ----------------------------------------------------------------------------
      ctx.hooks.hook('cart.changed', async ({ cartId }, tx) => checkQuantityRules(tx, cartId))

      /** Refuses a cart with a line below its variant's minimum or off its increment (`B2B_QUANTITY_RULE`). */
      async function checkQuantityRules(tx: Tx, cartId: string) {
        const { rows } = await sql<{ variant_id: string; quantity: number; min_quantity: number; increment: number }>`
          select l.variant_id, l.quantity, r.min_quantity, r.increment
          from cw_cart_lines l join b2b_quantity_rules r on r.variant_id = l.variant_id
          where l.cart_id = ${cartId}`.execute(tx.db)
        for (const r of rows) {
          const quantity = Number(r.quantity)
          const min = Number(r.min_quantity)
          const step = Number(r.increment)
          if (quantity < min || quantity % step !== 0) {
            throw ctx.error(
              'B2B_QUANTITY_RULE',
              `Variant ${r.variant_id} is sold from ${min} units in steps of ${step}; the cart would hold ${quantity}`,
              { details: { variantId: r.variant_id, quantity, minQuantity: min, increment: step, fields: ['quantity'] } },
            )
          }
        }
      }

      ctx.hooks.hook('checkout.claim', async ({ cart, paymentId, tenders }, tx) => {
        // A rule set after the lines were added holds at checkout too.
        await checkQuantityRules(tx, cart.id)
        // A cart accepted from a quote is checked out before the quote's deadline, or not at all.
        const quote = await tx.db.selectFrom('b2b_quotes').select(['id', 'status', 'expires_at']).where('cart_id', '=', cart.id).executeTakeFirst()
        if (quote && (quote.status === 'expired' || (quote.status === 'accepted' && Date.parse(iso(quote.expires_at)) <= ctx.now().getTime()))) {
          const expiresAt = iso(quote.expires_at)
          throw ctx.error('B2B_QUOTE_EXPIRED', `Cart ${cart.id} was accepted from quote ${quote.id}, which expired at ${expiresAt}`, { details: { cartId: cart.id, quoteId: quote.id, expiresAt } })
        }
        const member = cart.customerId ? await tx.db.selectFrom('b2b_members').selectAll().where('customer_id', '=', cart.customerId).executeTakeFirst() : undefined
        if (member) await requireApproval(tx, cart, member)
        const { rows } = await sql<{ provider: string }>`select provider from cw_payments where id = ${paymentId}`.execute(tx.db)
        if (rows[0]?.provider !== invoiceId) return
        if (!member) throw ctx.error('B2B_CREDIT_LIMIT', `Only a company's members pay by invoice; cart ${cart.id} has ${cart.customerId ? 'a customer outside any company' : 'no customer'}`, { details: { cartId: cart.id } })
        const amount = cart.totals.total - tenders.reduce((sum, t) => sum + t.amount, 0)
        // The credit is taken like stock: a conditional update, refused when it would pass the limit.
        const taken = await tx.db
          .updateTable('b2b_companies')
          .set({ credit_used: sql`credit_used + ${amount}` })
          .where('id', '=', member.company_id)
          .where('currency', '=', cart.currency)
          .where('credit_limit', 'is not', null)
          .where(sql<boolean>`credit_used + ${amount} <= credit_limit`)
          .executeTakeFirst()
        if (Number(taken.numUpdatedRows) !== 1) {
          throw ctx.error('B2B_CREDIT_LIMIT', `Company ${member.company_id} has not ${amount} ${cart.currency} of credit left to pay cart ${cart.id} by invoice (or its credit is in another currency)`, {
            details: { companyId: member.company_id, amount, cartId: cart.id },
          })
        }
        await tx.db.insertInto('b2b_invoices').values({ payment_id: paymentId, company_id: member.company_id, cart_id: cart.id, amount, status: 'open', order_id: null, due_at: null }).execute()
      })

      ctx.hooks.hook('checkout.place', async ({ order, cart, paymentId }, tx) => {
        const member = cart.customerId ? await tx.db.selectFrom('b2b_members').select('company_id').where('customer_id', '=', cart.customerId).executeTakeFirst() : undefined
        const po = await tx.db.selectFrom('b2b_cart_po').select('po_number').where('cart_id', '=', cart.id).executeTakeFirst()
        const quote = await tx.db.selectFrom('b2b_quotes').select('id').where('cart_id', '=', cart.id).where('status', '=', 'accepted').executeTakeFirst()
        if (quote) await tx.db.updateTable('b2b_quotes').set({ status: 'ordered', order_id: order.id }).where('id', '=', quote.id).where('status', '=', 'accepted').execute()
        const approval = await tx.db
          .selectFrom('b2b_approvals')
          .select('id')
          .where('cart_id', '=', cart.id)
          .where('status', '=', 'approved')
          .where('cart_version', '=', cart.version)
          .where('total', '=', order.totals.total)
          // The approval that let the claim through: the buyer's current company's.
          .where('company_id', '=', member?.company_id ?? '')
          .executeTakeFirst()
        if (po || quote || approval) {
          await tx.db
            .insertInto('b2b_order_links')
            .values({ order_id: order.id, cart_id: cart.id, po_number: po?.po_number ?? null, quote_id: quote?.id ?? null, approval_id: approval?.id ?? null })
            .onConflict((oc) => oc.column('order_id').doNothing())
            .execute()
        }
        const invoice = await tx.db.selectFrom('b2b_invoices').selectAll().where('payment_id', '=', paymentId).executeTakeFirst()
        if (invoice) {
          const company = await tx.db.selectFrom('b2b_companies').select('net_days').where('id', '=', invoice.company_id).executeTakeFirstOrThrow()
          const due = new Date(ctx.now().getTime() + Number(company.net_days) * 86_400_000).toISOString()
          await tx.db.updateTable('b2b_invoices').set({ order_id: order.id, due_at: due }).where('payment_id', '=', paymentId).execute()
          tx.emit('b2b.invoice_opened', { orderId: order.id, companyId: invoice.company_id, amount: Number(invoice.amount), dueAt: due })
        }
      })

      ctx.hooks.hook('checkout.release', async ({ paymentId }, tx) => {
        await giveBack(tx, paymentId, 'released')
      })

      /** Vetoes a claim above the buyer's limit unless an approval covers this version and total of the cart. */
      async function requireApproval(tx: Tx, cart: Cart, member: B2bTables['b2b_members']) {
        if (member.spending_limit === null) return
        const company = await tx.db.selectFrom('b2b_companies').select('currency').where('id', '=', member.company_id).executeTakeFirstOrThrow()
        // A limit in another currency cannot be compared: such a cart always needs an approval.
        if (cart.currency === company.currency && cart.totals.total <= Number(member.spending_limit)) return
        const approved = await tx.db
          .selectFrom('b2b_approvals')
          .select('id')
          .where('cart_id', '=', cart.id)
          .where('status', '=', 'approved')
          .where('cart_version', '=', cart.version)
          .where('total', '=', cart.totals.total)
          // Granted by the buyer's current company: a buyer moved to another company asks again.
          .where('company_id', '=', member.company_id)
          .executeTakeFirst()
        if (approved) return
        const latest = await tx.db.selectFrom('b2b_approvals').select(['id', 'status', 'cart_version', 'total']).where('cart_id', '=', cart.id).where('company_id', '=', member.company_id).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirst()
        const why = !latest
          ? 'no approval was requested'
          : latest.status === 'approved'
            ? 'the cart changed after it was approved'
            : `its approval is ${latest.status}`
        throw ctx.error('B2B_APPROVAL_REQUIRED', `Cart ${cart.id} totals ${cart.totals.total} ${cart.currency}, above the buyer's limit of ${Number(member.spending_limit)} ${company.currency}, and ${why}`, {
          details: { cartId: cart.id, total: cart.totals.total, spendingLimit: Number(member.spending_limit), approvalId: latest?.id ?? null, approvalStatus: latest?.status ?? null },
        })
      }

      /**
       * Closes an open invoice and frees the credit it holds: the amount subtracted is the one the
       * conditional update returns (what the invoice held when it closed, after any credit note),
       * never an amount read earlier. Returns null when the invoice was not open.
       */
      async function giveBack(tx: Tx, paymentId: string, status: 'released' | 'paid') {
        const closed = await tx.db
          .updateTable('b2b_invoices')
          .set({ status })
          .where('payment_id', '=', paymentId)
          .where('status', '=', 'open')
          .returning(['amount', 'company_id'])
          .executeTakeFirst()
        if (!closed) return null
        const amount = Number(closed.amount)
        await tx.db
          .updateTable('b2b_companies')
          .set({ credit_used: sql`credit_used - ${amount}` })
          .where('id', '=', closed.company_id)
          .execute()
        return { amount, companyId: closed.company_id }
      }

      // ---- privacy ----------------------------------------------------------------------------
      ctx.privacy({
        export: async ({ customerId }, rdb) => {
          if (!customerId) return undefined
          const member = await rdb.selectFrom('b2b_members').selectAll().where('customer_id', '=', customerId).executeTakeFirst()
          const approvals = await rdb.selectFrom('b2b_approvals').selectAll().where((eb) => eb.or([eb('buyer_id', '=', customerId), eb('decided_by', '=', customerId)])).execute()
          const quotes = await rdb.selectFrom('b2b_quotes').selectAll().where('buyer_id', '=', customerId).execute()
          if (!member && approvals.length === 0 && quotes.length === 0) return undefined
          return { membership: member ?? null, approvals: approvals.map(toApproval), quotes: quotes.map((q) => ({ id: q.id, status: q.status, companyId: q.company_id })) }
        },
        erase: async ({ customerId }, tx) => {
          if (!customerId) return
          // Membership goes; approvals and quotes stay for the company's books, without the free-text reason.
          await tx.db.deleteFrom('b2b_members').where('customer_id', '=', customerId).execute()
          await tx.db.updateTable('b2b_approvals').set({ reason: null }).where('buyer_id', '=', customerId).execute()
        },
      })

      // ---- service ----------------------------------------------------------------------------
      async function loadList(listId: string): Promise<PriceList> {
        const list = await db.selectFrom('b2b_price_lists').selectAll().where('id', '=', listId).executeTakeFirst()
        if (!list) throw notFound('Price list', listId)
        const prices = await db.selectFrom('b2b_price_list_prices').selectAll().where('list_id', '=', listId).orderBy('variant_id').orderBy('min_quantity').execute()
        return {
          id: list.id,
          name: list.name,
          groupId: list.group_id,
          currency: list.currency,
          channelId: list.channel_id,
          startsAt: isoOrNull(list.starts_at),
          endsAt: isoOrNull(list.ends_at),
          taxInclusive: Boolean(Number(list.tax_inclusive)),
          prices: prices.map((p) => ({ variantId: p.variant_id, amount: Number(p.amount), minQuantity: Number(p.min_quantity) })),
        }
      }

      async function loadQuote(quoteId: string): Promise<Quote> {
        const q = await db.selectFrom('b2b_quotes').selectAll().where('id', '=', quoteId).executeTakeFirst()
        if (!q) throw notFound('Quote', quoteId)
        return (await withLines([q]))[0]!
      }

      /** Quotes with their lines, in the order given. */
      async function withLines(quotes: ReadonlyArray<B2bTables['b2b_quotes']>): Promise<Quote[]> {
        if (quotes.length === 0) return []
        const lines = await db
          .selectFrom('b2b_quote_lines')
          .selectAll()
          .where('quote_id', 'in', quotes.map((q) => q.id))
          .orderBy('quote_id')
          .orderBy('variant_id')
          .execute()
        return quotes.map((q) => ({
          id: q.id,
          companyId: q.company_id,
          buyerId: q.buyer_id,
          currency: q.currency,
          status: q.status,
          expiresAt: iso(q.expires_at),
          cartId: q.cart_id,
          orderId: q.order_id,
          lines: lines.filter((l) => l.quote_id === q.id).map((l) => ({ variantId: l.variant_id, quantity: Number(l.quantity), unitPrice: Number(l.unit_price) })),
        }))
      }

      async function getApproval(approvalId: string) {
        const row = await db.selectFrom('b2b_approvals').selectAll().where('id', '=', approvalId).executeTakeFirst()
        if (!row) throw notFound('Approval', approvalId)
        return row
      }

      async function decide(input: DecideApprovalInput, to: 'approved' | 'rejected'): Promise<Approval> {
        const { approvalId, approverId, reason } = parse(decideSchema, input, to === 'approved' ? 'approval' : 'rejection')
        const row = await getApproval(approvalId)
        const approver = await db.selectFrom('b2b_members').selectAll().where('customer_id', '=', approverId).executeTakeFirst()
        if (!approver || approver.company_id !== row.company_id || approver.role === 'buyer' || approverId === row.buyer_id) {
          throw ctx.error('B2B_FORBIDDEN', `Customer ${approverId} may not decide approvals of company ${row.company_id}`, { details: { fields: ['approverId'], approverId } })
        }
        await ctx.transaction(async (tx) => {
          const moved = await tx.db
            .updateTable('b2b_approvals')
            .set({ status: to, decided_by: approverId, reason: reason ?? null, decided_at: nowIso() })
            .where('id', '=', approvalId)
            .where('status', '=', 'pending')
            .executeTakeFirst()
          if (Number(moved.numUpdatedRows) !== 1) throw ctx.error('B2B_STATE', `Approval ${approvalId} is ${row.status}, not pending`, { details: { approvalId, status: row.status } })
          if (to === 'approved') tx.emit('b2b.approval_approved', { approvalId, companyId: row.company_id, cartId: row.cart_id, approverId })
          else tx.emit('b2b.approval_rejected', { approvalId, companyId: row.company_id, cartId: row.cart_id, buyerId: row.buyer_id, approverId, reason: reason ?? null })
        })
        return toApproval(await getApproval(approvalId))
      }

      return {
        async createPriceList(input) {
          const v = parse(priceListSchema, input, 'price list')
          const id = ctx.newId('pl')
          await ctx.transaction(async (tx) => {
            await tx.db
              .insertInto('b2b_price_lists')
              .values({
                id,
                name: v.name,
                group_id: v.groupId,
                currency: v.currency,
                channel_id: v.channelId,
                starts_at: v.startsAt && new Date(v.startsAt).toISOString(),
                ends_at: v.endsAt && new Date(v.endsAt).toISOString(),
                tax_inclusive: v.taxInclusive ? 1 : 0,
                created_at: nowIso(),
              })
              .execute()
            for (const p of v.prices) {
              await tx.db.insertInto('b2b_price_list_prices').values({ list_id: id, variant_id: p.variantId, min_quantity: p.minQuantity, amount: p.amount }).execute()
            }
          })
          return loadList(id)
        },
        async getPriceList(listId) {
          return loadList(parseId(listId, 'listId'))
        },
        async deletePriceList(listId) {
          const id = parseId(listId, 'listId')
          await loadList(id)
          await ctx.transaction(async (tx) => {
            await tx.db.deleteFrom('b2b_price_list_prices').where('list_id', '=', id).execute()
            await tx.db.deleteFrom('b2b_price_lists').where('id', '=', id).execute()
          })
        },
        async createCompany(input) {
          const v = parse(companySchema, input, 'company')
          const id = ctx.newId('co')
          await db.insertInto('b2b_companies').values({ id, name: v.name, currency: v.currency, credit_limit: v.creditLimit, credit_used: 0, net_days: v.netDays, created_at: nowIso() }).execute()
          return this.getCompany(id)
        },
        async getCompany(companyId) {
          const id = parseId(companyId, 'companyId')
          const row = await db.selectFrom('b2b_companies').selectAll().where('id', '=', id).executeTakeFirst()
          if (!row) throw notFound('Company', id)
          return toCompany(row)
        },
        async addMember(input) {
          const v = parse(memberSchema, input, 'member')
          await this.getCompany(v.companyId)
          await db
            .insertInto('b2b_members')
            .values({ customer_id: v.customerId, company_id: v.companyId, role: v.role, spending_limit: v.spendingLimit })
            .onConflict((oc) => oc.column('customer_id').doUpdateSet({ company_id: v.companyId, role: v.role, spending_limit: v.spendingLimit }))
            .execute()
          return { companyId: v.companyId, customerId: v.customerId, role: v.role, spendingLimit: v.spendingLimit }
        },
        async membership(customerId) {
          const id = parseId(customerId, 'customerId')
          const m = await db.selectFrom('b2b_members').selectAll().where('customer_id', '=', id).executeTakeFirst()
          return m ? { companyId: m.company_id, customerId: m.customer_id, role: m.role, spendingLimit: m.spending_limit === null ? null : Number(m.spending_limit) } : null
        },
        async requestApproval(cartId) {
          const id = parseId(cartId, 'cartId')
          const cart = await ctx.commerce.carts.get(id)
          if (cart.status !== 'open') throw ctx.error('B2B_STATE', `Cart ${id} is ${cart.status}; approval is asked for an open cart`, { details: { cartId: id, status: cart.status } })
          const member = cart.customerId ? await db.selectFrom('b2b_members').selectAll().where('customer_id', '=', cart.customerId).executeTakeFirst() : undefined
          if (!member) throw ctx.error('B2B_FORBIDDEN', `Cart ${id} does not belong to a company's member`, { details: { fields: ['cartId'], cartId: id } })
          const approvalId = ctx.newId('apr')
          await ctx.transaction(async (tx) => {
            await tx.db.updateTable('b2b_approvals').set({ status: 'superseded' }).where('cart_id', '=', id).where('status', '=', 'pending').execute()
            await tx.db
              .insertInto('b2b_approvals')
              .values({
                id: approvalId,
                company_id: member.company_id,
                cart_id: id,
                buyer_id: member.customer_id,
                cart_version: cart.version,
                total: cart.totals.total,
                currency: cart.currency,
                status: 'pending',
                decided_by: null,
                reason: null,
                created_at: nowIso(),
                decided_at: null,
              })
              .execute()
            tx.emit('b2b.approval_requested', { approvalId, companyId: member.company_id, cartId: id, buyerId: member.customer_id, total: cart.totals.total })
          })
          return toApproval(await getApproval(approvalId))
        },
        approve: (input) => decide(input, 'approved'),
        reject: (input) => decide(input, 'rejected'),
        async approvalOf(cartId) {
          const id = parseId(cartId, 'cartId')
          const row = await db.selectFrom('b2b_approvals').selectAll().where('cart_id', '=', id).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirst()
          return row ? toApproval(row) : null
        },
        async approvalsFor(customerId) {
          const id = parseId(customerId, 'customerId')
          const member = await db.selectFrom('b2b_members').selectAll().where('customer_id', '=', id).executeTakeFirst()
          if (!member) return []
          let query = db.selectFrom('b2b_approvals').selectAll().where('company_id', '=', member.company_id)
          // A buyer sees their own requests; an approver or an admin, the company's.
          if (member.role === 'buyer') query = query.where('buyer_id', '=', id)
          const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(LIST_LIMIT).execute()
          const buyers = [...new Set(rows.map((r) => r.buyer_id))]
          const emails = new Map<string, string>()
          if (buyers.length) {
            const found = await sql<{ id: string; email: string }>`select id, email from customers_customers where id in (${sql.join(buyers)}) and erased_at is null`.execute(db)
            for (const r of found.rows) emails.set(r.id, r.email)
          }
          return rows.map((r) => ({ ...toApproval(r), buyerEmail: emails.get(r.buyer_id) ?? null }))
        },
        async setPurchaseOrder(input) {
          const v = parse(poSchema, input, 'purchase order')
          const cart = await ctx.commerce.carts.get(v.cartId)
          if (cart.status !== 'open') throw ctx.error('B2B_STATE', `Cart ${v.cartId} is ${cart.status}; a PO number is set on an open cart`, { details: { cartId: v.cartId } })
          await db
            .insertInto('b2b_cart_po')
            .values({ cart_id: v.cartId, po_number: v.poNumber })
            .onConflict((oc) => oc.column('cart_id').doUpdateSet({ po_number: v.poNumber }))
            .execute()
        },
        async orderLink(orderId) {
          const id = parseId(orderId, 'orderId')
          const r = await db.selectFrom('b2b_order_links').selectAll().where('order_id', '=', id).executeTakeFirst()
          return r ? { orderId: r.order_id, cartId: r.cart_id, poNumber: r.po_number, quoteId: r.quote_id, approvalId: r.approval_id } : null
        },
        async setQuantityRule(input) {
          const v = parse(quantityRuleSchema, input, 'quantity rule')
          await ctx.commerce.catalog.getVariant(v.variantId)
          await db
            .insertInto('b2b_quantity_rules')
            .values({ variant_id: v.variantId, min_quantity: v.minQuantity, increment: v.increment })
            .onConflict((oc) => oc.column('variant_id').doUpdateSet({ min_quantity: v.minQuantity, increment: v.increment }))
            .execute()
        },
        async createQuote(input) {
          const v = parse(quoteSchema, input, 'quote')
          const buyer = await db.selectFrom('b2b_members').selectAll().where('customer_id', '=', v.buyerId).executeTakeFirst()
          if (!buyer || buyer.company_id !== v.companyId) {
            throw ctx.error('B2B_FORBIDDEN', `Customer ${v.buyerId} is not a member of company ${v.companyId}`, { details: { fields: ['buyerId'], buyerId: v.buyerId } })
          }
          const id = ctx.newId('quo')
          await ctx.transaction(async (tx) => {
            await tx.db
              .insertInto('b2b_quotes')
              .values({ id, company_id: v.companyId, buyer_id: v.buyerId, currency: v.currency, status: 'draft', expires_at: new Date(v.expiresAt).toISOString(), cart_id: null, order_id: null, created_at: nowIso() })
              .execute()
            for (const l of v.lines) await tx.db.insertInto('b2b_quote_lines').values({ quote_id: id, variant_id: l.variantId, quantity: l.quantity, unit_price: l.unitPrice }).execute()
          })
          return loadQuote(id)
        },
        async sendQuote(quoteId) {
          const id = parseId(quoteId, 'quoteId')
          const quote = await loadQuote(id)
          await ctx.transaction(async (tx) => {
            const moved = await tx.db.updateTable('b2b_quotes').set({ status: 'sent' }).where('id', '=', id).where('status', '=', 'draft').executeTakeFirst()
            if (Number(moved.numUpdatedRows) !== 1) throw ctx.error('B2B_STATE', `Quote ${id} is ${quote.status}, not a draft`, { details: { quoteId: id, status: quote.status } })
            tx.emit('b2b.quote_sent', { quoteId: id, companyId: quote.companyId, buyerId: quote.buyerId })
          })
          return loadQuote(id)
        },
        async acceptQuote(quoteId) {
          const id = parseId(quoteId, 'quoteId')
          const quote = await loadQuote(id)
          if (quote.status === 'sent' && Date.parse(quote.expiresAt) <= ctx.now().getTime()) {
            await db.updateTable('b2b_quotes').set({ status: 'expired' }).where('id', '=', id).where('status', '=', 'sent').execute()
            throw ctx.error('B2B_QUOTE_EXPIRED', `Quote ${id} expired at ${quote.expiresAt}`, { details: { quoteId: id, expiresAt: quote.expiresAt } })
          }
          if (quote.status !== 'sent') throw ctx.error('B2B_STATE', `Quote ${id} is ${quote.status}; only a sent quote is accepted`, { details: { quoteId: id, status: quote.status } })
          const cart = await ctx.commerce.carts.create({ currency: quote.currency, customerId: quote.buyerId })
          // The cart is the quote's only once the quote is marked accepted; a lost race leaves an
          // abandoned cart behind, never a second accepted quote.
          await ctx.transaction(async (tx) => {
            const moved = await tx.db
              .updateTable('b2b_quotes')
              .set({ status: 'accepted', cart_id: cart.id })
              .where('id', '=', id)
              .where('status', '=', 'sent')
              .where('expires_at', '>', nowIso())
              .executeTakeFirst()
            if (Number(moved.numUpdatedRows) !== 1) throw ctx.error('B2B_STATE', `Quote ${id} was accepted, or expired, meanwhile`, { details: { quoteId: id } })
            tx.emit('b2b.quote_accepted', { quoteId: id, cartId: cart.id })
          })
          for (const line of quote.lines) await ctx.commerce.carts.addItem(cart.id, { variantId: line.variantId, quantity: line.quantity })
          return { quote: await loadQuote(id), cartId: cart.id }
        },
        async getQuote(quoteId) {
          return loadQuote(parseId(quoteId, 'quoteId'))
        },
        async quotesFor(customerId) {
          const id = parseId(customerId, 'customerId')
          const rows = await db.selectFrom('b2b_quotes').selectAll().where('buyer_id', '=', id).where('status', '!=', 'draft').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(LIST_LIMIT).execute()
          return withLines(rows)
        },
        async expireQuotes() {
          const moved = await db.updateTable('b2b_quotes').set({ status: 'expired' }).where('status', 'in', ['sent', 'accepted']).where('expires_at', '<=', nowIso()).executeTakeFirst()
          return Number(moved.numUpdatedRows)
        },
        async invoiceOf(orderId) {
          const id = parseId(orderId, 'orderId')
          const r = await db.selectFrom('b2b_invoices').selectAll().where('order_id', '=', id).executeTakeFirst()
          return r ? { paymentId: r.payment_id, companyId: r.company_id, orderId: r.order_id, amount: Number(r.amount), status: r.status, dueAt: isoOrNull(r.due_at) } : null
        },
        async markInvoicePaid(orderId) {
          const id = parseId(orderId, 'orderId')
          const invoice = await db.selectFrom('b2b_invoices').selectAll().where('order_id', '=', id).executeTakeFirst()
          if (!invoice) throw notFound('Invoice of order', id)
          await ctx.transaction(async (tx) => {
            const paid = await giveBack(tx, invoice.payment_id, 'paid')
            if (!paid) throw ctx.error('B2B_STATE', `The invoice of order ${id} is not open`, { details: { orderId: id } })
            tx.emit('b2b.invoice_paid', { orderId: id, companyId: paid.companyId, amount: paid.amount })
          })
          return (await this.invoiceOf(id))!
        },
      }
    },
  })
}
