import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StorageAdapter } from '@cartwright/core'
import { Kysely, type Dialect } from 'kysely'
import type { CachingSqliteDriver } from '../src/sqlite-driver.js'

/** A fresh temp directory and a function that removes it. */
export function tempDir(): { path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cartwright-sqlite-'))
  return { path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A Kysely over the adapter's dialect, with a handle on the driver it created (for cache stats). */
export function openKysely<DB = any>(storage: StorageAdapter): { db: Kysely<DB>; driver: () => CachingSqliteDriver } {
  const dialect = storage.createDialect()
  let driver: CachingSqliteDriver | undefined
  const spy: Dialect = {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => (driver = dialect.createDriver() as CachingSqliteDriver),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  }
  const db = new Kysely<DB>({ dialect: spy })
  return {
    db,
    driver: () => {
      if (driver === undefined) throw new Error('driver not created yet')
      return driver
    },
  }
}
