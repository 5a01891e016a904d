/**
 * Upgrade from released schemas, on SQLite: a database file written by a released version is
 * copied, opened with today's `createCommerce` (which migrates it to the latest schema) and
 * checked row by row (test/support/upgrade-checks.ts; the same checks run on PostgreSQL in
 * test/postgres/upgrade.test.ts). This makes every schema change an upgrade that is tested.
 *
 * When a release changes the schema, add its fixture next to v0.1.0.sqlite (made by a script
 * like make-v0.1.0-fixture.ts, run at the release's commit) and its checks: the fixtures of
 * older releases stay, since a shop may upgrade from any of them.
 */
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe } from 'vitest'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { tempDir } from '../support/index.js'
import { FIXTURE_V0_1_0, upgradeChecksV010 } from '../support/upgrade-checks.js'

describe('a SQLite database written by 0.1.0', () => {
  upgradeChecksV010(async () => {
    const dir = tempDir()
    const filename = join(dir.dir, 'shop.db')
    copyFileSync(FIXTURE_V0_1_0, filename)
    return { storage: () => sqliteStorage({ filename }), drop: async () => dir.remove() }
  })
})
