import pg from 'pg'
import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isCommerceError, type Commerce, type CoreDatabase, type Order, type TestPayments, type Tx } from '@cartwright/core'
import { type PgPool, type PgPoolClient } from '@cartwright/storage-postgres'
import { checkout, failure, key as newKey, mapLimit, openShop, placed, readyCart, sleep, type Shop } from '../support/index.js'

const APPLICATION_NAME = 'cartwright-engine'
const CHECKOUTS = 100
const AFTERWARDS = 20
const STOCK = 1000
const POOL_MAX = 10
const RETRYABLE_CODES = ['STORAGE', 'PAYMENT_FAILED', 'CONFLICT']
/** In each of the two transactions of a checkout, this many checkouts have their own session terminated there. */
const FORCED = 10
interface Attempt {
  cartId: string
  key: string
  order?: Order
  error?: { code: string; retryable: boolean; message: string }
}

type Stage = 'claim' | 'placement'

let shop: Shop
/** Connections of the test's own (no application name, so never terminated). */
let admin: pg.Pool
let commerce: Commerce
let payments: TestPayments
let variantId: string
let attempts: Attempt[] = []
let later: string[] = []
let kills = 0
const STAGES = ['claim', 'placement'] as const
/** How often each stage's transaction ran, per cart; the carts whose transaction at a stage lost its session. */
const runs: Record<Stage, Map<string, number>> = { claim: new Map(), placement: new Map() }
const chosen: Record<Stage, Set<string>> = { claim: new Set(), placement: new Set() }

/**
 * At a test point inside a checkout's transaction: counts the run, and in the first run of the
 * first {@link FORCED} carts to get there terminates the session the transaction runs on, so
 * that these checkouts are certainly interrupted at that place, whatever the random kills do.
 */
async function atStage(stage: Stage, cartId: string, tx: Tx): Promise<void> {
  const run = (runs[stage].get(cartId) ?? 0) + 1
  runs[stage].set(cartId, run)
  if (run > 1 || chosen[stage].size >= FORCED) return
  chosen[stage].add(cartId)
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)
  // Waits (up to 5 s) until the session is gone, so the engine's next statement meets a dead connection.
  await admin.query('select pg_terminate_backend($1, 5000)', [rows[0]!.pid])
}

beforeAll(async () => {
  shop = await openShop({
    storage: 'postgres',
    stock: STOCK,
    // Only the engine's own sessions carry this name, so only they are terminated.
    postgres: (url) => {
      const engineUrl = new URL(url)
      engineUrl.searchParams.set('application_name', APPLICATION_NAME)
      return { connectionString: engineUrl.toString(), pool: { max: POOL_MAX } }
    },
    // Short, so checkouts interrupted between their steps are resumed quickly.
    checkoutLeaseMs: 1000,
    testPoints: {
      'checkout.claim.planned': ({ cartId, tx }) => atStage('claim', cartId, tx),
      'checkout.place.before': ({ cartId, tx }) => atStage('placement', cartId, tx),
    },
  })
  ;({ commerce, payments, variantId } = shop)
  payments.setDefault({ delayMs: 2 })
  admin = new pg.Pool({ connectionString: shop.url!, max: 3 })
  const carts = await mapLimit(Array.from({ length: CHECKOUTS + AFTERWARDS }), POOL_MAX, () => readyCart(commerce, variantId))
  attempts = carts.slice(0, CHECKOUTS).map((c) => ({ cartId: c.id, key: newKey() }))
  later = carts.slice(CHECKOUTS).map((c) => c.id)
})

afterAll(async () => {
  await admin?.end()
  await shop?.close()
})

/**
 * Terminates the engine's sessions until `stop()`: every few ms one of them at random, and
 * about every 100 ms all of them at once (as a failover would).
 */
