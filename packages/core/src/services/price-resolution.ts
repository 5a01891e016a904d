import type { Kysely } from 'kysely'
import { z } from 'zod'
import { CommerceError, isCommerceError } from '../errors.js'
import type { Runtime } from '../runtime.js'
import type { Price } from '../types.js'
import { fields } from '../validation.js'
import { unitPriceFor } from './catalog-service.js'

/**
 * Price resolution: what a unit of a variant costs in a cart, from a chain of price sources.
 *
 * Precedence, the one rule (also in `docs/pricing.md`):
 * 1. Core's price comes first: the variant's tier for the line's quantity (the price with the
 *    largest `minQuantity` not above it), which is its base price (`minQuantity` 1) below the
 *    first tier. Core's price has priority 0.
 * 2. Each source (`CommerceOptions.priceSources`, then plugins' sources) has a priority. The
 *    answer of the source with the highest priority wins; a source wins over core only with a
 *    priority above 0, so a source at 0 or below prices only the lines core has no price for.
 * 3. Ties go to the source given first, and core counts as given before every source.
 * 4. A source that has no answer for a line (`undefined`) leaves it to the next in that order.
 *
 * A winning answer replaces the whole unit price: a list price of 95 wins over a tier of 90 when
 * the list's priority is above 0. A source that wants the lower of the two answers
 * `Math.min(list, base)`: it is told `base` for each line.
 */

/**
 * What a price source is asked: one call per cart (all its lines at once), never per line.
 *
 * @example
 * ```ts
 * const query: PriceQuery = {
 *   currency: 'USD',
 *   customerId: 'cus_1',
 *   channelId: null,
 *   lines: [{ variantId: 'var_1', quantity: 10, base: 9000 }],
 * }
 * ```
 */
export interface PriceQuery {
  /** The cart's currency, ISO 4217 upper case; every amount answered is in its minor units. */
  currency: string
  /** The cart's customer, or null for a guest cart. */
  customerId: string | null
  /** The sales channel of the cart (`cart.channelId`), or the one `explainPrice` was asked for; null: none. */
  channelId: string | null
  /**
   * The cart being priced, or null for `catalog.explainPrice` (no cart): a source that prices one
   * cart only (a quote accepted into it) keys its rows by this id.
   */
  cartId?: string | null
  /** The lines to price, in the cart's order; answer one price (or `undefined`) per line, in this order. */
  lines: Array<{
    variantId: string
    quantity: number
    /** Core's unit price for this quantity (tiers applied), or null when the variant has none in `currency`. */
    base: number | null
  }>
}

/**
 * A source's price for one line: a unit price in minor units of the query's currency.
 *
 * @example
 * ```ts
 * const answer: PriceAnswer = { amount: 9500, label: 'wholesale-2026', note: 'contract 118' }
 * ```
 */
export interface PriceAnswer {
  /** Unit price in minor units: a safe, non-negative integer. */
  amount: number
  /** Which list or rule priced it, e.g. `'wholesale-2026'`; shown by `catalog.explainPrice`. */
  label?: string
  /** Free text for people, shown by `catalog.explainPrice`. */
  note?: string
}

/**
 * A source of unit prices, asked once per cart for all its lines. Core's base and tier prices
 * are priority 0; the source with the highest priority that answers a line prices it, ties going
 * to the source given first (core before every source). So a source needs a priority above 0 to
 * override core, and one at 0 or below only prices the lines core has no price for.
 *
 * `resolve` makes no network calls: it may run inside a write transaction, and runs on every
 * load of a cart. It gets the executor the cart is read with; read your own tables through it.
 * A wrong answer (not one per line, an amount that is not a safe non-negative integer) or a
 * failure is a `PROVIDER` error naming the source.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const wholesale: PriceSource = {
 *   id: 'price-list',
 *   priority: 10,
 *   async resolve(query, db) {
 *     if (!query.customerId) return query.lines.map(() => undefined)
 *     const rows = await db
 *       .selectFrom('pl_prices')
 *       .select(['variant_id', 'amount'])
 *       .where('customer_id', '=', query.customerId)
 *       .where('currency', '=', query.currency)
 *       .execute()
 *     const byVariant = new Map(rows.map((r) => [r.variant_id, r.amount]))
 *     return query.lines.map((line) => {
 *       const amount = byVariant.get(line.variantId)
 *       return amount === undefined ? undefined : { amount, label: 'wholesale-2026' }
 *     })
 *   },
 * }
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), priceSources: [wholesale] })
 * ```
 */
