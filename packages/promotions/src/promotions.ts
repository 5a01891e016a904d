import { definePlugin } from '@cartwright/core'

/** Options of {@link promotions}. */
export interface PromotionsOptions {}

/**
 * Coupon codes and automatic promotions as a plugin.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { promotions } from '@cartwright/promotions'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), plugins: [promotions()] })
 * ```
 */
export function promotions(_options: PromotionsOptions = {}) {
  return definePlugin({ id: 'promotions' })
}
