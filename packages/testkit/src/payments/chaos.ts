import type { Clock, PaymentProvider } from '@cartwright/core'

/**
 * The provider calls a {@link withChaos} wrapper can disturb.
 *
 * @example
 * ```ts
 * const operation: ChaosOperation = 'capture'
 * withChaos(testGateway()).chaos.next(operation, 'lose-response')
 * ```
 */
export type ChaosOperation = 'authorize' | 'capture' | 'void' | 'refund' | 'retrieve'

/**
 * What goes wrong with one call to the wrapped provider:
 * - `'throw-before'`: the call never reaches the gateway; the caller sees an error;
 * - `'lose-response'`: the gateway acts, then the answer is lost; the caller sees an error;
 * - `{ delayMs, then }`: the call reaches the gateway only after `delayMs` on the script's clock
 *   (past the engine's timeout when long enough), then behaves as `then` (default: normally).
 *
 * @example
 * ```ts
 * const hang: ChaosFault = { delayMs: 180_000, then: 'lose-response' } // late, then the answer is lost
 * ```
 */
export type ChaosFault = 'throw-before' | 'lose-response' | { delayMs: number; then?: ChaosFault }

/**
 * The faults a {@link withChaos} wrapper injects: a queue per operation, consumed one per call
 * (a call with an empty queue passes straight through), and the clock delays sleep on.
 *
 * @example
 * ```ts
 * const clock = virtualClock({ autoAdvance: false }) // the engine's clock too
 * const script: ChaosScript = { clock, authorize: [{ delayMs: 180_000 }], capture: ['lose-response'] }
 * ```
 */
export interface ChaosScript extends Partial<Record<ChaosOperation, ChaosFault[]>> {
  /** What `{ delayMs }` sleeps on (default real time): give it the engine's virtual clock. */
  clock?: Pick<Clock, 'sleep'>
}

/**
 * A call the wrapper saw, and what it did to it.
 *
 * @example
 * ```ts
 * const provider = withChaos(testGateway())
 * const lost: ChaosCall[] = provider.chaos.calls.filter((c) => c.fault === 'lose-response')
 * ```
 */
export interface ChaosCall {
  operation: ChaosOperation
  /** The call's idempotency key (none for `retrieve`). */
  idempotencyKey: string | null
  /** Recorded when the call arrives: `delayed` for a call that sleeps first (whatever it does next). */
  fault: 'none' | 'throw-before' | 'lose-response' | 'delayed'
}

/**
 * A provider wrapped by {@link withChaos}: the same provider, plus its script and what it did.
 *
 * @example
 * ```ts
 * const provider: ChaosProvider<TestGateway> = withChaos(testGateway())
 * const answers = await provider.chaos.duplicate(async () => 'delivered', { atOnce: 5, later: 3 })
 * ```
 */
export type ChaosProvider<P extends PaymentProvider = PaymentProvider> = P & {
  readonly chaos: {
    /** Queues faults for the next calls of `operation`. */
    next(operation: ChaosOperation, ...faults: ChaosFault[]): void
    /** Every call that went through the wrapper, oldest first. */
    readonly calls: readonly ChaosCall[]
    /**
     * Delivers one webhook several times, as gateways do: `atOnce` deliveries at the same time,
     * then `later` more one after another. Resolves to every answer, in that order.
     */
    duplicate<T>(deliver: () => Promise<T>, times?: { atOnce?: number; later?: number }): Promise<T[]>
  }
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Wraps any {@link PaymentProvider} so that its calls can hang past a timeout, throw before they
 * reach the gateway, or lose their answer after the gateway acted, and so that its webhooks can be
 * delivered many times over. The wrapper keeps the provider's id, capabilities, webhooks and
 * `chargeStep`; what the gateway itself remembers (its idempotency keys, its ledger) is untouched,
 * so a retry after a lost answer shows whether the provider really is idempotent.
 *
 * @example
 * ```ts
 * import { testGateway, withChaos, virtualClock } from '@cartwright/testkit'
 *
 * const clock = virtualClock({ autoAdvance: false })
 * const provider = withChaos(testGateway({ clock }), { clock, authorize: ['lose-response'] })
 * // createCommerce({ ..., clock, payments: [provider] }): the first authorization charges, its answer is lost.
 * provider.chaos.next('capture', { delayMs: 120_000 }) // the next capture hangs for two minutes
 * ```
 */
export function withChaos<P extends PaymentProvider>(provider: P, script: ChaosScript = {}): ChaosProvider<P> {
  const sleep = script.clock ? (ms: number) => script.clock!.sleep(ms) : realSleep
  const queues: Record<ChaosOperation, ChaosFault[]> = {
    authorize: [...(script.authorize ?? [])],
    capture: [...(script.capture ?? [])],
    void: [...(script.void ?? [])],
    refund: [...(script.refund ?? [])],
    retrieve: [...(script.retrieve ?? [])],
  }
  const calls: ChaosCall[] = []

  async function call<T>(operation: ChaosOperation, idempotencyKey: string | null, inner: () => Promise<T>): Promise<T> {
    let fault: ChaosFault | undefined = queues[operation].shift()
    // Recorded when the call arrives, so a test can see a delayed call in flight.
    calls.push({ operation, idempotencyKey, fault: typeof fault === 'object' ? 'delayed' : (fault ?? 'none') })
    while (typeof fault === 'object') {
      await sleep(fault.delayMs)
      fault = fault.then
    }
    if (fault === 'throw-before') throw new Error(`chaos: ${operation} failed before reaching the gateway`)
    const answer = await inner()
    if (fault === 'lose-response') throw new Error(`chaos: the ${operation} answer was lost after the gateway acted`)
    return answer
  }

  const wrapped = Object.create(null) as Record<string, unknown>
  for (const name of Object.keys(provider)) wrapped[name] = (provider as Record<string, unknown>)[name]
  wrapped.id = provider.id
  wrapped.capabilities = provider.capabilities
  wrapped.authorize = (input: Parameters<P['authorize']>[0]) => call('authorize', input.idempotencyKey, () => provider.authorize(input))
  for (const operation of ['capture', 'void', 'refund'] as const) {
    const method = provider[operation]
    if (method) wrapped[operation] = (input: { idempotencyKey: string }) => call(operation, input.idempotencyKey, () => method.call(provider, input as never))
  }
  if (provider.retrieve) {
    const retrieve = provider.retrieve
    wrapped.retrieve = (input: { paymentId: string; reference: string }) => call('retrieve', null, () => retrieve.call(provider, input))
  }
  wrapped.chaos = {
    next(operation: ChaosOperation, ...faults: ChaosFault[]) {
      if (!(operation in queues)) throw new Error(`chaos: no operation ${String(operation)}`)
      queues[operation].push(...faults)
    },
    get calls() {
      return calls
    },
    async duplicate<T>(deliver: () => Promise<T>, times: { atOnce?: number; later?: number } = {}): Promise<T[]> {
      const answers = await Promise.all(Array.from({ length: times.atOnce ?? 5 }, () => deliver()))
      for (let i = 0; i < (times.later ?? 3); i++) answers.push(await deliver())
      return answers
    },
  }
  return wrapped as unknown as ChaosProvider<P>
}
