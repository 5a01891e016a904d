import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { HEADER_ID } from '../src/index.js'
import { STORAGES, openShop, receiver } from './support.js'

/** Waits, in real time, until `done()` holds (the background loop runs on its own). */
async function until(done: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe.each(STORAGES)('delivery rounds on %s', (storage) => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-webhooks-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('the background loop delivers what the outbox hands over, retries as the clock passes the backoff, and stops', async () => {
    const shop = await openShop(storage, { allowPrivateHosts: true, background: true, backoffBaseMs: 1000 })
    const sink = await receiver([500, 204])
    try {
      await shop.commerce.webhooks.createEndpoint({ url: sink.url, eventTypes: ['product.*'] })
      await shop.commerce.catalog.createProduct({ title: 'Mug', variants: [{ sku: 'BG-1', prices: [{ currency: 'USD', amount: 900 }] }] })
      // Nobody calls deliverDue: the subscriber wakes the loop.
      await shop.commerce.outbox.drain()
      await until(() => sink.received.length === 1)
      const [delivery] = (await shop.commerce.webhooks.listDeliveries()).items
      // The retry comes when the clock passes its backoff, not before.
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(sink.received).toHaveLength(1)
      await shop.clock.advance(1000)
      await until(() => sink.received.length === 2)
      await shop.commerce.webhooks.stop()
      expect(await shop.commerce.webhooks.getDelivery(delivery!.id)).toMatchObject({ status: 'delivered', attempts: 2 })
      expect(sink.received.map((r) => r.headers[HEADER_ID.toLowerCase()])).toEqual([delivery!.id, delivery!.id])
    } finally {
      await sink.close()
      await shop.close()
    }
  })

  it('prune deletes delivered deliveries older than the given days with their attempts, and failed ones only when asked', async () => {
    const shop = await openShop(storage, { allowPrivateHosts: true, maxAttempts: 1 })
    const ok = await receiver([204])
    const down = await receiver([500])
    try {
      const kept = await shop.commerce.webhooks.createEndpoint({ url: ok.url, eventTypes: ['product.created'] })
      const failing = await shop.commerce.webhooks.createEndpoint({ url: down.url, eventTypes: ['product.created'] })
      await shop.commerce.catalog.createProduct({ title: 'Old mug', variants: [{ sku: 'OLD-1', prices: [{ currency: 'USD', amount: 900 }] }] })
      await shop.commerce.outbox.drain()
      expect((await shop.commerce.webhooks.deliverDue()).attempted).toBe(2)
      await shop.clock.advance(31 * 86_400_000)
      await shop.commerce.catalog.createProduct({ title: 'New mug', variants: [{ sku: 'NEW-1', prices: [{ currency: 'USD', amount: 900 }] }] })
      await shop.commerce.outbox.drain()
      await shop.commerce.webhooks.deliverDue()

      expect(await shop.commerce.webhooks.prune({ days: 30 })).toEqual({ deleted: 1 })
      expect((await shop.commerce.webhooks.listDeliveries({ endpointId: kept.id })).items).toHaveLength(1)
      expect((await shop.commerce.webhooks.listAttempts({ endpointId: kept.id })).items).toHaveLength(1)
      expect((await shop.commerce.webhooks.listDeliveries({ endpointId: failing.id, status: 'failed' })).items).toHaveLength(2)
      expect(await shop.commerce.webhooks.prune({ days: 30, includeFailed: true })).toEqual({ deleted: 1 })
      expect((await shop.commerce.webhooks.listDeliveries({ endpointId: failing.id })).items).toHaveLength(1)
      expect((await shop.commerce.webhooks.listAttempts({ endpointId: failing.id })).items).toHaveLength(1)
    } finally {
      await ok.close()
      await down.close()
      await shop.close()
    }
  })

  it('an event the outbox hands over twice makes one delivery per endpoint', async () => {
    const shop = await openShop(storage, { allowPrivateHosts: true })
    try {
      const endpoint = await shop.commerce.webhooks.createEndpoint({ url: 'http://127.0.0.1:9/hooks', eventTypes: ['product.created'] })
      await shop.commerce.catalog.createProduct({ title: 'Twice', variants: [{ sku: 'TWICE-1', prices: [{ currency: 'USD', amount: 900 }] }] })
      await shop.commerce.outbox.drain()
      // The outbox is at least once: as after a crash before it recorded the hand-over, it hands the event over again.
      await sql`update cw_outbox_deliveries set status = 'pending', attempts = 0, locked_until = null where subscriber = 'webhooks-deliveries'`.execute(shop.commerce.db as any)
      expect(await shop.commerce.outbox.drain()).toBeGreaterThan(0)
      expect((await shop.commerce.webhooks.listDeliveries({ endpointId: endpoint.id })).items).toHaveLength(1)
      // Handled, not failed on the repeat: nothing left for the outbox to retry.
      const handovers = (await shop.commerce.outbox.list()).filter((d) => d.subscriber === 'webhooks-deliveries')
      expect(handovers.length).toBeGreaterThan(0)
      expect(handovers.every((d) => d.status === 'delivered')).toBe(true)
    } finally {
      await shop.close()
    }
  })

  it('two processes running rounds at once on one database send each delivery once', async () => {
    const first = await openShop(storage, { allowPrivateHosts: true }, storage === 'sqlite' ? { file: join(dir, 'shared.db') } : {})
    const second = await openShop(storage, { allowPrivateHosts: true }, first.where)
    const sink = await receiver([204])
    try {
      await first.commerce.webhooks.createEndpoint({ url: sink.url, eventTypes: ['product.created'] })
      for (let i = 0; i < 20; i++) {
        await first.commerce.catalog.createProduct({ title: `Mug ${i}`, variants: [{ sku: `MUG-${i}`, prices: [{ currency: 'USD', amount: 900 }] }] })
      }
      await first.commerce.outbox.drain()
      const rounds = await Promise.all([
        first.commerce.webhooks.deliverDue({ batchSize: 20 }),
        second.commerce.webhooks.deliverDue({ batchSize: 20 }),
        first.commerce.webhooks.deliverDue({ batchSize: 20 }),
        second.commerce.webhooks.deliverDue({ batchSize: 20 }),
      ])
      expect(rounds.reduce((sum, r) => sum + r.attempted, 0)).toBe(20)
      const ids = sink.received.map((r) => r.headers[HEADER_ID.toLowerCase()])
      expect(ids).toHaveLength(20)
      expect(new Set(ids).size).toBe(20)
      expect((await second.commerce.webhooks.listDeliveries({ status: 'delivered', limit: 100 })).items).toHaveLength(20)
    } finally {
      await sink.close()
      await second.commerce.close()
      await first.close()
    }
  })
})

describe('a private URL at delivery time', () => {
  it('is not called by a process without allowPrivateHosts, even when another registered it; the attempt says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-webhooks-'))
    const open = await openShop('sqlite', { allowPrivateHosts: true }, { file: join(dir, 'shop.db') })
    const strict = await openShop('sqlite', {}, open.where)
    const sink = await receiver([204])
    try {
      const endpoint = await open.commerce.webhooks.createEndpoint({ url: sink.url, eventTypes: ['product.created'] })
      await open.commerce.catalog.createProduct({ title: 'Mug', variants: [{ sku: 'PRIV-1', prices: [{ currency: 'USD', amount: 900 }] }] })
      await open.commerce.outbox.drain()
      expect((await strict.commerce.webhooks.deliverDue()).attempted).toBe(1)
      expect(sink.received).toHaveLength(0)
      const [attempt] = (await strict.commerce.webhooks.listAttempts({ endpointId: endpoint.id })).items
      expect(attempt).toMatchObject({ outcome: 'error', statusCode: null })
      expect(attempt!.error).toContain('private network')
    } finally {
      await sink.close()
      await strict.commerce.close()
      await open.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
