import { z } from 'zod'
import { defineEndpoint, type Endpoint } from '@cartwright/core'
import type { PromotionsService } from './promotions.js'
import { conditionsSchema, discountSchema, promotionSchema, usageSchema } from './schemas.js'

/** The engine as the endpoints' handlers use it. */
type Engine = { promotions: PromotionsService }
const engine = (commerce: unknown) => commerce as Engine

const id = z.string().min(1).max(64)
const applied = z.object({ cartId: z.string(), codes: z.array(z.string()) })
const instant = z.string().max(40).nullable().optional()

const applyCode = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/carts/:cartId/promotion-codes',
  summary: 'Enter a promotion code on a cart (case-insensitive); every refusal is the same',
  access: 'cart',
  // Codes must not be guessable by brute force: few tries per client.
  rateLimit: { windowMs: 60_000, max: 10 },
  input: z.strictObject({ cartId: id, code: z.string().max(100) }),
  output: applied,
  handler: ({ input, commerce }) => engine(commerce).promotions.applyCode(input.cartId, input.code),
})

const removeCode = defineEndpoint({
  surface: 'store',
  method: 'DELETE',
  path: '/carts/:cartId/promotion-codes/:code',
  summary: 'Take a promotion code off a cart',
  access: 'cart',
  input: z.strictObject({ cartId: id, code: z.string().max(100) }),
  output: applied,
  handler: ({ input, commerce }) => engine(commerce).promotions.removeCode(input.cartId, input.code),
})

const listCodes = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/carts/:cartId/promotion-codes',
  summary: 'The promotion codes entered on a cart',
  access: 'cart',
  input: z.strictObject({ cartId: id }),
  output: applied,
  handler: ({ input, commerce }) => engine(commerce).promotions.codes(input.cartId),
})

const list = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/promotions',
  summary: 'Promotions by id',
  access: 'staff',
  input: z.strictObject({
    active: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
    cursor: z.string().max(200).optional(),
  }),
  output: z.object({ items: z.array(promotionSchema), nextCursor: z.string().nullable() }),
  handler: ({ input, commerce }) => engine(commerce).promotions.list(input),
})

const create = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/promotions',
  summary: 'Create a promotion (automatic, or with a code)',
  access: 'staff',
  input: z.strictObject({
    name: z.string().max(200),
    automatic: z.boolean().optional(),
    code: z.string().max(40).optional(),
    discount: discountSchema,
    conditions: conditionsSchema.optional(),
    startsAt: instant,
    endsAt: instant,
    stacking: z.enum(['exclusive', 'combinable']).optional(),
    priority: z.number().int().optional(),
    usageLimit: z.number().int().nullable().optional(),
    perCustomerLimit: z.number().int().nullable().optional(),
  }),
  output: promotionSchema,
  handler: ({ input, commerce }) => engine(commerce).promotions.create(input),
})

const get = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/promotions/:promotionId',
  summary: 'A promotion',
  access: 'staff',
  input: z.strictObject({ promotionId: id }),
  output: promotionSchema,
  handler: ({ input, commerce }) => engine(commerce).promotions.get(input.promotionId),
})

const update = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/promotions/:promotionId',
  summary: 'Change a promotion (the fields given)',
  access: 'staff',
  input: z.strictObject({
    promotionId: id,
    name: z.string().max(200).optional(),
    discount: discountSchema.optional(),
    conditions: conditionsSchema.optional(),
    startsAt: instant,
    endsAt: instant,
    stacking: z.enum(['exclusive', 'combinable']).optional(),
    priority: z.number().int().optional(),
    usageLimit: z.number().int().nullable().optional(),
    perCustomerLimit: z.number().int().nullable().optional(),
    active: z.boolean().optional(),
  }),
  output: promotionSchema,
  handler: ({ input, commerce }) => {
    const { promotionId, ...fields } = input
    return engine(commerce).promotions.update(promotionId, fields)
  },
})

const deactivate = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/promotions/:promotionId/deactivate',
  summary: 'Stop a promotion: it prices no cart, and checkouts still carrying it are refused',
  access: 'staff',
  input: z.strictObject({ promotionId: id }),
  output: promotionSchema,
  handler: ({ input, commerce }) => engine(commerce).promotions.deactivate(input.promotionId),
})

const generate = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/promotions/:promotionId/codes',
  summary: 'Generate random codes for a promotion (shown once: only their hashes are kept)',
  access: 'staff',
  input: z.strictObject({ promotionId: id, count: z.number().int(), prefix: z.string().max(12).optional(), usageLimit: z.number().int().nullable().optional() }),
  output: z.object({ promotionId: z.string(), codes: z.array(z.string()) }),
  handler: ({ input, commerce }) => {
    const { promotionId, ...rest } = input
    return engine(commerce).promotions.generateCodes(promotionId, rest)
  },
})

const usage = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/promotions/:promotionId/usage',
  summary: "A promotion's uses: in all, left, per customer",
  access: 'staff',
  input: z.strictObject({ promotionId: id }),
  output: usageSchema,
  handler: ({ input, commerce }) => engine(commerce).promotions.usage(input.promotionId),
})

/**
 * The plugin's routes, for the HTTP layer to mount: Store (enter, remove and list a cart's codes,
 * rate-limited) and Admin (list, create, read, change, deactivate, generate codes, usage). Inputs
 * are checked again, field by field, by the service. A tuple: each route keeps its schemas, method
 * and path in its type, for `createStoreClient` from `@cartwright/http`.
 *
 * @example
 * ```ts
 * for (const e of promotionEndpoints) console.log(e.surface, e.method, e.path, e.access)
 * ```
 */
export const promotionEndpoints = [applyCode, removeCode, listCodes, list, create, get, update, deactivate, generate, usage] as const satisfies readonly Endpoint[]
