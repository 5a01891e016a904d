import type { TestRunner } from './test-runner.js'

/**
 * Tests the caller chose not to run, with the reason printed when the suite is
 * registered (as Hono lists a router's deviations as data).
 *
 * @example
 * ```ts
 * const skip: ConformanceSkip[] = [
 *   { reason: 'our driver cannot tell a CHECK violation from other constraint errors', tests: ['concurrency > the CHECK constraint rejects reserved above on-hand, recognised by isCheckViolation'] },
 *   { reason: 'no concurrent dispatchers on this backend', tests: ['outbox claiming'] }, // a whole group
 * ]
 * ```
 */
export interface ConformanceSkip {
  /** Why: printed next to every skipped test. */
  reason: string
  /** Test titles (`group > name`, as in {@link ConformanceCase.title}) or whole group names. */
  tests: string[]
}

/**
 * One test of a conformance suite, runnable under any test runner: it sets up what it
 * needs, checks with `node:assert`, and cleans up, all inside `run()`.
 *
 * @example
 * ```ts
 * const suite = storageConformance({ name: 'my adapter', setup: freshTarget })
 * for (const c of suite.cases) if (!c.skip) await c.run()
 * ```
 */
export interface ConformanceCase {
  /** The group, e.g. `crud` or `concurrency`. */
  readonly group: string
  /** What the test checks, as a sentence. */
  readonly name: string
  /** `group > name`: the id that {@link ConformanceSkip.tests} refers to. */
  readonly title: string
  /** The reason this case is skipped, or `null` when it runs. */
  readonly skip: string | null
  /** Runs the test; rejects with an `AssertionError` (or the error that escaped) on failure. */
  run(): Promise<void>
}

/**
 * A list of test cases plus a way to register them with a test runner.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 *
 * storageConformance({ name: 'my adapter', setup: freshTarget }).register({ describe, it })
 * ```
 */
export interface ConformanceSuite {
  /** The name given by the caller, e.g. `sqlite :memory:`. */
  readonly name: string
  /** Every case, skipped ones included (with `skip` set). */
  readonly cases: readonly ConformanceCase[]
  /**
   * Registers one test per case with the caller's runner, grouped with `describe` when
   * given, and prints one line per skipped case with its reason.
   */
  register(runner: TestRunner): void
}

/** @internal A case before skips are applied. */
export interface CaseDefinition {
  group: string
  name: string
  run(): Promise<void>
}

/** @internal Applies the skips (unknown titles throw, so a renamed test cannot silently stop being skipped) and builds the suite. */
export function buildSuite(prefix: string, name: string, definitions: CaseDefinition[], skips: readonly ConformanceSkip[]): ConformanceSuite {
  const titles = new Set(definitions.map((d) => `${d.group} > ${d.name}`))
  const groups = new Set(definitions.map((d) => d.group))
  const reasons = new Map<string, string>()
  for (const [i, skip] of skips.entries()) {
    if (typeof skip?.reason !== 'string' || skip.reason.trim() === '') throw new Error(`${prefix} skip[${i}].reason: say why the tests are skipped`)
    if (!Array.isArray(skip.tests) || skip.tests.length === 0) throw new Error(`${prefix} skip[${i}].tests: list at least one test title or group`)
    for (const test of skip.tests) {
      if (groups.has(test)) {
        for (const d of definitions) if (d.group === test) reasons.set(`${d.group} > ${d.name}`, skip.reason)
      } else if (titles.has(test)) {
        reasons.set(test, skip.reason)
      } else {
        throw new Error(`${prefix} skip[${i}]: no test or group is called ${JSON.stringify(test)}; titles are "group > name", e.g. ${JSON.stringify([...titles][0])}`)
      }
    }
  }
  const cases: ConformanceCase[] = definitions.map((d) => {
    const title = `${d.group} > ${d.name}`
    return Object.freeze({ group: d.group, name: d.name, title, skip: reasons.get(title) ?? null, run: d.run })
  })
  return Object.freeze({
    name,
    cases: Object.freeze(cases),
    register(runner: TestRunner) {
      registerCases(prefix, name, cases, runner)
    },
  })
}

function registerCases(prefix: string, suiteName: string, cases: readonly ConformanceCase[], runner: TestRunner): void {
  if (typeof runner?.it !== 'function') throw new Error(`${prefix} register: pass your runner's test function as { it }`)
  const log = runner.log ?? ((line: string) => console.info(line))
  for (const c of cases) if (c.skip !== null) log(`${prefix} ${suiteName}: skipping "${c.title}": ${c.skip}`)
  const skipFn = runner.skip ?? (typeof runner.it.skip === 'function' ? (n: string, fn: () => Promise<void>) => runner.it.skip!(n, fn) : null)
  const add = (title: string, c: ConformanceCase) => {
    if (c.skip === null) runner.it(title, () => c.run())
    else skipFn?.(title, () => c.run())
  }
  const groups = [...new Set(cases.map((c) => c.group))]
  const { describe } = runner
  if (describe) {
    describe(suiteName, () => {
      for (const group of groups) {
        describe(group, () => {
          for (const c of cases) if (c.group === group) add(c.name, c)
        })
      }
    })
  } else {
    for (const c of cases) add(`${suiteName} > ${c.title}`, c)
  }
}
