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
  /** A shopper holding an order's access token (`access: 'order'`). */
  | { kind: 'order'; orderId: string }

/**
 * Who may call an endpoint: anyone, a shopper holding the cart's token (path param `:cartId`), a
 * shopper holding the order's token (path param `:orderId`), a signed-in customer, or staff (the
 * Admin API). A cart or order the caller cannot open is answered `NOT_FOUND`, like a missing one.
 *
 * @example
 * ```ts
 * const access: EndpointAccess = 'order' // GET /orders/:orderId with the order's token
 * ```
 */
export type EndpointAccess = 'public' | 'cart' | 'order' | 'customer' | 'staff'

/**
 * A credential an endpoint hands out or ends, which the HTTP layer also keeps as a cookie:
 * `'cart'` sets the output's `accessToken` as the cart cookie, `'session'` sets the output's
 * `sessionToken` as the session cookie, `'end-session'` clears the session cookie (and fills a
 * missing `sessionToken` in the input from it).
 *
 * @example
 * ```ts
 * const credential: EndpointCredential = 'session' // POST /account/login
 * ```
 */
export type EndpointCredential = 'cart' | 'session' | 'end-session'

/**
 * How a plugin turns a session token (a `Bearer` header or the session cookie) into an
 * {@link Actor}: `null` when the token opens nothing. Never throws for a bad token. Framework-free:
 * the HTTP layer reads the request and calls every plugin's resolver in order until one answers.
 *
 * @example
 * ```ts
 * const resolve: ActorResolver<{ sessions: Map<string, string> }> = async ({ sessionToken }, shop) => {
 *   const customerId = shop.sessions.get(sessionToken)
 *   return customerId ? { kind: 'customer', customerId } : null
 * }
 * ```
 */
export type ActorResolver<Engine = unknown> = (credentials: { sessionToken: string }, commerce: Engine) => Promise<Actor | null>

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
  /** A credential the response hands out or ends, also kept as a cookie; see {@link EndpointCredential}. */
  credential?: EndpointCredential
  /**
   * The request must carry an `Idempotency-Key` header (1–255 printable characters, else 400),
   * passed to the handler as `input.idempotencyKey`: declare it in `input`.
   */
  idempotent?: true
  /**
   * The API-key scope an Admin endpoint needs, such as `orders:write`. Without it the HTTP layer
   * derives one from the path's first segment and the method (`GET` → `:read`, else `:write`).
   */
  scope?: string
  input?: I
  output: O
  /**
   * Answers the request. `request` is given by the HTTP layer (absent when a test calls the
   * handler directly): what it knows of the request beyond `input`, never taken from the body.
   */
  handler(context: { input: z.output<I>; actor: Actor; commerce: Engine; request?: EndpointRequest }): Promise<z.input<O>> | z.input<O>
}

/**
 * What the HTTP layer tells an endpoint's handler about a request beyond its input: facts the
 * client cannot choose by what it sends in the body.
 *
 * @example
 * ```ts
 * import type { EndpointRequest } from '@cartwright/core'
 *
 * declare const request: EndpointRequest
 * // A guest cart is merged only when the request carries that cart's token.
 * const mayMerge = request.cartToken !== undefined && (await commerce.carts.verifyToken('cart_1', request.cartToken))
 * ```
 */
export interface EndpointRequest {
  /**
   * Who the request counts for, as the rate limits count it: the connection's address, the
   * forwarded one behind a trusted proxy, or what the host's `clientKey` says.
   */
  client: string
  /**
   * The cart token the request carries (`X-Cart-Token`, else the cart cookie), not checked against
   * any cart: verify it with `commerce.carts.verifyToken` before trusting it.
   */
  cartToken?: string
}

/** The HTTP methods an {@link Endpoint} answers. */
export type EndpointMethod = Endpoint['method']

/**
 * An endpoint as {@link defineEndpoint} returns it: its surface, method and path kept as the
 * literal types they were written with, so a typed client can read the route from the value's type
 * (`typeof endpoint`). Assignable to `Endpoint`.
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 *
 * type Ping = DefinedEndpoint<z.ZodObject<{}>, z.ZodBoolean, unknown, 'admin', 'GET', '/ping'>
 * const path: Ping['path'] = '/ping'
 * ```
 */
export type DefinedEndpoint<
  I extends z.ZodType = z.ZodType,
  O extends z.ZodType = z.ZodType,
  Engine = unknown,
  S extends Endpoint['surface'] = Endpoint['surface'],
  M extends EndpointMethod = EndpointMethod,
  P extends Endpoint['path'] = Endpoint['path'],
> = Endpoint<I, O, Engine> & { surface: S; method: M; path: P }

/**
 * Types an endpoint's handler from its schemas, and keeps its surface, method and path as literal
 * types (see {@link DefinedEndpoint}).
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
 * const route: `${typeof ping.method} ${typeof ping.path}` = 'GET /ping'
 * ```
 */
export function defineEndpoint<
  I extends z.ZodType = z.ZodType,
  O extends z.ZodType = z.ZodType,
  Engine = unknown,
  const S extends Endpoint['surface'] = Endpoint['surface'],
  const M extends EndpointMethod = EndpointMethod,
  const P extends Endpoint['path'] = Endpoint['path'],
>(endpoint: DefinedEndpoint<I, O, Engine, S, M, P>): DefinedEndpoint<I, O, Engine, S, M, P> {
  return endpoint
}
