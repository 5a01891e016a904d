import { describe, expect, it } from 'vitest'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { CommerceError, createCommerce, isCommerceError, testPayments, type PaymentProvider } from '@cartwright/core'
import { failure, key } from '../support/index.js'

const authorizeOnly: PaymentProvider = {
  id: 'authorize-only',
  capabilities: { capture: false, partialCapture: false, refund: false, void: false },
  authorize: async () => ({ status: 'captured', reference: 'x' }),
}

describe('createCommerce', () => {
  it('refuses a composition whose providers lack what a plugin needs, naming each gap', async () => {
    const error = await failure(
      createCommerce({
        storage: sqliteStorage(),
        payments: [testPayments(), authorizeOnly],
        plugins: [{ id: 'returns', requires: { paymentCapabilities: ['refund'], storageCapabilities: ['skipLocked'], shipping: true } }],
      }),
      'CONFIGURATION',
    )
    expect(error.details.missing).toEqual([
      'returns needs payment capability "refund", which authorize-only lacks',
      'returns needs storage capability "skipLocked", which sqlite lacks',
      'returns needs a shipping provider; none is configured',
    ])
  })

  it('refuses options that are not adapters, with a prefixed message', async () => {
    await expect(createCommerce({ storage: {} as never })).rejects.toThrow(/^\[cartwright\] invalid options: storage/)
    await expect(createCommerce({ storage: sqliteStorage(), payments: [testPayments(), testPayments()] })).rejects.toThrow(/two payment providers share the id "test"/)
  })

  it('runs plugin migrations and setup, and migrations are idempotent', async () => {
    const storage = sqliteStorage()
    const seen: string[] = []
    const commerce = await createCommerce({
      storage,
      plugins: [
        {
          id: 'wishlist',
          migrations: {
            '0001_wishlist': {
              async up(db) {
                await db.schema.createTable('wishlist_items').addColumn('id', 'text', (c) => c.primaryKey()).execute()
              },
            },
          },
          setup: ({ events }) => {
            events.on('cart.created', ({ cartId }) => seen.push(cartId))
          },
        },
      ],
    })
    const cart = await commerce.carts.create({ currency: 'EUR' })
    expect(seen).toEqual([cart.id])
    const tables = await commerce.db.introspection.getTables()
    expect(tables.map((t) => t.name)).toContain('wishlist_items')
    await commerce.close()
  })

  it('sells without shipping when no shipping provider is configured', async () => {
    const payments = testPayments()
    const commerce = await createCommerce({ storage: sqliteStorage(), payments: [payments] })
    const product = await commerce.catalog.createProduct({ title: 'E-book', variants: [{ sku: 'EBOOK', manageInventory: false, prices: [{ currency: 'EUR', amount: 999 }] }] })
    let cart = await commerce.carts.create({ currency: 'EUR', email: 'reader@example.com' })
    cart = await commerce.carts.addItem(cart.id, { variantId: product.variants[0]!.id, quantity: 1 })
    const order = await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() })
    expect(order).toMatchObject({ totals: { total: 999, shippingTotal: 0, taxTotal: 0 }, status: 'placed' })
    await commerce.close()
  })

  it('is a CommerceError that survives instanceof across the public entry', () => {
    const error = new CommerceError('NOT_FOUND', 'x')
    expect(isCommerceError(error)).toBe(true)
    expect(isCommerceError({ code: 'NOT_FOUND' })).toBe(false)
    expect(error.toJSON()).toEqual({ code: 'NOT_FOUND', message: 'x', details: {}, retryable: false })
  })
})

describe('hooks', () => {
  it('may read through the engine without deadlocking the SQLite connection', async () => {
    const commerce = await createCommerce({ storage: sqliteStorage(), outbox: { enabled: false } })
    const product = await commerce.catalog.createProduct({ title: 'Mug', variants: [{ sku: 'MUG', manageInventory: false, prices: [{ currency: 'USD', amount: 1000 }] }] })
    const seen: string[] = []
    commerce.hooks.hook('cart.beforeAddItem', async ({ variantId, cart }) => {
      seen.push((await commerce.catalog.getVariant(variantId))!.sku, String(cart.lines.length))
    })
    const cart = await commerce.carts.create({ currency: 'USD' })
    const after = await commerce.carts.addItem(cart.id, { variantId: product.variants[0]!.id, quantity: 1 })
    await commerce.carts.updateItem(cart.id, after.lines[0]!.id, { quantity: 3 })
    expect(seen).toEqual(['MUG', '0', 'MUG', '1'])
    await commerce.close()
  })
})
