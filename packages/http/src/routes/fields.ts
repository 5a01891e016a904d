import { z } from 'zod'
import type { CoreCommerce } from '@cartwright/core'

// Input fields of core's routes. Core's services check every value again; these bound what reaches
// them and say, in the OpenAPI document, what a caller may send. A `GET` or `DELETE` route's input
// comes from its path and query string, so its numbers and booleans arrive as text.

/** The engine a handler is given (typed `unknown` by the descriptor): core's services. */
export const core = (commerce: unknown) => commerce as CoreCommerce

/** An id in a path or a body. */
export const id = z.string().min(1).max(64)
/** An id or a handle in a path. */
export const idOrHandle = z.string().min(1).max(120)
/** A BCP 47 locale, checked by core. */
export const locale = z.string().min(2).max(35)
/** An `Idempotency-Key` header, which the HTTP layer hands over as `input.idempotencyKey`. */
// Room is left for the prefix a route puts before it to keep its keys apart from other callers'.
export const idempotencyKey = z.string().min(1).max(240)
/** A page's cursor, as the previous page returned it. */
export const cursor = z.string().max(200)

/** A whole number from a query string (or a number, when called directly). */
export function queryInt(min: number, max: number) {
  return z.union([z.number(), z.string().regex(/^-?\d{1,16}$/, 'must be a whole number').transform(Number)]).pipe(z.number().int().min(min).max(max))
}

/** `true` or `false` from a query string (or a boolean). */
export const queryBool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])

/** A comma-separated list from a query string (or an array). */
export function queryList(item: z.ZodType<string, string>, max: number) {
  return z.union([z.array(z.string()), z.string().max(2000).transform((v) => v.split(',').filter((s) => s !== ''))]).pipe(z.array(item).max(max))
}

/** Paging of a list route: `limit` (1–100) and `cursor`. */
export const paging = { limit: queryInt(1, 100).optional(), cursor: cursor.optional() }

/** The same input without `undefined` values, for core's strict inputs. */
export function defined<T extends Record<string, unknown>>(input: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> }
}

/** The input without the named keys (path parameters a service takes apart). */
export function without<T extends Record<string, unknown>, K extends keyof T>(input: T, ...keys: K[]): Omit<T, K> {
  const rest = { ...input }
  for (const key of keys) delete rest[key]
  return rest
}
