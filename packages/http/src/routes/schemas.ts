import { z } from 'zod'
import { addressSchema } from '@cartwright/core'

// What core's routes answer, as zod schemas: the OpenAPI document describes responses with them,
// and the tests validate real responses against them, so they follow core's types field by field.

const metadata = z.record(z.string(), z.unknown())
const instant = z.string()

/**
 * A price tier of a variant, as the APIs return it (minor units).
 *
 * @example
 * ```ts
 * const tier = priceSchema.parse({ currency: 'USD', amount: 12900, minQuantity: 1 })
 * ```
 */
export const priceSchema = z.object({
  currency: z.string(),
  amount: z.number().int(),
  minQuantity: z.number().int(),
  compareAtAmount: z.number().int().optional(),
  taxInclusive: z.boolean().optional(),
})

/**
 * What a variant does when its stock runs out.
 *
 * @example
 * ```ts
 * const policy = inventoryPolicySchema.parse({ policy: 'deny', backorderLimit: null, availableAt: null })
 * ```
 */
export const inventoryPolicySchema = z.object({
  policy: z.enum(['deny', 'backorder', 'preorder']),
  backorderLimit: z.number().int().nullable(),
  availableAt: z.string().nullable(),
})

/**
 * A sellable variant with its prices.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /admin/variants/:variantId`
 * const variant = variantSchema.parse(body)
 * ```
 */
export const variantSchema = z.object({
  id: z.string(),
  productId: z.string(),
  sku: z.string(),
  title: z.string(),
  options: z.record(z.string(), z.string()),
  weightGrams: z.number().int().nullable(),
  lengthMm: z.number().int().nullable(),
  widthMm: z.number().int().nullable(),
  heightMm: z.number().int().nullable(),
  manageInventory: z.boolean(),
  inventoryPolicy: inventoryPolicySchema,
  taxClass: z.string().nullable(),
  prices: z.array(priceSchema),
  createdAt: instant,
  updatedAt: instant,
})

/**
 * An image of a product or of one of its variants.
 *
 * @example
 * ```ts
 * declare const body: unknown // one item of `GET /admin/products/:productId/media`
 * const image = mediaSchema.parse(body)
 * ```
 */
export const mediaSchema = z.object({
  id: z.string(),
  productId: z.string(),
  variantId: z.string().nullable(),
  position: z.number().int(),
  alt: z.string().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  contentType: z.string().nullable(),
  size: z.number().int().nullable(),
  key: z.string().nullable(),
  url: z.string().nullable(),
  createdAt: instant,
  updatedAt: instant,
})

/**
 * A product with its option axes, variants and images.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /store/products/:handle`
 * const product = productSchema.parse(body)
 * ```
 */
export const productSchema = z.object({
  id: z.string(),
  handle: z.string(),
  title: z.string(),
  description: z.string().nullable(),
  status: z.enum(['draft', 'active', 'archived']),
  options: z.array(z.object({ name: z.string(), values: z.array(z.string()) })),
  variants: z.array(variantSchema),
  metadata,
  productType: z.string().nullable(),
  tags: z.array(z.string()),
  material: z.string().nullable(),
  hsCode: z.string().nullable(),
  countryOfOrigin: z.string().nullable(),
  media: z.array(mediaSchema),
  createdAt: instant,
  updatedAt: instant,
})

/** A page of items and the cursor of the next one (null on the last page). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() })
}

/**
 * What a catalog search answers: hits, their count over all pages, facets, and the next cursor.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /store/products`
 * const { items, total, facets } = searchResultSchema.parse(body)
 * ```
 */
export const searchResultSchema = z.object({
  items: z.array(z.object({ product: productSchema, variantId: z.string().nullable() })),
  total: z.number().int(),
  facets: z
    .object({
      options: z.record(z.string(), z.array(z.object({ value: z.string(), count: z.number().int() }))),
      categories: z.array(z.object({ id: z.string(), handle: z.string(), title: z.string(), count: z.number().int() })),
      price: z.array(z.object({ min: z.number().int(), max: z.number().int().nullable(), count: z.number().int() })),
    })
    .nullable(),
  nextCursor: z.string().nullable(),
})

/**
 * What shoppers can buy now of each variant of a product: `available` (stock not reserved, plus a
 * backorder's or preorder's allowance that still applies) and, of it, `inStock`; both null for a
 * variant that does not track stock.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /store/products/:handle/availability`
 * const { variants } = productAvailabilitySchema.parse(body)
 * const soldOut = variants.filter((v) => v.available === 0)
 * ```
 */
export const productAvailabilitySchema = z.object({
  productId: z.string(),
  channelId: z.string().nullable(),
  variants: z.array(z.object({ variantId: z.string(), sku: z.string(), available: z.number().int().nullable(), inStock: z.number().int().nullable() })),
})

