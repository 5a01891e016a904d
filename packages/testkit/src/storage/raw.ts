import assert from 'node:assert/strict'
import type { Backdoor, BackdoorRow } from '../backdoor.js'

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const EXPLICIT_OFFSET = /(Z|[+-]\d{2}(:?\d{2})?)$/

/**
 * Reads through the caller's backdoor and normalises what drivers differ on, so a case
 * compares values, not representations.
 */
export class Raw {
  readonly #backdoor: Backdoor

  constructor(backdoor: Backdoor) {
    this.#backdoor = backdoor
  }

  /** Every row of a query. */
  async rows(sql: string, parameters: readonly unknown[] = []): Promise<BackdoorRow[]> {
    const rows = await this.#backdoor.query(sql, parameters)
    assert.ok(Array.isArray(rows), `backdoor.query must resolve to an array of rows, got ${typeof rows} for: ${sql}`)
    return rows
  }

  /** Exactly one row, or the case fails saying how many there were. */
  async one(sql: string, parameters: readonly unknown[] = []): Promise<BackdoorRow> {
    const rows = await this.rows(sql, parameters)
    assert.equal(rows.length, 1, `expected exactly one row from: ${sql} ${JSON.stringify(parameters)}; got ${rows.length}`)
    return rows[0]!
  }

  /** `select count(*) from <from>`, e.g. `count('cw_orders where cart_id = ?', [id])`. */
  async count(from: string, parameters: readonly unknown[] = []): Promise<number> {
    const row = await this.one(`select count(*) as n from ${from}`, parameters)
    return num(row['n'])
  }

  /** A statement the database must refuse; resolves to the driver's error. */
  async refused(sql: string, parameters: readonly unknown[] = []): Promise<unknown> {
    try {
      await this.#backdoor.query(sql, parameters)
    } catch (error) {
      return error
    }
    assert.fail(`the database accepted a statement it must refuse: ${sql} ${JSON.stringify(parameters)}`)
  }
}

/** An integer column as an exact `bigint` (drivers return number, bigint or decimal text). */
export function int(value: unknown): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number') {
    assert.ok(Number.isInteger(value), `expected an integer, got ${value}`)
    return BigInt(value)
  }
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value)
  assert.fail(`expected an integer, got ${typeof value} ${String(value)}`)
}

/** An integer column as a `number`; fails beyond the safe range rather than round. */
export function num(value: unknown): number {
  const n = int(value)
  assert.ok(n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER), `integer ${n} is outside the safe range`)
  return Number(n)
}

/** A nullable integer column. */
export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value)
}

/** A text column: must be a string. */
export function text(value: unknown): string {
  assert.equal(typeof value, 'string', `expected text, got ${typeof value} ${String(value)}`)
  return value as string
}

/** A nullable text column. */
export function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : text(value)
}

/**
 * A timestamp column as ISO-8601 UTC with milliseconds. A `Date` (PostgreSQL through pg)
 * is converted; text must carry its offset, since text without one could mean any zone.
 */
export function ts(value: unknown): string {
  if (value instanceof Date) {
    assert.ok(!Number.isNaN(value.getTime()), 'invalid Date')
    return value.toISOString()
  }
  const s = text(value)
  if (ISO_UTC.test(s)) return s
  assert.ok(EXPLICIT_OFFSET.test(s), `timestamp ${JSON.stringify(s)} has no UTC offset`)
  const ms = Date.parse(s.replace(' ', 'T'))
  assert.ok(!Number.isNaN(ms), `unparseable timestamp ${JSON.stringify(s)}`)
  return new Date(ms).toISOString()
}

/** A nullable timestamp column. */
export function tsOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : ts(value)
}

/** A JSON column (stored as text by core; a `json`/`jsonb` column may come back parsed). */
export function json(value: unknown): unknown {
  if (value === null || value === undefined) return null
  return typeof value === 'string' ? JSON.parse(value) : value
}

export const ISO_UTC_PATTERN = ISO_UTC
