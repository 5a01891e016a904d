import { z } from 'zod'
import { CommerceError, validationError, type FieldIssue } from './errors.js'
import { isCurrency } from './money.js'

/**
 * Parses `input` with `schema`, or throws a `VALIDATION` {@link CommerceError} naming each failing field.
 * Text no storage keeps as sent ({@link isStorableText}), anywhere in `input`, is refused first.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, subject: string): z.output<S> {
  const unstorable = unstorableTextPaths(input)
  if (unstorable.length > 0) throw validationError(subject, unstorable.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })))
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw validationError(subject, toFieldIssues(result.error))
}

/**
 * Parses one plain argument (an id, a SKU, a number), or throws a `VALIDATION` error whose
 * field is the argument's name, e.g. `cartId`.
 */
export function parseArg<S extends z.ZodType>(schema: S, value: unknown, name: string): z.output<S> {
  const unstorable = unstorableTextPaths(value)
  if (unstorable.length > 0) throw validationError(name, unstorable.map((i) => ({ path: [name, ...i.path].join('.'), message: i.message })))
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw validationError(name, toFieldIssues(result.error).map((i) => ({ ...i, path: i.path ? `${name}.${i.path}` : name })))
}

/** A NUL, or half of a surrogate pair without its other half. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * @internal True when both storages keep `text` as it is: PostgreSQL refuses a NUL in `text` and
 * `jsonb`, and both write U+FFFD in place of an unpaired surrogate, so such text would be a
 * `STORAGE` error on one and come back changed on the other.
 */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text)
}

const unstorableMessage = 'must not contain a NUL character or an unpaired surrogate (text no storage keeps as sent)'

/**
 * Paths of every string (a value or a key, at any depth) that {@link isStorableText} refuses. Byte
 * arrays (a webhook's raw body) are not text and are not walked. Cycles are visited once.
 */
function unstorableTextPaths(value: unknown): Array<{ path: PropertyKey[]; message: string }> {
  if (typeof value === 'string') return isStorableText(value) ? [] : [{ path: [], message: unstorableMessage }]
  const found: Array<{ path: PropertyKey[]; message: string }> = []
  const seen = new Set<object>()
  const stack: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path: [] }]
  let nodes = 0
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!
    if (typeof current !== 'object' || current === null || seen.has(current) || ArrayBuffer.isView(current)) continue
    seen.add(current)
    // Inputs this large are refused by their schemas; the walk stops rather than read them all.
    if (++nodes > MAX_NODES) return found
    for (const key of Object.keys(current)) {
      const item = (current as Record<string, unknown>)[key]
      const at = [...path, Array.isArray(current) ? Number(key) : key]
      if (!isStorableText(key)) found.push({ path, message: `has a key that ${unstorableMessage}` })
      else if (typeof item === 'string') {
        if (!isStorableText(item)) found.push({ path: at, message: unstorableMessage })
      } else stack.push({ value: item, path: at })
    }
  }
  return found
}

/** Parses adapter or plugin options, throwing a plain prefixed error at once (configuration mistakes are programmer errors). */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const list = toFieldIssues(result.error).map((i) => `${i.path || '(options)'}: ${i.message}`)
  throw new CommerceError('CONFIGURATION', `[${prefix}] invalid options: ${list.join('; ')}`, {
    details: { issues: toFieldIssues(result.error) },
  })
}

function toFieldIssues(error: z.ZodError): FieldIssue[] {
  const issues: FieldIssue[] = []
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: [...issue.path, key].join('.'), message: 'is not a field you can set' })
      }
    } else {
      issues.push({ path: issue.path.map(String).join('.'), message: issue.message })
    }
  }
  return issues
}

/**
 * Keys that name `Object.prototype` machinery. An own `__proto__` key (as `JSON.parse` makes it)
 * is silently dropped when copied by assignment (zod skips it), and may replace an object's
 * prototype when merged with `Object.assign`; `constructor` and `prototype` shadow what every
 * object inherits. Free-form records refuse them rather than store what a reader may mishandle.
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** Most objects, arrays and values {@link reservedKeyPaths} visits in one input. */
const MAX_NODES = 10_000

const reservedKeyMessage = (key: string) => `${JSON.stringify(key)} is a reserved key; use another name`

/**
 * Paths of every reserved key in `value`, at any depth of objects and arrays. Walks own
 * enumerable keys only: an own `__proto__` is what an attacker can send. Cycles are visited once.
 */
