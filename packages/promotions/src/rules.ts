import { allocate, applyRate, percent, type Adjustment } from '@cartwright/core'

/**
 * The pure part of promotions: which lines a promotion matches, which units a buy-X-get-Y
 * discounts, what each promotion takes off, and which promotions apply together (stacking). No
 * storage, no clock: the plugin loads the promotions and the cart's facts, and these functions
 * decide.
 */

/**
 * What a promotion takes off.
 *
 * - `percentage`: a percentage (a decimal string, exact: `'12.5'`) of the order (`appliesTo:
 *   'order'`, every line) or of the matching lines (`'matching_lines'`, the lines its product,
 *   variant, collection or tag conditions match).
 * - `fixed`: an amount in minor units of one currency, off the order or off the matching lines
 *   (split over them in proportion to what is left of each, by largest remainder); only carts in
 *   that currency get it. Never more than what is left.
 * - `shipping_percentage`: a percentage of the shipping charge of the chosen option.
 * - `free_shipping`: the whole shipping charge.
 * - `buy_x_get_y`: among the matching lines' units, for every `buy + get` units, the `get`
 *   cheapest get `percent` off (`'100'`: free); see {@link buyXGetYUnits}.
 *
 * @example
 * ```ts
 * const tenOff: Discount = { type: 'percentage', percent: '10', appliesTo: 'order' }
 * const threeForTwo: Discount = { type: 'buy_x_get_y', buy: 2, get: 1, percent: '100' }
 * ```
 */
export type Discount =
  | { type: 'percentage'; percent: string; appliesTo: 'order' | 'matching_lines' }
  | { type: 'fixed'; amount: number; currency: string; appliesTo: 'order' | 'matching_lines' }
  | { type: 'shipping_percentage'; percent: string }
  | { type: 'free_shipping' }
  | { type: 'buy_x_get_y'; buy: number; get: number; percent: string }

/**
 * When a promotion applies. Every condition given must hold. `productIds`, `variantIds`,
 * `collectionIds` and `tags` pick the **matching lines** (a line matches when it matches any of
 * them); when one is given, the promotion applies only to a cart with a matching line.
 * `minSubtotal` is the cart's subtotal before any discount, in that currency (a cart in another
 * currency does not qualify). `customerGroupIds`: the cart's customer is in one of these groups of
 * `@cartwright/customers` (never true for a guest, nor when that plugin is absent).
 *
 * @example
 * ```ts
 * const conditions: Conditions = { minSubtotal: { amount: 5000, currency: 'USD' }, tags: ['summer'] }
 * ```
 */
export interface Conditions {
  minSubtotal?: { amount: number; currency: string }
  productIds?: string[]
  variantIds?: string[]
  collectionIds?: string[]
  tags?: string[]
  customerGroupIds?: string[]
}

/**
 * A promotion as the rules see it: what it takes off, when, and how it stacks.
 *
 * @example
 * ```ts
 * const tenOff: RulePromotion = {
 *   id: 'promo_1', code: 'TEN', label: '10% off', discount: { type: 'percentage', percent: '10', appliesTo: 'order' },
 *   conditions: {}, stacking: 'combinable', priority: 0, createdAt: '2026-01-01T00:00:00.000Z',
 * }
 * ```
 */
export interface RulePromotion {
  id: string
  /** The adjustment's code: the code the shopper entered, or the promotion's id for an automatic one. */
  code: string
  label: string
  discount: Discount
  conditions: Conditions
  stacking: 'exclusive' | 'combinable'
  /** Higher first. */
  priority: number
  /** Ties of priority: the earlier created first (ISO instant), then the smaller id. */
  createdAt: string
}

/**
 * A cart line as the rules see it.
 *
 * @example
 * ```ts
 * const line: RuleLine = { id: 'line_1', productId: 'prod_1', variantId: 'var_1', quantity: 2, unitPrice: 1500, subtotal: 3000 }
 * ```
 */
export interface RuleLine {
  id: string
  productId: string
  variantId: string
  quantity: number
  unitPrice: number
  /** `unitPrice × quantity`, before any discount. */
  subtotal: number
}

/**
 * What the rules know about a cart besides its lines.
 *
 * @example
 * ```ts
 * const ruleCart: RuleCart = { currency: 'USD', lines: [], facts: new Map([['prod_1', { tags: ['sale'], collectionIds: [] }]]) }
 * ```
 */
