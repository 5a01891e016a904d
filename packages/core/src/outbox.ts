import { sql } from 'kysely'
import { z } from 'zod'
import type { CommerceEventName, StoredEvent } from './events.js'
import { notFound } from './errors.js'
import { iso, isoOrNull } from './db/rows.js'
import { backgroundTimer, waitTime } from './clock.js'
import type { DurableSubscriber } from './ports/plugin.js'
import { engineClosed, read, transact, type Runtime } from './runtime.js'
import { parseArg, parseInput } from './validation.js'

/** Dispatcher settings: how often to poll, how long a claim lasts, how retries back off. */
export interface OutboxOptions {
  /**
   * Run the in-process dispatcher (default true). Turn off in processes that should only write,
   * and in a run that must replay exactly (a seeded run on a virtual clock): deliveries then happen
   * where the script calls `outbox.drain()`, not wherever a poll lands between its steps.
   */
  enabled?: boolean
  /** Poll interval when idle, in ms (default 250). A commit that writes deliveries wakes it at once. */
  pollIntervalMs?: number
  /** How long a claimed delivery is ours before another dispatcher may take it, in ms (default 30 000). */
  leaseMs?: number
  /** Deliveries claimed per round (default 50). */
  batchSize?: number
  /** Attempts before a delivery is dead-lettered (default 8). */
  maxAttempts?: number
  /** First retry delay in ms; doubles each attempt (default 1000). */
  backoffBaseMs?: number
  /** Longest retry delay in ms (default 5 minutes). */
  backoffMaxMs?: number
}

export const outboxOptionsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  pollIntervalMs: z.number().int().min(5).max(60_000).default(250),
  leaseMs: z.number().int().min(100).max(3_600_000).default(30_000),
  batchSize: z.number().int().min(1).max(1000).default(50),
  maxAttempts: z.number().int().min(1).max(100).default(8),
  backoffBaseMs: z.number().int().min(0).max(3_600_000).default(1000),
  backoffMaxMs: z.number().int().min(0).max(86_400_000).default(300_000),
})

const listSchema = z.strictObject({ status: z.enum(['pending', 'delivered', 'dead']).optional(), limit: z.number().int().min(1).max(1000).default(100) })
const drainSchema = z.strictObject({ timeoutMs: z.number().int().min(0).max(3_600_000).default(30_000) })

/**
 * Input of `outbox.list`: deliveries of one status (default all), at most `limit` (1–1000, default 100).
 *
 * @example
 * ```ts
 * const input: ListDeliveriesInput = { status: 'dead', limit: 20 }
 * for (const delivery of await commerce.outbox.list(input)) logger.warn(delivery.subscriber, delivery.lastError)
 * ```
 */
export type ListDeliveriesInput = z.input<typeof listSchema>
/**
 * Input of `outbox.drain`: how long to keep delivering, in ms of the engine's clock (default 30 000,
 * at most an hour).
 *
 * @example
 * ```ts
 * const input: DrainInput = { timeoutMs: 5_000 }
 * await commerce.outbox.drain(input) // e.g. before a process exits
 * ```
 */
export type DrainInput = z.input<typeof drainSchema>
const deliveryIdSchema = z.number().int().min(1)

/** A delivery of one event to one durable subscriber, as shown by the admin API. */
export interface Delivery {
  id: number
  eventId: string
  eventType: string
  subscriber: string
  status: 'pending' | 'delivered' | 'dead'
  attempts: number
  nextAttemptAt: string
  lastError: string | null
  deliveredAt: string | null
}

/**
 * Delivers outbox events to durable subscribers, at least once. Any number of processes
 * may run a dispatcher against one database: a delivery is claimed for a lease; on
 * PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, on SQLite the claim is one write
 * transaction. A failed delivery is retried with exponential backoff and dead-lettered after
 * `maxAttempts`.
 *
 * @example
 * ```ts
 * await commerce.outbox.drain() // deliver everything due now (tests, scripts)
 * const dead = await commerce.outbox.list({ status: 'dead' })
 * for (const delivery of dead) await commerce.outbox.retry(delivery.id)
 * ```
 */
export class Outbox {
  readonly #rt: Runtime
  readonly #options: z.output<typeof outboxOptionsSchema>
  readonly #subscribers: Map<string, DurableSubscriber>
  readonly #owner: string
  /** Cancels the pending poll; null while none is scheduled. */
  #cancel: (() => void) | null = null
  #running: Promise<number> | null = null
  #again = false
  #stopped = true

