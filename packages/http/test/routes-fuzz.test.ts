import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Endpoint } from '@cartwright/core'
import { storeRoutes } from '../src/routes/index.js'
import { call, writeCounter, openShop, STORAGES, type Shop } from './routes-support.js'

/**
 * Random requests per Store API route and storage: 200 in CI; `test:soak` in this package and
 * `pnpm fuzz:http` run 10,000 per route (about an hour on two cores). Every request is checked: no 500, and a refused one writes no row
 * (`writeCounter`: triggers count each row written, in every table but the counting ones).
 */
const RUNS = Number(process.env.HTTP_FUZZ_RUNS ?? 200)

/** Printable text a header can carry. */
const headerText = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'), maxLength: 80 })

describe.each(STORAGES)('Store API fuzzing on %s', (storage) => {
  let shop: Shop
  let routes: Endpoint[]
  let writes: () => Promise<number>
  let known: { cart: { id: string; token: string }; order: { id: string; token: string }; lineId: string; session: string }

  beforeAll(async () => {
    // Each request counts for a client of its own, so that the rate limits do not answer in place of the routes.
    shop = await openShop(storage, { clientKey: () => randomUUID() })
    const cart = await shop.readyCart()
    const placed = await shop.placeOrder()
    known = { cart, order: { id: placed.id, token: placed.token }, lineId: (await shop.commerce.carts.get(cart.id)).lines[0]!.id, session: await shop.signIn('fuzz@example.com') }
    routes = [...storeRoutes, ...shop.commerce.endpoints.filter((e) => e.surface === 'store')]
    writes = await writeCounter(shop.commerce, storage)
  })
  afterAll(() => shop?.close())

  /** A value for a path parameter: the real one mostly (so that requests reach the handlers), else anything. */
  function param(name: string): fc.Arbitrary<string> {
    const real: Record<string, string[]> = {
      cartId: [known.cart.id],
      orderId: [known.order.id],
      lineId: [known.lineId],
      handle: ['trail-runner', 'next-season-shoe'],
      code: ['TEN'],
    }
    return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(real[name] ?? ['x'])) }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 70 }) })
  }

  /** Field names of a route's input, to build bodies that get past the first check now and then. */
  function fieldsOf(route: Endpoint): string[] {
    const shape = (route.input as { shape?: Record<string, unknown> } | undefined)?.shape
    return shape ? Object.keys(shape) : []
  }

  function requestFor(route: Endpoint) {
    const params = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!)
    const names = [...fieldsOf(route), 'unitPrice', 'total', 'status', 'customerId', '__proto__', 'constructor']
    const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) })
    const path = fc.tuple(...params.map(param)).map((values) => params.reduce((p, name, i) => p.replace(`:${name}`, encodeURIComponent(values[i]!)), route.path as string))
    const body =
      route.method === 'GET' || route.method === 'DELETE'
        ? fc.dictionary(key, fc.oneof(fc.string({ maxLength: 40 }), fc.integer().map(String), fc.constantFrom('true', 'false', 'USD'))).map((q) => ({ query: new URLSearchParams(q).toString() }))
        : fc.oneof(
            { weight: 4, arbitrary: fc.dictionary(key, fc.jsonValue({ maxDepth: 3 })).map((b) => ({ raw: JSON.stringify(b) })) },
            { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((b) => ({ raw: JSON.stringify(b) })) },
            { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((raw) => ({ raw })) },
          )
    const credential = fc.constantFrom<Record<string, string>>(
      {},
      { 'x-cart-token': known.cart.token },
      { 'x-order-token': known.order.token },
      { authorization: `Bearer ${known.session}` },
      { cookie: `cw_cart=${known.cart.token}`, origin: 'http://shop.test' },
      { cookie: `cw_session=${known.session}` },
    )
    const header = fc.oneof(
      fc.tuple(fc.constantFrom('x-cart-token', 'x-order-token', 'authorization', 'idempotency-key', 'content-type', 'cookie', 'origin', 'referer', 'x-request-id', 'x-forwarded-for'), headerText),
      fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), headerText),
    )
    const headers = fc.tuple(credential, fc.array(header, { maxLength: 4 }), fc.boolean(), fc.option(headerText, { nil: undefined })).map(([base, extra, json, key]) => ({
      ...base,
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(key !== undefined && key.trim() !== '' ? { 'idempotency-key': key } : {}),
      ...Object.fromEntries(extra),
    }))
    return fc.record({ path, body, headers })
  }

  it(`answers ${RUNS} random requests per Store API route without a 500, and refused ones write nothing`, async () => {
    expect(routes.length).toBeGreaterThan(20)
    const statuses = new Map<number, number>()
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(requestFor(route), async ({ path, body, headers }) => {
          const before = await writes()
          const url = 'query' in body && body.query ? `${path}?${body.query}` : path
          const answer = await call(shop.store, route.method, url, { headers, ...('raw' in body ? { raw: body.raw } : {}) })
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
          if (answer.status >= 500) throw new Error(`${route.method} ${url} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
          if (answer.status >= 400) expect(await writes(), `${route.method} ${url} answered ${answer.status} and wrote`).toBe(before)
        }),
        { numRuns: RUNS },
      )
    }
    if (process.env.HTTP_FUZZ_REPORT) console.log(storage, Object.fromEntries(statuses))
    // The requests reached the routes' checks, not only the first refusal.
    expect([...statuses.keys()].some((s) => s === 400)).toBe(true)
    expect([...statuses.keys()].some((s) => s === 404)).toBe(true)
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true)
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(RUNS * routes.length)
  }, Math.max(60_000, RUNS * 500))
})
