import type { z } from 'zod'
import type { ErrorBody } from './errors.js'

// Core's Store routes, for `createStoreClient<typeof storeEndpoints>`: a type-only export, so a
// storefront importing `@cartwright/http/client` loads no server code.
export type { storeEndpoints } from './routes/index.js'

// A typed Store API client for storefronts. It imports no value from the server side (only types),
// so a browser bundle gets fetch calls and nothing else. Its types come from the endpoints
// themselves: the tuple types of `storeEndpoints` and of plugins' endpoint tuples.

/**
 * What the client reads from an endpoint's type: its surface, method and path (literal types, as
 * `defineEndpoint` keeps them) and its input and output schemas. Every `Endpoint` fits.
 *
 * @example
 * ```ts
 * import type { z } from 'zod'
 *
 * type Ping = { surface: 'store'; method: 'GET'; path: '/ping'; output: z.ZodObject<{ ok: z.ZodBoolean }> }
 * const ping: ClientEndpoint = {} as Ping
 * ```
 */
export interface ClientEndpoint {
  surface: 'store' | 'admin'
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  path: `/${string}`
  input?: z.ZodType
  output: z.ZodType
}

type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** The `:params` of a path, by name. */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never

/** An endpoint's `"METHOD /path"`, or `never` for an Admin endpoint or one typed as plain `Endpoint`. */
type RouteOf<E extends ClientEndpoint> = E extends { surface: 'store' } ? (`/${string}` extends E['path'] ? never : `${E['method']} ${E['path']}`) : never

/**
 * Every `"METHOD /path"` the client of these endpoints can call: their Store routes. Admin
 * endpoints are left out, and so are endpoints whose path lost its literal type (typed as plain
 * `Endpoint`).
 *
 * @example
 * ```ts
 * const route: StoreRoute<typeof storeEndpoints> = 'GET /carts/:cartId'
 * ```
 */
export type StoreRoute<Es extends readonly ClientEndpoint[]> = RouteOf<Es[number]>

/** The endpoint behind a route. */
type RouteEndpoint<Es extends readonly ClientEndpoint[], R extends string> = Es[number] extends infer E ? (E extends ClientEndpoint ? (R extends RouteOf<E> ? E : never) : never) : never

/**
 * The Store routes of a list of endpoints, by `"METHOD /path"`.
 *
 * @example
 * ```ts
 * type Routes = StoreRoutes<typeof storeEndpoints>
 * const summary = (routes: Routes) => routes['GET /carts/:cartId'].summary
 * ```
 */
export type StoreRoutes<Es extends readonly ClientEndpoint[]> = { [R in StoreRoute<Es>]: RouteEndpoint<Es, R> }

/** The named keys of an object type: a strict empty object's input is `{ [k: string]: never }`. */
type NamedKeys<T> = { [K in keyof T as string extends K ? never : number extends K ? never : symbol extends K ? never : K]: T[K] }

type InputOf<E extends ClientEndpoint> = NonNullable<E['input']> extends infer I extends z.ZodType ? (unknown extends z.input<I> ? {} : NamedKeys<z.input<I>>) : {}

/**
 * Fields the client sends elsewhere than the body or query: path params (in the path), the
 * idempotency key (the `Idempotency-Key` header) and, on an order's routes, its `token` (the
 * `X-Order-Token` header, from the `orderToken` option).
 */
type LiftedFields<E extends ClientEndpoint> = PathParams<E['path']> | 'idempotencyKey' | ('orderId' extends PathParams<E['path']> ? 'token' : never)

type FieldsOf<E extends ClientEndpoint> = Omit<InputOf<E>, LiftedFields<E>>

/** The key under which an endpoint's fields go: the query string for `GET` and `DELETE`, else the JSON body. */
type FieldsKey<E extends ClientEndpoint> = E['method'] extends 'GET' | 'DELETE' ? 'query' : 'body'

