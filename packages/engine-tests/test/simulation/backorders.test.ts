import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimulationContext, SimulationInvariant, SimulationOperation, SimulationOptions } from '@cartwright/testkit'
import { chunks, expectHeld, onSqlite, postgresRunner } from './support.js'

/**
 * Selling beyond stock in the seeded fault simulation (issue 10): staff switch variants between
 * deny, backorder and preorder, shoppers buy variants that are out of stock, among the harness's
 * own operations, faults, crashes and restarts. The invariants say what backorders must keep.
 * 25 seeds on SQLite and 5 on PostgreSQL in CI; `SIMULATION_BACKORDER_SEEDS` and
 * `SIMULATION_BACKORDER_PG_SEEDS` for more (`pnpm test:soak` runs 100 and 20).
 */

const SEEDS = Number(process.env.SIMULATION_BACKORDER_SEEDS ?? 25)
const PG_SEEDS = Number(process.env.SIMULATION_BACKORDER_PG_SEEDS ?? 5)
const ADDRESS = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

/** A policy drawn from the run's random source: deny, a small backorder, or a preorder a few minutes to a day away. */
async function setPolicy(ctx: SimulationContext, variantId: string): Promise<string> {
  const { commerce, random, clock } = ctx
  const kind = random.pick(['deny', 'backorder', 'backorder', 'preorder'] as const)
  const limit = random.int(1, 4)
  const input =
    kind === 'deny'
      ? ({ policy: 'deny' } as const)
      : kind === 'backorder'
        ? ({ policy: 'backorder', backorderLimit: limit } as const)
        : ({
            policy: 'preorder',
            availableAt: new Date(clock.now().getTime() + random.pick([60_000, 20 * 60_000, 86_400_000])).toISOString(),
            backorderLimit: random.chance(0.5) ? limit : null,
          } as const)
  ctx.note(`variant=${variantId} ${JSON.stringify(input)}`)
  await commerce.inventory.setPolicy(variantId, input)
  return `variant=${variantId} ${JSON.stringify(input)}`
}

const operations: SimulationOperation[] = [
  {
    name: 'stock.policy',
    weight: 2,
    async run(ctx) {
      return setPolicy(ctx, ctx.random.pick([...ctx.catalog.variantIds].sort()))
    },
  },
  {
    name: 'buy.beyond',
    weight: 4,
    async run(ctx) {
      const { commerce, random, gateway, catalog } = ctx
      // A variant that sells beyond stock, when there is one.
      const rows = await commerce.db.selectFrom('cw_variants').select('id').where('inventory_policy', '!=', 'deny').execute()
      const ids = rows.map((r) => r.id).sort()
      if (ids.length === 0) return null
      const variantId = random.pick(ids)
      const quantity = random.int(1, 3)
      ctx.note(`variant=${variantId}×${quantity}`)
      const cart = await commerce.carts.create({ currency: catalog.currency })
      await commerce.carts.addItem(cart.id, { variantId, quantity })
      await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: ADDRESS })
      await commerce.carts.setShippingOption(cart.id, catalog.shippingOptionId)
      gateway.script('authorize', random.pick(['ok', 'ok', 'ok', 'refuse'] as const))
      const key = ctx.key(`checkout:${cart.id}`)!
      const result = await commerce.checkout.complete(cart.id, { payment: { provider: gateway.id }, idempotencyKey: key })
      if (result.status === 'requires_action') return `variant=${variantId}×${quantity} cart=${cart.id}: requires_action`
      const line = result.lines.find((l) => l.variantId === variantId)
      return `variant=${variantId}×${quantity} cart=${cart.id}: order=${result.id} beyondStock=${line?.beyondStock?.quantity ?? 0} ${line?.beyondStock?.policy ?? 'in stock'}`
    },
  },
]