function reservedKeyPaths(value: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const found: Array<{ path: PropertyKey[]; message: string }> = []
  const seen = new Set<object>()
  const stack: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path: [] }]
  let nodes = 0
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!
    if (typeof current !== 'object' || current === null || seen.has(current)) continue
    seen.add(current)
    if (++nodes > MAX_NODES) return [{ path: [], message: `too large: more than ${MAX_NODES} nested values` }]
    for (const key of Object.keys(current)) {
      if (RESERVED_KEYS.has(key)) found.push({ path: [...path, key], message: reservedKeyMessage(key) })
      else stack.push({ value: (current as Record<string, unknown>)[key], path: [...path, Array.isArray(current) ? Number(key) : key] })
    }
  }
  return found
}

/**
 * `schema`, refusing first whatever `find` reports in the raw input, each with a `VALIDATION` issue
 * at its path. It must look at the input, not the output: zod drops an own `__proto__` while
 * building a record, so a check after parsing would never see it, and card data must be refused
 * before anything is stored or logged.
 */
function refusing<S extends z.ZodType>(
  find: (value: unknown) => Array<{ path: PropertyKey[]; message: string }>,
  schema: S,
): z.ZodType<z.output<S>, z.input<S>> {
  const guarded = z
    .unknown()
    .superRefine((value, ctx) => {
      for (const { path, message } of find(value)) ctx.addIssue({ code: 'custom', message, path })
    })
    .pipe(schema)
  // The guard accepts anything and hands it on unchanged, so the pipe takes and gives what `schema` does.
  return guarded as unknown as z.ZodType<z.output<S>, z.input<S>>
}

/** `schema`, refusing first any reserved key ({@link RESERVED_KEYS}) at any depth. */
const withoutReservedKeys = <S extends z.ZodType>(schema: S) => refusing(reservedKeyPaths, schema)

/**
 * Keys (lower case, without `_`, `-` or spaces) of a field that holds a card's security code or
 * its number: refused in payment data whatever their value.
 */
const CARD_KEYS: ReadonlySet<string> = new Set([
  'cvc',
  'cvc2',
  'cvv',
  'cvv2',
  'csc',
  'cvn',
  'securitycode',
  'cardsecuritycode',
  'cardcode',
  'cardnumber',
  'cardno',
  'ccnumber',
  'creditcardnumber',
  'pan',
  'primaryaccountnumber',
])

/** A key next to which `number` is a card number: `exp`, `expiry`, `exp_month`, `expirationDate`… */
const EXPIRY_KEY = /^exp(iry|iration|ires)?(month|year|date|mm|yy|yyyy)?$/

const normalKey = (key: string) => key.toLowerCase().replace(/[\s_-]/g, '')

/** Digits in groups separated by single spaces or dashes: `4242 4242 4242 4242`, `5555-5555-5555-4444`, `378282246310005`. */
const DIGIT_GROUPS = /\d+(?:[ -]\d+)*/g

/** The Luhn check digit test every payment card number passes. */
function passesLuhn(digits: string): boolean {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/**
 * True when `text` holds something that looks like a payment card number: 13–19 digits (grouped
 * by spaces or dashes, or not) that pass the Luhn check: `'4242 4242 4242 4242'` does,
 * `'tok_visa'` does not. Numbers that start with 0 or 1 are left alone: no card network issues them
 * (1 is the airlines' UATP, rare online), while millisecond timestamps, which wallets' payloads
 * carry (`String(Date.now())`), are 13 digits starting with 1.
 */
export function looksLikeCardNumber(text: string): boolean {
  for (const [run] of text.matchAll(DIGIT_GROUPS)) {
    if (run.length < 13) continue
    // A card number starts where a group starts and spans whole groups: try each such stretch.
    const groups = run.split(/[ -]/)
    for (let start = 0; start < groups.length; start++) {
      if (groups[start]![0] === '0' || groups[start]![0] === '1') continue
      let digits = ''
      for (let end = start; end < groups.length && digits.length + groups[end]!.length <= 19; end++) {
        digits += groups[end]
        if (digits.length >= 13 && passesLuhn(digits)) return true
      }
    }
  }
  return false
}

/**
 * Paths of card data in `value`, at any depth: a key of a card field (`cvc`, `card_number`, `pan`,
 * `number` next to an expiry…), or a key or value (a string or a number) that looks like a card
 * number. The messages never repeat the value.
 */
function cardDataPaths(value: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const found: Array<{ path: PropertyKey[]; message: string }> = []
  const seen = new Set<object>()
  const stack: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path: [] }]
  let nodes = 0
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!
    if (typeof current === 'string' || typeof current === 'number' || typeof current === 'bigint') {
      const text = typeof current === 'number' ? (Number.isInteger(current) ? current.toFixed(0) : '') : String(current)
      if (looksLikeCardNumber(text)) found.push({ path, message: 'looks like a payment card number; send the gateway\'s token for the card instead, never the card' })
      continue
    }
    if (typeof current !== 'object' || current === null || seen.has(current)) continue
    seen.add(current)
    if (++nodes > MAX_NODES) return [{ path: [], message: `too large: more than ${MAX_NODES} nested values` }]
    const keys = Object.keys(current)
    const expiry = !Array.isArray(current) && keys.some((k) => EXPIRY_KEY.test(normalKey(k)))
    for (const key of keys) {
      const at = [...path, Array.isArray(current) ? Number(key) : key]
      const normal = normalKey(key)
      if (CARD_KEYS.has(normal) || (expiry && normal === 'number')) {
        found.push({ path: at, message: 'is a card field (a card number or security code); card data must go to the gateway, never through the engine' })
      } else if (!Array.isArray(current) && looksLikeCardNumber(key)) {
        // The issue names the object, not the key: its path would repeat the number in the error.
        found.push({ path, message: 'has a key that looks like a payment card number; send the gateway\'s token for the card instead, never the card' })
      } else {
        stack.push({ value: (current as Record<string, unknown>)[key], path: at })
      }
    }
  }
  return found
}

