import { z } from 'zod'
import { defineEndpoint, notFound, type Actor, type Endpoint } from '@cartwright/core'
import type { GiftCardsService } from './gift-cards.js'
import { MAX_GIFT_CARD_NOTE } from './schemas.js'

/** The engine as the endpoints' handlers use it. */
type Engine = { 'gift-cards': GiftCardsService }
const cards = (commerce: unknown) => (commerce as Engine)['gift-cards']

const id = z.string().min(1).max(64)
const code = z.string().min(1).max(64)
const amount = z.number().int().positive().max(Number.MAX_SAFE_INTEGER)

const cardSchema = z.object({
  id: z.string(),
  last4: z.string(),
  maskedCode: z.string(),
  currency: z.string(),
  initialAmount: z.number().int(),
  balance: z.number().int(),
  status: z.enum(['active', 'disabled']),
  source: z.enum(['staff', 'order']),
  note: z.string().nullable(),
  email: z.string().nullable(),
  orderId: z.string().nullable(),
  expiresAt: z.string().nullable(),
  disabledReason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

const appliedSchema = z.object({
  cartId: z.string(),
  currency: z.string(),
  total: z.number().int(),
  cards: z.array(
    z.object({
      cardId: z.string(),
      last4: z.string(),
      maskedCode: z.string(),
      requested: z.number().int().nullable(),
      amount: z.number().int(),
      balance: z.number().int(),
      usable: z.boolean(),
    }),
  ),
  dueAtGateway: z.number().int(),
})

/** Only the shopper holding this cart's token may change its gift cards; anyone else gets "not found". */
function ownCart(actor: Actor, cartId: string): string {
  if (actor.kind !== 'cart' || actor.cartId !== cartId) throw notFound('Cart', cartId)
  return cartId
}

const checkBalance = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/gift-cards/balance',
  summary: "A gift card's balance, by its full code",
  description:
    'The code goes in the body, not the path, so it stays out of access logs. Unknown, disabled and expired codes all answer the same 404; the route is rate-limited so codes cannot be guessed.',
  access: 'public',
  rateLimit: { windowMs: 60_000, max: 10 },
  input: z.strictObject({ code }),
  output: z.object({ last4: z.string(), currency: z.string(), balance: z.number().int(), expiresAt: z.string().nullable() }),
  handler: ({ input, commerce }) => cards(commerce).balance(input.code),
})

const applyToCart = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/carts/:cartId/gift-cards',
  summary: 'Apply a gift card to the cart (or change the amount it pays)',
  access: 'cart',
  rateLimit: { windowMs: 60_000, max: 10 },
  input: z.strictObject({ cartId: id, code, amount: amount.optional() }),
  output: appliedSchema,
  handler: ({ input, actor, commerce }) => cards(commerce).apply(ownCart(actor, input.cartId), input.code, input.amount === undefined ? {} : { amount: input.amount }),
})

const removeFromCart = defineEndpoint({
  surface: 'store',
  method: 'DELETE',
  path: '/carts/:cartId/gift-cards/:cardId',
  summary: 'Take a gift card off the cart',
  access: 'cart',
  input: z.strictObject({ cartId: id, cardId: id }),
  output: appliedSchema,
  handler: ({ input, actor, commerce }) => cards(commerce).remove(ownCart(actor, input.cartId), input.cardId),
})

const listOnCart = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/carts/:cartId/gift-cards',
  summary: 'The gift cards applied to the cart and what each would pay',
  access: 'cart',
  input: z.strictObject({ cartId: id }),
  output: appliedSchema,
  handler: ({ input, actor, commerce }) => cards(commerce).applied(ownCart(actor, input.cartId)),
})

const issue = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/gift-cards',
  summary: 'Issue a gift card; the response is the only time its code is shown',
  access: 'staff',
  input: z.strictObject({
    currency: z.string(),
    amount,
    note: z.string().max(MAX_GIFT_CARD_NOTE).optional(),
    email: z.string().max(320).optional(),
    expiresAt: z.string().optional(),
    idempotencyKey: z.string().min(1).max(200),
  }),
  output: cardSchema.extend({ code: z.string().optional() }),
  handler: ({ input, commerce }) => cards(commerce).issue(input),
})

