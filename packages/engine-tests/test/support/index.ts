import { afterEach } from 'vitest'
import { openShop, type Shop, type ShopOptions } from './shop.js'

/**
 * The engine tests' one support module: the shop fixture on every storage, carts, keys, error
 * capture, waiting, and the harness for worker processes. Worker scripts import the files
 * below directly (they do not run under vitest).
 */
export * from './shop.js'
export * from './util.js'
export * from './worker.js'
export { freshDatabase, type FreshDatabase } from './postgres.js'

/** For a test file whose tests each open their own shop: returns the opener, and closes the shop after each test. */
export function shopPerTest(defaults: ShopOptions = {}): (options?: ShopOptions) => Promise<Shop> {
  let shop: Shop | undefined
  afterEach(async () => {
    await shop?.close()
    shop = undefined
  })
  return async (options = {}) => {
    await shop?.close()
    return (shop = await openShop({ ...defaults, ...options }))
  }
}
