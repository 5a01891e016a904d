import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { adminApi } from '@cartwright/http'
import { HEADER_ID, HEADER_REPLAY, HEADER_SIGNATURE, HEADER_TIMESTAMP, signWebhook, verifyWebhookSignature, webhookEndpoints, type WebhookAttempt, type WebhookDelivery } from '../src/index.js'
import { ORIGIN, STORAGES, openShop, receiver } from './support.js'

type Shop = Awaited<ReturnType<typeof openShop>>

/** An Admin API call with the shop's staff key. */
async function admin(shop: Shop, method: string, path: string, body?: unknown) {
  const response = await adminApi(shop.commerce).request(`${ORIGIN}${path}`, {
    method,
    headers: { authorization: `Bearer ${shop.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: (await response.json()) as any }
}

const header = (headers: Record<string, unknown>, name: string) => headers[name.toLowerCase()] as string | undefined

describe.each(STORAGES)('webhooks on %s', (storage) => {
  let shop: Shop
  beforeAll(async () => {
    shop = await openShop(storage, { allowPrivateHosts: true, backoffBaseMs: 1000, maxAttempts: 5 })
  })
  afterAll(() => shop?.close())

  it('an endpoint that fails 3 times receives the event on the 4th try exactly once, signed; a replay from the Admin API delivers it again, marked as a replay', async () => {
    const flaky = await receiver([500, 500, 500, 204])
    const other = await receiver([204])
    try {
      const created = await admin(shop, 'POST', '/webhooks/endpoints', { url: flaky.url, eventTypes: ['product.created'] })
      expect(created.status).toBe(200)
      const secret: string = created.body.secret
      expect(secret).toMatch(/^whsec_/)
      // Subscribed to another event type: gets nothing.
      expect((await admin(shop, 'POST', '/webhooks/endpoints', { url: other.url, eventTypes: ['order.placed'] })).status).toBe(200)
      // The secret is shown once: never on reads.
      expect(JSON.stringify((await admin(shop, 'GET', `/webhooks/endpoints/${created.body.id}`)).body)).not.toContain(secret)

      const product = await shop.commerce.catalog.createProduct({ title: 'Enamel Mug', variants: [{ sku: 'MUG-1', prices: [{ currency: 'USD', amount: 1800 }] }] })
      await shop.commerce.outbox.drain()

      const delays: number[] = []
      for (let i = 0; i < 4; i++) {
        if (i > 0) {
          // Not due before its backoff has passed: 1 s, then 2 s, then 4 s.
          const delay = 1000 * 2 ** (i - 1)
          await shop.clock.advance(delay - 1)
          expect((await shop.commerce.webhooks.deliverDue()).attempted).toBe(0)
          await shop.clock.advance(1)
          delays.push(delay)
        }
        const round = await shop.commerce.webhooks.deliverDue()
        expect(round.attempted).toBe(1)
        expect(flaky.received).toHaveLength(i + 1)
      }
      // Time passes, rounds run: nothing more is sent.
      await shop.clock.advance(3_600_000)
      expect((await shop.commerce.webhooks.deliverDue()).attempted).toBe(0)
      expect(flaky.received.map((r) => r.status)).toEqual([500, 500, 500, 204])
      expect(flaky.received.filter((r) => r.status < 300)).toHaveLength(1)
      expect(other.received).toHaveLength(0)

      // Every try: the same delivery id, the same bytes, a signature the receiver verifies at the attempt's time.
      const deliveryId = header(flaky.received[0]!.headers, HEADER_ID)!
      expect(new Set(flaky.received.map((r) => header(r.headers, HEADER_ID)))).toEqual(new Set([deliveryId]))
      expect(new Set(flaky.received.map((r) => r.body)).size).toBe(1)
      const event = JSON.parse(flaky.received[0]!.body)
      expect(event).toMatchObject({ type: 'product.created', payload: { productId: product.id } })
      for (const r of flaky.received) {
        const stamp = Number(header(r.headers, HEADER_TIMESTAMP))
        const check = verifyWebhookSignature({ body: r.body, headers: r.headers, secret, now: new Date(stamp * 1000) })
        expect(check).toEqual({ ok: true, deliveryId, timestamp: stamp, replayOf: null })
      }
      expect(header(flaky.received[3]!.headers, HEADER_REPLAY)).toBeUndefined()

      // The delivery and its log, through the Admin API.
      const delivery: WebhookDelivery = (await admin(shop, 'GET', `/webhooks/deliveries/${deliveryId}`)).body
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 4, eventId: event.id, eventType: 'product.created', lastStatusCode: 204, replayOf: null })
      const log: WebhookAttempt[] = (await admin(shop, 'GET', `/webhooks/deliveries/${deliveryId}/attempts`)).body.items
      expect(log.map((a) => [a.attempt, a.statusCode, a.outcome])).toEqual([
        [1, 500, 'failed'],
        [2, 500, 'failed'],
        [3, 500, 'failed'],
        [4, 204, 'delivered'],
      ])
      const starts = log.map((a) => Date.parse(a.startedAt))
      expect(starts.slice(1).map((t, i) => t - starts[i]!)).toEqual(delays)
      expect(log[0]!.error).toContain('500')
      expect(log[0]!.responseBody).toBe('not now')
      expect(log.every((a) => a.durationMs >= 0)).toBe(true)

      // Replay: the same body again, a new delivery id, marked with the original's id.
      await shop.clock.advance(60_000)
      const replayed = await admin(shop, 'POST', `/webhooks/deliveries/${deliveryId}/replay`)
      expect(replayed.status).toBe(200)
      expect(replayed.body).toMatchObject({ status: 'delivered', attempts: 1, replayOf: deliveryId, eventId: event.id })
      expect(flaky.received).toHaveLength(5)
      const replay = flaky.received[4]!
      expect(replay.body).toBe(flaky.received[0]!.body)
      expect(header(replay.headers, HEADER_REPLAY)).toBe(deliveryId)
      expect(header(replay.headers, HEADER_ID)).toBe(replayed.body.id)
      const check = verifyWebhookSignature({ body: replay.body, headers: replay.headers, secret, now: shop.clock.now() })
      expect(check).toEqual({ ok: true, deliveryId: replayed.body.id, timestamp: Math.floor(shop.clock.now().getTime() / 1000), replayOf: deliveryId })
      // Logged as a new attempt of the delivery.
      const after: WebhookAttempt[] = (await admin(shop, 'GET', `/webhooks/deliveries/${deliveryId}/attempts`)).body.items
      expect(after).toHaveLength(5)
      expect(after[4]).toMatchObject({ deliveryId: replayed.body.id, attempt: 1, statusCode: 204, outcome: 'delivered' })
      expect(other.received).toHaveLength(0)

      const listed = await admin(shop, 'GET', `/webhooks/deliveries?endpointId=${created.body.id}&status=delivered`)
      expect(listed.body.items.map((d: WebhookDelivery) => d.id).sort()).toEqual([deliveryId, replayed.body.id].sort())
    } finally {
      await flaky.close()
      await other.close()
    }
  })

  it('fails a delivery after maxAttempts, keeps its log, and a replay of it can still succeed', async () => {
    const down = await receiver([503, 503, 503, 503, 503, 200])
    try {
      const endpoint = await shop.commerce.webhooks.createEndpoint({ url: down.url, eventTypes: ['category.*'] })
      await shop.commerce.categories.create({ title: 'Mugs', handle: 'mugs' })
      await shop.commerce.outbox.drain()
      for (let i = 0; i < 5; i++) {
        expect((await shop.commerce.webhooks.deliverDue()).attempted).toBe(1)
        await shop.clock.advance(1000 * 2 ** i)
      }
      expect((await shop.commerce.webhooks.deliverDue()).attempted).toBe(0)
      const [failed] = (await shop.commerce.webhooks.listDeliveries({ endpointId: endpoint.id, status: 'failed' })).items
      expect(failed).toMatchObject({ status: 'failed', attempts: 5, lastStatusCode: 503, nextAttemptAt: null })
      expect(down.received).toHaveLength(5)
      const replay = await shop.commerce.webhooks.replay(failed!.id)
      expect(replay).toMatchObject({ status: 'delivered', replayOf: failed!.id })
      expect(down.received).toHaveLength(6)
      expect(await shop.commerce.webhooks.getDelivery(failed!.id)).toMatchObject({ status: 'failed', attempts: 5 })

      // A pending delivery is not replayed: it is still being sent.
      await shop.commerce.categories.create({ title: 'Plates', handle: 'plates' })
      await shop.commerce.outbox.drain()
      const [pending] = (await shop.commerce.webhooks.listDeliveries({ endpointId: endpoint.id, status: 'pending' })).items
      const refused = await admin(shop, 'POST', `/webhooks/deliveries/${pending!.id}/replay`)
      expect(refused.status).toBe(409)
      expect(refused.body.code).toBe('INVALID_STATE')
      expect(down.received).toHaveLength(6)
      await shop.commerce.webhooks.deleteEndpoint(endpoint.id)
    } finally {
      await down.close()
    }
  })

  it('signs with the old and the new secret during a rotation\u2019s grace period, then with the new one only', async () => {
    const sink = await receiver([204])
    try {
      const created = await shop.commerce.webhooks.createEndpoint({ url: sink.url, eventTypes: ['channel.created'] })
      const rotated = await admin(shop, 'POST', `/webhooks/endpoints/${created.id}/rotate-secret`, { keepPreviousSeconds: 600 })
      expect(rotated.status).toBe(200)
      const secret: string = rotated.body.secret
      expect(secret).not.toBe(created.secret)
      expect(JSON.stringify((await admin(shop, 'GET', '/webhooks/endpoints')).body)).not.toContain(secret)

      const send = async (code: string) => {
        await shop.commerce.channels.create({ name: code, code, currencies: ['USD'] })
        await shop.commerce.outbox.drain()
        expect((await shop.commerce.webhooks.deliverDue()).attempted).toBe(1)
        return sink.received.at(-1)!
      }
      const during = await send('web')
      for (const key of [created.secret, secret]) expect(verifyWebhookSignature({ body: during.body, headers: during.headers, secret: key, now: shop.clock.now() }).ok).toBe(true)
      await shop.clock.advance(601_000)
      const after = await send('pos')
      expect(verifyWebhookSignature({ body: after.body, headers: after.headers, secret, now: shop.clock.now() }).ok).toBe(true)
      expect(verifyWebhookSignature({ body: after.body, headers: after.headers, secret: created.secret, now: shop.clock.now() })).toEqual({ ok: false, reason: 'no_matching_signature' })
    } finally {
      await sink.close()
    }
  })

  it('gives a paused endpoint no deliveries, and deletes an endpoint with its deliveries and log', async () => {
    const sink = await receiver([204])
    try {
      const endpoint = await shop.commerce.webhooks.createEndpoint({ url: sink.url, eventTypes: '*' })
      const paused = await admin(shop, 'PATCH', `/webhooks/endpoints/${endpoint.id}`, { active: false })
      expect(paused.body).toMatchObject({ active: false, eventTypes: '*' })
      await shop.commerce.catalog.createProduct({ title: 'Bowl', variants: [{ sku: 'BOWL-1', prices: [{ currency: 'USD', amount: 1200 }] }] })
      await shop.commerce.outbox.drain()
      expect((await shop.commerce.webhooks.listDeliveries({ endpointId: endpoint.id })).items).toHaveLength(0)

      await shop.commerce.webhooks.updateEndpoint(endpoint.id, { active: true })
      await shop.commerce.catalog.createProduct({ title: 'Cup', variants: [{ sku: 'CUP-1', prices: [{ currency: 'USD', amount: 700 }] }] })
      await shop.commerce.outbox.drain()
      await shop.commerce.webhooks.deliverDue()
      expect(sink.received.length).toBeGreaterThan(0)
      expect((await shop.commerce.webhooks.listDeliveries({ endpointId: endpoint.id })).items.length).toBeGreaterThan(0)

      const deleted = await admin(shop, 'DELETE', `/webhooks/endpoints/${endpoint.id}`)
      expect(deleted.body).toEqual({ id: endpoint.id, deleted: true })
      expect((await admin(shop, 'GET', `/webhooks/endpoints/${endpoint.id}`)).status).toBe(404)
      expect((await shop.commerce.webhooks.listDeliveries({ endpointId: endpoint.id })).items).toHaveLength(0)
      const left = await sql<{ n: number }>`select count(*) as n from webhooks_attempts where endpoint_id = ${endpoint.id}`.execute(shop.commerce.db as any)
      expect(Number(left.rows[0]!.n)).toBe(0)
    } finally {
      await sink.close()
    }
  })

  it('sends again a delivery whose process stopped between sending and recording, with the same id (at least once)', async () => {
    const sink = await receiver([204])
    try {
      const endpoint = await shop.commerce.webhooks.createEndpoint({ url: sink.url, eventTypes: ['collection.created'] })
      await shop.commerce.collections.create({ title: 'Summer', handle: 'summer' })
      await shop.commerce.outbox.drain()
      const [pending] = (await shop.commerce.webhooks.listDeliveries({ endpointId: endpoint.id })).items
      // A round claimed it and died before recording anything: the claim is all that is left.
      const db = shop.commerce.db as any
      await sql`update webhooks_deliveries set attempts = 1, locked_until = ${new Date(shop.clock.now().getTime() + 40_000).toISOString()} where id = ${pending!.id}`.execute(db)
      // Other tests' endpoints share this shop: count what this endpoint receives.
      await shop.commerce.webhooks.deliverDue()
      expect(sink.received).toHaveLength(0)
      await shop.clock.advance(40_000)
      await shop.commerce.webhooks.deliverDue()
      expect(sink.received).toHaveLength(1)
      expect(header(sink.received[0]!.headers, HEADER_ID)).toBe(pending!.id)
      expect(await shop.commerce.webhooks.getDelivery(pending!.id)).toMatchObject({ status: 'delivered', attempts: 2 })
    } finally {
      await sink.close()
    }
  })
})

describe('the Admin API (its document does not depend on storage), without allowPrivateHosts', () => {
  let shop: Shop
  beforeAll(async () => {
    shop = await openShop('sqlite')
  })
  afterAll(() => shop?.close())

  it.each(['http://127.0.0.1:8080/hooks', 'http://localhost/hooks', 'http://10.0.0.7/hooks', 'http://[::1]/hooks', 'http://169.254.169.254/latest'])(
    'refuses the private URL %s with 400 VALIDATION naming url, and stores nothing',
    async (url) => {
      const response = await admin(shop, 'POST', '/webhooks/endpoints', { url, eventTypes: '*' })
      expect(response.status).toBe(400)
      expect(response.body.code).toBe('VALIDATION')
      expect(response.body.details.fields).toEqual(['url'])
      expect((await shop.commerce.webhooks.listEndpoints()).items).toHaveLength(0)
    },
  )

  it('accepts a public https URL, and refuses other schemes and credentials in the URL', async () => {
    expect((await admin(shop, 'POST', '/webhooks/endpoints', { url: 'https://hooks.example.com/in', eventTypes: '*' })).status).toBe(200)
    for (const url of ['ftp://hooks.example.com/in', 'https://user:pw@hooks.example.com/in', 'not a url']) {
      const response = await admin(shop, 'POST', '/webhooks/endpoints', { url, eventTypes: '*' })
      expect(response.status).toBe(400)
      expect(response.body.details.fields).toEqual(['url'])
    }
  })

  it('lists its routes in the Admin API\u2019s /openapi.json, which validates as OpenAPI 3.1', async () => {
    const response = await adminApi(shop.commerce).request(`${ORIGIN}/openapi.json`)
    const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> }
    const validator = new Validator()
    const result = await validator.validate(document as unknown as Parameters<Validator['validate']>[0])
    expect(result.errors ?? []).toEqual([])
    expect(validator.version).toBe('3.1')
    for (const endpoint of webhookEndpoints) {
      const path = endpoint.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
      expect(document.paths[path]?.[endpoint.method.toLowerCase()], `${endpoint.method} ${endpoint.path}`).toBeDefined()
    }
  })

  it('refuses Admin calls without the webhooks scope', async () => {
    const member = await shop.commerce.http.staff.create({ email: 'reader@example.com', name: 'Reader' })
    const { secret } = await shop.commerce.http.apiKeys.create({ staffId: member.id, name: 'read', scopes: ['webhooks:read'] })
    const response = await adminApi(shop.commerce).request(`${ORIGIN}/webhooks/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://hooks.example.com/in', eventTypes: '*' }),
    })
    expect(response.status).toBe(403)
  })
})

