import { parseJson } from '../db/rows.js'
import type { PriceOverride } from '../types.js'

/**
 * @internal The price staff set for a draft's line (`drafts.overridePrice`), parsed from the line's
 * `price_override`; null for a line without one (every shopper's line). Pricing charges it instead
 * of the catalog's and the price sources' price (see cart-pricing.ts).
 */
export function overriddenPrice(line: { price_override?: string | null }): PriceOverride | null {
  return line.price_override ? parseJson<PriceOverride | null>(line.price_override, null) : null
}
