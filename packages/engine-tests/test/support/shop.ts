import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { postgresStorage, type PostgresStorageOptions } from '@cartwright/storage-postgres'
import {
  createCommerce,
  fixedRateTax,
  flatRateShipping,
  testPayments,
  type Cart,
  type CheckoutResult,
  type Commerce,
  type CommerceOptions,
  type Order,
  type Product,
  type StockLocation,
  type StorageAdapter,
  type TestPayments,
} from '@cartwright/core'
import { freshDatabase, migrateCore, type FreshDatabase } from './postgres.js'

/**
 * The shop every engine test runs against, on any storage: one fixture (the Trail Runner, a
 * flat-rate shipping option, 8% tax) that opens the same way on SQLite in memory, on a SQLite
 * file and on a fresh PostgreSQL database. No vitest import here: worker processes use it too.
 */

/** Where a shop's database lives. */
export type StorageKind = 'sqlite-memory' | 'sqlite-file' | 'postgres'

/**
 * One SQLite and PostgreSQL: what a test of a storage-dependent guard runs on. SQLite only when
 * CARTWRIGHT_SKIP_POSTGRES=1: the mutation runs (vitest.mutation.config.ts) have no PostgreSQL.
 */
export const GUARDED_STORAGES: ReadonlyArray<'sqlite-memory' | 'postgres'> =
  process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite-memory'] : ['sqlite-memory', 'postgres']

/** A database an engine can be opened on from anywhere, another process included. */
export type Place = { kind: 'sqlite-file'; filename: string; busyTimeoutMs?: number } | { kind: 'postgres'; url: string; poolMax?: number }

export const address = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

/** Shipping and tax of every engine of these tests, so a cart made by one engine prices the same in another. */
export function shopProviders(): Pick<CommerceOptions, 'shipping' | 'tax'> {
  return {
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500, JPY: 800, KWD: 2500 } }] })],
    tax: fixedRateTax({ rate: '8' }),
  }
}

export interface Seeded {
  shoe: Product
  warehouse: StockLocation
  /** Variant id of the Trail Runner, size 42, blue: the one variant with `stock` units. */
  variantId: string
}

/** Seeds the Trail Runner: `stock` units of size 42 blue (default 10) and 100 of each other variant, at one warehouse. */
export async function seedShop(commerce: Commerce, options: { stock?: number } = {}): Promise<Seeded> {
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
  await commerce.inventory.setStock({ variantId, locationId: warehouse.id, onHand: options.stock ?? 10 })
  for (const v of shoe.variants.slice(1)) await commerce.inventory.setStock({ variantId: v.id, locationId: warehouse.id, onHand: 100 })
  return { shoe, warehouse, variantId }
}

/**
 * An engine on an existing database, with the shop's providers and a test gateway of its own
 * unless `options` say otherwise. The caller closes it.
 */
export async function openEngine(place: Place, options: Partial<CommerceOptions> = {}): Promise<Commerce> {
  const storage =
    place.kind === 'sqlite-file'
      ? sqliteStorage({ filename: place.filename, ...(place.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: place.busyTimeoutMs }) })
      : postgresStorage({ connectionString: place.url, ...(place.poolMax === undefined ? {} : { pool: { max: place.poolMax } }) })
  return createCommerce({ storage, payments: [testPayments()], ...shopProviders(), onListenerError: () => undefined, ...options })
}

export interface ShopOptions extends Omit<Partial<CommerceOptions>, 'storage'> {
  /**
   * Where the database lives (default SQLite in memory, or that file when `filename` is given),
   * or a storage adapter of the caller's own (the shop then has no `place`).
   */
  storage?: StorageKind | StorageAdapter
  /** Units of the Trail Runner 42 blue (default 10). */
  stock?: number
  /** sqlite-file: the file to use (default a new file in a temporary directory removed on close). */
  filename?: string
  /** postgres: the adapter's options for the fresh database's URL (default: a pool made from it). */
  postgres?: (url: string) => PostgresStorageOptions
}

