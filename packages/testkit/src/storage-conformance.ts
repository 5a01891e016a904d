import type { StorageAdapter } from '@cartwright/core'
import type { Backdoor } from './backdoor.js'
import { buildSuite, type CaseDefinition, type ConformanceSkip, type ConformanceSuite } from './conformance-suite.js'
import { adapterCases } from './storage/cases/adapter.js'
import { concurrencyCases } from './storage/cases/concurrency.js'
import { crudCases } from './storage/cases/crud.js'
import { idempotencyCases } from './storage/cases/idempotency.js'
import { moneyCases } from './storage/cases/money.js'
import { oneOrderPerCartCases } from './storage/cases/one-order-per-cart.js'
import { outboxCases } from './storage/cases/outbox.js'
import { paymentCases } from './storage/cases/payments.js'
import { timestampCases } from './storage/cases/timestamps.js'
import { transactionCases } from './storage/cases/transactions.js'
import { unicodeCases } from './storage/cases/unicode.js'
import type { StorageGroup } from './storage/storage-case.js'
import { StorageFixture } from './storage/storage-fixture.js'

const PREFIX = '[cartwright:testkit]'

/**
 * A fresh, empty database for one test: the adapter under test, raw access to the same
 * database, and how to throw it away.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const target: StorageTarget = {
 *   adapter: sqliteStorage({ database }),
 *   backdoor: { query: async (sql, params = []) => database.prepare(sql).all(params) as BackdoorRow[] },
 *   teardown: () => void database.close(),
 * }
 * ```
 */
export interface StorageTarget {
  /**
   * The adapter under test. Every `createDialect()` call must reach the same database:
   * cases open several engines on it, as several processes would.
   */
  adapter: StorageAdapter
  /** Raw reads of the same database that bypass Cartwright; see {@link Backdoor}. */
  backdoor: Backdoor
  /** Runs after the case, pass or fail, once every engine is closed: close the backdoor, drop the database. */
  teardown?(): void | Promise<void>
}

/**
 * Options of {@link storageConformance}.
 *
 * @example
 * ```ts
 * const options: StorageConformanceOptions = {
 *   name: 'postgres',
 *   setup: freshTarget,
 *   concurrency: { writers: 4 },
 *   skip: [{ reason: 'why', tests: ['outbox claiming'] }],
 * }
 * ```
 */
export interface StorageConformanceOptions {
  /** Names the suite in test output, e.g. `sqlite :memory:` or `postgres 17`. */
  name: string
  /**
   * Called once per case: a new, empty database (a new `:memory:` handle, a new file, a new
   * PostgreSQL database), never shared between cases, so cases can run in any order.
   * `createCommerce` migrates it.
   */
  setup(): StorageTarget | Promise<StorageTarget>
  /** Cases not to run, each with a reason that is printed when the suite is registered. */
  skip?: ConformanceSkip[]
  concurrency?: {
    /**
     * How many engines may write to one database at the same time (default 1). With 1,
     * concurrent cases send every call through one engine, whose connection serialises
     * writers, as SQLite requires within a process. With more (PostgreSQL, whose pools
     * really overlap transactions), calls are spread over that many engines, as over
     * that many app processes.
     */
    writers?: number
  }
}

const GROUPS: StorageGroup[] = [
  adapterCases,
  crudCases,
  transactionCases,
  idempotencyCases,
  oneOrderPerCartCases,
  moneyCases,
  timestampCases,
  unicodeCases,
  concurrencyCases,
  paymentCases,
  outboxCases,
]

/**
 * The conformance suite every storage adapter must pass: CRUD for every core table checked
 * through a raw backdoor, rollback, unique idempotency keys, one order per cart, exact money
 * up to 2^53 − 1, UTC timestamps to the millisecond, Unicode byte for byte, the oversell race,
 * and outbox claiming by several dispatchers. It drives writes through `createCommerce` and
 * checks with `node:assert`, so it runs under any test runner.
 *
 * @example
 * ```ts
 * // packages/my-adapter/test/conformance.test.ts (vitest)
 * import { describe, it } from 'vitest'
 * import { storageConformance } from '@cartwright/testkit'
 *
 * storageConformance({
 *   name: 'my adapter',
 *   // Per case: { adapter, backdoor, teardown } on a new, empty database (see StorageTarget).
 *   setup: freshTarget,
 * }).register({ describe, it })
 * ```
 */
export function storageConformance(options: StorageConformanceOptions): ConformanceSuite {
  if (typeof options !== 'object' || options === null) throw new Error(`${PREFIX} storageConformance: pass { name, setup }`)
  if (typeof options.name !== 'string' || options.name.trim() === '') throw new Error(`${PREFIX} storageConformance: name must be a non-empty string`)
  if (typeof options.setup !== 'function') throw new Error(`${PREFIX} storageConformance: setup must be a function returning { adapter, backdoor }`)
  if (options.skip !== undefined && !Array.isArray(options.skip)) throw new Error(`${PREFIX} storageConformance: skip must be an array of { reason, tests }`)
  const writers = options.concurrency?.writers ?? 1
  if (!Number.isInteger(writers) || writers < 1 || writers > 64) throw new Error(`${PREFIX} storageConformance: concurrency.writers must be an integer from 1 to 64`)

  const definitions: CaseDefinition[] = GROUPS.flatMap(({ group, cases }) =>
    cases.map((c) => ({ group, name: c.name, run: () => runCase(options, writers, c.run) })),
  )
  return buildSuite(PREFIX, options.name, definitions, options.skip ?? [])
}

async function runCase(options: StorageConformanceOptions, writers: number, body: (t: StorageFixture) => Promise<void>): Promise<void> {
  const target = await options.setup()
  if (typeof target?.adapter?.createDialect !== 'function') throw new Error(`${PREFIX} ${options.name}: setup() must return { adapter, backdoor }; adapter is not a storage adapter`)
  if (typeof target.backdoor?.query !== 'function') throw new Error(`${PREFIX} ${options.name}: setup() must return { adapter, backdoor }; backdoor.query is not a function`)
  const fixture = new StorageFixture(target.adapter, target.backdoor, writers)
  let failure: { error: unknown } | null = null
  try {
    await body(fixture)
  } catch (error) {
    failure = { error }
  }
  // Clean up whatever happened; a cleanup error never hides the case's own failure.
  for (const step of [() => fixture.close(), () => target.teardown?.()]) {
    try {
      await step()
    } catch (error) {
      failure ??= { error }
    }
  }
  if (failure) throw failure.error
}