export interface PriceSource {
  /** Stable id shown in explanations, e.g. `'price-list'`; unique, and not `base` or `tier` (core's). */
  readonly id: string
  /** Higher wins; core's base and tier prices are priority 0. A finite number. */
  readonly priority: number
  /**
   * One answer per line, in order: a price, or `undefined` (or `null`) when this source has none
   * for the line. No network calls: it may run inside a write transaction.
   */
  resolve(query: PriceQuery, db: Kysely<any>): Promise<Array<PriceAnswer | undefined>> | Array<PriceAnswer | undefined>
}

/**
 * One price in an explanation: core's base price, core's tier for the quantity, or a source's
 * answer. `kind` says which; `source` is `'base'`, `'tier'` or the source's id.
 *
 * @example
 * ```ts
 * const step: PriceStep = { source: 'tier', kind: 'tier', amount: 9000, minQuantity: 10, applied: false, overriddenBy: 'price-list' }
 * ```
 */
export interface PriceStep {
  /** `'base'` and `'tier'` for core's prices, otherwise the price source's id. */
  source: string
  kind: 'base' | 'tier' | 'source'
  /** Unit price in minor units. */
  amount: number
  /** True for the one price that applies. */
  applied: boolean
  /** The source whose price applies instead; absent on the applied step. */
  overriddenBy?: string
  /** Core's prices: the tier's minimum quantity (1 for the base price). */
  minQuantity?: number
  /** A source's label (`PriceAnswer.label`). */
  label?: string
  /** A source's note (`PriceAnswer.note`). */
  note?: string
}

/**
 * The price of a variant for a query, and how it was reached (`catalog.explainPrice`).
 *
 * @example
 * ```ts
 * const explained = await commerce.catalog.explainPrice(variantId, { currency: 'USD', quantity: 10, customerId: 'cus_1' })
 * explained.amount // 9500
 * explained.source // 'price-list'
 * explained.chain.map((s) => `${s.source} ${s.amount}${s.applied ? ' (applies)' : ` (overridden by ${s.overriddenBy})`}`)
 * ```
 */
export interface PriceExplanation {
  variantId: string
  currency: string
  quantity: number
  customerId: string | null
  channelId: string | null
  /** The unit price a cart line of this quantity gets, or null when nothing prices it. */
  amount: number | null
  /** The id of what priced it (`'base'`, `'tier'` or a source's id), or null when nothing does. */
  source: string | null
  /**
   * Every price found, weakest first: sources at priority 0 or below, core's base price, core's
   * tier for the quantity when it is not the base price, then sources above 0. The last one
   * applies. Sources that had no answer are not listed.
   */
  chain: PriceStep[]
  /** Why there is no price, when `amount` is null; otherwise null. */
  problem: string | null
}

/** @internal Parses the options of `catalog.explainPrice`. */
export const explainPriceSchema = z.strictObject({
  currency: fields.currency,
  quantity: fields.quantity.default(1),
  customerId: fields.id.nullable().default(null),
  channelId: fields.id.nullable().default(null),
})

/**
 * Input of `catalog.explainPrice`: the currency, and optionally the quantity (default 1), the
 * customer and the channel the price is for.
 *
 * @example
 * ```ts
 * const input: ExplainPriceInput = { currency: 'USD', quantity: 10, customerId: 'cus_1' }
 * await commerce.catalog.explainPrice(variantId, input)
 * ```
 */
export type ExplainPriceInput = z.input<typeof explainPriceSchema>

/** Core's own ids in explanations: a source may not take them. */
const CORE_IDS = new Set(['base', 'tier'])

const priceSource = z.custom<PriceSource>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as PriceSource).id === 'string' &&
    (v as PriceSource).id.length > 0 &&
    (v as PriceSource).id.length <= 64 &&
    typeof (v as PriceSource).priority === 'number' &&
    Number.isFinite((v as PriceSource).priority) &&
    typeof (v as PriceSource).resolve === 'function',
  { message: 'not a price source: it needs an id (1–64 characters), a finite priority and a resolve function' },
)

