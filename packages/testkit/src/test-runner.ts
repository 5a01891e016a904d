/**
 * Registers one test: vitest's, jest's and `node:test`'s `it` (or `test`) all fit.
 *
 * @example
 * ```ts
 * import { it } from 'vitest'
 * const test: TestFunction = (name, fn) => it(name, fn, 60_000) // with a timeout
 * ```
 */
export type TestFunction = (name: string, fn: () => Promise<void>) => unknown

/**
 * The parts of a test runner a conformance suite needs (keyv's test suite takes the
 * caller's test function the same way), so the suite depends on no runner.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest' // or: from 'node:test'
 *
 * storageConformance({ name: 'my adapter', setup: freshTarget }).register({ describe, it })
 * ```
 *
 * @example
 * ```ts
 * // A runner without describe: titles become "suite > group > name".
 * const tests: Array<{ name: string; fn: () => Promise<void> }> = []
 * const suite = storageConformance({ name: 'my adapter', setup: freshTarget })
 * suite.register({ it: (name, fn) => tests.push({ name, fn }), log: (line) => console.log(line) })
 * ```
 */
export interface TestRunner {
  /** Registers a test. When it has a `skip` method (vitest, jest, `node:test`), skipped cases are registered as skipped. */
  it: TestFunction & { skip?: TestFunction }
  /** Groups tests; optional. */
  describe?: (name: string, body: () => void) => unknown
  /** Registers a skipped test; defaults to `it.skip`. Without either, skipped cases are only printed. */
  skip?: TestFunction
  /** Where the one line per skipped case goes; defaults to `console.info`. */
  log?: (line: string) => void
}
