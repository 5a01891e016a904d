import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CartService,
  CatalogService,
  ChannelService,
  CheckoutService,
  CommerceError,
  DraftService,
  ERASED_EMAIL,
  InventoryService,
  MediaService,
  SearchService,
  OrderService,
  PaymentService,
  PrivacyService,
  Outbox,
  type Commerce,
  type Order,
  type Product,
} from '@cartwright/core'
import { address, failure, key, openShop, placed as orderOf, readyCart, type Shop } from '../support/index.js'

/**
 * Acceptance: every public method given bad input throws `VALIDATION` (naming the field) or
 * `NOT_FOUND`, and the database is unchanged. Each case runs against one seeded shop; the
 * whole database is snapshotted before and after the call.
 */

/** Every row of every `cw_*` table (migration bookkeeping aside), in a stable order. */
async function snapshot(commerce: Commerce): Promise<Record<string, string[]>> {
  const { rows: tables } = await sql<{ name: string }>`
    select name from sqlite_master
    where type = 'table' and name like 'cw_%' and name not like 'cw_migrations%'
    order by name`.execute(commerce.db)
  const out: Record<string, string[]> = {}
  for (const { name } of tables) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(commerce.db)
    // Rows serialised with sorted keys, then sorted: independent of insertion and column order.
    out[name] = rows.map((row) => JSON.stringify(Object.fromEntries(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1))))).sort()
  }
  return out
}

interface Fixture {
  shop: Shop
  commerce: Commerce
  shoe: Product
  /** A product with a free option value (Size M, L) so that adding variants can succeed. */
  sock: Product
  variantId: string
  locationId: string
  /** An open cart with one line. */
  cartId: string
  lineId: string
  /** An open cart with email, address and shipping chosen: checkout would succeed. */
  readyCartId: string
  /** A placed order with an authorized (not captured) payment. */
  order: Order
}

type Code = 'VALIDATION' | 'NOT_FOUND'

interface Case {
  /** What is wrong with the input. */
  name: string
  call: (f: Fixture) => Promise<unknown>
  code: Code
  /** For VALIDATION: the path expected in `error.details.fields` (a plain argument is named by its parameter, e.g. `cartId`). */
  field?: string
}

const long = 'x'.repeat(10_000)
const longEmail = `${'a'.repeat(10_000 - '@example.com'.length)}@example.com`
const UNKNOWN = {
  product: 'prod_00000000000000000000000000',
  variant: 'var_00000000000000000000000000',
  location: 'loc_00000000000000000000000000',
  cart: 'cart_00000000000000000000000000',
  line: 'line_00000000000000000000000000',
  order: 'order_00000000000000000000000000',
}
const TOO_BIG = Number.MAX_SAFE_INTEGER + 1 // 2^53
const UNKNOWN_MEDIA = 'media_00000000000000000000000000'
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

// Calls are made with deliberately ill-typed arguments: the engine is called from JavaScript and HTTP too.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any

/** A deep copy of `base` with `value` at the dotted `path` (`undefined` deletes the key). */
function withValue<T>(base: T, path: string, value: unknown): T {
  const copy = structuredClone(base) as Loose
  const keys = path.split('.')
  let target = copy
  for (const k of keys.slice(0, -1)) target = target[k]
  const last = keys[keys.length - 1]!
  if (value === undefined) delete target[last]
  else target[last] = value
  return copy
}

const v = (name: string, call: Case['call'], field: string): Case => ({ name, call, code: 'VALIDATION', field })
const nf = (name: string, call: Case['call']): Case => ({ name, call, code: 'NOT_FOUND' })

/** The same bad value at `field` of an otherwise valid input. */
function badValues(field: string, values: Array<[string, unknown]>, call: (input: Loose, f: Fixture) => Promise<unknown>, base: unknown, path = field): Case[] {
  return values.map(([label, value]) => v(`${path} ${label}`, (f) => call(withValue(base, field, value), f), path))
}

/** A string argument (an id, a SKU, a handle) that is not a string, empty or 10,000 characters long. */
function badIdArgument(label: string, call: (value: Loose, f: Fixture) => Promise<unknown>): Case[] {
  const field = ARGUMENT_NAMES[label]!
  return [
    v(`${label} of 10,000 characters`, (f) => call(long, f), field),
    v(`${label} as a number`, (f) => call(42, f), field),
    v(`${label} null`, (f) => call(null, f), field),
    v(`${label} undefined`, (f) => call(undefined, f), field),
    v(`${label} as an array`, (f) => call(['prod_1'], f), field),
    v(`${label} empty`, (f) => call('', f), field),
  ]
}

/** The parameter name a bad plain argument is reported under. */
const ARGUMENT_NAMES: Record<string, string> = {
  'product id': 'productId',
  'id or handle': 'idOrHandle',
  'variant id': 'variantId',
  sku: 'sku',
  'cart id': 'cartId',
  'customer id': 'customerId',
  'payment id': 'paymentId',
  'line id': 'lineId',
  'option id': 'optionId',
  'order id': 'orderId',
  'cart or payment id': 'cartOrPaymentId',
  'channel id': 'channelId',
  'id or code': 'idOrCode',
  'draft id': 'draftId',
}

/** Input that is not an object at all. */
function badWholeInput(call: (input: Loose, f: Fixture) => Promise<unknown>): Case[] {
  return [
    v('input null', (f) => call(null, f), ''),
    v('input a string', (f) => call('{}', f), ''),
    v('input an array', (f) => call([], f), ''),
  ]
}

/** Keys that try to set what only the server decides. */
function extraFields(names: string[], call: (input: Loose, f: Fixture) => Promise<unknown>, base: Loose, prefix = ''): Case[] {
  return names.map((name) => v(`extra field ${prefix}${name}`, (f) => call(withValue(base, `${prefix}${name}`, name === 'status' ? 'completed' : 0), f), `${prefix}${name}`))
}

/** Caller idempotency keys: 8 to 255 characters. */
const badKey: Array<[string, unknown]> = [['too short', 'short'], ['of 10,000 characters', long], ['a number', 12345678], ['null', null], ['an object', { key: 'abcdefgh' }]]

const badMoney: Array<[string, unknown]> = [
  ['negative', -1],
  ['fractional', 12.5],
  ['above MAX_SAFE_INTEGER', TOO_BIG],
  ['1e20', 1e20],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['a numeric string', '1000'],
  ['null', null],
  ['an array', [1000]],
]
const badQuantity: Array<[string, unknown]> = [
  ['0', 0],
  ['negative', -1],
  ['fractional', 1.5],
  ['1e9', 1e9],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['a numeric string', '1'],
  ['null', null],
  ['undefined', undefined],
  ['an array', [1]],
]
const badCurrency: Array<[string, unknown]> = [
  ['unknown XYZ', 'XYZ'],
  ['two letters', 'US'],
  ['a number', 840],
  ['null', null],
  ['10,000 characters', long],
]
/** Keys naming Object.prototype machinery, refused in every free-form record. */
const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'] as const
/**
 * `rest` plus the reserved key `name` as an own property, as `JSON.parse` makes it (an object
 * literal or an assignment would set the prototype instead). `__proto__` gets an object value,
 * the others a primitive, so that only the key's name can be what is refused.
 */
function withReservedKey(name: string, rest: Record<string, unknown> = {}, value: unknown = name === '__proto__' ? { polluted: 1 } : 'x'): Loose {
  const parsed = JSON.parse(`{${JSON.stringify(name)}: ${JSON.stringify(value)}}`) as Record<string, unknown>
  return Object.assign(parsed, rest)
}
/** `{ a: { a: … { [name]: 1 } } }`, `depth` objects deep, and the dotted path of the reserved key. */
function deeplyReserved(name: string, depth: number): { value: Loose; path: string } {
  let value: Loose = withReservedKey(name, {}, 1)
  for (let i = 0; i < depth; i++) value = { a: value }
  return { value, path: [...Array.from({ length: depth }, () => 'a'), name].join('.') }
}
const badMetadata = (call: (input: Loose, f: Fixture) => Promise<unknown>, base: Loose): Case[] => [
  v('metadata value of 10,000 characters', (f) => call({ ...base, metadata: { note: long } }, f), 'metadata.note'),
  v('metadata key of 10,000 characters', (f) => call({ ...base, metadata: { [long]: 'x' } }, f), `metadata.${long}`),
  v('metadata value an object', (f) => call({ ...base, metadata: { nested: { price: 1 } } }, f), 'metadata.nested'),
  v('metadata value NaN', (f) => call({ ...base, metadata: { n: Number.NaN } }, f), 'metadata.n'),
  v('metadata value Infinity', (f) => call({ ...base, metadata: { n: Number.POSITIVE_INFINITY } }, f), 'metadata.n'),
  v('metadata with 51 keys', (f) => call({ ...base, metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }, f), 'metadata'),
  v('metadata an array', (f) => call({ ...base, metadata: ['x'] }, f), 'metadata'),
  // An own `__proto__` key, as JSON.parse makes it from a request body: refused, not silently dropped.
  ...RESERVED_KEYS.map((k) => v(`metadata with a ${k} key (as JSON.parse makes it)`, (f) => call({ ...base, metadata: withReservedKey(k, { note: 'ok' }) }, f), `metadata.${k}`)),
]
const badPageInput = (call: (input: Loose, f: Fixture) => Promise<unknown>): Case[] => [
  ...badValues('limit', [['0', 0], ['101', 101], ['fractional', 1.5], ['a numeric string', '20'], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['negative', -5]], call, {}),
  v('cursor that is not base64 JSON', (f) => call({ cursor: '!!not-a-cursor!!' }, f), 'cursor'),
  v('cursor of 10,000 characters', (f) => call({ cursor: long }, f), 'cursor'),
  v('cursor encoding an object', (f) => call({ cursor: cursorOf({ createdAt: '2024-01-01', id: 'x' }) }, f), 'cursor'),
  v('cursor encoding null', (f) => call({ cursor: cursorOf(null) }, f), 'cursor'),
  v('cursor encoding a non-date', (f) => call({ cursor: cursorOf(['yesterday-ish', 'x']) }, f), 'cursor'),
  v('cursor encoding a number id', (f) => call({ cursor: cursorOf([new Date().toISOString(), 42]) }, f), 'cursor'),
  v('cursor a number', (f) => call({ cursor: 42 }, f), 'cursor'),
  ...badWholeInput(call),
]

