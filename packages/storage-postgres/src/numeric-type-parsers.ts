import type { PgTypeParser, PgTypeParsers } from './pg-subset.js'

// Type OIDs from PostgreSQL's pg_type catalog; stable across versions.
const INT8 = 20
const NUMERIC = 1700
const INT8_ARRAY = 1016
const NUMERIC_ARRAY = 1231
const TEXT_ARRAY = 1009

/**
 * Parsers that read `int8` (bigint) and `numeric` columns, and arrays of them,
 * as JS numbers instead of pg's default strings, so money in integer minor units
 * and `sum(bigint)` totals are plain numbers. Every other type is left to
 * `fallback`. An integer beyond `Number.MAX_SAFE_INTEGER` throws rather than
 * silently losing precision.
 */
export function numericTypeParsers(fallback: PgTypeParsers): PgTypeParsers {
  return {
    getTypeParser(oid, format = 'text') {
      if (format === 'text') {
        if (oid === INT8) return parseInt8
        if (oid === NUMERIC) return parseNumeric
        if (oid === INT8_ARRAY) return arrayOf(fallback.getTypeParser(TEXT_ARRAY, 'text'), parseInt8)
        if (oid === NUMERIC_ARRAY) return arrayOf(fallback.getTypeParser(TEXT_ARRAY, 'text'), parseNumeric)
      }
      return fallback.getTypeParser(oid, format)
    },
  }
}

function parseInt8(text: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value)) throw unsafe('int8', text)
  return value
}

function parseNumeric(text: string): number {
  // 'NaN' and '±Infinity' are valid numerics and map to their JS namesakes.
  const value = Number(text)
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) throw unsafe('numeric', text)
  return value
}

function arrayOf(parseTextArray: PgTypeParser, parseElement: (text: string) => number): PgTypeParser {
  const convert = (value: unknown): unknown =>
    typeof value === 'string' ? parseElement(value) : Array.isArray(value) ? value.map(convert) : value
  return (text) => convert(parseTextArray(text))
}

function unsafe(type: string, text: string): Error {
  return new Error(
    `[cartwright:storage-postgres] ${type} value ${text} is beyond Number.MAX_SAFE_INTEGER and cannot be read as a JS number without losing precision`,
  )
}
