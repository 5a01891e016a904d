import type { z } from 'zod'

/** Who is calling an endpoint, as the HTTP layer resolved it. */
export type Actor =
  | { kind: 'anonymous' }
  /** A shopper holding a cart's access token. */
  | { kind: 'cart'; cartId: string }
  /** A signed-in customer. */
  | { kind: 'customer'; customerId: string }
  /** A member of staff, with the permissions the host gave them. */
  | { kind: 'staff'; staffId: string; permissions: readonly string[] }

/**
 * Who may call an endpoint: anyone, a shopper holding the cart's token, a signed-in customer, or
 * staff (the Admin API).
 */
export type EndpointAccess = 'public' | 'cart' | 'customer' | 'staff'

/**
 * A Store or Admin API route described as data, without importing any web framework. The HTTP
 * package mounts it (validating `input`, checking `access` and `rateLimit`, mapping
 * `CommerceError` codes to statuses) and lists it in the OpenAPI document from the same schemas.
 * `path` is relative to the surface and may hold `:params`, which arrive in `input` with the body
 * (or the query string for `GET`).
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 *
 * const balance = defineEndpoint({
 *   surface: 'store',
 *   method: 'GET',
 *   path: '/gift-cards/:code',
 *   summary: 'The balance of a gift card',
 *   access: 'public',
 *   rateLimit: { windowMs: 60_000, max: 10 }, // guessing codes is slow
 *   input: z.object({ code: z.string().max(40) }),
 *   output: z.object({ balance: z.number().int() }),
 *   handler: async ({ input }) => ({ balance: input.code.length }),
 * })
 * const routes: Endpoint[] = [balance]
 * ```
 */
export interface Endpoint<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType, Engine = unknown> {
  surface: 'store' | 'admin'
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  path: `/${string}`
  summary: string
  description?: string
  access: EndpointAccess
  /** Requests per window per client; the HTTP layer enforces it. */
  rateLimit?: { windowMs: number; max: number }
  input?: I
  output: O
  handler(context: { input: z.output<I>; actor: Actor; commerce: Engine }): Promise<z.input<O>> | z.input<O>
}

/**
 * Types an endpoint's handler from its schemas.
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 *
 * const ping = defineEndpoint({
 *   surface: 'admin',
 *   method: 'GET',
 *   path: '/ping',
 *   summary: 'Liveness',
 *   access: 'staff',
 *   output: z.object({ ok: z.boolean() }),
 *   handler: () => ({ ok: true }),
 * })
 * ```
 */
export function defineEndpoint<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType, Engine = unknown>(
  endpoint: Endpoint<I, O, Engine>,
): Endpoint<I, O, Engine> {
  return endpoint
}