export interface RuleCart {
  currency: string
  lines: RuleLine[]
  /** Each product's tags (lower case) and collection ids; products not in the map have none. */
  facts?: ReadonlyMap<string, { tags: readonly string[]; collectionIds: readonly string[] }>
  /** The customer's groups (empty for a guest). */
  groupIds?: ReadonlySet<string>
}

/**
 * The lines a promotion's line conditions match: every line when it has none.
 *
 * @example
 * ```ts
 * declare const ruleCart: RuleCart
 * const socks = matchingLines({ conditions: { tags: ['wool'] } }, ruleCart)
 * ```
 */
export function matchingLines(promotion: Pick<RulePromotion, 'conditions'>, cart: RuleCart): RuleLine[] {
  const c = promotion.conditions
  if (!hasLineConditions(c)) return cart.lines
  const tags = new Set((c.tags ?? []).map((t) => t.toLowerCase()))
  return cart.lines.filter((line) => {
    if (c.productIds?.includes(line.productId)) return true
    if (c.variantIds?.includes(line.variantId)) return true
    const facts = cart.facts?.get(line.productId)
    if (facts && c.collectionIds?.some((id) => facts.collectionIds.includes(id))) return true
    if (facts && tags.size && facts.tags.some((t) => tags.has(t))) return true
    return false
  })
}

/** True when a promotion picks lines by product, variant, collection or tag. @internal */
export function hasLineConditions(c: Conditions): boolean {
  return Boolean(c.productIds?.length || c.variantIds?.length || c.collectionIds?.length || c.tags?.length)
}

/**
 * True when the promotion's conditions hold for the cart (dates, activity and limits are the plugin's).
 *
 * @example
 * ```ts
 * declare const ruleCart: RuleCart
 * qualifies({ discount: { type: 'free_shipping' }, conditions: { minSubtotal: { amount: 5000, currency: 'USD' } } }, ruleCart)
 * ```
 */
export function qualifies(promotion: Pick<RulePromotion, 'conditions' | 'discount'>, cart: RuleCart): boolean {
  const c = promotion.conditions
  if (promotion.discount.type === 'fixed' && promotion.discount.currency !== cart.currency) return false
  if (c.minSubtotal) {
    if (c.minSubtotal.currency !== cart.currency) return false
    const subtotal = cart.lines.reduce((sum, l) => sum + l.subtotal, 0)
    if (subtotal < c.minSubtotal.amount) return false
  }
  if (c.customerGroupIds?.length && !c.customerGroupIds.some((g) => cart.groupIds?.has(g))) return false
  if (hasLineConditions(c) && matchingLines(promotion, cart).length === 0) return false
  return true
}

/**
 * Which units a buy-X-get-Y discounts, by line: the units of `lines` are ranked by unit price,
 * cheapest first (ties: the later line in the cart first, so the earlier lines are the ones
 * "bought"); for every complete group of `buy + get` units, `get` units are discounted, taken from
 * the cheapest. So "buy 2 get 1 free" on 3 units at 30, 20 and 10 discounts the 10; on 6 units it
 * discounts the 2 cheapest. Returns a count per line id (0 for lines with none), summing to
 * `floor(units / (buy + get)) × get`.
 *
 * @example
 * ```ts
 * buyXGetYUnits([{ id: 'a', unitPrice: 3000, quantity: 2 }, { id: 'b', unitPrice: 1000, quantity: 1 }], 2, 1)
 * // Map { 'a' => 0, 'b' => 1 }
 * ```
 */
export function buyXGetYUnits(lines: ReadonlyArray<{ id: string; unitPrice: number; quantity: number }>, buy: number, get: number): Map<string, number> {
  const counts = new Map(lines.map((l) => [l.id, 0]))
  if (!(Number.isSafeInteger(buy) && buy >= 1 && Number.isSafeInteger(get) && get >= 1)) return counts
  const units = lines.reduce((sum, l) => sum + Math.max(0, l.quantity), 0)
  let free = Math.floor(units / (buy + get)) * get
  const ranked = lines.map((l, index) => ({ l, index })).sort((a, b) => a.l.unitPrice - b.l.unitPrice || b.index - a.index)
  for (const { l } of ranked) {
    if (free === 0) break
    const take = Math.min(free, Math.max(0, l.quantity))
    counts.set(l.id, take)
    free -= take
  }
  return counts
}

