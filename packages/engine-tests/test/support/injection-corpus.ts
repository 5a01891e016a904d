import assert from 'node:assert/strict'
import { isCommerceError, type Cart, type Commerce, type CommerceErrorCode, type Order, type Product } from '@cartwright/core'
import type { TestGateway } from '@cartwright/testkit'
import { address, key } from './shop.js'

/**
 * The injection corpus: hostile strings, and every path of the engine that takes a caller's text
 * into a query, as one table (`INJECTION_PATHS`). A new query path (search, a sort option, a
 * plugin's filter) is one more entry. `test/guards/injection.test.ts` runs every string through
 * every path on SQLite and PostgreSQL and checks that each call either takes the text as data or
 * refuses it with a typed error naming the field, and that refused calls leave every `cw_*` table
 * as it was.
 */

/** One hostile string, named for the failure report. */
export interface HostileString {
  name: string
  text: string
}

const long = (length: number) => `'; DROP TABLE cw_orders; --${'A'.repeat(length)}`.slice(0, length)

/** Strings aimed at SQLite's and PostgreSQL's parsers, at LIKE, JSON paths and at the people who read the data. */
export const HOSTILE_STRINGS: readonly HostileString[] = [
  { name: 'a single quote', text: "O'Brien" },
  { name: 'a quote that closes the literal', text: "x' OR '1'='1" },
  { name: 'a stacked DROP TABLE', text: "'; DROP TABLE cw_orders; --" },
  { name: 'a double-quoted OR 1=1', text: '" OR 1=1 --' },
  { name: 'a UNION SELECT of token hashes', text: "') UNION SELECT id, access_token_hash FROM cw_carts --" },
  { name: 'block comments', text: "a'/**/OR/**/1=1/*" },
  { name: 'a line comment alone', text: '--' },
  { name: 'a stacked pg_sleep', text: '1; SELECT pg_sleep(5); --' },
  { name: 'an escaped quote (backslash)', text: "\\'; DROP TABLE cw_products; --" },
  { name: 'backslashes', text: 'C:\\temp\\new\\x00\\' },
  { name: 'a NUL character', text: 'before\u0000after' },
  { name: 'control characters', text: 'bell\u0007 esc\u001b[31m del\u007f' },
  { name: 'line breaks and a comment', text: 'line1\nline2\r\n-- comment' },
  { name: 'the LIKE wildcard %', text: '%' },
  { name: 'the LIKE wildcard _', text: '_' },
  { name: 'a LIKE pattern with ESCAPE', text: "%_%' ESCAPE '\\" },
  { name: 'a JSON path', text: '$.a' },
  { name: 'a JSON path into an array', text: '$[0].__proto__' },
  { name: 'the ->> operator', text: "metadata->>'x'" },
  { name: 'a PostgreSQL cast', text: '1::text' },
  { name: 'a cast to regclass', text: "'cw_orders'::regclass" },
  { name: 'dollar quoting', text: '$$; DROP TABLE cw_orders; $$' },
  { name: 'tagged dollar quoting', text: '$tag$ x $tag$' },
  { name: 'a double-quoted identifier', text: '"cw_orders"' },
  { name: 'a quoted identifier closing a statement', text: '"; DROP TABLE "cw_carts"; --' },
  { name: 'SQLite string concatenation', text: "x' || sqlite_version() || '" },
  { name: 'a blob literal', text: "X'00'" },
  { name: 'a psql meta-command', text: '\\gexec' },
  { name: 'a percent-encoded quote', text: '%27%20OR%201%3D1' },
  { name: 'the word null', text: 'null' },
  { name: 'Cyrillic look-alikes', text: 'Тrаil Runnеr' },
  { name: 'full-width quote and digits', text: '＇ OR １=１ --' },
  { name: 'a right-to-left override', text: 'invoice\u202Efdp.exe' },
  { name: 'right-to-left and left-to-right marks', text: '\u200Fשלום\u200E' },
  { name: 'a zero-width space', text: 'Trail\u200BRunner' },
  { name: 'characters outside the BMP', text: '👟𝔘𝔫𝔦𝔠𝔬𝔡𝔢' },
  { name: 'a combining accent', text: 'e\u0301' },
  { name: 'an unpaired surrogate', text: 'broken\uD800pair' },
  { name: 'a quote of 256 characters', text: "'".repeat(256) },
  { name: 'a string of 10,000 characters', text: long(10_000) },
  { name: 'an email-shaped injection', text: "x'--@example.com" },
  { name: 'the empty string', text: '' },
  { name: 'spaces only', text: '   ' },
]

/** A cursor the engine never wrote, and why. */
export function hostileCursors(real: string): HostileString[] {
  const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
  const at = '2024-01-01T00:00:00.000Z'
  const [createdAt, id] = JSON.parse(Buffer.from(real, 'base64url').toString('utf8')) as [string, string]
  return [
    { name: 'a keyset whose id closes the literal', text: b64([at, "x' OR '1'='1"]) },
    { name: 'a keyset whose timestamp carries a UNION', text: b64([`${at}' UNION SELECT * FROM cw_carts --`, id]) },
    { name: 'a keyset with a cast', text: b64([`${createdAt}'::timestamptz --`, id]) },
    { name: 'a keyset of LIKE wildcards', text: b64(['%', '_']) },
    { name: 'a keyset with a third element', text: b64([createdAt, id, "'; DROP TABLE cw_orders; --"]) },
    { name: 'a keyset as an object', text: b64({ createdAt, id }) },
    { name: 'a keyset of numbers', text: b64([0, 0]) },
    { name: 'a keyset with a NUL', text: b64([createdAt, `${id}\u0000`]) },
    { name: 'a keyset of an impossible date', text: b64(['2024-02-30T00:00:00.000Z', id]) },
    { name: 'a keyset with an offset', text: b64([createdAt.replace('Z', '+00:00'), id]) },
    { name: 'base64 of SQL', text: b64("'; DROP TABLE cw_orders; --") },
    { name: 'the real cursor truncated by one character', text: real.slice(0, -1) },
    { name: 'the real cursor cut in half', text: real.slice(0, Math.floor(real.length / 2)) },
    { name: 'the real cursor padded to 201 characters', text: real.padEnd(201, 'A') },
    { name: 'the real cursor with padding', text: `${real}==` },
    { name: 'the real cursor in standard base64', text: Buffer.from(Buffer.from(real, 'base64url')).toString('base64') + '+/' },
    { name: 'the real cursor with a space', text: ` ${real}` },
  ]
}

