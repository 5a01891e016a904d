import { z } from 'zod'
import { isCurrency } from '@cartwright/core'

/** Text every storage keeps as sent: no NUL and no unpaired surrogate. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const storable = (s: string) => !UNSTORABLE.test(s)
const storableMessage = 'must not contain a NUL character or an unpaired surrogate'

export const idSchema = z.string().min(1).max(64).refine(storable, storableMessage)

/**
 * Longest promotion name, in characters (and {@link MAX_GENERATED_CODES} codes per `generateCodes`,
 * {@link MAX_CODES_PER_CART} codes on one cart).
 *
 * @example
 * ```ts
 * const field = `<input name="name" maxlength="${MAX_NAME}">`
 * ```
 */
export const MAX_NAME = 200
/** Most ids (products, variants, collections, groups) or tags in one condition. */
export const MAX_CONDITION_ITEMS = 200
/** Most codes made by one `generateCodes` call. */
export const MAX_GENERATED_CODES = 10_000
/** Most codes applied to one cart at once. */
export const MAX_CODES_PER_CART = 5

/** A percentage as an exact decimal string, more than 0 and at most 100, at most 4 decimals. */
const percentSchema = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,4})?$/, 'must be a decimal such as "12.5"')
  .refine((s) => Number(s) > 0 && Number(s) <= 100, 'must be more than 0 and at most 100')
const money = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const currency = z.string().refine((c) => isCurrency(c), 'must be an ISO 4217 currency code')
const ids = z.array(idSchema).min(1).max(MAX_CONDITION_ITEMS)

/** A merchant-chosen code: 3 to 40 letters, digits, `-` or `_`. */
export const codeSchema = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$/, 'must be 3 to 40 letters, digits, "-" or "_"')

export const discountSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('percentage'), percent: percentSchema, appliesTo: z.enum(['order', 'matching_lines']).default('order') }),
  z.strictObject({ type: z.literal('fixed'), amount: money.min(1), currency, appliesTo: z.enum(['order', 'matching_lines']).default('order') }),
  z.strictObject({ type: z.literal('shipping_percentage'), percent: percentSchema }),
  z.strictObject({ type: z.literal('free_shipping') }),
  z.strictObject({ type: z.literal('buy_x_get_y'), buy: z.number().int().min(1).max(1000), get: z.number().int().min(1).max(1000), percent: percentSchema.default('100') }),
])

export const conditionsSchema = z.strictObject({
  minSubtotal: z.strictObject({ amount: money, currency }).optional(),
  productIds: ids.optional(),
  variantIds: ids.optional(),
  collectionIds: ids.optional(),
  tags: z.array(z.string().trim().min(1).max(100).refine(storable, storableMessage).transform((t) => t.toLowerCase())).min(1).max(MAX_CONDITION_ITEMS).optional(),
  customerGroupIds: ids.optional(),
})

const instant = z.iso.datetime({ offset: true })
const limit = z.number().int().min(1).max(1_000_000_000)

const promotionFields = {
  name: z.string().trim().min(1).max(MAX_NAME).refine(storable, storableMessage),
  /** Applied without a code, to every cart it qualifies for. */
  automatic: z.boolean().default(false),
  /** A code shoppers enter (case-insensitive). Generated codes are added with `generateCodes`. */
  code: codeSchema.optional(),
  discount: discountSchema,
  conditions: conditionsSchema.default({}),
  startsAt: instant.nullable().optional(),
  endsAt: instant.nullable().optional(),
  stacking: z.enum(['exclusive', 'combinable']).default('combinable'),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
  usageLimit: limit.nullable().optional(),
  perCustomerLimit: limit.nullable().optional(),
}

export const createSchema = z
  .strictObject(promotionFields)
  .superRefine((p, ctx) => {
    if (p.automatic && p.code !== undefined) ctx.addIssue({ code: 'custom', path: ['code'], message: 'an automatic promotion has no code' })
    if (p.startsAt && p.endsAt && Date.parse(p.endsAt) <= Date.parse(p.startsAt)) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after startsAt' })
    if (p.discount.type === 'fixed' && p.conditions.minSubtotal && p.conditions.minSubtotal.currency !== p.discount.currency) {
      ctx.addIssue({ code: 'custom', path: ['conditions', 'minSubtotal', 'currency'], message: 'must be the currency of the fixed amount' })
    }
  })

export const updateSchema = z.strictObject({
  name: promotionFields.name.optional(),
  discount: discountSchema.optional(),
  conditions: conditionsSchema.optional(),
  startsAt: instant.nullable().optional(),
  endsAt: instant.nullable().optional(),
  stacking: z.enum(['exclusive', 'combinable']).optional(),
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  usageLimit: limit.nullable().optional(),
  perCustomerLimit: limit.nullable().optional(),
  active: z.boolean().optional(),
})