/**
 * @internal `CommerceOptions.priceSources` as `createCommerce` checks it: each a price source, ids
 * unique and none of core's (`base`, `tier`).
 */
export const priceSourcesSchema = z
  .array(priceSource)
  .superRefine((sources, ctx) => {
    const seen = new Set<string>()
    sources.forEach((source, i) => {
      if (CORE_IDS.has(source.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `"${source.id}" is core's own price; use another id` })
      else if (seen.has(source.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `two price sources share the id "${source.id}"` })
      seen.add(source.id)
    })
  })
  .default([])

/** One source's answer for one line. */
interface Found {
  source: PriceSource
  answer: PriceAnswer
}

/**
 * The sources in precedence order, strongest first, split around core (priority 0, given first):
 * those that override core, and those that only price what core does not.
 */
function ranked(sources: readonly PriceSource[]): { above: PriceSource[]; below: PriceSource[] } {
  // Array.prototype.sort is stable: equal priorities keep the order the sources were given.
  const ordered = [...sources].sort((a, b) => b.priority - a.priority)
  return { above: ordered.filter((s) => s.priority > 0), below: ordered.filter((s) => s.priority <= 0) }
}

function providerError(source: PriceSource, message: string, details: Record<string, unknown>, cause?: unknown): CommerceError {
  return new CommerceError('PROVIDER', `Price source ${source.id} ${message}`, { details: { source: source.id, ...details }, cause })
}

/** Asks one source and checks its answers: one per line, each a safe non-negative integer amount. */
async function ask(rt: Pick<Runtime, 'storage'>, source: PriceSource, query: PriceQuery, db: Kysely<any>): Promise<Array<PriceAnswer | undefined>> {
  let answers: unknown
  try {
    answers = await source.resolve(query, db)
  } catch (error) {
    // A CommerceError is the source's own verdict; a busy or lost database stays a retryable STORAGE error.
    if (isCommerceError(error) || rt.storage.isRetryable(error)) throw error
    throw providerError(source, `failed: ${(error as Error)?.message ?? String(error)}`, {}, error)
  }
  if (!Array.isArray(answers) || answers.length !== query.lines.length) {
    const got = Array.isArray(answers) ? `${answers.length} answers` : typeof answers
    throw providerError(source, `answered ${got} for ${query.lines.length} lines; it must answer one per line (undefined for none)`, {})
  }
  return answers.map((answer: unknown, index) => {
    if (answer === undefined || answer === null) return undefined
    const variantId = query.lines[index]!.variantId
    const amount = (answer as PriceAnswer | null)?.amount
    if (typeof answer !== 'object' || typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) {
      throw providerError(
        source,
        `answered ${JSON.stringify(amount ?? answer)} for variant ${variantId} (line ${index}); a price is a non-negative integer amount in minor units`,
        { variantId, index },
      )
    }
    const { label, note } = answer as PriceAnswer
    if ((label !== undefined && typeof label !== 'string') || (note !== undefined && typeof note !== 'string')) {
      throw providerError(source, `answered a label or note that is not a string for variant ${variantId} (line ${index})`, { variantId, index })
    }
    return answer as PriceAnswer
  })
}

/** Every source's answers for the query, per line, in precedence order (strongest first), around core. */
async function resolveAll(
  rt: Pick<Runtime, 'storage' | 'priceSources'>,
  query: PriceQuery,
  db: Kysely<any>,
): Promise<{ above: Found[][]; below: Found[][] }> {
  const { above, below } = ranked(rt.priceSources)
  const collect = async (sources: PriceSource[]) => {
    const perLine: Found[][] = query.lines.map(() => [])
    for (const source of sources) {
      const answers = await ask(rt, source, query, db)
      answers.forEach((answer, i) => {
        if (answer) perLine[i]!.push({ source, answer })
      })
    }
    return perLine
  }
  return { above: await collect(above), below: await collect(below) }
}

/**
 * @internal Prices a cart's lines by the engine's price sources, in place: each line's
 * `unitPrice` becomes the winning price (see the precedence above), from core's price for its
 * quantity (its `tiers`) and the sources' answers. One call per cart. The caller checks
 * `rt.priceSources.length` first, so a cart costs nothing more when no source is configured.
 */
