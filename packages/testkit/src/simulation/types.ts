import type { AnyPlugin, Commerce, CommerceOptions, PaymentProvider, StorageAdapter } from '@cartwright/core'
import type { VirtualClock } from '../deterministic/virtual-clock.js'
import type { GatewayBehaviour, TestGateway } from '../payments/test-gateway.js'

/** The seeded source every choice of a run is drawn from. */
export interface SimulationRandom {
  /** A number in [0, 1). */
  next(): number
  /** An integer in [min, max]. */
  int(min: number, max: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  /** One item of a non-empty list. */
  pick<T>(items: readonly T[]): T
  /** Items of `items` in a random order. */
  shuffle<T>(items: readonly T[]): T[]
  /** A gateway behaviour for the next call: mostly `'ok'`, otherwise late, refused, failing or losing its answer. */
  behaviour(): GatewayBehaviour
}

/** What the demo catalog a run starts from holds. */
export interface SimulationCatalog {
  currency: string
  /** Variants whose stock is managed, a few units each, so that shoppers compete for them. */
  variantIds: readonly string[]
  locationIds: readonly string[]
  /** The shipping option every cart uses. */
  shippingOptionId: string
}

/**
 * What an operation or invariant sees: the engine of the moment (a new one after each restart,
 * on the same database), the gateway (which outlives restarts, as a real one does), the virtual
 * clock and the run's seeded random source.
 */
export interface SimulationContext<P extends readonly AnyPlugin[] = []> {
  readonly commerce: Commerce<P>
  readonly gateway: TestGateway
  readonly clock: VirtualClock
  readonly random: SimulationRandom
  readonly catalog: SimulationCatalog
  /** The step being run (1-based). */
  readonly step: number
  /**
   * An idempotency key for a money-moving call: mostly a new one, sometimes one used before under
   * the same `scope` (a retry after a lost answer), sometimes none when `optional`.
   */
  key(scope: string, options?: { optional?: boolean }): string | undefined
  /**
   * Describes what the operation is about to do (ids, amounts, the gateway's behaviour), for the
   * trace: written even when the call then fails. What `run` returns replaces it.
   */
  note(detail: string): void
  /** Remembers something across steps and restarts (a plugin operation's own bookkeeping). */
  readonly memory: Map<string, unknown>
}

/**
 * One kind of thing a shopper, a member of staff, the gateway or the process can do. The harness
 * picks operations by weight; several may run at once in one step. `run` returns what it did, for
 * the trace (ids, amounts, the gateway's behaviour), or `null` when there was nothing to do it to.
 * A `CommerceError` it throws is an outcome, recorded in the trace (a plugin's own codes
 * included); any other error, or `STORAGE`, `CONFIGURATION` or `PROVIDER`, breaks the invariant
 * `typed errors`.
 *
 * @example
 * ```ts
 * import type { SimulationOperation } from '@cartwright/testkit'
 *
 * const pokeStock: SimulationOperation = {
 *   name: 'stock.poke',
 *   weight: 1,
 *   async run({ commerce, catalog, random }) {
 *     const variantId = random.pick(catalog.variantIds)
 *     await commerce.inventory.adjust({ variantId, locationId: random.pick(catalog.locationIds), delta: 1 })
 *     return `variant=${variantId}`
 *   },
 * }
 * ```
 */
export interface SimulationOperation<P extends readonly AnyPlugin[] = []> {
  readonly name: string
  /** How often it is picked, relative to the others (default 1; 0 turns it off). */
  readonly weight?: number
  run(context: SimulationContext<P>): Promise<string | null | void>
}

/**
 * A property of the books that must hold. `step` invariants are checked after every step, while
 * checkouts and operations may still be in flight; `settled` ones once the run has settled:
 * every gateway notification delivered, time moved past every lease and deadline, recovery run and
 * the outbox drained. `check` returns the problems it found (empty when it holds), each naming what
 * is wrong with which row.
 *
 * @example
 * ```ts
 * import type { SimulationInvariant } from '@cartwright/testkit'
 *
 * const noNegativeOnHand: SimulationInvariant = {
 *   name: 'on hand ≥ 0',
 *   async check({ commerce }) {
 *     const rows = await commerce.db.selectFrom('cw_inventory_levels').select(['id', 'on_hand']).where('on_hand', '<', 0).execute()
 *     return rows.map((r) => `level ${r.id}: on hand ${r.on_hand}`)
 *   },
 * }
 * ```
 */
export interface SimulationInvariant<P extends readonly AnyPlugin[] = []> {
  readonly name: string
  /** When it is checked (default `'step'`). */
  readonly when?: 'step' | 'settled'
  check(context: SimulationContext<P>): Promise<readonly string[]> | readonly string[]
}

/** Names of the operations the harness brings, for {@link SimulationOptions.weights}. */
export type CoreOperationName =
  | 'cart.create'
  | 'cart.add'
  | 'cart.change'
  | 'cart.remove'
  | 'checkout'
  | 'checkout.return'
  | 'webhook'
  | 'capture'
  | 'void'
  | 'refund'
  | 'cancel'
  | 'fulfill'
  | 'stock.adjust'
  | 'time.pass'
  | 'recover'
  | 'outbox.drain'
  | 'crash'
  | 'settle'

/** Options of {@link simulate}. */
export interface SimulationOptions<P extends readonly AnyPlugin[] = []> {
  /** The seed: the same seed on SQLite runs the same steps and prints the same trace. */
  seed: number
  /** Steps to run (default 40). A step runs one to `concurrency` operations at once. */
  steps?: number
  /** Operations run at once in a step, at most (default 3). */
  concurrency?: number
  /**
   * Opens the database, at start and again at every restart: each call must reach the same
   * database (a SQLite file, a PostgreSQL URL), never a new one.
   */
  storage: () => StorageAdapter
  /** Plugins composed into every engine of the run. */
  plugins?: P
  /** More engine options (tax, shipping, price sources, subscribers…), for every engine of the run. */
  engine?: Omit<Partial<CommerceOptions<P>>, 'storage' | 'plugins' | 'clock' | 'ids' | 'secretBytes' | 'testPoints' | 'outbox' | 'recovery'>
  /** Called once, after the demo catalog was made: the place for a plugin's own set-up (coupons, gift cards). */
  setup?: (context: SimulationContext<P>) => Promise<void>
  /** Operations besides the harness's own. */
  operations?: ReadonlyArray<SimulationOperation<P>>
  /** Invariants besides the harness's own. */
  invariants?: ReadonlyArray<SimulationInvariant<P>>
  /** New weights for the harness's own operations (0 turns one off). */
  weights?: Partial<Record<CoreOperationName, number>>
  /**
   * The gateway as the engine sees it (default: the run's test gateway itself). A test wraps it
   * to plant a fault in the provider (a key derived from the wrong thing, an answer misread); the
   * invariants still compare the engine's books with the test gateway's own ledger.
   */
  provider?: (gateway: TestGateway) => PaymentProvider
  /** Whether the gateway captures several times per authorization (default: drawn from the seed). */
  multiCapture?: boolean
  /** Receives each trace line as it is written (default: nothing; the result carries the trace). */
  onTrace?: (line: string) => void
}

/** The first invariant a run broke. */
export interface SimulationViolation {
  invariant: string
  /** The step after which it was found (0: after the set-up; `steps + 1`: in the final settle). */
  step: number
  problems: readonly string[]
}

/** What {@link simulate} returns. */
export interface SimulationResult {
  seed: number
  /** Steps run (fewer than asked when a violation stopped the run). */
  steps: number
  /** Every operation with its arguments and outcome, in order. */
  trace: readonly string[]
  violation: SimulationViolation | null
  /** How many times each operation ran, and each outcome: `checkout → ok`, `capture → CONFLICT`. */
  counts: Readonly<Record<string, number>>
}
