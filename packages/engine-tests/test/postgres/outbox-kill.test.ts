import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import type { Commerce, DeliveryContext, DurableSubscriber } from '@cartwright/core'
import { freshDatabase, gate, openEngine, sleep, startWorker, until, type FreshDatabase, type WorkerProcess } from '../support/index.js'
import type { DispatcherWorkerInput } from '../support/workers/dispatcher-worker.js'

// Multi-process durability of the outbox on PostgreSQL (invariant 6): dispatchers in several
// processes claim with FOR UPDATE SKIP LOCKED and a lease, a SIGKILLed dispatcher's claims are
// re-claimed once its lease runs out, and the subscriber's dedup key absorbs the redeliveries.

const SUBSCRIBER = 'side-effect-recorder'
// 400 events and 4 kills in CI; CARTWRIGHT_OUTBOX_KILL_EVENTS and CARTWRIGHT_OUTBOX_KILLS for
// more (`pnpm test:soak` delivers 1,000 through 10 kills).
const EVENTS = Number(process.env.CARTWRIGHT_OUTBOX_KILL_EVENTS ?? 400)
const KILLS = Number(process.env.CARTWRIGHT_OUTBOX_KILLS ?? 4)
const randomBetween = (min: number, max: number) => min + Math.floor(Math.random() * (max - min))

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

async function database(): Promise<{ url: string; sql: pg.Pool }> {
  const db: FreshDatabase = await freshDatabase()
  const sql = new pg.Pool({ connectionString: db.url, max: 2 })
  sql.on('error', () => undefined)
  cleanups.push(() => db.drop())
  cleanups.push(() => sql.end())
  return { url: db.url, sql }
}

async function engine(url: string, options: Parameters<typeof openEngine>[1]): Promise<Commerce> {
  const commerce = await openEngine({ kind: 'postgres', url, poolMax: 8 }, options)
  cleanups.push(() => commerce.close())
  return commerce
}

/** The publishing engine: writes deliveries for the workers' subscriber, never dispatches itself. */
async function publisher(url: string): Promise<Commerce> {
  const neverHere: DurableSubscriber = {
    id: SUBSCRIBER,
    events: ['cart.created'],
    handle() {
      throw new Error('the publishing process does not dispatch')
    },
  }
  return engine(url, { subscribers: [neverHere], outbox: { enabled: false } })
}

async function createSideEffectTables(sql: pg.Pool): Promise<void> {
  await sql.query(`
    create table side_effects (
      event_id text primary key,
      pid integer not null,
      applied_at timestamptz not null default clock_timestamp()
    );
    create table handled_calls (
      id bigserial primary key,
      event_id text not null,
      pid integer not null,
      attempt integer not null,
      lease_until timestamptz,
      started_at timestamptz not null,
      outcome text
    )`)
}

/** `count` cart.created events through the engine, `concurrency` carts at a time. */
async function publish(commerce: Commerce, count: number, concurrency = 8): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++
        await commerce.carts.create({ currency: 'USD' })
      }
    }),
  )
}

async function one<T = number>(sql: pg.Pool, text: string, values: unknown[] = []): Promise<T> {
  const { rows } = await sql.query(text, values)
  return Object.values(rows[0] as object)[0] as T
}

/** A dispatcher process; `ready` once its engine runs. Killed at the end of the test, whatever happens. */
function startDispatcher(input: DispatcherWorkerInput): WorkerProcess & { ready: Promise<void>; isReady: boolean } {
  const worker = Object.assign(startWorker('dispatcher-worker'), { isReady: false, ready: Promise.resolve() })
  worker.ready = worker.request({ type: 'start', input }).then(() => {
    worker.isReady = true
  })
  worker.ready.catch(() => undefined)
  cleanups.push(() => worker.kill())
  return worker
}

interface Kill {
  /** Ms since the first workers were started. */
  atMs: number
  victim: number
  /** Deliveries not yet delivered at the moment of the kill. */
  pending: number
  /** Deliveries under a live lease (claimed by either worker) at the moment of the kill. */
  claimed: number
  /** Handler calls the victim had begun. */
  victimCalls: number
}

