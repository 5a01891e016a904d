import { z } from 'zod'
import { addressSchema, CommerceError, defineEndpoint, type Endpoint } from '@cartwright/core'
import { checkoutResultSchema, cartSchema, orderSchema, shippingOptionSchema } from './schemas.js'
import { core, defined, id, idempotencyKey } from './fields.js'

// A shopper's body never names a customer, a price, a total, a status or metadata: the schemas
// below are strict, so such a field is refused (400) before anything is read or written.

const email = z.string().max(320)
const quantity = z.number().int().min(1).max(10_000)

const createCart = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/carts',
  summary: 'Open a cart: its id and its secret access token (also set as the cart cookie)',
  description: 'The token appears only in this answer. Send it back as the `X-Cart-Token` header (or the cart cookie) on every route under `/carts/:cartId`.',
  access: 'public',
  credential: 'cart',
  input: z.strictObject({ currency: z.string().length(3), email: email.optional(), channelId: id.optional() }),
  output: cartSchema,
  handler: ({ input, actor, commerce }) => {
    // A signed-in shopper's new cart is theirs: their prices apply and their session opens it.
    const owner = actor.kind === 'customer' ? { customerId: actor.customerId } : {}
    return core(commerce).carts.create({ ...defined(input), ...owner })
  },
})

const getCart = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/carts/:cartId',
  summary: 'A cart with current prices and totals',
  access: 'cart',
  input: z.strictObject({ cartId: id }),
  output: cartSchema,
  handler: ({ input, commerce }) => core(commerce).carts.get(input.cartId),
})

const addLine = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/carts/:cartId/lines',
  summary: 'Add units of a variant (a variant already in the cart raises its line)',
  description: 'The price is always the server’s: a body naming a price, a total or a customer is refused.',
  access: 'cart',
  input: z.strictObject({ cartId: id, variantId: id, quantity }),
  output: cartSchema,
  handler: ({ input, commerce }) => core(commerce).carts.addItem(input.cartId, { variantId: input.variantId, quantity: input.quantity }),
})

const updateLine = defineEndpoint({
  surface: 'store',
  method: 'PATCH',
  path: '/carts/:cartId/lines/:lineId',
  summary: "Set a line's quantity (0 removes it)",
  access: 'cart',
  input: z.strictObject({ cartId: id, lineId: id, quantity: z.number().int().min(0).max(10_000) }),
  output: cartSchema,
  handler: ({ input, commerce }) => core(commerce).carts.updateItem(input.cartId, input.lineId, { quantity: input.quantity }),
})

const removeLine = defineEndpoint({
  surface: 'store',
  method: 'DELETE',
  path: '/carts/:cartId/lines/:lineId',
  summary: 'Remove a line',
  access: 'cart',
  input: z.strictObject({ cartId: id, lineId: id }),
  output: cartSchema,
  handler: ({ input, commerce }) => core(commerce).carts.removeItem(input.cartId, input.lineId),
})

const updateCart = defineEndpoint({
  surface: 'store',
  method: 'PATCH',
  path: '/carts/:cartId',
  summary: 'Set the email and the shipping and billing addresses (null clears one)',
  access: 'cart',
  input: z.strictObject({
    cartId: id,
    email: email.nullable().optional(),
    shippingAddress: addressSchema.nullable().optional(),
    billingAddress: addressSchema.nullable().optional(),
  }),
  output: cartSchema,
  handler: ({ input, commerce }) => {
    const { cartId, ...fields } = input
    return core(commerce).carts.update(cartId, defined(fields))
  },
})

const shippingOptions = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/carts/:cartId/shipping-options',
  summary: 'Shipping options for the cart, freshly quoted; pickup options need no address',
  access: 'cart',
  input: z.strictObject({ cartId: id }),
  output: z.array(shippingOptionSchema),
  handler: ({ input, commerce }) => core(commerce).carts.listShippingOptions(input.cartId),
})

const setShippingOption = defineEndpoint({
  surface: 'store',
  method: 'PUT',
  path: '/carts/:cartId/shipping-option',
  summary: 'Choose a shipping (or pickup) option by the id the options route gave',
  access: 'cart',
  input: z.strictObject({ cartId: id, optionId: z.string().min(1).max(200) }),
  output: cartSchema,
  handler: ({ input, commerce }) => core(commerce).carts.setShippingOption(input.cartId, input.optionId),
})

