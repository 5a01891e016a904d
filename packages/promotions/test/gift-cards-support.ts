import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { createCommerce, flatRateShipping, isCommerceError, noTax, testPayments, type Cart, type Order, type Plugin } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
// The PostgreSQL harness is the adapter's own: a fresh database per shop on the server the vitest globalSetup started.
import { freshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { migrateCore } from '../../storage-postgres/test/support/migrated.js'
import { giftCards } from '../src/index.js'

/** The storages every gift-card test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

export const ADDRESS = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

/** 45.00 a unit and 5.00 of shipping, no tax: one unit makes an order of exactly 50.00. */
export const UNIT_PRICE = 4500
export const SHIPPING = 500

async function engine(storage: 'sqlite' | 'postgres', url: string | undefined, plugin: ReturnType<typeof giftCards>, extra: Plugin[], autoCapture: boolean, dispatcher: boolean) {
  const payments = testPayments({ autoCapture })
  const commerce = await createCommerce({
    storage: storage === 'sqlite' ? sqliteStorage({ filename: ':memory:' }) : postgresStorage({ connectionString: url!, pool: { max: 12 } }),
    payments: [payments],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: SHIPPING } }] })],
    tax: noTax(),
    plugins: [plugin, ...(extra as [])],
    onListenerError: () => undefined,
    // Without the background dispatcher, events wait in the outbox until the test delivers them.
    outbox: { enabled: dispatcher },
  })
  return { commerce, payments }
}

export type GiftCardShop = Awaited<ReturnType<typeof openShop>>

/** An engine with the gift-card plugin on a new database, a product in stock and a gift-card product. */
export async function openShop(storage: 'sqlite' | 'postgres', options: { stock?: number; autoCapture?: boolean; dispatcher?: boolean; plugins?: Plugin[] } = {}) {
  const database = storage === 'postgres' ? await freshDatabase({ template: migrateCore }) : undefined
  const plugin = giftCards()
  const { commerce, payments } = await engine(storage, database?.url, plugin, options.plugins ?? [], options.autoCapture ?? false, options.dispatcher ?? true)
  const location = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
  const product = await commerce.catalog.createProduct({ title: 'Trail Runner', variants: [{ sku: 'TR-1', prices: [{ currency: 'USD', amount: UNIT_PRICE }] }] })
  const variantId = product.variants[0]!.id
  await commerce.inventory.setStock({ variantId, locationId: location.id, onHand: options.stock ?? 100 })
  const card = await commerce.catalog.createProduct({ title: 'Gift card', variants: [{ sku: 'GIFT-25', prices: [{ currency: 'USD', amount: 2500 }] }] })
  const giftVariantId = card.variants[0]!.id
  await commerce.inventory.setStock({ variantId: giftVariantId, locationId: location.id, onHand: 1000 })

  const cards = commerce['gift-cards']
  return {
    commerce,
    cards,
    payments,
    plugin,
    variantId,
    giftVariantId,
    /** An open cart with `quantity` of `variant` (the shoe by default), an email, an address and shipping chosen. */
    async cart(options: { variantId?: string; quantity?: number; email?: string } = {}): Promise<Cart> {
      const cart = await commerce.carts.create({ currency: 'USD' })
      await commerce.carts.addItem(cart.id, { variantId: options.variantId ?? variantId, quantity: options.quantity ?? 1 })
      await commerce.carts.update(cart.id, { email: options.email ?? 'ada@example.com', shippingAddress: ADDRESS })
      return commerce.carts.setShippingOption(cart.id, 'flat:standard')
    },
    /** Checks the cart out with the test gateway; fails when the gateway asks for an action. */
    async checkout(cartId: string, key: string = randomUUID()): Promise<Order> {
      const result = await commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: key })
      if (result.status === 'requires_action') throw new Error('the test gateway asked for an action')
      return result
    },
    /** A card's rows as stored: its balance and the sum of its ledger. */
    async books(cardId: string): Promise<{ balance: number; ledger: number; entries: Array<{ kind: string; amount: number }> }> {
      const db = commerce.db
      const card = await sql<{ balance: string | number }>`select balance from gift_cards_cards where id = ${cardId}`.execute(db)
      const entries = await sql<{ kind: string; amount: string | number }>`select kind, amount from gift_cards_ledger where card_id = ${cardId} order by created_at, id`.execute(db)
      return {
        balance: Number(card.rows[0]!.balance),
        ledger: entries.rows.reduce((s, e) => s + Number(e.amount), 0),
        entries: entries.rows.map((e) => ({ kind: e.kind, amount: Number(e.amount) })),
      }
    },
    async rows(query: string): Promise<Array<Record<string, unknown>>> {
      return (await sql.raw<Record<string, unknown>>(query).execute(commerce.db)).rows
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
