import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { createCommerce, flatRateShipping, isCommerceError, testPayments, type Address, type Cart, type Order, type Plugin } from '@cartwright/core'
import { customers } from '@cartwright/customers'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
// The PostgreSQL test harness is the adapter's own: a fresh database per shop on the server the
// vitest globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { migrateCore } from '../../storage-postgres/test/support/migrated.js'
import { taxRules, type TaxRulesOptions } from '../src/index.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

/** A French shop selling across the EU and to New York; Germany's standard rate was 16% in the second half of 2020. */
export const SHOP_RULES: TaxRulesOptions = {
  origin: 'FR',
  jurisdictions: [
    { id: 'FR', name: 'TVA', country: 'FR', rates: { standard: '20', reduced: '5.5' } },
    {
      id: 'DE',
      name: 'MwSt',
      country: 'DE',
      rates: {
        standard: [
          { rate: '19', until: '2020-07-01T00:00:00+02:00' },
          { rate: '16', from: '2020-07-01T00:00:00+02:00', until: '2021-01-01T00:00:00+01:00' },
          { rate: '19', from: '2021-01-01T00:00:00+01:00' },
        ],
        reduced: '7',
      },
    },
    { id: 'DE-HELGOLAND', name: 'No VAT (outside the EU VAT area)', country: 'DE', postalPrefixes: ['27498'], rates: { standard: '0' } },
    { id: 'US-NY', name: 'NY State sales tax', country: 'US', region: 'NY', rates: { standard: '4' }, shipping: false },
    { id: 'US-NY-NYC', name: 'NYC sales tax', country: 'US', region: 'NY', postalPrefixes: ['100', '101', '102', '103', '104'], stack: true, rates: { standard: '4.5' }, shipping: false },
    { id: 'US-NY-MCTD', name: 'MCTD surcharge', country: 'US', region: 'NY', postalPrefixes: ['10', '11'], stack: true, rates: { standard: '0.375' }, shipping: false },
  ],
  exemptGroups: [{ group: 'diplomats', reason: 'Diplomatic mission (Art. 151 Directive 2006/112/EC)' }],
}

export const ADDRESSES = {
  paris: { firstName: 'Ada', lastName: 'Lovelace', line1: '10 rue de Rivoli', city: 'Paris', postalCode: '75001', country: 'FR' },
  berlin: { firstName: 'Ada', lastName: 'Lovelace', line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' },
  helgoland: { firstName: 'Ada', lastName: 'Lovelace', line1: 'Lung Wai 1', city: 'Helgoland', postalCode: '27498', country: 'DE' },
  manhattan: { firstName: 'Ada', lastName: 'Lovelace', line1: '350 Fifth Avenue', city: 'New York', region: 'NY', postalCode: '10118', country: 'US' },
  albany: { firstName: 'Ada', lastName: 'Lovelace', line1: '1 State St', city: 'Albany', region: 'NY', postalCode: '12207', country: 'US' },
} satisfies Record<string, Address>

export type TaxShop = Awaited<ReturnType<typeof openShop>>

/**
 * An engine with the tax rules (and, unless `withCustomers` is false, the customers plugin) on a
 * new database, its clock at `start` until moved, and two products: a lamp (standard class, 100.00)
 * and a book (`reduced`, 20.00), priced in EUR and USD, without tax.
 */
export async function openShop(storage: 'sqlite' | 'postgres', options: { rules?: TaxRulesOptions; withCustomers?: boolean; start?: string; plugins?: Plugin[]; pricesIncludeTax?: boolean } = {}) {
  const database: FreshDatabase | undefined = storage === 'postgres' ? await freshDatabase({ template: migrateCore }) : undefined
  let now = new Date(options.start ?? '2026-03-01T10:00:00.000Z')
  const plugin = taxRules(options.rules ?? SHOP_RULES)
  const storageAdapter = storage === 'sqlite' ? sqliteStorage({ filename: ':memory:' }) : postgresStorage({ connectionString: database!.url, pool: { max: 10 } })
  const shipping = [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { EUR: 500, USD: 500 } }] })]
  // Without the customers plugin the engine has no `customers` service: typed as if it had, for the
  // tests that use it. A test's own plugins add nothing to the engine's type.
  const plugins = [...(options.withCustomers === false ? [plugin] : [customers(), plugin]), ...(options.plugins ?? [])] as unknown as [ReturnType<typeof customers>, typeof plugin]
  const commerce = await createCommerce({ now: () => now, pricesIncludeTax: options.pricesIncludeTax ?? false, storage: storageAdapter, payments: [testPayments()], shipping, plugins, onListenerError: () => undefined })
  const location = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  const product = async (title: string, sku: string, amount: number, taxClass: string | null) => {
    const p = await commerce.catalog.createProduct({ title, variants: [{ sku, taxClass, prices: [{ currency: 'EUR', amount }, { currency: 'USD', amount }] }] })
    await commerce.inventory.setStock({ variantId: p.variants[0]!.id, locationId: location.id, onHand: 1000 })
    return p.variants[0]!.id
  }
  const lamp = await product('Lamp', 'LAMP-1', 10000, null)
  const book = await product('Book', 'BOOK-1', 2000, 'reduced')
  const raw = async (query: string, values: unknown[]) => {
    const parts = query.split(/\$\d/)
    const statement = sql.join(
      parts.map((p, i) => (i < values.length ? sql`${sql.raw(p)}${values[i]}` : sql.raw(p))),
      sql``,
    )
    return (await sql<Record<string, unknown>>`${statement}`.execute(commerce.db)).rows
  }

  return {
    commerce,
    /** The plugin as composed: its tax provider is `plugin.tax`. */
    plugin,
    lamp,
    book,
    /** Moves the engine's clock to `instant`. */
    setNow(instant: string) {
      now = new Date(instant)
    },
    /** A cart (of `customerId`, when given) with one lamp and one book, shipped to `address` with shipping chosen. */
    async cart(address: Address, options: { currency?: 'EUR' | 'USD'; customerId?: string; vatNumber?: string } = {}): Promise<Cart> {
      const cart = await commerce.carts.create({ currency: options.currency ?? 'EUR', ...(options.customerId ? { customerId: options.customerId } : {}) })
      await commerce.carts.addItem(cart.id, { variantId: lamp, quantity: 1 })
      await commerce.carts.addItem(cart.id, { variantId: book, quantity: 1 })
      await commerce.carts.update(cart.id, { email: 'buyer@example.com', shippingAddress: address })
      await commerce.carts.setShippingOption(cart.id, 'flat:standard')
      if (options.vatNumber) await commerce['tax-rules'].setCartProfile(cart.id, { vatNumber: options.vatNumber })
      return commerce.carts.get(cart.id)
    },
    async checkout(cartId: string): Promise<Order> {
      const result = await commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
      if (result.status === 'requires_action') throw new Error('the test gateway asked for an action')
      return result
    },
    /** Rows by SQL with `$1`, `$2`… parameters. */
    rows: (query: string, ...values: unknown[]) => raw(query, values),
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

/** A tax line as the assertions compare it. */
export const brief = (t: { jurisdiction: string; rate: string; amount: number; note: string | null }) => ({ jurisdiction: t.jurisdiction, rate: t.rate, amount: t.amount, note: t.note })