export interface Shop extends Seeded {
  /** Where the database lives; null for an adapter the caller gave. */
  storage: StorageKind | null
  commerce: Commerce
  /** The test gateway the engine was composed with (unless `payments` was given). */
  payments: TestPayments
  /** The database, for engines of other processes; null for SQLite in memory. */
  place: Place | null
  /** postgres: the fresh database's URL, for connections of the test's own; null otherwise. */
  url: string | null
  /**
   * Another engine on the same database, with its own connections (PostgreSQL) or its own
   * handle (SQLite file): a second writer. Closed with the shop. Not for SQLite in memory.
   */
  engine(options?: Partial<CommerceOptions>): Promise<Commerce>
  close(): Promise<void>
}

/**
 * Opens the shop fixture on `storage`: a new database, migrated and seeded.
 *
 * @example
 * ```ts
 * const shop = await openShop({ storage: 'postgres', stock: 3 })
 * const cart = await readyCart(shop.commerce, shop.variantId, 2)
 * ```
 */
export async function openShop(options: ShopOptions = {}): Promise<Shop> {
  const { storage: requested, stock, filename, postgres, ...rest } = options
  const kind: StorageKind | null = typeof requested === 'object' ? null : (requested ?? (filename ? 'sqlite-file' : 'sqlite-memory'))
  const cleanups: Array<() => Promise<void> | void> = []
  const engines: Commerce[] = []
  let place: Place | null = null
  let database: FreshDatabase | undefined
  let storage: CommerceOptions['storage']
  if (typeof requested === 'object') {
    storage = requested
  } else if (kind === 'sqlite-memory') {
    storage = sqliteStorage({ filename: ':memory:' })
  } else if (kind === 'sqlite-file') {
    let file = filename
    if (!file) {
      const dir = tempDir()
      cleanups.push(dir.remove)
      file = join(dir.dir, 'shop.db')
    }
    place = { kind: 'sqlite-file', filename: file }
    storage = sqliteStorage({ filename: file })
  } else {
    // Each PostgreSQL shop copies a database the engine migrated once; one that does not migrate gets an empty one.
    database = await freshDatabase(rest.migrate === false ? {} : { template: migrateCore })
    cleanups.push(() => database!.drop())
    place = { kind: 'postgres', url: database.url }
    storage = postgresStorage(postgres ? postgres(database.url) : { connectionString: database.url })
  }
  const payments = testPayments()
  const close = async () => {
    for (const engine of engines.splice(0).reverse()) await engine.close().catch(() => undefined)
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  }
  try {
    const commerce = await createCommerce({ storage, payments: [payments], ...shopProviders(), onListenerError: () => undefined, ...rest })
    engines.push(commerce)
    const seeded = await seedShop(commerce, { stock })
    return {
      storage: kind,
      commerce,
      payments,
      place,
      url: database?.url ?? null,
      ...seeded,
      async engine(more = {}) {
        if (!place) throw new Error(`a shop on ${kind ?? 'an adapter of your own'} has no second engine; use sqlite-file or postgres`)
        const engine = await openEngine(place, { migrate: false, ...more })
        engines.push(engine)
        return engine
      },
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

/** A cart ready to check out: one line, email, address and the standard shipping option. */
export async function readyCart(commerce: Commerce, variantId: string, quantity = 1, currency = 'USD'): Promise<Cart> {
  const cart = await commerce.carts.create({ currency })
  await commerce.carts.addItem(cart.id, { variantId, quantity })
  await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
  return commerce.carts.setShippingOption(cart.id, 'flat:standard')
}

/** A fresh idempotency key. */
export function key(): string {
  return randomUUID()
}

/**
 * The order a checkout placed; throws when it answered `requires_action` instead. For tests whose
 * gateway approves at once.
 *
 * @example
 * ```ts
 * const order = placed(await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
 * ```
 */
export function placed(result: CheckoutResult): Order {
  if (result.status === 'requires_action') {
    throw new Error(`checkout of cart ${result.cartId} answered requires_action (payment ${result.paymentId}), not an order`)
  }
  return result
}

/** Completes checkout of `cartId` with the test gateway and a fresh key unless one is given; the placed order. */
export async function checkout(commerce: Commerce, cartId: string, idempotencyKey: string = key()): Promise<Order> {
  return placed(await commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey }))
}

/** A temporary directory removed by the returned function. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cartwright-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
