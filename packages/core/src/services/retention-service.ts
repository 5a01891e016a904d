import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely'
import { z } from 'zod'
import { backgroundTimer } from '../clock.js'
import type { CoreDatabase, Executor, Tx } from '../db/database.js'
import { read, transact, type Runtime } from '../runtime.js'
import { parseInput } from '../validation.js'

/**
 * How long finished rows are kept. Each window is in days; `false` keeps those rows forever.
 * Omitted fields take the default policy ({@link defaultRetentionPolicy}).
 */
export interface RetentionPolicy {
  /**
   * Outbox events every delivery of which succeeded, with those deliveries: kept this many days
   * after the last delivery (after the event was written, for an event no subscriber wanted).
   * An event with a pending or dead-lettered delivery is never removed. Default 30.
   */
  deliveredEventsDays?: number | false
  /**
   * Open carts with no payment attempt, with their lines: kept this many days after their last
   * change. Default 90.
   */
  abandonedCartsDays?: number | false
  /**
   * Declined payment attempts, and released stock reservations, of carts without an order: kept
   * this many days after the decline (the reservation's creation). Removing an attempt forgets its
   * idempotency key: a retry with that key after the window starts a new attempt. Default 90.
   */
  declinedAttemptsDays?: number | false
  /** Rows removed per write transaction (default 200); on SQLite each batch holds the write lock while it runs. */
  batchSize?: number
}

/** What one `prune()` removed, counted in rows. */
export interface PruneResult {
  outboxEvents: number
  outboxDeliveries: number
  carts: number
  cartLines: number
  paymentAttempts: number
  reservations: number
}

/** Retention settings of `createCommerce` (`retention` option). */
export interface RetentionOptions {
  /** The policy `prune()` and the automatic run apply, over the defaults. */
  policy?: RetentionPolicy
  /**
   * Prune automatically every this many ms (at least 60 000), in this process. Off by default:
   * removing rows is the host's decision (records may have to be kept longer by law).
   * Runs in several processes at once are safe.
   */
  intervalMs?: number
  /** Reports a failed automatic run; defaults to `console.error`. */
  onError?: (error: unknown) => void
}

/** The policy applied where none is given: 30 days for delivered events, 90 for carts and declined attempts. */
export const defaultRetentionPolicy: Readonly<Required<RetentionPolicy>> = Object.freeze({
  deliveredEventsDays: 30,
  abandonedCartsDays: 90,
  declinedAttemptsDays: 90,
  batchSize: 200,
})

const windowSchema = z.union([z.number().int().min(1).max(36_500), z.literal(false)])

const policySchema = z.strictObject({
  deliveredEventsDays: windowSchema.optional(),
  abandonedCartsDays: windowSchema.optional(),
  declinedAttemptsDays: windowSchema.optional(),
  batchSize: z.number().int().min(1).max(5000).optional(),
})

export const retentionOptionsSchema = z.strictObject({
  policy: policySchema.optional(),
  intervalMs: z.number().int().min(60_000).max(7 * 86_400_000).optional(),
  onError: z.custom<(error: unknown) => void>((v) => typeof v === 'function').optional(),
})

type Kind = 'outbox' | 'payments' | 'reservations' | 'carts'
type Cutoff = string
const DAY_MS = 86_400_000

// The conditions that make a row removable. Each is checked twice: when candidates are found
// (a plain read) and again, in the short write transaction that removes them, on the rows as they
// are then (locked on PostgreSQL), so that a row changed in between is kept.

/** Every delivery delivered before the cutoff (or none at all), written before the cutoff. */
function eventDone(eb: ExpressionBuilder<CoreDatabase, 'cw_outbox'>, cutoff: Cutoff) {
  return eb.and([
    eb('cw_outbox.created_at', '<', cutoff),
    eb.not(
      eb.exists(
        eb
          .selectFrom('cw_outbox_deliveries as d')
          .select('d.id')
          .whereRef('d.event_id', '=', 'cw_outbox.id')
          .where((d) => d.or([d('d.status', '<>', 'delivered'), d('d.delivered_at', '>=', cutoff)])),
      ),
    ),
  ])
}

/**
 * Declined before the cutoff, its cart has no order, no operation of it is recorded. A declined
 * attempt never changes again; an operation (capture, void, refund) is kept with its payment.
 */
function attemptDone(eb: ExpressionBuilder<CoreDatabase, 'cw_payments'>, cutoff: Cutoff) {
  return eb.and([
    eb('cw_payments.status', '=', 'declined'),
    eb('cw_payments.order_id', 'is', null),
    eb('cw_payments.updated_at', '<', cutoff),
    eb.not(eb.exists(eb.selectFrom('cw_orders as o').select('o.id').whereRef('o.cart_id', '=', 'cw_payments.cart_id'))),
    eb.not(eb.exists(eb.selectFrom('cw_payment_operations as op').select('op.id').whereRef('op.payment_id', '=', 'cw_payments.id'))),
  ])
}

