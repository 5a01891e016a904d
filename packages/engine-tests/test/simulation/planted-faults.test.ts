import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import type { PaymentProvider, StorageAdapter } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { formatSimulation, interceptStatements, simulate, type SimulationInvariant, type SimulationOptions, type SimulationResult, type TestGateway } from '@cartwright/testkit'
import { STEPS } from './support.js'

/**
 * The simulation against deliberately broken builds (issue 9, done-means 2). Each fault is planted
 * from outside, with no source file edited: a statement rewritten on its way to the database, or a
 * payment provider that misbehaves in front of the test gateway. Each must be caught within a fixed
 * set of SQLite seeds, by the invariant that speaks of the harm it does; a run stops at its first
 * violation, and so does the search.
 */

interface Planted {
  /**
   * The storage of a run (default: the SQLite file as it is), made anew for each run, so that what
   * a fault has seen does not leak from one seed to the next; `open` is called at every restart.
   */
  storage?: () => { open(filename: string): StorageAdapter; close?(): void }
  /** The gateway as the engine sees it, made anew for each run. */
  provider?: () => (gateway: TestGateway) => PaymentProvider
  /** Invariants besides the harness's own. */
  invariants?: ReadonlyArray<SimulationInvariant>
  /** Weights of the harness's operations, where the fault needs one more often than by default. */
  weights?: SimulationOptions['weights']
}

