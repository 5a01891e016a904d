/**
 * One app process of the multi-process checkout races (test/core/oversell.test.ts on a SQLite
 * file, test/postgres/race.test.ts on PostgreSQL), driven over IPC (test/support/worker.ts):
 *
 * - `prepare` opens an engine on the shared database (which warms its pool) and makes this
 *   worker's ready carts through the public API; answers their ids;
 * - `race`, sent to every worker at once, completes those carts and answers a {@link CheckoutSummary}.
 *   With a seed, the order, the number of lanes, a start delay and a jitter come from it; without,
 *   every cart is completed at once. The engine is closed afterwards, so the database can be dropped.
 */
import { isCommerceError, testPayments, type Commerce, type TestPayments } from '@cartwright/core'
import { key, openEngine, placed as orderOf, readyCart, type Place } from '../shop.js'
import { mapLimit, seededRandom, shuffled, sleep } from '../util.js'
import { serveRequests, type WorkerRequest } from '../worker.js'

export interface CheckoutWorkerInput {
  place: Place
  variantId: string
  /** Ready carts this worker makes and then races to complete. */
  carts: number
  /** Units per cart (default 1). */
  quantity?: number
  /** How long the test gateway takes to answer each authorization (default 0). */
  gatewayDelayMs?: number
  /** Draws the order, lanes, start delay and jitter; without it every cart goes at once, in order. */
  seed?: number
  /** This worker's index (0-based), mixed into the seed. */
  index?: number
  /** Reads the variant's levels through the engine while racing, recording any negative `available`. */
  sample?: boolean
}

export interface CheckoutSummary {
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
  orderIds: string[]
  /** `available` as this process saw it through `inventory.levels` while racing. */
  samples: { count: number; min: number; negative: number[] }
  startDelayMs: number
  concurrency: number
  elapsedMs: number
}

let commerce: Commerce | null = null
let payments: TestPayments | null = null
let input: CheckoutWorkerInput | null = null
let cartIds: string[] = []

async function prepare(next: CheckoutWorkerInput): Promise<string[]> {
  input = next
  payments = testPayments()
  // The parent ran the migrations; these processes only write.
  commerce = await openEngine(next.place, { payments: [payments], migrate: false, outbox: { enabled: false } })
  const lanes = next.place.kind === 'postgres' ? (next.place.poolMax ?? 10) : 1
  // On PostgreSQL this opens every pooled connection now, so the race measures checkouts, not connection set-up.
  const carts = await mapLimit(Array.from({ length: next.carts }), lanes, () => readyCart(commerce!, next.variantId, next.quantity ?? 1))
  cartIds = carts.map((c) => c.id)
  return cartIds
}

async function race(): Promise<CheckoutSummary> {
  const engine = commerce!
  const { seed, index = 0, variantId, gatewayDelayMs = 0 } = input!
  payments!.setDefault({ delayMs: gatewayDelayMs })
  let order = cartIds
  let startDelayMs = 0
  let concurrency = cartIds.length
  let jitter = cartIds.map(() => 0)
  if (seed !== undefined) {
    const random = seededRandom(Math.imul(seed, 31) + index * 0x9e3779b1)
    order = shuffled(cartIds, random)
    startDelayMs = Math.floor(random() * 25)
    // Mostly everything at once; sometimes fewer lanes than the pool, sometimes more.
    concurrency = [order.length, order.length, 5 + Math.floor(random() * 10), 10 + Math.floor(random() * 40)][Math.floor(random() * 4)]!
    jitter = order.map(() => (random() < 0.3 ? Math.floor(random() * 4) : 0))
  }

  const samples = { count: 0, min: Number.POSITIVE_INFINITY, negative: [] as number[] }
  let racing = true
  const sampler = (async () => {
    while (racing && input!.sample) {
      for (const level of await engine.inventory.levels(variantId)) {
        samples.count++
        samples.min = Math.min(samples.min, level.available)
        if (level.available < 0) samples.negative.push(level.available)
      }
      await sleep(5)
    }
  })()

  const summary: CheckoutSummary = {
    pid: process.pid,
    placed: 0,
    outOfStock: 0,
    otherErrors: [],
    authorizations: 0,
    authorizeCalls: 0,
    placedCartIds: [],
    outOfStockCartIds: [],
    orderIds: [],
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
        const placed = orderOf(await engine.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: key() }))
        summary.placed++
        summary.placedCartIds.push(cartId)
        summary.orderIds.push(placed.id)
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

serveRequests(
  async (message: WorkerRequest) => {
    if (message.type === 'prepare') return prepare(message.input as CheckoutWorkerInput)
    if (message.type === 'race') return race()
    throw new Error(`unknown request ${message.type}`)
  },
  async () => {
    await commerce?.close()
  },
)
