import assert from 'node:assert/strict'
import { isDeepStrictEqual } from 'node:util'
import { percent, type Address, type TaxInput, type TaxProvider, type TaxResult } from '@cartwright/core'
import { buildSuite, type CaseDefinition, type ConformanceSkip, type ConformanceSuite } from '../conformance-suite.js'

const PREFIX = '[cartwright:testkit]'

/** The executor `TaxProvider.calculate` receives (a kysely instance). */
type TaxDb = Parameters<TaxProvider['calculate']>[1]

/**
 * What {@link taxConformance} runs against.
 *
 * @example
 * ```ts
 * import { fixedRateTax } from '@cartwright/core'
 *
 * const target: TaxConformanceTarget = { name: 'fixedRateTax 20%', provider: () => fixedRateTax({ rate: '20' }) }
 * ```
 */
export interface TaxConformanceTarget {
  /** Names the suite in test output. */
  name: string
  /** The provider under test; called once per case. */
  provider(): TaxProvider | Promise<TaxProvider>
  /**
   * The database the provider reads its own tables from (migrated, as the engine leaves it), passed
   * to `calculate` as its executor. Without it the suite passes a handle that fails on any use: a
   * provider that reads storage must be given one.
   */
  db?: () => TaxDb | Promise<TaxDb>
  /**
   * More inputs to ask the provider with, each checked like the suite's own (one entry per line,
   * valid rates, deterministic, input untouched, storage untouched): carts your rules have a case
   * for (an address of each jurisdiction, a cart with a VAT number's profile, an exempt customer).
   */
  cases?: TaxInput[]
  /** The time allowed for one answer on a 500-line cart, in milliseconds (default 1000). */
  largeCartMs?: number
  /** Cases not to run, each with a reason printed when the suite is registered. */
  skip?: ConformanceSkip[]
}

const AT = '2026-06-15T12:00:00.000Z'

