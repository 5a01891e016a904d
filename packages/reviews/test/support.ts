import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { createCommerce, fixedRateTax, flatRateShipping, isCommerceError, testPayments, type Order, type Plugin, type Product } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
// The PostgreSQL test harness is the adapter's own: a fresh database per shop on the server the
// vitest globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { reviews, type ReviewsOptions } from '../src/index.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

const address = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

async function engineOn(storage: 'sqlite' | 'postgres', options: ReviewsOptions, database: FreshDatabase | undefined, extra: Plugin[]) {
  return createCommerce({
    storage: storage === 'sqlite' ? sqliteStorage({ filename: ':memory:' }) : postgresStorage({ connectionString: database!.url, pool: { max: 10 } }),
    payments: [testPayments()],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
    tax: fixedRateTax({ rate: '8' }),
    // The extra plugins (a test's own) add nothing to the engine's types: typed as no plugins at all.
    plugins: [reviews(options), ...(extra as [])],
    onListenerError: () => undefined,
  })
}

export type ReviewShop = Awaited<ReturnType<typeof openShop>>

/** An engine with the reviews plugin (then `plugins`) on a new database, and two products in stock to buy and review. */
export async function openShop(storage: 'sqlite' | 'postgres', options: ReviewsOptions = {}, plugins: Plugin[] = []) {
  const database = storage === 'postgres' ? await freshDatabase() : undefined
  const commerce = await engineOn(storage, options, database, plugins)
  const location = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  const product = async (title: string, sku: string): Promise<Product> => {
    const p = await commerce.catalog.createProduct({ title, variants: [{ sku, prices: [{ currency: 'USD', amount: 12900 }] }] })
    await commerce.inventory.setStock({ variantId: p.variants[0]!.id, locationId: location.id, onHand: 100 })
    return p
  }
  const shoe = await product('Trail Runner', 'TR-1')
  const sock = await product('Wool Sock', 'WS-1')

  return {
    commerce,
    shoe,
    sock,
    /** Places an order of one unit of each product, under `email`. */
    async buy(email: string, ...products: Product[]): Promise<Order> {
      const cart = await commerce.carts.create({ currency: 'USD' })
      for (const p of products) await commerce.carts.addItem(cart.id, { variantId: p.variants[0]!.id, quantity: 1 })
      await commerce.carts.update(cart.id, { email, shippingAddress: address })
      await commerce.carts.setShippingOption(cart.id, 'flat:standard')
      const result = await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
      if (result.status === 'requires_action') throw new Error('the test gateway asked for an action')
      return result
    },
    /** Rows of the plugin's tables as stored, in a stable order. */
    async tables() {
      const db = commerce.db
      const rows = async (query: string) => (await sql.raw<Record<string, unknown>>(query).execute(db)).rows
      return {
        reviews: await rows('select id, product_id, email, email_key, email_verified, name, rating, title, body, status, verified_buyer, rejection_reason from reviews_reviews order by id'),
        summaries: await rows('select product_id, review_count, rating_sum from reviews_summaries order by product_id'),
        purchases: await rows('select order_id, product_id, email_key from reviews_purchases order by order_id, product_id'),
        buyers: await rows('select email_key, product_id from reviews_buyers order by email_key, product_id'),
      }
    },
    /** The approved ratings of a product, straight from the reviews table. */
    async approvedRatings(productId: string): Promise<number[]> {
      const { rows } = await sql<{ rating: number }>`select rating from reviews_reviews where product_id = ${productId} and status = 'approved'`.execute(commerce.db)
      return rows.map((r) => Number(r.rating))
    },
    async close() {
      await commerce.close()
      await database?.drop()
    },
  }
}

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

/** A small seeded generator (mulberry32), so a failing sequence replays. */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
