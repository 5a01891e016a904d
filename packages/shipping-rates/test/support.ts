import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { createCommerce, fixedRateTax, isCommerceError, testPayments, type Address, type Carrier, type CheckoutResult, type Order, type Plugin, type Product, type ShippingProvider } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
// The PostgreSQL test harness is the adapter's own: a fresh database per shop on the server the
// vitest globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { migrateCore } from '../../storage-postgres/test/support/migrated.js'
import { manualCarrier, shippingRates, tableRates, type TableRatesOptions } from '../src/index.js'

/** The storages every engine test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

export const SECRET = 'test-secret-for-tracking-callbacks'

export const addresses = {
  berlin: { firstName: 'Ada', lastName: 'Lovelace', line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' },
  munich: { firstName: 'Ada', lastName: 'Lovelace', line1: 'Marienplatz 1', city: 'München', region: 'BY', postalCode: '80331', country: 'DE' },
  helgoland: { firstName: 'Ada', lastName: 'Lovelace', line1: 'Lung Wai 1', city: 'Helgoland', region: 'SH', postalCode: '27498', country: 'DE' },
} satisfies Record<string, Address>

/**
 * The rates the engine tests use, in EUR: Germany by weight (up to 1 kg 4.90, up to 5 kg 6.90,
 * heavier not offered), free from 50.00; express flat 12.00 up to 2 kg and not to Helgoland (region
 * SH, postal prefix 27498); click and collect at the shop's store.
 */
export function testRates(storeLocationId: string): TableRatesOptions {
  return {
    zones: [
      {
        id: 'de',
        name: 'Germany',
        countries: ['DE'],
        methods: [
          { id: 'standard', name: 'Standard', rates: { EUR: { type: 'weight', tiers: [{ maxGrams: 1000, amount: 490 }, { maxGrams: 5000, amount: 690 }], freeFrom: 5000 } }, minDays: 1, maxDays: 3 },
          { id: 'express', name: 'Express', rates: { EUR: { type: 'flat', amount: 1200 } }, minDays: 1, maxDays: 1, maxWeightGrams: 2000, excludePostalPrefixes: ['27498'] },
        ],
      },
    ],
    pickup: [{ id: 'store', name: 'Collect in store', locationId: storeLocationId, minDays: 0, maxDays: 0 }],
  }
}

export type Shop = Awaited<ReturnType<typeof openShop>>

/**
 * An engine with the shipping-rates plugin on a new database: a warehouse and a store (both with
 * 50 of everything), a 400 g mug at 12.00 and a 2.2 kg kettle at 45.00 (EUR), and `extra` plugins.
 * The rates ({@link testRates} by default) are made once the store's location id is known: the
 * provider is given to the engine as one that builds them on first use.
 */
export async function openShop(storage: 'sqlite' | 'postgres', options: { carriers?: Carrier[]; extra?: Plugin[]; rates?: (storeId: string) => TableRatesOptions } = {}) {
  const database = storage === 'postgres' ? await freshDatabase({ template: migrateCore }) : undefined
  let storeId: string | null = null
  let provider: ShippingProvider | null = null
  const lazyRates: ShippingProvider = {
    id: 'rates',
    quote: (input, db) => (provider ??= tableRates((options.rates ?? testRates)(storeId!))).quote(input, db),
  }
  const commerce = await createCommerce({
    storage: storage === 'sqlite' ? sqliteStorage({ filename: ':memory:' }) : postgresStorage({ connectionString: database!.url, pool: { max: 10 } }),
    payments: [testPayments()],
    tax: fixedRateTax({ rate: '19' }),
    shipping: [lazyRates],
    plugins: [
      shippingRates({
        carriers: options.carriers ?? [manualCarrier({ secret: SECRET })],
        shipFrom: { name: 'Cartwright Warehouse', address: { line1: 'Lagerstrasse 1', city: 'Hamburg', postalCode: '20095', country: 'DE' } },
      }),
      ...((options.extra ?? []) as []),
    ],
    onListenerError: () => undefined,
  })
  const warehouse = await commerce.inventory.createLocation({ name: 'Warehouse', code: 'warehouse' })
  const store = await commerce.inventory.createLocation({ name: 'Store', code: 'store' })
  storeId = store.id
  const product = async (title: string, sku: string, amount: number, weightGrams: number): Promise<Product> => {
    const p = await commerce.catalog.createProduct({ title, variants: [{ sku, weightGrams, prices: [{ currency: 'EUR', amount }] }] })
    for (const location of [warehouse, store]) await commerce.inventory.setStock({ variantId: p.variants[0]!.id, locationId: location.id, onHand: 50 })
    return p
  }
  const mug = await product('Mug', 'MUG-1', 1200, 400)
  const kettle = await product('Kettle', 'KETTLE-1', 4500, 2200)

  return {
    commerce,
    warehouse,
    store,
    mug,
    kettle,
    /** An open cart of `items` (product, quantity), with an email and, unless null, an address. */
    async cart(items: Array<[Product, number]>, address: Address | null = addresses.berlin) {
      const cart = await commerce.carts.create({ currency: 'EUR' })
      for (const [p, quantity] of items) await commerce.carts.addItem(cart.id, { variantId: p.variants[0]!.id, quantity })
      return commerce.carts.update(cart.id, { email: 'ada@example.com', ...(address ? { shippingAddress: address } : {}) })
    },
    /** Places the cart with the option chosen; throws what checkout throws. */
    async checkout(cartId: string, optionId: string): Promise<Order> {
      await commerce.carts.setShippingOption(cartId, optionId)
      return placed(await commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: randomUUID() }))
    },
    /** Places an order of `items` shipped by the standard method to Berlin. */
    async order(items: Array<[Product, number]>): Promise<Order> {
      const cart = await this.cart(items)
      return this.checkout(cart.id, 'rates:standard')
    },
    /** Rows of the plugin's tables as stored, in a stable order. */
    async tables() {
      const rows = async (query: string) => (await sql.raw<Record<string, unknown>>(query).execute(commerce.db)).rows
      return {
        shipments: await rows('select id, order_id, status, tracking_number, idempotency_key from shipping_rates_shipments order by id'),
        lines: await rows('select shipment_id, line_id, quantity from shipping_rates_shipment_lines order by shipment_id, line_id'),
        counts: (await rows('select order_id, line_id, ordered, shipped from shipping_rates_line_counts order by order_id, line_id')).map((r) => ({ ...r, ordered: Number(r.ordered), shipped: Number(r.shipped) })),
        events: await rows('select shipment_id, status, at from shipping_rates_tracking_events order by shipment_id, at, status'),
      }
    },
    async close() {
      await commerce.close()
      await database?.drop()
    },
  }
}

export function placed(result: CheckoutResult): Order {
  if (result.status === 'requires_action') throw new Error('the test gateway asked for an action')
  return result
}

export async function rejection(promise: Promise<unknown>): Promise<{ code: string; fields: string[]; message: string }> {
  try {
    await promise
  } catch (error) {
    if (!isCommerceError<string>(error)) throw error
    return { code: error.code, fields: (error.details.fields as string[] | undefined) ?? [], message: error.message }
  }
  throw new Error('expected a rejection, got a result')
}