const productInput = { title: 'Sock', handle: 'sock-2', variants: [{ sku: 'SOCK2-S', prices: [{ currency: 'USD', amount: 500 }] }] }
const optionProductInput = {
  title: 'Glove',
  options: [{ name: 'Size', values: ['S', 'M'] }],
  variants: [{ sku: 'GLOVE-S', options: { Size: 'S' }, prices: [{ currency: 'USD', amount: 500 }] }],
}
const newSockVariant = { sku: 'SOCK-M', options: { Size: 'M' }, prices: [{ currency: 'USD', amount: 900 }] }

const UNKNOWN_CHANNEL = 'chan_00000000000000000000000000'

/** Bad values of a channel's fields, for `channels.create` (`required`: missing ones too) and `channels.update`. */
function channelFields(call: (input: Loose, f: Fixture) => Promise<unknown>, base: Record<string, unknown>, required: boolean): Case[] {
  const missing: Array<[string, unknown]> = required ? [['missing', undefined]] : []
  return [
    ...badValues('code', [['with spaces and capitals', 'Shop Floor'], ['of 10,000 characters', long], ['a number', 1], ['empty', ''], ...missing], call, base),
    ...badValues('name', [['blank', ' '], ['of 10,000 characters', long], ['a number', 1], ...missing], call, base),
    ...badValues('currencies', [['empty', []], ['a string', 'EUR'], ['listed twice', ['EUR', 'eur']], ['of 51', Array.from({ length: 51 }, () => 'EUR')], ...missing], call, base),
    v('currencies with an unknown currency', (f) => call({ ...base, currencies: ['XXX'] }, f), 'currencies.0'),
    ...badValues('locales', [['a string', 'de'], ['listed twice', ['de', 'de']]], call, base),
    v('locales with a bad tag', (f) => call({ ...base, locales: ['not a locale!'] }, f), 'locales.0'),
    ...badValues('taxInclusive', [['a string', 'yes'], ['a number', 1], ['null', null]], call, base),
    ...badValues('active', [['a string', 'yes'], ['a number', 0]], call, base),
    ...badValues('stockLocationIds', [['a string', 'loc_1'], ['listed twice', ['loc_1', 'loc_1']]], call, base),
    v('stockLocationIds with an id of 10,000 characters', (f) => call({ ...base, stockLocationIds: [long] }, f), 'stockLocationIds.0'),
  ]
}

