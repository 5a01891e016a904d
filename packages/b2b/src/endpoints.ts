import { z } from 'zod'
import { CommerceError, defineEndpoint, type Actor, type Cart, type Endpoint } from '@cartwright/core'
import type { B2bService } from './b2b.js'
import { MAX_PO, MAX_REASON, companySchema, memberSchema, priceListSchema, quantityRuleSchema, quoteSchema } from './schemas.js'

/** The engine as the endpoints' handlers use it. */
type Engine = { b2b: B2bService; carts: { get(cartId: string): Promise<Cart> } }
const engine = (commerce: unknown) => commerce as Engine
const id = z.string().min(1).max(100)

/** The signed-in customer, or a refusal. */
function customerOf(actor: Actor): string {
  if (actor.kind !== 'customer') throw new CommerceError('INVALID_STATE', 'Sign in first')
  return actor.customerId
}

/** The cart, when it is the signed-in customer's; the same NOT_FOUND as an unknown cart otherwise. */
async function ownCart(commerce: unknown, actor: Actor, cartId: string): Promise<Cart> {
  const customerId = customerOf(actor)
  const cart = await engine(commerce).carts.get(cartId)
  if (cart.customerId !== customerId) throw new CommerceError('NOT_FOUND', `Cart "${cartId}" was not found`, { details: { entity: 'Cart', id: cartId } })
  return cart
}

const approvalOut = z.object({
  id: z.string(),
  companyId: z.string(),
  cartId: z.string(),
  buyerId: z.string(),
  cartVersion: z.number().int(),
  total: z.number().int(),
  currency: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'superseded']),
  decidedBy: z.string().nullable(),
  reason: z.string().nullable(),
  createdAt: z.string(),
  decidedAt: z.string().nullable(),
})
const companyApprovalOut = approvalOut.extend({ buyerEmail: z.string().nullable() })
const quoteOut = z.object({
  id: z.string(),
  companyId: z.string(),
  buyerId: z.string(),
  currency: z.string(),
  status: z.enum(['draft', 'sent', 'accepted', 'ordered', 'expired']),
  expiresAt: z.string(),
  cartId: z.string().nullable(),
  orderId: z.string().nullable(),
  lines: z.array(z.object({ variantId: z.string(), quantity: z.number().int(), unitPrice: z.number().int() })),
})
const companyOut = z.object({ id: z.string(), name: z.string(), currency: z.string(), creditLimit: z.number().int().nullable(), creditUsed: z.number().int(), netDays: z.number().int() })
const memberOut = z.object({ companyId: z.string(), customerId: z.string(), role: z.enum(['buyer', 'approver', 'admin']), spendingLimit: z.number().int().nullable() })
const priceListOut = z.object({
  id: z.string(),
  name: z.string(),
  groupId: z.string(),
  currency: z.string(),
  channelId: z.string().nullable(),
  startsAt: z.string().nullable(),
  endsAt: z.string().nullable(),
  taxInclusive: z.boolean(),
  prices: z.array(z.object({ variantId: z.string(), amount: z.number().int(), minQuantity: z.number().int() })),
})
const invoiceOut = z.object({ paymentId: z.string(), companyId: z.string(), orderId: z.string().nullable(), amount: z.number().int(), status: z.enum(['open', 'paid', 'released']), dueAt: z.string().nullable() })
const orderOut = z.object({
  link: z.object({ orderId: z.string(), cartId: z.string(), poNumber: z.string().nullable(), quoteId: z.string().nullable(), approvalId: z.string().nullable() }).nullable(),
  invoice: invoiceOut.nullable(),
})
const ok = z.object({ ok: z.literal(true) })

// ---- Store: the buyer and the approver, signed in --------------------------------------------

const requestApproval = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/b2b/carts/:cartId/approval',
  summary: "Ask the company to approve the signed-in buyer's cart as it is now",
  access: 'customer',
  rateLimit: { windowMs: 60_000, max: 20 },
  input: z.strictObject({ cartId: id }),
  output: approvalOut,
  handler: async ({ input, actor, commerce }) => {
    await ownCart(commerce, actor, input.cartId)
    return engine(commerce).b2b.requestApproval(input.cartId)
  },
})

const cartApproval = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/b2b/carts/:cartId/approval',
  summary: "The latest approval request of the signed-in buyer's cart (null when none)",
  access: 'customer',
  input: z.strictObject({ cartId: id }),
  output: approvalOut.nullable(),
  handler: async ({ input, actor, commerce }) => {
    await ownCart(commerce, actor, input.cartId)
    return engine(commerce).b2b.approvalOf(input.cartId)
  },
})

