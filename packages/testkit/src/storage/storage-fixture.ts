import {
  createCommerce,
  fixedRateTax,
  flatRateShipping,
  testPayments,
  type Commerce,
  type DurableSubscriber,
  type OutboxOptions,
  type PaymentProvider,
  type StorageAdapter,
  type TaxProvider,
  type TestPayments,
} from '@cartwright/core'
import type { Backdoor } from '../backdoor.js'
import { ManualClock } from './manual-clock.js'
import { Raw } from './raw.js'

/** What a case may change about an engine. */
export interface EngineOptions {
  subscribers?: DurableSubscriber[]
  /** Merged over `{ enabled: false }`: cases drive dispatch with `outbox.runOnce()`. */
  outbox?: OutboxOptions
  /** Default: 8 % everywhere. */
  tax?: TaxProvider
  /** Default: a new test gateway per engine. Share one to count charges across engines. */
  payments?: TestPayments
  /** Payment providers besides the test gateway, e.g. testkit's `testGateway()` shared by several engines. */
  extraPayments?: PaymentProvider[]
  /** Default `manual`: the fixture's {@link ManualClock}. `real` leaves core's own clock. */
  clock?: 'manual' | 'real'
}

/** An engine made by the fixture, with its test gateway. */
export interface Engine {
  commerce: Commerce
  payments: TestPayments
}

/**
 * Everything one case uses: the adapter and backdoor of a fresh database, a manual clock,
 * and engines that are all closed before the caller's teardown runs.
 */
export class StorageFixture {
  readonly adapter: StorageAdapter
  readonly raw: Raw
  readonly clock = new ManualClock()
  /** How many engines may write to the database at once (the caller's `concurrency.writers`). */
  readonly writers: number
  readonly #engines: Commerce[] = []

  constructor(adapter: StorageAdapter, backdoor: Backdoor, writers: number) {
    this.adapter = adapter
    this.raw = new Raw(backdoor)
    this.writers = writers
  }

  /** A new engine on the database (the first one migrates it). */
  async engine(options: EngineOptions = {}): Promise<Engine> {
    const payments = options.payments ?? testPayments()
    const commerce = await createCommerce({
      storage: this.adapter,
      payments: [payments, ...(options.extraPayments ?? [])],
      shipping: [
        flatRateShipping({
          rates: [
            { id: 'standard', name: 'Standard', amounts: { USD: 500, EUR: 450 } },
            { id: 'pickup', name: 'Pickup', amounts: { USD: 0, EUR: 0 } },
          ],
        }),
      ],
      tax: options.tax ?? fixedRateTax({ rate: '8' }),
      subscribers: options.subscribers ?? [],
      outbox: { enabled: false, ...options.outbox },
      onListenerError: () => undefined,
      ...(options.clock === 'real' ? {} : { now: this.clock.now }),
    })
    this.#engines.push(commerce)
    return { commerce, payments }
  }

  /**
   * The engines concurrent work is spread over: `writers` of them, sharing one gateway.
   * With one writer (SQLite), concurrent calls go through one engine, whose driver
   * serialises them; with more, through separate engines as separate processes would.
   */
  async writerEngines(options: EngineOptions = {}): Promise<Engine[]> {
    const payments = options.payments ?? testPayments()
    const engines: Engine[] = []
    for (let i = 0; i < this.writers; i++) engines.push(await this.engine({ ...options, payments }))
    return engines
  }

  /** @internal Closes every engine, newest first. */
  async close(): Promise<void> {
    const errors: unknown[] = []
    for (const commerce of this.#engines.splice(0).reverse()) {
      try {
        await commerce.close()
      } catch (error) {
        errors.push(error)
      }
    }
    if (errors.length) throw errors[0]
  }
}
