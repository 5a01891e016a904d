import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import type { Commerce, Product } from '@cartwright/core'
import { checkout, failure, GUARDED_STORAGES, key, openShop, readyCart, type Shop, type StorageKind } from '../support/index.js'

/**
 * The catalog's structure: categories (a tree), collections (hand-picked or by rules), tags,
 * types and attributes, compare-at prices, deleting or archiving products, handle redirects and
 * translations, on SQLite and PostgreSQL.
 */

function shops(storage: StorageKind) {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })
  return async (options: Parameters<typeof openShop>[0] = {}): Promise<Shop> => {
    const shop = await openShop({ storage, ...options })
    open.push(shop)
    return shop
  }
}

/** Rows of every `cw_*` table (migration bookkeeping aside). */
async function rowCounts(commerce: Commerce, storage: StorageKind): Promise<Record<string, number>> {
  const { rows: tables } =
    storage === 'postgres'
      ? await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_name like 'cw\\_%' and table_name not like 'cw\\_migrations%' order by table_name`.execute(commerce.db)
      : await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name like 'cw_%' and name not like 'cw_migrations%' order by name`.execute(commerce.db)
  const out: Record<string, number> = {}
  for (const { name } of tables) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(name)}`.execute(commerce.db)
    out[name] = Number(rows[0]!.n)
  }
  return out
}

async function product(commerce: Commerce, title: string, extra: Record<string, unknown> = {}, variants?: unknown[]): Promise<Product> {
  return commerce.catalog.createProduct({
    title,
    handle: key().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, ''),
    variants: (variants as never) ?? [{ sku: key(), prices: [{ currency: 'USD', amount: 1000 }] }],
    ...extra,
  })
}

describe.each(GUARDED_STORAGES)('catalog structure, on %s', (storage) => {
  const shop = shops(storage)

  describe('catalog.deleteProduct', () => {
    it('archives a product that orders refer to instead of deleting it: it leaves shopper listings and its orders keep their lines', async () => {
      const { commerce, shoe, variantId } = await shop()
      const running = await commerce.categories.create({ title: 'Running', handle: 'running' })
      await commerce.categories.addProducts(running.id, [shoe.id])
      const order = await checkout(commerce, (await readyCart(commerce, variantId, 2)).id)

      const result = await commerce.catalog.deleteProduct(shoe.id)

      expect(result).toEqual({ deleted: false, archived: true, reason: 'orders' })
      const kept = await commerce.db.selectFrom('cw_products').select(['status']).where('id', '=', shoe.id).executeTakeFirst()
      expect(kept?.status).toBe('archived')
      expect(await commerce.db.selectFrom('cw_variants').select('id').where('product_id', '=', shoe.id).execute()).toHaveLength(4)
      expect((await commerce.catalog.listProducts({ visibleOnly: true })).items.map((p) => p.id)).not.toContain(shoe.id)
      expect((await commerce.categories.products(running.id, { visibleOnly: true })).items).toEqual([])
      // The merchant's listing still has it, archived.
      expect((await commerce.catalog.listProducts({ status: 'archived' })).items.map((p) => p.id)).toEqual([shoe.id])
      const read = await commerce.orders.get(order.id)
      expect(read.lines.map((l) => ({ productId: l.productId, sku: l.sku, title: l.title, quantity: l.quantity, unitPrice: l.unitPrice }))).toEqual([
        { productId: shoe.id, sku: 'TR-42-BLU', title: 'Trail Runner', quantity: 2, unitPrice: 12900 },
      ])
      expect(await commerce.db.selectFrom('cw_outbox').select('type').where('type', 'in', ['product.archived', 'product.deleted']).execute()).toEqual([{ type: 'product.archived' }])
    })

    it('deletes a product nothing refers to, with its variants, prices, tags, translations, redirects and category links', async () => {
      const { commerce } = await shop()
      const sock = await product(commerce, 'Sock', { tags: ['Wool'] })
      await commerce.catalog.updateProduct(sock.id, { handle: 'sock-2' })
      await commerce.catalog.setTranslations({ type: 'product', id: sock.id }, 'de', { title: 'Socke' })
      const cat = await commerce.categories.create({ title: 'Socks', handle: 'socks' })
      await commerce.categories.addProducts(cat.id, [sock.id])

      expect(await commerce.catalog.deleteProduct(sock.id)).toEqual({ deleted: true, archived: false })

      await failure(commerce.catalog.getProduct(sock.id), 'NOT_FOUND')
      await failure(commerce.catalog.getProduct(sock.handle), 'NOT_FOUND')
      for (const [table, column] of [
        ['cw_variants', 'product_id'],
        ['cw_product_tags', 'product_id'],
        ['cw_category_products', 'product_id'],
        ['cw_handle_redirects', 'entity_id'],
        ['cw_translations', 'entity_id'],
        ['cw_variant_option_values', 'product_id'],
      ] as const) {
        const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)} where ${sql.ref(column)} = ${sock.id}`.execute(commerce.db)
        expect(Number(rows[0]!.n), table).toBe(0)
      }
    })

    it('archives a product that is in a cart', async () => {
      const { commerce } = await shop()
      const sock = await product(commerce, 'Sock', {}, [{ sku: key(), manageInventory: false, prices: [{ currency: 'USD', amount: 500 }] }])
      const cart = await commerce.carts.create({ currency: 'USD' })
      await commerce.carts.addItem(cart.id, { variantId: sock.variants[0]!.id, quantity: 1 })
      expect(await commerce.catalog.deleteProduct(sock.id)).toEqual({ deleted: false, archived: true, reason: 'carts' })
      expect((await commerce.carts.get(cart.id)).lines).toHaveLength(1)
    })
  })

  describe('handles', () => {
    it('keeps an old handle resolving to the product after the handle changes', async () => {
      const { commerce, shoe } = await shop()
      expect(shoe.handle).toBe('trail-runner')
      const renamed = await commerce.catalog.updateProduct(shoe.id, { handle: 'trail-runner-pro' })
      expect(renamed.handle).toBe('trail-runner-pro')
      expect((await commerce.catalog.getProduct('trail-runner')).id).toBe(shoe.id)
      expect((await commerce.catalog.getProduct('trail-runner-pro')).id).toBe(shoe.id)
      // A second change keeps both old handles.
      await commerce.catalog.updateProduct(shoe.id, { handle: 'trail-runner-3' })
      expect((await commerce.catalog.getProduct('trail-runner')).handle).toBe('trail-runner-3')
      expect((await commerce.catalog.getProduct('trail-runner-pro')).handle).toBe('trail-runner-3')
    })

    it('refuses a new product the handle that redirects to another until the redirect is dropped', async () => {
      const { commerce, shoe } = await shop()
      await commerce.catalog.updateProduct(shoe.id, { handle: 'trail-runner-pro' })
      const before = await rowCounts(commerce, storage)
      const error = await failure(commerce.catalog.createProduct({ title: 'Trail Runner', variants: [{ sku: key() }] }), 'CONFLICT')
      expect(error.details.fields).toEqual(['handle'])
      await failure(commerce.catalog.updateProduct((await product(commerce, 'Other')).id, { handle: 'trail-runner' }), 'CONFLICT')
      expect(await commerce.catalog.dropRedirect('trail-runner')).toBe(true)
      const other = await commerce.catalog.createProduct({ title: 'Trail Runner', variants: [{ sku: key() }] })
      expect((await commerce.catalog.getProduct('trail-runner')).id).toBe(other.id)
      expect(before.cw_handle_redirects).toBe(1)
    })

    it('lets a product take back its own old handle', async () => {
      const { commerce, shoe } = await shop()
      await commerce.catalog.updateProduct(shoe.id, { handle: 'trail-runner-pro' })
      await commerce.catalog.updateProduct(shoe.id, { handle: 'trail-runner' })
      expect((await commerce.catalog.getProduct('trail-runner-pro')).handle).toBe('trail-runner')
      expect(await commerce.db.selectFrom('cw_handle_redirects').select(['handle', 'entity_id']).execute()).toEqual([{ handle: 'trail-runner-pro', entity_id: shoe.id }])
    })

    it('keeps old category and collection handles resolving too', async () => {
      const { commerce } = await shop()
      const cat = await commerce.categories.create({ title: 'Shoes', handle: 'shoes' })
      await commerce.categories.update(cat.id, { handle: 'footwear' })
      expect((await commerce.categories.get('shoes')).id).toBe(cat.id)
      const coll = await commerce.collections.create({ title: 'Picks', handle: 'picks' })
      await commerce.collections.update(coll.id, { handle: 'staff-picks' })
      expect((await commerce.collections.get('picks')).handle).toBe('staff-picks')
      await failure(commerce.categories.create({ title: 'Shoes', handle: 'shoes' }), 'CONFLICT')
      await failure(commerce.categories.create({ title: 'Footwear', handle: 'footwear' }), 'CONFLICT')
    })
  })

  describe('categories', () => {
    it('keeps siblings ordered by position and lists the tree', async () => {
      const { commerce } = await shop()
      const shoes = await commerce.categories.create({ title: 'Shoes', handle: 'shoes' })
      const bags = await commerce.categories.create({ title: 'Bags', handle: 'bags' })
      const first = await commerce.categories.create({ title: 'Sale', handle: 'sale', position: 0 })
      const trail = await commerce.categories.create({ title: 'Trail', handle: 'trail', parentId: shoes.id })
      const road = await commerce.categories.create({ title: 'Road', handle: 'road', parentId: shoes.id, position: 0 })
      const tree = await commerce.categories.tree()
      const shape = (nodes: typeof tree): unknown => nodes.map((n) => [n.handle, n.position, shape(n.children)])
      expect(shape(tree)).toEqual([
        ['sale', 0, []],
        ['shoes', 1, [['road', 0, []], ['trail', 1, []]]],
        ['bags', 2, []],
      ])
      expect([first.id, bags.id, trail.id, road.id]).toHaveLength(4)
    })

    it('refuses a move that would make a category its own ancestor, and leaves the tree as it was', async () => {
      const { commerce } = await shop()
      const a = await commerce.categories.create({ title: 'A', handle: 'a' })
      const b = await commerce.categories.create({ title: 'B', handle: 'b', parentId: a.id })
      const c = await commerce.categories.create({ title: 'C', handle: 'c', parentId: b.id })
      const before = await commerce.db.selectFrom('cw_categories').selectAll().orderBy('id').execute()

      const error = await failure(commerce.categories.move(a.id, { parentId: c.id }), 'VALIDATION')
      expect(error.details.fields).toEqual(['parentId'])
      await failure(commerce.categories.move(b.id, { parentId: b.id }), 'VALIDATION')

      expect(await commerce.db.selectFrom('cw_categories').selectAll().orderBy('id').execute()).toEqual(before)
      // A move that makes no cycle is done, and positions close up where it left.
      const moved = await commerce.categories.move(c.id, { parentId: null, position: 0 })
      expect([moved.parentId, moved.position]).toEqual([null, 0])
      expect((await commerce.categories.get(a.id)).position).toBe(1)
    })

    it('refuses to delete a category with sub-categories, and unlinks the products of one it deletes', async () => {
      const { commerce, shoe } = await shop()
      const a = await commerce.categories.create({ title: 'A', handle: 'a' })
      const b = await commerce.categories.create({ title: 'B', handle: 'b', parentId: a.id })
      await commerce.categories.addProducts(b.id, [shoe.id])
      await failure(commerce.categories.delete(a.id), 'INVALID_STATE')
      await commerce.categories.delete(b.id)
      await commerce.categories.delete(a.id)
      expect(await commerce.categories.tree()).toEqual([])
      expect(await commerce.db.selectFrom('cw_category_products').selectAll().execute()).toEqual([])
      expect((await commerce.catalog.getProduct(shoe.id)).id).toBe(shoe.id)
    })

    it("lists a category's products in their order, a page at a time", async () => {
      const { commerce } = await shop()
      const cat = await commerce.categories.create({ title: 'All', handle: 'all' })
      const made: string[] = []
      for (let i = 0; i < 5; i++) made.push((await product(commerce, `P${i}`)).id)
      await commerce.categories.addProducts(cat.id, [made[3]!, made[1]!, made[4]!])
      await commerce.categories.addProducts(cat.id, [made[0]!, made[1]!])
      const seen: string[] = []
      let cursor: string | undefined
      do {
        const page = await commerce.categories.products(cat.id, { limit: 2, ...(cursor ? { cursor } : {}) })
        seen.push(...page.items.map((p) => p.id))
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      expect(seen).toEqual([made[3], made[1], made[4], made[0]])
    })
  })

  describe('collections', () => {
    async function catalog(commerce: Commerce) {
      const red = await product(commerce, 'Red runner', { tags: ['Sale', ' running '], productType: 'Shoes', options: [{ name: 'Color', values: ['Red', 'Blue'] }] }, [
        { sku: key(), options: { Color: 'Red' }, prices: [{ currency: 'USD', amount: 8000 }] },
        { sku: key(), options: { Color: 'Blue' }, prices: [{ currency: 'USD', amount: 12000 }] },
      ])
      const blue = await product(commerce, 'Blue runner', { tags: ['running'], productType: 'Shoes', options: [{ name: 'Color', values: ['Blue'] }] }, [
        { sku: key(), options: { Color: 'Blue' }, prices: [{ currency: 'USD', amount: 15000 }, { currency: 'USD', amount: 5000, minQuantity: 10 }] },
      ])
      const bag = await product(commerce, 'Red bag', { tags: ['SALE'], productType: 'Bags', options: [{ name: 'Color', values: ['Red'] }] }, [
        { sku: key(), options: { Color: 'Red' }, prices: [{ currency: 'EUR', amount: 3000 }] },
      ])
      return { red: red.id, blue: blue.id, bag: bag.id }
    }
    const ids = async (commerce: Commerce, collectionId: string) => (await commerce.collections.products(collectionId, { limit: 100 })).items.map((p) => p.id).sort()

    it('resolves rule-based collections by tag, type, price range and option value, combined with all or any', async () => {
      const { commerce, shoe } = await shop()
      const p = await catalog(commerce)
      const make = async (match: 'all' | 'any', rules: never[]) => (await commerce.collections.create({ title: 'C', handle: key().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''), kind: 'rules', match, rules })).id
      expect(await ids(commerce, await make('all', [{ field: 'tag', value: 'sale' }] as never[]))).toEqual([p.red, p.bag].sort())
      expect(await ids(commerce, await make('all', [{ field: 'type', value: 'Shoes' }] as never[]))).toEqual([p.red, p.blue].sort())
      expect(await ids(commerce, await make('all', [{ field: 'option', option: 'Color', value: 'Red' }] as never[]))).toEqual([p.red, p.bag].sort())
      // Base prices (one unit) only: the blue runner's tier of 50.00 from ten units does not count.
      expect(await ids(commerce, await make('all', [{ field: 'price', currency: 'USD', max: 10000 }] as never[]))).toEqual([p.red])
      expect(await ids(commerce, await make('all', [{ field: 'price', currency: 'USD', min: 11000, max: 12500 }] as never[]))).toEqual([p.red])
      expect(await ids(commerce, await make('all', [{ field: 'price', currency: 'USD', min: 14500 }] as never[]))).toEqual([p.blue])
      expect(await ids(commerce, await make('all', [{ field: 'tag', value: 'Sale' }, { field: 'type', value: 'Shoes' }] as never[]))).toEqual([p.red])
      expect(await ids(commerce, await make('any', [{ field: 'type', value: 'Bags' }, { field: 'option', option: 'Color', value: 'Blue' }] as never[]))).toEqual([p.red, p.blue, p.bag, shoe.id].sort())
      expect(await ids(commerce, await make('all', [{ field: 'tag', value: 'sale' }, { field: 'option', option: 'Color', value: 'Blue' }, { field: 'price', currency: 'EUR', min: 1 }] as never[]))).toEqual([])
    })

    it('follows the catalog as it changes, and keeps a hand-picked collection in its order', async () => {
      const { commerce } = await shop()
      const p = await catalog(commerce)
      const sale = await commerce.collections.create({ title: 'Sale', handle: 'sale', kind: 'rules', rules: [{ field: 'tag', value: 'sale' }] })
      await commerce.catalog.updateProduct(p.bag, { tags: ['clearance'] })
      expect(await ids(commerce, sale.id)).toEqual([p.red])
      const picks = await commerce.collections.create({ title: 'Picks', handle: 'picks' })
      await commerce.collections.addProducts(picks.id, [p.bag, p.red])
      expect((await commerce.collections.products(picks.id)).items.map((x) => x.id)).toEqual([p.bag, p.red])
      await failure(commerce.collections.addProducts(sale.id, [p.bag]), 'INVALID_STATE')
    })
  })

  describe('tags, types and attributes', () => {
    it('normalizes tags (trimmed, unique ignoring case) and keeps attributes on products and variants', async () => {
      const { commerce } = await shop()
      const made = await product(
        commerce,
        'Boot',
        { tags: ['  Winter  Sale ', 'winter sale', 'Leather'], productType: 'Boots', material: 'Leather', hsCode: '640391', countryOfOrigin: 'pt' },
        [{ sku: key(), weightGrams: 900, lengthMm: 320, widthMm: 120, heightMm: 140 }],
      )
      const read = await commerce.catalog.getProduct(made.id)
      expect([read.tags, read.productType, read.material, read.hsCode, read.countryOfOrigin]).toEqual([['Winter Sale', 'Leather'], 'Boots', 'Leather', '640391', 'PT'])
      expect(read.variants[0]).toMatchObject({ weightGrams: 900, lengthMm: 320, widthMm: 120, heightMm: 140 })
      expect(await commerce.db.selectFrom('cw_product_tags').select('tag').where('product_id', '=', made.id).orderBy('position').execute()).toEqual([{ tag: 'winter sale' }, { tag: 'leather' }])
    })

    it('keeps variant option values in rows', async () => {
      const { commerce, shoe } = await shop()
      const rows = await commerce.db.selectFrom('cw_variant_option_values').select(['variant_id', 'option', 'value']).where('product_id', '=', shoe.id).execute()
      expect(rows).toHaveLength(8)
      expect(rows.filter((r) => r.option === 'Color' && r.value === 'Black').map((r) => r.variant_id).sort()).toEqual(shoe.variants.filter((v) => v.options.Color === 'Black').map((v) => v.id).sort())
    })
  })

  describe('compare-at prices', () => {
    it('shows the compare-at price and never charges it: the cart and the order use amount', async () => {
      const { commerce, variantId } = await shop()
      await commerce.catalog.setPrices(variantId, [{ currency: 'USD', amount: 9900, compareAtAmount: 12900 }])
      expect((await commerce.catalog.getVariant(variantId)).prices).toEqual([{ currency: 'USD', amount: 9900, minQuantity: 1, compareAtAmount: 12900 }])
      const cart = await readyCart(commerce, variantId, 2)
      expect(cart.lines[0]!.unitPrice).toBe(9900)
      expect(cart.totals.subtotal).toBe(19800)
      const order = await checkout(commerce, cart.id)
      expect(order.lines[0]!.unitPrice).toBe(9900)
      expect(order.totals.subtotal).toBe(19800)
    })

    it('refuses a compare-at price not above the amount', async () => {
      const { commerce, variantId } = await shop()
      const before = await rowCounts(commerce, storage)
      const error = await failure(commerce.catalog.setPrices(variantId, [{ currency: 'USD', amount: 9900, compareAtAmount: 9900 }]), 'VALIDATION')
      expect(error.details.fields).toEqual(['prices.0.compareAtAmount'])
      expect(await rowCounts(commerce, storage)).toEqual(before)
    })
  })

  describe('translations', () => {
    it('gives texts in the locale asked for, each field falling back to a less specific locale and then to the default', async () => {
      const { commerce, shoe } = await shop()
      const cat = await commerce.categories.create({ title: 'Shoes', handle: 'shoes', description: 'All shoes' })
      await commerce.catalog.setTranslations({ type: 'product', id: shoe.id }, 'de', { title: 'Trailläufer', description: 'Ein leichter Schuh' })
      await commerce.catalog.setTranslations({ type: 'product', id: shoe.id }, 'de-CH', { title: 'Trailläufer (CH)' })
      await commerce.catalog.setTranslations({ type: 'option', productId: shoe.id, name: 'Color' }, 'de', { name: 'Farbe', values: { Blue: 'Blau' } })
      await commerce.catalog.setTranslations({ type: 'variant', id: shoe.variants[0]!.id }, 'de', { title: '42 / Blau' })
      await commerce.catalog.setTranslations({ type: 'category', id: cat.id }, 'de', { title: 'Schuhe' })

      const de = await commerce.catalog.getProduct(shoe.id, { locale: 'de' })
      expect([de.title, de.description]).toEqual(['Trailläufer', 'Ein leichter Schuh'])
      expect(de.options).toEqual([
        { name: 'Size', values: ['42', '43'] },
        { name: 'Farbe', values: ['Blau', 'Black'] },
      ])
      expect(de.variants.map((v) => v.title)).toEqual(['42 / Blau', '43 / Blue', '42 / Black', '43 / Black'])
      const ch = await commerce.catalog.getProduct('trail-runner', { locale: 'de-ch' })
      expect([ch.title, ch.description]).toEqual(['Trailläufer (CH)', 'Ein leichter Schuh'])
      const fr = await commerce.catalog.getProduct(shoe.id, { locale: 'fr' })
      expect([fr.title, fr.description]).toEqual(['Trail Runner', null])
      expect((await commerce.catalog.listProducts({ locale: 'de', visibleOnly: true })).items.map((p) => p.title)).toEqual(['Trailläufer'])
      expect(await commerce.categories.get('shoes', { locale: 'de-AT' })).toMatchObject({ title: 'Schuhe', description: 'All shoes' })
      // Without a locale, and in the default one, the product's own texts.
      expect((await commerce.catalog.getProduct(shoe.id, { locale: 'en' })).title).toBe('Trail Runner')
      // null removes one.
      await commerce.catalog.setTranslations({ type: 'product', id: shoe.id }, 'de-CH', { title: null })
      expect((await commerce.catalog.getProduct(shoe.id, { locale: 'de-CH' })).title).toBe('Trailläufer')
    })

    it('uses the default locale of the options: its texts are the products own', async () => {
      const { commerce, shoe } = await shop({ catalog: { defaultLocale: 'de' } })
      await commerce.catalog.setTranslations({ type: 'product', id: shoe.id }, 'de', { title: 'Ignored: German is the default' })
      expect((await commerce.catalog.getProduct(shoe.id, { locale: 'de' })).title).toBe('Trail Runner')
    })
  })

  describe('visibility source', () => {
    it('hides from shopper listings what the source does not show in the channel', async () => {
      const hidden = new Set<string>()
      const { commerce, shoe } = await shop({ catalog: { visibility: { visible: (ids, { channel }) => ids.filter((id) => channel !== 'pos' || !hidden.has(id)) } } })
      hidden.add(shoe.id)
      expect((await commerce.catalog.listProducts({ visibleOnly: true, channel: 'pos' })).items).toEqual([])
      expect((await commerce.catalog.listProducts({ visibleOnly: true, channel: 'web' })).items.map((p) => p.id)).toEqual([shoe.id])
      expect((await commerce.catalog.listProducts({ channel: 'pos' })).items.map((p) => p.id)).toEqual([shoe.id])
    })
  })

  describe('bad input', () => {
    it('is a typed error naming the field through every new method, and leaves every table as it was', async () => {
      const { commerce, shoe } = await shop()
      const cat = await commerce.categories.create({ title: 'Shoes', handle: 'shoes' })
      const rules = await commerce.collections.create({ title: 'Sale', handle: 'sale', kind: 'rules', rules: [{ field: 'tag', value: 'sale' }] })
      const before = await rowCounts(commerce, storage)
      const cases: Array<[string, () => Promise<unknown>, string, string | null]> = [
        ['a bad HS code', () => commerce.catalog.createProduct({ title: 'X', hsCode: '64-03', variants: [{ sku: key() }] }), 'VALIDATION', 'hsCode'],
        ['an HS code too short', () => commerce.catalog.updateProduct(shoe.id, { hsCode: '6403' }), 'VALIDATION', 'hsCode'],
        ['an unknown country', () => commerce.catalog.updateProduct(shoe.id, { countryOfOrigin: 'XX' }), 'VALIDATION', 'countryOfOrigin'],
        ['too many tags', () => commerce.catalog.updateProduct(shoe.id, { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }), 'VALIDATION', 'tags'],
        ['a tag too long', () => commerce.catalog.updateProduct(shoe.id, { tags: ['x'.repeat(65)] }), 'VALIDATION', 'tags.0'],
        ['a blank tag', () => commerce.catalog.updateProduct(shoe.id, { tags: ['   '] }), 'VALIDATION', 'tags.0'],
        ['negative dimensions', () => commerce.catalog.updateVariant(shoe.variants[0]!.id, { lengthMm: -1 }), 'VALIDATION', 'lengthMm'],
        ['a bad handle', () => commerce.catalog.updateProduct(shoe.id, { handle: 'Not A Handle' }), 'VALIDATION', 'handle'],
        ['a compare-at below the amount', () => commerce.catalog.createProduct({ title: 'X', variants: [{ sku: key(), prices: [{ currency: 'USD', amount: 100, compareAtAmount: 50 }] }] }), 'VALIDATION', 'variants.0.prices.0.compareAtAmount'],
        ['a bad locale', () => commerce.catalog.getProduct(shoe.id, { locale: 'not a locale' }), 'VALIDATION', 'locale'],
        ['a bad listing locale', () => commerce.catalog.listProducts({ locale: 'x_y_z' }), 'VALIDATION', 'locale'],
        ['a translation in a bad locale', () => commerce.catalog.setTranslations({ type: 'product', id: shoe.id }, '!!', { title: 'X' }), 'VALIDATION', 'locale'],
        ['a translation of an unknown product', () => commerce.catalog.setTranslations({ type: 'product', id: 'prod_00000000000000000000000000' }, 'de', { title: 'X' }), 'NOT_FOUND', null],
        ['a translated field a variant has not', () => commerce.catalog.setTranslations({ type: 'variant', id: shoe.variants[0]!.id }, 'de', { description: 'X' }), 'VALIDATION', 'fields.description'],
        ['a translation of an unknown option value', () => commerce.catalog.setTranslations({ type: 'option', productId: shoe.id, name: 'Color' }, 'de', { values: { Green: 'Grün' } }), 'VALIDATION', 'fields.values.Green'],
        ['a translation of an unknown option', () => commerce.catalog.setTranslations({ type: 'option', productId: shoe.id, name: 'Fit' }, 'de', { name: 'Passform' }), 'VALIDATION', 'entity.name'],
        ['an unknown entity type', () => commerce.catalog.setTranslations({ type: 'order' as 'product', id: shoe.id }, 'de', { title: 'X' }), 'VALIDATION', 'entity.type'],
        ['a category handle taken', () => commerce.categories.create({ title: 'Shoes', handle: 'shoes' }), 'CONFLICT', 'handle'],
        ['a category with a bad handle', () => commerce.categories.create({ title: 'X', handle: 'x y' }), 'VALIDATION', 'handle'],
        ['a category under an unknown parent', () => commerce.categories.create({ title: 'X', handle: 'x', parentId: 'cat_00000000000000000000000000' }), 'NOT_FOUND', null],
        ['a category moved under itself', () => commerce.categories.move(cat.id, { parentId: cat.id }), 'VALIDATION', 'parentId'],
        ['a category moved to a negative position', () => commerce.categories.move(cat.id, { parentId: null, position: -1 }), 'VALIDATION', 'position'],
        ['an unknown category', () => commerce.categories.update('cat_00000000000000000000000000', { title: 'X' }), 'NOT_FOUND', null],
        ['an unknown product added to a category', () => commerce.categories.addProducts(cat.id, ['prod_00000000000000000000000000']), 'NOT_FOUND', null],
        ['no products added to a category', () => commerce.categories.addProducts(cat.id, []), 'VALIDATION', 'productIds'],
        ['a forged category cursor', () => commerce.categories.products(cat.id, { cursor: Buffer.from(JSON.stringify([0, "x' OR 1=1"])).toString('base64url') }), 'VALIDATION', 'cursor'],
        ['a hand-picked collection with rules', () => commerce.collections.create({ title: 'X', handle: 'x', kind: 'manual', rules: [{ field: 'tag', value: 'a' }] }), 'VALIDATION', 'rules'],
        ['a rule-based collection without rules', () => commerce.collections.create({ title: 'X', handle: 'x', kind: 'rules' }), 'VALIDATION', 'rules'],
        ['a price rule without bounds', () => commerce.collections.create({ title: 'X', handle: 'x', kind: 'rules', rules: [{ field: 'price', currency: 'USD' }] }), 'VALIDATION', 'rules.0.min'],
        ['a price rule in an unknown currency', () => commerce.collections.create({ title: 'X', handle: 'x', kind: 'rules', rules: [{ field: 'price', currency: 'ZZZ', max: 1 }] }), 'VALIDATION', 'rules.0.currency'],
        ['a rule on an unknown field', () => commerce.collections.update(rules.id, { rules: [{ field: 'sql', value: '1=1' } as never] }), 'VALIDATION', 'rules.0.field'],
        ['a collection handle taken', () => commerce.collections.create({ title: 'Sale', handle: 'sale' }), 'CONFLICT', 'handle'],
        ['products added to a rule-based collection', () => commerce.collections.addProducts(rules.id, [shoe.id]), 'INVALID_STATE', null],
        ['an unknown collection', () => commerce.collections.products('coll_00000000000000000000000000'), 'NOT_FOUND', null],
        ['an unknown product deleted', () => commerce.catalog.deleteProduct('prod_00000000000000000000000000'), 'NOT_FOUND', null],
        ['a bad redirect handle', () => commerce.catalog.dropRedirect('Bad Handle'), 'VALIDATION', 'handle'],
      ]
      for (const [name, call, code, field] of cases) {
        const error = await failure(call(), code as 'VALIDATION', name)
        if (field !== null) expect(error.details.fields, name).toContain(field)
      }
      expect(await rowCounts(commerce, storage)).toEqual(before)
    })
  })
})