/**
 * A category of the catalog tree.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /store/categories/:handle`
 * const category = categorySchema.parse(body)
 * ```
 */
export const categorySchema = z.object({
  id: z.string(),
  handle: z.string(),
  title: z.string(),
  description: z.string().nullable(),
  parentId: z.string().nullable(),
  position: z.number().int(),
  createdAt: instant,
  updatedAt: instant,
})

/** A category and its sub-categories, as the tree lists them. */
export interface CategoryNodeBody extends z.output<typeof categorySchema> {
  children: CategoryNodeBody[]
}

/**
 * A category with its sub-categories, at any depth.
 *
 * @example
 * ```ts
 * declare const body: unknown[] // a response of `GET /store/categories`
 * const tree = body.map((node) => categoryNodeSchema.parse(node))
 * ```
 */
export const categoryNodeSchema: z.ZodType<CategoryNodeBody> = categorySchema.extend({
  get children() {
    return z.array(categoryNodeSchema)
  },
})

/**
 * A collection: hand-picked, or products matching rules.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /store/collections/:handle`
 * const collection = collectionSchema.parse(body)
 * ```
 */
export const collectionSchema = z.object({
  id: z.string(),
  handle: z.string(),
  title: z.string(),
  description: z.string().nullable(),
  kind: z.enum(['manual', 'rules']),
  match: z.enum(['all', 'any']),
  rules: z.array(
    z.union([
      z.object({ field: z.literal('tag'), value: z.string() }),
      z.object({ field: z.literal('type'), value: z.string() }),
      z.object({ field: z.literal('price'), currency: z.string(), min: z.number().int().optional(), max: z.number().int().optional() }),
      z.object({ field: z.literal('option'), option: z.string(), value: z.string() }),
    ]),
  ),
  createdAt: instant,
  updatedAt: instant,
})

/**
 * A sales channel.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /admin/channels/:channelId`
 * const channel = channelSchema.parse(body)
 * ```
 */
export const channelSchema = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  currencies: z.array(z.string()),
  locales: z.array(z.string()),
  taxInclusive: z.boolean(),
  stockLocationIds: z.array(z.string()),
  active: z.boolean(),
  createdAt: instant,
  updatedAt: instant,
})

const taxLineSchema = z.object({
  jurisdiction: z.string(),
  name: z.string().nullable(),
  taxClass: z.string().nullable(),
  rate: z.string(),
  taxableBase: z.number().int(),
  amount: z.number().int(),
  note: z.string().nullable(),
})

const lineAmountsSchema = z.object({ subtotal: z.number().int(), discountTotal: z.number().int(), total: z.number().int() })

const priceOverrideSchema = z.object({ unitPrice: z.number().int(), from: z.number().int().nullable(), reason: z.string(), by: z.string(), at: instant })

const lineItemShape = {
  id: z.string(),
  variantId: z.string(),
  productId: z.string(),
  sku: z.string(),
  title: z.string(),
  variantTitle: z.string(),
  quantity: z.number().int(),
  unitPrice: z.number().int(),
  subtotal: z.number().int(),
  discountTotal: z.number().int(),
  taxTotal: z.number().int(),
  total: z.number().int(),
  taxInclusive: z.boolean(),
  taxClass: z.string().nullable(),
  taxLines: z.array(taxLineSchema),
  net: lineAmountsSchema,
  gross: lineAmountsSchema,
  priceOverride: priceOverrideSchema.optional(),
}

const totalsViewSchema = z.object({ subtotal: z.number().int(), discountTotal: z.number().int(), shippingTotal: z.number().int() })

/**
 * Cart or order totals in minor units, the same shape on both.
 *
 * @example
 * ```ts
 * declare const body: { totals: unknown } // a cart or an order
 * const { total } = totalsSchema.parse(body.totals)
 * ```
 */
export const totalsSchema = z.object({
  subtotal: z.number().int(),
  discountTotal: z.number().int(),
  shippingTotal: z.number().int(),
  taxTotal: z.number().int(),
  rounding: z.number().int(),
  total: z.number().int(),
  taxInclusive: z.boolean(),
  net: totalsViewSchema,
  gross: totalsViewSchema,
})

const shippingMethodSchema = z.object({
  id: z.string(),
  provider: z.string(),
  name: z.string(),
  amount: z.number().int(),
  estimate: z.string().optional(),
  minDays: z.number().int().optional(),
  maxDays: z.number().int().optional(),
  taxClass: z.string().optional(),
  pickupLocationId: z.string().optional(),
})

/**
 * A shipping option offered for a cart: `id` is what `PUT /carts/:cartId/shipping-option` takes.
 * Pickup options carry `pickupLocationId` and need no shipping address.
 *
 * @example
 * ```ts
 * declare const body: unknown[] // a response of `GET /store/carts/:cartId/shipping-options`
 * const pickups = body.map((o) => shippingOptionSchema.parse(o)).filter((o) => o.pickupLocationId)
 * ```
 */