/** What a path's call is made against: one shop, with rows of every kind to look for. */
export interface InjectionTarget {
  commerce: Commerce
  /** A provider that takes webhooks (the testkit's test gateway). */
  gateway: TestGateway
  /** A stock-managed variant (the Trail Runner 42 blue). */
  variantId: string
  /** A variant that does not manage stock, for checkouts made by the corpus. */
  looseVariantId: string
  locationId: string
  /** A ready cart (with its access token) that stays open. */
  cart: Cart & { accessToken: string }
  /** Another open cart with an access token. */
  otherCart: Cart & { accessToken: string }
  /** A placed order, authorized and not captured, with its access token; its email is `ada@example.com`. */
  order: Order & { accessToken: string }
  /** A second placed order. */
  otherOrder: Order
  /** A `nextCursor` of each list, taken with `limit: 1`. */
  cursors: { products: string; orders: string; payments: string }
}

/** Where a text goes: `write` stores it, `read` looks rows up with it. */
export interface InjectionPath {
  name: string
  /** The input field a `VALIDATION` refusal must name (`details.fields`, or a path under it), e.g. `sku` or `metadata`; or one of several. */
  field: string | readonly string[]
  kind: 'write' | 'read'
  /**
   * Codes a refusal may carry besides `VALIDATION` (never `STORAGE`). Lookups add `NOT_FOUND`;
   * webhooks whose events the gateway itself sent malformed, `PROVIDER`.
   */
  refusals?: readonly CommerceErrorCode[]
  /** Extra strings this path gets, made from the target (a real token's prefix, a real cursor spoiled). */
  extra?(t: InjectionTarget): HostileString[]
  /** Rows the call needs of its own (a fresh cart to check out), made before the tables are counted. */
  prepare?(t: InjectionTarget): Promise<unknown>
  call(t: InjectionTarget, text: string, prepared: unknown): Promise<unknown>
  /**
   * When the call succeeds: asserts the text was taken as data (read back byte for byte, or as the
   * schema documents: trimmed) and that only rows in scope came back. Absent: the call must refuse.
   */
  accept?(t: InjectionTarget, text: string, result: unknown): Promise<void> | void
}

/** A refusal a path's call may end with: a typed error naming the field. */
export function refusalProblem(path: InjectionPath, error: unknown): string | null {
  if (!isCommerceError(error)) return `threw a ${(error as Error)?.constructor?.name ?? typeof error} that is not a CommerceError: ${String((error as Error)?.message ?? error).slice(0, 200)}`
  if (error.code === 'VALIDATION') {
    const fields = (error.details.fields as string[] | undefined) ?? []
    const named = typeof path.field === 'string' ? [path.field] : path.field
    if (!fields.some((f) => named.some((n) => f === n || f.startsWith(`${n}.`)))) return `VALIDATION naming ${JSON.stringify(fields)}, not ${named.join(' or ')}: ${error.message.slice(0, 200)}`
    return null
  }
  if (path.refusals?.includes(error.code)) return null
  return `${error.code}: ${error.message.slice(0, 200)}`
}

const trimmed = (text: string) => text.trim()
/** A handle made from a key (lower case, dashes only). */
const handleOf = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
const json = (value: unknown) => JSON.stringify(value)

/** Every row of `items` must have `field` equal to `value`: a filter returns nothing it excludes. */
function onlyMatching<T>(items: readonly T[], pick: (item: T) => unknown, value: unknown, what: string): void {
  const strays = items.filter((item) => pick(item) !== value)
  assert.equal(strays.length, 0, `${what}: ${strays.length} row(s) outside the filter ${json(value)}`)
}

const mustBeEmpty = (what: string) => (_t: InjectionTarget, text: string, result: unknown) => {
  const items = Array.isArray(result) ? result : (result as { items: unknown[] }).items
  assert.deepEqual(items, [], `${what} ${json(text)} found rows`)
}

/** Tokens that are near a real one: its prefix with LIKE wildcards, its id with another secret, the other kind's prefix. */
function nearTokens(real: string, otherKind: string): HostileString[] {
  const dot = real.lastIndexOf('.')
  return [
    { name: 'the real token with its last character a _', text: `${real.slice(0, -1)}_` },
    { name: 'the real token with its last character a %', text: `${real.slice(0, -1)}%` },
    { name: 'the real id and a secret of %', text: `${real.slice(0, dot + 1)}${'%'.repeat(real.length - dot - 1)}` },
    { name: 'the real id and an injected secret', text: `${real.slice(0, dot + 1)}${"' OR '1'='1".padEnd(real.length - dot - 1, '-')}` },
    { name: 'the real token with a quote in its id', text: `${real.slice(0, 3)}'${real.slice(3)}` },
    { name: 'the real token under the other kind', text: `${otherKind}${real.slice(3)}` },
    { name: 'the real token prefix alone', text: real.slice(0, dot + 1) },
    { name: 'the real token upper-cased', text: real.toUpperCase() },
    { name: 'the real token with a NUL in its id', text: `${real.slice(0, dot)}\u0000${real.slice(dot)}` },
    { name: 'the real token with half a surrogate pair in its id', text: `${real.slice(0, dot)}\uD800${real.slice(dot)}` },
  ]
}

/** A new ready cart of the loose variant (email `ada@example.com`), to check out; its id. */
async function freshCart(t: InjectionTarget): Promise<string> {
  const cart = await t.commerce.carts.create({ currency: 'USD', email: 'ada@example.com' })
  await t.commerce.carts.addItem(cart.id, { variantId: t.looseVariantId, quantity: 1 })
  await t.commerce.carts.update(cart.id, { shippingAddress: address })
  await t.commerce.carts.setShippingOption(cart.id, 'flat:standard')
  return cart.id
}

const lookups: readonly CommerceErrorCode[] = ['NOT_FOUND']

/**
 * Every path that takes a caller's text. Each entry is run with every string of
 * {@link HOSTILE_STRINGS} (and its `extra` strings); add one for each new query path.
 */