const invariants: SimulationInvariant[] = [
  {
    name: 'available ≥ −allowance at every level, and a variant beyond stock by no more than its limit',
    async check({ commerce }) {
      const levels = await commerce.db
        .selectFrom('cw_inventory_levels as l')
        .innerJoin('cw_variants as v', 'v.id', 'l.variant_id')
        .select(['l.id', 'l.variant_id', 'l.on_hand', 'l.reserved', 'l.backorder_allowance', 'v.inventory_policy', 'v.backorder_limit'])
        .execute()
      const problems: string[] = []
      const beyond = new Map<string, { sold: number; policy: string; limit: number | null }>()
      for (const l of levels) {
        const available = l.on_hand - l.reserved
        if (available < -(l.backorder_allowance ?? 0)) problems.push(`level ${l.id}: available ${available}, allowance ${l.backorder_allowance}`)
        const seen = beyond.get(l.variant_id) ?? { sold: 0, policy: l.inventory_policy ?? 'deny', limit: l.backorder_limit ?? null }
        seen.sold += Math.max(0, -available)
        beyond.set(l.variant_id, seen)
      }
      for (const [variantId, v] of beyond) {
        const limit = v.policy === 'deny' ? 0 : v.policy === 'backorder' ? (v.limit ?? 0) : (v.limit ?? Infinity)
        if (v.sold > limit) problems.push(`variant ${variantId} (${v.policy}, limit ${v.limit}): ${v.sold} units beyond stock`)
      }
      return problems
    },
  },
  {
    name: 'a deny variant never goes below zero',
    async check({ commerce }) {
      const levels = await commerce.db
        .selectFrom('cw_inventory_levels as l')
        .innerJoin('cw_variants as v', 'v.id', 'l.variant_id')
        .select(['l.id', 'l.variant_id', 'l.on_hand', 'l.reserved'])
        .where('v.inventory_policy', '=', 'deny')
        .execute()
      return levels.filter((l) => l.on_hand - l.reserved < 0).map((l) => `level ${l.id} of deny variant ${l.variant_id}: available ${l.on_hand - l.reserved}`)
    },
  },
  {
    name: "an order line's backordered quantity ≤ what was beyond stock",
    async check({ commerce }) {
      // What each reservation found beyond stock when it was written, per order and variant.
      const reservations = await commerce.db.selectFrom('cw_reservations').select(['order_id', 'variant_id', 'quantity', 'beyond_stock']).where('order_id', 'is not', null).execute()
      const problems: string[] = []
      const found = new Map<string, number>()
      for (const r of reservations) {
        if ((r.beyond_stock ?? 0) > r.quantity || (r.beyond_stock ?? 0) < 0) problems.push(`reservation of order ${r.order_id}: ${r.beyond_stock} of ${r.quantity} beyond stock`)
        const k = `${r.order_id}/${r.variant_id}`
        found.set(k, (found.get(k) ?? 0) + (r.beyond_stock ?? 0))
      }
      const lines = await commerce.db.selectFrom('cw_order_lines').select(['order_id', 'variant_id', 'quantity', 'beyond_stock', 'stock_policy']).execute()
      for (const l of lines) {
        const sold = l.beyond_stock ?? 0
        const k = `${l.order_id}/${l.variant_id}`
        if (sold > l.quantity) problems.push(`order ${l.order_id} line of ${l.variant_id}: ${sold} beyond stock of ${l.quantity}`)
        if (sold !== (found.get(k) ?? 0)) problems.push(`order ${l.order_id} line of ${l.variant_id}: ${sold} beyond stock, its reservations found ${found.get(k) ?? 0}`)
        if ((sold > 0) !== (l.stock_policy !== null && l.stock_policy !== undefined)) problems.push(`order ${l.order_id} line of ${l.variant_id}: ${sold} beyond stock under policy ${l.stock_policy}`)
      }
      return problems
    },
  },
]

/** One variant starts on backorder, so that buying beyond stock happens from the first steps. */
const options: Omit<SimulationOptions, 'seed' | 'storage'> = {
  operations,
  invariants,
  async setup(ctx) {
    await ctx.commerce.inventory.setPolicy([...ctx.catalog.variantIds].sort()[0]!, { policy: 'backorder', backorderLimit: 3 })
  },
}

/** Orders the runs placed with units beyond stock, read from their traces: the runs are not vacuous. */
function counting() {
  const sold = { backordered: 0, preordered: 0 }
  const onTrace = (line: string) => {
    const m = / buy\.beyond .*: order=\S+ beyondStock=([1-9])/.exec(line)
    if (m) sold.backordered++
    if (m && / preorder\b/.test(line)) sold.preordered++
  }
  return { sold, onTrace }
}

describe('backorders and preorders in the simulation on SQLite', () => {
  it.each(chunks(1, SEEDS, 25))('seeds $first–$last: every invariant holds', async ({ first, last }) => {
    const { sold, onTrace } = counting()
    for (let seed = first; seed <= last; seed++) expectHeld(await onSqlite(seed, { ...options, onTrace }))
    console.info(`seeds ${first}–${last}: ${sold.backordered} orders placed with units beyond stock, ${sold.preordered} of them preorders`)
    expect(sold.backordered).toBeGreaterThan(0)
  }, 600_000)
})

describe.skipIf(process.env.CARTWRIGHT_SKIP_POSTGRES === '1')('backorders and preorders in the simulation on PostgreSQL', () => {
  let runner: Awaited<ReturnType<typeof postgresRunner>>
  beforeAll(async () => {
    runner = await postgresRunner()
  })
  afterAll(async () => {
    await runner?.close()
  })

  it.each(chunks(1, PG_SEEDS, 10))('seeds $first–$last: every invariant holds', async ({ first, last }) => {
    const { sold, onTrace } = counting()
    for (let seed = first; seed <= last; seed++) expectHeld(await runner.run(seed, { ...options, onTrace }))
    console.info(`seeds ${first}–${last}: ${sold.backordered} orders placed with units beyond stock, ${sold.preordered} of them preorders`)
    expect(sold.backordered).toBeGreaterThan(0)
  }, 600_000)
})
