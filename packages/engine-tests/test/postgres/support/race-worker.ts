/**
 * One app process of the last-units race (test/race.test.ts). Started once with
 * `child_process.fork` and reused for every seed: the parent sends `prepare` (open an engine on
 * that seed's database, which warms its pool, and make this worker's ready carts), then `race`
 * to all workers at once (complete those carts, in an order and with a concurrency chosen by
 * the seed) and gets a {@link RaceSummary} back. The engine is closed after each race so the database can be dropped.
 *
 * Run from packages/storage-postgres:
 *   node --import tsx --conditions=cartwright-source test/postgres/support/race-worker.ts   (with an IPC channel)
 */
import { randomUUID } from 'node:crypto'
import { createCommerce, isCommerceError, testPayments, type Commerce, type TestPayments } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { mapLimit, readyCart, seededRandom, shopProviders, shuffled, sleep } from './shop.js'

/** What the parent tells a worker for one seed. */
export interface RaceInput {
  url: string
  variantId: string
  /** Ready carts this worker makes (one unit each) and then races to complete. */
  carts: number
  seed: number
  /** This worker's index (0-based), mixed into the seed. */
  index: number
  poolMax: number
}

export interface RaceSummary {
  pid: number
  placed: number
  outOfStock: number
  /** `CODE: message` of every other failure. */
  otherErrors: string[]
  /** Authorizations that reached this process's test gateway ledger. */
  authorizations: number
  /** Authorize calls the gateway received at all (charged or replayed). */
  authorizeCalls: number
  placedCartIds: string[]
  outOfStockCartIds: string[]
  /** `available` as this process saw it through `inventory.levels` while racing. */
  samples: { count: number; min: number; negative: number[] }
  startDelayMs: number
  concurrency: number
  elapsedMs: number
}

export type RaceCommand = { type: 'prepare'; input: RaceInput } | { type: 'race' }
export type RaceRequest = RaceCommand & { id: number }
export type RaceReply =
  | { id: number; ok: true; cartIds?: string[]; summary?: RaceSummary }
  | { id: number; ok: false; error: string }

let commerce: Commerce | null = null
let payments: TestPayments | null = null
let input: RaceInput | null = null
let cartIds: string[] = []

async function prepare(next: RaceInput): Promise<string[]> {
  input = next
  payments = testPayments()
  commerce = await createCommerce({
    storage: postgresStorage({ connectionString: next.url, pool: { max: next.poolMax } }),
    payments: [payments],
    ...shopProviders(),
    // The parent ran the migrations; these processes only write.
    migrate: false,
    outbox: { enabled: false },
    onListenerError: () => undefined,
  })
  // Opens every pooled connection now, so the race measures checkouts, not connection set-up.
  const carts = await mapLimit(Array.from({ length: next.carts }), next.poolMax, () => readyCart(commerce!, next.variantId))
  cartIds = carts.map((c) => c.id)
  return cartIds
}

async function race(): Promise<RaceSummary> {
  const engine = commerce!
  const { seed, index, variantId } = input!
  const random = seededRandom(Math.imul(seed, 31) + index * 0x9e3779b1)
  const order = shuffled(cartIds, random)
  const startDelayMs = Math.floor(random() * 25)
  // Mostly everything at once; sometimes fewer lanes than the pool, sometimes more.
  const concurrency = [order.length, order.length, 5 + Math.floor(random() * 10), 10 + Math.floor(random() * 40)][Math.floor(random() * 4)]!
  const jitter = order.map(() => (random() < 0.3 ? Math.floor(random() * 4) : 0))

  const samples = { count: 0, min: Number.POSITIVE_INFINITY, negative: [] as number[] }
  let racing = true
  const sampler = (async () => {
    while (racing) {
      for (const level of await engine.inventory.levels(variantId)) {
        samples.count++
        samples.min = Math.min(samples.min, level.available)
        if (level.available < 0) samples.negative.push(level.available)
      }
      await sleep(5)
    }
  })()

  const summary: RaceSummary = {
    pid: process.pid,
    placed: 0,
    outOfStock: 0,
    otherErrors: [],
    authorizations: 0,
    authorizeCalls: 0,
    placedCartIds: [],
    outOfStockCartIds: [],
    samples,
    startDelayMs,
    concurrency,
    elapsedMs: 0,
  }
  await sleep(startDelayMs)
  const started = performance.now()
  let next = 0
  const lane = async () => {
    while (next < order.length) {
      const i = next++
      const cartId = order[i]!
      if (jitter[i]) await sleep(jitter[i]!)
      try {
        await engine.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
        summary.placed++
        summary.placedCartIds.push(cartId)
      } catch (error) {
        if (isCommerceError(error, 'OUT_OF_STOCK')) {
          summary.outOfStock++
          summary.outOfStockCartIds.push(cartId)
        } else {
          const e = error as { code?: string; message?: string }
          summary.otherErrors.push(`${e?.code ?? 'ERROR'}: ${e?.message ?? String(error)}`)
        }
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  summary.elapsedMs = Math.round(performance.now() - started)
  racing = false
  await sampler
  summary.authorizations = payments!.authorizations()
  summary.authorizeCalls = payments!.calls.filter((c) => c.operation === 'authorize').length
  await engine.close()
  commerce = null
  return summary
}

process.on('message', (message: RaceRequest) => {
  const run = message.type === 'prepare' ? prepare(message.input).then((ids) => ({ cartIds: ids })) : race().then((summary) => ({ summary }))
  run.then(
    (result) => process.send!({ id: message.id, ok: true, ...result } satisfies RaceReply),
    (error: unknown) => process.send!({ id: message.id, ok: false, error: (error as Error)?.stack ?? String(error) } satisfies RaceReply),
  )
})
// The parent closing the channel (or dying) ends this process.
process.on('disconnect', () => process.exit(0))
