import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { storageConformance, type Backdoor } from '@cartwright/testkit'
import { describe, it } from 'vitest'
import { sqliteStorage } from '../src/index.js'

/** Raw statements on a better-sqlite3 handle: what the suite checks persistence with. */
function backdoorOf(database: Database.Database): Backdoor {
  return {
    async query(sql, parameters = []) {
      const statement = database.prepare(sql)
      if (statement.reader) return statement.all(...parameters) as Array<Record<string, unknown>>
      statement.run(...parameters)
      return []
    },
  }
}

// In memory: the host opens the database and gives the same handle to the adapter and the
// backdoor. Every engine the suite makes shares that one connection; each engine's driver
// serialises its own transactions, and the cases never overlap two engines' transactions.
storageConformance({
  name: 'sqlite :memory:',
  setup() {
    const database = new Database(':memory:')
    return {
      adapter: sqliteStorage({ database }),
      backdoor: backdoorOf(database),
      teardown: () => void database.close(),
    }
  },
}).register({ describe, it })

// A WAL file in a temp directory: each engine opens its own connection through the adapter,
// and the backdoor is one more connection to the same file, so it reads only what was committed.
storageConformance({
  name: 'sqlite file (WAL)',
  setup() {
    const dir = mkdtempSync(join(tmpdir(), 'cartwright-conformance-'))
    const filename = join(dir, 'shop.db')
    const raw = new Database(filename)
    raw.pragma('journal_mode = WAL')
    raw.pragma('busy_timeout = 5000')
    return {
      adapter: sqliteStorage({ filename }),
      backdoor: backdoorOf(raw),
      teardown() {
        raw.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
}).register({ describe, it })