const addresses: Record<string, Address> = {
  FR: { line1: '10 rue de Rivoli', city: 'Paris', postalCode: '75001', country: 'FR' },
  DE: { line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' },
  'US-NY': { line1: '350 Fifth Avenue', city: 'New York', region: 'NY', postalCode: '10118', country: 'US' },
  'US-CA': { line1: '1 Market St', city: 'San Francisco', region: 'CA', postalCode: '94105', country: 'US' },
  GB: { line1: '221B Baker Street', city: 'London', postalCode: 'NW1 6XE', country: 'GB' },
  JP: { line1: '1-1 Chiyoda', city: 'Tokyo', postalCode: '100-0001', country: 'JP' },
}

/**
 * A cart to ask a tax provider about: `lines` lines of assorted classes and conventions, with
 * shipping unless `shipping` is false.
 */
function sampleInput(address: Address | null, lines: number, shipping = true): TaxInput {
  const classes = [null, 'standard', 'reduced', 'zero', 'books']
  return {
    currency: 'EUR',
    address,
    billingAddress: address,
    cartId: 'cart_conformance',
    customerId: null,
    channelId: null,
    taxInclusive: false,
    at: AT,
    lines: Array.from({ length: lines }, (_, i) => ({
      id: `line_${i + 1}`,
      variantId: `var_${(i % 7) + 1}`,
      productId: `prod_${(i % 5) + 1}`,
      sku: `SKU-${i + 1}`,
      quantity: (i % 3) + 1,
      taxClass: classes[i % classes.length]!,
      amount: 1999 * ((i % 3) + 1),
      taxInclusive: i % 2 === 1,
    })),
    shipping: shipping ? { amount: 500, taxClass: null, taxInclusive: false } : null,
  }
}

/** The suite's own inputs, by name: each address with lines and shipping, no address, and variants. */
function ownInputs(): Array<[string, TaxInput]> {
  const list: Array<[string, TaxInput]> = Object.entries(addresses).map(([name, a]) => [`to ${name}`, sampleInput(a, 6)])
  list.push(['without an address', sampleInput(null, 4)])
  list.push(['without shipping', sampleInput(addresses.FR!, 3, false)])
  list.push(['with a shipping class', { ...sampleInput(addresses.DE!, 2), shipping: { amount: 990, taxClass: 'reduced', taxInclusive: true } }])
  list.push(['signed in', { ...sampleInput(addresses.FR!, 2), customerId: 'cus_conformance', taxInclusive: true }])
  return list
}

/** A database handle that fails on any use: for providers that say they read no storage. */
function noDatabase(): TaxDb {
  return new Proxy({} as TaxDb, {
    get(_, property) {
      if (property === 'then') return undefined
      throw new Error(`${PREFIX} taxConformance: the provider used its database handle (${String(property)}); pass db to the suite`)
    },
  })
}

/** The statements a provider ran through its handle that are not reads. */
interface Recorder {
  db: TaxDb
  writes: string[]
}

const READ = /^\s*(\(\s*)*(select|with\s+(?![\s\S]*\b(insert|update|delete|merge)\b))/i

function recording(db: TaxDb): Recorder {
  const writes: string[] = []
  const plugin = {
    transformQuery(args: { node: { kind: string; sqlFragments?: readonly string[] } }) {
      const { node } = args
      if (node.kind === 'SelectQueryNode') return node
      if (node.kind === 'RawNode' && READ.test((node.sqlFragments ?? []).join('?'))) return node
      writes.push(node.kind === 'RawNode' ? `raw: ${(node.sqlFragments ?? []).join('?').slice(0, 120)}` : node.kind)
      return node
    },
    async transformResult(args: { result: unknown }) {
      return args.result
    },
  }
  return { db: db.withPlugin(plugin as unknown as Parameters<TaxDb['withPlugin']>[0]), writes }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

/** Checks an answer's shape against its input: one entry per line, known ids, valid rates. */
function checkAnswer(input: TaxInput, answer: TaxResult, label: string): void {
  assert.ok(answer && typeof answer === 'object', `${label}: the answer must be an object`)
  assert.ok(Array.isArray(answer.lines), `${label}: answer.lines must be an array`)
  assert.ok(Array.isArray(answer.shipping), `${label}: answer.shipping must be an array`)
  const ids = new Set(input.lines.map((l) => l.id))
  const seen = new Set<string>()
  for (const entry of answer.lines) {
    assert.ok(ids.has(entry.id), `${label}: answer for an unknown line ${JSON.stringify(entry.id)}`)
    assert.ok(!seen.has(entry.id), `${label}: two answers for line ${JSON.stringify(entry.id)}`)
    seen.add(entry.id)
    assert.ok(Array.isArray(entry.rates), `${label}: line ${entry.id}: rates must be an array`)
    for (const rate of entry.rates) checkRate(rate, `${label}: line ${entry.id}`)
  }
  assert.equal(seen.size, ids.size, `${label}: one entry per line: answered ${seen.size} of ${ids.size} lines`)
  if (input.shipping === null) assert.deepEqual(answer.shipping, [], `${label}: no rates on shipping when the cart has none`)
  for (const rate of answer.shipping) checkRate(rate, `${label}: shipping`)
}

function checkRate(rate: TaxResult['shipping'][number], label: string): void {
  assert.equal(typeof rate.rate, 'string', `${label}: rate must be a string`)
  assert.doesNotThrow(() => percent(rate.rate), `${label}: rate ${JSON.stringify(rate.rate)} is not a decimal percentage`)
  const { numerator } = percent(rate.rate)
  assert.ok(numerator >= 0n, `${label}: rate ${rate.rate} is negative`)
  assert.ok(typeof rate.jurisdiction === 'string' && rate.jurisdiction.length > 0 && rate.jurisdiction.length <= 200, `${label}: jurisdiction must be a non-empty string`)
  if (rate.name !== undefined) assert.equal(typeof rate.name, 'string', `${label}: name must be a string when given`)
  if (rate.note !== undefined) assert.ok(typeof rate.note === 'string' && rate.note.length <= 500, `${label}: note must be a string of at most 500 characters`)
}

/**
 * The conformance suite every tax provider must pass: it answers one entry per line of the input
 * (no unknown ids, none twice) and no shipping rates without shipping; every rate is a decimal
 * percentage (core's `percent`), never negative, with a jurisdiction; it is deterministic; it
 * answers for a cart without an address, with no lines and no shipping; it does not mutate its
 * input, runs no statement but reads through its database handle, and answers a 500-line cart in
 * reasonable time. Your `cases` are checked like the suite's own inputs. Checks with
 * `node:assert`, so it runs under any test runner.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * import { fixedRateTax } from '@cartwright/core'
 * import { taxConformance } from '@cartwright/testkit'
 *
 * taxConformance({ name: 'fixedRateTax', provider: () => fixedRateTax({ rate: '20', classes: { reduced: '5.5' } }) }).register({ describe, it })
 * ```
 */
export function taxConformance(target: TaxConformanceTarget): ConformanceSuite {
  if (typeof target !== 'object' || target === null) throw new Error(`${PREFIX} taxConformance: pass { name, provider }`)
  if (typeof target.name !== 'string' || target.name.trim() === '') throw new Error(`${PREFIX} taxConformance: name must be a non-empty string`)
  if (typeof target.provider !== 'function') throw new Error(`${PREFIX} taxConformance: provider must be a function returning a tax provider`)
  if (target.db !== undefined && typeof target.db !== 'function') throw new Error(`${PREFIX} taxConformance: db must be a function returning the provider's database handle`)
  if (target.cases !== undefined && !Array.isArray(target.cases)) throw new Error(`${PREFIX} taxConformance: cases must be an array of tax inputs`)
  if (target.skip !== undefined && !Array.isArray(target.skip)) throw new Error(`${PREFIX} taxConformance: skip must be an array of { reason, tests }`)
  const limit = target.largeCartMs ?? 1000

  const inputs = (): Array<[string, TaxInput]> => [...ownInputs(), ...(target.cases ?? []).map((c, i) => [`your case ${i + 1}`, structuredClone(c)] as [string, TaxInput])]
  const open = async () => {
    const provider = await target.provider()
    assert.ok(provider && typeof provider.calculate === 'function', 'provider() must return a TaxProvider')
    assert.ok(typeof provider.id === 'string' && provider.id.length > 0, 'a tax provider needs a non-empty id')
    // Without a database, the handle throws on any use: nothing to record.
    const recorder: Recorder = target.db ? recording(await target.db()) : { db: noDatabase(), writes: [] }
    const ask = async (input: TaxInput) => await provider.calculate(input, recorder.db)
    return { provider, recorder, ask }
  }
  const each = (check: (ask: (input: TaxInput) => Promise<TaxResult>, input: TaxInput, label: string) => Promise<void>) => async () => {
    const { ask } = await open()
    for (const [label, input] of inputs()) await check(ask, input, label)
  }

  const definitions: CaseDefinition[] = [
    {
      group: 'answers',
      name: 'one entry per line, no unknown ids, valid non-negative rates with a jurisdiction',
      run: each(async (ask, input, label) => checkAnswer(input, await ask(input), label)),
    },
    {
      group: 'answers',
      name: 'a cart without an address gets an answer (rates or none) for every line',
      run: async () => {
        const { ask } = await open()
        const input = sampleInput(null, 5)
        checkAnswer(input, await ask(input), 'without an address')
      },
    },
    {
      group: 'answers',
      name: 'a cart with no lines and no shipping gets empty lists',
      run: async () => {
        const { ask } = await open()
        for (const address of [addresses.FR!, null]) {
          const input = sampleInput(address, 0, false)
          const answer = await ask(input)
          assert.deepEqual(answer.lines, [], 'no lines: no line answers')
          assert.deepEqual(answer.shipping, [], 'no shipping: no shipping rates')
        }
      },
    },
    {
      group: 'answers',
      name: 'shipping alone (no lines) gets an answer',
      run: async () => {
        const { ask } = await open()
        const input = sampleInput(addresses.DE!, 0, true)
        checkAnswer(input, await ask(input), 'shipping alone')
      },
    },
    {
      group: 'determinism',
      name: 'the same input twice gets the same answer',
      run: each(async (ask, input, label) => {
        const first = await ask(structuredClone(input))
        const second = await ask(structuredClone(input))
        assert.ok(isDeepStrictEqual(first, second), `${label}: two answers differ:\n${JSON.stringify(first)}\n${JSON.stringify(second)}`)
      }),
    },
    {
      group: 'determinism',
      name: 'the order of the lines does not change any line\'s rates',
      run: each(async (ask, input, label) => {
        const forward = await ask(structuredClone(input))
        const reversed = await ask({ ...structuredClone(input), lines: structuredClone(input.lines).reverse() })
        const byId = (r: TaxResult) => new Map(r.lines.map((l) => [l.id, l.rates]))
        const a = byId(forward)
        const b = byId(reversed)
        for (const line of input.lines) assert.deepEqual(b.get(line.id) ?? [], a.get(line.id) ?? [], `${label}: line ${line.id}`)
      }),
    },
    {
      group: 'purity',
      name: 'does not mutate its input (a deep-frozen input works, and equals its copy after)',
      run: each(async (ask, input, label) => {
        const copy = structuredClone(input)
        const answer = await ask(deepFreeze(structuredClone(input)))
        checkAnswer(copy, answer, label)
        const plain = structuredClone(input)
        await ask(plain)
        assert.deepEqual(plain, copy, `${label}: the input was changed`)
      }),
    },
    {
      group: 'purity',
      name: 'runs no statement but reads through its database handle',
      run: async () => {
        const { ask, recorder } = await open()
        for (const [, input] of inputs()) await ask(input)
        assert.deepEqual(recorder.writes, [], 'the provider wrote to storage while calculating')
      },
    },
    {
      group: 'performance',
      name: `answers a 500-line cart in reasonable time`,
      run: async () => {
        const { ask } = await open()
        for (const address of [addresses.FR!, addresses['US-NY']!]) {
          const input = sampleInput(address, 500)
          await ask(structuredClone(input)) // warm-up
          const started = performance.now()
          const answer = await ask(input)
          const elapsed = performance.now() - started
          checkAnswer(input, answer, '500 lines')
          assert.ok(elapsed <= limit, `500 lines took ${elapsed.toFixed(0)} ms, more than ${limit} ms`)
        }
      },
    },
  ]
  return buildSuite(PREFIX, target.name, definitions, target.skip ?? [])
}