const complete = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/carts/:cartId/checkout',
  summary: 'Place the order, or answer the customer action the payment waits for',
  description:
    'Needs an `Idempotency-Key` header: a retry with the same key answers the same order (or the same action), never a second one. The order in the first answer carries its `accessToken`. When the answer has `status: "requires_action"`, send the shopper to `action`, then call `POST /carts/:cartId/checkout/confirm`. `payment.data` is the gateway’s token, never card data.',
  access: 'cart',
  idempotent: true,
  // Checkout attempts are costly (a gateway call each) and a way to test stolen cards: few per client.
  rateLimit: { windowMs: 60_000, max: 20 },
  input: z.strictObject({
    cartId: id,
    idempotencyKey,
    payment: z.strictObject({ provider: z.string().min(1).max(64), data: z.record(z.string().max(64), z.unknown()).optional() }),
  }),
  output: checkoutResultSchema,
  handler: ({ input, commerce }) =>
    core(commerce).checkout.complete(input.cartId, { payment: defined(input.payment), idempotencyKey: input.idempotencyKey }),
})

const confirm = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/carts/:cartId/checkout/confirm',
  summary: 'The shopper is back from their bank or wallet: the order, or the same action while it waits',
  description: 'Finishes the checkout when the gateway has decided (whoever learns it first places the order, once). `PAYMENT_DECLINED` when the payment failed or its deadline passed.',
  access: 'cart',
  rateLimit: { windowMs: 60_000, max: 60 },
  input: z.strictObject({ cartId: id }),
  output: checkoutResultSchema,
  handler: ({ input, commerce }) => core(commerce).checkout.confirm(input.cartId),
})

// The order routes take the token in the `X-Order-Token` header or the `token` query parameter;
// the HTTP layer has checked it before the handler runs, so `token` is only declared here.
const orderToken = z.string().max(512).optional()

const viewOrder = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/orders/:orderId',
  summary: 'An order, opened by its access token (or the token of the cart it was placed from)',
  access: 'order',
  input: z.strictObject({ orderId: id, token: orderToken }),
  output: orderSchema,
  handler: ({ input, commerce }) => core(commerce).orders.get(input.orderId),
})

/**
 * Whether the buyer may still cancel the order themselves: placed, nothing shipped, nothing
 * captured, not held for review (staff are looking at it). Otherwise they ask the shop.
 */
function buyerMayCancel(order: z.output<typeof orderSchema>): string | null {
  if (order.status !== 'placed') return `it is ${order.status}`
  if (order.fulfillmentStatus !== 'unfulfilled') return 'it has shipped'
  if (order.hold) return 'it is being reviewed'
  if (order.payments.some((p) => p.capturedAmount > 0)) return 'its payment was taken'
  return null
}

const cancelOrder = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/orders/:orderId/cancel',
  summary: 'The buyer cancels their order, while nothing was captured or shipped',
  description:
    'Releases the stock and voids the authorization. Refused (`INVALID_STATE`) once the payment was captured, the order shipped, or while it is held for review; the shop cancels it then. Needs an `Idempotency-Key` header. `order.beforeCancel` hooks may veto.',
  access: 'order',
  idempotent: true,
  input: z.strictObject({ orderId: id, token: orderToken, idempotencyKey, reason: z.string().max(500).optional() }),
  output: orderSchema,
  handler: async ({ input, commerce }) => {
    const orders = core(commerce).orders
    const order = await orders.get(input.orderId)
    // A canceled order is answered as it is: the retry of a cancel whose answer was lost.
    if (order.status === 'canceled') return orders.cancel(input.orderId, defined({ reason: input.reason, idempotencyKey: `buyer-cancel:${input.idempotencyKey}` }))
    const refused = buyerMayCancel(order)
    if (refused) throw new CommerceError('INVALID_STATE', `Order ${order.number} can no longer be canceled here: ${refused}; ask the shop`, { details: { orderId: order.id, status: order.status } })
    return orders.cancel(input.orderId, defined({ reason: input.reason ?? 'canceled by the buyer', idempotencyKey: `buyer-cancel:${input.idempotencyKey}` }))
  },
})

/**
 * The Store API's cart, checkout and order routes, each with its schemas and its method and path as
 * types, for a typed client (`typeof storeCartEndpoints`).
 */
export const storeCartEndpoints = [
  createCart,
  getCart,
  addLine,
  updateLine,
  removeLine,
  updateCart,
  shippingOptions,
  setShippingOption,
  complete,
  confirm,
  viewOrder,
  cancelOrder,
] as const

/** The Store API's cart, checkout and order routes. */
export const storeCartRoutes: readonly Endpoint[] = storeCartEndpoints