describe('the outbox on PostgreSQL, across processes', () => {
  it(
    `delivers ${EVENTS.toLocaleString('en')} events exactly once in effect while dispatchers are SIGKILLed ${KILLS} times`,
    async () => {
      const LEASE_MS = 1000
      const { url, sql } = await database()
      const commerce = await publisher(url)
      await createSideEffectTables(sql)
      await publish(commerce, EVENTS)
      expect(await one(sql, 'select count(*)::int from cw_outbox_deliveries where status = $1', ['pending'])).toBe(EVENTS)

      const input: DispatcherWorkerInput = {
        url,
        subscriberId: SUBSCRIBER,
        handlerDelayMs: 10,
        outbox: { leaseMs: LEASE_MS, pollIntervalMs: 20, batchSize: 20, maxAttempts: 8 },
      }
      const started = Date.now()
      const deadline = started + 120_000
      const slots = [startDispatcher(input), startDispatcher(input)]
      const kills: Kill[] = []
      // Kills are spread over the run by progress: kill i once this many deliveries are done
      // (random, and never so late that the last kills could miss the work).
      const killAfterDelivered = Array.from({ length: KILLS }, () => randomBetween(20, Math.floor(EVENTS * 0.9))).sort((x, y) => x - y)
      let maxExpiredLeaseMs = 0
      let lastPending = EVENTS

      for (;;) {
        const { rows } = await sql.query<{ pending: number; claimed: number; expired_ms: number }>(`
          select count(*) filter (where status <> 'delivered')::int as pending,
                 count(*) filter (where status = 'pending' and locked_until > now())::int as claimed,
                 coalesce(max(extract(epoch from now() - locked_until) * 1000)
                   filter (where status = 'pending' and locked_until <= now()), 0)::float8 as expired_ms
            from cw_outbox_deliveries`)
        const state = rows[0]!
        lastPending = state.pending
        // Only meaningful while a dispatcher is up: both may be restarting right after two kills.
        if (slots.some((w) => w.isReady)) maxExpiredLeaseMs = Math.max(maxExpiredLeaseMs, state.expired_ms)
        if (state.pending === 0) break
        if (Date.now() > deadline) {
          throw new Error(`outbox not drained in 120 s: ${state.pending} pending after ${kills.length} kills\n${slots.map((w) => w.stderr()).join('\n')}`)
        }
        for (const w of slots) {
          if (w.hasExited && !kills.some((k) => k.victim === w.pid)) throw new Error(`worker ${w.pid} died by itself:\n${w.stderr()}`)
        }

        if (kills.length < KILLS && EVENTS - state.pending >= killAfterDelivered[kills.length]!) {
          // A victim must be inside its delivery loop: ready, and it has begun at least one handler call.
          const ready = slots.filter((w) => w.isReady && !w.hasExited)
          const calls = ready.length
            ? await sql.query<{ pid: number; calls: number }>('select pid, count(*)::int as calls from handled_calls where pid = any($1) group by pid', [
                ready.map((w) => w.pid),
              ])
            : { rows: [] }
          const eligible = calls.rows.filter((r) => r.calls > 0)
          if (eligible.length > 0) {
            const pick = eligible[randomBetween(0, eligible.length)]!
            const slot = slots.findIndex((w) => w.pid === pick.pid)
            const victim = slots[slot]!
            await victim.kill()
            kills.push({ atMs: Date.now() - started, victim: victim.pid, pending: state.pending, claimed: state.claimed, victimCalls: pick.calls })
            slots[slot] = startDispatcher(input)
          }
        }
        await sleep(20)
      }
      const elapsedMs = Date.now() - started
      await Promise.all(slots.map((w) => w.stop()))

      const calls = await sql.query<{ outcome: string | null; n: number }>('select outcome, count(*)::int as n from handled_calls group by outcome')
      const byOutcome = Object.fromEntries(calls.rows.map((r) => [r.outcome ?? 'interrupted', r.n]))
      const handledCalls = calls.rows.reduce((sum, r) => sum + r.n, 0)
      const attempts = await sql.query<{ attempts: number; n: number }>('select attempts, count(*)::int as n from cw_outbox_deliveries group by attempts order by attempts')
      const interrupted = await sql.query<{ pid: number; n: number }>('select pid, count(*)::int as n from handled_calls where outcome is null group by pid')
      const interruptedBy = new Map(interrupted.rows.map((r) => [r.pid, r.n]))
      const summary = {
        elapsedMs,
        kills: kills.map((k) => ({ ...k, victimInterruptedCalls: interruptedBy.get(k.victim) ?? 0 })),
        handledCalls,
        applied: byOutcome.applied ?? 0,
        duplicatesAbsorbed: byOutcome.duplicate ?? 0,
        interruptedCalls: byOutcome.interrupted ?? 0,
        deliveriesByAttempts: Object.fromEntries(attempts.rows.map((r) => [r.attempts, r.n])),
        maxExpiredLeaseMs: Math.round(maxExpiredLeaseMs),
        workersStarted: 2 + kills.length,
      }
      console.log(`[outbox-kill] ${JSON.stringify(summary)}`)

      // Every kill landed while work remained.
      expect(kills).toHaveLength(KILLS)
      expect(kills.every((k) => k.pending > 0)).toBe(true)
      expect(lastPending).toBe(0)
      // Side effects: exactly one per event, and exactly the outbox's events.
      expect(await one(sql, 'select count(*)::int from side_effects')).toBe(EVENTS)
      expect(
        await one(sql, 'select count(*)::int from cw_outbox o full join side_effects s on s.event_id = o.id where o.id is null or s.event_id is null'),
      ).toBe(0)
      expect(summary.applied).toBe(EVENTS)
      expect(handledCalls).toBeGreaterThanOrEqual(EVENTS)
      expect(await one(sql, 'select count(distinct event_id)::int from handled_calls')).toBe(EVENTS)
      // Every delivery delivered, none left claimed or pending, each attempted at least once.
      expect(await one(sql, "select count(*)::int from cw_outbox_deliveries where status = 'delivered'")).toBe(EVENTS)
      expect(await one(sql, 'select count(*)::int from cw_outbox_deliveries where locked_until > now()')).toBe(0)
      expect(await one(sql, 'select min(attempts)::int from cw_outbox_deliveries')).toBeGreaterThanOrEqual(1)
      // The kills cut into claimed work: those claims were counted as attempts and re-claimed.
      expect(await one(sql, 'select count(*)::int from cw_outbox_deliveries where attempts > 1')).toBeGreaterThan(0)
      // A re-claim never overlapped a live lease: each repeated call began after the previous claim's lease ended.
      expect(
        await one(
          sql,
          `select count(*)::int from (
             select started_at, attempt,
                    lag(lease_until) over w as previous_lease, lag(attempt) over w as previous_attempt
               from handled_calls window w as (partition by event_id order by started_at)
           ) c where previous_lease is not null and (started_at < previous_lease or attempt <= previous_attempt)`,
        ),
      ).toBe(0)
      // No claim sat expired for long while a dispatcher was up (it would be re-claimed within a round or two).
      expect(maxExpiredLeaseMs).toBeLessThan(10_000)
    },
    150_000,
  )

  it(
    'lets two dispatcher processes claim disjoint deliveries at the same time',
    async () => {
      const EVENTS = 500
      const { url, sql } = await database()
      const commerce = await publisher(url)
      await createSideEffectTables(sql)
      const input: DispatcherWorkerInput = {
        url,
        subscriberId: SUBSCRIBER,
        handlerDelayMs: 6,
        // A lease far longer than a batch takes: without kills, no claim may ever be taken over.
        outbox: { leaseMs: 30_000, pollIntervalMs: 20, batchSize: 10, maxAttempts: 8 },
      }
      const workers = [startDispatcher(input), startDispatcher(input)]
      await Promise.all(workers.map((w) => w.ready))
      const started = Date.now()
      await publish(commerce, EVENTS, 4)
      while ((await one(sql, "select count(*)::int from cw_outbox_deliveries where status <> 'delivered'")) > 0) {
        if (Date.now() - started > 60_000) throw new Error('outbox not drained in 60 s')
        await sleep(25)
      }
      const elapsedMs = Date.now() - started
      await Promise.all(workers.map((w) => w.stop()))

      const perWorker = await sql.query<{ pid: number; calls: number; first: Date; last: Date }>(
        'select pid, count(*)::int as calls, min(started_at) as first, max(started_at) as last from handled_calls group by pid order by pid',
      )
      // Interleaving: how often consecutive calls (by start time) come from different processes.
      const switches = await one(
        sql,
        'select count(*)::int from (select pid, lag(pid) over (order by started_at, id) as previous from handled_calls) c where previous is not null and previous <> pid',
      )
      console.log(`[outbox-disjoint] ${JSON.stringify({ elapsedMs, perWorker: perWorker.rows.map((r) => ({ pid: r.pid, calls: r.calls })), switches })}`)

      expect(await one(sql, 'select count(*)::int from handled_calls')).toBe(EVENTS)
      expect(await one(sql, 'select count(distinct event_id)::int from handled_calls')).toBe(EVENTS)
      expect(await one(sql, "select count(*)::int from handled_calls where outcome <> 'applied' or outcome is null")).toBe(0)
      expect(await one(sql, 'select count(*)::int from side_effects')).toBe(EVENTS)
      expect(await one(sql, "select count(*)::int from cw_outbox_deliveries where status = 'delivered' and attempts = 1")).toBe(EVENTS)
      // Both processes worked, over overlapping spans of time.
      expect(perWorker.rows.map((r) => r.pid).sort()).toEqual(workers.map((w) => w.pid).sort())
      for (const row of perWorker.rows) expect(row.calls).toBeGreaterThan(EVENTS / 10)
      const [a, b] = perWorker.rows as [(typeof perWorker.rows)[0], (typeof perWorker.rows)[0]]
      expect(a.first < b.last && b.first < a.last).toBe(true)
      expect(switches).toBeGreaterThan(10)
    },
    120_000,
  )

  it(
    'dead-letters a delivery after maxAttempts, shows it, and delivers it after retry',
    async () => {
      const { url } = await database()
      const seen: DeliveryContext[] = []
      let failing = true
      const flaky: DurableSubscriber = {
        id: 'warehouse-notice',
        events: ['cart.created'],
        handle(_event, context) {
          seen.push(context)
          if (failing) throw new Error('warehouse API is down')
        },
      }
      let later = 0
      const commerce = await engine(url, {
        now: () => new Date(Date.now() + later),
        subscribers: [flaky],
        outbox: { maxAttempts: 3, backoffBaseMs: 1, pollIntervalMs: 10, leaseMs: 1000 },
      })
      const cart = await commerce.carts.create({ currency: 'USD' })

      const dead = await until(async () => (await commerce.outbox.list({ status: 'dead' }))[0], 'a dead letter')
      // A dead letter is never attempted again by itself: a day on, past any backoff or lease, nothing is due.
      later = 24 * 60 * 60 * 1000
      expect(await commerce.outbox.drain()).toBe(0)
      expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3])
      expect(await commerce.outbox.list()).toEqual([dead])
      expect(dead).toMatchObject({ eventType: 'cart.created', subscriber: 'warehouse-notice', status: 'dead', attempts: 3, lastError: 'warehouse API is down', deliveredAt: null })
      const [event] = (await commerce.db.selectFrom('cw_outbox').select(['id', 'payload']).execute()) as Array<{ id: string; payload: string }>
      expect(dead.eventId).toBe(event!.id)
      expect(JSON.parse(event!.payload)).toEqual({ cartId: cart.id, currency: 'USD' })
      expect(await commerce.outbox.list({ status: 'pending' })).toEqual([])

      failing = false
      await commerce.outbox.retry(dead.id)
      const delivered = await until(async () => (await commerce.outbox.list({ status: 'delivered' }))[0], 'the delivery')
      expect(delivered).toMatchObject({ id: dead.id, status: 'delivered', attempts: 1, lastError: null })
      expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3, 1])
      expect(await commerce.outbox.list({ status: 'dead' })).toEqual([])
    },
    30_000,
  )

  describe('a dispatcher whose lease ran out mid-delivery', () => {
    /** Two dispatchers (`enabled: false`, driven by runOnce) of one subscriber, each handler held at a gate. */
    async function twoDispatchers(leases: { a: number; b: number }) {
      const { url } = await database()
      const calls: Record<'a' | 'b', number[]> = { a: [], b: [] }
      const gates = { a: gate<'pass' | 'fail'>(), b: gate<'pass' | 'fail'>() }
      const entered = { a: gate(), b: gate() }
      const subscriber = (name: 'a' | 'b'): DurableSubscriber => ({
        id: 'warehouse-notice',
        events: ['cart.created'],
        async handle(_event, context) {
          calls[name].push(context.attempt)
          entered[name].open()
          if ((await gates[name].promise) === 'fail') throw new Error(`${name}: warehouse timed out`)
        },
      })
      const a = await engine(url, { subscribers: [subscriber('a')], outbox: { enabled: false, leaseMs: leases.a, backoffBaseMs: 0 } })
      const b = await engine(url, { subscribers: [subscriber('b')], outbox: { enabled: false, leaseMs: leases.b, backoffBaseMs: 0 } })
      await a.carts.create({ currency: 'USD' })
      const row = async () =>
        (await a.db
          .selectFrom('cw_outbox_deliveries')
          .select(['status', 'attempts', 'last_error', 'locked_until'])
          .executeTakeFirstOrThrow()) as { status: string; attempts: number; last_error: string | null; locked_until: string | null }
      return { a, b, calls, gates, entered, row }
    }

    it('cannot undo the delivery another dispatcher re-claimed and made', async () => {
      const { a, b, calls, gates, entered, row } = await twoDispatchers({ a: 100, b: 100 })
      gates.b.open('pass')
      const roundA = a.outbox.runOnce()
      await entered.a.promise
      await sleep(200) // a's lease has run out
      expect(await b.outbox.runOnce()).toBe(1)
      gates.a.open('fail')
      expect(await roundA).toBe(1)

      expect(calls).toEqual({ a: [1], b: [2] })
      expect(await row()).toMatchObject({ status: 'delivered', attempts: 2, last_error: null })
      expect(await a.outbox.runOnce()).toBe(0)
      expect(await b.outbox.runOnce()).toBe(0)
    })

    it("cannot free the live lease of the dispatcher that re-claimed it, so no one delivers it alongside", async () => {
      const { a, b, calls, gates, entered, row } = await twoDispatchers({ a: 100, b: 30_000 })
      const roundA = a.outbox.runOnce()
      await entered.a.promise
      await sleep(200) // a's lease has run out
      const roundB = b.outbox.runOnce()
      await entered.b.promise
      gates.a.open('fail')
      expect(await roundA).toBe(1)

      const during = await row()
      expect(during).toMatchObject({ status: 'pending', attempts: 2, last_error: null })
      expect(new Date(during.locked_until!).getTime()).toBeGreaterThan(Date.now())
      expect(await a.outbox.runOnce()).toBe(0) // b's claim still holds
      gates.b.open('pass')
      expect(await roundB).toBe(1)

      expect(calls).toEqual({ a: [1], b: [2] })
      expect(await row()).toMatchObject({ status: 'delivered', attempts: 2, last_error: null, locked_until: null })
    })

    it('dead-letters a delivery whose dispatchers stop mid-delivery maxAttempts times', async () => {
      const { a, b, calls, gates, entered, row } = await twoDispatchers({ a: 100, b: 100 })
      gates.b.open('pass')
      // a's handler never returns while its gate is shut: to the database a is a dead process.
      const stuck = [a.outbox.runOnce()]
      await entered.a.promise
      for (let attempt = 2; attempt <= 8; attempt++) {
        await sleep(150)
        stuck.push(a.outbox.runOnce())
        await until(() => (calls.a.length === attempt ? true : undefined), `attempt ${attempt}`, 2000)
      }
      await sleep(150)
      expect(await b.outbox.runOnce()).toBe(1) // one claim past maxAttempts (8, the default)

      expect(calls).toEqual({ a: [1, 2, 3, 4, 5, 6, 7, 8], b: [] })
      const [dead] = await b.outbox.list({ status: 'dead' })
      expect(dead).toMatchObject({ status: 'dead', attempts: 8 })
      expect(dead!.lastError).toMatch(/gave up after 8 attempts/)
      expect(await b.outbox.runOnce()).toBe(0)
      gates.a.open('fail')
      await Promise.all(stuck)
      expect(await row()).toMatchObject({ status: 'dead', attempts: 8 })
    })
  })
})