/** `schema`, refusing first any card data ({@link cardDataPaths}) at any depth. */
const withoutCardData = <S extends z.ZodType>(schema: S) => refusing(cardDataPaths, schema)

/** Length of `value` as JSON; infinite when it cannot be stored as JSON (cycles, BigInt). */
function jsonLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

/** A key of a free-form record (reserved keys are refused before, by {@link withoutReservedKeys}). */
const recordKey = z.string().max(64)

/** Shared field schemas. Limits are deliberate: nothing unbounded reaches storage. */
export const fields = {
  id: z.string().min(1).max(64),
  shortText: z.string().trim().min(1).max(255),
  optionalText: z.string().max(255),
  longText: z.string().max(5000),
  handle: z.string().min(1).max(120).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'use lowercase letters, digits and dashes'),
  sku: z.string().trim().min(1).max(64),
  currency: z
    .string()
    .length(3)
    .transform((c) => c.toUpperCase())
    .refine(isCurrency, 'unknown ISO 4217 currency'),
  /** Integer minor units, non-negative, within the safe range. */
  amount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  quantity: z.number().int().min(1).max(10_000),
  quantityOrZero: z.number().int().min(0).max(10_000),
  stock: z.number().int().min(0).max(1_000_000_000),
  email: z.string().max(320).pipe(z.email()),
  /** Flat key-value pairs a caller keeps with an entity: at most 50 keys; no reserved key (`__proto__`, `constructor`, `prototype`). */
  metadata: withoutReservedKeys(
    z
      .record(recordKey, z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]))
      .refine((m) => Object.keys(m).length <= 50, 'at most 50 keys'),
  ),
  /**
   * Data a payment provider takes at checkout (a token, a wallet payload), stored with the
   * payment: any JSON, at most 8 KiB of it (room for Apple Pay and Google Pay tokens), no
   * reserved key at any depth, and no card data: a value or key that looks like a card number
   * (13–19 digits passing the Luhn check, grouped or not, anywhere in a text), or a card field
   * (`cvc`, `cvv`, `card_number`, `pan`, `number` next to an expiry…), is refused with
   * `VALIDATION` naming its path, before anything is stored. Card data goes from the shopper's
   * browser to the gateway, which gives back a token to send here.
   */
  paymentData: withoutCardData(withoutReservedKeys(z.record(recordKey, z.unknown()).refine((d) => jsonLength(d) <= 8192, 'at most 8 KiB of JSON'))),
  /** The name of a product option axis (`Size`), which keys each variant's option values. */
  optionName: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .refine((name) => !RESERVED_KEYS.has(name), 'is a reserved name (__proto__, constructor, prototype); use another name'),
  /** A variant's option values by option name (`{ Size: '42' }`); no reserved key. */
  optionValues: withoutReservedKeys(z.record(z.string().min(1).max(64), z.string().min(1).max(64))),
  // No control characters: core derives keys of its own from a caller's with one as the separator.
  idempotencyKey: z
    .string()
    .min(8)
    .max(255)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters'),
}

/** A postal address. Country is ISO 3166-1 alpha-2. */
export const addressSchema = z.strictObject({
  firstName: z.string().trim().max(100).optional(),
  lastName: z.string().trim().max(100).optional(),
  company: z.string().trim().max(200).optional(),
  line1: z.string().trim().min(1).max(200),
  line2: z.string().trim().max(200).optional(),
  city: z.string().trim().min(1).max(100),
  region: z.string().trim().max(100).optional(),
  postalCode: z.string().trim().max(20).optional(),
  country: z
    .string()
    .length(2)
    .regex(/^[A-Za-z]{2}$/)
    .transform((c) => c.toUpperCase()),
  phone: z.string().trim().max(40).optional(),
})

/** A postal address. Country is ISO 3166-1 alpha-2, upper case. */
export type Address = z.output<typeof addressSchema>
