import type { StorageFixture } from './storage-fixture.js'

/** One storage conformance case: a sentence and a body that gets a fresh database. */
export interface StorageCase {
  name: string
  run(t: StorageFixture): Promise<void>
}

/** A named group of cases; the name is what skips and `describe` use. */
export interface StorageGroup {
  group: string
  cases: StorageCase[]
}
