import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kysely, KyselyPlugin } from 'kysely'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { createCommerce, type Commerce } from '@cartwright/core'
import { compiledQuery } from '../../../core/src/db/compiled-query.js'
import type { CartTable, CoreDatabase } from '../../../core/src/db/database.js'

let commerce: Commerce
/**
 * The engine's database as core's services query it: `commerce.db` adds a kysely plugin (it
 * refuses queries from inside a transactional hook), and with plugins a compiled query is built on
 * every call (the last test).
 */
let db: Kysely<CoreDatabase>
beforeAll(async () => {
  commerce = await createCommerce({ storage: sqliteStorage(), outbox: { enabled: false } })
  db = commerce.db.withoutPlugins()
})
afterAll(() => commerce.close())

let sequence = 0
function cart(currency = 'USD'): CartTable {
  const id = `cart_compiled_${++sequence}`
  const now = new Date().toISOString()
  return {
    id,
    currency,
    status: 'open',
    email: null,
    customer_id: null,
    shipping_address: null,
    billing_address: null,
    shipping_option_id: null,
    checkout: null,
    order_id: null,
    version: 0,
    metadata: null,
    created_at: now,
    updated_at: now,
    access_token_hash: null,
  }
}

/** A compiled query that counts how often its query is built. */
function counted<P extends object, R>(build: Parameters<typeof compiledQuery<P, R>>[0]) {
  const counter = { builds: 0 }
  const query = compiledQuery<P, R>((db, $) => {
    counter.builds++
    return build(db, $)
  })
  return Object.assign(counter, { query })
}

describe('compiledQuery', () => {
  it('builds and compiles once per database, then runs with each call’s values', async () => {
    const insert = counted((db, $: CartTable) => db.insertInto('cw_carts').values($))
    const byId = counted((db, $: { id: string }) => db.selectFrom('cw_carts').select(['id', 'currency']).where('id', '=', $.id))
    const a = cart('USD')
    const b = cart('EUR')
    expect(await insert.query.affected(db, a)).toBe(1)
    expect(await insert.query.affected(db, b)).toBe(1)
    expect(await byId.query.first(db, { id: a.id })).toEqual({ id: a.id, currency: 'USD' })
    expect(await byId.query.first(db, { id: b.id })).toEqual({ id: b.id, currency: 'EUR' })
    expect(await byId.query.first(db, { id: 'cart_missing' })).toBeUndefined()
    expect([insert.builds, byId.builds]).toEqual([1, 1])
  })

  it('runs in the transaction it is given, and reuses the compilation of its database', async () => {
    const insert = counted((db, $: CartTable) => db.insertInto('cw_carts').values($))
    const count = compiledQuery((db, $: { id: string }) =>
      db.selectFrom('cw_carts').select((eb) => eb.fn.countAll<number>().as('n')).where('id', '=', $.id),
    )
    const kept = cart()
    const rolledBack = cart()
    await db.transaction().execute((tx) => insert.query.execute(tx, kept))
    await expect(
      db.transaction().execute(async (tx) => {
        await insert.query.execute(tx, rolledBack)
        expect((await count.first(tx, { id: rolledBack.id }))?.n).toBe(1)
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    expect((await count.first(db, { id: kept.id }))?.n).toBe(1)
    expect((await count.first(db, { id: rolledBack.id }))?.n).toBe(0)
    expect(insert.builds).toBe(1)
  })

  it('compiles again for another database', async () => {
    const other = await createCommerce({ storage: sqliteStorage(), outbox: { enabled: false } })
    try {
      const byId = counted((db, $: { id: string }) => db.selectFrom('cw_carts').select('id').where('id', '=', $.id))
      await byId.query.rows(db, { id: 'x' })
      await byId.query.rows(other.db.withoutPlugins(), { id: 'x' })
      await byId.query.rows(db, { id: 'y' })
      await byId.query.rows(other.db.withoutPlugins(), { id: 'y' })
      expect(byId.builds).toBe(2)
    } finally {
      await other.close()
    }
  })

  it('compiles a list parameter once per length, for `in` lists and multi-row inserts', async () => {
    const insert = counted((db, $: { carts: CartTable[] }) => db.insertInto('cw_carts').values($.carts))
    const byIds = counted((db, $: { ids: string[]; currency: string }) =>
      db.selectFrom('cw_carts').select('id').where('id', 'in', $.ids).where('currency', '=', $.currency).orderBy('id'),
    )
    const [a, b, c] = [cart('JPY'), cart('JPY'), cart('JPY')]
    expect(await insert.query.affected(db, { carts: [a!, b!] })).toBe(2)
    expect(await insert.query.affected(db, { carts: [c!] })).toBe(1)
    const ids = async (list: string[]) => (await byIds.query.rows(db, { ids: list, currency: 'JPY' })).map((r) => r.id)
    expect(await ids([a!.id])).toEqual([a!.id])
    expect(await ids([a!.id, c!.id])).toEqual([a!.id, c!.id].sort())
    expect(await ids([b!.id])).toEqual([b!.id])
    expect(await ids([c!.id, b!.id, 'cart_missing'])).toEqual([b!.id, c!.id].sort())
    expect([insert.builds, byIds.builds]).toEqual([2, 3])
  })

  it('refuses a parameter that decides the query’s shape instead of being a value', async () => {
    const shaped = compiledQuery((db, $: { id: string; withCurrency: boolean }) => {
      const query = db.selectFrom('cw_carts').select('id').where('id', '=', $.id)
      // During the build `$.withCurrency` is a placeholder object, always truthy.
      return $.withCurrency ? query.select('currency') : query
    })
    await expect(shaped.rows(db, { id: 'x', withCurrency: false })).rejects.toThrow(
      /parameter withCurrency is not a value in the SQL; a compiled query must not use its parameters to decide its shape/,
    )
  })

  it('refuses an undefined parameter rather than leaving its column out', async () => {
    const setEmail = compiledQuery((db, $: { id: string; email: string | null }) =>
      db.updateTable('cw_carts').set({ email: $.email }).where('id', '=', $.id),
    )
    await expect(setEmail.execute(db, { id: 'x', email: undefined as never })).rejects.toThrow(/parameter email is undefined/)
    await expect(setEmail.execute(db, { id: 'x', email: null })).resolves.toMatchObject({ numAffectedRows: 0n })
  })

  it('builds on every call when the executor has plugins, which expect to see each query', async () => {
    let transformed = 0
    const plugin: KyselyPlugin = {
      transformQuery: ({ node }) => {
        transformed++
        return node
      },
      transformResult: async ({ result }) => result,
    }
    const withPlugin = db.withPlugin(plugin)
    const byId = counted((db, $: { id: string }) => db.selectFrom('cw_carts').select('id').where('id', '=', $.id))
    await byId.query.rows(withPlugin, { id: 'x' })
    await byId.query.rows(withPlugin, { id: 'y' })
    expect(byId.builds).toBe(2)
    expect(transformed).toBe(2)
  })
})
