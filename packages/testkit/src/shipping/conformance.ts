import { deepStrictEqual, ok } from 'node:assert/strict'
import { createCommerce, type ShippingProvider, type ShippingQuote, type ShippingQuoteInput, type StorageAdapter } from '@cartwright/core'
import { buildSuite, type CaseDefinition, type ConformanceSkip, type ConformanceSuite } from '../conformance-suite.js'

const PREFIX = '[cartwright:testkit]'

/** The database handle `quote` receives (kysely's, through core's types). */
type QuoteDb = Parameters<ShippingProvider['quote']>[1]

/**
 * What {@link shippingConformance} runs against.
 *
 * @example
 * ```ts
 * import { flatRateShipping } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const target: ShippingConformanceTarget = {
 *   name: 'flatRateShipping',
 *   provider: () => flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500, EUR: 450 } }] }),
 *   storage: () => sqliteStorage({ filename: ':memory:' }),
 * }
 * ```
 */
export interface ShippingConformanceTarget {
  /** Names the suite in test output. */
  name: string
  /** A provider, or a function making a fresh one for each case. */
  provider: ShippingProvider | (() => ShippingProvider | Promise<ShippingProvider>)
  /**
   * A storage adapter on a new, empty database per case: the suite opens an engine on it and passes
   * its database to `quote`, to check that quoting changes nothing stored.
   */
  storage(): StorageAdapter | Promise<StorageAdapter>
  /**
   * Carts to quote, with addresses, in currencies the provider serves; the suite's own samples (US,
   * Germany, UK and Japan in USD, EUR, GBP and JPY) when omitted. Each is also quoted without its
   * address and without items.
   */
  inputs?: ShippingQuoteInput[]
  /** Cases not to run, each with a reason. */
  skip?: ConformanceSkip[]
}

const item = (n: number, quantity: number, weightGrams: number | null) => ({ variantId: `var_${n}`, productId: `prod_${n}`, sku: `SKU-${n}`, quantity, weightGrams })