export async function resolveLinePrices(
  rt: Pick<Runtime, 'storage' | 'priceSources'>,
  db: Kysely<any>,
  cart: { id?: string; currency: string; customer_id: string | null; channel_id?: string | null | undefined },
  lines: ReadonlyArray<{ variant_id: string; quantity: number; tiers: Price[]; unitPrice: number | null; sourced?: boolean }>,
): Promise<void> {
  if (lines.length === 0) return
  const base = lines.map((l) => unitPriceFor(l.tiers, cart.currency, l.quantity))
  const query: PriceQuery = {
    currency: cart.currency,
    customerId: cart.customer_id,
    channelId: cart.channel_id ?? null,
    cartId: cart.id ?? null,
    lines: lines.map((l, i) => ({ variantId: l.variant_id, quantity: l.quantity, base: base[i]! })),
  }
  const { above, below } = await resolveAll(rt, query, db)
  lines.forEach((line, i) => {
    line.unitPrice = above[i]![0]?.answer.amount ?? base[i] ?? below[i]![0]?.answer.amount ?? null
    // A source's price is in the cart's convention; core's tier may carry its own (see tax-inclusive prices).
    line.sourced = above[i]![0] !== undefined || (base[i] == null && below[i]![0] !== undefined)
  })
}

/**
 * @internal The explanation of one variant's price (`catalog.explainPrice`): the same resolution
 * a cart line gets, with every price found.
 */
export async function explainVariantPrice(
  rt: Pick<Runtime, 'storage' | 'priceSources'>,
  db: Kysely<any>,
  variant: { id: string; prices: Price[] },
  input: z.output<typeof explainPriceSchema>,
): Promise<PriceExplanation> {
  const { currency, quantity, customerId, channelId } = input
  const tiers = variant.prices.filter((p) => p.currency === currency)
  const baseTier = tiers.find((p) => p.minQuantity === 1)
  let tier: Price | null = null
  for (const p of tiers) if (p.minQuantity <= quantity && (!tier || p.minQuantity > tier.minQuantity)) tier = p
  const query: PriceQuery = { currency, customerId, channelId, cartId: null, lines: [{ variantId: variant.id, quantity, base: tier?.amount ?? null }] }
  const { above, below } = rt.priceSources.length ? await resolveAll(rt, query, db) : { above: [[]], below: [[]] }
  const fromSource = (found: Found): PriceStep => ({
    source: found.source.id,
    kind: 'source',
    amount: found.answer.amount,
    applied: false,
    ...(found.answer.label !== undefined ? { label: found.answer.label } : {}),
    ...(found.answer.note !== undefined ? { note: found.answer.note } : {}),
  })
  // Weakest first: the reverse of precedence.
  const chain: PriceStep[] = [...below[0]!].reverse().map(fromSource)
  if (baseTier) chain.push({ source: 'base', kind: 'base', amount: baseTier.amount, minQuantity: 1, applied: false })
  if (tier && tier !== baseTier) chain.push({ source: 'tier', kind: 'tier', amount: tier.amount, minQuantity: tier.minQuantity, applied: false })
  chain.push(...[...above[0]!].reverse().map(fromSource))
  // Weakest first, so the last price found is the strongest: it applies, and overrides the rest
  // (a base price below a winning tier included). A base price is found only when the quantity's
  // tier is, so core's price for the quantity is always the last of core's steps.
  const applied = chain[chain.length - 1]
  if (applied) {
    applied.applied = true
    for (const step of chain.slice(0, -1)) step.overriddenBy = applied.source
  }
  return {
    variantId: variant.id,
    currency,
    quantity,
    customerId,
    channelId,
    amount: applied?.amount ?? null,
    source: applied?.source ?? null,
    chain,
    problem: applied
      ? null
      : tiers.length
        ? `Variant ${variant.id} has no ${currency} price for ${quantity} unit${quantity === 1 ? '' : 's'} (its first ${currency} tier starts at ${Math.min(...tiers.map((t) => t.minQuantity))}), and no price source answered`
        : `Variant ${variant.id} has no ${currency} price, and no price source answered`,
  }
}