const decide = (to: 'approve' | 'reject') =>
  defineEndpoint({
    surface: 'store',
    method: 'POST',
    path: `/b2b/approvals/:approvalId/${to}`,
    summary: to === 'approve' ? 'Approve a pending request, as an approver or admin of the company' : 'Reject a pending request, with a reason for the buyer',
    access: 'customer',
    input: z.strictObject({ approvalId: id, reason: z.string().max(MAX_REASON).optional() }),
    output: approvalOut,
    handler: ({ input, actor, commerce }) => {
      const decision = { approvalId: input.approvalId, approverId: customerOf(actor), ...(input.reason === undefined ? {} : { reason: input.reason }) }
      return to === 'approve' ? engine(commerce).b2b.approve(decision) : engine(commerce).b2b.reject(decision)
    },
  })

const approvals = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/b2b/approvals',
  summary: "The signed-in customer's company's approval requests: their own as a buyer, every one as an approver or admin",
  description: 'Newest first, at most 100, each with the buyer’s email. Empty for a customer of no company; another company’s requests are never listed.',
  access: 'customer',
  input: z.strictObject({}),
  output: z.array(companyApprovalOut),
  handler: ({ actor, commerce }) => engine(commerce).b2b.approvalsFor(customerOf(actor)),
})

const purchaseOrder = defineEndpoint({
  surface: 'store',
  method: 'PUT',
  path: '/b2b/carts/:cartId/purchase-order',
  summary: "Set the purchase-order number of the signed-in buyer's cart",
  access: 'customer',
  input: z.strictObject({ cartId: id, poNumber: z.string().max(MAX_PO) }),
  output: ok,
  handler: async ({ input, actor, commerce }) => {
    await ownCart(commerce, actor, input.cartId)
    await engine(commerce).b2b.setPurchaseOrder(input)
    return { ok: true as const }
  },
})

/** A quote, when it is the signed-in buyer's; the same NOT_FOUND as an unknown quote otherwise. */
async function ownQuote(commerce: unknown, actor: Actor, quoteId: string) {
  const quote = await engine(commerce).b2b.getQuote(quoteId)
  if (quote.buyerId !== customerOf(actor) || quote.status === 'draft') throw new CommerceError('NOT_FOUND', `Quote "${quoteId}" was not found`, { details: { entity: 'Quote', id: quoteId } })
  return quote
}

const myQuotes = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/b2b/quotes',
  summary: 'The quotes sent to the signed-in buyer (not drafts), newest first, with their lines',
  description: 'At most 100. Accept one with `POST /b2b/quotes/:quoteId/accept`.',
  access: 'customer',
  input: z.strictObject({}),
  output: z.array(quoteOut),
  handler: ({ actor, commerce }) => engine(commerce).b2b.quotesFor(customerOf(actor)),
})

const myQuote = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/b2b/quotes/:quoteId',
  summary: 'A quote sent to the signed-in buyer',
  access: 'customer',
  input: z.strictObject({ quoteId: id }),
  output: quoteOut,
  handler: ({ input, actor, commerce }) => ownQuote(commerce, actor, input.quoteId),
})

const acceptQuote = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/b2b/quotes/:quoteId/accept',
  summary: 'Accept a quote sent to the signed-in buyer into a new cart priced by it',
  access: 'customer',
  rateLimit: { windowMs: 60_000, max: 10 },
  input: z.strictObject({ quoteId: id }),
  output: z.object({ quote: quoteOut, cartId: z.string() }),
  handler: async ({ input, actor, commerce }) => {
    await ownQuote(commerce, actor, input.quoteId)
    return engine(commerce).b2b.acceptQuote(input.quoteId)
  },
})

// ---- Admin: staff --------------------------------------------------------------------------

const createPriceList = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/b2b/price-lists',
  summary: 'Create a price list for a customer group',
  access: 'staff',
  input: priceListSchema,
  output: priceListOut,
  handler: ({ input, commerce }) => engine(commerce).b2b.createPriceList(input),
})

const getPriceList = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/b2b/price-lists/:listId',
  summary: 'A price list with its prices',
  access: 'staff',
  input: z.strictObject({ listId: id }),
  output: priceListOut,
  handler: ({ input, commerce }) => engine(commerce).b2b.getPriceList(input.listId),
})

const deletePriceList = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/b2b/price-lists/:listId',
  summary: 'Delete a price list',
  access: 'staff',
  input: z.strictObject({ listId: id }),
  output: ok,
  handler: async ({ input, commerce }) => {
    await engine(commerce).b2b.deletePriceList(input.listId)
    return { ok: true as const }
  },
})

const createCompany = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/b2b/companies',
  summary: 'Create a company, with its credit limit and net terms',
  access: 'staff',
  input: companySchema,
  output: companyOut,
  handler: ({ input, commerce }) => engine(commerce).b2b.createCompany(input),
})

const getCompany = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/b2b/companies/:companyId',
  summary: 'A company and the credit its open invoices use',
  access: 'staff',
  input: z.strictObject({ companyId: id }),
  output: companyOut,
  handler: ({ input, commerce }) => engine(commerce).b2b.getCompany(input.companyId),
})

