import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { createCommerce, flatRateShipping, isCommerceError, noTax, testPayments, type Cart, type Product } from '@cartwright/core'
import { customers } from '@cartwright/customers'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
// The PostgreSQL test harness is the adapter's own: a fresh database per shop on the server the
// vitest globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { migrateCore } from '../../storage-postgres/test/support/migrated.js'
import { b2b, type B2bOptions } from '../src/index.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

const address = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

export type B2bShop = Awaited<ReturnType<typeof openShop>>

/** An engine with the customers and b2b plugins on a new database, and products in stock. */
export async function openShop(storage: 'sqlite' | 'postgres', options: B2bOptions = {}) {
  const database = storage === 'postgres' ? await freshDatabase({ template: migrateCore }) : undefined
  const gateway = testPayments()
  const plugin = b2b(options)
  // The engine's clock: the system's, moved forward by `advance`.
  let offset = 0
  const commerce = await createCommerce({
    now: () => new Date(Date.now() + offset),
    storage: storage === 'sqlite' ? sqliteStorage({ filename: ':memory:' }) : postgresStorage({ connectionString: database!.url, pool: { max: 10 } }),
    payments: [gateway],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 0 } }] })],
    tax: noTax(),
    plugins: [customers(), plugin],
    onListenerError: () => undefined,
  })
  const location = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  const product = async (title: string, sku: string, amount: number, onHand = 1000): Promise<Product> => {
    const p = await commerce.catalog.createProduct({ title, variants: [{ sku, prices: [{ currency: 'USD', amount }] }] })
    await commerce.inventory.setStock({ variantId: p.variants[0]!.id, locationId: location.id, onHand })
    return p
  }
  /** 10.00 a unit. */
  const bolt = await product('Bolt', 'BOLT-1', 1000)
  /** 325.00 a unit: two make a 650.00 cart. */
  const drill = await product('Drill', 'DRILL-1', 32500)

  const rows = async (query: string) => (await sql.raw<Record<string, unknown>>(query).execute(commerce.db)).rows

  return {
    commerce,
    gateway,
    /** The b2b plugin as composed: its invoice provider is `plugin.payments[0]`. */
    plugin,
    bolt: bolt.variants[0]!.id,
    drill: drill.variants[0]!.id,
    product,
    /** A cart of `customerId` with the lines given, addressed and with shipping chosen. */
    async cart(customerId: string | null, lines: Array<[variantId: string, quantity: number]>): Promise<Cart> {
      const cart = await commerce.carts.create({ currency: 'USD', ...(customerId ? { customerId } : {}) })
      for (const [variantId, quantity] of lines) await commerce.carts.addItem(cart.id, { variantId, quantity })
      await commerce.carts.update(cart.id, { email: 'buyer@example.com', shippingAddress: address })
      return commerce.carts.setShippingOption(cart.id, 'flat:standard')
    },
    checkout(cartId: string, provider = 'test') {
      return commerce.checkout.complete(cartId, { payment: { provider }, idempotencyKey: randomUUID() })
    },
    rows,
    /** Moves the engine's clock forward by `ms`. */
    advance(ms: number) {
      offset += ms
    },
    /** Every b2b table's rows, in a stable order: for "storage unchanged" checks. */
    async b2bTables() {
      const out: Record<string, unknown[]> = {}
      for (const table of ['b2b_price_lists', 'b2b_price_list_prices', 'b2b_companies', 'b2b_members', 'b2b_approvals', 'b2b_cart_po', 'b2b_order_links', 'b2b_quantity_rules', 'b2b_quotes', 'b2b_quote_lines', 'b2b_invoices', 'b2b_invoice_refunds']) {
        out[table] = await rows(`select * from ${table} order by 1`)
      }
      return out
    },
    async close() {
      await commerce.close()
      await database?.drop()
    },
  }
}

/** The error a promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<{ code: string; fields: string[]; message: string; details: Record<string, unknown> }> {
  try {
    await promise
  } catch (error) {
    if (!isCommerceError<string>(error)) throw error
    return { code: error.code, fields: (error.details.fields as string[] | undefined) ?? [], message: error.message, details: error.details }
  }
  throw new Error('expected a rejection, got a result')
}
