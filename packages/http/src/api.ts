import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { cors } from 'hono/cors'
import { secureHeaders } from 'hono/secure-headers'
import { getConnInfo } from '@hono/node-server/conninfo'
import { z } from 'zod'
import { CommerceError, isCommerceError, notFound, validationError, type Actor, type ActorResolver, type CoreCommerce, type Endpoint, type EndpointRequest } from '@cartwright/core'
import { DEFAULT_STATUSES, describeError } from './errors.js'
import { openApiDocument } from './openapi.js'
import type { ApiOptions, HttpLogger } from './options.js'
import type { HttpService } from './plugin.js'
import { adminRoutes, storeRoutes } from './routes/index.js'
import { hasScope, requiredScope } from './scopes.js'

/** The engine as the HTTP layer reads it; the handlers receive the whole engine. */
export type HttpCommerce = Pick<CoreCommerce<any>, 'carts' | 'orders' | 'payments' | 'db' | 'endpoints' | 'errorCodes'> & {
  readonly actorResolvers?: readonly ActorResolver<any>[]
  readonly http?: HttpService
}

type Env = { Variables: { requestId: string } }
type Surface = 'store' | 'admin'

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/
const DEFAULT_BODY_LIMIT = 100 * 1024
const WEBHOOK_BODY_LIMIT = 1024 * 1024

const httpError = (code: string, message: string, details: Record<string, unknown> = {}) => new CommerceError<string>(code, message, { details })

/** A path with its parameters' names erased: two routes collide when these match. */
const shapeOf = (method: string, path: string) => `${method} ${path.replace(/:[^/]+/g, ':')}`
const labelOf = (e: Pick<Endpoint, 'method' | 'path' | 'summary'>) => `${e.method} ${e.path} ("${e.summary}")`
const paramsOf = (path: string) => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!)

/** @internal The endpoints an app mounts: core's, then the plugins', checked. */
export function endpointsFor(surface: Surface, commerce: HttpCommerce): Endpoint[] {
  const core = surface === 'store' ? storeRoutes : adminRoutes
  const all = [...core, ...commerce.endpoints.filter((e) => e.surface === surface)]
  const seen = new Map<string, string>([
    [shapeOf('GET', '/openapi.json'), 'GET /openapi.json (the OpenAPI document)'],
    ...(surface === 'store' ? ([[shapeOf('POST', '/webhooks/:provider'), 'POST /webhooks/:provider (payment webhooks)']] as const) : []),
  ])
  for (const endpoint of all) {
    const where = `[cartwright:http] ${labelOf(endpoint)}`
    if (endpoint.surface !== surface) throw new CommerceError('CONFIGURATION', `${where} is a ${endpoint.surface} endpoint, listed among the ${surface} routes`)
    if (surface === 'store' && endpoint.access === 'staff') throw new CommerceError('CONFIGURATION', `${where} needs staff: the Store API never mounts staff endpoints`)
    if (surface === 'admin' && endpoint.access !== 'staff') throw new CommerceError('CONFIGURATION', `${where} on the Admin API must have access 'staff'`)
    if (endpoint.access === 'cart' && !paramsOf(endpoint.path).includes('cartId')) throw new CommerceError('CONFIGURATION', `${where} has access 'cart' but no :cartId in its path`)
    if (endpoint.access === 'order' && !paramsOf(endpoint.path).includes('orderId')) throw new CommerceError('CONFIGURATION', `${where} has access 'order' but no :orderId in its path`)
    const shape = shapeOf(endpoint.method, endpoint.path)
    const other = seen.get(shape)
    if (other) throw new CommerceError('CONFIGURATION', `[cartwright:http] two routes answer ${shape}: ${other} and ${labelOf(endpoint)}`, { details: { routes: [other, labelOf(endpoint)] } })
    seen.set(shape, labelOf(endpoint))
  }
  return all
}

/** Query parameters as fields: a repeated name becomes an array of its values. */
function queryFields(url: URL): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key)
    fields[key] = values.length === 1 ? values[0] : values
  }
  return fields
}

const payloadTooLarge = (max: number) => httpError('PAYLOAD_TOO_LARGE', `The body is larger than ${max} bytes`, { maxBytes: max })

/**
 * On Node (@hono/node-server), the request's message when nothing has started reading its body:
 * reading it there spares building a Fetch `Request` and a web stream around every body.
 */
function unreadIncoming(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  if (!incoming || typeof incoming.on !== 'function') return undefined
  return incoming.readableDidRead || incoming.readableEnded || incoming.readableFlowing !== null ? undefined : incoming
}