function startKilling(): { stop(): Promise<void> } {
  let killing = true
  let round = 0
  const loop = (async () => {
    while (killing) {
      const everyone = ++round % 15 === 0
      const { rows } = await admin.query(
        `select pg_terminate_backend(pid) as killed from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and application_name = $1
          ${everyone ? '' : 'order by random() limit 1'}`,
        [APPLICATION_NAME],
      )
      kills += rows.filter((r) => r.killed).length
      await sleep(3 + Math.floor(Math.random() * 8))
    }
  })()
  return {
    async stop() {
      killing = false
      await loop
    },
  }
}

function describeError(error: unknown): NonNullable<Attempt['error']> {
  if (isCommerceError(error)) return { code: error.code, retryable: error.retryable, message: error.message }
  return { code: 'NOT_A_COMMERCE_ERROR', retryable: false, message: (error as Error)?.stack ?? String(error) }
}

/** One row per broken invariant, named; an empty list means the database is consistent. */
async function brokenInvariants(db: Kysely<CoreDatabase> = commerce.db): Promise<string[]> {
  const { rows } = await sql<{ problem: string }>`
    select 'order without lines: ' || o.id as problem from cw_orders o
      where not exists (select 1 from cw_order_lines l where l.order_id = o.id)
    union all
    select 'order without an authorized payment: ' || o.id from cw_orders o
      where not exists (select 1 from cw_payments p where p.order_id = o.id and p.status in ('authorized', 'captured'))
    union all
    select 'cart with two orders: ' || cart_id from cw_orders group by cart_id having count(*) > 1
    union all
    select 'held reservation with neither an order nor a checkout in progress: ' || r.id from cw_reservations r
      where r.status = 'held'
        and not exists (select 1 from cw_orders o where o.id = r.order_id)
        and not exists (select 1 from cw_payments p where p.cart_id = r.cart_id and p.status = 'pending')
    union all
    select 'reserved ' || l.reserved || ' but held reservations sum to ' || coalesce(sum(r.quantity), 0) || ' at ' || l.id
      from cw_inventory_levels l left join cw_reservations r on r.level_id = l.id and r.status = 'held'
      group by l.id, l.reserved having l.reserved <> coalesce(sum(r.quantity), 0)
    union all
    select 'completed cart without its order: ' || c.id from cw_carts c
      where c.status = 'completed' and not exists (select 1 from cw_orders o where o.cart_id = c.id and o.id = c.order_id)
    union all
    select 'order for a cart not completed: ' || o.cart_id from cw_orders o join cw_carts c on c.id = o.cart_id where c.status <> 'completed'
    union all
    select 'completing cart without a pending payment: ' || c.id from cw_carts c
      where c.status = 'completing' and not exists (select 1 from cw_payments p where p.cart_id = c.id and p.status = 'pending')
    union all
    select 'pending payment of a cart not completing: ' || p.id from cw_payments p join cw_carts c on c.id = p.cart_id
      where p.status = 'pending' and c.status <> 'completing'
    union all
    select 'open cart holding stock: ' || c.id from cw_carts c
      where c.status = 'open' and exists (select 1 from cw_reservations r where r.cart_id = c.id and r.status = 'held')
    union all
    select 'order.placed events ' || count(*) || ' for ' || (select count(*) from cw_orders) || ' orders'
      from cw_outbox where type = 'order.placed'
      having count(*) <> (select count(*) from cw_orders) or count(distinct (payload::jsonb)->'order'->>'id') <> count(*)
  `.execute(db)
  return rows.map((r) => r.problem)
}

