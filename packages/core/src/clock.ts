/** Options of {@link Clock.sleep}. */
export interface SleepOptions {
  /**
   * The timer of a background loop (the outbox dispatcher's poll, the automatic retention run):
   * it does not keep the process alive, and a virtual clock does not move time forward for it
   * alone; it fires when time passes it for another reason.
   */
  background?: boolean
  /** Ends the sleep early: when the signal aborts, the promise resolves at once. */
  signal?: AbortSignal
}

/**
 * Where the engine gets time and chance: every timestamp it writes (`now`), every wait, timer,
 * backoff and lease it sleeps out (`sleep`), and every jitter it draws (`random`). The default is
 * {@link systemClock}; tests pass a virtual clock (`virtualClock()` from `@cartwright/testkit`) so
 * that a run replays exactly and a 30 s lease passes in milliseconds.
 *
 * A clock that ignores `sleep`'s options still works: the engine re-checks why it woke.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * // A clock ten minutes ahead of the system's, e.g. to see what expires soon.
 * const system = systemClock()
 * const ahead: Clock = { ...system, now: () => new Date(Date.now() + 10 * 60_000) }
 * const engine = await createCommerce({ storage: sqliteStorage({ filename: ':memory:' }), clock: ahead })
 * ```
 */
export interface Clock {
  /** The current instant; a fresh `Date` each call. */
  now(): Date
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number, options?: SleepOptions): Promise<void>
  /** A number in [0, 1), for jitter. */
  random(): number
}

/**
 * The clock of the process: `Date`, `setTimeout` and `Math.random`. Background sleeps use
 * unreferenced timers, so an engine that was never closed does not hold the process open.
 *
 * @example
 * ```ts
 * const clock = systemClock()
 * await clock.sleep(100 * (0.5 + clock.random())) // 50–150 ms
 * console.log(clock.now().toISOString())
 * ```
 */
export function systemClock(): Clock {
  return SYSTEM
}

const SYSTEM: Clock = Object.freeze({
  now: () => new Date(),
  random: () => Math.random(),
  sleep(ms: number, options?: SleepOptions): Promise<void> {
    const signal = options?.signal
    if (signal?.aborted) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, ms))
      if (options?.background) timer.unref?.()
      signal?.addEventListener('abort', done, { once: true })
    })
  },
})

/**
 * @internal A clock from the options of `createCommerce`: `clock`, else the system clock with
 * the older `now` option as its time.
 */
export function clockFrom(clock: Clock | undefined, now: (() => Date) | undefined): Clock {
  if (clock) return clock
  if (!now) return SYSTEM
  const older: Clock = { now, sleep: SYSTEM.sleep, random: SYSTEM.random }
  SLEEPS_ON_SYSTEM.add(older)
  return older
}

/** The clocks made from the older `now` option: a test's instant, the system's sleeps. */
const SLEEPS_ON_SYSTEM = new WeakSet<Clock>()

/**
 * @internal The time a wait's deadline is measured on, in milliseconds: the time `clock.sleep`
 * sleeps in. That is the clock's own `now`, except for the clock made from the older `now`
 * option: its `now` is only the instant the engine writes (a test may hold it still) while its
 * sleeps are the system's, so a deadline on its `now` would never pass.
 */
export function waitTime(clock: Clock): number {
  return (SLEEPS_ON_SYSTEM.has(clock) ? SYSTEM : clock).now().getTime()
}

/**
 * @internal A background loop's timer on `clock`: runs `fire` after `ms`, unless cancelled first.
 * Returns the cancel function.
 */
export function backgroundTimer(clock: Clock, ms: number, fire: () => void): () => void {
  if (clock.sleep === SYSTEM.sleep) {
    // The system's sleeps are plain timers: one unreferenced timer, with no AbortController, event
    // listener or abort error made for a timer that is nearly always cancelled (a checkout's lease).
    const timer = setTimeout(fire, Math.max(0, ms))
    timer.unref?.()
    return () => clearTimeout(timer)
  }
  const controller = new AbortController()
  void clock.sleep(ms, { background: true, signal: controller.signal }).then(
    () => {
      if (!controller.signal.aborted) fire()
    },
    () => undefined,
  )
  return () => controller.abort(CANCELLED)
}

/** The reason a background timer is cancelled with (a constant: no DOMException built per cancel). */
const CANCELLED = 'cancelled'

/**
 * @internal `call`'s outcome, or `expired()`'s error once `ms` of `clock`'s time pass without one.
 * The timer is a background one, cancelled as soon as `call` settles.
 */
export async function within<T>(clock: Clock, ms: number, call: Promise<T>, expired: () => Error): Promise<T> {
  let cancel!: () => void
  const timeout = new Promise<never>((_, reject) => {
    cancel = backgroundTimer(clock, ms, () => reject(expired()))
  })
  try {
    return await Promise.race([call, timeout])
  } finally {
    cancel()
  }
}