/**
 * What is left of each line and of shipping as adjustments are applied, as core applies them
 * (clamped to what is left, split by largest remainder).
 *
 * @example
 * ```ts
 * const left = new Remaining([{ id: 'a', productId: 'p', variantId: 'v', quantity: 1, unitPrice: 1000, subtotal: 1000 }], 500)
 * left.apply({ code: 'X', label: 'X', amount: 1200 }) // 1000: clamped
 * left.left() // 0
 * ```
 */
export class Remaining {
  readonly lines: Map<string, number>
  shipping: number

  constructor(lines: readonly RuleLine[], shipping: number) {
    this.lines = new Map(lines.map((l) => [l.id, l.subtotal]))
    this.shipping = Math.max(0, shipping)
  }

  clone(): Remaining {
    const copy = Object.create(Remaining.prototype) as Remaining
    ;(copy as { lines: Map<string, number> }).lines = new Map(this.lines)
    copy.shipping = this.shipping
    return copy
  }

  /** Applies one adjustment: clamped to what is left, split over its lines by largest remainder. Returns what it took off. */
  apply(adjustment: Adjustment): number {
    const wanted = Math.max(0, adjustment.amount)
    if (adjustment.target === 'shipping') {
      const amount = Math.min(wanted, this.shipping)
      this.shipping -= amount
      return amount
    }
    const targets = [...this.lines.keys()].filter((id) => !adjustment.lineIds || adjustment.lineIds.includes(id))
    const weights = targets.map((id) => this.lines.get(id)!)
    const room = weights.reduce((a, b) => a + b, 0)
    const amount = Math.min(wanted, room)
    if (amount === 0) return 0
    const parts = allocate(amount, weights)
    targets.forEach((id, i) => this.lines.set(id, this.lines.get(id)! - parts[i]!))
    return amount
  }

  left(lineIds?: readonly string[]): number {
    let sum = 0
    for (const [id, amount] of this.lines) if (!lineIds || lineIds.includes(id)) sum += amount
    return sum
  }
}

/**
 * The adjustments one promotion pushes, each computed on what the earlier adjustments left
 * (`remaining`, which it updates): its line part, or its shipping part (`part`), or both.
 * Percentages are exact (`applyRate`, half up), so 100% takes exactly what is left.
 *
 * @example
 * ```ts
 * declare const tenOff: RulePromotion
 * declare const ruleCart: RuleCart
 * const adjustments = promotionAdjustments(tenOff, ruleCart, new Remaining(ruleCart.lines, 500), 'both')
 * ```
 */
export function promotionAdjustments(promotion: RulePromotion, cart: RuleCart, remaining: Remaining, part: 'lines' | 'shipping' | 'both'): Adjustment[] {
  const d = promotion.discount
  const base = { code: promotion.code, label: promotion.label, source: 'promotions' as const }
  const out: Adjustment[] = []
  const push = (adjustment: Adjustment) => {
    const taken = remaining.apply(adjustment)
    if (taken > 0) out.push({ ...adjustment, amount: taken })
  }
  if (d.type === 'shipping_percentage' || d.type === 'free_shipping') {
    if (part === 'lines') return out
    const amount = d.type === 'free_shipping' ? remaining.shipping : applyRate(remaining.shipping, percent(d.percent))
    push({ ...base, amount, target: 'shipping' })
    return out
  }
  if (part === 'shipping') return out
  const matching = matchingLines(promotion, cart)
  const lineIds = hasLineConditions(promotion.conditions) ? matching.map((l) => l.id) : undefined
  if (d.type === 'percentage') {
    const scope = d.appliesTo === 'matching_lines' ? lineIds : undefined
    push({ ...base, amount: applyRate(remaining.left(scope), percent(d.percent)), ...(scope ? { lineIds: scope } : {}) })
  } else if (d.type === 'fixed') {
    const scope = d.appliesTo === 'matching_lines' ? lineIds : undefined
    push({ ...base, amount: Math.min(d.amount, remaining.left(scope)), ...(scope ? { lineIds: scope } : {}) })
  } else {
    const units = buyXGetYUnits(matching, d.buy, d.get)
    const rate = percent(d.percent)
    for (const line of matching) {
      const count = units.get(line.id) ?? 0
      if (count === 0) continue
      push({ ...base, amount: applyRate(count * line.unitPrice, rate), lineIds: [line.id] })
    }
  }
  return out
}