describe(`pg_terminate_backend on the engine's connections during ${CHECKOUTS} concurrent checkouts`, () => {
  it('leaves each checkout fully committed or fully rolled back, and callers a retryable typed error', async () => {
    const killer = startKilling()
    const started = performance.now()
    try {
      await Promise.all(
        attempts.map(async (attempt) => {
          try {
            attempt.order = placed(await commerce.checkout.complete(attempt.cartId, { payment: { provider: 'test' }, idempotencyKey: attempt.key }))
          } catch (error) {
            attempt.error = describeError(error)
          }
        }),
      )
    } finally {
      await killer.stop()
    }
    const failed = attempts.filter((a) => a.error)
    const byCode = new Map<string, number>()
    for (const a of failed) byCode.set(a.error!.code, (byCode.get(a.error!.code) ?? 0) + 1)
    const codes = [...byCode].map(([code, n]) => `${code} ${n}`)
    console.log(
      `[terminate] ${kills} sessions terminated in ${Math.round(performance.now() - started)} ms (${FORCED} claims and ${FORCED} placements on purpose); ` +
        `${CHECKOUTS - failed.length} placed, ${failed.length} failed (${codes.join(', ') || 'none'})`,
    )
    const inFlight = await commerce.db.selectFrom('cw_payments').select('id').where('status', '=', 'pending').execute()
    console.log(`[terminate] ${inFlight.length} checkouts left between their steps (pending payment, stock held) to resume`)
    expect(kills).toBeGreaterThan(0)
    // Checkouts were interrupted, not only sessions killed: each forced termination cut a claim or a
    // placement in flight, so that transaction ran again on a new connection or its caller got an error.
    for (const stage of STAGES) {
      expect(chosen[stage].size, `${stage}s cut`).toBe(FORCED)
      const uninterrupted = [...chosen[stage]].filter((cartId) => runs[stage].get(cartId)! < 2 && !attempts.find((a) => a.cartId === cartId)!.error)
      expect(uninterrupted, `${stage}s that went on as if nothing happened`).toEqual([])
    }

    const notRetryable = failed.filter((a) => !a.error!.retryable || !RETRYABLE_CODES.includes(a.error!.code))
    expect(notRetryable.map((a) => `${a.error!.code}: ${a.error!.message}`)).toEqual([])
    expect(await brokenInvariants()).toEqual([])
    // Whatever a caller was told, an order it received is the cart's one order in storage.
    const orders = await commerce.db.selectFrom('cw_orders').select(['id', 'cart_id']).execute()
    const orderByCart = new Map(orders.map((o) => [o.cart_id, o.id]))
    for (const a of attempts.filter((a) => a.order)) expect(orderByCart.get(a.cartId)).toBe(a.order!.id)
  })

  it('resumes every interrupted checkout with its own key: one order and one charge per cart', async () => {
    const failed = attempts.filter((a) => a.error)
    const stillFailing: string[] = []
    await Promise.all(
      failed.map(async (attempt) => {
        for (let tries = 0; tries < 20; tries++) {
          try {
            attempt.order = placed(await commerce.checkout.complete(attempt.cartId, { payment: { provider: 'test' }, idempotencyKey: attempt.key }))
            attempt.error = undefined
            return
          } catch (error) {
            attempt.error = describeError(error)
            if (!attempt.error.retryable) break
            await sleep(50)
          }
        }
        stillFailing.push(`${attempt.cartId} ${attempt.error!.code}: ${attempt.error!.message}`)
      }),
    )
    expect(stillFailing).toEqual([])
    expect(await brokenInvariants()).toEqual([])

    const db = commerce.db
    const pending = await db.selectFrom('cw_payments').select('id').where('status', '=', 'pending').execute()
    expect(pending).toEqual([])
    const orders = await db.selectFrom('cw_orders').select(['id', 'cart_id']).execute()
    expect(orders).toHaveLength(CHECKOUTS)
    expect(new Set(orders.map((o) => o.cart_id))).toEqual(new Set(attempts.map((a) => a.cartId)))
    const orderByCart = new Map(orders.map((o) => [o.cart_id, o.id]))
    for (const a of attempts) expect(a.order?.id).toBe(orderByCart.get(a.cartId))
    // One key per cart, so one payment per cart, and the gateway charged each exactly once.
    const paymentRows = await db.selectFrom('cw_payments').select(['id', 'cart_id', 'status', 'order_id']).execute()
    expect(paymentRows).toHaveLength(CHECKOUTS)
    expect(paymentRows.every((p) => p.status === 'authorized' && p.order_id === orderByCart.get(p.cart_id))).toBe(true)
    expect(payments.authorizations()).toBe(orders.length)
    const charged = payments.calls.filter((c) => c.operation === 'authorize' && c.charged).map((c) => c.idempotencyKey)
    expect(new Set(charged)).toEqual(new Set(paymentRows.map((p) => p.id)))
    const [level] = await commerce.inventory.levels(variantId)
    expect(level).toMatchObject({ onHand: STOCK, reserved: CHECKOUTS, available: STOCK - CHECKOUTS })
  })

  it(`recovers its pool without a restart: ${AFTERWARDS} more checkouts all succeed`, async () => {
    const results = await Promise.allSettled(
      later.map((cartId) => commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: newKey() })),
    )
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([])
    expect(await brokenInvariants()).toEqual([])
    expect(payments.authorizations()).toBe(CHECKOUTS + AFTERWARDS)
    const { rows } = await admin.query<{ n: string }>(
      'select count(*) as n from pg_stat_activity where datname = current_database() and application_name = $1',
      [APPLICATION_NAME],
    )
    expect(Number(rows[0]!.n)).toBeGreaterThan(0)
    expect(Number(rows[0]!.n)).toBeLessThanOrEqual(POOL_MAX)
  })
})

