// Compiled by `tsc -p tsconfig.json`, never run: the runners the README names must fit TestRunner as they are.
import * as nodeTest from 'node:test'
import * as vitest from 'vitest'
import type { TestRunner } from '@cartwright/testkit'

export const runners: TestRunner[] = [
  { describe: vitest.describe, it: vitest.it },
  { describe: vitest.describe, it: vitest.test },
  { describe: nodeTest.describe, it: nodeTest.it },
  { it: nodeTest.test },
  { it: (name, fn) => vitest.it(name, fn, 60_000), skip: vitest.it.skip },
]
