import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { isCommerceError, type Commerce } from '@cartwright/core'
import { checkout, failure, openEngine, openShop, readyCart, startWorker, tempDir, type Shop, type StorageKind } from '../support/index.js'
import type { CheckoutSummary, CheckoutWorkerInput } from '../support/workers/checkout-worker.js'

const STOCK = 10
const SHOPPERS = 50

interface LevelSample {
  onHand: number
  reserved: number
  held: number
  orders: number
}

/** One consistent reading (a single statement) of the level, the live reservations behind it and the orders so far. */
async function sampleLevel(commerce: Commerce, variantId: string): Promise<LevelSample> {
  const { rows } = await sql<LevelSample>`
    select l.on_hand as "onHand", l.reserved as "reserved",
      coalesce((select sum(r.quantity) from cw_reservations r where r.level_id = l.id and r.status = 'held'), 0) as "held",
      (select count(*) from cw_orders) as "orders"
    from cw_inventory_levels l where l.variant_id = ${variantId}`.execute(commerce.db)
  return rows[0]!
}

/**
 * Races `SHOPPERS` checkouts of different carts for one variant, the gateway taking a few ms
 * as real ones do, while sampling the stock level between transactions: before each checkout
 * reserves (a hook), after each order is placed (a listener) and on a timer.
 */
async function race(shop: Shop, quantity: number) {
  const { commerce, variantId, payments } = shop
  const carts = []
  for (let i = 0; i < SHOPPERS; i++) carts.push(await readyCart(commerce, variantId, quantity))
  payments.setDefault({ delayMs: 2 })
  const samples: LevelSample[] = []
  const pending: Promise<void>[] = []
  let racing = true
  const sample = () => {
    if (!racing) return
    const taken = sampleLevel(commerce, variantId).then((s) => {
      if (racing) samples.push(s)
    })
    pending.push(taken)
    return taken
  }
  const offHook = commerce.hooks.hook('checkout.beforeComplete', async () => {
    await sample()
  })
  const offListener = commerce.events.on('order.placed', sample)
  const timer = setInterval(sample, 1)
  const results = await Promise.allSettled(carts.map((cart) => checkout(commerce, cart.id)))
  racing = false
  clearInterval(timer)
  offHook()
  offListener()
  await Promise.all(pending)
  const placed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
  return { carts, placed, rejected, samples }
}

async function expectRaceOutcome(shop: Shop, quantity: number) {
  const { commerce, variantId, payments } = shop
  const winners = Math.floor(STOCK / quantity)
  const { carts, placed, rejected, samples } = await race(shop, quantity)

  expect(placed).toHaveLength(winners)
  expect(rejected).toHaveLength(SHOPPERS - winners)
  for (const error of rejected) expect(isCommerceError(error, 'OUT_OF_STOCK'), String(error)).toBe(true)
  expect(new Set(placed.map((o) => o.id)).size).toBe(winners)
  expect(new Set(placed.map((o) => o.number)).size).toBe(winners)

  // Losers were never sent to the gateway: one authorization per order, for its total.
  const authorizations = payments.calls.filter((c) => c.operation === 'authorize')
  expect(authorizations).toHaveLength(winners)
  expect(payments.authorizations()).toBe(winners)
  expect(authorizations.map((c) => c.amount).sort()).toEqual(placed.map((o) => o.totals.total).sort())

  const [level] = await commerce.inventory.levels(variantId)
  expect(level).toMatchObject({ onHand: STOCK, reserved: winners * quantity, available: STOCK - winners * quantity })
  expect(await commerce.inventory.available(variantId)).toBe(STOCK - winners * quantity)
  expect(await commerce.db.selectFrom('cw_orders').select('id').execute()).toHaveLength(winners)
  expect(await commerce.db.selectFrom('cw_payments').select('id').execute()).toHaveLength(winners)
  const held = await commerce.db.selectFrom('cw_reservations').select(['quantity', 'order_id']).where('status', '=', 'held').execute()
  expect(held.reduce((sum, r) => sum + r.quantity, 0)).toBe(winners * quantity)
  expect(new Set(held.map((r) => r.order_id))).toEqual(new Set(placed.map((o) => o.id)))

  // Losing carts are open again and can still be changed; winners are completed.
  const winningCarts = new Set(placed.map((o) => o.cartId))
  for (const cart of carts) {
    expect((await commerce.carts.get(cart.id)).status).toBe(winningCarts.has(cart.id) ? 'completed' : 'open')
  }

  // Never negative at any moment we looked, and reserved always equals the live reservations.
  // The samples saw the race in progress: one before every checkout at least.
  expect(samples.length).toBeGreaterThanOrEqual(SHOPPERS)
  expect(samples.some((s) => s.orders < winners)).toBe(true)
  for (const s of samples) {
    expect(s.onHand - s.reserved).toBeGreaterThanOrEqual(0)
    expect(s.reserved).toBe(s.held)
  }
}

