/** The instant every case starts at: ms not zero, so truncation to seconds shows. */
export const EPOCH = '2030-01-02T03:04:05.678Z'

/**
 * A clock the test moves by hand, injected into engines as `now`: timestamps become exact
 * expectations, and leases and backoff expire without waiting.
 */
export class ManualClock {
  #ms: number

  constructor(start: string = EPOCH) {
    this.#ms = Date.parse(start)
  }

  /** The current instant (a fresh `Date` each call). */
  readonly now = (): Date => new Date(this.#ms)

  /** The current instant as core writes it: ISO-8601 UTC with milliseconds. */
  iso(): string {
    return new Date(this.#ms).toISOString()
  }

  advance(ms: number): string {
    this.#ms += ms
    return this.iso()
  }

  set(instant: string): string {
    const ms = Date.parse(instant)
    if (Number.isNaN(ms)) throw new Error(`not an instant: ${instant}`)
    this.#ms = ms
    return this.iso()
  }
}
