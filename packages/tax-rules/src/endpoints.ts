import { z } from 'zod'
import { CommerceError, defineEndpoint, notFound, type Actor, type Endpoint } from '@cartwright/core'
import type { TaxRulesService } from './tax-rules.js'

/** The engine as the endpoints' handlers use it. */
type Engine = { 'tax-rules': TaxRulesService }
const engine = (commerce: unknown) => (commerce as Engine)['tax-rules']

const id = z.string().min(1).max(200)
const vatNumber = z.string().max(40).nullable()
const cartProfile = z.object({ cartId: z.string(), vatNumber: z.string().nullable(), vatCountry: z.string().nullable() })
const customerProfile = z.object({
  customerId: z.string(),
  vatNumber: z.string().nullable(),
  vatCountry: z.string().nullable(),
  exempt: z.boolean(),
  exemptReason: z.string().nullable(),
  exemptCertificate: z.string().nullable(),
})
const orderProfile = z.object({ orderId: z.string(), vatNumber: z.string().nullable(), vatCountry: z.string().nullable(), exemption: z.string().nullable() })

/** The cart the caller holds the token of: another cart's id answers `NOT_FOUND`, as if it did not exist. */
function ownCart(actor: Actor, cartId: string): string {
  if (actor.kind === 'cart' && actor.cartId === cartId) return cartId
  throw notFound('Cart', cartId)
}

/** The signed-in customer's id, or `INVALID_STATE` (the HTTP layer checks `access: 'customer'` first). */
function customerOf(actor: Actor): string {
  if (actor.kind !== 'customer') throw new CommerceError('INVALID_STATE', 'Sign in first')
  return actor.customerId
}

const setCart = defineEndpoint({
  surface: 'store',
  method: 'PUT',
  path: '/carts/:cartId/tax-profile',
  summary: "Give (or remove, with null) a business buyer's EU VAT number for a cart; the cart is priced again",
  access: 'cart',
  rateLimit: { windowMs: 60_000, max: 20 },
  input: z.strictObject({ cartId: id, vatNumber }),
  output: cartProfile,
  handler: ({ input, actor, commerce }) => engine(commerce).setCartProfile(ownCart(actor, input.cartId), { vatNumber: input.vatNumber }),
})

const getCart = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/carts/:cartId/tax-profile',
  summary: 'The VAT number given for a cart (null fields when none)',
  access: 'cart',
  input: z.strictObject({ cartId: id }),
  output: cartProfile,
  handler: async ({ input, actor, commerce }) => {
    const cartId = ownCart(actor, input.cartId)
    return (await engine(commerce).getCartProfile(cartId)) ?? { cartId, vatNumber: null, vatCountry: null }
  },
})

const getOwn = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/account/tax-profile',
  summary: "The signed-in customer's VAT number and exemption",
  access: 'customer',
  output: customerProfile.nullable(),
  handler: ({ actor, commerce }) => engine(commerce).getCustomerProfile(customerOf(actor)),
})

const setOwn = defineEndpoint({
  surface: 'store',
  method: 'PUT',
  path: '/account/tax-profile',
  summary: "Set (or remove, with null) the signed-in customer's EU VAT number; exemptions are staff's",
  access: 'customer',
  rateLimit: { windowMs: 60_000, max: 20 },
  input: z.strictObject({ vatNumber }),
  output: customerProfile,
  handler: ({ input, actor, commerce }) => engine(commerce).setCustomerProfile(customerOf(actor), { vatNumber: input.vatNumber }),
})

const getCustomer = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/customers/:customerId/tax-profile',
  summary: "A customer's VAT number and exemption",
  access: 'staff',
  input: z.strictObject({ customerId: id }),
  output: customerProfile.nullable(),
  handler: ({ input, commerce }) => engine(commerce).getCustomerProfile(input.customerId),
})

const setCustomer = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/customers/:customerId/tax-profile',
  summary: "Change a customer's VAT number or exemption (fields left out keep their value)",
  access: 'staff',
  input: z.strictObject({
    customerId: id,
    vatNumber: vatNumber.optional(),
    exempt: z.boolean().optional(),
    exemptReason: z.string().max(300).nullable().optional(),
    exemptCertificate: z.string().max(100).nullable().optional(),
  }),
  output: customerProfile,
  handler: ({ input, commerce }) => {
    const { customerId, ...change } = input
    return engine(commerce).setCustomerProfile(customerId, change)
  },
})

const getOrder = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/orders/:orderId/tax-profile',
  summary: 'The VAT number and exemption an order was placed with (for its invoice)',
  access: 'staff',
  input: z.strictObject({ orderId: id }),
  output: orderProfile.nullable(),
  handler: ({ input, commerce }) => engine(commerce).getOrderProfile(input.orderId),
})

/**
 * The plugin's routes, for the HTTP layer to mount: Store (a cart's VAT number for its token
 * holder, the signed-in customer's own VAT number) and Admin (a customer's profile with its
 * exemption, an order's profile). Inputs are checked again, field by field, by the service.
 *
 * @example
 * ```ts
 * for (const e of taxRulesEndpoints) console.log(e.surface, e.method, e.path, e.access)
 * ```
 */
export const taxRulesEndpoints = [setCart, getCart, getOwn, setOwn, getCustomer, setCustomer, getOrder] as const satisfies readonly Endpoint[]