const cases: Record<string, Case[]> = {
  'catalog.createProduct': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.catalog.createProduct(input)
    return [
      ...badValues('title', [['of 10,000 characters', long], ['a number', 42], ['null', null], ['undefined', undefined], ['blank', '   '], ['an array', ['Sock']]], call, productInput),
      ...badValues('handle', [['of 10,000 characters', 'a'.repeat(10_000)], ['with spaces and capitals', 'Not A Handle'], ['a number', 7]], call, productInput),
      ...badValues('description', [['of 10,000 characters', long], ['a number', 1]], call, productInput),
      ...badValues('status', [['unknown', 'deleted'], ['a number', 1]], call, productInput),
      ...badValues('variants', [['empty', []], ['null', null], ['a string', 'SOCK'], ['undefined', undefined]], call, productInput),
      ...badValues('variants.0.sku', [['of 10,000 characters', long], ['a number', 42], ['null', null], ['blank', '  ']], call, productInput),
      ...badValues('variants.0.title', [['of 10,000 characters', long]], call, productInput),
      ...badValues('variants.0.weightGrams', [['negative', -1], ['fractional', 0.5], ['1e9', 1e9], ['a string', '600'], ['NaN', Number.NaN]], call, productInput),
      ...badValues('variants.0.manageInventory', [['a string', 'yes']], call, productInput),
      ...badValues('variants.0.prices', [['a string', '500'], ['null', null]], call, productInput),
      ...badValues('variants.0.prices.0.amount', badMoney, call, productInput),
      ...badValues('variants.0.prices.0.currency', badCurrency, call, productInput),
      ...badValues('variants.0.prices.0.minQuantity', badQuantity.filter(([l]) => l !== 'undefined'), call, productInput),
      ...badValues('options.0.name', [['of 10,000 characters', long]], call, optionProductInput),
      ...badValues('options.0.values.0', [['of 10,000 characters', long]], call, optionProductInput),
      ...badValues('variants.0.options.Size', [['of 10,000 characters', long], ['not one of the values', 'XXL']], call, optionProductInput),
      v('option value key the product does not have', (f) => call(withValue(optionProductInput, 'variants.0.options.Color', 'Red'), f), 'variants.0.options.Color'),
      ...RESERVED_KEYS.flatMap((k) => [
        v(`variants.0.options with a ${k} key`, (f) => call({ ...optionProductInput, variants: [{ ...optionProductInput.variants[0], options: withReservedKey(k, { Size: 'S' }, 'S') }] }, f), `variants.0.options.${k}`),
        v(`an option named ${k}`, (f) => call({ ...optionProductInput, options: [{ name: k, values: ['S'] }], variants: [{ ...optionProductInput.variants[0], options: {} }] }, f), 'options.0.name'),
      ]),
      v('two variants with the same SKU', (f) => call({ ...productInput, variants: [productInput.variants[0], productInput.variants[0]] }, f), 'variants.1.sku'),
      ...badMetadata(call, productInput),
      ...extraFields(['price', 'total', 'id', 'createdAt'], call, productInput),
      ...extraFields(['price', 'unitPrice', 'id', 'stock'], call, productInput, 'variants.0.'),
      ...extraFields(['total', 'id'], call, productInput, 'variants.0.prices.0.'),
      ...badWholeInput(call),
    ]
  })(),

  'catalog.addVariants': (() => {
    const call = (variants: Loose, f: Fixture) => f.commerce.catalog.addVariants(f.sock.id, variants)
    const base = [newSockVariant]
    return [
      nf('unknown product', (f) => f.commerce.catalog.addVariants(UNKNOWN.product, base)),
      ...badIdArgument('product id', (id, f) => f.commerce.catalog.addVariants(id, base)),
      v('variants empty', (f) => call([], f), 'variants'),
      v('variants null', (f) => call(null, f), 'variants'),
      v('variants an object', (f) => call(newSockVariant, f), 'variants'),
      ...badValues('0.sku', [['of 10,000 characters', long], ['a number', 42]], call, base, 'variants.0.sku'),
      ...badValues('0.title', [['of 10,000 characters', long]], call, base, 'variants.0.title'),
      ...badValues('0.prices.0.amount', badMoney, call, base, 'variants.0.prices.0.amount'),
      ...badValues('0.prices.0.currency', badCurrency, call, base, 'variants.0.prices.0.currency'),
      ...badValues('0.options.Size', [['not one of the values', 'XXL'], ['of 10,000 characters', long]], call, base, 'variants.0.options.Size'),
      v('the option values of an existing variant', (f) => call([{ ...newSockVariant, options: { Size: 'S' } }], f), 'variants.0.options'),
      v('the SKU of an existing variant of the product', (f) => call([{ ...newSockVariant, sku: 'SOCK-S' }], f), 'variants.0.sku'),
      v('extra field variants.0.price', (f) => call([{ ...newSockVariant, price: 1 }], f), 'variants.0.price'),
      ...RESERVED_KEYS.map((k) => v(`variants.0.options with a ${k} key`, (f) => call([{ ...newSockVariant, options: withReservedKey(k, { Size: 'M' }, 'M') }], f), `variants.0.options.${k}`)),
      v('extra field variants.0.prices.0.total', (f) => call([{ ...newSockVariant, prices: [{ currency: 'USD', amount: 900, total: 1 }] }], f), 'variants.0.prices.0.total'),
    ]
  })(),

  'catalog.getProduct': [
    nf('unknown id', (f) => f.commerce.catalog.getProduct(UNKNOWN.product)),
    nf('unknown handle', (f) => f.commerce.catalog.getProduct('no-such-handle')),
    ...badIdArgument('id or handle', (id, f) => f.commerce.catalog.getProduct(id)),
  ],

  'catalog.listProducts': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.catalog.listProducts(input)
    return [
      ...badPageInput(call),
      ...badValues('status', [['unknown', 'deleted'], ['a number', 1]], call, {}),
      ...extraFields(['price', 'handle'], call, {}),
    ]
  })(),

  'catalog.createProducts': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.catalog.createProducts(input)
    const one = () => ({ title: 'Sock', variants: [{ sku: key(), prices: [{ currency: 'USD', amount: 900 }] }] })
    return [
      v('products not a list', (f) => call({ title: 'Sock' }, f), 'products'),
      v('products empty', (f) => call([], f), 'products'),
      v('a product without a title', (f) => call([one(), { variants: [{ sku: key() }] }], f), 'products.1.title'),
      v('a price negative', (f) => call([{ ...one(), variants: [{ sku: key(), prices: [{ currency: 'USD', amount: -1 }] }] }], f), 'products.0.variants.0.prices.0.amount'),
      v('a currency unknown', (f) => call([{ ...one(), variants: [{ sku: key(), prices: [{ currency: 'XXX', amount: 1 }] }] }], f), 'products.0.variants.0.prices.0.currency'),
      v('a SKU twice', (f) => call([{ ...one(), variants: [{ sku: 'DUP-SKU-1' }] }, { ...one(), variants: [{ sku: 'DUP-SKU-1' }] }], f), 'products.1.variants.0.sku'),
      v('stock negative', (f) => call([{ ...one(), stock: [{ sku: 'X', location: 'main', onHand: -1 }] }], f), 'products.0.stock.0.onHand'),
      v(
        'one location counted twice, by its code and by its id',
        (f) => {
          const sku = key()
          return call([{ title: 'Counted Twice', variants: [{ sku }], stock: [{ sku, location: 'main', onHand: 1 }, { sku, location: f.locationId, onHand: 2 }] }], f)
        },
        'products.0.stock.1',
      ),
      v('an extra field', (f) => call([{ ...one(), price: 1 }], f), 'products.0.price'),
    ]
  })(),

  'channels.create': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.channels.create(input)
    const base = { code: 'pos', name: 'Shop floor', currencies: ['EUR'] }
    return [
      ...channelFields(call, base, true),
      v('stockLocationIds naming an unknown location', (f) => call({ ...base, stockLocationIds: [UNKNOWN.location] }, f), 'stockLocationIds.0'),
      ...extraFields(['id', 'createdAt'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  'channels.get': [nf('unknown channel', (f) => f.commerce.channels.get('nowhere')), ...badIdArgument('id or code', (value, f) => f.commerce.channels.get(value))],

  'channels.list': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.channels.list(input)
    return [...badPageInput(call), ...badValues('active', [['a string', 'yes'], ['a number', 1]], call, {}), ...extraFields(['code'], call, {})]
  })(),

  'channels.update': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.channels.update(UNKNOWN_CHANNEL, input)
    return [
      nf('unknown channel', (f) => call({ name: 'Shop floor' }, f)),
      ...badIdArgument('channel id', (id, f) => f.commerce.channels.update(id, { name: 'Shop floor' })),
      ...channelFields(call, {}, false),
      ...extraFields(['id', 'createdAt'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  ...Object.fromEntries(
    (['publish', 'unpublish'] as const).map((method) => {
      const call = (productIds: Loose, f: Fixture) => f.commerce.channels[method](UNKNOWN_CHANNEL, productIds)
      return [
        `channels.${method}`,
        [
          nf('unknown channel', (f) => call([f.shoe.id], f)),
          ...badIdArgument('channel id', (id, f) => f.commerce.channels[method](id, [f.shoe.id])),
          v('productIds empty', (f) => call([], f), 'productIds'),
          v('productIds a string', (f) => call('prod_1', f), 'productIds'),
          v('productIds of 251', (f) => call(Array.from({ length: 251 }, (_, i) => `prod_${i}`), f), 'productIds'),
          v('productIds with a number', (f) => call([42], f), 'productIds.0'),
          v('productIds with an id of 10,000 characters', (f) => call([long], f), 'productIds.0'),
        ],
      ]
    }),
  ),

  'channels.products': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.channels.products(UNKNOWN_CHANNEL, input)
    return [
      nf('unknown channel', (f) => call({}, f)),
      ...badIdArgument('channel id', (id, f) => f.commerce.channels.products(id)),
      ...badPageInput(call),
      ...badValues('locale', [['not a language tag', 'not a locale!'], ['a number', 1]], call, {}),
      ...extraFields(['channelId'], call, {}),
    ]
  })(),

  'drafts.create': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.drafts.create(input)
    const base = { currency: 'USD', createdBy: 'maria' }
    return [
      ...badValues('createdBy', [['missing', undefined], ['blank', '  '], ['of 201 characters', 'x'.repeat(201)], ['a number', 7]], call, base),
      ...badValues('currency', [['unknown', 'XXX'], ['a number', 840], ['missing', undefined]], call, base),
      ...badValues('email', [['not an email', 'ada'], ['of 10,000 characters', longEmail]], call, base),
      ...badValues('customerId', [['of 10,000 characters', long], ['a number', 1]], call, base),
      ...badValues('channelId', [['of 10,000 characters', long], ['a number', 1]], call, base),
      ...badValues('expiresAt', [['in the past', '2000-01-01T00:00:00Z'], ['not a date', 'tomorrow'], ['beyond 30 days', '2999-01-01T00:00:00Z'], ['a number', 1]], call, base),
      ...extraFields(['id', 'status', 'kind', 'draftStatus', 'heldUnits'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  'drafts.get': [
    nf('unknown draft', (f) => f.commerce.drafts.get(UNKNOWN.cart)),
    nf("a shopper's cart", (f) => f.commerce.drafts.get(f.cartId)),
    ...badIdArgument('draft id', (id, f) => f.commerce.drafts.get(id)),
  ],

  'drafts.overridePrice': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.drafts.overridePrice(UNKNOWN.cart, UNKNOWN.line, input)
    const base = { unitPrice: 100, reason: 'price match', by: 'maria' }
    return [
      nf('unknown draft', (f) => call(base, f)),
      nf("a shopper's cart", (f) => f.commerce.drafts.overridePrice(f.cartId, f.lineId, base)),
      ...badIdArgument('draft id', (id, f) => f.commerce.drafts.overridePrice(id, UNKNOWN.line, base)),
      ...badIdArgument('line id', (id, f) => f.commerce.drafts.overridePrice(UNKNOWN.cart, id, base)),
      ...badValues('unitPrice', [...badMoney, ['missing', undefined]], call, base),
      ...badValues('reason', [['missing', undefined], ['blank', ' '], ['of 501 characters', 'x'.repeat(501)], ['a number', 1]], call, base),
      ...badValues('by', [['missing', undefined], ['empty', ''], ['of 201 characters', 'x'.repeat(201)]], call, base),
      ...extraFields(['from', 'at', 'currency'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  ...Object.fromEntries(
    (['reserve', 'paymentLink'] as const).map((method) => {
      const call = (input: Loose, f: Fixture) => f.commerce.drafts[method](UNKNOWN.cart, input)
      return [
        `drafts.${method}`,
        [
          nf('unknown draft', (f) => call({}, f)),
          nf("a shopper's cart", (f) => f.commerce.drafts[method](f.cartId)),
          ...badIdArgument('draft id', (id, f) => f.commerce.drafts[method](id)),
          ...badValues('expiresAt', [['in the past', '2000-01-01T00:00:00Z'], ['not a date', 'tomorrow'], ['beyond 30 days', '2999-01-01T00:00:00Z'], ['a number', 1]], call, {}),
          ...extraFields(['heldUnits', 'token'], call, {}),
          ...badWholeInput(call),
        ],
      ]
    }),
  ),

  'drafts.discard': [
    nf('unknown draft', (f) => f.commerce.drafts.discard(UNKNOWN.cart)),
    nf("a shopper's cart", (f) => f.commerce.drafts.discard(f.cartId)),
    ...badIdArgument('draft id', (id, f) => f.commerce.drafts.discard(id)),
  ],

  'drafts.markPaid': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.drafts.markPaid(UNKNOWN.cart, input)
    const base = { method: 'cash' as const, idempotencyKey: 'key-00000001' }
    return [
      nf('unknown draft', (f) => call({ ...base, idempotencyKey: key() }, f)),
      nf("a shopper's ready cart", (f) => f.commerce.drafts.markPaid(f.readyCartId, { ...base, idempotencyKey: key() })),
      ...badIdArgument('draft id', (id, f) => f.commerce.drafts.markPaid(id, { ...base, idempotencyKey: key() })),
      ...badValues('method', [['unknown', 'gold'], ['missing', undefined], ['a number', 1]], call, base),
      ...badValues('reference', [['empty', ''], ['of 201 characters', 'x'.repeat(201)], ['a number', 1]], call, base),
      ...badValues('idempotencyKey', [...badKey, ['missing', undefined]], call, base),
      ...extraFields(['amount', 'currency', 'status', 'provider', 'orderId'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  'drafts.expire': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.drafts.expire(input)
    return [
      ...badValues('limit', [['0', 0], ['1001', 1001], ['fractional', 1.5], ['a numeric string', '5']], call, {}),
      ...extraFields(['olderThan'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'search.products': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.search.products(input)
    return [
      ...badValues('query', [['of 201 characters', 'x'.repeat(201)], ['a number', 1], ['null', null]], call, {}),
      ...badValues('locale', [['not a language tag', 'not a locale!'], ['a number', 1]], call, {}),
      ...badValues('categoryId', [['of 10,000 characters', long], ['a number', 1]], call, {}),
      ...badValues('tags', [['a string', 'trail'], ['of 21 tags', Array.from({ length: 21 }, (_, i) => `t${i}`)]], call, {}),
      v('tags with a blank tag', (f) => call({ tags: [' '] }, f), 'tags.0'),
      ...badValues('options', [['a list', ['Size']]], call, {}),
      v('options with a value list of 51', (f) => call({ options: { Size: Array.from({ length: 51 }, (_, i) => String(i)) } }, f), 'options.Size'),
      v('options with an empty value list', (f) => call({ options: { Size: [] } }, f), 'options.Size'),
      ...badValues('currency', [['unknown', 'XXX'], ['a number', 840]], call, {}),
      v('price negative', (f) => call({ currency: 'USD', price: { min: -1 } }, f), 'price.min'),
      v('price fractional', (f) => call({ currency: 'USD', price: { max: 1.5 } }, f), 'price.max'),
      v('price with an unknown field', (f) => call({ currency: 'USD', price: { from: 1 } }, f), 'price.from'),
      ...badValues('sort', [['unknown', 'name'], ['SQL', 'created_at desc; drop table cw_products']], call, {}),
      ...badValues('limit', [['0', 0], ['101', 101], ['fractional', 2.5]], call, {}),
      ...badValues('cursor', [['not one this search returned', 'bm9wZQ'], ['of 201 characters', 'x'.repeat(201)]], call, {}),
      v('price sort without a currency', (f) => call({ sort: 'price_asc' }, f), 'currency'),
      v('relevance sort without a query', (f) => call({ sort: 'relevance' }, f), 'sort'),
      ...extraFields(['orderBy', 'where', 'status'], call, {}),
    ]
  })(),

  'catalog.updateProduct': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.catalog.updateProduct(f.shoe.id, input)
    return [
      nf('unknown product', (f) => f.commerce.catalog.updateProduct(UNKNOWN.product, { title: 'New' })),
      ...badIdArgument('product id', (id, f) => f.commerce.catalog.updateProduct(id, { title: 'New' })),
      ...badValues('title', [['of 10,000 characters', long], ['blank', ' '], ['null', null], ['a number', 1]], call, {}),
      ...badValues('description', [['of 10,000 characters', long]], call, {}),
      ...badValues('status', [['unknown', 'deleted']], call, {}),
      ...badMetadata(call, {}),
      ...extraFields(['price', 'handle', 'variants', 'createdAt', 'id'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'catalog.getVariant': [nf('unknown variant', (f) => f.commerce.catalog.getVariant(UNKNOWN.variant)), ...badIdArgument('variant id', (id, f) => f.commerce.catalog.getVariant(id))],

  'catalog.getVariantBySku': [
    nf('unknown sku', (f) => f.commerce.catalog.getVariantBySku('NO-SUCH-SKU')),
    ...badIdArgument('sku', (sku, f) => f.commerce.catalog.getVariantBySku(sku)),
    v('sku blank', (f) => f.commerce.catalog.getVariantBySku('   '), 'sku'),
  ],

  'catalog.updateVariant': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.catalog.updateVariant(f.variantId, input)
    return [
      nf('unknown variant', (f) => f.commerce.catalog.updateVariant(UNKNOWN.variant, { title: 'New' })),
      ...badIdArgument('variant id', (id, f) => f.commerce.catalog.updateVariant(id, { title: 'New' })),
      ...badValues('title', [['of 10,000 characters', long], ['blank', ' ']], call, {}),
      ...badValues('weightGrams', [['negative', -1], ['fractional', 1.5], ['1e9', 1e9], ['a string', '600'], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY]], call, {}),
      ...badValues('manageInventory', [['a string', 'no'], ['a number', 0]], call, {}),
      ...extraFields(['sku', 'price', 'prices', 'productId'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'catalog.setPrices': (() => {
    const call = (prices: Loose, f: Fixture) => f.commerce.catalog.setPrices(f.variantId, prices)
    const base = [{ currency: 'USD', amount: 100 }]
    return [
      nf('unknown variant', (f) => f.commerce.catalog.setPrices(UNKNOWN.variant, base)),
      ...badIdArgument('variant id', (id, f) => f.commerce.catalog.setPrices(id, base)),
      v('prices not an array', (f) => call({ currency: 'USD', amount: 100 }, f), 'prices'),
      v('prices null', (f) => call(null, f), 'prices'),
      v('101 prices', (f) => call(Array.from({ length: 101 }, (_, i) => ({ currency: 'USD', amount: 100, minQuantity: i + 1 })), f), 'prices'),
      ...badValues('0.amount', badMoney, call, base, 'prices.0.amount'),
      ...badValues('0.currency', badCurrency, call, base, 'prices.0.currency'),
      ...badValues('0.minQuantity', badQuantity.filter(([l]) => l !== 'undefined'), call, base, 'prices.0.minQuantity'),
      v('two prices for one currency and tier (usd and USD)', (f) => call([{ currency: 'usd', amount: 100 }, { currency: 'USD', amount: 200 }], f), 'prices'),
      v('extra field prices.0.total', (f) => call([{ currency: 'USD', amount: 100, total: 1 }], f), 'prices.0.total'),
      v('extra field prices.0.variantId', (f) => call([{ currency: 'USD', amount: 100, variantId: 'var_x' }], f), 'prices.0.variantId'),
    ]
  })(),

  'catalog.explainPrice': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.catalog.explainPrice(f.variantId, input)
    const base = { currency: 'USD', quantity: 2 }
    return [
      nf('unknown variant', (f) => f.commerce.catalog.explainPrice(UNKNOWN.variant, base)),
      ...badIdArgument('variant id', (id, f) => f.commerce.catalog.explainPrice(id, base)),
      ...badValues('currency', [...badCurrency, ['missing', undefined]], call, base),
      ...badValues('quantity', badQuantity.filter(([l]) => l !== 'undefined'), call, base),
      ...badValues('customerId', [['of 10,000 characters', long], ['a number', 1], ['empty', '']], call, base),
      ...badValues('channelId', [['of 10,000 characters', long], ['a number', 1], ['empty', '']], call, base),
      ...extraFields(['amount', 'source', 'variantId'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  'catalog.deleteProduct': [
    nf('unknown product', (f) => f.commerce.catalog.deleteProduct(UNKNOWN.product)),
    ...badIdArgument('product id', (id, f) => f.commerce.catalog.deleteProduct(id)),
  ],

  'catalog.dropRedirect': [
    v('handle with spaces', (f) => f.commerce.catalog.dropRedirect('Not A Handle'), 'handle'),
    v('handle empty', (f) => f.commerce.catalog.dropRedirect(''), 'handle'),
    v('handle of 10,000 characters', (f) => f.commerce.catalog.dropRedirect('a'.repeat(10_000)), 'handle'),
  ],

  'catalog.setTranslations': [
    nf('unknown product', (f) => f.commerce.catalog.setTranslations({ type: 'product', id: UNKNOWN.product }, 'de', { title: 'Schuh' })),
    nf('unknown variant', (f) => f.commerce.catalog.setTranslations({ type: 'variant', id: UNKNOWN.variant }, 'de', { title: 'Blau' })),
    v('locale not a language tag', (f) => f.commerce.catalog.setTranslations({ type: 'product', id: f.shoe.id }, 'not a locale', { title: 'Schuh' }), 'locale'),
    v('locale of 10,000 characters', (f) => f.commerce.catalog.setTranslations({ type: 'product', id: f.shoe.id }, long, { title: 'Schuh' }), 'locale'),
    v('entity type unknown', (f) => f.commerce.catalog.setTranslations({ type: 'order', id: f.shoe.id } as Loose, 'de', { title: 'Schuh' }), 'entity.type'),
    v('title of 10,000 characters', (f) => f.commerce.catalog.setTranslations({ type: 'product', id: f.shoe.id }, 'de', { title: long }), 'fields.title'),
    v('a field a variant has not', (f) => f.commerce.catalog.setTranslations({ type: 'variant', id: f.variantId }, 'de', { description: 'x' }), 'fields.description'),
    v('an option value the option has not', (f) => f.commerce.catalog.setTranslations({ type: 'option', productId: f.shoe.id, name: 'Color' }, 'de', { values: { Green: 'Grün' } }), 'fields.values.Green'),
  ],

  'media.add': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.media.add(f.shoe.id, input)
    const base = { url: 'https://cdn.example.com/trail-runner.jpg', alt: 'Trail Runner' }
    return [
      nf('unknown product', (f) => f.commerce.media.add(UNKNOWN.product, base)),
      ...badIdArgument('product id', (id, f) => f.commerce.media.add(id, base)),
      ...badValues('url', [['javascript:', 'javascript:alert(1)'], ['ftp:', 'ftp://cdn.example.com/a.jpg'], ['with credentials', 'https://user:pw@cdn.example.com/a.jpg'], ['of 10,000 characters', `https://cdn.example.com/${long}`], ['a number', 1]], call, base),
      ...badValues('alt', [['of 10,000 characters', long], ['a number', 1], ['with a NUL', 'a\u0000b']], call, base),
      ...badValues('width', [['0', 0], ['fractional', 1.5], ['1e9', 1e9], ['NaN', Number.NaN], ['a numeric string', '100']], call, base),
      ...badValues('height', [['negative', -1], ['Infinity', Number.POSITIVE_INFINITY]], call, base),
      ...badValues('position', [['negative', -1], ['fractional', 0.5]], call, base),
      ...badValues('variantId', [['of 10,000 characters', long], ['a number', 1]], call, base),
      v('variantId of another product', (f) => call({ ...base, variantId: f.sock.variants[0]!.id }, f), 'variantId'),
      v('neither a file nor a url', (f) => call({ alt: 'x' }, f), 'file'),
      v('file bytes as text', (f) => call({ file: { bytes: 'iVBORw0KGgo=', contentType: 'image/png' } }, f), 'file.bytes'),
      v('file bytes not of their type', (f) => call({ file: { bytes: Buffer.from('<html></html>'), contentType: 'image/png' } }, f), 'file.bytes'),
      v('file of SVG', (f) => call({ file: { bytes: Buffer.from('<svg/>'), contentType: 'image/svg+xml' } }, f), 'file.contentType'),
      ...extraFields(['id', 'key', 'size', 'productId'], call, base),
      ...badWholeInput(call),
    ]
  })(),
  'media.list': [
    nf('unknown product', (f) => f.commerce.media.list(UNKNOWN.product)),
    ...badIdArgument('product id', (id, f) => f.commerce.media.list(id)),
    v('variantId of another product', (f) => f.commerce.media.list(f.shoe.id, { variantId: f.sock.variants[0]!.id }), 'variantId'),
    ...badValues('variantId', [['of 10,000 characters', long], ['a number', 1]], (input, f) => f.commerce.media.list(f.shoe.id, input), {}),
    ...badWholeInput((input, f) => f.commerce.media.list(f.shoe.id, input)),
  ],
  'media.update': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.media.update(UNKNOWN_MEDIA, input)
    return [
      nf('unknown media', (f) => call({ alt: 'x' }, f)),
      ...[['of 10,000 characters', long], ['a number', 42], ['empty', ''], ['null', null]].map(([label, id]) => v(`media id ${label}`, (f) => f.commerce.media.update(id as Loose, { alt: 'x' }), 'mediaId')),
      ...badValues('alt', [['of 10,000 characters', long], ['a number', 1]], call, {}),
      ...badValues('width', [['0', 0], ['fractional', 1.5]], call, {}),
      ...extraFields(['url', 'key', 'position', 'productId'], call, {}),
      ...badWholeInput(call),
    ]
  })(),
  'media.reorder': [
    nf('unknown product', (f) => f.commerce.media.reorder(UNKNOWN.product, [UNKNOWN_MEDIA])),
    ...badIdArgument('product id', (id, f) => f.commerce.media.reorder(id, [UNKNOWN_MEDIA])),
    v('mediaIds empty', (f) => f.commerce.media.reorder(f.shoe.id, []), 'mediaIds'),
    v('mediaIds not the product\'s images', (f) => f.commerce.media.reorder(f.shoe.id, [UNKNOWN_MEDIA]), 'mediaIds'),
    v('mediaIds naming one twice', (f) => f.commerce.media.reorder(f.shoe.id, [UNKNOWN_MEDIA, UNKNOWN_MEDIA]), 'mediaIds'),
    v('mediaIds a string', (f) => f.commerce.media.reorder(f.shoe.id, UNKNOWN_MEDIA as Loose), 'mediaIds'),
    v('a media id of 10,000 characters', (f) => f.commerce.media.reorder(f.shoe.id, [long]), 'mediaIds.0'),
  ],
  'media.remove': [
    nf('unknown media', (f) => f.commerce.media.remove(UNKNOWN_MEDIA)),
    ...[['of 10,000 characters', long], ['a number', 42], ['empty', ''], ['null', null]].map(([label, id]) => v(`media id ${label}`, (f) => f.commerce.media.remove(id as Loose), 'mediaId')),
  ],

  'inventory.createLocation': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.inventory.createLocation(input)
    const base = { name: 'Store', code: 'store' }
    return [
      ...badValues('name', [['of 10,000 characters', long], ['blank', '  '], ['null', null], ['a number', 42], ['undefined', undefined]], call, base),
      ...badValues('code', [['of 10,000 characters', long], ['with spaces', 'the store'], ['a number', 1]], call, base),
      ...badValues('priority', [['negative', -1], ['fractional', 0.5], ['a string', '1'], ['NaN', Number.NaN], ['1e9', 1e9]], call, base),
      ...extraFields(['id', 'createdAt'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  'inventory.setStock': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.inventory.setStock(input)
    const base = (f: Fixture) => ({ variantId: f.variantId, locationId: f.locationId, onHand: 5 })
    const at = (field: string, value: unknown) => (f: Fixture) => call(withValue(base(f), field, value), f)
    return [
      nf('unknown variant', (f) => call({ ...base(f), variantId: UNKNOWN.variant }, f)),
      nf('unknown location', (f) => call({ ...base(f), locationId: UNKNOWN.location }, f)),
      v('variantId of 10,000 characters', at('variantId', long), 'variantId'),
      v('variantId a number', at('variantId', 1), 'variantId'),
      v('locationId of 10,000 characters', at('locationId', long), 'locationId'),
      v('locationId null', at('locationId', null), 'locationId'),
      ...[['negative', -1], ['fractional', 2.5], ['above 1e9', 1e9 + 1], ['above MAX_SAFE_INTEGER', TOO_BIG], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['a numeric string', '5'], ['null', null], ['undefined', undefined]].map(
        ([label, value]) => v(`onHand ${label}`, at('onHand', value), 'onHand'),
      ),
      v('lowStockThreshold negative', at('lowStockThreshold', -1), 'lowStockThreshold'),
      v('lowStockThreshold fractional', at('lowStockThreshold', 0.5), 'lowStockThreshold'),
      v('extra field reserved', at('reserved', 0), 'reserved'),
      v('extra field available', at('available', 100), 'available'),
      ...badWholeInput(call),
    ]
  })(),

  'inventory.setPolicy': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.inventory.setPolicy(f.variantId, input)
    return [
      nf('unknown variant', (f) => f.commerce.inventory.setPolicy(UNKNOWN.variant, { policy: 'deny' })),
      ...badIdArgument('variant id', (id, f) => f.commerce.inventory.setPolicy(id, { policy: 'deny' })),
      ...badValues('policy', [['unknown', 'oversell'], ['a number', 1], ['null', null]], call, { policy: 'deny' }),
      ...badValues('backorderLimit', [['0', 0], ['negative', -1], ['fractional', 1.5], ['above 1e6', 1_000_001], ['a numeric string', '5']], call, { policy: 'backorder', backorderLimit: 5 }),
      ...badValues('availableAt', [['not a date', 'tomorrow'], ['without an offset', '2030-01-01T00:00:00'], ['a number', 1]], call, { policy: 'preorder', availableAt: '2030-01-01T00:00:00Z' }),
      ...extraFields(['backorderLimit'], call, { policy: 'deny' }),
    ]
  })(),

  'inventory.adjust': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.inventory.adjust(input)
    const base = (f: Fixture) => ({ variantId: f.variantId, locationId: f.locationId, delta: 1 })
    const at = (field: string, value: unknown) => (f: Fixture) => call(withValue(base(f), field, value), f)
    return [
      nf('unknown variant', (f) => call({ ...base(f), variantId: UNKNOWN.variant }, f)),
      nf('unknown location', (f) => call({ ...base(f), locationId: UNKNOWN.location }, f)),
      v('variantId of 10,000 characters', at('variantId', long), 'variantId'),
      ...[['0', 0], ['fractional', 1.5], ['above 1e9', 1e9 + 1], ['below -1e9', -1e9 - 1], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['a numeric string', '1'], ['null', null]].map(
        ([label, value]) => v(`delta ${label}`, at('delta', value), 'delta'),
      ),
      // Stock takes cap on-hand at 1e9; adding 1e9 to units already there would pass that cap.
      v('delta 1e9 on top of existing stock', at('delta', 1e9), 'delta'),
      v('extra field onHand', at('onHand', 5), 'onHand'),
      v('extra field reserved', at('reserved', 0), 'reserved'),
      ...badWholeInput(call),
    ]
  })(),

  'inventory.levels': [nf('unknown variant', (f) => f.commerce.inventory.levels(UNKNOWN.variant)), ...badIdArgument('variant id', (id, f) => f.commerce.inventory.levels(id))],

  'inventory.available': [
    nf('unknown variant', (f) => f.commerce.inventory.available(UNKNOWN.variant)),
    ...badIdArgument('variant id', (id, f) => f.commerce.inventory.available(id)),
  ],

  'inventory.productAvailability': [
    nf('unknown product', (f) => f.commerce.inventory.productAvailability(UNKNOWN.product)),
    ...badIdArgument('id or handle', (id, f) => f.commerce.inventory.productAvailability(id)),
    ...badValues('channel', [['of 10,000 characters', long], ['a number', 1], ['empty', '']], (input, f) => f.commerce.inventory.productAvailability(f.shoe.id, input), {}),
  ],

  'carts.create': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.carts.create(input)
    const base = { currency: 'USD' }
    return [
      ...badValues('currency', [...badCurrency, ['undefined', undefined], ['empty', '']], call, base),
      ...badValues('email', [['of 10,000 characters', longEmail], ['not an email', 'ada'], ['a number', 1]], call, base),
      ...badValues('customerId', [['of 10,000 characters', long], ['a number', 1]], call, base),
      ...badValues('channelId', [['of 10,000 characters', long], ['a number', 1], ['empty', '']], call, base),
      nf('unknown channel', (f) => call({ ...base, channelId: UNKNOWN_CHANNEL }, f)),
      ...badMetadata(call, base),
      ...extraFields(['status', 'total', 'price', 'id', 'orderId', 'lines'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  'carts.get': [nf('unknown cart', (f) => f.commerce.carts.get(UNKNOWN.cart)), ...badIdArgument('cart id', (id, f) => f.commerce.carts.get(id))],

  'carts.addItem': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.carts.addItem(f.cartId, input)
    const base = (f: Fixture) => ({ variantId: f.variantId, quantity: 1 })
    return [
      nf('unknown cart', (f) => f.commerce.carts.addItem(UNKNOWN.cart, base(f))),
      nf('unknown variant', (f) => call({ variantId: UNKNOWN.variant, quantity: 1 }, f)),
      ...badIdArgument('cart id', (id, f) => f.commerce.carts.addItem(id, base(f))),
      v('variantId of 10,000 characters', (f) => call({ ...base(f), variantId: long }, f), 'variantId'),
      v('variantId null', (f) => call({ ...base(f), variantId: null }, f), 'variantId'),
      ...badQuantity.map(([label, value]) => v(`quantity ${label}`, (f) => call(withValue(base(f), 'quantity', value), f), 'quantity')),
      // The line already holds 1: 10,000 more would take it past the 10,000 per-line limit.
      v('quantity that takes the line past 10,000', (f) => call({ ...base(f), quantity: 10_000 }, f), 'quantity'),
      ...['price', 'unitPrice', 'total', 'status', 'amount', 'subtotal', 'discountTotal'].map((name) =>
        v(`extra field ${name}`, (f) => call({ ...base(f), [name]: name === 'status' ? 'completed' : 0 }, f), name),
      ),
      ...badWholeInput(call),
    ]
  })(),

  'carts.updateItem': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.carts.updateItem(f.cartId, f.lineId, input)
    return [
      nf('unknown cart', (f) => f.commerce.carts.updateItem(UNKNOWN.cart, f.lineId, { quantity: 2 })),
      nf('unknown line', (f) => f.commerce.carts.updateItem(f.cartId, UNKNOWN.line, { quantity: 2 })),
      nf('a line of another cart', (f) => f.commerce.carts.updateItem(f.readyCartId, f.lineId, { quantity: 2 })),
      ...badIdArgument('cart id', (id, f) => f.commerce.carts.updateItem(id, f.lineId, { quantity: 2 })),
      ...badIdArgument('line id', (id, f) => f.commerce.carts.updateItem(f.cartId, id, { quantity: 2 })),
      ...badQuantity.filter(([l]) => l !== '0').map(([label, value]) => v(`quantity ${label}`, (f) => call(withValue({ quantity: 2 }, 'quantity', value), f), 'quantity')),
      ...extraFields(['price', 'unitPrice', 'total', 'status', 'amount', 'variantId'], call, { quantity: 2 }),
      ...badWholeInput(call),
    ]
  })(),

  'carts.removeItem': [
    nf('unknown cart', (f) => f.commerce.carts.removeItem(UNKNOWN.cart, f.lineId)),
    nf('unknown line', (f) => f.commerce.carts.removeItem(f.cartId, UNKNOWN.line)),
    nf('a line of another cart', (f) => f.commerce.carts.removeItem(f.readyCartId, f.lineId)),
    ...badIdArgument('cart id', (id, f) => f.commerce.carts.removeItem(id, f.lineId)),
    ...badIdArgument('line id', (id, f) => f.commerce.carts.removeItem(f.cartId, id)),
  ],

  'carts.update': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.carts.update(f.cartId, input)
    const addressCases = (field: 'shippingAddress' | 'billingAddress'): Case[] => [
      ...(['firstName', 'lastName', 'company', 'line1', 'line2', 'city', 'region', 'postalCode', 'country', 'phone'] as const).map((part) =>
        v(`${field}.${part} of 10,000 characters`, (f) => call({ [field]: { ...address, [part]: long } }, f), `${field}.${part}`),
      ),
      v(`${field}.line1 blank`, (f) => call({ [field]: { ...address, line1: '   ' } }, f), `${field}.line1`),
      v(`${field}.line1 missing`, (f) => call({ [field]: withValue(address, 'line1', undefined) }, f), `${field}.line1`),
      v(`${field}.city a number`, (f) => call({ [field]: { ...address, city: 42 } }, f), `${field}.city`),
      v(`${field}.country of three letters`, (f) => call({ [field]: { ...address, country: 'GBR' } }, f), `${field}.country`),
      v(`${field}.country with a digit`, (f) => call({ [field]: { ...address, country: 'G1' } }, f), `${field}.country`),
      v(`${field} a string`, (f) => call({ [field]: '1 Analytical St, London' }, f), field),
      v(`${field} an array`, (f) => call({ [field]: [address] }, f), field),
      v(`extra field ${field}.price`, (f) => call({ [field]: { ...address, price: 0 } }, f), `${field}.price`),
      ...RESERVED_KEYS.map((k) => v(`${field} with a ${k} key`, (f) => call({ [field]: withReservedKey(k, address) }, f), `${field}.${k}`)),
    ]
    return [
      nf('unknown cart', (f) => f.commerce.carts.update(UNKNOWN.cart, { email: 'ada@example.com' })),
      ...badIdArgument('cart id', (id, f) => f.commerce.carts.update(id, { email: 'ada@example.com' })),
      ...badValues('email', [['of 10,000 characters', longEmail], ['not an email', 'ada@'], ['a number', 1], ['an array', ['ada@example.com']]], call, {}),
      ...addressCases('shippingAddress'),
      ...addressCases('billingAddress'),
      ...badMetadata(call, {}),
      ...badValues('customerId', [['of 10,000 characters', long], ['a number', 1], ['empty', ''], ['an object', { id: 'cus_1' }]], call, {}),
      ...badValues('ifCustomerId', [['of 10,000 characters', long], ['a number', 1], ['empty', '']], call, {}),
      ...extraFields(['status', 'total', 'price', 'currency', 'orderId', 'shippingMethod', 'lines', 'totals'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'carts.listShippingOptions': [
    nf('unknown cart', (f) => f.commerce.carts.listShippingOptions(UNKNOWN.cart)),
    ...badIdArgument('cart id', (id, f) => f.commerce.carts.listShippingOptions(id)),
  ],

  'carts.setShippingOption': [
    nf('unknown cart', (f) => f.commerce.carts.setShippingOption(UNKNOWN.cart, 'flat:standard')),
    nf('unknown option', (f) => f.commerce.carts.setShippingOption(f.readyCartId, 'flat:express')),
    nf('an option id without its provider', (f) => f.commerce.carts.setShippingOption(f.readyCartId, 'standard')),
    ...badIdArgument('cart id', (id, f) => f.commerce.carts.setShippingOption(id, 'flat:standard')),
    ...badIdArgument('option id', (id, f) => f.commerce.carts.setShippingOption(f.readyCartId, id)),
  ],

  // A token that opens nothing is NOT_FOUND whatever its shape: a miss never tells shapes apart.
  'carts.findByToken': [
    nf('token of an unknown cart', (f) => f.commerce.carts.findByToken(`ct_${UNKNOWN.cart}.${'A'.repeat(43)}`)),
    nf('the cart id instead of its token', (f) => f.commerce.carts.findByToken(f.cartId)),
    nf("the order's token", (f) => f.commerce.carts.findByToken(f.order.accessToken!)),
    ...[['of 10,000 characters', long], ['a number', 42], ['null', null], ['undefined', undefined], ['empty', ''], ['an array', ['ct_x']]].map(([label, value]) =>
      nf(`token ${label}`, (f) => f.commerce.carts.findByToken(value as Loose)),
    ),
  ],

  'carts.verifyToken': badIdArgument('cart id', (id, f) => f.commerce.carts.verifyToken(id, `ct_${UNKNOWN.cart}.${'A'.repeat(43)}`)),

  'carts.rotateToken': [nf('unknown cart', (f) => f.commerce.carts.rotateToken(UNKNOWN.cart)), ...badIdArgument('cart id', (id, f) => f.commerce.carts.rotateToken(id))],

  'carts.openForCustomer': badIdArgument('customer id', (id, f) => f.commerce.carts.openForCustomer(id)),

  'checkout.complete': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.checkout.complete(f.readyCartId, input)
    const base = { payment: { provider: 'test' }, idempotencyKey: 'key-00000001' }
    return [
      nf('unknown cart', (f) => f.commerce.checkout.complete(UNKNOWN.cart, { payment: { provider: 'test' }, idempotencyKey: key() })),
      ...badIdArgument('cart id', (id, f) => f.commerce.checkout.complete(id, { payment: { provider: 'test' }, idempotencyKey: key() })),
      ...badValues('payment', [['missing', undefined], ['null', null], ['a string', 'test']], call, base),
      ...badValues('payment.provider', [['not configured', 'stripe'], ['of 10,000 characters', long], ['a number', 1], ['empty', '']], call, base),
      ...badValues('payment.data', [['a string', 'tok_visa'], ['an array', ['tok_visa']]], call, base),
      // Nothing unbounded reaches storage: payment data is persisted with the payment.
      v('payment.data with a value of 10,000 characters', (f) => call({ ...base, payment: { provider: 'test', data: { token: long } } }, f), 'payment.data'),
      v('payment.data with a key of 10,000 characters', (f) => call({ ...base, payment: { provider: 'test', data: { [long]: 'x' } } }, f), `payment.data.${long}`),
      // Reserved keys are refused at any depth: payment data is stored and handed to providers.
      ...RESERVED_KEYS.flatMap((k) => [
        v(`payment.data with a ${k} key`, (f) => call({ ...base, payment: { provider: 'test', data: withReservedKey(k, { token: 'tok_visa' }) } }, f), `payment.data.${k}`),
        v(`payment.data with a ${k} key in a nested object`, (f) => call({ ...base, payment: { provider: 'test', data: { card: withReservedKey(k, { last4: '4242' }) } } }, f), `payment.data.card.${k}`),
        v(`payment.data with a ${k} key in an array`, (f) => call({ ...base, payment: { provider: 'test', data: { items: [{ ok: 1 }, withReservedKey(k)] } } }, f), `payment.data.items.1.${k}`),
        (() => {
          const deep = deeplyReserved(k, 40)
          return v(`payment.data with a ${k} key 40 objects deep`, (f) => call({ ...base, payment: { provider: 'test', data: deep.value } }, f), `payment.data.${deep.path}`)
        })(),
      ]),
      ...badValues('idempotencyKey', [['of 10,000 characters', long], ['too short', 'abc'], ['a number', 12345678], ['null', null], ['missing', undefined]], call, base),
      ...extraFields(['total', 'amount', 'status', 'price', 'currency', 'orderId'], call, base),
      ...extraFields(['amount', 'currency', 'status'], call, base, 'payment.'),
      ...badWholeInput(call),
    ]
  })(),

  'checkout.recover': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.checkout.recover(input)
    return [
      ...badValues('limit', [['0', 0], ['1001', 1001], ['fractional', 1.5], ['1e9', 1e9], ['a numeric string', '5'], ['NaN', Number.NaN]], call, {}),
      ...extraFields(['olderThan', 'status'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'checkout.confirm': [
    nf('unknown cart', (f) => f.commerce.checkout.confirm(UNKNOWN.cart)),
    nf('unknown payment', (f) => f.commerce.checkout.confirm('pay_missing')),
    ...badIdArgument('cart or payment id', (id, f) => f.commerce.checkout.confirm(id)),
  ],

  'orders.get': [nf('unknown order', (f) => f.commerce.orders.get(UNKNOWN.order)), ...badIdArgument('order id', (id, f) => f.commerce.orders.get(id))],

  'orders.findByToken': [
    nf('token of an unknown order', (f) => f.commerce.orders.findByToken(`ot_${UNKNOWN.order}.${'A'.repeat(43)}`)),
    nf("another secret under the order's id", (f) => f.commerce.orders.findByToken(`ot_${f.order.id}.${'A'.repeat(43)}`)),
    nf('the order id instead of its token', (f) => f.commerce.orders.findByToken(f.order.id)),
    ...[['of 10,000 characters', long], ['a number', 42], ['null', null], ['undefined', undefined], ['empty', ''], ['an array', ['ot_x']]].map(([label, value]) =>
      nf(`token ${label}`, (f) => f.commerce.orders.findByToken(value as Loose)),
    ),
  ],

  'orders.verifyToken': badIdArgument('order id', (id, f) => f.commerce.orders.verifyToken(id, f.order.accessToken!)),

  'orders.issueAccessToken': [
    nf('unknown order', (f) => f.commerce.orders.issueAccessToken(UNKNOWN.order)),
    ...badIdArgument('order id', (id, f) => f.commerce.orders.issueAccessToken(id)),
  ],

  'orders.getByNumber': [
    nf('unknown number', (f) => f.commerce.orders.getByNumber(f.order.number + 1000)),
    ...[['0', 0], ['negative', -1], ['fractional', 1001.5], ['a numeric string', '1001'], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['above MAX_SAFE_INTEGER', TOO_BIG], ['null', null], ['undefined', undefined], ['of 10,000 characters', long]].map(
      ([label, value]) => v(`number ${label}`, (f) => f.commerce.orders.getByNumber(value as Loose), 'number'),
    ),
  ],

  'orders.assignCustomer': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.orders.assignCustomer(input)
    const base = { email: 'ada@example.com', customerId: 'cus_1' }
    return [
      ...badValues('email', [['of 10,000 characters', longEmail], ['not an email', 'ada@'], ['a number', 1], ['missing', undefined]], call, base),
      ...badValues('customerId', [['of 10,000 characters', long], ['a number', 1], ['empty', ''], ['missing', undefined]], call, base),
      ...extraFields(['orderId', 'status'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  'orders.list': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.orders.list(input)
    return [
      ...badPageInput(call),
      ...badValues('status', [['unknown', 'shipped'], ['a number', 1]], call, {}),
      ...badValues('email', [['of 10,000 characters', longEmail], ['a number', 1]], call, {}),
      ...badValues('customerId', [['of 10,000 characters', long], ['a number', 1]], call, {}),
      ...badValues('channelId', [['of 10,000 characters', long], ['a number', 1], ['empty', '']], call, {}),
      ...extraFields(['total', 'price'], call, {}),
    ]
  })(),

  'orders.capturePayment': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.orders.capturePayment(f.order.id, input)
    return [
      nf('unknown order', (f) => f.commerce.orders.capturePayment(UNKNOWN.order)),
      ...badIdArgument('order id', (id, f) => f.commerce.orders.capturePayment(id)),
      ...badValues('amount', [...badMoney, ['0', 0]], call, {}),
      v('amount above what was authorized', (f) => call({ amount: f.order.totals.total + 1 }, f), 'amount'),
      ...badValues('idempotencyKey', badKey, call, {}),
      ...extraFields(['status', 'total', 'currency'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'orders.voidPayment': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.orders.voidPayment(f.order.id, input)
    return [
      nf('unknown order', (f) => f.commerce.orders.voidPayment(UNKNOWN.order)),
      ...badIdArgument('order id', (id, f) => f.commerce.orders.voidPayment(id)),
      ...badValues('idempotencyKey', badKey, call, {}),
      ...extraFields(['amount', 'status'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'inventory.reservations': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.inventory.reservations(input)
    return [
      v('no cart, order or variant', (f) => call({}, f), 'cartId'),
      ...badValues('status', [['unknown', 'lost'], ['a number', 1]], call, { cartId: 'cart_1' }),
      ...badValues('limit', [['0', 0], ['1001', 1001], ['fractional', 1.5]], call, { cartId: 'cart_1' }),
      ...badValues('variantId', [['of 10,000 characters', long], ['a number', 1]], call, {}),
      ...extraFields(['quantity', 'locationId'], call, { cartId: 'cart_1' }),
      ...badWholeInput(call),
    ]
  })(),

  'payments.get': [nf('unknown payment', (f) => f.commerce.payments.get('pay_missing')), ...badIdArgument('payment id', (id, f) => f.commerce.payments.get(id))],

  'payments.list': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.payments.list(input)
    return [
      ...badPageInput(call),
      ...badValues('status', [['unknown', 'paid'], ['a number', 1], ['canceling, no longer a status', 'canceling']], call, {}),
      ...badValues('orderId', [['of 10,000 characters', long], ['a number', 1]], call, {}),
      ...badValues('cartId', [['of 10,000 characters', long], ['a number', 1]], call, {}),
      ...extraFields(['amount', 'provider'], call, {}),
    ]
  })(),

  'payments.handleWebhook': (() => {
    const call = (args: { providerId?: Loose; rawBody?: Loose; headers?: Loose }, f: Fixture) =>
      f.commerce.payments.handleWebhook(
        ('providerId' in args ? args.providerId : 'test') as string,
        ('rawBody' in args ? args.rawBody : '{}') as string,
        ('headers' in args ? args.headers : {}) as Record<string, string>,
      )
    return [
      ...[['of 10,000 characters', long], ['a number', 1], ['null', null], ['empty', '']].map(([label, value]) => v(`providerId ${label}`, (f) => call({ providerId: value }, f), 'providerId')),
      v('providerId of a provider that is not configured', (f) => call({ providerId: 'nope' }, f), 'providerId'),
      v('providerId of a provider that takes no webhooks', (f) => call({ providerId: 'test' }, f), 'providerId'),
      ...[['a number', 1], ['null', null], ['an object', { events: [] }], ['over 1 MiB', 'x'.repeat(1_048_577)]].map(([label, value]) => v(`rawBody ${label}`, (f) => call({ rawBody: value }, f), 'rawBody')),
      ...[['a string', 'x-signature: 1'], ['null', null]].map(([label, value]) => v(`headers ${label}`, (f) => call({ headers: value }, f), 'headers')),
      v('headers with a number value', (f) => call({ headers: { 'x-signature': 1 } }, f), 'headers.x-signature'),
    ]
  })(),

  'payments.listUnmatchedEvents': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.payments.listUnmatchedEvents(input)
    return [
      ...badValues('limit', [['0', 0], ['1001', 1001], ['fractional', 1.5], ['a numeric string', '5']], call, {}),
      ...badValues('provider', [['of 10,000 characters', long], ['a number', 1], ['empty', '']], call, {}),
      ...extraFields(['outcome', 'reference'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'payments.recover': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.payments.recover(input)
    return [
      ...badValues('limit', [['0', 0], ['1001', 1001], ['fractional', 1.5], ['a numeric string', '5'], ['NaN', Number.NaN]], call, {}),
      ...extraFields(['olderThan', 'kind'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'orders.fulfill': [nf('unknown order', (f) => f.commerce.orders.fulfill(UNKNOWN.order)), ...badIdArgument('order id', (id, f) => f.commerce.orders.fulfill(id))],

  'orders.cancel': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.orders.cancel(f.order.id, input)
    return [
      nf('unknown order', (f) => f.commerce.orders.cancel(UNKNOWN.order)),
      ...badIdArgument('order id', (id, f) => f.commerce.orders.cancel(id)),
      ...badValues('reason', [['of 10,000 characters', long], ['a number', 1], ['null', null]], call, {}),
      ...extraFields(['status', 'amount', 'refund'], call, {}),
      ...badValues('idempotencyKey', badKey, call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'orders.hold': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.orders.hold(f.order.id, input)
    const base = { reason: 'customer reported the card stolen' }
    return [
      nf('unknown order', (f) => f.commerce.orders.hold(UNKNOWN.order, base)),
      ...badIdArgument('order id', (id, f) => f.commerce.orders.hold(id, base)),
      ...badValues('reason', [['of 501 characters', 'x'.repeat(501)], ['empty', ''], ['blank', '   '], ['a number', 1], ['null', null], ['missing', undefined]], call, base),
      ...extraFields(['status', 'heldAt'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  'orders.release': [nf('unknown order', (f) => f.commerce.orders.release(UNKNOWN.order)), ...badIdArgument('order id', (id, f) => f.commerce.orders.release(id))],

  'orders.refund': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.orders.refund(f.order.id, input)
    const base = { amount: 100 }
    return [
      nf('unknown order', (f) => f.commerce.orders.refund(UNKNOWN.order, base)),
      ...badIdArgument('order id', (id, f) => f.commerce.orders.refund(id, base)),
      ...badValues('amount', [...badMoney, ['0', 0], ['missing', undefined]], call, base),
      ...badValues('reason', [['of 10,000 characters', long], ['a number', 1]], call, base),
      ...badValues('idempotencyKey', badKey, call, base),
      ...extraFields(['status', 'total', 'currency'], call, base),
      ...badWholeInput(call),
    ]
  })(),

  'outbox.list': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.outbox.list(input)
    return [
      ...badValues('status', [['unknown', 'failed'], ['a number', 1], ['of 10,000 characters', long]], call, {}),
      ...badValues('limit', [['0', 0], ['1001', 1001], ['fractional', 1.5], ['a numeric string', '5'], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY]], call, {}),
      ...extraFields(['price', 'subscriber'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  'outbox.drain': (() => {
    const call = (input: Loose, f: Fixture) => f.commerce.outbox.drain(input)
    return [
      ...badValues('timeoutMs', [['negative', -1], ['fractional', 1.5], ['above an hour', 3_600_001], ['a numeric string', '100'], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['null', null]], call, {}),
      ...extraFields(['limit', 'subscriber'], call, {}),
      ...badWholeInput(call),
    ]
  })(),

  ...Object.fromEntries(
    (['export', 'erase'] as const).map((method) => {
      const call = (input: Loose, f: Fixture) => f.commerce.privacy[method](input)
      const base = { email: 'ada@example.com' }
      return [
        `privacy.${method}`,
        [
          v('neither email nor customerId', (f) => call({}, f), 'email'),
          v('the placeholder email of erased orders', (f) => call({ email: ERASED_EMAIL }, f), 'email'),
          ...badValues('email', [['not an email', 'ada'], ['of 10,000 characters', longEmail], ['a number', 1], ['null', null]], call, base),
          ...badValues('customerId', [['of 10,000 characters', long], ['a number', 1], ['empty', ''], ['null', null]], call, base),
          ...extraFields(['orderId', 'cartId'], call, base),
          ...badWholeInput(call),
        ],
      ] as const
    }),
  ),

  'outbox.retry': [
    nf('unknown delivery', (f) => f.commerce.outbox.retry(999_999)),
    ...[['0', 0], ['negative', -1], ['fractional', 1.5], ['a numeric string', '1'], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['above MAX_SAFE_INTEGER', TOO_BIG], ['null', null], ['of 10,000 characters', long]].map(
      ([label, value]) => v(`delivery id ${label}`, (f) => f.commerce.outbox.retry(value as Loose), 'deliveryId'),
    ),
  ],
}

/** A shop with a placed order, an open cart and a ready cart. */
async function setup(): Promise<Fixture> {
  const shop = await openShop({ stock: 100 })
  const { commerce } = shop
  const sock = await commerce.catalog.createProduct({
    title: 'Sock',
    options: [{ name: 'Size', values: ['S', 'M', 'L'] }],
    variants: [{ sku: 'SOCK-S', options: { Size: 'S' }, prices: [{ currency: 'USD', amount: 900 }] }],
  })
  const cart = await commerce.carts.create({ currency: 'USD' })
  const withLine = await commerce.carts.addItem(cart.id, { variantId: shop.variantId, quantity: 1 })
  const ready = await readyCart(commerce, shop.variantId, 1)
  const placed = await readyCart(commerce, shop.variantId, 2)
  const order = orderOf(await commerce.checkout.complete(placed.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
  return {
    shop,
    commerce,
    shoe: shop.shoe,
    sock,
    variantId: shop.variantId,
    locationId: shop.warehouse.id,
    cartId: cart.id,
    lineId: withLine.lines[0]!.id,
    readyCartId: ready.id,
    order,
  }
}

describe('bad input to every public method', () => {
  for (const [method, list] of Object.entries(cases)) {
    // One shop per method, so that a case that wrongly succeeds cannot spoil other methods' cases.
    describe(method, () => {
      let fixture: Fixture
      beforeAll(async () => {
        fixture = await setup()
      })
      afterAll(async () => {
        await fixture?.shop.close()
      })

      it.each(list.map((c) => [c.code === 'VALIDATION' ? `${c.name} → VALIDATION ${c.field === '' ? '(argument)' : c.field!.slice(0, 60)}` : `${c.name} → NOT_FOUND`, c] as const))(
        '%s',
        async (_label, c) => {
          const before = await snapshot(fixture.commerce)
          const e = await failure(c.call(fixture), c.code, c.name)
          expect(e).toBeInstanceOf(CommerceError)
          if (c.code === 'VALIDATION') {
            expect(e.details.fields).toEqual(expect.arrayContaining([c.field]))
          }
          expect(await snapshot(fixture.commerce)).toEqual(before)
        },
      )
    })
  }
})

describe('the table of cases', () => {
  it('covers every public method of every service', () => {
    const services = {
      catalog: CatalogService,
      inventory: InventoryService,
      carts: CartService,
      checkout: CheckoutService,
      orders: OrderService,
      payments: PaymentService,
      outbox: Outbox,
      privacy: PrivacyService,
      media: MediaService,
      search: SearchService,
      channels: ChannelService,
      drafts: DraftService,
    }
    const exempt: Record<string, string> = {
      'inventory.listLocations': 'takes no input',
      'outbox.runOnce': 'takes no input',
      'outbox.start': 'internal, takes no input',
      'outbox.stop': 'takes no input',
      'outbox.kick': 'internal, takes no input',
    }
    const methods = Object.entries(services).flatMap(([name, service]) =>
      Object.getOwnPropertyNames(service.prototype)
        .filter((m) => m !== 'constructor')
        .map((m) => `${name}.${m}`),
    )
    expect(methods.filter((m) => !(m in exempt) && !(m in cases))).toEqual([])
    expect(Object.keys(cases).filter((m) => !methods.includes(m))).toEqual([])
  })
})
