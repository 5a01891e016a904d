import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testPayments, type Commerce, type Order } from '@cartwright/core'
import { testGateway } from '@cartwright/testkit'
import { checkout, failure, GUARDED_STORAGES, openShop, readyCart, type Shop } from '../support/index.js'
import { HOSTILE_STRINGS, IDENTIFIER_OPTIONS, INJECTION_PATHS, LIST_METHODS, refusalProblem, type InjectionTarget } from '../support/injection-corpus.js'

/**
 * The injection corpus (support/injection-corpus.ts) through every path that takes a caller's
 * text, on SQLite and PostgreSQL: each call takes the text as data (read back byte for byte, or
 * trimmed where the schema says so) or refuses it with a typed error naming the field, never a
 * driver's error nor `STORAGE`; a refused call changes no row of any table; lookups and filters
 * find nothing outside their scope; the schema is the same at the end; and no list method lets
 * the caller choose a sort key or a column.
 */

type Counts = Record<string, number>

/** The database's tables and their columns, as the catalog lists them. */
async function schemaOf(commerce: Commerce, storage: string): Promise<string[]> {
  const rows =
    storage === 'postgres'
      ? await sql<{ t: string; c: string }>`select table_name as t, column_name as c from information_schema.columns where table_schema = current_schema() order by table_name, column_name`.execute(commerce.db)
      : await sql<{ t: string; c: string }>`select m.name as t, p.name as c from sqlite_master m join pragma_table_info(m.name) p where m.type = 'table' order by m.name, p.name`.execute(commerce.db)
  return rows.rows.map((r) => `${r.t}.${r.c}`)
}

/** Rows of every `cw_*` table, in one statement (table names from the catalog, not from a caller). */
async function countRows(commerce: Commerce, tables: readonly string[]): Promise<Counts> {
  const query = tables.map((t) => `select '${t}' as t, count(*) as n from "${t}"`).join(' union all ')
  const rows = await sql.raw<{ t: string; n: number | string }>(query).execute(commerce.db)
  return Object.fromEntries(rows.rows.map((r) => [r.t, Number(r.n)]))
}

function changed(before: Counts, after: Counts): string[] {
  return Object.keys(before)
    .filter((t) => before[t] !== after[t])
    .map((t) => `${t} ${before[t]} → ${after[t]}`)
}

const show = (text: string) => (text.length > 60 ? `${JSON.stringify(text.slice(0, 60))}… (${text.length} chars)` : JSON.stringify(text))

