import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommerce, type Endpoint } from '@cartwright/core'
import { b2b } from '@cartwright/b2b'
import { customers } from '@cartwright/customers'
import { promotions } from '@cartwright/promotions'
import { reviews } from '@cartwright/reviews'
import { shippingRates } from '@cartwright/shipping-rates'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { taxRules } from '@cartwright/tax-rules'
import { adminApi, http, storeApi } from '../src/index.js'
import { adminRoutes, storeRoutes } from '../src/routes/index.js'
import { ORIGIN, testRoutes } from './support.js'

const compose = () =>
  createCommerce({
    // The document depends on the composition, not on storage: one SQLite database is enough.
    storage: sqliteStorage({ filename: ':memory:' }),
    plugins: [
      http(),
      customers(),
      promotions(),
      b2b(),
      reviews(),
      taxRules({ origin: 'FR', jurisdictions: [{ id: 'FR', name: 'TVA', country: 'FR', rates: { standard: '20' } }] }),
      shippingRates({ rates: { zones: [{ id: 'fr', name: 'France', countries: ['FR'], methods: [{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'flat', amount: 490 } }, minDays: 1, maxDays: 3 }] }] } }),
      testRoutes(),
    ],
    onListenerError: () => undefined,
  })

type Document = { openapi: string; paths: Record<string, Record<string, { operationId: string; security?: unknown; parameters?: Array<{ name: string; in: string }>; requestBody?: unknown }>>; components: { securitySchemes: Record<string, unknown> } }

const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

describe('/openapi.json', () => {
  let commerce: Awaited<ReturnType<typeof compose>>
  const documents: Record<'store' | 'admin', Document> = {} as never

  beforeAll(async () => {
    commerce = await compose()
    for (const [surface, app] of [['store', storeApi(commerce)], ['admin', adminApi(commerce)]] as const) {
      const response = await app.request(`${ORIGIN}/openapi.json`)
      expect(response.status).toBe(200)
      documents[surface] = (await response.json()) as Document
    }
  })
  afterAll(() => commerce?.close())

  it.each(['store', 'admin'] as const)('the %s document validates against the OpenAPI 3.1 schema', async (surface) => {
    const validator = new Validator()
    const result = await validator.validate(documents[surface] as unknown as Parameters<Validator['validate']>[0])
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
  })

  it.each(['store', 'admin'] as const)('the %s document lists every mounted route, core\u2019s and every plugin\u2019s', (surface) => {
    const mounted: Endpoint[] = [...(surface === 'store' ? storeRoutes : adminRoutes), ...commerce.endpoints.filter((e) => e.surface === surface)]
    const plugins = commerce.endpoints.filter((e) => e.surface === surface)
    // Each plugin's routes are in: customers', promotions', b2b's, reviews', tax rules', shipping's, the http plugin's own.
    expect(plugins.length).toBeGreaterThan(surface === 'store' ? 5 : 20)
    const listed = Object.entries(documents[surface].paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    const expected = mounted.map((e) => `${e.method} ${openApiPath(e.path)}`)
    if (surface === 'store') expected.push('POST /webhooks/{provider}')
    expect(listed.sort()).toEqual(expected.sort())
    const ids = Object.values(documents[surface].paths).flatMap((operations) => Object.values(operations).map((o) => o.operationId))
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('describes parameters, bodies, the idempotency header and the security of each route', () => {
    const store = documents.store
    const lines = store.paths['/t/carts/{cartId}/lines']!.post!
    expect(lines.parameters).toEqual([expect.objectContaining({ name: 'cartId', in: 'path' })])
    expect(JSON.stringify(lines.requestBody)).toContain('variantId')
    expect(JSON.stringify(lines.requestBody)).not.toContain('cartId')
    expect(lines.security).toEqual(expect.arrayContaining([{ cartToken: [] }, { session: [] }]))
    const checkout = store.paths['/t/carts/{cartId}/checkout']!.post!
    expect(checkout.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header' })]))
    expect(JSON.stringify(checkout.requestBody)).not.toContain('idempotencyKey')
    expect(store.paths['/t/echo']!.get!.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(['query:q', 'query:tag', 'query:limit'])
    expect(Object.keys(store.components.securitySchemes).sort()).toEqual(['cartCookie', 'cartToken', 'orderToken', 'orderTokenQuery', 'session', 'sessionCookie'])
    // What a storefront's product and account pages read: a product's availability, a member's approvals and quotes.
    const availability = store.paths['/products/{handle}/availability']!.get!
    expect(availability.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(['path:handle', 'query:channel'])
    for (const path of ['/b2b/approvals', '/b2b/quotes']) expect(store.paths[path]!.get!.security).toEqual(expect.arrayContaining([{ session: [] }]))
    const admin = documents.admin
    expect(admin.paths['/api-keys']!.post!.security).toEqual([{ apiKey: ['api-keys:write'] }])
    expect(Object.keys(admin.components.securitySchemes)).toEqual(['apiKey'])
  })
})