export const INJECTION_PATHS: readonly InjectionPath[] = [
  // ── catalog: writes read back, and lookups by id, handle and SKU ──
  {
    name: 'catalog.createProduct title',
    field: 'title',
    kind: 'write',
    call: (t, text) => t.commerce.catalog.createProduct({ title: text, handle: key(), variants: [{ sku: key() }] }),
    async accept(t, text, result) {
      const product = await t.commerce.catalog.getProduct((result as { id: string }).id)
      assert.equal(product.title, trimmed(text), 'title read back')
    },
  },
  {
    name: 'catalog.createProduct handle made from the title',
    field: 'title',
    kind: 'write',
    // Titles that make the same handle (`product` for text without letters or digits) collide.
    refusals: ['CONFLICT'],
    call: (t, text) => t.commerce.catalog.createProduct({ title: text, variants: [{ sku: key() }] }),
    async accept(t, text, result) {
      const made = result as { id: string; handle: string }
      assert.match(made.handle, /^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'the handle made from the title is a handle')
      const found = await t.commerce.catalog.getProduct(made.handle)
      assert.equal(found.id, made.id, 'getProduct by the made handle finds this product')
      assert.equal(found.title, trimmed(text), 'title read back')
    },
  },
  {
    name: 'catalog.createProduct description',
    field: 'description',
    kind: 'write',
    call: (t, text) => t.commerce.catalog.createProduct({ title: 'Described', handle: key(), description: text, variants: [{ sku: key() }] }),
    async accept(t, text, result) {
      assert.equal((await t.commerce.catalog.getProduct((result as { id: string }).id)).description, text, 'description read back')
    },
  },
  {
    name: 'catalog.createProduct handle',
    field: 'handle',
    kind: 'write',
    // A handle the path above made from the same text is taken.
    refusals: ['CONFLICT'],
    call: (t, text) => t.commerce.catalog.createProduct({ title: 'Handled', handle: text, variants: [{ sku: key() }] }),
    async accept(t, text) {
      assert.equal((await t.commerce.catalog.getProduct(text)).handle, text, 'handle read back')
    },
  },
  {
    name: 'catalog.createProduct metadata value',
    field: 'metadata',
    kind: 'write',
    call: (t, text) => t.commerce.catalog.createProduct({ title: 'Tagged', handle: key(), metadata: { note: text }, variants: [{ sku: key() }] }),
    async accept(t, text, result) {
      assert.deepEqual((await t.commerce.catalog.getProduct((result as { id: string }).id)).metadata, { note: text }, 'metadata value read back')
    },
  },
  {
    name: 'catalog.createProduct metadata key',
    field: 'metadata',
    kind: 'write',
    call: (t, text) => t.commerce.catalog.createProduct({ title: 'Keyed', handle: key(), metadata: { [text]: 'v' }, variants: [{ sku: key() }] }),
    async accept(t, text, result) {
      const metadata = (await t.commerce.catalog.getProduct((result as { id: string }).id)).metadata
      assert.deepEqual(Object.keys(metadata), [text], 'metadata key read back')
    },
  },
  {
    name: 'catalog.createProduct option name and value',
    field: ['options', 'variants'],
    kind: 'write',
    call: (t, text) =>
      t.commerce.catalog.createProduct({ title: 'Optioned', handle: key(), options: [{ name: text, values: [text] }], variants: [{ sku: key(), options: { [text.trim()]: text.trim() } }] }),
    async accept(t, text, result) {
      const product = await t.commerce.catalog.getProduct((result as { id: string }).id)
      assert.deepEqual(product.options, [{ name: trimmed(text), values: [trimmed(text)] }], 'option read back')
      assert.deepEqual(product.variants[0]!.options, { [trimmed(text)]: trimmed(text) }, 'variant option value read back')
    },
  },
  {
    name: 'catalog.createProduct sku, then getVariantBySku',
    field: 'variants',
    kind: 'write',
    call: (t, text) => t.commerce.catalog.createProduct({ title: 'Skued', handle: key(), variants: [{ sku: text }] }),
    async accept(t, text, result) {
      const made = (result as { variants: Array<{ id: string }> }).variants[0]!
      const found = await t.commerce.catalog.getVariantBySku(text)
      assert.equal(found.id, made.id, 'getVariantBySku finds the variant made with this SKU')
      assert.equal(found.sku, trimmed(text), 'sku read back')
    },
  },
  {
    name: 'catalog.updateProduct title and metadata',
    field: 'title',
    kind: 'write',
    prepare: async (t) => (await t.commerce.catalog.createProduct({ title: 'To update', handle: key(), variants: [{ sku: key() }] })).id,
    call(t, text, productId) {
      return t.commerce.catalog.updateProduct(productId as string, { title: text, metadata: { note: text } })
    },
    async accept(t, text, result) {
      const product = await t.commerce.catalog.getProduct((result as { id: string }).id)
      assert.equal(product.title, trimmed(text), 'title read back')
      assert.deepEqual(product.metadata, { note: text }, 'metadata read back')
    },
  },
  {
    name: 'catalog.createProduct variant tax class',
    field: 'variants.0.taxClass',
    kind: 'write',
    call: (t, text) => t.commerce.catalog.createProduct({ title: 'Taxed', handle: key(), variants: [{ sku: key(), taxClass: text }] }),
    async accept(t, text, result) {
      const product = await t.commerce.catalog.getProduct((result as { id: string }).id)
      assert.equal(product.variants[0]!.taxClass, trimmed(text), 'tax class read back')
    },
  },
  {
    name: 'catalog.getProduct (id or handle)',
    field: 'idOrHandle',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.catalog.getProduct(text),
    accept(_t, text, result) {
      const product = result as { id: string; handle: string }
      assert.ok(product.id === text || product.handle === text, `getProduct(${json(text)}) found ${product.id} (${product.handle})`)
    },
  },
  {
    name: 'catalog.updateProduct tags, type and material',
    field: ['tags', 'productType', 'material'],
    kind: 'write',
    prepare: async (t) => (await t.commerce.catalog.createProduct({ title: 'To tag', handle: key(), variants: [{ sku: key() }] })).id,
    call: (t, text, productId) => t.commerce.catalog.updateProduct(productId as string, { tags: [text], productType: text, material: text }),
    async accept(t, text, result) {
      const product = await t.commerce.catalog.getProduct((result as { id: string }).id)
      assert.deepEqual(product.tags, [text.trim().replace(/\s+/g, ' ')], 'tag read back, trimmed')
      assert.equal(product.productType, trimmed(text), 'product type read back')
      assert.equal(product.material, trimmed(text), 'material read back')
    },
  },
  {
    name: 'collections.create tag rule, then collections.products',
    field: ['rules'],
    kind: 'write',
    call: async (t, text) => {
      const collection = await t.commerce.collections.create({ title: 'By tag', handle: handleOf(key()), kind: 'rules', rules: [{ field: 'tag', value: text }] })
      return t.commerce.collections.products(collection.id, { limit: 100 })
    },
    accept(_t, text, result) {
      const wanted = text.trim().replace(/\s+/g, ' ').toLowerCase()
      const strays = (result as { items: Array<{ tags: string[] }> }).items.filter((p) => !p.tags.some((tag) => tag.toLowerCase() === wanted))
      assert.equal(strays.length, 0, `the tag rule ${json(text)} found products without the tag`)
    },
  },
  {
    name: 'collections.create option rule, then collections.products',
    field: ['rules'],
    kind: 'write',
    call: async (t, text) => {
      const collection = await t.commerce.collections.create({ title: 'By option', handle: handleOf(key()), kind: 'rules', match: 'any', rules: [{ field: 'option', option: text, value: text }, { field: 'type', value: text }] })
      return t.commerce.collections.products(collection.id, { limit: 100 })
    },
    accept(_t, text, result) {
      const strays = (result as { items: Product[] }).items.filter(
        (p) => p.productType !== text.trim() && !p.variants.some((v) => Object.entries(v.options).some(([o, value]) => o === text.trim() && value === text.trim())),
      )
      assert.equal(strays.length, 0, `the option rule ${json(text)} found products that do not match`)
    },
  },
  {
    name: 'categories.create title and description',
    field: ['title', 'description'],
    kind: 'write',
    call: (t, text) => t.commerce.categories.create({ title: text, description: text, handle: handleOf(key()) }),
    async accept(t, text, result) {
      const category = await t.commerce.categories.get((result as { id: string }).id)
      assert.equal(category.title, trimmed(text), 'title read back')
      assert.equal(category.description, text, 'description read back')
    },
  },
  {
    name: 'categories.get (id or handle)',
    field: 'idOrHandle',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.categories.get(text),
    accept(_t, text, result) {
      const category = result as { id: string; handle: string }
      assert.ok(category.id === text || category.handle === text, `categories.get(${json(text)}) found ${category.id}`)
    },
  },
  {
    name: 'categories.products cursor',
    field: 'cursor',
    kind: 'read',
    prepare: async (t) => (await t.commerce.categories.create({ title: 'Paged', handle: handleOf(key()) })).id,
    call: (t, text, categoryId) => t.commerce.categories.products(categoryId as string, { cursor: text }),
  },
  {
    name: 'collections.get (id or handle)',
    field: 'idOrHandle',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.collections.get(text),
    accept(_t, text, result) {
      const collection = result as { id: string; handle: string }
      assert.ok(collection.id === text || collection.handle === text, `collections.get(${json(text)}) found ${collection.id}`)
    },
  },
  // ── staff-made orders: staff texts read back, the draft lookup ──
  {
    name: 'drafts.create createdBy',
    field: 'createdBy',
    kind: 'write',
    call: (t, text) => t.commerce.drafts.create({ currency: 'USD', createdBy: text }),
    async accept(t, text, result) {
      assert.equal((await t.commerce.drafts.get((result as { id: string }).id)).createdBy, trimmed(text), 'createdBy read back')
    },
  },
  {
    name: 'drafts.overridePrice reason and by',
    field: ['reason', 'by'],
    kind: 'write',
    async prepare(t) {
      const draft = await t.commerce.drafts.create({ currency: 'USD', createdBy: 'maria' })
      const cart = await t.commerce.carts.addItem(draft.id, { variantId: t.looseVariantId, quantity: 1 })
      return { draftId: draft.id, lineId: cart.lines[0]!.id }
    },
    call: (t, text, prepared) => {
      const { draftId, lineId } = prepared as { draftId: string; lineId: string }
      return t.commerce.drafts.overridePrice(draftId, lineId, { unitPrice: 100, reason: text, by: text })
    },
    async accept(t, text, result) {
      const line = (await t.commerce.drafts.get((result as { id: string }).id)).lines[0]!
      assert.equal(line.priceOverride?.reason, trimmed(text), 'reason read back')
      assert.equal(line.priceOverride?.by, trimmed(text), 'by read back')
    },
  },
  {
    name: 'drafts.markPaid reference',
    field: 'reference',
    kind: 'write',
    async prepare(t) {
      const draft = await t.commerce.drafts.create({ currency: 'USD', createdBy: 'maria', email: 'ada@example.com' })
      await t.commerce.carts.addItem(draft.id, { variantId: t.looseVariantId, quantity: 1 })
      await t.commerce.carts.update(draft.id, { shippingAddress: address })
      await t.commerce.carts.setShippingOption(draft.id, 'flat:standard')
      return draft.id
    },
    call: (t, text, draftId) => t.commerce.drafts.markPaid(draftId as string, { method: 'bank_transfer', reference: text, idempotencyKey: key() }),
    accept(_t, text, result) {
      assert.equal((result as Order).payments[0]!.reference, trimmed(text), 'reference read back')
    },
  },
  {
    name: 'drafts.get (id)',
    field: 'draftId',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.drafts.get(text),
  },
  // ── sales channels: texts read back, lookups by id or code, and the channel filters ──
  {
    name: 'channels.create name',
    field: 'name',
    kind: 'write',
    call: (t, text) => t.commerce.channels.create({ code: handleOf(key()), name: text, currencies: ['USD'] }),
    async accept(t, text, result) {
      assert.equal((await t.commerce.channels.get((result as { id: string }).id)).name, trimmed(text), 'name read back')
    },
  },
  {
    name: 'channels.create code',
    field: 'code',
    kind: 'write',
    refusals: ['CONFLICT'],
    call: (t, text) => t.commerce.channels.create({ code: text, name: 'Channel', currencies: ['USD'] }),
    async accept(t, text, result) {
      const made = result as { id: string; code: string }
      assert.equal(made.code, trimmed(text), 'code read back')
      assert.equal((await t.commerce.channels.get(made.code)).id, made.id, 'channels.get by the code finds this channel')
    },
  },
  {
    name: 'channels.get (id or code)',
    field: 'idOrCode',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.channels.get(text),
    accept(_t, text, result) {
      const channel = result as { id: string; code: string }
      assert.ok(channel.id === text || channel.code === text, `channels.get(${json(text)}) found ${channel.id}`)
    },
  },
  {
    name: 'carts.create channelId',
    field: 'channelId',
    kind: 'write',
    refusals: lookups,
    call: (t, text) => t.commerce.carts.create({ currency: 'USD', channelId: text }),
  },
  {
    name: 'orders.list channelId',
    field: 'channelId',
    kind: 'read',
    call: (t, text) => t.commerce.orders.list({ channelId: text, limit: 100 }),
    accept: mustBeEmpty('orders.list channelId'),
  },
  {
    name: 'search.products channel',
    field: 'channel',
    kind: 'read',
    call: (t, text) => t.commerce.search.products({ channel: text, limit: 100 }),
    async accept(t, text, result) {
      // A core channel of that id or code: only what is published to it (the corpus publishes nothing).
      const { items } = result as { items: Array<{ product: { id: string; status: string } }> }
      for (const hit of items) assert.equal(hit.product.status, 'active', `search found ${hit.product.id}, which is ${hit.product.status}`)
      const channel = await t.commerce.channels.get(text).catch(() => null)
      if (channel) assert.deepEqual(items, [], `search in channel ${channel.code} found products not published to it`)
    },
  },
  {
    name: 'catalog.setTranslations title, read back in its locale',
    field: ['fields'],
    kind: 'write',
    prepare: async (t) => (await t.commerce.catalog.createProduct({ title: 'To translate', handle: key(), variants: [{ sku: key() }] })).id,
    call: (t, text, productId) => t.commerce.catalog.setTranslations({ type: 'product', id: productId as string }, 'de', { title: text, description: text }),
    async accept(t, text) {
      const found = (await t.commerce.catalog.listProducts({ locale: 'de', limit: 100 })).items.filter((p) => p.title === trimmed(text))
      assert.ok(found.length >= 1, 'the translated title is read back in its locale')
    },
  },
  {
    name: 'catalog.setTranslations locale and option value',
    field: ['locale', 'fields'],
    kind: 'write',
    refusals: lookups,
    call: async (t, text) => {
      const { productId } = await t.commerce.catalog.getVariant(t.variantId)
      return t.commerce.catalog.setTranslations({ type: 'option', productId, name: 'Size' }, text, { values: { [text]: 'x' } })
    },
  },
  {
    name: 'catalog.getProduct locale',
    field: 'locale',
    kind: 'read',
    call: (t, text) => t.commerce.catalog.getProduct(t.order.lines[0]!.productId, { locale: text }),
    accept(t, _text, result) {
      assert.equal((result as { id: string }).id, t.order.lines[0]!.productId, 'the product asked for')
    },
  },
  {
    name: 'catalog.listProducts locale and channel',
    field: ['locale', 'channel'],
    kind: 'read',
    call: (t, text) => t.commerce.catalog.listProducts({ visibleOnly: true, locale: text, channel: text }),
    accept(_t, _text, result) {
      onlyMatching((result as { items: Array<{ status: string }> }).items, (p) => p.status, 'active', 'listProducts visibleOnly')
    },
  },
  {
    name: 'catalog.dropRedirect handle',
    field: 'handle',
    kind: 'write',
    call: (t, text) => t.commerce.catalog.dropRedirect(text),
    accept(_t, text, result) {
      assert.equal(result, false, `dropRedirect(${json(text)}) dropped a redirect no product left`)
    },
  },
  {
    name: 'catalog.getVariant',
    field: 'variantId',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.catalog.getVariant(text),
  },
  {
    name: 'catalog.getVariantBySku',
    field: 'sku',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.catalog.getVariantBySku(text),
    accept(_t, text, result) {
      // Only a variant created with this very SKU, by the SKU path above.
      assert.equal((result as { sku: string }).sku, trimmed(text), `getVariantBySku(${json(text)}) found another SKU`)
    },
  },
  {
    name: 'catalog.listProducts status',
    field: 'status',
    kind: 'read',
    call: (t, text) => t.commerce.catalog.listProducts({ status: text as 'active' }),
  },
  {
    name: 'catalog.listProducts cursor',
    field: 'cursor',
    kind: 'read',
    extra: (t) => [...hostileCursors(t.cursors.products), { name: "the orders list's cursor", text: t.cursors.orders }],
    call: (t, text) => t.commerce.catalog.listProducts({ status: 'active', cursor: text }),
    accept(t, text, result) {
      // A cursor the engine wrote for another list is a keyset like any other: the page stays within the filter.
      assert.equal(text, t.cursors.orders, 'only a cursor the engine wrote is accepted')
      onlyMatching((result as { items: Array<{ status: string }> }).items, (p) => p.status, 'active', 'listProducts with a foreign cursor')
    },
  },

  // ── inventory ──
  {
    name: 'inventory.createLocation name',
    field: 'name',
    kind: 'write',
    call: (t, text) => t.commerce.inventory.createLocation({ name: text }),
    async accept(t, text, result) {
      const made = (await t.commerce.inventory.listLocations()).find((l) => l.id === (result as { id: string }).id)
      assert.equal(made?.name, trimmed(text), 'location name read back')
    },
  },
  {
    name: 'inventory.createLocation code',
    field: 'code',
    kind: 'write',
    call: (t, text) => t.commerce.inventory.createLocation({ name: 'Coded', code: text }),
    async accept(t, text, result) {
      const made = (await t.commerce.inventory.listLocations()).find((l) => l.id === (result as { id: string }).id)
      assert.equal(made?.code, trimmed(text), 'location code read back')
    },
  },
  {
    name: 'inventory.levels variantId',
    field: 'variantId',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.inventory.levels(text),
    accept: (t, text, result) => mustBeEmpty('inventory.levels')(t, text, result as unknown[]),
  },
  ...(['cartId', 'orderId', 'variantId', 'status'] as const).map(
    (filter): InjectionPath => ({
      name: `inventory.reservations ${filter}`,
      field: filter,
      kind: 'read',
      call: (t, text) => t.commerce.inventory.reservations({ [filter]: text }),
      accept: mustBeEmpty(`inventory.reservations ${filter}`),
    }),
  ),
  {
    name: 'inventory.setStock locationId',
    field: 'locationId',
    kind: 'write',
    refusals: lookups,
    call: (t, text) => t.commerce.inventory.setStock({ variantId: t.variantId, locationId: text, onHand: 5 }),
  },

  // ── carts ──
  {
    name: 'carts.create email',
    field: 'email',
    kind: 'write',
    call: (t, text) => t.commerce.carts.create({ currency: 'USD', email: text }),
    async accept(t, text, result) {
      assert.equal((await t.commerce.carts.get((result as { id: string }).id)).email, text, 'email read back')
    },
  },
  {
    name: 'carts.create customerId and metadata',
    field: 'customerId',
    kind: 'write',
    call: (t, text) => t.commerce.carts.create({ currency: 'USD', customerId: text, metadata: { note: text } }),
    async accept(t, text, result) {
      const cart = await t.commerce.carts.get((result as { id: string }).id)
      assert.equal(cart.customerId, text, 'customerId read back')
      const row = await t.commerce.db.selectFrom('cw_carts').select('metadata').where('id', '=', cart.id).executeTakeFirstOrThrow()
      // The cart's metadata is not on `Cart`: read from its row (JSON text on SQLite, jsonb on PostgreSQL).
      const metadata: unknown = typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata
      assert.deepEqual(metadata, { note: text }, 'metadata read back')
    },
  },
  {
    name: 'carts.update shipping address',
    field: 'shippingAddress',
    kind: 'write',
    prepare: async (t) => (await t.commerce.carts.create({ currency: 'USD' })).id,
    call(t, text, cartId) {
      return t.commerce.carts.update(cartId as string, { shippingAddress: { ...address, line1: text, city: text } })
    },
    async accept(t, text, result) {
      const cart = await t.commerce.carts.get((result as { id: string }).id)
      assert.equal(cart.shippingAddress?.line1, trimmed(text), 'line1 read back')
    },
  },
  {
    name: 'carts.get',
    field: 'cartId',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.carts.get(text),
  },
  {
    name: 'carts.findByToken',
    field: 'token',
    kind: 'read',
    refusals: lookups,
    extra: (t) => [...nearTokens(t.cart.accessToken, 'ot_'), ...nearTokens(t.otherCart.accessToken, 'ot_')],
    call: (t, text) => t.commerce.carts.findByToken(text),
  },
  {
    name: 'carts.verifyToken',
    field: 'cartId',
    kind: 'read',
    extra: (t) => nearTokens(t.cart.accessToken, 'ot_'),
    call: (t, text) => t.commerce.carts.verifyToken(t.cart.id, text),
    accept: (_t, text, result) => assert.equal(result, false, `verifyToken accepted ${json(text)}`),
  },
  {
    name: 'carts.addItem variantId',
    field: 'variantId',
    kind: 'write',
    refusals: lookups,
    call: (t, text) => t.commerce.carts.addItem(t.cart.id, { variantId: text, quantity: 1 }),
  },
  {
    name: 'carts.updateItem lineId',
    field: 'lineId',
    kind: 'write',
    refusals: lookups,
    call: (t, text) => t.commerce.carts.updateItem(t.cart.id, text, { quantity: 2 }),
  },
  {
    name: 'carts.removeItem lineId',
    field: 'lineId',
    kind: 'write',
    refusals: lookups,
    call: (t, text) => t.commerce.carts.removeItem(t.cart.id, text),
  },
  {
    name: 'carts.setShippingOption optionId',
    field: 'optionId',
    kind: 'write',
    refusals: lookups,
    call: (t, text) => t.commerce.carts.setShippingOption(t.cart.id, text),
  },

  // ── checkout ──
  {
    name: 'checkout.complete payment.provider',
    field: 'payment.provider',
    kind: 'write',
    call: (t, text) => t.commerce.checkout.complete(t.cart.id, { payment: { provider: text }, idempotencyKey: key() }),
  },
  {
    name: 'checkout.complete payment.data',
    field: 'payment.data',
    kind: 'write',
    prepare: (t) => freshCart(t),
    call(t, text, cart) {
      return t.commerce.checkout.complete(cart as string, { payment: { provider: 'test', data: { token: text, [text.slice(0, 64) || 'k']: 1 } }, idempotencyKey: key() })
    },
    async accept(t, _text, result) {
      assert.equal((result as { status: string }).status, 'placed', 'the order is placed')
    },
  },
  {
    name: 'checkout.complete idempotencyKey, replayed',
    field: 'idempotencyKey',
    kind: 'write',
    prepare: (t) => freshCart(t),
    call(t, text, cart) {
      return t.commerce.checkout.complete(cart as string, { payment: { provider: 'test' }, idempotencyKey: text })
    },
    async accept(t, text, result) {
      const order = result as Order
      // The key is data: sent again with the same cart it answers the same order, and it is stored as sent.
      const again = await t.commerce.checkout.complete(order.cartId, { payment: { provider: 'test' }, idempotencyKey: text })
      assert.equal((again as Order).id, order.id, 'the replay answers the same order')
    },
  },
  {
    name: 'checkout.confirm',
    field: 'cartOrPaymentId',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.checkout.confirm(text),
  },

  // ── orders ──
  {
    name: 'orders.get',
    field: 'orderId',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.orders.get(text),
  },
  {
    name: 'orders.getByNumber',
    field: 'number',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.orders.getByNumber(text as unknown as number),
  },
  {
    name: 'orders.findByToken',
    field: 'token',
    kind: 'read',
    refusals: lookups,
    extra: (t) => [...nearTokens(t.order.accessToken, 'ct_'), ...nearTokens(t.cart.accessToken, 'ct_')],
    call: (t, text) => t.commerce.orders.findByToken(text),
  },
  {
    name: 'orders.verifyToken',
    field: 'orderId',
    kind: 'read',
    extra: (t) => nearTokens(t.order.accessToken, 'ct_'),
    call: (t, text) => t.commerce.orders.verifyToken(t.order.id, text),
    accept: (_t, text, result) => assert.equal(result, false, `verifyToken accepted ${json(text)}`),
  },
  ...(['email', 'customerId', 'status'] as const).map(
    (filter): InjectionPath => ({
      name: `orders.list ${filter}`,
      field: filter,
      kind: 'read',
      call: (t, text) => t.commerce.orders.list({ [filter]: text }),
      accept(_t, text, result) {
        onlyMatching((result as { items: Order[] }).items, (o) => o[filter], text, `orders.list ${filter}`)
      },
    }),
  ),
  {
    // A guest's orders go to a customer only for their exact email: hostile text matches none.
    name: 'orders.assignCustomer email',
    field: 'email',
    kind: 'write',
    call: (t, text) => t.commerce.orders.assignCustomer({ email: text, customerId: 'cus_injection' }),
    accept(_t, text, result) {
      assert.deepEqual((result as { orderIds: string[] }).orderIds, [], `orders.assignCustomer ${json(text)} attached orders`)
    },
  },
  {
    name: 'carts.openForCustomer customerId',
    field: 'customerId',
    kind: 'read',
    refusals: ['NOT_FOUND'],
    call: (t, text) => t.commerce.carts.openForCustomer(text),
    // Hostile text is a customer id like any other: it finds no cart, or one of exactly that
    // customer (the carts.create entry above made some with these ids).
    accept(_t, text, result) {
      const cart = result as { customerId: string | null } | null
      assert.ok(cart === null || cart.customerId === text, `carts.openForCustomer ${json(text)} found another customer's cart`)
    },
  },
  {
    // A condition on the cart's customer: a guest's cart has none, so hostile text never matches.
    name: 'carts.update ifCustomerId',
    field: 'ifCustomerId',
    kind: 'read',
    refusals: ['INVALID_STATE'],
    prepare: async (t) => (await t.commerce.carts.create({ currency: 'USD' })).id,
    call: (t, text, cartId) => t.commerce.carts.update(cartId as string, { customerId: 'cus_injection', ifCustomerId: text }),
  },
  {
    name: 'orders.list cursor',
    field: 'cursor',
    kind: 'read',
    extra: (t) => [...hostileCursors(t.cursors.orders), { name: "the products list's cursor", text: t.cursors.products }],
    call: (t, text) => t.commerce.orders.list({ email: 'ada@example.com', cursor: text }),
    accept(t, text, result) {
      assert.equal(text, t.cursors.products, 'only a cursor the engine wrote is accepted')
      onlyMatching((result as { items: Order[] }).items, (o) => o.email, 'ada@example.com', 'orders.list with a foreign cursor')
    },
  },
  {
    name: 'orders.capturePayment idempotencyKey',
    field: 'idempotencyKey',
    kind: 'write',
    refusals: ['CONFLICT'],
    async prepare(t) {
      const cartId = await freshCart(t)
      const result = await t.commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey: key() })
      return result as Order
    },
    call: (t, text, order) => t.commerce.orders.capturePayment((order as Order).id, { amount: 1, idempotencyKey: text }),
    async accept(t, text, result) {
      const order = result as Order
      const payment = await t.commerce.payments.get(order.payments[0]!.id)
      const ops = payment.operations.filter((o) => o.idempotencyKey === text)
      assert.equal(ops.length, 1, 'one capture stored under this key, read back byte for byte')
      // The same key again is the same capture, not a second one.
      await t.commerce.orders.capturePayment(order.id, { amount: 1, idempotencyKey: text })
      assert.equal((await t.commerce.payments.get(payment.id)).operations.length, payment.operations.length, 'the replay captures nothing more')
    },
  },
  {
    name: 'orders.hold reason',
    field: 'reason',
    kind: 'write',
    call: (t, text) => t.commerce.orders.hold(t.otherOrder.id, { reason: text }),
    async accept(t, text) {
      try {
        assert.equal((await t.commerce.orders.get(t.otherOrder.id)).hold?.reason, trimmed(text), 'hold reason read back')
      } finally {
        await t.commerce.orders.release(t.otherOrder.id)
      }
    },
  },

  // ── payments ──
  {
    name: 'payments.get',
    field: 'paymentId',
    kind: 'read',
    refusals: lookups,
    call: (t, text) => t.commerce.payments.get(text),
  },
  ...(['orderId', 'cartId', 'status'] as const).map(
    (filter): InjectionPath => ({
      name: `payments.list ${filter}`,
      field: filter,
      kind: 'read',
      call: (t, text) => t.commerce.payments.list({ [filter]: text }),
      accept: mustBeEmpty(`payments.list ${filter}`),
    }),
  ),
  {
    name: 'payments.list cursor',
    field: 'cursor',
    kind: 'read',
    extra: (t) => [...hostileCursors(t.cursors.payments), { name: "the products list's cursor", text: t.cursors.products }],
    call: (t, text) => t.commerce.payments.list({ orderId: t.order.id, cursor: text }),
    accept(t, text, result) {
      assert.equal(text, t.cursors.products, 'only a cursor the engine wrote is accepted')
      onlyMatching((result as { items: Array<{ orderId: string | null }> }).items, (p) => p.orderId, t.order.id, 'payments.list with a foreign cursor')
    },
  },
  {
    name: 'payments.listUnmatchedEvents provider',
    field: 'provider',
    kind: 'read',
    call: (t, text) => t.commerce.payments.listUnmatchedEvents({ provider: text }),
    accept(_t, text, result) {
      onlyMatching(result as Array<{ provider: string }>, (e) => e.provider, text, 'listUnmatchedEvents')
    },
  },
  {
    name: 'payments.handleWebhook providerId',
    field: 'providerId',
    kind: 'write',
    call: (t, text) => t.commerce.payments.handleWebhook(text, '{"events":[]}', {}),
  },
  {
    name: 'payments.handleWebhook unsigned body',
    // Text no storage keeps is refused before the provider sees it, naming the body or the header.
    field: ['signature', 'rawBody', 'headers'],
    kind: 'write',
    call: (t, text) => t.commerce.payments.handleWebhook(t.gateway.id, text, { 'x-test-gateway-signature': text }),
  },
  {
    name: "payments.handleWebhook signed events' id, reference and reason",
    field: 'events',
    kind: 'write',
    refusals: ['PROVIDER'],
    call(t, text) {
      const request = t.gateway.webhook({ id: text, type: 'captured', reference: text, amount: 1, currency: 'USD', reason: text })
      return t.commerce.payments.handleWebhook(t.gateway.id, request.rawBody, request.headers)
    },
    async accept(t, text) {
      const kept = (await t.commerce.payments.listUnmatchedEvents({ provider: t.gateway.id })).filter((e) => e.eventId === text)
      assert.equal(kept.length, 1, 'the event is kept under its id, read back byte for byte')
      assert.equal(kept[0]!.reference, text, 'reference read back')
      assert.equal(kept[0]!.reason, text.slice(0, 500), 'reason read back')
    },
  },

  // ── privacy, outbox ──
  {
    name: 'privacy.export email',
    field: 'email',
    kind: 'read',
    call: (t, text) => t.commerce.privacy.export({ email: text }),
    accept(_t, text, result) {
      const data = result as { orders: Order[]; carts: Array<{ email: string | null }> }
      onlyMatching(data.orders, (o) => o.email.toLowerCase(), text.toLowerCase(), 'privacy.export orders')
      onlyMatching(data.carts, (c) => c.email?.toLowerCase(), text.toLowerCase(), 'privacy.export carts')
    },
  },
  {
    name: 'privacy.erase customerId',
    field: 'customerId',
    kind: 'write',
    call: (t, text) => t.commerce.privacy.erase({ customerId: text }),
    async accept(t, text, result) {
      // Only the carts made with this very customer id (by carts.create above) may be erased.
      assert.equal((result as { orders: number }).orders, 0, `erase(${json(text)}) erased orders`)
      assert.equal((await t.commerce.orders.get(t.order.id)).email, 'ada@example.com', 'the fixture order keeps its email')
      assert.equal((await t.commerce.carts.get(t.cart.id)).email, 'ada@example.com', 'the fixture cart keeps its email')
    },
  },
  {
    name: 'outbox.list status',
    field: 'status',
    kind: 'read',
    call: (t, text) => t.commerce.outbox.list({ status: text as 'dead' }),
  },
  {
    name: 'outbox.retry deliveryId',
    field: 'deliveryId',
    kind: 'write',
    refusals: lookups,
    call: (t, text) => t.commerce.outbox.retry(text as unknown as number),
  },
  {
    name: 'search.products query',
    field: 'query',
    kind: 'read',
    call: (t, text) => t.commerce.search.products({ query: text, limit: 100 }),
    async accept(_t, _text, result) {
      // Words are only ever data: whatever is found is an active product, each once.
      const { items, total } = result as { items: Array<{ product: { id: string; status: string } }>; total: number }
      for (const hit of items) assert.equal(hit.product.status, 'active', `search found ${hit.product.id}, which is ${hit.product.status}`)
      assert.equal(new Set(items.map((h) => h.product.id)).size, items.length, 'a product found twice')
      assert.ok(total >= items.length, 'total below the page')
    },
  },
  {
    name: 'search.products sort',
    field: 'sort',
    kind: 'read',
    call: (t, text) => t.commerce.search.products({ query: 'trail', sort: text as 'newest' }),
  },
  {
    name: 'search.products option filter, name and value',
    field: 'options',
    kind: 'read',
    call: (t, text) => t.commerce.search.products({ options: { [text]: [text] }, limit: 100 }),
    accept(_t, text, result) {
      // Other paths of the corpus made products with such options: only those may be found.
      for (const { product } of (result as { items: Array<{ product: Product }> }).items) {
        assert.ok(product.variants.some((v) => (v.options as Record<string, string>)[text] === text), `search by option ${json(text)} found ${product.id}, which has no such variant`)
      }
    },
  },
  {
    name: 'search.products tag and type filters',
    field: ['tags', 'productType'],
    kind: 'read',
    call: (t, text) => t.commerce.search.products({ tags: [text], productType: text, limit: 100 }),
    accept(_t, text, result) {
      // Other paths of the corpus tagged products with such texts: only those may be found.
      for (const { product } of (result as { items: Array<{ product: Product }> }).items) {
        assert.ok(
          product.tags.some((tag) => tag.toLowerCase() === text.trim().replace(/\s+/g, ' ').toLowerCase()) && product.productType === text.trim(),
          `search by tag and type ${json(text)} found ${product.id} (${json(product.tags)}, ${json(product.productType)})`,
        )
      }
    },
  },
  {
    name: 'search.products category and collection ids',
    field: ['categoryId', 'collectionId'],
    kind: 'read',
    call: (t, text) => t.commerce.search.products({ categoryId: text, collectionId: text }),
    accept: mustBeEmpty('search in a category'),
  },
  {
    name: 'search.products cursor',
    field: 'cursor',
    kind: 'read',
    extra: (t) => [{ name: 'a products list cursor', text: t.cursors.products }],
    call: (t, text) => t.commerce.search.products({ query: 'trail', cursor: text }),
  },
  {
    name: 'search.products locale',
    field: 'locale',
    kind: 'read',
    call: (t, text) => t.commerce.search.products({ query: 'trail', locale: text }),
    accept(_t, _text, result) {
      assert.ok(Array.isArray((result as { items: unknown[] }).items))
    },
  },
]