  /** @internal Made by `createCommerce`; `owner` is this dispatcher's id, as its claims record it. */
  constructor(rt: Runtime, options: z.output<typeof outboxOptionsSchema>, owner: string = rt.ids('dispatcher')) {
    this.#rt = rt
    this.#options = options
    this.#subscribers = new Map(rt.subscribers.map((s) => [s.id, s]))
    this.#owner = owner
  }

  /** @internal Starts polling. */
  start(): void {
    if (!this.#options.enabled || !this.#stopped) return
    this.#stopped = false
    this.#schedule(0)
  }

  /** Stops polling and waits for the round in flight. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#cancel?.()
    this.#cancel = null
    await this.#running?.catch(() => undefined)
  }

  /** @internal Wakes the dispatcher after a commit that wrote deliveries. */
  kick(): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    this.#schedule(0)
  }

  // The poll is a background timer of the engine's clock: on the system clock it does not hold the
  // process open, and a virtual clock does not move time forward for an idle dispatcher alone (so
  // it never spins); its polls fire as the clock passes them for a checkout's wait, or advance().
  #schedule(delay: number): void {
    if (this.#stopped) return
    this.#cancel?.()
    const cancel = backgroundTimer(this.#rt.clock, delay, () => {
      if (this.#cancel !== cancel) return
      this.#cancel = null
      void this.#round().then((handled) => {
        const more = handled > 0 || this.#again
        this.#again = false
        this.#schedule(more ? 0 : this.#options.pollIntervalMs)
      })
    })
    this.#cancel = cancel
  }

  async #round(): Promise<number> {
    if (this.#running) return this.#running
    this.#running = this.runOnce().catch(() => 0)
    try {
      return await this.#running
    } finally {
      this.#running = null
    }
  }

  /**
   * Claims and delivers one batch of due deliveries. Returns how many were attempted.
   * Exposed for tests and for hosts that drive dispatch themselves (`enabled: false`).
   */
  async runOnce(): Promise<number> {
    const rt = this.#rt
    // Said even when there is nothing to deliver, as every other call does after close().
    if (rt.closed) throw engineClosed()
    const now = rt.now()
    const stamp = now.toISOString()
    const lease = new Date(now.getTime() + this.#options.leaseMs).toISOString()
    const ids = [...this.#subscribers.keys()]
    if (ids.length === 0) return 0
    const claimed = await transact(rt, async (tx) => {
      let due = tx
        .selectFrom('cw_outbox_deliveries')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', stamp)
        .where('subscriber', 'in', ids)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', stamp)]))
        .orderBy('id')
        .limit(this.#options.batchSize)
      if (rt.storage.capabilities.skipLocked) due = due.forUpdate().skipLocked()
      return tx
        .updateTable('cw_outbox_deliveries')
        .set({ locked_until: lease, locked_by: this.#owner, attempts: sql`attempts + 1` })
        .where('id', 'in', due)
        .returning(['id', 'event_id', 'subscriber', 'attempts'])
        .execute()
    }, { idempotent: true })
    if (claimed.length === 0) return 0
    const events = await read(rt, (db) =>
      db.selectFrom('cw_outbox').selectAll().where('id', 'in', [...new Set(claimed.map((c) => c.event_id))]).execute(),
    )
    const byId = new Map(events.map((e) => [e.id, e]))
    claimed.sort((a, b) => Number(a.id) - Number(b.id))
    for (const delivery of claimed) {
      const row = byId.get(delivery.event_id)
      const subscriber = this.#subscribers.get(delivery.subscriber)
      if (!row || !subscriber) continue
      if (delivery.attempts > this.#options.maxAttempts) {
        // One claim past maxAttempts: the previous claim ended without an outcome (a failure at
        // maxAttempts is dead-lettered at once), its dispatcher stopped mid-delivery. A delivery
        // that kills its process every time would be claimed forever; dead-letter it instead.
        await this.#settle(delivery, 'failed', {
          status: 'dead',
          attempts: this.#options.maxAttempts,
          last_error: `gave up after ${this.#options.maxAttempts} attempts: the last ended without an outcome (its dispatcher stopped mid-delivery)`,
          locked_until: null,
        })
        continue
      }
      // Asserted: the compiler checks an object against a union of more than 25 events member by member no more.
      const event = {
        id: row.id,
        type: row.type as CommerceEventName,
        payload: JSON.parse(row.payload),
        createdAt: iso(row.created_at),
      } as StoredEvent
      try {
        await subscriber.handle(event, { attempt: delivery.attempts, subscriber: subscriber.id })
        await this.#settle(delivery, 'delivered', { status: 'delivered', delivered_at: rt.now().toISOString(), locked_until: null, last_error: null })
      } catch (error) {
        const message = String((error as Error)?.message ?? error).slice(0, 1000)
        const dead = delivery.attempts >= this.#options.maxAttempts
        const delay = Math.min(this.#options.backoffMaxMs, this.#options.backoffBaseMs * 2 ** (delivery.attempts - 1))
        await this.#settle(delivery, 'failed', {
          status: dead ? 'dead' : 'pending',
          last_error: message,
          locked_until: null,
          next_attempt_at: new Date(rt.now().getTime() + delay).toISOString(),
        })
      }
    }
    return claimed.length
  }

  // Once our lease has run out another dispatcher may have re-claimed the row. A success is
  // recorded whoever holds it now (the subscriber did its work; a re-claimer's delivery is a
  // duplicate its dedup absorbs), but never over a delivered row. A failure is recorded only while
  // the claim is still ours, so that it neither undoes a delivery nor frees another's live lease.
  // A claim is (locked_by, attempts): every claim increments attempts.
  async #settle(claim: { id: number | bigint; attempts: number }, outcome: 'delivered' | 'failed', changes: Record<string, unknown>): Promise<void> {
    await transact(this.#rt, async (tx) => {
      let update = tx.updateTable('cw_outbox_deliveries').set(changes).where('id', '=', Number(claim.id))
      update =
        outcome === 'delivered'
          ? update.where('status', '<>', 'delivered')
          : update.where('status', '=', 'pending').where('locked_by', '=', this.#owner).where('attempts', '=', claim.attempts)
      await update.execute()
    }, { idempotent: true })
  }

  /**
   * Delivers until nothing is due now (retries scheduled later are left), or `timeoutMs` passes.
   * A round this engine's own dispatcher has in flight is waited for: its leased deliveries are
   * done (or failed) when `drain` returns. Returns the number of deliveries this call attempted.
   */
  async drain(options: DrainInput = {}): Promise<number> {
    const { timeoutMs } = parseInput(drainSchema, options, 'drain')
    const deadline = waitTime(this.#rt.clock) + timeoutMs
    let total = 0
    for (;;) {
      // The background round holds leases this call cannot claim: "nothing due" is only true
      // once it has finished.
      await this.#running?.catch(() => undefined)
      const handled = await this.runOnce()
      total += handled
      if (waitTime(this.#rt.clock) > deadline) return total
      if (handled === 0 && !this.#running) return total
    }
  }

  /** Deliveries by status (`pending`, `delivered` or `dead`), oldest first. */
  async list(input: ListDeliveriesInput = {}): Promise<Delivery[]> {
    const data = parseInput(listSchema, input, 'delivery list')
    const rows = await read(this.#rt, (db) => {
      let q = db
        .selectFrom('cw_outbox_deliveries as d')
        .innerJoin('cw_outbox as e', 'e.id', 'd.event_id')
        .select(['d.id', 'd.event_id', 'e.type', 'd.subscriber', 'd.status', 'd.attempts', 'd.next_attempt_at', 'd.last_error', 'd.delivered_at'])
        .orderBy('d.id')
        .limit(data.limit)
      if (data.status) q = q.where('d.status', '=', data.status)
      return q.execute()
    })
    return rows.map((r) => ({
      id: Number(r.id),
      eventId: r.event_id,
      eventType: r.type,
      subscriber: r.subscriber,
      status: r.status as Delivery['status'],
      attempts: r.attempts,
      nextAttemptAt: iso(r.next_attempt_at),
      lastError: r.last_error,
      deliveredAt: isoOrNull(r.delivered_at),
    }))
  }

  /** Puts a dead-lettered delivery back in the queue, due now, with its attempts reset. `NOT_FOUND` when there is no such delivery. */
  async retry(deliveryId: number): Promise<void> {
    const id = parseArg(deliveryIdSchema, deliveryId, 'deliveryId')
    await transact(this.#rt, async (tx) => {
      const result = await tx
        .updateTable('cw_outbox_deliveries')
        .set({ status: 'pending', attempts: 0, next_attempt_at: this.#rt.now().toISOString(), locked_until: null })
        .where('id', '=', id)
        .where('status', '=', 'dead')
        .executeTakeFirst()
      // Retrying a delivery that is not dead (any more) is a no-op; one that never existed is not.
      if (Number(result.numUpdatedRows) === 0 && !(await tx.selectFrom('cw_outbox_deliveries').select('id').where('id', '=', id).executeTakeFirst())) {
        throw notFound('Delivery', String(id))
      }
    }, { idempotent: true })
    this.kick()
  }
}

