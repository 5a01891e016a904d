/**
 * The workload every scenario shares: one product with one variant and plenty of stock,
 * flat shipping, a fixed 8 % tax, and one shopper's 7-step checkout through the engine.
 * Imports only the engine packages (no better-sqlite3), so the memory check can load it
 * from built `dist` too.
 */
import { randomUUID } from 'node:crypto'
import { createCommerce, fixedRateTax, flatRateShipping, testPayments, type Commerce, type CommerceOptions } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'

export const SEED = {
  currency: 'USD',
  price: 12_900,
  shippingOptionId: 'flat:standard',
  shipping: 500,
  taxPercent: 8,
  stock: 100_000_000,
  email: 'ada@example.com',
  address: { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' },
} as const

/** 8 % of an amount in minor units, rounded half up (what fixedRateTax does for one line). */
const tax = (amount: number) => Math.floor((amount * SEED.taxPercent * 2 + 100) / 200)

/** Totals of a one-line cart, computed the way the engine does for this seed. */
export function totalsFor(unitPrice: number, quantity: number) {
  const subtotal = unitPrice * quantity
  const lineTax = tax(subtotal)
  const taxTotal = lineTax + tax(SEED.shipping)
  return { subtotal, lineTax, discountTotal: 0, shippingTotal: SEED.shipping, taxTotal, total: subtotal + SEED.shipping + taxTotal }
}

/** Total of every order the workload places (12 900 + 500 shipping + 1 072 tax). */
export const EXPECTED_TOTAL = totalsFor(SEED.price, 1).total

/** Opens an engine on `filename` (WAL + synchronous=NORMAL: the adapter's defaults for files), migrates and seeds it. */
export async function seedShop(filename: string): Promise<{ commerce: Commerce; variantId: string }> {
  const commerce = await createCommerce({ storage: sqliteStorage({ filename }), ...shopProviders() })
  return { commerce, variantId: await seedCatalog(commerce) }
}

/** Steps 1–4: create a cart, add the item, set email + address, choose shipping. Returns the cart id. */
export async function engineReadyCart(commerce: Commerce, variantId: string): Promise<string> {
  const cart = await commerce.carts.create({ currency: SEED.currency })
  await commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
  await commerce.carts.update(cart.id, { email: SEED.email, shippingAddress: SEED.address })
  await commerce.carts.setShippingOption(cart.id, SEED.shippingOptionId)
  return cart.id
}

/** Steps 5–7 in one call: reserve + pending payment, authorize (test gateway, in memory), place the order. Returns the order total. */
export async function engineComplete(commerce: Commerce, cartId: string): Promise<number> {
  const result = await commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
  // The in-memory test gateway approves at once: never a customer action here.
  if (result.status === 'requires_action') throw new Error('the test gateway asked for a customer action')
  return result.totals.total
}

/** One shopper's whole checkout through the public API: the 7 steps of floor B. */
export async function engineCheckout(commerce: Commerce, variantId: string): Promise<number> {
  return engineComplete(commerce, await engineReadyCart(commerce, variantId))
}

// ---------------------------------------------------------------------------------------------
// The same shop on any storage adapter (used by the PostgreSQL bench, postgres-checkout.ts)
// ---------------------------------------------------------------------------------------------

/** The providers every engine of the workload is composed with: test gateway, flat shipping, 8 % tax. */
export function shopProviders(): Pick<CommerceOptions, 'payments' | 'shipping' | 'tax' | 'onListenerError'> {
  return {
    payments: [testPayments()],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { [SEED.currency]: SEED.shipping } }] })],
    tax: fixedRateTax({ rate: String(SEED.taxPercent) }),
    onListenerError: () => undefined,
  }
}

/** Seeds the workload's catalog through an engine on any storage: one product, one variant, `SEED.stock` units at one location. Returns the variant id. */
export async function seedCatalog(commerce: Commerce): Promise<string> {
  const product = await commerce.catalog.createProduct({
    title: 'Trail Runner',
    options: [{ name: 'Size', values: ['42'] }],
    variants: [{ sku: 'TR-42', options: { Size: '42' }, weightGrams: 600, prices: [{ currency: SEED.currency, amount: SEED.price }] }],
  })
  const warehouse = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  const variantId = product.variants[0]!.id
  await commerce.inventory.setStock({ variantId, locationId: warehouse.id, onHand: SEED.stock })
  return variantId
}