type FieldsArg<E extends ClientEndpoint> = [keyof FieldsOf<E>] extends [never]
  ? {}
  : {} extends FieldsOf<E>
    ? { [K in FieldsKey<E>]?: Simplify<FieldsOf<E>> }
    : { [K in FieldsKey<E>]: Simplify<FieldsOf<E>> }

type ParamsArg<E extends ClientEndpoint> = [PathParams<E['path']>] extends [never] ? {} : { params: { [K in PathParams<E['path']>]: string } }

type IdempotencyArg<E extends ClientEndpoint> = 'idempotencyKey' extends keyof InputOf<E> ? { idempotencyKey: string } : {}

/**
 * What a call to one route takes: `params` for the path's `:params`, `body` (or `query` for `GET`
 * and `DELETE`) with the input's other fields, `idempotencyKey` where the route needs one, and the
 * per-call {@link StoreCallOptions}.
 *
 * @example
 * ```ts
 * type AddLine = StoreRequest<typeof storeEndpoints, 'POST /carts/:cartId/lines'>
 * const request: AddLine = { params: { cartId: 'c_1' }, body: { variantId: 'v_1', quantity: 1 } }
 * ```
 */
export type StoreRequest<Es extends readonly ClientEndpoint[], R extends StoreRoute<Es>> = Simplify<
  ParamsArg<RouteEndpoint<Es, R>> & FieldsArg<RouteEndpoint<Es, R>> & IdempotencyArg<RouteEndpoint<Es, R>> & StoreCallOptions
>

/**
 * What a route answers: the output schema's type.
 *
 * @example
 * ```ts
 * type Cart = StoreResponse<typeof storeEndpoints, 'GET /carts/:cartId'>
 * const total = (cart: Cart) => cart.totals.total
 * ```
 */
export type StoreResponse<Es extends readonly ClientEndpoint[], R extends StoreRoute<Es>> = z.output<RouteEndpoint<Es, R>['output']>

/**
 * Credentials and headers, for the whole client ({@link StoreClientOptions}) or one call.
 *
 * @example
 * ```ts
 * const perCall: StoreCallOptions = { cartToken: 'ct_…', headers: { 'x-request-id': 'checkout-42' } }
 * ```
 */
export interface StoreCallOptions {
  /** The cart's access token (from `POST /carts`), sent as `X-Cart-Token`. */
  cartToken?: string
  /** The order's access token (from the checkout), sent as `X-Order-Token`. */
  orderToken?: string
  /** A customer's session token (from `POST /account/login`), sent as `Authorization: Bearer`. */
  session?: string
  /** More headers, such as `X-Request-Id`. */
  headers?: Record<string, string>
  /** Aborts the request. */
  signal?: AbortSignal
}

/**
 * How the client reaches the Store API.
 *
 * @example
 * ```ts
 * const options: StoreClientOptions = { baseUrl: 'https://shop.example/store', credentials: 'include' }
 * ```
 */
export interface StoreClientOptions extends Omit<StoreCallOptions, 'signal'> {
  /** Where the Store API is mounted, such as `https://shop.example/store`. */
  baseUrl: string
  /** The `fetch` to call; the global one by default. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>
  /** `fetch`'s `credentials`: `'include'` sends the cart and session cookies to another origin. */
  credentials?: 'omit' | 'same-origin' | 'include'
}

/**
 * A typed client of the Store API. `call` takes a route as `"METHOD /path"` (only the routes of
 * the endpoints it was typed with), and answers the route's output or throws a
 * {@link StoreApiError}. A network failure rejects with `fetch`'s own error.
 *
 * @example
 * ```ts
 * declare const client: StoreClient<typeof storeEndpoints>
 * const product = await client.call('GET /products/:handle', { params: { handle: 'trail-runner' } })
 * ```
 */