/** List methods and the option names a caller could try to sort or select columns with. */
export const LIST_METHODS: ReadonlyArray<{ name: string; call(commerce: Commerce, input: Record<string, unknown>): Promise<unknown> }> = [
  { name: 'catalog.listProducts', call: (c, input) => c.catalog.listProducts(input) },
  { name: 'orders.list', call: (c, input) => c.orders.list(input) },
  { name: 'payments.list', call: (c, input) => c.payments.list(input) },
  { name: 'inventory.reservations', call: (c, input) => c.inventory.reservations(input) },
  { name: 'payments.listUnmatchedEvents', call: (c, input) => c.payments.listUnmatchedEvents(input) },
  { name: 'outbox.list', call: (c, input) => c.outbox.list(input) },
  { name: 'search.products', call: (c, input) => c.search.products(input) },
  { name: 'channels.list', call: (c, input) => c.channels.list(input) },
  { name: 'channels.products', call: (c, input) => c.channels.products('chan_00000000000000000000000000', input) },
]

/** Identifiers a caller might pass to choose a sort or a column: none is on any allow-list. */
export const IDENTIFIER_OPTIONS: ReadonlyArray<readonly [string, unknown]> = [
  ['sort', 'created_at; DROP TABLE cw_orders'],
  ['orderBy', 'access_token_hash'],
  ['order', 'desc, (select 1)'],
  ['sortBy', '"id"'],
  ['columns', ['*']],
  ['where', "1=1 OR ''=''"],
]