/** Released (its units back in stock), tied to no order, and its cart has none. */
function reservationDone(eb: ExpressionBuilder<CoreDatabase, 'cw_reservations'>, cutoff: Cutoff) {
  return eb.and([
    eb('cw_reservations.status', '=', 'released'),
    eb('cw_reservations.order_id', 'is', null),
    eb('cw_reservations.created_at', '<', cutoff),
    eb.not(eb.exists(eb.selectFrom('cw_orders as o').select('o.id').whereRef('o.cart_id', '=', 'cw_reservations.cart_id'))),
  ])
}

/**
 * Open and untouched since the cutoff, with no payment attempt (so no checkout ever reached the
 * gateway, or its declined attempts are gone), no order, and no reservation other than released
 * ones tied to no order.
 */
function cartAbandoned(eb: ExpressionBuilder<CoreDatabase, 'cw_carts'>, cutoff: Cutoff) {
  return eb.and([
    eb('cw_carts.status', '=', 'open'),
    eb('cw_carts.order_id', 'is', null),
    eb('cw_carts.updated_at', '<', cutoff),
    eb.not(eb.exists(eb.selectFrom('cw_payments as p').select('p.id').whereRef('p.cart_id', '=', 'cw_carts.id'))),
    eb.not(eb.exists(eb.selectFrom('cw_orders as o').select('o.id').whereRef('o.cart_id', '=', 'cw_carts.id'))),
    eb.not(
      eb.exists(
        eb
          .selectFrom('cw_reservations as r')
          .select('r.id')
          .whereRef('r.cart_id', '=', 'cw_carts.id')
          .where((r) => r.or([r('r.status', '<>', 'released'), r('r.order_id', 'is not', null)])),
      ),
    ),
  ])
}

/** The removable rows of one kind, as a query the caller narrows (a batch after an id, or the ids of a batch). */
function candidates(db: Executor, kind: Kind, cutoff: Cutoff): SelectQueryBuilder<CoreDatabase, any, { id: string }> {
  switch (kind) {
    case 'outbox':
      return db.selectFrom('cw_outbox').select('cw_outbox.id').where((eb) => eventDone(eb, cutoff))
    case 'payments':
      return db.selectFrom('cw_payments').select('cw_payments.id').where((eb) => attemptDone(eb, cutoff))
    case 'reservations':
      return db.selectFrom('cw_reservations').select('cw_reservations.id').where((eb) => reservationDone(eb, cutoff))
    case 'carts':
      return db.selectFrom('cw_carts').select('cw_carts.id').where((eb) => cartAbandoned(eb, cutoff))
  }
}

const TABLE: Record<Kind, 'cw_outbox' | 'cw_payments' | 'cw_reservations' | 'cw_carts'> = {
  outbox: 'cw_outbox',
  payments: 'cw_payments',
  reservations: 'cw_reservations',
  carts: 'cw_carts',
}

/** The fields that are set: `{ batchSize: undefined }` leaves the default in place. */
function defined<T extends object>(policy: T): Partial<T> {
  return Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined)) as Partial<T>
}

function emptyResult(): PruneResult {
  return { outboxEvents: 0, outboxDeliveries: 0, carts: 0, cartLines: 0, paymentAttempts: 0, reservations: 0 }
}

/**
 * Removes rows nothing needs any more, by a retention policy: delivered outbox events, abandoned
 * carts, declined payment attempts and released reservations of carts without an order. It never
 * removes an order or anything an order reads (its lines, payments, their operations,
 * reservations), a live checkout (a `completing` cart, a pending payment), an event with a pending
 * or dead-lettered delivery, or a held reservation.
 *
 * Work is done in batches, each one short write transaction that re-checks every row it removes;
 * on PostgreSQL rows another run holds are skipped (`FOR UPDATE SKIP LOCKED`). Running it in
 * several processes at once, or again, is safe: each row is removed once, and a second run finds
 * nothing new.
 *
 * @example
 * ```ts
 * const removed = await commerce.retention.prune()
 * console.log(`removed ${removed.outboxEvents} delivered events and ${removed.carts} abandoned carts`)
 *
 * // Keep delivered events a week, never remove carts.
 * await commerce.retention.prune({ deliveredEventsDays: 7, abandonedCartsDays: false })
 * ```
 */
export class RetentionService {
  readonly #rt: Runtime
  readonly #options: z.output<typeof retentionOptionsSchema>
  /** Cancels the next automatic run; null while none is scheduled. */
  #cancel: (() => void) | null = null
  #running: Promise<unknown> | null = null
  #started = false
  #closing = false

  /** @internal Made by `createCommerce`. */
  constructor(rt: Runtime, options: z.output<typeof retentionOptionsSchema>) {
    this.#rt = rt
    this.#options = options
  }

