import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import {
  createCommerce,
  fixedRateTax,
  flatRateShipping,
  isCommerceError,
  testPayments,
  type AddItemInput,
  type AdjustStockInput,
  type CartService,
  type CatalogService,
  type ChannelProductsInput,
  type ChannelService,
  type CheckoutService,
  type Commerce,
  type CommerceError,
  type CommerceOptions,
  type CompleteCheckoutInput,
  type CreateCartInput,
  type CreateChannelInput,
  type CreateLocationInput,
  type CreateProductInput,
  type DrainInput,
  type ExplainPriceInput,
  type HoldInput,
  type InventoryService,
  type ListChannelsInput,
  type ListDeliveriesInput,
  type ListProductsInput,
  type Outbox,
  type OrderService,
  type PriceInput,
  type PrivacyService,
  type PrivacySubjectInput,
  type RecoverCheckoutsInput,
  type ReservationsInput,
  type SetStockInput,
  type UpdateCartInput,
  type UpdateChannelInput,
  type UpdateItemInput,
  type UpdateProductInput,
  type UpdateVariantInput,
  type VariantInput,
} from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'

/**
 * Conventions that hold across the whole public API: one answer for "not found", a named input
 * type per method, a clear answer after `close()`, errors that say which value is at fault, and
 * compositions refused at `createCommerce` rather than failing mid-checkout.
 */

// Calls are made with deliberately ill-typed arguments: the engine is called from JavaScript too.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any

const address = { line1: '1 Analytical St', city: 'London', country: 'GB' }
const UNKNOWN_ID = 'zzz_00000000000000000000000000'

interface Shop {
  commerce: Commerce
  productId: string
  variantId: string
  locationId: string
  cartId: string
  lineId: string
}

const opened: Commerce[] = []
afterEach(async () => {
  for (const commerce of opened.splice(0)) await commerce.close()
})

async function engine(options: Partial<CommerceOptions> = {}): Promise<Commerce> {
  const commerce = await createCommerce({
    storage: sqliteStorage(),
    payments: [testPayments()],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
    tax: fixedRateTax({ rate: '8' }),
    onListenerError: () => undefined,
    ...options,
  })
  opened.push(commerce)
  return commerce
}

/** A shop with one product (SKU MUG-1, 3 in stock) and an open cart holding one unit. */
async function shop(options: Partial<CommerceOptions> = {}): Promise<Shop> {
  const commerce = await engine(options)
  const product = await commerce.catalog.createProduct({ title: 'Mug', handle: 'mug', variants: [{ sku: 'MUG-1', prices: [{ currency: 'USD', amount: 1200 }] }] })
  const variantId = product.variants[0]!.id
  const location = await commerce.inventory.createLocation({ name: 'Main', code: 'main' })
  await commerce.inventory.setStock({ variantId, locationId: location.id, onHand: 3 })
  const cart = await commerce.carts.addItem((await commerce.carts.create({ currency: 'USD' })).id, { variantId, quantity: 1 })
  return { commerce, productId: product.id, variantId, locationId: location.id, cartId: cart.id, lineId: cart.lines[0]!.id }
}