let shop: Shop | undefined
let dir: ReturnType<typeof tempDir> | undefined
afterEach(async () => {
  await shop?.close()
  shop = undefined
  dir?.remove()
  dir = undefined
})

describe.each([
  { name: 'in-memory SQLite', storage: 'sqlite-memory' as StorageKind },
  { name: 'a SQLite file', storage: 'sqlite-file' as StorageKind },
])('concurrent checkouts on $name, one process', ({ storage }) => {
  it(`places exactly ${STOCK} orders out of ${SHOPPERS} one-unit checkouts for ${STOCK} units, and refuses the rest with OUT_OF_STOCK`, async () => {
    shop = await openShop({ storage, stock: STOCK })
    await expectRaceOutcome(shop, 1)
  })

  it('counts whole carts: 3-unit checkouts against 10 units place exactly 3 orders', async () => {
    shop = await openShop({ storage, stock: STOCK })
    await expectRaceOutcome(shop, 3)
  })
})

describe('the stock level table', () => {
  it('refuses, by a CHECK constraint, any write that would make available or reserved negative', async () => {
    shop = await openShop({ stock: STOCK })
    const { commerce, variantId } = shop
    const attempts = [
      sql`update cw_inventory_levels set reserved = on_hand + 1 where variant_id = ${variantId}`,
      sql`update cw_inventory_levels set on_hand = reserved - 1 where variant_id = ${variantId}`,
      sql`update cw_inventory_levels set reserved = -1 where variant_id = ${variantId}`,
    ]
    for (const statement of attempts) {
      const error = await failure(statement.execute(commerce.db))
      expect((error as { code?: string })?.code).toBe('SQLITE_CONSTRAINT_CHECK')
    }
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: STOCK, reserved: 0, available: STOCK })
  })
})

describe('concurrent checkouts from 4 processes on one SQLite file', () => {
  it(`places exactly ${STOCK} orders out of ${SHOPPERS} and refuses the rest with OUT_OF_STOCK`, { timeout: 120_000 }, async () => {
    dir = tempDir()
    const filename = join(dir.dir, 'shop.db')
    const seeded = await openShop({ filename, stock: STOCK })
    const variantId = seeded.variantId
    await seeded.close()

    const split = [13, 13, 12, 12]
    expect(split.reduce((a, b) => a + b, 0)).toBe(SHOPPERS)
    const workers = split.map(() => startWorker('checkout-worker'))
    try {
      const place = { kind: 'sqlite-file', filename, busyTimeoutMs: 5000 } as const
      await Promise.all(workers.map((w, i) => w.request({ type: 'prepare', input: { place, variantId, carts: split[i]!, gatewayDelayMs: 2 } satisfies CheckoutWorkerInput })))
      const started = performance.now()
      const summaries = await Promise.all(workers.map((w) => w.request<CheckoutSummary>({ type: 'race' })))
      const elapsed = Math.round(performance.now() - started)
      console.info(`4-process race: ${elapsed} ms from go to last summary; per process ${summaries.map((s) => `${s.elapsedMs} ms`).join(', ')}`)

      const total = (pick: (s: CheckoutSummary) => number) => summaries.reduce((sum, s) => sum + pick(s), 0)
      expect(summaries.flatMap((s) => s.otherErrors)).toEqual([])
      expect(total((s) => s.placed)).toBe(STOCK)
      expect(total((s) => s.outOfStock)).toBe(SHOPPERS - STOCK)
      expect(total((s) => s.authorizations)).toBe(STOCK)

      // Read back what the workers committed, through a fresh engine on the shared file.
      const commerce = await openEngine({ kind: 'sqlite-file', filename }, { outbox: { enabled: false } })
      try {
        expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ onHand: STOCK, reserved: STOCK, available: 0 })
        const orders = await commerce.db.selectFrom('cw_orders').select(['id', 'number']).execute()
        expect(orders).toHaveLength(STOCK)
        expect(new Set(orders.map((o) => o.number)).size).toBe(STOCK)
        expect(new Set(orders.map((o) => o.id))).toEqual(new Set(summaries.flatMap((s) => s.orderIds)))
        expect(await commerce.db.selectFrom('cw_payments').select('id').execute()).toHaveLength(STOCK)
        const sample = await sampleLevel(commerce, variantId)
        expect(sample).toEqual({ onHand: STOCK, reserved: STOCK, held: STOCK, orders: STOCK })
      } finally {
        await commerce.close()
      }
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
  })
})
