import { z } from 'zod'
import { CommerceError, validationError, type FieldIssue } from './errors.js'
import { isCurrency } from './money.js'

/** Parses `input` with `schema`, or throws a `VALIDATION` {@link CommerceError} naming each failing field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw validationError(subject, toFieldIssues(result.error))
}

/**
 * Parses one plain argument (an id, a SKU, a number), or throws a `VALIDATION` error whose
 * field is the argument's name, e.g. `cartId`.
 */
export function parseArg<S extends z.ZodType>(schema: S, value: unknown, name: string): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw validationError(name, toFieldIssues(result.error).map((i) => ({ ...i, path: i.path ? `${name}.${i.path}` : name })))
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
  metadata: z
    .record(z.string().max(64), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]))
    .refine((m) => Object.keys(m).length <= 50, 'at most 50 keys'),
  idempotencyKey: z.string().min(8).max(255),
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
