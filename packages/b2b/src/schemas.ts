import { z } from 'zod'
import { validationError } from '@cartwright/core'

/** Longest name (price list, company) accepted. */
export const MAX_NAME = 200
/** Longest purchase-order number accepted. */
export const MAX_PO = 64
/** Longest reason (a rejected approval) accepted. */
export const MAX_REASON = 500

const id = z.string().min(1).max(100)
const money = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code in upper case, e.g. USD')
const instant = z.iso.datetime({ offset: true })
const name = z.string().trim().min(1).max(MAX_NAME)

/**
 * Parses a method's input, or throws a `VALIDATION` error naming every failing field
 * (`details.fields`), before anything is read or written.
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown, subject: string, prefix?: string): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw validationError(
    subject,
    result.error.issues.map((issue) => ({ path: [...(prefix ? [prefix] : []), ...issue.path.map(String)].join('.'), message: issue.message })),
  )
}

/** Parses an id argument, naming it in the error. */
export const parseId = (value: unknown, name: string): string => parse(idSchema, value, name, name)

export const idSchema = id

export const priceListSchema = z
  .strictObject({
    name,
    /** The customer group (`customers_groups.id`) the list is for. */
    groupId: id,
    currency,
    /** A sales channel, or none: the list applies in every channel. */
    channelId: id.nullable().default(null),
    startsAt: instant.nullable().default(null),
    endsAt: instant.nullable().default(null),
    /**
     * Whether the list's prices include tax. Only `false` is accepted for now: a list's amount is
     * charged as a price before tax, and tax is added on top by the tax provider. Tax-inclusive lists
     * wait for tax rules that can take the tax out of a gross price.
     */
    taxInclusive: z
      .boolean()
      .default(false)
      .refine((v) => v === false, { message: 'tax-inclusive price lists are not supported yet: list amounts are charged before tax' }),
    prices: z
      .array(
        z.strictObject({
          variantId: id,
          amount: money,
          minQuantity: z.number().int().min(1).max(1_000_000).default(1),
        }),
      )
      .max(10_000)
      .default([]),
  })
  .superRefine((v, ctx) => {
    if (v.startsAt && v.endsAt && Date.parse(v.endsAt) <= Date.parse(v.startsAt)) {
      ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after startsAt' })
    }
    const seen = new Set<string>()
    v.prices.forEach((p, i) => {
      const key = `${p.variantId}@${p.minQuantity}`
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['prices', i, 'minQuantity'], message: `a second price of ${p.variantId} from ${p.minQuantity}` })
      seen.add(key)
    })
  })

/** Input of `b2b.createPriceList`. */
export type CreatePriceListInput = z.input<typeof priceListSchema>

export const companySchema = z.strictObject({
  name,
  /** The currency of the company's credit limit and of its buyers' spending limits. */
  currency,
  /** What the company may owe on open invoices; null: no paying by invoice. */
  creditLimit: money.nullable().default(null),
  /** Days an invoice is due after the order (net terms). */
  netDays: z.number().int().min(0).max(365).default(30),
})
/** Input of `b2b.createCompany`. */
export type CreateCompanyInput = z.input<typeof companySchema>

export const memberSchema = z.strictObject({
  companyId: id,
  customerId: id,
  role: z.enum(['buyer', 'approver', 'admin']),
  /** A buyer's limit per order: above it, the cart needs an approval. Null: no limit. */
  spendingLimit: money.nullable().default(null),
})
/** Input of `b2b.addMember`. */
export type AddMemberInput = z.input<typeof memberSchema>

export const decideSchema = z.strictObject({
  approvalId: id,
  /** The member deciding: an approver or admin of the buyer's company. */
  approverId: id,
  reason: z.string().trim().max(MAX_REASON).optional(),
})
/** Input of `b2b.approve` and `b2b.reject`. */
export type DecideApprovalInput = z.input<typeof decideSchema>

export const poSchema = z.strictObject({
  cartId: id,
  poNumber: z.string().trim().min(1).max(MAX_PO).regex(/^[\x20-\x7e]+$/, 'printable ASCII'),
})
/** Input of `b2b.setPurchaseOrder`. */
export type SetPurchaseOrderInput = z.input<typeof poSchema>

export const quantityRuleSchema = z
  .strictObject({
    variantId: id,
    minQuantity: z.number().int().min(1).max(1_000_000).default(1),
    increment: z.number().int().min(1).max(1_000_000).default(1),
  })
  .superRefine((v, ctx) => {
    if (v.minQuantity % v.increment !== 0) ctx.addIssue({ code: 'custom', path: ['minQuantity'], message: 'must be a multiple of increment' })
  })
/** Input of `b2b.setQuantityRule`. */
export type SetQuantityRuleInput = z.input<typeof quantityRuleSchema>

export const quoteSchema = z
  .strictObject({
    companyId: id,
    /** The buyer (a member of the company) the quote is for. */
    buyerId: id,
    currency,
    expiresAt: instant,
    lines: z
      .array(z.strictObject({ variantId: id, quantity: z.number().int().min(1).max(1_000_000), unitPrice: money }))
      .min(1)
      .max(250),
  })
  .superRefine((v, ctx) => {
    const seen = new Set<string>()
    v.lines.forEach((l, i) => {
      if (seen.has(l.variantId)) ctx.addIssue({ code: 'custom', path: ['lines', i, 'variantId'], message: 'a variant appears once per quote' })
      seen.add(l.variantId)
    })
  })
/** Input of `b2b.createQuote`. */
export type CreateQuoteInput = z.input<typeof quoteSchema>

export const b2bEvents = {
  'b2b.approval_requested': z.object({ approvalId: z.string(), companyId: z.string(), cartId: z.string(), buyerId: z.string(), total: z.number().int() }),
  'b2b.approval_approved': z.object({ approvalId: z.string(), companyId: z.string(), cartId: z.string(), approverId: z.string() }),
  'b2b.approval_rejected': z.object({ approvalId: z.string(), companyId: z.string(), cartId: z.string(), buyerId: z.string(), approverId: z.string(), reason: z.string().nullable() }),
  'b2b.quote_sent': z.object({ quoteId: z.string(), companyId: z.string(), buyerId: z.string() }),
  'b2b.quote_accepted': z.object({ quoteId: z.string(), cartId: z.string() }),
  'b2b.invoice_opened': z.object({ orderId: z.string(), companyId: z.string(), amount: z.number().int(), dueAt: z.string() }),
  'b2b.invoice_paid': z.object({ orderId: z.string(), companyId: z.string(), amount: z.number().int() }),
}