export interface StoreClient<Es extends readonly ClientEndpoint[]> {
  /**
   * Calls a route; the second argument may be left out when the route needs nothing.
   *
   * @example
   * ```ts
   * declare const client: StoreClient<typeof storeEndpoints>
   * const page = await client.call('GET /products', { query: { query: 'boots', currency: 'EUR', limit: 20 } })
   * ```
   */
  call<R extends StoreRoute<Es>>(
    route: R,
    ...request: {} extends StoreRequest<Es, R> ? [request?: StoreRequest<Es, R>] : [request: StoreRequest<Es, R>]
  ): Promise<StoreResponse<Es, R>>
  /**
   * A client with these options over this one's, such as a cart's token once the cart exists
   * (this one is unchanged).
   *
   * @example
   * ```ts
   * declare const client: StoreClient<typeof storeEndpoints>
   * const cart = await client.call('POST /carts', { body: { currency: 'EUR' } })
   * const shopper = client.with({ cartToken: cart.accessToken! })
   * ```
   */
  with(options: Partial<StoreClientOptions>): StoreClient<Es>
  /** The options this client sends with every call. */
  readonly options: Readonly<StoreClientOptions>
}

const BRAND = Symbol.for('cartwright.StoreApiError')

/**
 * An error answer of the Store API: its HTTP `status` and the error body's `code`, `message`,
 * `details` (`details.issues` names the fields of a `VALIDATION` error) and `requestId` (the
 * `X-Request-Id` the server logged). An answer that is not an error body (a proxy's page) has the
 * code `HTTP_<status>`.
 *
 * @example
 * ```ts
 * declare const client: StoreClient<typeof storeEndpoints>
 * try {
 *   await client.call('GET /carts/:cartId', { params: { cartId: 'c_1' }, cartToken: 'ct_wrong' })
 * } catch (error) {
 *   if (isStoreApiError(error, 'NOT_FOUND')) console.log(error.status, error.requestId)
 * }
 * ```
 */
export class StoreApiError extends Error {
  override readonly name = 'StoreApiError'
  /** The HTTP status. */
  readonly status: number
  /** The error code: core's, this layer's or a plugin's (`NOT_FOUND`, `VALIDATION`, `OUT_OF_STOCK`, …). */
  readonly code: string
  /** Facts about the error, as JSON; `issues` for `VALIDATION`. */
  readonly details: Record<string, unknown>
  /** The request's id, to quote when reporting it; `undefined` when the answer carried none. */
  readonly requestId: string | undefined
  /** The route called, as `"METHOD /path"` with its params filled in. */
  readonly route: string

  constructor(init: { status: number; code: string; message: string; details?: Record<string, unknown>; requestId?: string | undefined; route: string }) {
    super(init.message)
    this.status = init.status
    this.code = init.code
    this.details = init.details ?? {}
    this.requestId = init.requestId
    this.route = init.route
    Object.defineProperty(this, BRAND, { value: true })
  }
}

/**
 * Whether `error` is a {@link StoreApiError} (with this `code`, when given), also across two
 * copies of this package.
 *
 * @example
 * ```ts
 * declare const error: unknown
 * if (isStoreApiError(error, 'OUT_OF_STOCK')) console.log(error.details)
 * ```
 */
export function isStoreApiError(error: unknown, code?: string): error is StoreApiError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true && (code === undefined || (error as StoreApiError).code === code)
}

function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as ErrorBody).code === 'string' && typeof (body as ErrorBody).message === 'string'
}

/** A query string: arrays as repeated names (the Store API reads them back as arrays). */
function queryString(route: string, fields: Record<string, unknown>): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue
      if (typeof item === 'object') throw new TypeError(`[cartwright:client] ${route}: the query field ${name} must be text, a number, a boolean or an array of them`)
      search.append(name, String(item))
    }
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

function fillPath(route: string, path: string, params: Record<string, unknown>): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    const value = params[name]
    if (typeof value !== 'string' || value.length === 0) throw new TypeError(`[cartwright:client] ${route}: params.${name} is missing`)
    // `.` and `..` survive encoding and would move the request, with its credentials, to another route.
    if (value === '.' || value === '..') throw new TypeError(`[cartwright:client] ${route}: params.${name} cannot be ${value}`)
    return encodeURIComponent(value)
  })
}