/** A run of `seed` with `fault` planted, on a new SQLite file removed afterwards. */
async function runPlanted(seed: number, fault: Planted): Promise<SimulationResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cartwright-planted-'))
  const storage = fault.storage?.() ?? { open: (filename: string) => sqliteStorage({ filename }) }
  try {
    const options: SimulationOptions = { seed, steps: STEPS, storage: () => storage.open(join(dir, 'shop.db')) }
    if (fault.provider) options.provider = fault.provider()
    if (fault.invariants) options.invariants = fault.invariants
    if (fault.weights) options.weights = fault.weights
    return await simulate(options)
  } finally {
    storage.close?.()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Seeds 1…`last`, stopping at the first run that broke an invariant. */
async function firstCaught(fault: Planted, last: number): Promise<SimulationResult | null> {
  for (let seed = 1; seed <= last; seed++) {
    const result = await runPlanted(seed, fault)
    if (result.violation) return result
  }
  return null
}

// ---------------------------------------------------------------------------------------------
// 1. The stock condition skipped: the reservation's `on_hand - reserved >= ?` dropped.
//
// On SQLite that condition alone never decides anything: a checkout plans its reservation (and
// refuses a short cart) in the same write transaction that makes it, and SQLite runs one write
// transaction at a time, so the plan is never stale when the write comes; and a CHECK constraint
// on the level refuses a negative availability besides. The condition is the guard where the plan
// can be stale (PostgreSQL reads the levels without locks), so the build planted here is that
// situation: the plan reads a stale level (nothing reserved yet), the database's own CHECK is off
// (`ignore_check_constraints`), and the condition is dropped. With the condition kept, the same
// stale plan is refused at the write (`OUT_OF_STOCK`) and every seed holds: it is the condition
// that is tested.

const RESERVE = /^update "cw_inventory_levels" set "reserved" = reserved \+ \?, "updated_at" = \? where "id" = \? and on_hand - reserved \+ case when .* end >= \? returning "on_hand", "reserved"$/
const PLAN = /^select "l"\."id", "l"\."variant_id", "l"\."location_id", "l"\."on_hand", "l"\."reserved", /

function stockCondition({ dropped }: { dropped: boolean }): Planted {
  return {
    storage: () => {
      const opened: Database.Database[] = []
      return {
        open(filename) {
          const database = new Database(filename)
          database.pragma('ignore_check_constraints = 1')
          opened.push(database)
          return interceptStatements(sqliteStorage({ database }), {
            statement({ sql, parameters }) {
              if (PLAN.test(sql)) return { sql: sql.replace('"l"."reserved"', '0 as "reserved"'), parameters }
              // The condition (with a backorder allowance's term) takes the last two parameters: the time and the quantity.
              if (dropped && RESERVE.test(sql)) return { sql: sql.replace(/ and on_hand - reserved \+ case when .* end >= \? returning/, ' returning'), parameters: parameters.slice(0, -2) }
            },
          })
        },
        close() {
          for (const database of opened) database.close()
        },
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Webhook dedup skipped: every delivery of an event is recorded under an id of its own, so the
// (provider, event id) key never finds a repeat. The statement that then fills in the recorded
// row follows it to its new id, so that everything else about the event is as the engine wrote it.

const webhookDedupSkipped: Planted = {
  storage: () => {
    let deliveries = 0
    const renamed = new Map<string, string>()
    return {
      open: (filename) =>
        interceptStatements(sqliteStorage({ filename }), {
          statement({ sql, parameters }) {
            if (/^insert into "cw_payment_events" .* on conflict \("provider", "event_id"\) do nothing returning "event_id"$/.test(sql)) {
              const at = /^insert into "cw_payment_events" \(([^)]*)\)/.exec(sql)![1]!.split(', ').indexOf('"event_id"')
              const original = String(parameters[at])
              const alias = `${original}~${++deliveries}`
              renamed.set(original, alias)
              return { sql, parameters: parameters.map((p, i) => (i === at ? alias : p)) }
            }
            if (/^update "cw_payment_events" set .* where "provider" = \? and "event_id" = \?$/.test(sql)) {
              const alias = renamed.get(String(parameters[parameters.length - 1]))
              if (alias) return { sql, parameters: [...parameters.slice(0, -1), alias] }
            }
          },
        }),
    }
  },
}

// ---------------------------------------------------------------------------------------------
// 3. A refund key derived from a running total: the provider sends each refund under
// `<reference>:refund:<total refunded so far, as it has seen answered>` instead of the engine's
// key. After a lost answer the total does not move, and the next refund (another amount) gets the
// key of the lost one: the gateway replays that first answer.

const refundKeyFromRunningTotal: Planted = {
  provider: () => {
    const refunded = new Map<string, number>()
    return (gateway) => ({
      id: gateway.id,
      capabilities: gateway.capabilities,
      authorize: (input) => gateway.authorize(input),
      capture: (input) => gateway.capture!(input),
      void: (input) => gateway.void!(input),
      retrieve: (input) => gateway.retrieve!(input),
      webhooks: gateway.webhooks,
      async refund(input) {
        const total = refunded.get(input.reference) ?? 0
        const result = await gateway.refund!({ ...input, idempotencyKey: `${input.reference}:refund:${total}` })
        if (result.status === 'succeeded') refunded.set(input.reference, (refunded.get(input.reference) ?? 0) + input.amount)
        return result
      },
    })
  },
}

// ---------------------------------------------------------------------------------------------
// 4. A capture that ignores a lost race with a cancel: the capture's claim reads the order as it
// would have been had the cancel not won (a canceled order reads placed), so it captures money
// the cancel already gave up.

const captureIgnoresCancel: Planted = {
  storage: () => {
    let claiming = false
    return {
      open: (filename) =>
        interceptStatements(sqliteStorage({ filename }), {
          statement({ sql, parameters }) {
            // The claim of a capture (or void) looks its key up first; a cancel reads other columns.
            if (sql === 'select * from "cw_payment_operations" where "idempotency_key" = ?') {
              claiming = true
              return
            }
            if (!claiming) return
            claiming = false
            if (sql !== 'select * from "cw_orders" where "id" = ?') return
            return { sql: `select *, case when "status" = 'canceled' then 'placed' else "status" end as "status" from "cw_orders" where "id" = ?`, parameters }
          },
        }),
    }
  },
}

/**
 * Each fault, the seeds it must be caught within (1…`seeds`), and the invariants that name its
 * harm. A refund sent under another refund's key gets that refund's answer replayed: a success
 * puts money in the books the gateway does not have; a refusal, replayed to the cancel that tries
 * to give the money back, leaves the gateway holding it for a canceled order.
 */
const FAULTS: Array<{ name: string; fault: Planted; seeds: number; invariants: string[] }> = [
  { name: 'the stock condition skipped', fault: stockCondition({ dropped: true }), seeds: 50, invariants: ['available = on hand − reserved ≥ −backorder allowance'] },
  {
    name: 'webhook dedup skipped',
    fault: webhookDedupSkipped,
    seeds: 50,
    invariants: ['the books never record money the gateway does not have'],
  },
  {
    name: 'a refund key derived from a running total',
    fault: refundKeyFromRunningTotal,
    seeds: 50,
    invariants: ['the books never record money the gateway does not have', 'no money held without an order'],
  },
  {
    name: 'a capture that ignores a lost race with a cancel',
    fault: captureIgnoresCancel,
    seeds: 100,
    invariants: ['a canceled order captures nothing after its cancel'],
  },
]

describe('the simulation catches deliberately broken builds', () => {
  it.each(FAULTS)('$name: caught within seeds 1–$seeds by the invariant that names its harm', async ({ fault, seeds, invariants }) => {
    const result = await firstCaught(fault, seeds)
    expect(result, `no seed in 1–${seeds} broke an invariant`).not.toBeNull()
    expect(invariants, formatSimulation(result!)).toContain(result!.violation!.invariant)
  }, 60_000)
})