/**
 * A `pg.Pool` for `postgresStorage({ pool })` that can lose the connection at the nth COMMIT
 * from now: either before sending it (the server rolls the transaction back) or after the
 * server committed it (the caller cannot tell which) — the ambiguous case a real connection
 * loss produces at random above, here on purpose.
 */
function faultyPool(real: pg.Pool) {
  const fault = { mode: 'before' as 'before' | 'after', at: 0, seen: 0, fired: false }
  const proxies = new WeakMap<pg.PoolClient, PgPoolClient>()
  const proxy = (client: pg.PoolClient): PgPoolClient => {
    let lost = false
    return {
      async query(config) {
        if (lost) throw new Error('Client has encountered a connection error and is not queryable')
        if (fault.at > 0 && /^commit$/i.test(config.text.trim()) && ++fault.seen === fault.at) {
          fault.at = 0
          fault.fired = true
          lost = true
          if (fault.mode === 'after') await client.query(config)
          throw new Error('Connection terminated unexpectedly')
        }
        return client.query(config)
      },
      // A lost connection is closed, never pooled again: the server then ends its session.
      release: (destroy) => client.release(destroy === true || lost),
      on: (event, listener) => client.on(event, listener),
      getTypeParser: (oid, format) => client.getTypeParser(oid, format),
    }
  }
  const pool: PgPool = {
    async connect() {
      const client = await real.connect()
      let wrapped = proxies.get(client)
      if (!wrapped) proxies.set(client, (wrapped = proxy(client)))
      return wrapped
    },
    end: async () => {},
  }
  return {
    pool,
    /** Loses the connection at the `at`-th COMMIT from now. */
    arm(at: number, mode: 'before' | 'after') {
      Object.assign(fault, { at, mode, seen: 0, fired: false })
    },
    get fired() {
      return fault.fired
    },
  }
}