function checkOptions(options: StoreClientOptions): void {
  let url: URL | undefined
  try {
    url = new URL(options.baseUrl)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`[cartwright:client] baseUrl must be an absolute http(s) URL, got ${JSON.stringify(options.baseUrl)}`)
  }
  if (!options.fetch && typeof globalThis.fetch !== 'function') throw new TypeError('[cartwright:client] no global fetch here: pass the fetch option')
}

/**
 * A typed client of the Store API, typed by the endpoints the server mounts: core's
 * `storeEndpoints`, then the tuples of the plugins the shop runs. Each call's `params`, `body` (or
 * `query`) and answer are those routes' own types; the cart's and order's tokens, a customer's
 * session and the idempotency key go in their headers. Only types are imported from the server.
 *
 * @example
 * ```ts
 * import type { promotionEndpoints } from '@cartwright/promotions'
 *
 * const client = createStoreClient<[...typeof storeEndpoints, ...typeof promotionEndpoints]>({ baseUrl: 'https://shop.example/store' })
 * const cart = await client.call('POST /carts', { body: { currency: 'USD' } })
 * const mine = client.with({ cartToken: cart.accessToken })
 * await mine.call('POST /carts/:cartId/lines', { params: { cartId: cart.id }, body: { variantId: 'var_1', quantity: 1 } })
 * await mine.call('POST /carts/:cartId/promotion-codes', { params: { cartId: cart.id }, body: { code: 'TEN' } })
 * ```
 */
export function createStoreClient<Es extends readonly ClientEndpoint[]>(options: StoreClientOptions): StoreClient<Es> {
  checkOptions(options)
  const base = options.baseUrl.replace(/\/+$/, '')
  const fetcher = options.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init))

  async function call(route: string, request: Record<string, unknown> = {}): Promise<unknown> {
    const space = route.indexOf(' ')
    const method = route.slice(0, space)
    const template = route.slice(space + 1)
    if (space < 0 || !template.startsWith('/')) throw new TypeError(`[cartwright:client] ${JSON.stringify(route)} is not a route: write "METHOD /path"`)
    const { params = {}, body, query, idempotencyKey, cartToken, orderToken, session, headers: extra, signal } = request as StoreRequestFields
    const path = fillPath(route, template, params)
    const usesQuery = method === 'GET' || method === 'DELETE'
    const fields = (usesQuery ? query : body) ?? {}
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers, ...extra }
    const cart = cartToken ?? options.cartToken
    const order = orderToken ?? options.orderToken
    const bearer = session ?? options.session
    if (cart) headers['x-cart-token'] = cart
    if (order) headers['x-order-token'] = order
    if (bearer) headers.authorization = `Bearer ${bearer}`
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey
    const init: RequestInit = { method, headers }
    if (!usesQuery && Object.keys(fields).length > 0) {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(fields)
    }
    if (options.credentials) init.credentials = options.credentials
    if (signal) init.signal = signal

    const response = await fetcher(`${base}${path}${usesQuery ? queryString(route, fields) : ''}`, init)
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null
    } catch {
      parsed = text
    }
    if (response.ok) return parsed
    const requestId = response.headers.get('x-request-id') ?? undefined
    const where = `${method} ${path}`
    if (isErrorBody(parsed)) {
      throw new StoreApiError({ status: response.status, code: parsed.code, message: parsed.message, details: parsed.details ?? {}, requestId: parsed.requestId ?? requestId, route: where })
    }
    throw new StoreApiError({
      status: response.status,
      code: `HTTP_${response.status}`,
      message: `${where} answered ${response.status} ${response.statusText}`.trim(),
      details: { body: text.slice(0, 500) },
      requestId,
      route: where,
    })
  }

  return {
    call: call as StoreClient<Es>['call'],
    with: (more) => createStoreClient<Es>({ ...options, ...more, headers: { ...options.headers, ...more.headers } }),
    options,
  }
}

/** A request as the runtime reads it, whatever the route. */
interface StoreRequestFields extends StoreCallOptions {
  params?: Record<string, unknown>
  body?: Record<string, unknown>
  query?: Record<string, unknown>
  idempotencyKey?: string
}
