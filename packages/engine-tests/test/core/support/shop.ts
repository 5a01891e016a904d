import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { afterEach } from 'vitest'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import {
  createCommerce,
  fixedRateTax,
  flatRateShipping,
  testPayments,
  type Commerce,
  type CommerceOptions,
  type TestPayments,
  type Product,
  type StockLocation,
} from '@cartwright/core'

export const address = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

export interface Shop {
  commerce: Commerce
  payments: TestPayments
  shoe: Product
  warehouse: StockLocation
  /** Variant id of the Trail Runner, size 42, blue. */
  variantId: string
  close(): Promise<void>
}

/** An engine on SQLite with the Trail Runner seeded: 10 units of size 42 blue at one warehouse. */
export async function openShop(options: Partial<CommerceOptions> & { filename?: string; stock?: number } = {}): Promise<Shop> {
  const payments = testPayments()
  const { filename, stock, ...rest } = options
  const commerce = await createCommerce({
    storage: sqliteStorage({ filename: filename ?? ':memory:' }),
    payments: [payments],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500, JPY: 800, KWD: 2500 } }] })],
    tax: fixedRateTax({ rate: '8' }),
    onListenerError: () => undefined,
    ...rest,
  })
  const shoe = await commerce.catalog.createProduct({
    title: 'Trail Runner',
    options: [
      { name: 'Size', values: ['42', '43'] },
      { name: 'Color', values: ['Blue', 'Black'] },
    ],
    variants: [
      { sku: 'TR-42-BLU', options: { Size: '42', Color: 'Blue' }, weightGrams: 600, prices: [{ currency: 'USD', amount: 12900 }, { currency: 'JPY', amount: 19000 }, { currency: 'KWD', amount: 39500 }] },
      { sku: 'TR-43-BLU', options: { Size: '43', Color: 'Blue' }, weightGrams: 620, prices: [{ currency: 'USD', amount: 12900 }] },
      { sku: 'TR-42-BLK', options: { Size: '42', Color: 'Black' }, weightGrams: 600, prices: [{ currency: 'USD', amount: 13900 }] },
      { sku: 'TR-43-BLK', options: { Size: '43', Color: 'Black' }, weightGrams: 620, prices: [{ currency: 'USD', amount: 13900 }] },
    ],
  })
  const warehouse = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  const variantId = shoe.variants[0]!.id
  await commerce.inventory.setStock({ variantId, locationId: warehouse.id, onHand: stock ?? 10 })
  for (const v of shoe.variants.slice(1)) await commerce.inventory.setStock({ variantId: v.id, locationId: warehouse.id, onHand: 100 })
  return { commerce, payments, shoe, warehouse, variantId, close: () => commerce.close() }
}

/** A cart ready to check out: one line, email, address and the standard shipping option. */
export async function readyCart(commerce: Commerce, variantId: string, quantity = 1, currency = 'USD') {
  const cart = await commerce.carts.create({ currency })
  await commerce.carts.addItem(cart.id, { variantId, quantity })
  await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
  return commerce.carts.setShippingOption(cart.id, 'flat:standard')
}

export function key(): string {
  return randomUUID()
}

/** A temporary directory removed by the returned function. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cartwright-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** For a test file whose tests each open their own shop: returns the opener, and closes the shop after each test. */
export function shopPerTest(): (options?: Partial<CommerceOptions> & { stock?: number }) => Promise<Shop> {
  let shop: Shop | undefined
  afterEach(async () => {
    await shop?.close()
    shop = undefined
  })
  return async (options = {}) => (shop = await openShop(options))
}
