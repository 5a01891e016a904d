import { fixedRateTax, flatRateShipping, type Cart, type Commerce, type CommerceOptions } from '@cartwright/core'

/**
 * Fixtures shared by the PostgreSQL concurrency tests (race.test.ts, terminate.test.ts) and
 * their worker processes, so a cart made in one process prices the same in another.
 */

export const address = { line1: '1 Main St', city: 'Springfield', country: 'US' }

/** Shipping and tax every engine of these tests is composed with. */
export function shopProviders(): Pick<CommerceOptions, 'shipping' | 'tax'> {
  return {
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
    tax: fixedRateTax({ rate: '10' }),
  }
}

/** Seeds one product with one variant and `onHand` units of it at one location. */
export async function seedVariant(commerce: Commerce, onHand: number): Promise<{ variantId: string; locationId: string }> {
  const product = await commerce.catalog.createProduct({
    title: 'Trail Runner',
    options: [{ name: 'Size', values: ['42'] }],
    variants: [{ sku: 'TR-42', options: { Size: '42' }, prices: [{ currency: 'USD', amount: 12900 }] }],
  })
  const variantId = product.variants[0]!.id
  const location = await commerce.inventory.createLocation({ name: 'Main', code: 'main' })
  await commerce.inventory.setStock({ variantId, locationId: location.id, onHand })
  return { variantId, locationId: location.id }
}

/** A cart that can be checked out at once: one line, an email, an address, a shipping option. */
export async function readyCart(commerce: Commerce, variantId: string, quantity = 1): Promise<Cart> {
  const cart = await commerce.carts.create({ currency: 'USD' })
  await commerce.carts.addItem(cart.id, { variantId, quantity })
  await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
  return commerce.carts.setShippingOption(cart.id, 'flat:standard')
}

/** Maps `items` with at most `limit` calls in flight, keeping the input order in the result. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return results
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence in every process. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A Fisher–Yates shuffle driven by `random`; returns a new array. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