export const generateSchema = z.strictObject({
  count: z.number().int().min(1).max(MAX_GENERATED_CODES),
  /** Letters and digits put before the random part (`SPRING` → `SPRING-7KQM-…`). */
  prefix: z.string().regex(/^[A-Za-z0-9]{1,12}$/, 'must be 1 to 12 letters or digits').optional(),
  /** Uses of each generated code; 1 (single-use) when omitted, null for no limit of its own. */
  usageLimit: limit.nullable().default(1),
})

export const listSchema = z.strictObject({
  active: z.boolean().optional(),
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
})

/**
 * Input of `promotions.create`.
 *
 * @example
 * ```ts
 * const input: CreatePromotionInput = { name: 'Spring', code: 'SPRING', discount: { type: 'percentage', percent: '15' }, endsAt: '2027-04-01T00:00:00Z' }
 * ```
 */
export type CreatePromotionInput = z.input<typeof createSchema>
/**
 * Input of `promotions.update`: only the fields given change.
 *
 * @example
 * ```ts
 * const input: UpdatePromotionInput = { usageLimit: 200, priority: 5 }
 * ```
 */
export type UpdatePromotionInput = z.input<typeof updateSchema>
/**
 * Input of `promotions.generateCodes`.
 *
 * @example
 * ```ts
 * const input: GenerateCodesInput = { count: 100, prefix: 'WELCOME' }
 * ```
 */
export type GenerateCodesInput = z.input<typeof generateSchema>
/**
 * Input of `promotions.list`.
 *
 * @example
 * ```ts
 * const input: ListPromotionsInput = { active: true, limit: 50 }
 * ```
 */
export type ListPromotionsInput = z.input<typeof listSchema>

/**
 * The zod schema of a {@link Promotion} (the Admin API's output).
 *
 * @example
 * ```ts
 * declare const body: unknown
 * const promotion = promotionSchema.parse(body)
 * ```
 */
export const promotionSchema = z.object({
  id: z.string(),
  name: z.string(),
  automatic: z.boolean(),
  code: z.string().nullable(),
  discount: discountSchema,
  conditions: conditionsSchema,
  startsAt: z.string().nullable(),
  endsAt: z.string().nullable(),
  stacking: z.enum(['exclusive', 'combinable']),
  priority: z.number().int(),
  usageLimit: z.number().int().nullable(),
  perCustomerLimit: z.number().int().nullable(),
  used: z.number().int(),
  active: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

/**
 * A promotion as the service returns it. `used` counts the uses taken by checkouts and not given
 * back (a declined payment, a canceled order give theirs back).
 *
 * @example
 * ```ts
 * const left = (p: Promotion) => (p.usageLimit === null ? Infinity : p.usageLimit - p.used)
 * ```
 */
export type Promotion = z.output<typeof promotionSchema>

/**
 * The zod schema of a {@link PromotionUsage}.
 *
 * @example
 * ```ts
 * declare const body: unknown
 * const usage = usageSchema.parse(body)
 * ```
 */
export const usageSchema = z.object({
  promotionId: z.string(),
  used: z.number().int(),
  usageLimit: z.number().int().nullable(),
  remaining: z.number().int().nullable(),
  codes: z.number().int(),
  customers: z.array(z.object({ customerKey: z.string(), used: z.number().int() })),
})

/**
 * A promotion's usage: uses taken in all, what is left of its limit (null without one), how many
 * codes it has, and the uses per customer (`customer:<id>`, or `email:<lower-cased email>` for a
 * guest) when it has a per-customer limit.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithPromotions
 * const usage: PromotionUsage = await shop.promotions.usage('promo_1')
 * console.log(`${usage.used} used, ${usage.remaining ?? '∞'} left`)
 * ```
 */
export type PromotionUsage = z.output<typeof usageSchema>

/**
 * Events of the plugin: `promotions.redeemed` once per promotion per placed order, in the
 * transaction that places it.
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 *
 * type Redeemed = z.output<(typeof promotionEvents)['promotions.redeemed']>
 * ```
 */
export const promotionEvents = {
  'promotions.redeemed': z.strictObject({
    promotionId: z.string(),
    /** The code entered, or null for an automatic promotion. */
    code: z.string().nullable(),
    orderId: z.string(),
    cartId: z.string(),
    /** What it took off the order, in minor units. */
    amount: z.number().int().min(0),
  }),
}