export const shippingOptionSchema = shippingMethodSchema

const adjustmentSchema = z.object({
  code: z.string(),
  label: z.string(),
  amount: z.number().int(),
  target: z.enum(['lines', 'shipping']).optional(),
  lineIds: z.array(z.string()).optional(),
  source: z.string().optional(),
})

const cartShape = {
  id: z.string(),
  currency: z.string(),
  status: z.enum(['open', 'completing', 'completed']),
  email: z.string().nullable(),
  customerId: z.string().nullable(),
  channelId: z.string().nullable(),
  taxInclusive: z.boolean(),
  shippingAddress: addressSchema.nullable(),
  billingAddress: addressSchema.nullable(),
  shippingMethod: shippingMethodSchema.nullable(),
  shippingTaxLines: z.array(taxLineSchema),
  lines: z.array(z.object(lineItemShape)),
  adjustments: z.array(adjustmentSchema),
  totals: totalsSchema,
  version: z.number().int(),
  pricingProblem: z.string().nullable(),
  orderId: z.string().nullable(),
  createdAt: instant,
  updatedAt: instant,
  accessToken: z.string().optional(),
}

/**
 * A cart priced by the server. `accessToken` appears only in the answer of `POST /carts`.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `POST /store/carts`
 * const cart = cartSchema.parse(body)
 * const token = cart.accessToken // send it back as `X-Cart-Token`
 * ```
 */
export const cartSchema = z.object(cartShape)

/**
 * A staff-made order being prepared: a cart with who made it, its status and how long it holds stock.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /admin/drafts/:draftId`
 * const draft = draftSchema.parse(body)
 * ```
 */
export const draftSchema = z.object({
  ...cartShape,
  createdBy: z.string(),
  draftStatus: z.enum(['open', 'expired', 'discarded']),
  expiresAt: instant,
  heldUnits: z.number().int(),
})

const paymentStatusSchema = z.enum(['pending', 'requires_action', 'authorized', 'partially_captured', 'captured', 'partially_refunded', 'refunded', 'voided', 'declined'])

const paymentShape = {
  id: z.string(),
  cartId: z.string(),
  orderId: z.string().nullable(),
  kind: z.enum(['gateway', 'tender']),
  provider: z.string(),
  status: paymentStatusSchema,
  currency: z.string(),
  amount: z.number().int(),
  authorizedAmount: z.number().int(),
  capturedAmount: z.number().int(),
  refundedAmount: z.number().int(),
  reference: z.string().nullable(),
  failure: z.string().nullable(),
  createdAt: instant,
  updatedAt: instant,
}

/**
 * A placed order. `accessToken` appears only in the answer of the checkout that placed it (and of
 * the Admin API's token reissue).
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /store/orders/:orderId`
 * const order = orderSchema.parse(body)
 * ```
 */
export const orderSchema = z.object({
  id: z.string(),
  number: z.number().int(),
  cartId: z.string(),
  currency: z.string(),
  status: z.enum(['placed', 'canceled', 'completed']),
  paymentStatus: paymentStatusSchema,
  fulfillmentStatus: z.enum(['unfulfilled', 'fulfilled']),
  email: z.string(),
  customerId: z.string().nullable(),
  channelId: z.string().nullable(),
  shippingAddress: addressSchema.nullable(),
  billingAddress: addressSchema.nullable(),
  shippingMethod: shippingMethodSchema.nullable(),
  shippingTaxLines: z.array(taxLineSchema),
  lines: z.array(
    z.object({
      ...lineItemShape,
      beyondStock: z.object({ policy: z.enum(['backorder', 'preorder']), quantity: z.number().int(), availableAt: z.string().nullable() }).nullable(),
    }),
  ),
  adjustments: z.array(
    z.object({
      id: z.string(),
      lineId: z.string().nullable(),
      target: z.enum(['lines', 'shipping']),
      code: z.string(),
      label: z.string(),
      source: z.string(),
      amount: z.number().int(),
      position: z.number().int(),
    }),
  ),
  totals: totalsSchema,
  payments: z.array(z.object(paymentShape)),
  hold: z.object({ reason: z.string(), at: instant }).nullable(),
  metadata,
  createdAt: instant,
  updatedAt: instant,
  canceledAt: z.string().nullable(),
  accessToken: z.string().optional(),
})

/**
 * The answer of a checkout while the shopper must confirm the payment with their bank or wallet:
 * send them to `action`, then call `POST /carts/:cartId/checkout/confirm`.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `POST /store/carts/:cartId/checkout`
 * const pending = actionRequiredSchema.safeParse(body)
 * if (pending.success && pending.data.action.type === 'redirect') console.log(pending.data.action.url)
 * ```
 */
