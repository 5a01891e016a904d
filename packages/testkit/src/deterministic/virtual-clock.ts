import type { Clock, SleepOptions } from '@cartwright/core'
import { seededRandom } from './random.js'

/** Options of {@link virtualClock}. */
export interface VirtualClockOptions {
  /** The instant the clock starts at (default `2030-01-01T00:00:00.000Z`). */
  start?: Date | string
  /** Seed of `random()` (default 1): the same seed draws the same jitter. */
  seed?: string | number
  /**
   * Move time forward by itself (default true): when the process has nothing else to do and a
   * sleep is waiting, time jumps to the earliest timer. With `false` time moves only by `advance()`.
   */
  autoAdvance?: boolean
}

/** A {@link Clock} whose time moves only when the run waits, or when the test says so. */
export interface VirtualClock extends Clock {
  /**
   * Moves time forward by `ms`, firing every timer due on the way in deadline order, each one's
   * work run before the next fires. Resolves when time has reached its target.
   */
  advance(ms: number): Promise<void>
  /** How many sleeps are waiting (background timers included). */
  readonly pending: number
}

const DEFAULT_START = '2030-01-01T00:00:00.000Z'

interface Timer {
  at: number
  seq: number
  background: boolean
  fire(): void
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * A virtual clock for `createCommerce({ clock })`: `now()` stands still until time is moved,
 * `sleep(ms)` waits for no real time, and `random()` is seeded. With seeded ids
 * (`seededIds`) a scripted run on SQLite writes the same rows every time, and a checkout that
 * waits out another's 30 s lease finishes in milliseconds.
 *
 * How time moves: a sleep records a timer at `now + ms`. Whenever a `setImmediate` turn finds the
 * process otherwise idle (no timer was added, fired or cancelled since the previous turn) and a
 * sleep is waiting, time jumps to the earliest timer and fires it, one timer per turn, in deadline
 * order. Idle means nothing is left to run in this process: that holds for engines on SQLite,
 * whose driver is synchronous, but not for work waiting on the network (PostgreSQL, a remote
 * gateway) or on a real timer, during which time would jump ahead; give such runs
 * `autoAdvance: false` and move time with `advance(ms)`, and give the test gateway the same clock
 * (`testPayments({ clock })`).
 *
 * Background sleeps (`{ background: true }`: the outbox dispatcher's poll, the automatic retention
 * run) fire when time passes them, but never make time move by themselves: an idle engine does
 * not spin through virtual polls. For a run that must replay exactly, turn the dispatcher off
 * (`outbox: { enabled: false }`) and call `commerce.outbox.drain()` at fixed points of the script,
 * so deliveries do not depend on where a poll lands.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const clock = virtualClock({ start: '2030-01-01T00:00:00Z' })
 * const storage = sqliteStorage({ filename: 'run.db' })
 * const engine = await createCommerce({ storage, ids: seededIds(1), clock, outbox: { enabled: false } })
 * await clock.sleep(60_000) // returns at once; clock.now() is a minute later
 * await clock.advance(24 * 3600_000) // a day later, every timer due meanwhile fired in order
 * ```
 */
export function virtualClock(options: VirtualClockOptions = {}): VirtualClock {
  const start = options.start === undefined ? Date.parse(DEFAULT_START) : new Date(options.start).getTime()
  if (Number.isNaN(start)) throw new TypeError(`[cartwright:testkit] virtualClock: start is not an instant: ${String(options.start)}`)
  const autoAdvance = options.autoAdvance ?? true
  const random = seededRandom(options.seed ?? 1)
  let ms = start
  let seq = 0
  // Bumped whenever a timer is added, fired or cancelled: a turn that sees it unchanged is idle.
  let version = 0
  let seen = -1
  let scheduled = false
  let advancing = false
  const timers: Timer[] = [] // by (at, seq)

  const insert = (timer: Timer) => {
    let lo = 0
    let hi = timers.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const t = timers[mid]!
      if (t.at < timer.at || (t.at === timer.at && t.seq < timer.seq)) lo = mid + 1
      else hi = mid
    }
    timers.splice(lo, 0, timer)
  }
  const remove = (timer: Timer): boolean => {
    const i = timers.indexOf(timer)
    if (i < 0) return false
    timers.splice(i, 1)
    version++
    return true
  }
  const fireNext = () => {
    const timer = timers.shift()!
    version++
    if (timer.at > ms) ms = timer.at
    timer.fire()
  }

  const pump = () => {
    if (scheduled || !autoAdvance) return
    scheduled = true
    setImmediate(tick)
  }
  function tick() {
    scheduled = false
    if (advancing || timers.length === 0) return
    const next = timers[0]!
    if (next.at <= ms) {
      fireNext()
      pump()
      return
    }
    // Time moves only for a sleep someone awaits; background timers alone leave the loop stopped.
    if (!timers.some((t) => !t.background)) return
    if (version !== seen) {
      seen = version
      pump()
      return
    }
    fireNext()
    pump()
  }

  return {
    now: () => new Date(ms),
    random,
    sleep(delay: number, sleepOptions: SleepOptions = {}): Promise<void> {
      const signal = sleepOptions.signal
      if (signal?.aborted) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const onAbort = () => {
          if (remove(timer)) resolve()
        }
        const timer: Timer = {
          at: ms + (Number.isFinite(delay) && delay > 0 ? delay : 0),
          seq: seq++,
          background: sleepOptions.background === true,
          fire() {
            signal?.removeEventListener('abort', onAbort)
            resolve()
          },
        }
        insert(timer)
        version++
        signal?.addEventListener('abort', onAbort, { once: true })
        pump()
      })
    },
    async advance(by: number): Promise<void> {
      if (!Number.isFinite(by) || by < 0) throw new RangeError(`[cartwright:testkit] advance: ms must be a finite number ≥ 0, got ${by}`)
      if (advancing) throw new Error('[cartwright:testkit] advance: another advance() of this clock is under way')
      advancing = true
      const target = ms + by
      try {
        for (;;) {
          // Let what the previous timer woke run (it may sleep again, before the target).
          await turn()
          await turn()
          const next = timers[0]
          if (!next || next.at > target) break
          fireNext()
        }
        ms = target
      } finally {
        advancing = false
        pump()
      }
      await turn()
    },
    get pending() {
      return timers.length
    },
  }
}
