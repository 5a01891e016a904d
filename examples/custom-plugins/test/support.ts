import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCommerce, fixedRateTax, testPayments } from '@cartwright/core'
import { http } from '@cartwright/http'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import Database from 'better-sqlite3'
import { bankTransfer, giftMessages, localCourier, type OutgoingTransfer } from '../src/index.js'

export const SECRET = 'the-bank-and-the-shop-share-this'
export const ACCOUNT = { holder: 'Cartwright Shoes BV', iban: 'NL91ABNA0417164300', bic: 'ABNANL2A' }

/** The courier of the examples: three zones around Amsterdam, by postcode prefix. */
export const courier = () =>
  localCourier({
    country: 'NL',
    currency: 'EUR',
    zones: [
      { id: 'a', name: 'City centre', prefixes: ['1011', '1012', '1015', '1016', '1017'], amount: 495, days: 0 },
      { id: 'b', name: 'Amsterdam', prefixes: ['10', '11'], amount: 795, days: 1 },
      { id: 'c', name: 'Noord-Holland', prefixes: ['13', '14', '15', '16', '17', '18', '19', '20', '21'], amount: 1295, days: 2 },
    ],
  })

export const address = (postalCode: string, country = 'NL') => ({ firstName: 'Ada', lastName: 'Lovelace', line1: 'Prinsengracht 263', city: 'Amsterdam', postalCode, country })

/** An engine on a SQLite file with the three plugins of this example, a pair of shoes in stock, and raw access to the file. */
export async function openShop() {
  const dir = mkdtempSync(join(tmpdir(), 'custom-plugins-'))
  const filename = join(dir, 'shop.db')
  const refunds: OutgoingTransfer[] = []
  const transfer = bankTransfer({ secret: SECRET, account: ACCOUNT, sendRefund: async (t) => void refunds.push(t) })
  const commerce = await createCommerce({
    storage: sqliteStorage({ filename }),
    payments: [transfer, testPayments()],
    shipping: [courier()],
    tax: fixedRateTax({ rate: '21' }),
    // http() keeps the Store API's rate-limit counters (the gift-message route has a limit).
    plugins: [http(), giftMessages()],
    onListenerError: () => undefined,
  })
  const location = await commerce.inventory.createLocation({ name: 'Amsterdam shop', code: 'ams' })
  const shoe = await commerce.catalog.createProduct({ title: 'Trail Runner', variants: [{ sku: 'TRAIL-43-RED', prices: [{ currency: 'EUR', amount: 12900 }] }] })
  const variantId = shoe.variants[0]!.id
  await commerce.inventory.setStock({ variantId, locationId: location.id, onHand: 5 })
  const raw = new Database(filename, { readonly: true })
  return {
    commerce,
    transfer,
    refunds,
    variantId,
    /** A row of the SQLite file, read without the engine. */
    row: <T>(query: string, ...params: unknown[]) => raw.prepare(query).get(...params) as T,
    count: (table: string) => (raw.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n,
    /** A cart with one pair, an email and an address at `postalCode`. */
    async cart(postalCode = '1016 GV', country = 'NL') {
      const cart = await commerce.carts.create({ currency: 'EUR' })
      await commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
      return commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address(postalCode, country) })
    },
    async close() {
      raw.close()
      await commerce.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
