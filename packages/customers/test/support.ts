import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { createCommerce, definePlugin, fixedRateTax, flatRateShipping, isCommerceError, testPayments, type Order, type Plugin, type PluginContext, type Product } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
// The PostgreSQL test harness is the adapter's own: a fresh database per shop on the server the
// vitest globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { migrateCore } from '../../storage-postgres/test/support/migrated.js'
import { customers, type CustomersOptions } from '../src/index.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

export const address = { firstName: 'Adelina', lastName: 'Quenneville', line1: '17 Zephyr Lane', city: 'Brightholm', postalCode: 'ZX9 4QW', country: 'GB', phone: '+44 7700 900123' }

/** Fast hashing for tests only: the defaults are the library's recommended settings. */
export const FAST: CustomersOptions = { hashing: { memoryCost: 1024, timeCost: 1 } }

/** A price source for the tests: members of the `wholesale` group pay 80% of the base price. */
const wholesalePrices = () =>
  definePlugin({
    id: 'test-wholesale',
    init(ctx: PluginContext<Record<string, never>>) {
      ctx.priceSource({
        id: 'wholesale-group',
        priority: 10,
        async resolve(query, db) {
          if (!query.customerId) return query.lines.map(() => undefined)
          const { rows } = await sql<{ code: string }>`select g.code from customers_group_members m join customers_groups g on g.id = m.group_id where m.customer_id = ${query.customerId}`.execute(db)
          if (!rows.some((r) => r.code === 'wholesale')) return query.lines.map(() => undefined)
          return query.lines.map((l) => (l.base === null ? undefined : { amount: Math.round(l.base * 0.8), label: 'wholesale' }))
        },
      })
    },
  })

export type CustomerShop = Awaited<ReturnType<typeof openShop>>

/** An engine with the customers plugin (then `engine.plugins`) on a new database, and three products in stock. */
export async function openShop(storage: 'sqlite' | 'postgres', options: CustomersOptions = FAST, engine: { outbox?: { enabled: boolean }; plugins?: Plugin[] } = {}) {
  const database: FreshDatabase | undefined = storage === 'postgres' ? await freshDatabase({ template: migrateCore }) : undefined
  const commerce = await createCommerce({
    storage: storage === 'sqlite' ? sqliteStorage({ filename: ':memory:' }) : postgresStorage({ connectionString: database!.url, pool: { max: 10 } }),
    payments: [testPayments()],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
    tax: fixedRateTax({ rate: '8' }),
    // The extra plugins (a test's own) add nothing to the engine's types: typed as none.
    plugins: [customers(options), wholesalePrices(), ...((engine.plugins ?? []) as [])],
    onListenerError: () => undefined,
    ...(engine.outbox ? { outbox: engine.outbox } : {}),
  })
  const location = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  const product = async (title: string, sku: string, onHand: number, amount = 1000): Promise<Product> => {
    const p = await commerce.catalog.createProduct({ title, variants: [{ sku, prices: [{ currency: 'USD', amount }] }] })
    await commerce.inventory.setStock({ variantId: p.variants[0]!.id, locationId: location.id, onHand })
    return p
  }
  const a = await product('Anvil', 'A-1', 2)
  const b = await product('Bellows', 'B-1', 50)
  const c = await product('Chisel', 'C-1', 50)
  const variant = (p: Product) => p.variants[0]!.id

  return {
    commerce,
    location,
    a,
    b,
    c,
    variant,
    /** Checks out `cartId` (its email and address set) and returns the order. */
    async checkout(cartId: string, email: string): Promise<Order> {
      await commerce.carts.update(cartId, { email, shippingAddress: address, billingAddress: address })
      await commerce.carts.setShippingOption(cartId, 'flat:standard')
      const result = await commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
      if (result.status === 'requires_action') throw new Error('the test gateway asked for an action')
      return result
    },
    /** Every row of every table of the database, as text, by table. */
    async allRows(): Promise<Record<string, string[]>> {
      const db = commerce.db
      const tables =
        storage === 'sqlite'
          ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows.map((r) => r.name)
          : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db)).rows.map((r) => r.name)
      const out: Record<string, string[]> = {}
      for (const table of tables) {
        const { rows } = await sql.raw<Record<string, unknown>>(`select * from "${table}"`).execute(db)
        out[table] = rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v)))
      }
      return out
    },
    /** Rows of the plugin's and core's tables that a bad input must leave unchanged. */
    async snapshot(): Promise<string> {
      const rows = await this.allRows()
      return JSON.stringify(Object.entries(rows).filter(([t]) => t.startsWith('customers_') || t.startsWith('cw_')).sort())
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

/** Every row of `rows` that holds one of `needles` (case-insensitively), as "table: row". */
export function findings(rows: Record<string, string[]>, needles: string[]): string[] {
  const found: string[] = []
  for (const [table, list] of Object.entries(rows)) {
    for (const row of list) for (const n of needles) if (row.toLowerCase().includes(n.toLowerCase())) found.push(`${table} (${n}): ${row.slice(0, 300)}`)
  }
  return found
}