/** The suite's sample carts: several countries and currencies, light and heavy, small and large subtotals. */
export const SAMPLE_QUOTE_INPUTS: readonly ShippingQuoteInput[] = Object.freeze([
  sample('USD', { line1: '1 Market St', city: 'San Francisco', region: 'CA', postalCode: '94105', country: 'US' }, 4_500, [item(1, 1, 400)]),
  sample('USD', { line1: '350 5th Ave', city: 'New York', region: 'NY', postalCode: '10118', country: 'US' }, 250_000, [item(1, 3, 400), item(2, 2, 12_000)]),
  sample('EUR', { line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' }, 3_990, [item(3, 1, 900)]),
  sample('EUR', { line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' }, 12_000, [item(3, 2, 900), item(4, 1, null)]),
  sample('GBP', { line1: '10 Downing St', city: 'London', postalCode: 'SW1A 2AA', country: 'GB' }, 2_500, [item(5, 1, 250)]),
  sample('JPY', { line1: '1-1 Chiyoda', city: 'Tokyo', postalCode: '100-0001', country: 'JP' }, 8_800, [item(6, 4, 150)]),
])

function sample(currency: string, address: NonNullable<ShippingQuoteInput['address']>, subtotal: number, items: ShippingQuoteInput['items']): ShippingQuoteInput {
  return {
    currency,
    address: { firstName: 'Ada', lastName: 'Lovelace', ...address },
    subtotal,
    taxInclusive: false,
    weightGrams: items.reduce((sum, i) => sum + (i.weightGrams ?? 0) * i.quantity, 0),
    items,
    cartId: 'cart_conformance',
    customerId: null,
    channelId: null,
  }
}

/**
 * The conformance suite every shipping provider must pass: for each sample cart, with and without
 * its address and items, quote ids are unique, amounts are safe non-negative integers, delivery
 * days are sane, answers are the same for the same input, without an address only options that
 * need none (pickups) are offered, the input is left as it was, and nothing stored changes. Checks
 * with `node:assert`, so it runs under any test runner.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 *
 * declare const target: ShippingConformanceTarget // see its example
 * shippingConformance(target).register({ describe, it })
 * ```
 */
export function shippingConformance(target: ShippingConformanceTarget): ConformanceSuite {
  if (typeof target !== 'object' || target === null) throw new Error(`${PREFIX} shippingConformance: pass { name, provider, storage }`)
  if (typeof target.name !== 'string' || target.name.trim() === '') throw new Error(`${PREFIX} shippingConformance: name must be a non-empty string`)
  if (typeof target.provider !== 'function' && (typeof target.provider !== 'object' || target.provider === null)) throw new Error(`${PREFIX} shippingConformance: provider must be a shipping provider or a function returning one`)
  if (typeof target.storage !== 'function') throw new Error(`${PREFIX} shippingConformance: storage must be a function returning a storage adapter`)
  if (target.inputs !== undefined && (!Array.isArray(target.inputs) || target.inputs.length === 0)) throw new Error(`${PREFIX} shippingConformance: inputs must be a non-empty array when given`)
  const inputs = target.inputs ?? SAMPLE_QUOTE_INPUTS
  // Every sample, then each without its address, then each without items.
  const variants = (): ShippingQuoteInput[] => [
    ...inputs.map((i) => structuredClone(i)),
    ...inputs.map((i) => ({ ...structuredClone(i), address: null })),
    ...inputs.map((i) => ({ ...structuredClone(i), items: [], subtotal: 0, weightGrams: 0 })),
  ]

  const run = (body: (provider: ShippingProvider, db: QuoteDb) => Promise<void>) => async () => {
    const provider = typeof target.provider === 'function' ? await target.provider() : target.provider
    const commerce = await createCommerce({ storage: await target.storage(), onListenerError: () => undefined })
    try {
      await body(provider, commerce.db as unknown as QuoteDb)
    } finally {
      await commerce.close()
    }
  }
  const quote = async (provider: ShippingProvider, input: ShippingQuoteInput, db: QuoteDb): Promise<ShippingQuote[]> => {
    const answer = await provider.quote(input, db)
    ok(Array.isArray(answer), `quote must answer an array, got ${typeof answer}`)
    return answer
  }
  const where = (input: ShippingQuoteInput) => `${input.currency} cart to ${input.address ? `${input.address.city}, ${input.address.country}` : 'no address'} (${input.items.length} items)`

  const definitions: CaseDefinition[] = [
    {
      group: 'quotes',
      name: 'quote ids are unique within an answer and well-formed',
      run: run(async (provider, db) => {
        for (const input of variants()) {
          const ids = (await quote(provider, input, db)).map((q) => q.id)
          for (const id of ids) ok(typeof id === 'string' && id.length > 0 && id.length <= 64 && !id.includes(':'), `${where(input)}: quote id ${JSON.stringify(id)} must be 1-64 characters without ':'`)
          deepStrictEqual(new Set(ids).size, ids.length, `${where(input)}: quote ids repeat: ${ids.join(', ')}`)
        }
      }),
    },
    {
      group: 'quotes',
      name: 'amounts are safe non-negative integers, names are given and delivery days are sane',
      run: run(async (provider, db) => {
        for (const input of variants()) {
          for (const q of await quote(provider, input, db)) {
            ok(Number.isSafeInteger(q.amount) && q.amount >= 0, `${where(input)}: ${q.id} amount ${q.amount} is not a safe non-negative integer`)
            ok(typeof q.name === 'string' && q.name.trim().length > 0, `${where(input)}: ${q.id} has no name`)
            for (const key of ['minDays', 'maxDays'] as const) {
              const days = q[key]
              if (days !== undefined) ok(Number.isSafeInteger(days) && days >= 0, `${where(input)}: ${q.id} ${key} ${days} is not a non-negative integer`)
            }
            if (q.minDays !== undefined && q.maxDays !== undefined) ok(q.minDays <= q.maxDays, `${where(input)}: ${q.id} minDays ${q.minDays} > maxDays ${q.maxDays}`)
            if (q.pickupLocationId !== undefined) ok(typeof q.pickupLocationId === 'string' && q.pickupLocationId.length > 0, `${where(input)}: ${q.id} pickupLocationId is empty`)
          }
        }
      }),
    },
    {
      group: 'quotes',
      name: 'answers the same quotes for the same input',
      run: run(async (provider, db) => {
        for (const input of variants()) {
          const first = await quote(provider, structuredClone(input), db)
          const second = await quote(provider, structuredClone(input), db)
          deepStrictEqual(second, first, `${where(input)}: two quotes of one cart differ`)
        }
      }),
    },
    {
      group: 'quotes',
      name: 'without an address, offers only options that need none (pickup at a stock location)',
      run: run(async (provider, db) => {
        for (const input of variants().filter((i) => i.address === null)) {
          for (const q of await quote(provider, input, db)) ok(q.pickupLocationId !== undefined, `${where(input)}: ${q.id} is offered with no address but is not a pickup`)
        }
      }),
    },
    {
      group: 'quotes',
      name: 'leaves its input as it was',
      run: run(async (provider, db) => {
        for (const input of variants()) {
          const before = structuredClone(input)
          await quote(provider, input, db)
          deepStrictEqual(input, before, `${where(input)}: quote changed its input`)
        }
      }),
    },
    {
      group: 'quotes',
      name: 'changes nothing stored',
      run: run(async (provider, db) => {
        const before = await snapshot(db)
        for (const input of variants()) await quote(provider, input, db)
        deepStrictEqual(await snapshot(db), before, 'quoting changed stored rows')
      }),
    },
    {
      group: 'quotes',
      name: 'answers a cart without items with well-formed quotes (or none)',
      run: run(async (provider, db) => {
        for (const input of variants().filter((i) => i.items.length === 0)) {
          for (const q of await quote(provider, input, db)) ok(Number.isSafeInteger(q.amount) && q.amount >= 0, `${where(input)}: ${q.id} amount ${q.amount}`)
        }
      }),
    },
  ]
  return buildSuite(PREFIX, target.name, definitions, target.skip ?? [])
}

/** Every row of every table, as JSON, in a stable order. */
async function snapshot(db: QuoteDb): Promise<Record<string, string[]>> {
  const tables = await db.introspection.getTables()
  const out: Record<string, string[]> = {}
  for (const table of tables.filter((t) => !t.isView).sort((a, b) => a.name.localeCompare(b.name))) {
    const rows = await db.selectFrom(table.name).selectAll().execute()
    out[table.name] = rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort()
  }
  return out
}