export const actionRequiredSchema = z.object({
  status: z.literal('requires_action'),
  cartId: z.string(),
  paymentId: z.string(),
  action: z.union([z.object({ type: z.literal('redirect'), url: z.string() }), z.object({ type: z.literal('client_secret'), clientSecret: z.string() })]),
  expiresAt: instant,
})

/**
 * What a checkout answers: the placed order, or the customer action it waits for (`status`
 * tells them apart: an order's is never `requires_action`).
 *
 * @example
 * ```ts
 * declare const body: unknown
 * const result = checkoutResultSchema.parse(body)
 * if (result.status === 'requires_action') console.log('confirm by', result.expiresAt)
 * else console.log('order', result.number)
 * ```
 */
export const checkoutResultSchema = z.union([orderSchema, actionRequiredSchema])

/**
 * A payment with its captures, voids and refunds and its latest dispute.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `GET /admin/payments/:paymentId`
 * const payment = paymentDetailsSchema.parse(body)
 * ```
 */
export const paymentDetailsSchema = z.object({
  ...paymentShape,
  operations: z.array(
    z.object({
      id: z.string(),
      paymentId: z.string(),
      orderId: z.string().nullable(),
      kind: z.enum(['capture', 'void', 'refund']),
      amount: z.number().int(),
      status: z.enum(['pending', 'succeeded', 'failed']),
      idempotencyKey: z.string(),
      gatewayKey: z.string(),
      reason: z.string().nullable(),
      reference: z.string().nullable(),
      failure: z.string().nullable(),
      createdAt: instant,
      updatedAt: instant,
    }),
  ),
  dispute: z
    .object({
      status: z.enum(['open', 'closed']),
      reason: z.string().nullable(),
      amount: z.number().int().nullable(),
      eventId: z.string(),
      openedAt: instant,
      closedAt: z.string().nullable(),
    })
    .nullable(),
})

/**
 * A gateway notification as it was recorded, such as one no payment matched yet.
 *
 * @example
 * ```ts
 * declare const body: unknown[] // a response of `GET /admin/payment-events/unmatched`
 * const events = body.map((e) => paymentEventSchema.parse(e))
 * ```
 */
export const paymentEventSchema = z.object({
  provider: z.string(),
  eventId: z.string(),
  type: z.string(),
  reference: z.string(),
  paymentId: z.string().nullable(),
  operationId: z.string().nullable(),
  amount: z.number().int().nullable(),
  currency: z.string().nullable(),
  reason: z.string().nullable(),
  occurredAt: z.string().nullable(),
  outcome: z.enum(['applied', 'ignored', 'unmatched']),
  receivedAt: instant,
  appliedAt: z.string().nullable(),
})

/**
 * A delivery of one outbox event to one durable subscriber.
 *
 * @example
 * ```ts
 * declare const body: unknown[] // a response of `GET /admin/outbox/deliveries?status=dead`
 * const dead = body.map((d) => deliverySchema.parse(d))
 * ```
 */
export const deliverySchema = z.object({
  id: z.number().int(),
  eventId: z.string(),
  eventType: z.string(),
  subscriber: z.string(),
  status: z.enum(['pending', 'delivered', 'dead']),
  attempts: z.number().int(),
  nextAttemptAt: instant,
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
})

/**
 * A stock location.
 *
 * @example
 * ```ts
 * declare const body: unknown[] // a response of `GET /admin/stock-locations`
 * const locations = body.map((l) => stockLocationSchema.parse(l))
 * ```
 */
export const stockLocationSchema = z.object({ id: z.string(), name: z.string(), code: z.string(), priority: z.number().int(), createdAt: instant })

/**
 * Stock of one variant at one location.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `PUT /admin/inventory/levels`
 * const { available } = inventoryLevelSchema.parse(body)
 * ```
 */
export const inventoryLevelSchema = z.object({
  variantId: z.string(),
  locationId: z.string(),
  onHand: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int(),
  lowStockThreshold: z.number().int().nullable(),
  backorderAllowance: z.number().int(),
})

/**
 * Units set aside for a cart or an order at one location.
 *
 * @example
 * ```ts
 * declare const body: unknown[] // a response of `GET /admin/inventory/reservations?orderId=…`
 * const held = body.map((r) => reservationSchema.parse(r)).filter((r) => r.status === 'held')
 * ```
 */
export const reservationSchema = z.object({
  id: z.string(),
  variantId: z.string(),
  locationId: z.string(),
  quantity: z.number().int(),
  cartId: z.string(),
  orderId: z.string().nullable(),
  status: z.enum(['held', 'committed', 'released']),
  createdAt: instant,
})

/**
 * The answer of a route that only acknowledges.
 *
 * @example
 * ```ts
 * const ack = okSchema.parse({ ok: true })
 * ```
 */
export const okSchema = z.object({ ok: z.literal(true) })
