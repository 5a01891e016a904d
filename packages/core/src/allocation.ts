/** Stock of one variant at one location, as seen inside a write transaction. */
export interface LevelSnapshot {
  id: string
  variantId: string
  locationId: string
  priority: number
  available: number
}

/** Units of one variant to reserve at one level. */
export interface LevelAllocation {
  levelId: string
  variantId: string
  locationId: string
  quantity: number
}

/** A variant whose requested quantity exceeds what all locations together have. */
export interface Shortage {
  variantId: string
  requested: number
  available: number
}

/**
 * Decides where to take stock from, as a pure function. For each variant, the first location
 * (by priority, lowest first, then by location id) that can ship the whole quantity is used;
 * otherwise the quantity is split over locations in priority order. Quantities are summed per
 * variant by the caller.
 *
 * @example
 * ```ts
 * const levels: LevelSnapshot[] = [
 *   { id: 'lvl_berlin', variantId: 'var_1', locationId: 'loc_berlin', priority: 0, available: 2 },
 *   { id: 'lvl_paris', variantId: 'var_1', locationId: 'loc_paris', priority: 1, available: 5 },
 * ]
 * allocateStock(new Map([['var_1', 3]]), levels).allocations // 3 from Paris: it can ship them all
 * allocateStock(new Map([['var_1', 6]]), levels).allocations // 2 from Berlin, then 4 from Paris
 * allocateStock(new Map([['var_1', 8]]), levels).shortages // [{ variantId: 'var_1', requested: 8, available: 7 }]
 * ```
 */
export function allocateStock(
  requested: ReadonlyMap<string, number>,
  levels: readonly LevelSnapshot[],
): { allocations: LevelAllocation[]; shortages: Shortage[] } {
  const allocations: LevelAllocation[] = []
  const shortages: Shortage[] = []
  for (const [variantId, quantity] of requested) {
    const candidates = levels
      .filter((l) => l.variantId === variantId && l.available > 0)
      .sort((a, b) => a.priority - b.priority || (a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0))
    const total = candidates.reduce((sum, l) => sum + l.available, 0)
    if (total < quantity) {
      shortages.push({ variantId, requested: quantity, available: total })
      continue
    }
    const whole = candidates.find((l) => l.available >= quantity)
    if (whole) {
      allocations.push({ levelId: whole.id, variantId, locationId: whole.locationId, quantity })
      continue
    }
    let left = quantity
    for (const level of candidates) {
      if (left === 0) break
      const take = Math.min(left, level.available)
      allocations.push({ levelId: level.id, variantId, locationId: level.locationId, quantity: take })
      left -= take
    }
  }
  return { allocations, shortages }
}
