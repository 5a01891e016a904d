import { sql, type SelectQueryBuilder } from 'kysely'
import { z } from 'zod'
import { CommerceError } from './errors.js'
import type { Page } from './types.js'

/** Paging input shared by list methods: `limit` (1–100, default 20) and an opaque `cursor`. */
export const pageSchema = z.strictObject({
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
})

/**
 * Paging input of a list method: `limit` (1–100, default 20) and `cursor`, the `nextCursor`
 * of the previous page.
 *
 * @example
 * ```ts
 * const first = await commerce.catalog.listProducts({ limit: 50 })
 * const second = first.nextCursor ? await commerce.catalog.listProducts({ limit: 50, cursor: first.nextCursor }) : null
 * ```
 */
export type PageInput = z.input<typeof pageSchema>

export interface Keyset {
  createdAt: string
  id: string
}

/** A timestamp as the engine writes it: `Date.prototype.toISOString()` of a year 0000–9999, UTC. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** An id as `newId` makes it: a lower-case prefix, `_`, 26 Crockford base32 characters. */
const ENGINE_ID = /^[a-z]{1,32}_[0-9a-hjkmnp-tv-z]{26}$/

export function encodeCursor(key: Keyset): string {
  return Buffer.from(JSON.stringify([key.createdAt, key.id])).toString('base64url')
}

/**
 * The keyset a cursor encodes, or a `VALIDATION` error. Only what {@link encodeCursor} writes is
 * accepted: a two-element array of a timestamp in the engine's exact form (a real instant: not
 * `2024-02-30`, no offset) and an id of the engine's form, encoded exactly so. Anything looser
 * would reach the database as a bound value, where SQLite compares it as text and PostgreSQL
 * refuses it as a timestamp: the same forged cursor must get the same answer on both.
 */
export function decodeCursor(cursor: string | undefined): Keyset | null {
  if (cursor === undefined) return null
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    decoded = undefined
  }
  if (Array.isArray(decoded)) {
    const [createdAt, id] = decoded as [unknown, unknown]
    if (typeof createdAt === 'string' && typeof id === 'string' && isEngineTimestamp(createdAt) && ENGINE_ID.test(id)) {
      const key = { createdAt, id }
      // Only the engine's own encoding of the key passes: base64 decoding skips stray characters,
      // and JSON.parse takes spaces and extra elements.
      if (encodeCursor(key) === cursor) return key
    }
  }
  throw new CommerceError('VALIDATION', 'Invalid cursor: pass back the nextCursor of a previous page', {
    details: { issues: [{ path: 'cursor', message: 'invalid cursor' }], fields: ['cursor'] },
  })
}

function isEngineTimestamp(value: string): boolean {
  if (!ISO_UTC.test(value)) return false
  const time = Date.parse(value)
  // Date.parse rolls 2024-02-30 over to March 1st; the round trip refuses it.
  return !Number.isNaN(time) && new Date(time).toISOString() === value
}

/**
 * @internal One page of `query`, newest first (`created_at`, then `id`, both descending), after the
 * cursor's keyset; `load` turns the page's rows into items. One more row than the page is read to
 * know whether a next page exists.
 */
export async function keysetPage<DB, TB extends keyof DB, O extends { id: string }, T extends { createdAt: string; id: string }>(
  query: SelectQueryBuilder<DB, TB, O>,
  page: { limit: number; cursor?: string | undefined },
  load: (rows: O[]) => Promise<T[]>,
): Promise<Page<T>> {
  const after = decodeCursor(page.cursor)
  let q = query.orderBy(sql.ref('created_at'), 'desc').orderBy(sql.ref('id'), 'desc').limit(page.limit + 1)
  if (after) q = q.where(sql<boolean>`(created_at < ${after.createdAt} or (created_at = ${after.createdAt} and id < ${after.id}))`)
  const rows = await q.execute()
  const items = await load(rows.slice(0, page.limit))
  const last = items[items.length - 1]
  return { items, nextCursor: rows.length > page.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null }
}
