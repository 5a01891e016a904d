import { z } from 'zod'
import { addressSchema, CommerceError, defineEndpoint, type Actor, type Endpoint } from '@cartwright/core'
import { deliverySchema, draftSchema, okSchema, orderSchema, pageOf, paymentDetailsSchema, paymentEventSchema, shippingOptionSchema } from './schemas.js'
import { core, defined, id, idempotencyKey, paging, queryBool, queryInt } from './fields.js'

const amount = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)

/** Who made a change, for the records that keep it (a draft's maker, a price override). */
function staffOf(actor: Actor): string {
  if (actor.kind !== 'staff') throw new CommerceError('INVALID_STATE', 'Staff only')
  return actor.staffId
}

const listOrders = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/orders',
  summary: 'Orders, newest first: by customer, channel, email, status, or held for review',
  access: 'staff',
  scope: 'orders:read',
  input: z.strictObject({
    customerId: id.optional(),
    channelId: id.optional(),
    email: z.string().min(1).max(320).optional(),
    status: z.enum(['placed', 'canceled', 'completed']).optional(),
    held: queryBool.optional(),
    ...paging,
  }),
  output: pageOf(orderSchema),
  handler: ({ input, commerce }) => core(commerce).orders.list(defined(input)),
})

const getOrder = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/orders/:orderId',
  summary: 'An order',
  access: 'staff',
  scope: 'orders:read',
  input: z.strictObject({ orderId: id }),
  output: orderSchema,
  handler: ({ input, commerce }) => core(commerce).orders.get(input.orderId),
})

const orderByNumber = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/orders/by-number/:number',
  summary: 'An order by its number',
  access: 'staff',
  scope: 'orders:read',
  input: z.strictObject({ number: queryInt(1, Number.MAX_SAFE_INTEGER) }),
  output: orderSchema,
  handler: ({ input, commerce }) => core(commerce).orders.getByNumber(input.number),
})

const capture = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/orders/:orderId/capture',
  summary: "Capture the order's payment (all of it, or an amount)",
  description: 'Needs an `Idempotency-Key` header: a retry with the same key replays the first capture, never a second.',
  access: 'staff',
  scope: 'orders:write',
  idempotent: true,
  input: z.strictObject({ orderId: id, idempotencyKey, amount: amount.optional() }),
  output: orderSchema,
  handler: ({ input, commerce }) => {
    const { orderId, ...rest } = input
    return core(commerce).orders.capturePayment(orderId, defined(rest))
  },
})

const voidPayment = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/orders/:orderId/void',
  summary: "Release the order's authorization when nothing was captured (the order stays placed)",
  access: 'staff',
  scope: 'orders:write',
  idempotent: true,
  input: z.strictObject({ orderId: id, idempotencyKey }),
  output: orderSchema,
  handler: ({ input, commerce }) => core(commerce).orders.voidPayment(input.orderId, { idempotencyKey: input.idempotencyKey }),
})

const refund = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/orders/:orderId/refund',
  summary: 'Refund part or all of what was captured (to its sources, or one payment)',
  description: 'Needs an `Idempotency-Key` header: the key covers the whole refund, and a retry replays every part.',
  access: 'staff',
  scope: 'orders:write',
  idempotent: true,
  input: z.strictObject({ orderId: id, idempotencyKey, amount, reason: z.string().max(500).optional(), paymentId: id.optional() }),
  output: orderSchema,
  handler: ({ input, commerce }) => {
    const { orderId, ...rest } = input
    return core(commerce).orders.refund(orderId, defined(rest))
  },
})

const cancel = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/orders/:orderId/cancel',
  summary: 'Cancel an unfulfilled order: its stock released, its money voided or refunded',
  access: 'staff',
  scope: 'orders:write',
  idempotent: true,
  input: z.strictObject({ orderId: id, idempotencyKey, reason: z.string().max(500).optional() }),
  output: orderSchema,
  handler: ({ input, commerce }) => {
    const { orderId, ...rest } = input
    return core(commerce).orders.cancel(orderId, defined(rest))
  },
})

const fulfill = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/orders/:orderId/fulfill',
  summary: 'Mark the order shipped in full: its reserved stock leaves the shelves',
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ orderId: id }),
  output: orderSchema,
  handler: ({ input, commerce }) => core(commerce).orders.fulfill(input.orderId),
})

const hold = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/orders/:orderId/hold',
  summary: 'Hold the order for review: no capture, no fulfilment until released',
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ orderId: id, reason: z.string().min(1).max(500) }),
  output: orderSchema,
  handler: ({ input, commerce }) => core(commerce).orders.hold(input.orderId, { reason: input.reason }),
})

const release = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/orders/:orderId/release',
  summary: 'Release an order held for review',
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ orderId: id }),
  output: orderSchema,
  handler: ({ input, commerce }) => core(commerce).orders.release(input.orderId),
})