/** Row counts of every `cw_*` table but the migration history. */
async function counts(commerce: Commerce): Promise<Record<string, number>> {
  const { rows: tables } = await sql<{ name: string }>`
    select name from sqlite_master where type = 'table' and name like 'cw_%' and name not like 'cw_migrations%' order by name`.execute(commerce.db)
  const out: Record<string, number> = {}
  for (const { name } of tables) {
    const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(name)}`.execute(commerce.db)
    out[name] = Number(rows[0]!.n)
  }
  return out
}

async function failure(call: Promise<unknown> | (() => unknown)): Promise<CommerceError> {
  try {
    await (typeof call === 'function' ? call() : call)
  } catch (error) {
    if (isCommerceError(error)) return error
    throw new Error(`expected a CommerceError, got: ${String(error)}`, { cause: error })
  }
  throw new Error('expected the call to fail')
}

/** What a call answered, as data for one readable assertion: an error code, `resolved`, or a raw error's message. */
async function answer(call: () => unknown): Promise<string> {
  try {
    await call()
    return 'resolved'
  } catch (error) {
    return isCommerceError(error) ? error.code : `not a CommerceError: ${String(error)}`
  }
}

/**
 * Services on the engine object: the nouns (`catalog`, `carts`, …), not the event bus, hooks or
 * kysely, nor the lists it carries as data (`endpoints`, `errorCodes`).
 */
function services(commerce: Commerce): Array<[string, object]> {
  return Object.entries(commerce).filter(
    ([name, value]) => typeof value === 'object' && value !== null && !Array.isArray(value) && !['db', 'events', 'hooks'].includes(name),
  ) as Array<[string, object]>
}

function methods(service: object): string[] {
  return Object.getOwnPropertyNames(Object.getPrototypeOf(service)).filter((m) => m !== 'constructor' && typeof (service as Loose)[m] === 'function')
}

describe('one answer for "not found"', () => {
  /** How to ask each getter for something that does not exist; any other getter is asked with an id of the engine's form. */
  const unknownKey: Record<string, unknown> = {
    'catalog.getProduct': 'no-such-handle',
    'catalog.getVariantBySku': 'NO-SUCH-SKU',
    'orders.getByNumber': 999_999,
  }

  it('every get* method of every service throws NOT_FOUND for an unknown key, and writes nothing', async () => {
    const { commerce } = await shop()
    const getters = services(commerce).flatMap(([name, service]) => methods(service).filter((m) => /^get[A-Z]|^get$/.test(m)).map((m) => [name, m] as const))
    expect(getters.map(([s, m]) => `${s}.${m}`)).toEqual(expect.arrayContaining(['catalog.getProduct', 'catalog.getVariant', 'catalog.getVariantBySku', 'carts.get', 'orders.get', 'orders.getByNumber']))
    const before = await counts(commerce)
    for (const [name, method] of getters) {
      const key = unknownKey[`${name}.${method}`] ?? UNKNOWN_ID
      const error = await failure(() => (commerce as Loose)[name][method](key))
      expect({ method: `${name}.${method}`, code: error.code }).toEqual({ method: `${name}.${method}`, code: 'NOT_FOUND' })
    }
    expect(await counts(commerce)).toEqual(before)
  })

  it('a found product, variant and SKU come back as themselves', async () => {
    const { commerce, productId, variantId } = await shop()
    expect((await commerce.catalog.getProduct('mug')).id).toBe(productId)
    expect((await commerce.catalog.getVariant(variantId)).sku).toBe('MUG-1')
    expect((await commerce.catalog.getVariantBySku('MUG-1')).id).toBe(variantId)
  })
})

describe('named input types', () => {
  it('every public method takes a named, exported input type (checked by tsc)', () => {
    expectTypeOf<Parameters<CatalogService['createProduct']>[0]>().toEqualTypeOf<CreateProductInput>()
    expectTypeOf<Parameters<CatalogService['addVariants']>[1]>().toEqualTypeOf<VariantInput[]>()
    expectTypeOf<Parameters<CatalogService['listProducts']>[0]>().toEqualTypeOf<ListProductsInput | undefined>()
    expectTypeOf<Parameters<CatalogService['updateProduct']>[1]>().toEqualTypeOf<UpdateProductInput>()
    expectTypeOf<Parameters<CatalogService['updateVariant']>[1]>().toEqualTypeOf<UpdateVariantInput>()
    expectTypeOf<Parameters<CatalogService['setPrices']>[1]>().toEqualTypeOf<PriceInput[]>()
    expectTypeOf<Parameters<CatalogService['explainPrice']>[1]>().toEqualTypeOf<ExplainPriceInput>()
    expectTypeOf<Parameters<InventoryService['createLocation']>[0]>().toEqualTypeOf<CreateLocationInput>()
    expectTypeOf<Parameters<InventoryService['setStock']>[0]>().toEqualTypeOf<SetStockInput>()
    expectTypeOf<Parameters<InventoryService['adjust']>[0]>().toEqualTypeOf<AdjustStockInput>()
    expectTypeOf<Parameters<InventoryService['reservations']>[0]>().toEqualTypeOf<ReservationsInput>()
    expectTypeOf<Parameters<CartService['create']>[0]>().toEqualTypeOf<CreateCartInput>()
    expectTypeOf<Parameters<ChannelService['create']>[0]>().toEqualTypeOf<CreateChannelInput>()
    expectTypeOf<Parameters<ChannelService['update']>[1]>().toEqualTypeOf<UpdateChannelInput>()
    expectTypeOf<Parameters<ChannelService['list']>[0]>().toEqualTypeOf<ListChannelsInput | undefined>()
    expectTypeOf<Parameters<ChannelService['products']>[1]>().toEqualTypeOf<ChannelProductsInput | undefined>()
    expectTypeOf<Parameters<CartService['addItem']>[1]>().toEqualTypeOf<AddItemInput>()
    expectTypeOf<Parameters<CartService['updateItem']>[2]>().toEqualTypeOf<UpdateItemInput>()
    expectTypeOf<Parameters<CartService['update']>[1]>().toEqualTypeOf<UpdateCartInput>()
    expectTypeOf<Parameters<CheckoutService['complete']>[1]>().toEqualTypeOf<CompleteCheckoutInput>()
    expectTypeOf<Parameters<CheckoutService['recover']>[0]>().toEqualTypeOf<RecoverCheckoutsInput | undefined>()
    expectTypeOf<Parameters<OrderService['hold']>[1]>().toEqualTypeOf<HoldInput>()
    expectTypeOf<Parameters<Outbox['list']>[0]>().toEqualTypeOf<ListDeliveriesInput | undefined>()
    expectTypeOf<Parameters<Outbox['drain']>[0]>().toEqualTypeOf<DrainInput | undefined>()
    expectTypeOf<Parameters<PrivacyService['export']>[0]>().toEqualTypeOf<PrivacySubjectInput>()
    expectTypeOf<Parameters<PrivacyService['erase']>[0]>().toEqualTypeOf<PrivacySubjectInput>()
    // The named types are what a caller writes, defaults optional.
    expectTypeOf<AddItemInput>().toEqualTypeOf<{ variantId: string; quantity: number }>()
    expectTypeOf<{ limit: 5 }>().toExtend<ListProductsInput>()
  })
})

describe('after close()', () => {
  /** One call per public method, with input that would be accepted on an open engine. */
  const calls: Record<string, (s: Shop) => Promise<unknown>> = {
    'catalog.createProduct': (s) => s.commerce.catalog.createProduct({ title: 'Cup', variants: [{ sku: 'CUP-1' }] }),
    'catalog.createProducts': (s) => s.commerce.catalog.createProducts([{ title: 'Cup', variants: [{ sku: 'CUP-2' }] }]),
    'catalog.addVariants': (s) => s.commerce.catalog.addVariants(s.productId, [{ sku: 'MUG-2' }]),
    'catalog.getProduct': (s) => s.commerce.catalog.getProduct(s.productId),
    'catalog.listProducts': (s) => s.commerce.catalog.listProducts(),
    'catalog.updateProduct': (s) => s.commerce.catalog.updateProduct(s.productId, { title: 'Big mug' }),
    'catalog.getVariant': (s) => s.commerce.catalog.getVariant(s.variantId),
    'catalog.getVariantBySku': (s) => s.commerce.catalog.getVariantBySku('MUG-1'),
    'catalog.updateVariant': (s) => s.commerce.catalog.updateVariant(s.variantId, { title: 'Blue' }),
    'catalog.setPrices': (s) => s.commerce.catalog.setPrices(s.variantId, [{ currency: 'USD', amount: 1000 }]),
    'catalog.explainPrice': (s) => s.commerce.catalog.explainPrice(s.variantId, { currency: 'USD', quantity: 2 }),
    'catalog.deleteProduct': (s) => s.commerce.catalog.deleteProduct(s.productId),
    'catalog.dropRedirect': (s) => s.commerce.catalog.dropRedirect('old-mug'),
    'catalog.setTranslations': (s) => s.commerce.catalog.setTranslations({ type: 'product', id: s.productId }, 'de', { title: 'Becher' }),
    'channels.create': (s) => s.commerce.channels.create({ code: 'pos', name: 'Shop floor', currencies: ['USD'] }),
    'channels.get': (s) => s.commerce.channels.get('web'),
    'channels.list': (s) => s.commerce.channels.list(),
    'channels.update': (s) => s.commerce.channels.update(UNKNOWN_ID, { active: false }),
    'channels.publish': (s) => s.commerce.channels.publish(UNKNOWN_ID, [s.productId]),
    'channels.unpublish': (s) => s.commerce.channels.unpublish(UNKNOWN_ID, [s.productId]),
    'channels.products': (s) => s.commerce.channels.products(UNKNOWN_ID),
    'inventory.createLocation': (s) => s.commerce.inventory.createLocation({ name: 'Shop' }),
    'inventory.listLocations': (s) => s.commerce.inventory.listLocations(),
    'inventory.setStock': (s) => s.commerce.inventory.setStock({ variantId: s.variantId, locationId: s.locationId, onHand: 5 }),
    'inventory.adjust': (s) => s.commerce.inventory.adjust({ variantId: s.variantId, locationId: s.locationId, delta: 1 }),
    'inventory.levels': (s) => s.commerce.inventory.levels(s.variantId),
    'inventory.available': (s) => s.commerce.inventory.available(s.variantId),
    'inventory.productAvailability': (s) => s.commerce.inventory.productAvailability(s.productId),
    'inventory.reservations': (s) => s.commerce.inventory.reservations({ cartId: s.cartId }),
    'inventory.setPolicy': (s) => s.commerce.inventory.setPolicy(s.variantId, { policy: 'backorder', backorderLimit: 2 }),
    'carts.create': (s) => s.commerce.carts.create({ currency: 'USD' }),
    'carts.get': (s) => s.commerce.carts.get(s.cartId),
    'carts.addItem': (s) => s.commerce.carts.addItem(s.cartId, { variantId: s.variantId, quantity: 1 }),
    'carts.updateItem': (s) => s.commerce.carts.updateItem(s.cartId, s.lineId, { quantity: 2 }),
    'carts.removeItem': (s) => s.commerce.carts.removeItem(s.cartId, s.lineId),
    'carts.update': (s) => s.commerce.carts.update(s.cartId, { email: 'ada@example.com', shippingAddress: address }),
    'carts.listShippingOptions': (s) => s.commerce.carts.listShippingOptions(s.cartId),
    'carts.setShippingOption': (s) => s.commerce.carts.setShippingOption(s.cartId, 'flat:standard'),
    'carts.findByToken': (s) => s.commerce.carts.findByToken(`ct_${s.cartId}.${'A'.repeat(43)}`),
    'carts.verifyToken': (s) => s.commerce.carts.verifyToken(s.cartId, `ct_${s.cartId}.${'A'.repeat(43)}`),
    'carts.rotateToken': (s) => s.commerce.carts.rotateToken(s.cartId),
    'carts.openForCustomer': (s) => s.commerce.carts.openForCustomer('cus_1'),
    'checkout.complete': (s) => s.commerce.checkout.complete(s.cartId, { payment: { provider: 'test' }, idempotencyKey: randomUUID() }),
    'checkout.recover': (s) => s.commerce.checkout.recover(),
    'checkout.confirm': (s) => s.commerce.checkout.confirm(s.cartId),
    'drafts.create': (s) => s.commerce.drafts.create({ currency: 'USD', createdBy: 'maria' }),
    'drafts.get': (s) => s.commerce.drafts.get(s.cartId),
    'drafts.overridePrice': (s) => s.commerce.drafts.overridePrice(s.cartId, s.lineId, { unitPrice: 100, reason: 'price match', by: 'maria' }),
    'drafts.reserve': (s) => s.commerce.drafts.reserve(s.cartId),
    'drafts.paymentLink': (s) => s.commerce.drafts.paymentLink(s.cartId),
    'drafts.discard': (s) => s.commerce.drafts.discard(s.cartId),
    'drafts.markPaid': (s) => s.commerce.drafts.markPaid(s.cartId, { method: 'cash', idempotencyKey: randomUUID() }),
    'drafts.expire': (s) => s.commerce.drafts.expire(),
    'orders.get': (s) => s.commerce.orders.get(UNKNOWN_ID),
    'orders.getByNumber': (s) => s.commerce.orders.getByNumber(1001),
    'orders.list': (s) => s.commerce.orders.list(),
    'orders.fulfill': (s) => s.commerce.orders.fulfill(UNKNOWN_ID),
    'orders.findByToken': (s) => s.commerce.orders.findByToken(`ot_${UNKNOWN_ID}.${'A'.repeat(43)}`),
    'orders.verifyToken': (s) => s.commerce.orders.verifyToken(UNKNOWN_ID, `ot_${UNKNOWN_ID}.${'A'.repeat(43)}`),
    'orders.issueAccessToken': (s) => s.commerce.orders.issueAccessToken(UNKNOWN_ID),
    'orders.hold': (s) => s.commerce.orders.hold(UNKNOWN_ID, { reason: 'review' }),
    'orders.release': (s) => s.commerce.orders.release(UNKNOWN_ID),
    'orders.assignCustomer': (s) => s.commerce.orders.assignCustomer({ email: 'ada@example.com', customerId: 'cus_1' }),
    'outbox.drain': (s) => s.commerce.outbox.drain(),
    'outbox.runOnce': (s) => s.commerce.outbox.runOnce(),
    'outbox.list': (s) => s.commerce.outbox.list(),
    'outbox.retry': (s) => s.commerce.outbox.retry(1),
    'privacy.export': (s) => s.commerce.privacy.export({ email: 'ada@example.com' }),
    'privacy.erase': (s) => s.commerce.privacy.erase({ email: 'ada@example.com', customerId: 'cus_1' }),
  }
  /** Lifecycle methods, not calls a caller makes after closing. */
  const lifecycle = ['outbox.start', 'outbox.stop', 'outbox.kick', 'retention.start', 'retention.stop']

  it('every service method given valid input answers INVALID_STATE "closed", not the driver\'s error', async () => {
    const s = await shop()
    await s.commerce.close()
    const answers: Record<string, string> = {}
    for (const [name, call] of Object.entries(calls)) {
      answers[name] = await answer(() => call(s))
      if (answers[name] === 'INVALID_STATE') expect((await failure(call(s))).message).toMatch(/closed/)
    }
    expect(answers).toEqual(Object.fromEntries(Object.keys(calls).map((name) => [name, 'INVALID_STATE'])))
  })

  it('every method of every service, given anything, answers a CommerceError that is not STORAGE', async () => {
    const s = await shop()
    await s.commerce.close()
    const all = services(s.commerce).flatMap(([name, service]) => methods(service).map((m) => [name, m] as const))
    // The table above covers every method of the services it names.
    const tabled = new Set(Object.keys(calls).map((c) => c.split('.')[0]))
    expect(all.filter(([n, m]) => tabled.has(n) && !(`${n}.${m}` in calls) && !lifecycle.includes(`${n}.${m}`) && !/^(capturePayment|voidPayment|refund|cancel)$/.test(m))).toEqual([])
    const answers: string[] = []
    for (const [name, method] of all) {
      if (lifecycle.includes(`${name}.${method}`)) continue
      for (const args of [[], [UNKNOWN_ID], [UNKNOWN_ID, {}]]) {
        const code = await answer(() => (s.commerce as Loose)[name][method](...args))
        if (code !== 'INVALID_STATE' && code !== 'VALIDATION') answers.push(`${name}.${method}(${args.length} arguments): ${code}`)
      }
    }
    expect(answers).toEqual([])
  })

  it('closing twice is harmless', async () => {
    const s = await shop()
    await s.commerce.close()
    await expect(s.commerce.close()).resolves.toBeUndefined()
  })
})

describe('errors name the value at fault', () => {
  it('out of stock when adding an item names the SKU as well as the variant', async () => {
    const { commerce, cartId, variantId } = await shop()
    const error = await failure(commerce.carts.addItem(cartId, { variantId, quantity: 3 }))
    expect(error.code).toBe('OUT_OF_STOCK')
    expect(error.message).toContain('MUG-1')
    expect(error.message).toContain(variantId)
    expect(error.details['shortages']).toEqual([{ variantId, sku: 'MUG-1', requested: 4, available: 3 }])
  })

  it('out of stock at checkout names the SKU as well as the variant', async () => {
    const { commerce, cartId, variantId, locationId } = await shop()
    await commerce.carts.update(cartId, { email: 'ada@example.com', shippingAddress: address })
    await commerce.carts.setShippingOption(cartId, 'flat:standard')
    await commerce.inventory.setStock({ variantId, locationId, onHand: 0 })
    const error = await failure(commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: randomUUID() }))
    expect(error.code).toBe('OUT_OF_STOCK')
    expect(error.message).toContain('MUG-1')
    expect(error.details['shortages']).toEqual([{ variantId, sku: 'MUG-1', requested: 1, available: 0 }])
  })

  it('out of stock when the units go between planning and writing the reservation names the SKU', async () => {
    let levelId = ''
    const s = await shop({
      testPoints: {
        // Another checkout takes the units after this one planned: its conditional write then fails.
        'checkout.claim.planned': async ({ tx }) => {
          await tx.updateTable('cw_inventory_levels').set({ reserved: 3 }).where('id', '=', levelId).execute()
        },
      },
    })
    levelId = (await s.commerce.db.selectFrom('cw_inventory_levels').select('id').executeTakeFirstOrThrow()).id
    await s.commerce.carts.update(s.cartId, { email: 'ada@example.com', shippingAddress: address })
    await s.commerce.carts.setShippingOption(s.cartId, 'flat:standard')
    const error = await failure(s.commerce.checkout.complete(s.cartId, { payment: { provider: 'test' }, idempotencyKey: randomUUID() }))
    expect(error.code).toBe('OUT_OF_STOCK')
    expect(error.message).toContain('MUG-1')
    expect(error.details['shortages']).toEqual([{ variantId: s.variantId, sku: 'MUG-1', requested: 1, available: 0 }])
  })

  it('a duplicate handle is CONFLICT naming the handle and its field, and writes nothing', async () => {
    const { commerce } = await shop()
    const before = await counts(commerce)
    const error = await failure(commerce.catalog.createProduct({ title: 'Other mug', handle: 'mug', variants: [{ sku: 'OTHER-1' }] }))
    expect(error.code).toBe('CONFLICT')
    expect(error.message).toContain('"mug"')
    expect(error.message).toContain('handle')
    expect(error.details).toMatchObject({ conflicts: [{ field: 'handle', value: 'mug' }], fields: ['handle'] })
    expect(await counts(commerce)).toEqual(before)
  })

  it('a SKU another product uses is CONFLICT naming the SKU and its field, and writes nothing', async () => {
    const { commerce } = await shop()
    const before = await counts(commerce)
    const cup = {
      title: 'Cup',
      options: [{ name: 'Size', values: ['S', 'M'] }],
      variants: [
        { sku: 'CUP-S', options: { Size: 'S' } },
        { sku: 'MUG-1', options: { Size: 'M' } },
      ],
    }
    const error = await failure(commerce.catalog.createProduct(cup))
    expect(error.code).toBe('CONFLICT')
    expect(error.message).toContain('"MUG-1"')
    expect(error.message).toContain('variants.1.sku')
    expect(error.details).toMatchObject({ conflicts: [{ field: 'variants.1.sku', value: 'MUG-1' }], fields: ['variants.1.sku'] })
    expect(await counts(commerce)).toEqual(before)
  })

  it('adding a variant whose SKU another product uses is CONFLICT naming the SKU and its field', async () => {
    const { commerce, productId } = await shop()
    const cup = await commerce.catalog.createProduct({ title: 'Cup', options: [{ name: 'Size', values: ['S', 'M'] }], variants: [{ sku: 'CUP-S', options: { Size: 'S' } }] })
    const before = await counts(commerce)
    const error = await failure(commerce.catalog.addVariants(cup.id, [{ sku: 'MUG-1', options: { Size: 'M' } }]))
    expect(error.code).toBe('CONFLICT')
    expect(error.details).toMatchObject({ conflicts: [{ field: 'variants.0.sku', value: 'MUG-1' }] })
    expect(await counts(commerce)).toEqual(before)
    expect((await commerce.catalog.getProduct(productId)).variants).toHaveLength(1)
  })

  it('a SQLite file in a directory that does not exist says what failed and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartwright-'))
    try {
      const error = await failure(createCommerce({ storage: sqliteStorage({ filename: join(dir, 'missing', 'shop.db') }) }))
      expect(error.code).toBe('STORAGE')
      expect(error.message).not.toMatch(/Migration\s+of/)
      expect(error.message).toMatch(/core/)
      expect(error.message).toMatch(/directory does not exist/)
      expect(error.details).toMatchObject({ owner: 'core', migration: null })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('catalog.addVariants', () => {
  it('takes a product handle as well as its id', async () => {
    const { commerce, productId } = await shop()
    const sized = await commerce.catalog.createProduct({ title: 'Tee', handle: 'tee', options: [{ name: 'Size', values: ['S', 'M'] }], variants: [{ sku: 'TEE-S', options: { Size: 'S' } }] })
    const product = await commerce.catalog.addVariants('tee', [{ sku: 'TEE-M', options: { Size: 'M' } }])
    expect(product.id).toBe(sized.id)
    expect(product.variants.map((v) => v.sku)).toEqual(['TEE-S', 'TEE-M'])
    expect((await commerce.catalog.getProduct(productId)).variants).toHaveLength(1)
  })
})

describe('createCommerce refuses providers that cannot work, naming them and what they lack', () => {
  const authorize = async () => ({ status: 'authorized' as const, reference: 'r' })
  const flags = { capture: true, partialCapture: false, refund: true, void: true }
  const capture = async () => ({ status: 'succeeded' as const })

  const cases: Array<[string, Partial<CommerceOptions>, RegExp]> = [
    ['a payment provider in plain JavaScript without capabilities', { payments: [{ id: 'js-pay', authorize } as Loose] }, /payment provider "js-pay" has no capabilities object/],
    ['a capability that is not a boolean', { payments: [{ id: 'js-pay', authorize, capture, void: capture, refund: capture, capabilities: { ...flags, capture: 'yes' } } as Loose] }, /payment provider "js-pay" capability "capture" is "yes" \(string\), not a boolean/],
    ['a missing capability flag', { payments: [{ id: 'js-pay', authorize, capabilities: { capture: false, refund: false, void: false } } as Loose] }, /payment provider "js-pay" capability "partialCapture" is missing/],
    ['an optional flag that is not a boolean', { payments: [{ id: 'js-pay', authorize, capture, void: capture, refund: capture, capabilities: { ...flags, multiCapture: 1 } } as Loose] }, /payment provider "js-pay" capability "multiCapture" is 1 \(number\), not a boolean/],
    ['a claimed capability without its method', { payments: [{ id: 'js-pay', authorize, capabilities: flags } as Loose] }, /payment provider "js-pay" claims the capture capability but has no capture\(\) method/],
    ['a payment provider without authorize', { payments: [{ id: 'js-pay', capabilities: { ...flags, capture: false, refund: false, void: false } } as Loose] }, /payment provider "js-pay" has no authorize\(\) method/],
    ['a payment provider without an id', { payments: [{ authorize, capabilities: { ...flags, capture: false, refund: false, void: false } } as Loose] }, /payment provider at payments\[0\] has no id/],
    ['a payment provider that is not an object', { payments: ['stripe' as Loose] }, /payments\[0\] is not a payment provider object/],
    ['a shipping provider without quote', { shipping: [{ id: 'js-ship', quotes: async () => [] } as Loose] }, /shipping provider "js-ship" has no quote\(\) method/],
    ['a tax provider without calculate', { tax: { id: 'js-tax', calc: async () => ({}) } as Loose }, /tax provider "js-tax" has no calculate\(\) method/],
  ]

  it.each(cases)('%s', async (_name, options, message) => {
    const error = await failure(createCommerce({ storage: sqliteStorage(), ...options }))
    expect(error.code).toBe('CONFIGURATION')
    expect(error.message).toMatch(/^\[cartwright\] /)
    expect(error.message).toMatch(message)
    expect(error.details['problems']).toEqual(expect.arrayContaining([expect.stringMatching(message)]))
  })

  it('names every problem at once', async () => {
    const error = await failure(createCommerce({ storage: sqliteStorage(), payments: [{ id: 'a', authorize } as Loose], shipping: [{ id: 'b' } as Loose] }))
    expect(error.details['problems']).toEqual(['payment provider "a" has no capabilities object: declare { capture: boolean, partialCapture: boolean, refund: boolean, void: boolean }', 'shipping provider "b" has no quote() method'])
  })

  it('accepts a complete provider written in plain JavaScript', async () => {
    const commerce = await engine({ payments: [{ id: 'js-pay', authorize, capture, void: capture, refund: capture, capabilities: { ...flags, multiCapture: false } } as Loose] })
    expect(commerce.catalog).toBeDefined()
  })
})

describe('adapter factories refuse bad options as core factories do', () => {
  it.each([
    ['sqliteStorage', () => sqliteStorage({ busyTimeoutMs: -1 }), /^\[cartwright:storage-sqlite\] .*busyTimeoutMs/],
    ['postgresStorage', () => postgresStorage({ connectionString: '' }), /^\[cartwright:storage-postgres\] .*connectionString/],
    ['postgresStorage without a connection', () => postgresStorage({} as Loose), /^\[cartwright:storage-postgres\] missing connectionString/],
    ['testPayments', () => testPayments({ id: 42 } as Loose), /^\[cartwright:test-payments\]/],
  ])('%s: CONFIGURATION with a prefixed message', async (_name, make, message) => {
    const error = await failure(make)
    expect(error.code).toBe('CONFIGURATION')
    expect(error.message).toMatch(message)
  })
})