const list = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/gift-cards',
  summary: 'Gift cards, masked, a page at a time',
  access: 'staff',
  input: z.strictObject({
    status: z.enum(['active', 'disabled']).optional(),
    source: z.enum(['staff', 'order']).optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
    cursor: z.string().max(200).optional(),
  }),
  output: z.object({ items: z.array(cardSchema), nextCursor: z.string().nullable() }),
  handler: ({ input, commerce }) => cards(commerce).list(input),
})

const get = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/gift-cards/:cardId',
  summary: 'A gift card, masked, with its ledger',
  access: 'staff',
  input: z.strictObject({ cardId: id }),
  output: cardSchema.extend({
    ledger: z.array(
      z.object({
        id: z.string(),
        cardId: z.string(),
        kind: z.enum(['issue', 'redeem', 'release', 'refund', 'adjust']),
        amount: z.number().int(),
        paymentId: z.string().nullable(),
        orderId: z.string().nullable(),
        reason: z.string().nullable(),
        createdAt: z.string(),
      }),
    ),
  }),
  handler: async ({ input, commerce }) => ({ ...(await cards(commerce).get(input.cardId)), ledger: await cards(commerce).ledger(input.cardId) }),
})

const adjust = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/gift-cards/:cardId/adjust',
  summary: 'Change a balance by a signed amount, with a reason',
  access: 'staff',
  input: z.strictObject({ cardId: id, amount: z.number().int(), reason: z.string().max(MAX_GIFT_CARD_NOTE), idempotencyKey: z.string().min(1).max(200) }),
  output: cardSchema,
  handler: ({ input: { cardId, ...rest }, commerce }) => cards(commerce).adjust(cardId, rest),
})

const disable = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/gift-cards/:cardId/disable',
  summary: 'Disable a gift card',
  access: 'staff',
  input: z.strictObject({ cardId: id, reason: z.string().max(MAX_GIFT_CARD_NOTE).optional() }),
  output: cardSchema,
  handler: ({ input: { cardId, reason }, commerce }) => cards(commerce).disable(cardId, reason === undefined ? {} : { reason }),
})

const enable = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/gift-cards/:cardId/enable',
  summary: 'Enable a disabled gift card',
  access: 'staff',
  input: z.strictObject({ cardId: id }),
  output: cardSchema,
  handler: ({ input, commerce }) => cards(commerce).enable(input.cardId),
})

const sellAs = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/gift-cards/products/:variantId',
  summary: 'Sell a variant as a gift card (issued when its order is paid)',
  access: 'staff',
  input: z.strictObject({ variantId: id, amounts: z.record(z.string(), amount).optional(), expiresInDays: z.number().int().optional() }),
  output: z.object({ variantId: z.string() }),
  handler: async ({ input: { variantId, ...options }, commerce }) => {
    await cards(commerce).sellAs(variantId, options)
    return { variantId }
  },
})

/**
 * The plugin's Store and Admin routes as data; `giftCards()` registers them, and `@cartwright/http`
 * mounts them. Store: the balance check (public, by full code, rate-limited) and the cart's cards
 * (for the shopper holding the cart's token). Admin: issue, list, get with the ledger, adjust,
 * disable, enable, and sell a variant as a gift card. A tuple: each route keeps its schemas, method
 * and path in its type, for `createStoreClient` from `@cartwright/http`.
 *
 * @example
 * ```ts
 * const storeRoutes = giftCardEndpoints.filter((e) => e.surface === 'store').map((e) => `${e.method} ${e.path}`)
 * ```
 */
export const giftCardEndpoints = [checkBalance, applyToCart, removeFromCart, listOnCart, issue, list, get, adjust, disable, enable, sellAs] as const satisfies readonly Endpoint[]