describe('verifyWebhookSignature', () => {
  const secret = 'whsec_test-secret'
  const body = JSON.stringify({ id: 'evt_1', type: 'order.placed', payload: { total: 1800 } })
  const at = new Date('2030-01-01T00:00:00Z')
  const timestamp = Math.floor(at.getTime() / 1000)
  const headers = (signature: string, stamp = timestamp) => ({ [HEADER_ID]: 'whd_1', [HEADER_TIMESTAMP]: String(stamp), [HEADER_SIGNATURE]: signature })
  const good = `v1=${signWebhook({ secret, id: 'whd_1', timestamp, body })}`

  it('accepts the signature of the id, timestamp and body, with headers in any case', () => {
    expect(verifyWebhookSignature({ body, headers: headers(good), secret, now: at })).toEqual({ ok: true, deliveryId: 'whd_1', timestamp, replayOf: null })
    expect(verifyWebhookSignature({ body, headers: new Headers(headers(good)), secret, now: at }).ok).toBe(true)
  })

  it('refuses a wrong signature, another secret, or a changed body', () => {
    expect(verifyWebhookSignature({ body, headers: headers(`v1=${'0'.repeat(64)}`), secret, now: at })).toEqual({ ok: false, reason: 'no_matching_signature' })
    expect(verifyWebhookSignature({ body, headers: headers(good), secret: 'whsec_other', now: at })).toEqual({ ok: false, reason: 'no_matching_signature' })
    expect(verifyWebhookSignature({ body: body.replace('1800', '1'), headers: headers(good), secret, now: at })).toEqual({ ok: false, reason: 'no_matching_signature' })
  })

  it('refuses a captured request sent again under a new delivery id', () => {
    const resent = { ...headers(good), [HEADER_ID]: 'whd_2' }
    expect(verifyWebhookSignature({ body, headers: resent, secret, now: at })).toEqual({ ok: false, reason: 'no_matching_signature' })
    const { [HEADER_ID]: _, ...withoutId } = headers(good)
    expect(verifyWebhookSignature({ body, headers: withoutId, secret, now: at })).toEqual({ ok: false, reason: 'missing_headers' })
  })

  it('refuses a stale or future timestamp, even with its right signature', () => {
    const stale = timestamp - 301
    const signed = `v1=${signWebhook({ secret, id: 'whd_1', timestamp: stale, body })}`
    expect(verifyWebhookSignature({ body, headers: headers(signed, stale), secret, now: at })).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' })
    const future = timestamp + 301
    expect(verifyWebhookSignature({ body, headers: headers(`v1=${signWebhook({ secret, id: 'whd_1', timestamp: future, body })}`, future), secret, now: at })).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' })
    expect(verifyWebhookSignature({ body, headers: headers(signed, stale), secret, now: at, toleranceSeconds: 600 }).ok).toBe(true)
  })

  it('refuses missing headers and a malformed timestamp', () => {
    expect(verifyWebhookSignature({ body, headers: {}, secret, now: at })).toEqual({ ok: false, reason: 'missing_headers' })
    expect(verifyWebhookSignature({ body, headers: headers(good, 'soon' as unknown as number), secret, now: at })).toEqual({ ok: false, reason: 'bad_timestamp' })
  })
})