/** The body as text, at most `max` bytes (a longer one is refused as it arrives). */
function readIncoming(incoming: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (error?: unknown) => {
      incoming.off('data', onData).off('end', onEnd).off('error', done).off('aborted', onAborted)
      if (error !== undefined) reject(error)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        done(payloadTooLarge(max))
        incoming.resume()
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      done()
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'))
    }
    const onAborted = () => done(validationError('request body', [{ path: '', message: 'the client closed the connection before the whole body arrived' }]))
    incoming.on('data', onData).on('end', onEnd).on('error', done).on('aborted', onAborted)
  })
}

/** The request body as text, at most `max` bytes (see `tooLarge` in buildApi for the first check). */
async function bodyText(c: Context, max: number): Promise<string> {
  const incoming = unreadIncoming(c)
  if (incoming) return readIncoming(incoming, max)
  const text = await c.req.text()
  // A body the host read before (Hono keeps it) was not measured on its way in.
  if (Buffer.byteLength(text) > max) throw payloadTooLarge(max)
  return text
}

async function bodyFields(c: Context, max: number): Promise<Record<string, unknown>> {
  const text = await bodyText(c, max)
  if (text.length === 0) return {}
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw httpError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON (Content-Type: application/json)', { contentType: type.slice(0, 100) })
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw validationError('request body', [{ path: '', message: 'the body is not valid JSON' }])
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validationError('request body', [{ path: '', message: 'the body must be a JSON object' }])
  return body as Record<string, unknown>
}

function bearer(c: Context): string | undefined {
  const header = c.req.header('authorization')
  const match = header ? /^Bearer\s+(\S{1,512})\s*$/i.exec(header) : null
  return match?.[1]
}

function clientAddress(c: Context, options: ApiOptions): string {
  const chosen = options.clientKey?.(c)
  // An address the host passes counts like a socket's: an IPv6 client by its /64.
  if (chosen) return networkOf(chosen.slice(0, 300))
  if (options.trustProxy) {
    // The last address is the one the proxy in front of us saw; earlier ones are the client's say-so.
    const forwarded = c.req.header('x-forwarded-for')?.split(',').map((s) => s.trim()).filter(Boolean).pop()
    if (forwarded) return networkOf(forwarded.slice(0, 300))
  }
  try {
    return networkOf(getConnInfo(c).remote.address ?? 'unknown')
  } catch {
    return 'unknown'
  }
}

/**
 * @internal The client an address counts as: an IPv4 address itself (also when written IPv4-mapped), an IPv6
 * address its /64, since one subscriber is given a whole /64 and could rotate through it.
 */
export function networkOf(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  if (mapped) return mapped[1]!
  if (!address.includes(':')) return address
  const [head = '', tail] = address.split('%')[0]!.toLowerCase().split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  if (tail === undefined && left.length !== 8) return address
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return address
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

function ownOrigin(c: Context, options: ApiOptions): string {
  const url = new URL(c.req.url)
  if (options.trustProxy) {
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim()
    const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim()
    if (proto || host) return `${proto ?? url.protocol.slice(0, -1)}://${host ?? url.host}`
  }
  return url.origin
}

/** Refuses a cookie-authenticated state change whose Origin (or Referer) is not trusted. */
function checkCsrf(c: Context, options: ApiOptions): void {
  let origin = c.req.header('origin')
  if (!origin || origin === 'null') {
    const referer = c.req.header('referer')
    try {
      origin = referer ? new URL(referer).origin : undefined
    } catch {
      origin = undefined
    }
  }
  const trusted = [...(options.trustedOrigins ?? [ownOrigin(c, options)]), ...(options.cors?.origins ?? [])]
  if (!origin || !trusted.includes(origin)) {
    throw httpError('CSRF', 'A request authenticated by a cookie must come from a trusted origin', { origin: origin ?? null })
  }
}

/** A cart or order the caller may not open: the same answer as one that does not exist. */
async function verify(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check()
  } catch (error) {
    if (isCommerceError(error, 'VALIDATION') || isCommerceError(error, 'NOT_FOUND')) return false
    throw error
  }
}

function logError(logger: HttpLogger, requestId: string, c: Context, error: unknown): void {
  logger.error(`[cartwright:http] ${requestId} ${c.req.method} ${new URL(c.req.url).pathname} failed`, {
    requestId,
    error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
  })
}

const consoleLogger: HttpLogger = { error: (message, fields) => console.error(message, fields) }