/**
 * The order promotions are applied in: higher priority first, then the earlier created, then the smaller id.
 *
 * @example
 * ```ts
 * declare const promotions: RulePromotion[]
 * const inOrder = [...promotions].sort(byPriority)
 * ```
 */
export function byPriority(a: RulePromotion, b: RulePromotion): number {
  return b.priority - a.priority || (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * The class of a discount: `lines` (percentage, fixed, buy X get Y) or `shipping` (a percentage off
 * shipping, free shipping). Stacking is decided within each class.
 *
 * @example
 * ```ts
 * discountClass({ type: 'free_shipping' }) // 'shipping'
 * ```
 */
export function discountClass(discount: Discount): 'lines' | 'shipping' {
  return discount.type === 'free_shipping' || discount.type === 'shipping_percentage' ? 'shipping' : 'lines'
}

/**
 * Which promotions of one class apply, the adjustments they push, and what they take off in all.
 *
 * @example
 * ```ts
 * declare const selection: Selection
 * const names = selection.chosen.map((p) => p.label)
 * ```
 */
export interface Selection {
  /** The promotions chosen, in the order they are applied. */
  chosen: RulePromotion[]
  /** Their adjustments, in that order. */
  adjustments: Adjustment[]
  /** What they take off in all. */
  value: number
}

/**
 * The stacking rule, within one class of discounts ({@link discountClass}). Of the qualifying
 * promotions of the class, two kinds of choice compete: **all the combinable ones together**,
 * applied in priority order ({@link byPriority}, each on what the earlier left), and **each
 * exclusive one alone**. The choice that takes off the most wins; a tie goes to the combinable set,
 * then to the exclusive promotion first in priority order. Line discounts and shipping discounts are
 * two classes chosen apart (a free-shipping code combines with 10% off the order; two exclusive
 * line promotions do not), because the shipping charge is quoted on the lines once discounted.
 */
function choose(candidates: readonly RulePromotion[], cls: 'lines' | 'shipping', cart: RuleCart, start: Remaining): Selection {
  const run = (set: RulePromotion[]): Selection => {
    const remaining = start.clone()
    const adjustments: Adjustment[] = []
    let value = 0
    for (const p of set) {
      for (const a of promotionAdjustments(p, cart, remaining, cls)) {
        value += a.amount
        adjustments.push(a)
      }
    }
    return { chosen: set, adjustments, value }
  }
  const eligible = candidates.filter((p) => discountClass(p.discount) === cls && qualifies(p, cart)).sort(byPriority)
  let best = run(eligible.filter((p) => p.stacking === 'combinable'))
  for (const p of eligible) {
    if (p.stacking !== 'exclusive') continue
    const alone = run([p])
    if (alone.value > best.value) best = alone
  }
  return best
}

/**
 * The line discounts of a cart, by the stacking rule (see the README): the best of all combinable
 * line promotions together and each exclusive one alone. `before` are line adjustments other
 * plugins pushed already: promotions apply to what they left.
 *
 * @example
 * ```ts
 * declare const candidates: RulePromotion[]
 * declare const ruleCart: RuleCart
 * const { chosen, adjustments } = selectPromotions(candidates, ruleCart)
 * ```
 */
export function selectPromotions(candidates: readonly RulePromotion[], cart: RuleCart, before: readonly Adjustment[] = []): Selection {
  const start = new Remaining(cart.lines, 0)
  for (const a of before) if (a.target !== 'shipping') start.apply(a)
  return choose(candidates, 'lines', cart, start)
}

/**
 * The shipping discounts of a cart, by the same rule among shipping promotions, on the shipping
 * charge as quoted (`shipping`), less what `before` (other shipping adjustments) took off.
 *
 * @example
 * ```ts
 * declare const candidates: RulePromotion[]
 * declare const ruleCart: RuleCart
 * const { adjustments } = selectShippingPromotions(candidates, ruleCart, 500)
 * ```
 */
export function selectShippingPromotions(candidates: readonly RulePromotion[], cart: RuleCart, shipping: number, before: readonly Adjustment[] = []): Selection {
  const start = new Remaining([], shipping)
  for (const a of before) if (a.target === 'shipping') start.apply(a)
  return choose(candidates, 'shipping', cart, start)
}
