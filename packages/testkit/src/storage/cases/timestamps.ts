import assert from 'node:assert/strict'
import { ISO_UTC_PATTERN, text, ts } from '../raw.js'
import { checkout, probe, readyCart, seedVariant } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'

/** A timestamp as the adapter hands it to core: ISO-8601 UTC text, or a `Date`. */
function viaAdapter(value: unknown, label: string): string {
  if (value instanceof Date) return value.toISOString()
  assert.equal(typeof value, 'string', `${label}: a timestamp must come back as text or a Date, got ${typeof value}`)
  assert.match(value as string, ISO_UTC_PATTERN, `${label}: text timestamps must be ISO-8601 UTC with milliseconds`)
  return value as string
}

function isoUtc(value: string, label: string): void {
  assert.match(value, ISO_UTC_PATTERN, `${label} must be ISO-8601 UTC with milliseconds, got ${value}`)
}

export const timestampCases: StorageGroup = {
  group: 'UTC timestamps',
  cases: [
    {
      name: 'every createdAt and updatedAt the engine returns is ISO-8601 UTC ending in Z, equal to what is stored',
      async run(t) {
        const sub = probe('audit', ['order.placed'])
        const { commerce } = await t.engine({ subscribers: [sub.subscriber] })
        const now = t.clock.iso()
        const { product, variantId } = await seedVariant(commerce, { stock: 2 })
        const [location] = await commerce.inventory.listLocations()
        const cart = await readyCart(commerce, [[variantId, 1]])
        const order = await checkout(commerce, cart.id)
        const [delivery] = await commerce.outbox.list()
        const values: Array<[string, string]> = [
          ['product.createdAt', product.createdAt],
          ['product.updatedAt', product.updatedAt],
          ['variant.createdAt', product.variants[0]!.createdAt],
          ['location.createdAt', location!.createdAt],
          ['cart.createdAt', cart.createdAt],
          ['cart.updatedAt', cart.updatedAt],
          ['order.createdAt', order.createdAt],
          ['order.updatedAt', order.updatedAt],
          ['payment.createdAt', order.payments[0]!.createdAt],
          ['delivery.nextAttemptAt', delivery!.nextAttemptAt],
        ]
        for (const [label, value] of values) {
          isoUtc(value, label)
          assert.equal(value, now, label)
        }
        assert.equal(ts((await t.raw.one('select created_at from cw_orders where id = ?', [order.id]))['created_at']), now)
        assert.equal(ts((await t.raw.one('select created_at from cw_payments where order_id = ?', [order.id]))['created_at']), now)
        assert.equal(ts((await t.raw.one('select next_attempt_at from cw_outbox_deliveries'))['next_attempt_at']), now)
      },
    },
    {
      name: 'an injected clock round-trips to the millisecond, across day, year, leap-day and 2038 edges',
      async run(t) {
        const { commerce } = await t.engine()
        const instants = [
          '2031-07-04T23:59:59.987Z',
          '2000-02-29T00:00:00.001Z',
          '1999-12-31T23:59:59.999Z',
          '2038-01-19T03:14:08.000Z',
          '2099-12-31T23:59:59.999Z',
        ]
        for (const [i, instant] of instants.entries()) {
          t.clock.set(instant)
          const location = await commerce.inventory.createLocation({ name: `At ${instant}`, code: `at-${i}` })
          assert.equal(location.createdAt, instant, 'returned by createLocation')
          assert.equal(ts((await t.raw.one('select created_at from cw_stock_locations where id = ?', [location.id]))['created_at']), instant, 'stored')
          const row = await commerce.db.selectFrom('cw_stock_locations').select('created_at').where('id', '=', location.id).executeTakeFirstOrThrow()
          assert.equal(viaAdapter(row.created_at, 'cw_stock_locations.created_at'), instant, 'read through the adapter')
          assert.equal((await commerce.inventory.listLocations()).find((l) => l.id === location.id)!.createdAt, instant, 'read through the engine')
        }
      },
    },
    {
      name: 'rows sort and compare by instant, not by insertion order, down to the millisecond',
      async run(t) {
        const { commerce } = await t.engine()
        const instants = [
          '2030-01-01T10:00:00.000Z',
          '2030-01-01T09:59:59.999Z',
          '2030-01-01T10:00:00.001Z',
          '2029-12-31T23:59:59.999Z',
          '2030-01-01T09:00:00.000Z',
          '2030-01-01T10:00:00.002Z',
        ]
        const byInstant = new Map<string, string>()
        for (const instant of instants) {
          t.clock.set(instant)
          byInstant.set(instant, (await seedVariant(commerce)).product.id)
        }
        const ascending = [...instants].sort()
        const stored = await t.raw.rows('select id, created_at from cw_products order by created_at')
        assert.deepEqual(
          stored.map((r) => ts(r['created_at'])),
          ascending,
        )
        assert.deepEqual(
          stored.map((r) => text(r['id'])),
          ascending.map((i) => byInstant.get(i)),
        )
        assert.equal(await t.raw.count('cw_products where created_at >= ?', ['2030-01-01T10:00:00.000Z']), 3)
        assert.equal(await t.raw.count('cw_products where created_at > ?', ['2030-01-01T10:00:00.000Z']), 2)

        // Newest first, one per page: each page boundary is a strict comparison at 1 ms.
        const seen: string[] = []
        let cursor: string | undefined
        do {
          const page = await commerce.catalog.listProducts({ limit: 1, ...(cursor ? { cursor } : {}) })
          seen.push(...page.items.map((p) => p.createdAt))
          cursor = page.nextCursor ?? undefined
        } while (cursor)
        assert.deepEqual(seen, [...ascending].reverse())
      },
    },
    {
      name: 'paging through rows that share a timestamp returns each row exactly once',
      async run(t) {
        const { commerce } = await t.engine()
        const ids = new Set<string>()
        for (let i = 0; i < 7; i++) {
          if (i === 3) t.clock.advance(1)
          ids.add((await seedVariant(commerce)).product.id)
        }
        const seen: string[] = []
        let cursor: string | undefined
        do {
          const page = await commerce.catalog.listProducts({ limit: 2, ...(cursor ? { cursor } : {}) })
          seen.push(...page.items.map((p) => p.id))
          cursor = page.nextCursor ?? undefined
        } while (cursor)
        assert.equal(seen.length, 7, `each product once, got ${seen.length}`)
        assert.deepEqual(new Set(seen), ids)
      },
    },
    {
      name: 'without an injected clock, timestamps are the current time in UTC',
      async run(t) {
        const { commerce } = await t.engine({ clock: 'real' })
        const before = Date.now()
        const location = await commerce.inventory.createLocation({ name: 'Now', code: 'now' })
        const after = Date.now()
        isoUtc(location.createdAt, 'createdAt')
        const at = Date.parse(location.createdAt)
        assert.ok(at >= before && at <= after, `${location.createdAt} is not between ${new Date(before).toISOString()} and ${new Date(after).toISOString()}`)
        assert.equal(ts((await t.raw.one('select created_at from cw_stock_locations where id = ?', [location.id]))['created_at']), location.createdAt)
      },
    },
  ],
}
