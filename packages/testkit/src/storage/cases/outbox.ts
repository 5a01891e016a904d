import assert from 'node:assert/strict'
import type { Commerce } from '@cartwright/core'
import { deferred } from '../check.js'
import { num, text, textOrNull, ts, tsOrNull } from '../raw.js'
import { probe } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'
import type { StorageFixture } from '../storage-fixture.js'

/** Creates `n` carts: one `cart.created` event, hence one delivery per subscriber, each. */
async function events(commerce: Commerce, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await commerce.carts.create({ currency: 'USD' })
}

async function delivery(t: StorageFixture): Promise<Record<string, unknown>> {
  return t.raw.one('select status, attempts, next_attempt_at, locked_until, locked_by, last_error, delivered_at from cw_outbox_deliveries')
}

export const outboxCases: StorageGroup = {
  group: 'outbox claiming',
  cases: [
    {
      name: 'two dispatchers claim disjoint deliveries: rows leased to one are not claimed by the other',
      async run(t) {
        const a = probe('probe', ['cart.created'])
        const b = probe('probe', ['cart.created'])
        const entered = deferred()
        const release = deferred()
        a.behave(async () => {
          entered.resolve()
          await release.promise
        })
        const A = await t.engine({ subscribers: [a.subscriber], outbox: { batchSize: 3 } })
        const B = await t.engine({ subscribers: [b.subscriber], outbox: { batchSize: 50 } })
        await events(A.commerce, 10)

        // A claims three and is held inside its first delivery; its claim is committed.
        const roundA = A.commerce.outbox.runOnce()
        await entered.promise
        const leased = await t.raw.rows('select id, locked_by, locked_until, attempts from cw_outbox_deliveries where locked_until is not null')
        assert.equal(leased.length, 3)
        assert.equal(new Set(leased.map((r) => text(r['locked_by']))).size, 1)
        for (const r of leased) {
          assert.equal(num(r['attempts']), 1)
          assert.ok(ts(r['locked_until']) > t.clock.iso(), 'the lease ends in the future')
        }

        assert.equal(await B.commerce.outbox.runOnce(), 7)
        release.resolve()
        assert.equal(await roundA, 3)

        const aEvents = a.calls.map((c) => c.eventId)
        const bEvents = b.calls.map((c) => c.eventId)
        assert.equal(new Set(aEvents).size, 3)
        assert.equal(new Set(bEvents).size, 7)
        assert.deepEqual(aEvents.filter((e) => bEvents.includes(e)), [], 'no delivery went to both dispatchers')
        const all = (await t.raw.rows('select id from cw_outbox')).map((r) => text(r['id']))
        assert.deepEqual(new Set([...aEvents, ...bEvents]), new Set(all))

        const rows = await t.raw.rows('select status, attempts, locked_by from cw_outbox_deliveries')
        assert.ok(rows.every((r) => text(r['status']) === 'delivered' && num(r['attempts']) === 1))
        const owners = new Map<string, number>()
        for (const r of rows) owners.set(text(r['locked_by']), (owners.get(text(r['locked_by'])) ?? 0) + 1)
        assert.deepEqual([...owners.values()].sort((x, y) => x - y), [3, 7], 'each dispatcher recorded itself on the rows it claimed')
      },
    },
    {
      name: 'concurrent claim rounds deliver every delivery exactly once',
      async run(t) {
        const probes = Array.from({ length: t.writers }, () => probe('probe', ['cart.created']))
        const engines = []
        for (const p of probes) engines.push(await t.engine({ subscribers: [p.subscriber], outbox: { batchSize: 4 } }))
        for (const p of probes) p.behave(() => new Promise((resolve) => setImmediate(resolve)))
        await events(engines[0]!.commerce, 30)

        const drain = async (commerce: Commerce) => {
          while ((await commerce.outbox.runOnce()) > 0);
        }
        await Promise.all(engines.flatMap((e) => [drain(e.commerce), drain(e.commerce), drain(e.commerce)]))

        const calls = probes.flatMap((p) => p.calls)
        assert.equal(calls.length, 30, `30 deliveries, each handled once; handled ${calls.length}`)
        assert.equal(new Set(calls.map((c) => c.eventId)).size, 30)
        const rows = await t.raw.rows('select status, attempts from cw_outbox_deliveries')
        assert.equal(rows.length, 30)
        assert.ok(
          rows.every((r) => text(r['status']) === 'delivered' && num(r['attempts']) === 1),
          'every delivery delivered on its first attempt',
        )
      },
    },
    {
      name: 'a claimed delivery whose lease expired is claimed again; one still leased is not',
      async run(t) {
        const stuck = probe('probe', ['cart.created'])
        const rescuer = probe('probe', ['cart.created'])
        const entered = deferred()
        const release = deferred()
        stuck.behave(async () => {
          entered.resolve()
          await release.promise
        })
        const A = await t.engine({ subscribers: [stuck.subscriber], outbox: { leaseMs: 1000 } })
        const B = await t.engine({ subscribers: [rescuer.subscriber], outbox: { leaseMs: 1000 } })
        await events(A.commerce, 1)

        // A claims, then hangs as a crashed process would.
        const roundA = A.commerce.outbox.runOnce()
        await entered.promise
        const claimedAt = t.clock.iso()
        let row = await delivery(t)
        assert.equal(tsOrNull(row['locked_until']), new Date(Date.parse(claimedAt) + 1000).toISOString())
        const ownerA = text(row['locked_by'])

        t.clock.advance(999)
        assert.equal(await B.commerce.outbox.runOnce(), 0, 'still leased 1 ms before expiry')
        t.clock.advance(1)
        assert.equal(await B.commerce.outbox.runOnce(), 1, 'claimable the moment the lease ends')
        row = await delivery(t)
        assert.equal(text(row['status']), 'delivered')
        assert.equal(num(row['attempts']), 2)
        assert.notEqual(text(row['locked_by']), ownerA)
        assert.deepEqual(
          rescuer.calls.map((c) => [c.eventId, c.attempt]),
          [[stuck.calls[0]!.eventId, 2]],
        )

        release.resolve()
        await roundA // at least once: the stuck dispatcher finishes its delivery too
        assert.equal(text((await delivery(t))['status']), 'delivered')
      },
    },
    {
      name: 'a failing delivery counts its attempts and backs off exponentially, due exactly at its time',
      async run(t) {
        const p = probe('probe', ['cart.created'])
        p.behave((call) => {
          if (call.attempt < 3) throw new Error(`boom ${call.attempt}`)
        })
        const { commerce } = await t.engine({ subscribers: [p.subscriber], outbox: { backoffBaseMs: 1000, maxAttempts: 5 } })
        await events(commerce, 1)

        assert.equal(await commerce.outbox.runOnce(), 1)
        let row = await delivery(t)
        assert.deepEqual(
          [text(row['status']), num(row['attempts']), textOrNull(row['last_error']), ts(row['next_attempt_at']), tsOrNull(row['locked_until'])],
          ['pending', 1, 'boom 1', new Date(Date.parse(t.clock.iso()) + 1000).toISOString(), null],
        )
        assert.equal(await commerce.outbox.runOnce(), 0, 'not due yet')
        t.clock.advance(999)
        assert.equal(await commerce.outbox.runOnce(), 0, 'not due 1 ms early')
        t.clock.advance(1)
        assert.equal(await commerce.outbox.runOnce(), 1, 'due exactly at next_attempt_at')
        row = await delivery(t)
        assert.deepEqual(
          [text(row['status']), num(row['attempts']), textOrNull(row['last_error']), ts(row['next_attempt_at'])],
          ['pending', 2, 'boom 2', new Date(Date.parse(t.clock.iso()) + 2000).toISOString()],
        )
        t.clock.advance(2000)
        assert.equal(await commerce.outbox.runOnce(), 1)
        row = await delivery(t)
        assert.deepEqual(
          [text(row['status']), num(row['attempts']), textOrNull(row['last_error']), tsOrNull(row['delivered_at']), tsOrNull(row['locked_until'])],
          ['delivered', 3, null, t.clock.iso(), null],
        )
        assert.deepEqual(
          p.calls.map((c) => c.attempt),
          [1, 2, 3],
        )
      },
    },
    {
      name: 'a delivery is dead-lettered after maxAttempts, stays dead, and retry() queues it again',
      async run(t) {
        const p = probe('probe', ['cart.created'])
        let failing = true
        p.behave(() => {
          if (failing) throw new Error('subscriber down')
        })
        const { commerce } = await t.engine({ subscribers: [p.subscriber], outbox: { backoffBaseMs: 0, maxAttempts: 3 } })
        await events(commerce, 1)
        for (let i = 0; i < 3; i++) assert.equal(await commerce.outbox.runOnce(), 1)
        let row = await delivery(t)
        assert.deepEqual([text(row['status']), num(row['attempts']), textOrNull(row['last_error'])], ['dead', 3, 'subscriber down'])
        t.clock.advance(3_600_000)
        assert.equal(await commerce.outbox.runOnce(), 0, 'a dead delivery is not claimed')
        const [dead] = await commerce.outbox.list({ status: 'dead' })
        assert.ok(dead)
        assert.equal(dead.attempts, 3)

        failing = false
        await commerce.outbox.retry(dead.id)
        row = await delivery(t)
        assert.deepEqual([text(row['status']), num(row['attempts']), ts(row['next_attempt_at'])], ['pending', 0, t.clock.iso()])
        assert.equal(await commerce.outbox.runOnce(), 1)
        row = await delivery(t)
        assert.deepEqual([text(row['status']), num(row['attempts'])], ['delivered', 1])
        assert.equal(p.calls.length, 4)
      },
    },
  ],
}