const addMember = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/b2b/companies/:companyId/members/:customerId',
  summary: "Add a customer to a company, or change their role and spending limit",
  access: 'staff',
  input: memberSchema,
  output: memberOut,
  handler: ({ input, commerce }) => engine(commerce).b2b.addMember(input),
})

const setQuantityRule = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/b2b/quantity-rules/:variantId',
  summary: "Set a variant's minimum order quantity and order increment",
  access: 'staff',
  input: quantityRuleSchema,
  output: ok,
  handler: async ({ input, commerce }) => {
    await engine(commerce).b2b.setQuantityRule(input)
    return { ok: true as const }
  },
})

const createQuote = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/b2b/quotes',
  summary: 'Draft a quote with negotiated prices for a buyer',
  access: 'staff',
  input: quoteSchema,
  output: quoteOut,
  handler: ({ input, commerce }) => engine(commerce).b2b.createQuote(input),
})

const sendQuote = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/b2b/quotes/:quoteId/send',
  summary: 'Send a draft quote to its buyer',
  access: 'staff',
  input: z.strictObject({ quoteId: id }),
  output: quoteOut,
  handler: ({ input, commerce }) => engine(commerce).b2b.sendQuote(input.quoteId),
})

const orderB2b = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/b2b/orders/:orderId',
  summary: "An order's PO number, quote, approval and invoice",
  access: 'staff',
  input: z.strictObject({ orderId: id }),
  output: orderOut,
  handler: async ({ input, commerce }) => ({ link: await engine(commerce).b2b.orderLink(input.orderId), invoice: await engine(commerce).b2b.invoiceOf(input.orderId) }),
})

const invoicePaid = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/b2b/orders/:orderId/invoice/paid',
  summary: "Record that the company paid the order's invoice: its credit comes back",
  access: 'staff',
  input: z.strictObject({ orderId: id }),
  output: invoiceOut,
  handler: ({ input, commerce }) => engine(commerce).b2b.markInvoicePaid(input.orderId),
})

const staffApproval = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/b2b/carts/:cartId/approval',
  summary: "The latest approval request of a cart (null when none): who asked, for what total, and who decided",
  description: "Deciding is the company's: an approver or admin of it approves or rejects from the Store API.",
  access: 'staff',
  input: z.strictObject({ cartId: id }),
  output: approvalOut.nullable(),
  handler: async ({ input, commerce }) => {
    // An unknown cart is NOT_FOUND, not "no approval".
    await engine(commerce).carts.get(input.cartId)
    return engine(commerce).b2b.approvalOf(input.cartId)
  },
})

const staffQuote = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/b2b/quotes/:quoteId',
  summary: 'A quote, in any state',
  access: 'staff',
  input: z.strictObject({ quoteId: id }),
  output: quoteOut,
  handler: ({ input, commerce }) => engine(commerce).b2b.getQuote(input.quoteId),
})

const expireQuotes = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/b2b/quotes/expire',
  summary: 'Mark every sent or accepted (not yet ordered) quote past its expiry expired; how many were',
  access: 'staff',
  input: z.strictObject({}),
  output: z.object({ expired: z.number().int() }),
  handler: async ({ commerce }) => ({ expired: await engine(commerce).b2b.expireQuotes() }),
})

const membership = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/b2b/members/:customerId',
  summary: "A customer's company membership: company, role and spending limit (null when none)",
  access: 'staff',
  input: z.strictObject({ customerId: id }),
  output: memberOut.nullable(),
  handler: ({ input, commerce }) => engine(commerce).b2b.membership(input.customerId),
})

/**
 * The plugin's routes, for the HTTP layer to mount. Store, for a signed-in customer: ask for and
 * read a cart's approval, list the company's approval requests they may see, approve or reject as
 * an approver, set a cart's PO number, list, read and accept the quotes sent to them (a cart or
 * quote of someone else is `NOT_FOUND`). Admin, for staff: price
 * lists, companies and members (and a customer's membership), quantity rules, quotes (read, send,
 * expire), a cart's approval request, an order's B2B record and its invoice paid. A tuple: each
 * route keeps its schemas, method and path in its type, for `createStoreClient` from
 * `@cartwright/http`. Inputs are checked again, field by field, by the service.
 *
 * @example
 * ```ts
 * for (const e of b2bEndpoints) console.log(e.surface, e.method, e.path, e.access)
 * ```
 */
export const b2bEndpoints = [
  requestApproval,
  cartApproval,
  decide('approve'),
  decide('reject'),
  approvals,
  purchaseOrder,
  myQuotes,
  myQuote,
  acceptQuote,
  createPriceList,
  getPriceList,
  deletePriceList,
  createCompany,
  getCompany,
  addMember,
  setQuantityRule,
  createQuote,
  sendQuote,
  orderB2b,
  invoicePaid,
  staffApproval,
  staffQuote,
  expireQuotes,
  membership,
] as const satisfies readonly Endpoint[]