describe('a connection lost at COMMIT (the outcome unknown to the engine)', () => {
  let shop: Shop
  let real: pg.Pool | undefined
  let engine: Commerce
  let ledger: TestPayments
  let variant: string
  let faults: ReturnType<typeof faultyPool>

  beforeAll(async () => {
    shop = await openShop({
      storage: 'postgres',
      stock: 100,
      postgres: (url) => {
        real = new pg.Pool({ connectionString: url, max: 4 })
        real.on('error', () => undefined)
        real.on('connect', (client) => client.on('error', () => undefined))
        faults = faultyPool(real)
        return { pool: faults.pool }
      },
      checkoutLeaseMs: 1000,
      // No dispatcher: the only COMMITs are the checkout's own.
      outbox: { enabled: false },
    })
    ;({ commerce: engine, payments: ledger, variantId: variant } = shop)
  })

  afterAll(async () => {
    await shop?.close()
    await real?.end()
  })

  it.each([
    [1, 'before', 'claim (step 1)'],
    [1, 'after', 'claim (step 1)'],
    [2, 'before', 'placement (step 3)'],
    [2, 'after', 'placement (step 3)'],
  ] as const)('COMMIT #%i lost %s reaching the server, in the %s: one order, one charge, stock consistent', async (at, mode, _step) => {
    const cart = await readyCart(engine, variant)
    faults.arm(at, mode)
    const order = placed(await engine.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: newKey() }))
    expect(faults.fired).toBe(true)
    expect(order.cartId).toBe(cart.id)

    const db = engine.db
    expect(await db.selectFrom('cw_orders').select('id').where('cart_id', '=', cart.id).execute()).toEqual([{ id: order.id }])
    const paid = await db.selectFrom('cw_payments').select(['id', 'status', 'order_id']).where('cart_id', '=', cart.id).execute()
    expect(paid).toEqual([{ id: paid[0]!.id, status: 'authorized', order_id: order.id }])
    expect(ledger.calls.filter((c) => c.operation === 'authorize' && c.idempotencyKey === paid[0]!.id && c.charged)).toHaveLength(1)
    const held = await db.selectFrom('cw_reservations').select(['quantity', 'order_id']).where('cart_id', '=', cart.id).where('status', '=', 'held').execute()
    expect(held).toEqual([{ quantity: 1, order_id: order.id }])
    expect(await brokenInvariants(db)).toEqual([])
  })

  it.each(['before', 'after'] as const)('COMMIT of a decline lost %s reaching the server: stock released once, the cart reopened, the key keeps its answer', async (mode) => {
    const cart = await readyCart(engine, variant)
    const key = newKey()
    const [before] = await engine.inventory.levels(variant)
    ledger.script('decline')
    faults.arm(2, mode)
    await failure(checkout(engine, cart.id, key), 'PAYMENT_DECLINED')
    expect(faults.fired).toBe(true)
    await failure(checkout(engine, cart.id, key), 'PAYMENT_DECLINED')

    const db = engine.db
    expect(await db.selectFrom('cw_carts').select('status').where('id', '=', cart.id).executeTakeFirst()).toEqual({ status: 'open' })
    expect(await db.selectFrom('cw_payments').select('status').where('cart_id', '=', cart.id).execute()).toEqual([{ status: 'declined' }])
    expect(await db.selectFrom('cw_reservations').select('status').where('cart_id', '=', cart.id).execute()).toEqual([{ status: 'released' }])
    expect((await engine.inventory.levels(variant))[0]).toMatchObject({ onHand: before!.onHand, reserved: before!.reserved })
    expect(await brokenInvariants(db)).toEqual([])
  })

  it.each(['before', 'after'] as const)('a cart change whose COMMIT is lost %s reaching the server is never applied twice', async (mode) => {
    const cart = await engine.carts.create({ currency: 'USD' })
    faults.arm(1, mode)
    const error = await failure(engine.carts.addItem(cart.id, { variantId: variant, quantity: 1 }), 'STORAGE')
    expect(faults.fired).toBe(true)
    expect(error.details.outcomeUnknown).toBe(true)
    expect(error.retryable).toBe(true)
    const lines = await engine.db.selectFrom('cw_cart_lines').select('quantity').where('cart_id', '=', cart.id).execute()
    expect(lines).toEqual(mode === 'after' ? [{ quantity: 1 }] : [])
  })
})
