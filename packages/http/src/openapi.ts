import { z } from 'zod'
import type { Endpoint } from '@cartwright/core'
import { requiredScope } from './scopes.js'

type JsonSchema = Record<string, unknown>

const errorSchema: JsonSchema = {
  type: 'object',
  required: ['code', 'message', 'details', 'requestId'],
  properties: {
    code: { type: 'string', description: 'Stable error code (`NOT_FOUND`, `VALIDATION`, a plugin code…)' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true, description: 'Names the fields concerned (`issues` for VALIDATION)' },
    requestId: { type: 'string', description: 'Also the response header X-Request-Id' },
  },
}

/** Moves a schema's `$defs` into the components, under names unique to the operation, and points its refs there. */
function hoist(schema: JsonSchema, prefix: string, components: Record<string, JsonSchema>): JsonSchema {
  const { $schema: _ignored, $defs, ...rest } = schema as JsonSchema & { $defs?: Record<string, JsonSchema> }
  if (!$defs) return rest
  const names = new Map(Object.keys($defs).map((name) => [name, `${prefix}_${name.replace(/[^A-Za-z0-9._-]/g, '_')}`]))
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite)
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `#/components/schemas/${names.get(v.slice(8)) ?? v.slice(8)}` : rewrite(v)]),
      )
    }
    return value
  }
  for (const [name, def] of Object.entries($defs)) components[names.get(name)!] = rewrite(def) as JsonSchema
  return rewrite(rest) as JsonSchema
}

const toJson = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema

const operationId = (e: Endpoint) =>
  `${e.method.toLowerCase()}${e.path
    .split('/')
    .filter(Boolean)
    .map((s) => (s.startsWith(':') ? `By${s.slice(1, 2).toUpperCase()}${s.slice(2)}` : s.replace(/(^|[-_.])([a-z0-9])/g, (_, __, ch: string) => ch.toUpperCase())))
    .join('')}`

function securityOf(surface: 'store' | 'admin', e: Endpoint): Array<Record<string, string[]>> | undefined {
  if (surface === 'admin') return [{ apiKey: [requiredScope(e)] }]
  switch (e.access) {
    case 'cart':
      return [{ cartToken: [] }, { cartCookie: [] }, { session: [] }, { sessionCookie: [] }]
    case 'order':
      return [{ orderToken: [] }, { orderTokenQuery: [] }, { session: [] }, { sessionCookie: [] }]
    case 'customer':
      return [{ session: [] }, { sessionCookie: [] }]
    default:
      return undefined
  }
}

/**
 * The OpenAPI 3.1 document of one app's endpoints, from their zod schemas: path and query
 * parameters, the JSON body, the 200 response and the error body, and the security schemes.
 *
 * @example
 * ```ts
 * import type { Endpoint } from '@cartwright/core'
 *
 * declare const endpoints: Endpoint[]
 * const document = openApiDocument('store', endpoints)
 * console.log(Object.keys(document.paths))
 * ```
 */
export function openApiDocument(
  surface: 'store' | 'admin',
  endpoints: readonly Endpoint[],
  info: { title?: string; version?: string } = {},
): { openapi: string; info: Record<string, unknown>; paths: Record<string, Record<string, unknown>>; components: Record<string, unknown> } {
  const schemas: Record<string, JsonSchema> = { Error: errorSchema }
  const paths: Record<string, Record<string, unknown>> = {}
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })

  if (surface === 'store') {
    paths['/webhooks/{provider}'] = {
      post: {
        operationId: 'postWebhooksByProvider',
        summary: "A payment provider's webhook: the raw body and headers go to the provider to verify",
        parameters: [{ name: 'provider', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { '*/*': { schema: { type: 'string' } } } },
        responses: { '200': { description: 'Accepted', content: { 'application/json': { schema: { type: 'object' } } } }, default: errorResponse('Refused') },
      },
    }
  }

  for (const e of endpoints) {
    const id = operationId(e)
    const pathParams = [...e.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!)
    const input = e.input ? hoist(toJson(e.input, 'input'), `${id}_input`, schemas) : { type: 'object', properties: {} }
    const properties = (input.properties ?? {}) as Record<string, JsonSchema>
    const required = new Set((input.required ?? []) as string[])
    const parameters: Array<Record<string, unknown>> = pathParams.map((name) => ({ name, in: 'path', required: true, schema: properties[name] ?? { type: 'string' } }))
    if (e.idempotent) parameters.push({ name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', minLength: 1, maxLength: 255 } })
    const rest = Object.fromEntries(Object.entries(properties).filter(([name]) => !pathParams.includes(name) && !(e.idempotent && name === 'idempotencyKey')))
    const restRequired = [...required].filter((name) => name in rest)
    let requestBody: Record<string, unknown> | undefined
    if (e.method === 'GET' || e.method === 'DELETE') {
      for (const [name, schema] of Object.entries(rest)) parameters.push({ name, in: 'query', required: required.has(name), schema })
    } else {
      const body: JsonSchema = { ...input, properties: rest, ...(restRequired.length ? { required: restRequired } : {}) }
      if (!restRequired.length) delete body.required
      requestBody = { required: restRequired.length > 0, content: { 'application/json': { schema: body } } }
    }
    const output = hoist(toJson(e.output, 'output'), `${id}_output`, schemas)
    const security = securityOf(surface, e)
    const openApiPath = e.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    paths[openApiPath] ??= {}
    paths[openApiPath][e.method.toLowerCase()] = {
      operationId: id,
      summary: e.summary,
      ...(e.description ? { description: e.description } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      ...(security ? { security } : {}),
      ...(e.rateLimit ? { 'x-rate-limit': e.rateLimit } : {}),
      responses: { '200': { description: 'OK', content: { 'application/json': { schema: output } } }, default: errorResponse('An error: see `code`') },
    }
  }

  const securitySchemes: Record<string, unknown> =
    surface === 'admin'
      ? { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key, `cwk_<id>.<secret>`, with scopes such as `orders:read`' } }
      : {
          cartToken: { type: 'apiKey', in: 'header', name: 'X-Cart-Token', description: "The cart's access token" },
          cartCookie: { type: 'apiKey', in: 'cookie', name: 'cw_cart' },
          orderToken: { type: 'apiKey', in: 'header', name: 'X-Order-Token', description: "The order's access token" },
          orderTokenQuery: { type: 'apiKey', in: 'query', name: 'token' },
          session: { type: 'http', scheme: 'bearer', description: 'A customer session token' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'cw_session' },
        }
  return {
    openapi: '3.1.0',
    info: { title: info.title ?? `Cartwright ${surface === 'store' ? 'Store' : 'Admin'} API`, version: info.version ?? '0.1.0' },
    paths,
    components: { schemas, securitySchemes },
  }
}