function checkOptions(options: ApiOptions): void {
  const schema = z.object({
    bodyLimit: z.number().int().min(1).optional(),
    statuses: z.record(z.string(), z.number().int().min(400).max(599)).optional(),
    cors: z.object({ origins: z.array(z.string().url()).min(1) }).optional(),
    trustedOrigins: z.array(z.string().url()).optional(),
    cookies: z.object({ cart: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(), session: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional() }).optional(),
  })
  const result = schema.safeParse(options)
  if (!result.success) {
    throw new CommerceError('CONFIGURATION', `[cartwright:http] invalid options: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  }
}

function buildApi(surface: Surface, commerce: HttpCommerce, options: ApiOptions): Hono<Env> {
  checkOptions(options)
  const endpoints = endpointsFor(surface, commerce)
  const limited = endpoints.filter((e) => e.rateLimit)
  if (limited.length > 0 && !commerce.http?.rateLimits) {
    throw new CommerceError(
      'CONFIGURATION',
      `[cartwright:http] ${limited.map((e) => `${e.method} ${e.path}`).join(', ')} declare a rate limit: add the http() plugin from @cartwright/http to createCommerce`,
    )
  }
  if (surface === 'admin' && !commerce.http?.apiKeys) {
    throw new CommerceError('CONFIGURATION', '[cartwright:http] the Admin API checks API keys: add the http() plugin from @cartwright/http to createCommerce')
  }
  const statuses = { ...DEFAULT_STATUSES, ...options.statuses }
  const logger = options.logger ?? consoleLogger
  const validateOutput = options.validateOutput ?? process.env.NODE_ENV === 'test'
  const cookieNames = { cart: options.cookies?.cart ?? 'cw_cart', session: options.cookies?.session ?? 'cw_session' }
  const resolvers = commerce.actorResolvers ?? []
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT

  const app = new Hono<Env>()

  const fail = (c: Context<Env>, error: unknown) => {
    const requestId = c.get('requestId') ?? randomUUID()
    const { status, body, internal } = describeError(error, statuses, requestId)
    if (internal) logError(logger, requestId, c, error)
    c.header('X-Request-Id', requestId)
    if (isCommerceError<string>(error) && error.code === 'RATE_LIMITED') c.header('Retry-After', String(error.details.retryAfterSeconds ?? 60))
    return c.json(body, status as 400)
  }

  app.use(async (c, next) => {
    const incoming = c.req.header('x-request-id')
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    c.set('requestId', requestId)
    // Set before the handler answers: a header added to a finished response makes Hono rebuild it
    // around a body stream, which @hono/node-server then reads back before it can write it.
    c.header('X-Request-Id', requestId)
    const started = performance.now()
    await next()
    logger.info?.(`[cartwright:http] ${requestId} ${c.req.method} ${new URL(c.req.url).pathname} ${c.res.status}`, {
      requestId,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    })
  })
  app.use(secureHeaders())
  if (options.cors) {
    app.use(
      cors({
        origin: options.cors.origins,
        credentials: true,
        allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key', 'X-Cart-Token', 'X-Order-Token', 'X-Request-Id'],
        exposeHeaders: ['X-Request-Id', 'Retry-After'],
        maxAge: 600,
      }),
    )
  }
  app.onError((error, c) => fail(c, error))
  app.notFound((c) => fail(c, httpError('NOT_FOUND', `No route ${c.req.method} ${new URL(c.req.url).pathname}`, { entity: 'Route' })))

  // A GET has no body to measure (the Fetch API gives it none), and asking for one makes
  // @hono/node-server build a full Request from the socket: GET routes skip the size check.
  const noBody: MiddlewareHandler<Env> = (_c, next) => next()
  // On Node the body is read from the request's message, counting its bytes (see bodyText); a
  // Content-Length over the limit is refused here, before anything else. Elsewhere, Hono's bodyLimit.
  const tooLarge = (max: number): MiddlewareHandler<Env> => {
    const fetchLimit = bodyLimit({ maxSize: max, onError: (c) => fail(c as Context<Env>, payloadTooLarge(max)) })
    return (c, next) => {
      const incoming = unreadIncoming(c)
      if (!incoming) return c.req.raw.bodyUsed ? next() : fetchLimit(c, next)
      const declared = incoming.headers['content-length']
      if (declared !== undefined && Number(declared) > max) return Promise.resolve(fail(c, payloadTooLarge(max)))
      return next()
    }
  }

  let document: unknown
  app.get('/openapi.json', (c) => {
    document ??= openApiDocument(surface, endpoints)
    return c.json(document as object)
  })

  if (surface === 'store') {
    app.post('/webhooks/:provider', tooLarge(WEBHOOK_BODY_LIMIT), async (c) => {
      const rawBody = await bodyText(c, WEBHOOK_BODY_LIMIT)
      const headers: Record<string, string> = {}
      c.req.raw.headers.forEach((value, key) => {
        headers[key] = value
      })
      const result = await commerce.payments.handleWebhook(c.req.param('provider'), rawBody, headers)
      return c.json(result as object)
    })
  }

  const resolveSession = async (token: string | undefined): Promise<Actor | null> => {
    if (!token) return null
    for (const resolve of resolvers) {
      const actor = await resolve({ sessionToken: token }, commerce)
      if (actor) return actor
    }
    return null
  }

  for (const endpoint of endpoints) {
    const params = paramsOf(endpoint.path)
    const schema: z.ZodType = endpoint.input ?? z.strictObject({})
    // Top-level fields a plain (non-strict) object schema would silently drop are refused all the same.
    const known = schema instanceof z.ZodObject ? new Set(Object.keys(schema.shape)) : null
    const rateKey = `${surface} ${endpoint.method} ${endpoint.path}`
    const scope = surface === 'admin' ? requiredScope(endpoint) : null
    const usesQuery = endpoint.method === 'GET' || endpoint.method === 'DELETE'

    app.on(endpoint.method, endpoint.path, endpoint.method === 'GET' ? noBody : tooLarge(limit), async (c) => {
      if (endpoint.rateLimit) {
        const hit = await commerce.http!.rateLimits.hit({ endpoint: rateKey, client: clientAddress(c, options), windowMs: endpoint.rateLimit.windowMs, max: endpoint.rateLimit.max })
        if (!hit.allowed) throw httpError('RATE_LIMITED', 'Too many requests: try again later', { retryAfterSeconds: hit.retryAfterSeconds })
      }

      const url = new URL(c.req.url)
      const path = c.req.param() as Record<string, string>
      let actor: Actor = { kind: 'anonymous' }

      if (surface === 'admin') {
        const key = bearer(c)
        const grant = key ? await commerce.http!.apiKeys.verify(key) : null
        if (!grant) throw httpError('UNAUTHENTICATED', 'Send a valid API key: Authorization: Bearer cwk_…')
        if (!hasScope(grant.scopes, scope!)) throw httpError('FORBIDDEN', `This API key lacks the scope ${scope}`, { scope })
        actor = { kind: 'staff', staffId: grant.staffId, permissions: grant.scopes }
      }

      // Credentials, and whether a cookie carried the one this endpoint relies on.
      const sessionHeader = surface === 'store' ? bearer(c) : undefined
      const sessionCookie = surface === 'store' ? getCookie(c, cookieNames.session) : undefined
      const sessionToken = sessionHeader ?? sessionCookie
      let cookieAuthenticated = sessionHeader === undefined && sessionCookie !== undefined
      let cartToken: string | undefined
      let orderToken: string | undefined
      if (endpoint.access === 'cart') {
        const header = c.req.header('x-cart-token')
        const cookie = getCookie(c, cookieNames.cart)
        cartToken = header ?? cookie
        if (header === undefined && cookie !== undefined) cookieAuthenticated = true
      }
      if (endpoint.access === 'order') orderToken = c.req.header('x-order-token') ?? url.searchParams.get('token') ?? undefined

      if (surface === 'store' && cookieAuthenticated && STATE_CHANGING.has(endpoint.method)) checkCsrf(c, options)

      if (surface === 'store') {
        if (endpoint.access === 'cart') {
          const cartId = path.cartId!
          if (cartToken && (await verify(() => commerce.carts.verifyToken(cartId, cartToken!)))) actor = { kind: 'cart', cartId }
          else {
            const customer = await resolveSession(sessionToken)
            const row = customer?.kind === 'customer' ? await commerce.db.selectFrom('cw_carts').select('customer_id').where('id', '=', cartId).executeTakeFirst() : undefined
            if (customer?.kind === 'customer' && row && row.customer_id === customer.customerId) actor = customer
            else throw notFound('Cart', cartId)
          }
        } else if (endpoint.access === 'order') {
          const orderId = path.orderId!
          if (orderToken && (await verify(() => commerce.orders.verifyToken(orderId, orderToken!)))) actor = { kind: 'order', orderId }
          else {
            const customer = await resolveSession(sessionToken)
            const row = customer?.kind === 'customer' ? await commerce.db.selectFrom('cw_orders').select('customer_id').where('id', '=', orderId).executeTakeFirst() : undefined
            if (customer?.kind === 'customer' && row && row.customer_id === customer.customerId) actor = customer
            else throw notFound('Order', orderId)
          }
        } else if (endpoint.access === 'customer') {
          const customer = await resolveSession(sessionToken)
          if (!customer) throw httpError('UNAUTHENTICATED', 'Sign in first: send the session (Authorization: Bearer, or the session cookie)')
          actor = customer
        } else if (sessionToken && endpoint.credential !== 'end-session') {
          actor = (await resolveSession(sessionToken)) ?? actor
        }
      }

      // Input: path parameters with the query (GET, DELETE) or the JSON body.
      const fields = usesQuery ? queryFields(url) : await bodyFields(c, limit)
      if (endpoint.access === 'order' && usesQuery) delete fields.token
      for (const name of params) {
        if (name in fields && fields[name] !== path[name]) {
          throw validationError('request', [{ path: name, message: `differs from the :${name} in the path` }])
        }
        fields[name] = path[name]
      }
      if (endpoint.idempotent) {
        if ('idempotencyKey' in fields) throw validationError('request', [{ path: 'idempotencyKey', message: 'send it as the Idempotency-Key header' }])
        const key = c.req.header('idempotency-key')
        if (key === undefined || !IDEMPOTENCY_KEY.test(key) || key.trim().length === 0) {
          throw validationError('request', [{ path: 'idempotencyKey', message: 'the Idempotency-Key header must hold 1–255 printable characters' }])
        }
        fields.idempotencyKey = key
      }
      if (endpoint.credential === 'end-session' && fields.sessionToken === undefined && sessionToken !== undefined) fields.sessionToken = sessionToken
      if (known) {
        const unknown = Object.keys(fields).filter((k) => !known.has(k))
        if (unknown.length > 0) throw validationError('request', unknown.map((k) => ({ path: k, message: 'unknown field' })))
      }
      const parsed = schema.safeParse(fields)
      if (!parsed.success) throw validationError('request', parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })))

      const carried = surface === 'store' ? (cartToken ?? c.req.header('x-cart-token') ?? getCookie(c, cookieNames.cart)) : undefined
      const request: EndpointRequest = { client: clientAddress(c, options), ...(carried !== undefined ? { cartToken: carried } : {}) }
      let output: unknown = await endpoint.handler({ input: parsed.data, actor, commerce, request })
      if (validateOutput) {
        const checked = endpoint.output.safeParse(output)
        if (!checked.success) {
          throw new Error(`${labelOf(endpoint)} answered outside its output schema: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
        }
        output = checked.data
      }

      const cookie = { httpOnly: true, secure: true, sameSite: 'Lax', path: '/' } as const
      const record = (output ?? {}) as Record<string, unknown>
      if (endpoint.credential === 'cart' && typeof record.accessToken === 'string') {
        setCookie(c, cookieNames.cart, record.accessToken, { ...cookie, maxAge: 60 * 60 * 24 * 30 })
      } else if (endpoint.credential === 'session' && typeof record.sessionToken === 'string') {
        const expires = typeof record.expiresAt === 'string' ? new Date(record.expiresAt) : undefined
        setCookie(c, cookieNames.session, record.sessionToken, { ...cookie, ...(expires && !Number.isNaN(expires.getTime()) ? { expires } : {}) })
      } else if (endpoint.credential === 'end-session') {
        deleteCookie(c, cookieNames.session, cookie)
      }
      return c.json((output ?? null) as object)
    })
  }
  return app
}

/**
 * The Store API as a Hono app: core's store routes and every plugin's, `/openapi.json`, and
 * `POST /webhooks/:provider` for payment gateways. Mount it under a prefix in the host's app, or
 * serve it on its own.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { serve } from '@hono/node-server'
 * import type { Commerce } from '@cartwright/core'
 *
 * declare const commerce: Commerce
 * const host = new Hono()
 * host.route('/store', storeApi(commerce, { trustedOrigins: ['https://shop.example'] }))
 * serve({ fetch: host.fetch, port: 3000 })
 * ```
 */
export function storeApi(commerce: HttpCommerce, options: ApiOptions = {}): Hono<Env> {
  return buildApi('store', commerce, options)
}

/**
 * The Admin API as a Hono app: core's admin routes, every plugin's and the staff and API-key
 * routes of the `http()` plugin, each behind `Authorization: Bearer cwk_…` with a scope.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import type { Commerce } from '@cartwright/core'
 *
 * declare const commerce: Commerce
 * const host = new Hono()
 * host.route('/admin', adminApi(commerce))
 * ```
 */
export function adminApi(commerce: HttpCommerce, options: ApiOptions = {}): Hono<Env> {
  return buildApi('admin', commerce, options)
}