describe.each(GUARDED_STORAGES)('injection corpus, on %s', (storage) => {
  let shop: Shop
  let target: InjectionTarget
  let schema: string[]
  let tables: string[]

  beforeAll(async () => {
    const gateway = testGateway({ id: 'gateway' })
    // No background loops: a refused call must change no row, and a recovery round or a delivery
    // landing between the two counts would be counted as the call's.
    shop = await openShop({ storage, payments: [testPayments(), gateway], recovery: { enabled: false }, outbox: { enabled: false } })
    const { commerce } = shop
    const loose = await commerce.catalog.createProduct({
      title: 'Gift card',
      variants: [{ sku: 'GIFT-25', manageInventory: false, prices: [{ currency: 'USD', amount: 2500 }] }],
    })
    const looseVariantId = loose.variants[0]!.id
    const cart = await readyCart(commerce, shop.variantId)
    const otherCart = await commerce.carts.create({ currency: 'USD' })
    const order = await checkout(commerce, (await readyCart(commerce, looseVariantId)).id)
    const otherOrder = await checkout(commerce, (await readyCart(commerce, looseVariantId)).id)
    const cursor = (page: { nextCursor: string | null }) => {
      if (!page.nextCursor) throw new Error('the fixture has a second page of each list')
      return page.nextCursor
    }
    target = {
      commerce,
      gateway,
      variantId: shop.variantId,
      looseVariantId,
      locationId: shop.warehouse.id,
      cart: { ...cart, accessToken: (await commerce.carts.rotateToken(cart.id)).accessToken! },
      otherCart: { ...otherCart, accessToken: (await commerce.carts.rotateToken(otherCart.id)).accessToken! },
      order: order as Order & { accessToken: string },
      otherOrder,
      cursors: {
        products: cursor(await commerce.catalog.listProducts({ limit: 1 })),
        orders: cursor(await commerce.orders.list({ limit: 1 })),
        payments: cursor(await commerce.payments.list({ limit: 1 })),
      },
    }
    expect(target.order.accessToken).toMatch(/^ot_/)
    schema = await schemaOf(commerce, storage)
    tables = [...new Set(schema.map((c) => c.split('.')[0]!))].filter((t) => t.startsWith('cw_'))
    expect(tables).toEqual(expect.arrayContaining(['cw_orders', 'cw_carts', 'cw_products', 'cw_payments', 'cw_payment_events']))
  })

  afterAll(async () => {
    await shop?.close()
  })

  it.each(INJECTION_PATHS.map((path) => [path.name, path] as const))('%s: takes each string as data or refuses it with a typed error naming the field; a refusal changes no row', async (_name, path) => {
    const problems: string[] = []
    for (const { name, text } of [...HOSTILE_STRINGS, ...(path.extra?.(target) ?? [])]) {
      const prepared = await path.prepare?.(target)
      const before = await countRows(target.commerce, tables)
      let result: unknown
      try {
        result = await path.call(target, text, prepared)
      } catch (error) {
        const problem = refusalProblem(path, error)
        if (problem) problems.push(`${name} ${show(text)}: ${problem}`)
        const rows = changed(before, await countRows(target.commerce, tables))
        if (rows.length > 0) problems.push(`${name} ${show(text)}: refused, yet changed ${rows.join(', ')}`)
        continue
      }
      if (!path.accept) {
        problems.push(`${name} ${show(text)}: succeeded; it must be refused`)
        continue
      }
      try {
        await path.accept(target, text, result)
      } catch (error) {
        problems.push(`${name} ${show(text)}: ${(error as Error).message.split('\n')[0]}`)
      }
    }
    expect(problems).toEqual([])
  })

  it('no list method takes a sort key or a column name: each such option is VALIDATION naming it', async () => {
    const before = await countRows(target.commerce, tables)
    for (const method of LIST_METHODS) {
      for (const [option, value] of IDENTIFIER_OPTIONS) {
        const error = await failure(method.call(target.commerce, { [option]: value }), 'VALIDATION', `${method.name}({ ${option} })`)
        expect(error.details.fields, `${method.name}({ ${option} })`).toContain(option)
      }
    }
    expect(await countRows(target.commerce, tables)).toEqual(before)
  })

  it('refuses text no storage keeps as sent (a NUL, half a surrogate pair) with VALIDATION naming the field, and an empty email filter', async () => {
    const { commerce } = target
    for (const bad of ['\u0000', '\uD800']) {
      const text = `before${bad}after`
      const title = await failure(commerce.catalog.createProduct({ title: text, variants: [{ sku: 'UNSTORABLE-1' }] }), 'VALIDATION')
      expect(title.details.fields).toEqual(['title'])
      const metadata = await failure(commerce.carts.create({ currency: 'USD', metadata: { [text]: 1 } }), 'VALIDATION')
      expect(metadata.details.fields).toEqual(['metadata'])
      expect((await failure(commerce.catalog.getVariantBySku(text), 'VALIDATION')).details.fields).toEqual(['sku'])
      // The cart's own token with the character in its id: no match, and no lookup PostgreSQL would refuse.
      await failure(commerce.carts.findByToken(target.cart.accessToken.replace('.', `${bad}.`)), 'NOT_FOUND')
    }
    await expect(commerce.catalog.getVariantBySku('UNSTORABLE-1')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect((await failure(commerce.orders.list({ email: '' }), 'VALIDATION')).details.fields).toEqual(['email'])
  })

  it('the schema is the one the engine made: every table and column is still there, and no other', async () => {
    expect(await schemaOf(target.commerce, storage)).toEqual(schema)
    // The fixture's rows are all still there.
    expect((await target.commerce.orders.get(target.order.id)).email).toBe('ada@example.com')
    expect((await target.commerce.carts.findByToken(target.cart.accessToken)).id).toBe(target.cart.id)
    expect((await target.commerce.orders.findByToken(target.order.accessToken)).id).toBe(target.order.id)
  })
})
