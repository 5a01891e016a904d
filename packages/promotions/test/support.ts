import { randomUUID } from 'node:crypto'
import { createCommerce, fixedRateTax, flatRateShipping, isCommerceError, testPayments, type Order, type Plugin, type Product } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
// The PostgreSQL test harness is the adapter's own: a fresh database per shop on the server the
// vitest globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { migrateCore } from '../../storage-postgres/test/support/migrated.js'
import { promotions } from '../src/index.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

export const address = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

/** Shipping of the test shop: 5.00 flat. */
export const SHIPPING = 500

export interface ShopOptions {
  /** More plugins, composed after promotions (a customers plugin, for groups). */
  plugins?: Plugin[]
  /** A file instead of memory for SQLite. */
  file?: string
}

/**
 * An engine with the promotions plugin on a new database (SQLite in memory, or a fresh PostgreSQL
 * database with a pool of 10), no tax, 5.00 flat shipping, and three products in stock: a shoe at
 * 129.00 (tag `running`), a sock at 15.00 (tags `running`, `wool`), a hat at 25.00.
 */
export async function openShop(storage: 'sqlite' | 'postgres', options: ShopOptions = {}) {
  const database: FreshDatabase | undefined = storage === 'postgres' ? await freshDatabase({ template: migrateCore }) : undefined
  const gateway = testPayments({ keepCalls: Number.POSITIVE_INFINITY })
  const commerce = await createCommerce({
    storage: storage === 'sqlite' ? sqliteStorage({ filename: options.file ?? ':memory:' }) : postgresStorage({ connectionString: database!.url, pool: { max: 10 } }),
    payments: [gateway],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: SHIPPING } }] })],
    tax: fixedRateTax({ rate: '0' }),
    plugins: [promotions(), ...((options.plugins ?? []) as [])],
    onListenerError: () => undefined,
  })
  const location = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  const product = async (title: string, sku: string, amount: number, tags: string[]): Promise<Product> => {
    const p = await commerce.catalog.createProduct({ title, tags, variants: [{ sku, prices: [{ currency: 'USD', amount }] }] })
    await commerce.inventory.setStock({ variantId: p.variants[0]!.id, locationId: location.id, onHand: 100_000 })
    return p
  }
  const shoe = await product('Trail Runner', 'TR-1', 12900, ['running'])
  const sock = await product('Wool Sock', 'WS-1', 1500, ['running', 'wool'])
  const hat = await product('Sun Hat', 'SH-1', 2500, [])

  /** A cart of `items` (product and quantity), with `email`, address and the shipping option set; then each code entered. */
  async function cart(email: string, items: Array<[Product, number]>, extra: { codes?: string[]; customerId?: string } = {}): Promise<string> {
    const created = await commerce.carts.create({ currency: 'USD', ...(extra.customerId ? { customerId: extra.customerId } : {}) })
    for (const [p, quantity] of items) await commerce.carts.addItem(created.id, { variantId: p.variants[0]!.id, quantity })
    await commerce.carts.update(created.id, { email, shippingAddress: address })
    await commerce.carts.setShippingOption(created.id, 'flat:standard')
    for (const code of extra.codes ?? []) await commerce.promotions.applyCode(created.id, code)
    return created.id
  }

  return {
    commerce,
    gateway,
    shoe,
    sock,
    hat,
    cart,
    /** Checks a cart out with the test gateway. */
    async checkout(cartId: string, data: Record<string, unknown> = {}): Promise<Order> {
      const result = await commerce.checkout.complete(cartId, { payment: { provider: 'test', data }, idempotencyKey: randomUUID() })
      if (result.status === 'requires_action') throw new Error('the test gateway asked for an action')
      return result
    },
    async close() {
      await commerce.close()
      await database?.drop()
    },
  }
}

export type Shop = Awaited<ReturnType<typeof openShop>>

/** The error a promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<{ code: string; fields: string[]; message: string }> {
  try {
    await promise
  } catch (error) {
    if (!isCommerceError<string>(error)) throw error
    return { code: error.code, fields: (error.details.fields as string[] | undefined) ?? [], message: error.message }
  }
  throw new Error('expected a rejection, got a result')
}

/** Runs `work` over `items` with at most `limit` at once. */
export async function pool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]!, i)
  })
  await Promise.all(runners)
  return results
}