const issueToken = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/orders/:orderId/access-token',
  summary: "Issue a new access token for the order's page (for an email link); the previous one stops working",
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ orderId: id }),
  output: orderSchema,
  handler: ({ input, commerce }) => core(commerce).orders.issueAccessToken(input.orderId),
})

// Staff-made orders: a draft is a cart made by staff; its lines and addresses are set as a cart's.

const expiresAt = z.string().max(40)

const createDraft = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/drafts',
  summary: 'Open a staff-made order (a draft) for a customer, in a channel; its maker is the caller',
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({
    currency: z.string().length(3),
    customerId: id.optional(),
    email: z.string().max(320).optional(),
    channelId: id.optional(),
    metadata: z.record(z.string().max(64), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()])).optional(),
    expiresAt: expiresAt.optional(),
  }),
  output: draftSchema,
  handler: ({ input, actor, commerce }) => core(commerce).drafts.create({ ...defined(input), createdBy: staffOf(actor) }),
})

const getDraft = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/drafts/:draftId',
  summary: 'A draft, priced, with its maker, status, expiry and held units',
  access: 'staff',
  scope: 'orders:read',
  input: z.strictObject({ draftId: id }),
  output: draftSchema,
  handler: ({ input, commerce }) => core(commerce).drafts.get(input.draftId),
})

/** A change to a draft made with the cart methods, answered as the draft (`NOT_FOUND` for a shopper's cart). */
async function onDraft(commerce: unknown, draftId: string, change: (carts: ReturnType<typeof core>['carts']) => Promise<unknown>) {
  const c = core(commerce)
  await c.drafts.get(draftId)
  await change(c.carts)
  return c.drafts.get(draftId)
}

const addDraftLine = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/drafts/:draftId/lines',
  summary: 'Add units of a variant to a draft',
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ draftId: id, variantId: id, quantity: z.number().int().min(1).max(10_000) }),
  output: draftSchema,
  handler: ({ input, commerce }) => onDraft(commerce, input.draftId, (carts) => carts.addItem(input.draftId, { variantId: input.variantId, quantity: input.quantity })),
})

const updateDraftLine = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/drafts/:draftId/lines/:lineId',
  summary: "Set a draft line's quantity (0 removes it)",
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ draftId: id, lineId: id, quantity: z.number().int().min(0).max(10_000) }),
  output: draftSchema,
  handler: ({ input, commerce }) => onDraft(commerce, input.draftId, (carts) => carts.updateItem(input.draftId, input.lineId, { quantity: input.quantity })),
})

const removeDraftLine = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/drafts/:draftId/lines/:lineId',
  summary: 'Remove a line of a draft',
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ draftId: id, lineId: id }),
  output: draftSchema,
  handler: ({ input, commerce }) => onDraft(commerce, input.draftId, (carts) => carts.removeItem(input.draftId, input.lineId)),
})

const updateDraft = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/drafts/:draftId',
  summary: "Set a draft's email, addresses, customer or metadata (null clears one)",
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({
    draftId: id,
    email: z.string().max(320).nullable().optional(),
    shippingAddress: addressSchema.nullable().optional(),
    billingAddress: addressSchema.nullable().optional(),
    customerId: id.nullable().optional(),
    metadata: z.record(z.string().max(64), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()])).optional(),
  }),
  output: draftSchema,
  handler: ({ input, commerce }) => {
    const { draftId, ...fields } = input
    return onDraft(commerce, draftId, (carts) => carts.update(draftId, defined(fields)))
  },
})

const draftShippingOptions = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/drafts/:draftId/shipping-options',
  summary: 'Shipping options for a draft',
  access: 'staff',
  scope: 'orders:read',
  input: z.strictObject({ draftId: id }),
  output: z.array(shippingOptionSchema),
  handler: async ({ input, commerce }) => {
    await core(commerce).drafts.get(input.draftId)
    return core(commerce).carts.listShippingOptions(input.draftId)
  },
})

const setDraftShipping = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/drafts/:draftId/shipping-option',
  summary: "Choose a draft's shipping option",
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ draftId: id, optionId: z.string().min(1).max(200) }),
  output: draftSchema,
  handler: ({ input, commerce }) => onDraft(commerce, input.draftId, (carts) => carts.setShippingOption(input.draftId, input.optionId)),
})

const overridePrice = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/drafts/:draftId/lines/:lineId/price',
  summary: "Override a draft line's unit price, with the reason (the caller is recorded as who set it)",
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ draftId: id, lineId: id, unitPrice: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), reason: z.string().min(1).max(500) }),
  output: draftSchema,
  handler: ({ input, actor, commerce }) =>
    core(commerce).drafts.overridePrice(input.draftId, input.lineId, { unitPrice: input.unitPrice, reason: input.reason, by: staffOf(actor) }),
})

