import { z } from 'zod'
import { backgroundTimer } from '../clock.js'
import { transact, type Runtime } from '../runtime.js'

/**
 * Automatic recovery (`CommerceOptions.recovery`): on a timer of the engine's clock, under a lease
 * kept in the database so that one process at a time does it across many, the engine finishes
 * what was left half-done: checkouts whose process died or whose gateway answer was lost, waiting
 * customer actions past their deadline, gateway events that can now be matched
 * (`checkout.recover()`), and captures, voids and refunds left pending (`payments.recover()`).
 * Both stay callable by hand; they are safe to run in many processes at once, the lease only
 * spares the gateway the duplicate work.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * // A process that should not run recovery (a read replica's API, a one-off script):
 * const engine = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), recovery: { enabled: false } })
 * ```
 */
export interface RecoveryOptions {
  /** Run recovery on a timer (default true). Off: call `checkout.recover()` and `payments.recover()` yourself. */
  enabled?: boolean
  /** How often a process tries to take the lease and run a round, in ms (default 30 000). */
  intervalMs?: number
  /** At most this many checkouts, and this many operations, per round (default 100). */
  batchSize?: number
}

export const recoveryOptionsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  intervalMs: z.number().int().min(100).max(86_400_000).default(30_000),
  batchSize: z.number().int().min(1).max(1000).default(100),
})

/** The lease's row in `cw_leases`. */
export const RECOVERY_LEASE = 'recovery'

/** What one round of recovery did; null when another process held the lease. */
export interface RecoveryRound {
  checkouts: { placed: number; declined: number; failed: number }
  operations: { succeeded: number; failed: number; unanswered: number }
}

/** @internal What a round runs: `checkout.recover` and `payments.recover`. */
export interface RecoveryWork {
  checkouts(limit: number): Promise<RecoveryRound['checkouts']>
  operations(limit: number): Promise<RecoveryRound['operations']>
}

/**
 * @internal The scheduler: started by `createCommerce`, stopped by `close()`. Its timer is a
 * background sleep of the engine's clock, like the outbox dispatcher's: it does not keep a process
 * alive, and under a virtual clock it fires when time passes it.
 */
export class RecoveryScheduler {
  readonly #rt: Runtime
  readonly #options: z.output<typeof recoveryOptionsSchema>
  readonly #holder: string
  readonly #work: RecoveryWork
  #cancel: (() => void) | null = null
  #running: Promise<unknown> | null = null
  #stopped = true

  constructor(rt: Runtime, options: z.output<typeof recoveryOptionsSchema>, holder: string, work: RecoveryWork) {
    this.#rt = rt
    this.#options = options
    this.#holder = holder
    this.#work = work
  }

  start(): void {
    if (!this.#options.enabled || !this.#stopped) return
    this.#stopped = false
    this.#schedule()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#cancel?.()
    this.#cancel = null
    await this.#running?.catch(() => undefined)
  }

  #schedule(): void {
    if (this.#stopped) return
    const cancel = backgroundTimer(this.#rt.clock, this.#options.intervalMs, () => {
      if (this.#cancel !== cancel) return
      this.#cancel = null
      this.#running = this.runOnce()
        .catch(() => null)
        .finally(() => {
          this.#running = null
          this.#schedule()
        })
    })
    this.#cancel = cancel
  }

  /**
   * One round, if this process can take the lease (else null): stalled and expired checkouts, then
   * pending operations. The lease is given back at the end so the next due process may take it.
   */
  async runOnce(): Promise<RecoveryRound | null> {
    const rt = this.#rt
    if (rt.closed) return null
    const until = rt.now().getTime() + Math.max(2 * this.#options.intervalMs, 4 * rt.settings.checkoutLeaseMs)
    const leased = await this.#take(new Date(until).toISOString())
    if (rt.point) await rt.point('recovery.round', { holder: this.#holder, leased })
    if (!leased) return null
    try {
      const checkouts = await this.#work.checkouts(this.#options.batchSize)
      const operations = await this.#work.operations(this.#options.batchSize)
      return { checkouts, operations }
    } finally {
      if (!rt.closed) await this.#release().catch(() => undefined)
    }
  }

  /** Takes the lease when it is free or ran out (or is ours): one conditional write. */
  async #take(until: string): Promise<boolean> {
    const rt = this.#rt
    return transact(rt, async (tx) => {
      const now = rt.now().toISOString()
      await tx
        .insertInto('cw_leases')
        .values({ name: RECOVERY_LEASE, holder: this.#holder, lease_until: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute()
      const taken = await tx
        .updateTable('cw_leases')
        .set({ holder: this.#holder, lease_until: until })
        .where('name', '=', RECOVERY_LEASE)
        .where((eb) => eb.or([eb('lease_until', '<=', now), eb('holder', '=', this.#holder)]))
        .executeTakeFirst()
      return Number(taken.numUpdatedRows) === 1
    }, { idempotent: true })
  }

  async #release(): Promise<void> {
    const rt = this.#rt
    await transact(rt, async (tx) => {
      await tx.updateTable('cw_leases').set({ lease_until: rt.now().toISOString() }).where('name', '=', RECOVERY_LEASE).where('holder', '=', this.#holder).execute()
    }, { idempotent: true })
  }
}