  /**
   * Removes what `policy` (over the configured policy, over {@link defaultRetentionPolicy}) lets
   * go, and returns how many rows of each kind it removed. `VALIDATION` for a malformed policy.
   */
  async prune(policy: RetentionPolicy = {}): Promise<PruneResult> {
    const given = parseInput(policySchema, policy, 'retention policy')
    const effective: Required<RetentionPolicy> = { ...defaultRetentionPolicy, ...defined(this.#options.policy ?? {}), ...defined(given) }
    const now = this.#rt.now().getTime()
    const cutoff = (days: number) => new Date(now - days * DAY_MS).toISOString()
    const result = emptyResult()
    const { batchSize } = effective
    if (effective.deliveredEventsDays !== false) await this.#sweep('outbox', cutoff(effective.deliveredEventsDays), batchSize, result)
    // Attempts before carts: a cart whose declined attempts go now can go in the same run.
    if (effective.declinedAttemptsDays !== false) {
      await this.#sweep('payments', cutoff(effective.declinedAttemptsDays), batchSize, result)
      await this.#sweep('reservations', cutoff(effective.declinedAttemptsDays), batchSize, result)
    }
    if (effective.abandonedCartsDays !== false) await this.#sweep('carts', cutoff(effective.abandonedCartsDays), batchSize, result)
    return result
  }

  /** One pass over a table in id order: find a batch with a read, remove it in one write transaction. */
  async #sweep(kind: Kind, cutoff: Cutoff, batchSize: number, result: PruneResult): Promise<void> {
    const rt = this.#rt
    const table = TABLE[kind]
    let after = ''
    for (;;) {
      const found = await read(rt, (db) =>
        candidates(db, kind, cutoff).where(`${table}.id`, '>', after).orderBy(`${table}.id`).limit(batchSize).execute(),
      )
      if (found.length === 0) return
      const ids = found.map((r) => r.id)
      after = ids[ids.length - 1]!
      if (rt.point) await rt.point('retention.batch.found', { kind, ids })
      const removed = await transact(rt, async (tx) => {
        let again = candidates(tx, kind, cutoff).where(`${table}.id`, 'in', ids).orderBy(`${table}.id`)
        if (rt.storage.capabilities.skipLocked) again = again.forUpdate().skipLocked()
        const removable = (await again.execute()).map((r) => r.id)
        return removable.length > 0 ? remove(tx, kind, removable) : {}
      }, { idempotent: true })
      for (const [name, n] of Object.entries(removed) as Array<[keyof PruneResult, number]>) result[name] += n
      if (found.length < batchSize || this.#closing) return
    }
  }

  /** @internal Starts the automatic run when `intervalMs` is configured. */
  start(): void {
    if (this.#options.intervalMs === undefined || this.#started) return
    this.#started = true
    this.#schedule()
  }

  #schedule(): void {
    if (this.#closing) return
    // A background timer of the engine's clock: it does not hold the process open, and a virtual
    // clock fires it only when time passes it for another reason.
    this.#cancel = backgroundTimer(this.#rt.clock, this.#options.intervalMs!, () => {
      this.#cancel = null
      if (this.#closing) return
      const report = this.#options.onError ?? ((error: unknown) => console.error('[cartwright] retention run failed:', error))
      this.#running = this.prune()
        .catch(report)
        .finally(() => {
          this.#running = null
          this.#schedule()
        })
    })
  }

  /** @internal Stops the automatic run; a run in flight, automatic or not, ends after its current batch. */
  async stop(): Promise<void> {
    this.#closing = true
    this.#cancel?.()
    this.#cancel = null
    await this.#running
  }
}

/** Removes rows found removable in this transaction; counted after commit, so a retried transaction is not counted twice. */
async function remove(tx: Tx, kind: Kind, ids: string[]): Promise<Partial<PruneResult>> {
  const count = (r: { numDeletedRows: bigint }) => Number(r.numDeletedRows)
  switch (kind) {
    case 'outbox': {
      // Deliveries first: their foreign key would otherwise cascade uncounted.
      const outboxDeliveries = count(await tx.deleteFrom('cw_outbox_deliveries').where('event_id', 'in', ids).executeTakeFirst())
      return { outboxDeliveries, outboxEvents: count(await tx.deleteFrom('cw_outbox').where('id', 'in', ids).executeTakeFirst()) }
    }
    case 'payments':
      return { paymentAttempts: count(await tx.deleteFrom('cw_payments').where('id', 'in', ids).executeTakeFirst()) }
    case 'reservations':
      return { reservations: count(await tx.deleteFrom('cw_reservations').where('id', 'in', ids).executeTakeFirst()) }
    case 'carts': {
      const cartLines = count(await tx.deleteFrom('cw_cart_lines').where('cart_id', 'in', ids).executeTakeFirst())
      const reservations = count(
        await tx.deleteFrom('cw_reservations').where('cart_id', 'in', ids).where('status', '=', 'released').where('order_id', 'is', null).executeTakeFirst(),
      )
      return { cartLines, reservations, carts: count(await tx.deleteFrom('cw_carts').where('id', 'in', ids).executeTakeFirst()) }
    }
  }
}
