import type { Timestamp } from './database.js'

/** Normalises a stored timestamp (ISO text on SQLite, `Date` on PostgreSQL) to ISO-8601 UTC. */
export function iso(value: Timestamp): string {
  return typeof value === 'string' ? value : value.toISOString()
}

export function isoOrNull(value: Timestamp | null): string | null {
  return value === null ? null : iso(value)
}

export function parseJson<T>(text: string | null, fallback: T): T {
  return text === null ? fallback : (JSON.parse(text) as T)
}

export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value)
}