const reserveDraft = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/drafts/:draftId/reserve',
  summary: "Hold a draft's units until it expires",
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ draftId: id, expiresAt: expiresAt.optional() }),
  output: draftSchema,
  handler: ({ input, commerce }) => core(commerce).drafts.reserve(input.draftId, defined({ expiresAt: input.expiresAt })),
})

const paymentLink = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/drafts/:draftId/payment-link',
  summary: "Hold a draft's units and issue the token its customer pays it with (shown once)",
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ draftId: id, expiresAt: expiresAt.optional() }),
  output: z.object({ draftId: z.string(), token: z.string(), expiresAt: z.string() }),
  handler: ({ input, commerce }) => core(commerce).drafts.paymentLink(input.draftId, defined({ expiresAt: input.expiresAt })),
})

const discardDraft = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/drafts/:draftId/discard',
  summary: 'Discard a draft, releasing what it held',
  access: 'staff',
  scope: 'orders:write',
  input: z.strictObject({ draftId: id }),
  output: draftSchema,
  handler: ({ input, commerce }) => core(commerce).drafts.discard(input.draftId),
})

const markPaid = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/drafts/:draftId/mark-paid',
  summary: 'Place the draft as an order paid outside the gateway (cash, bank transfer, card terminal…)',
  access: 'staff',
  scope: 'orders:write',
  idempotent: true,
  input: z.strictObject({
    draftId: id,
    idempotencyKey,
    method: z.enum(['cash', 'bank_transfer', 'card_terminal', 'check', 'other']),
    reference: z.string().max(200).optional(),
  }),
  output: orderSchema,
  handler: ({ input, commerce }) => {
    const { draftId, ...rest } = input
    return core(commerce).drafts.markPaid(draftId, defined(rest))
  },
})

// Operations: payments, gateway events no payment matched, the outbox's dead letters.

const paymentStatus = z.enum(['pending', 'requires_action', 'authorized', 'partially_captured', 'captured', 'partially_refunded', 'refunded', 'voided', 'declined'])

const listPayments = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/payments',
  summary: 'Payments with their operations: of an order, a cart, or a status',
  access: 'staff',
  scope: 'payments:read',
  input: z.strictObject({ orderId: id.optional(), cartId: id.optional(), status: paymentStatus.optional(), ...paging }),
  output: pageOf(paymentDetailsSchema),
  handler: ({ input, commerce }) => core(commerce).payments.list(defined(input)),
})

const unmatchedEvents = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/payment-events/unmatched',
  summary: 'Gateway events that no payment matched yet, oldest first',
  access: 'staff',
  scope: 'payments:read',
  input: z.strictObject({ provider: z.string().min(1).max(64).optional(), limit: queryInt(1, 1000).optional() }),
  output: z.array(paymentEventSchema),
  handler: ({ input, commerce }) => core(commerce).payments.listUnmatchedEvents(defined(input)),
})

const getPayment = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/payments/:paymentId',
  summary: 'A payment with its captures, voids, refunds and dispute',
  access: 'staff',
  scope: 'payments:read',
  input: z.strictObject({ paymentId: id }),
  output: paymentDetailsSchema,
  handler: ({ input, commerce }) => core(commerce).payments.get(input.paymentId),
})

const deliveries = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/outbox/deliveries',
  summary: "Deliveries of events to durable subscribers, of one status (`dead`: the dead letters)",
  access: 'staff',
  scope: 'outbox:read',
  input: z.strictObject({ status: z.enum(['pending', 'delivered', 'dead']).optional(), limit: queryInt(1, 1000).optional() }),
  output: z.array(deliverySchema),
  handler: ({ input, commerce }) => core(commerce).outbox.list(defined(input)),
})

const retryDelivery = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/outbox/deliveries/:deliveryId/retry',
  summary: 'Deliver a dead letter again',
  access: 'staff',
  scope: 'outbox:write',
  input: z.strictObject({ deliveryId: queryInt(1, Number.MAX_SAFE_INTEGER) }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).outbox.retry(input.deliveryId)
    return { ok: true as const }
  },
})

/** The Admin API's order, draft, payment and outbox routes. */
export const adminOrderRoutes: readonly Endpoint[] = [
  listOrders,
  getOrder,
  orderByNumber,
  capture,
  voidPayment,
  refund,
  cancel,
  fulfill,
  hold,
  release,
  issueToken,
  createDraft,
  getDraft,
  addDraftLine,
  updateDraftLine,
  removeDraftLine,
  updateDraft,
  draftShippingOptions,
  setDraftShipping,
  overridePrice,
  reserveDraft,
  paymentLink,
  discardDraft,
  markPaid,
  listPayments,
  unmatchedEvents,
  getPayment,
  deliveries,
  retryDelivery,
] as readonly Endpoint[]
