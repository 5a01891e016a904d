/**
 * Access tokens of carts and orders, apart from their ids: a token opens what it was issued for
 * and nothing else, a rotated token stops working, an order opens by its own token or by its
 * cart's, and no raw token is stored anywhere. Storage-dependent cases run on SQLite and
 * PostgreSQL (GUARDED_STORAGES); the upgrade of a 0.1.0 database runs on SQLite.
 */
import { createHash } from 'node:crypto'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommerce, type Cart, type Commerce, type Order } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { GUARDED_STORAGES, address, checkout, failure, key, openShop, tempDir, type Shop } from '../support/index.js'
import { FIXTURE_V0_1_0, fixtureComposition, readFixture } from '../support/upgrade-checks.js'

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** The secret part of a token: what must never be stored. */
const secretOf = (token: string) => token.slice(token.lastIndexOf('.') + 1)

/** A cart ready to check out, created here so that its token (on `create`'s response only) is kept. */
async function cartWithToken(commerce: Commerce, variantId: string): Promise<{ cart: Cart; token: string }> {
  const created = await commerce.carts.create({ currency: 'USD' })
  await commerce.carts.addItem(created.id, { variantId, quantity: 1 })
  await commerce.carts.update(created.id, { email: 'ada@example.com', shippingAddress: address })
  const cart = await commerce.carts.setShippingOption(created.id, 'flat:standard')
  return { cart, token: created.accessToken! }
}

/** Every row of every table of the database, as text: what a dump or a backup would hold. */
async function everyRowAsText(shop: Shop): Promise<Record<string, string>> {
  const db = shop.commerce.db
  const tables =
    shop.storage === 'postgres'
      ? (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db)).rows
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows
  const out: Record<string, string> = {}
  for (const { name } of tables) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db)
    out[name] = JSON.stringify(rows)
  }
  return out
}

describe.each(GUARDED_STORAGES)('access tokens on %s', (storage) => {
  let shop: Shop
  let commerce: Commerce
  beforeAll(async () => {
    shop = await openShop({ storage, stock: 100 })
    commerce = shop.commerce
  })
  afterAll(async () => {
    await shop?.close()
  })

  describe('carts', () => {
    it('create returns a token that opens the cart; no other response carries it', async () => {
      const created = await commerce.carts.create({ currency: 'USD' })
      expect(created.accessToken).toMatch(/^ct_\S+\.[A-Za-z0-9_-]{43}$/)
      const found = await commerce.carts.findByToken(created.accessToken!)
      expect(found.id).toBe(created.id)
      expect(found).not.toHaveProperty('accessToken')
      expect(await commerce.carts.get(created.id)).not.toHaveProperty('accessToken')
      const changed = await commerce.carts.addItem(created.id, { variantId: shop.variantId, quantity: 1 })
      expect(changed).not.toHaveProperty('accessToken')
      expect(await commerce.carts.verifyToken(created.id, created.accessToken!)).toBe(true)
    })

    it('stores the hash of the token, not the token', async () => {
      const created = await commerce.carts.create({ currency: 'USD' })
      const row = await commerce.db.selectFrom('cw_carts').select('access_token_hash').where('id', '=', created.id).executeTakeFirstOrThrow()
      expect(row.access_token_hash).toBe(sha256(created.accessToken!))
      expect(row.access_token_hash).not.toContain(secretOf(created.accessToken!))
    })

    it('answers NOT_FOUND for a wrong, tampered, missing or malformed token, or another cart\'s secret under this cart\'s id', async () => {
      const mine = await commerce.carts.create({ currency: 'USD' })
      const other = await commerce.carts.create({ currency: 'USD' })
      const token = mine.accessToken!
      const secret = secretOf(token)
      const flipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A')
      const misses: unknown[] = [
        token.slice(0, -secret.length) + flipped, // one character of the secret changed
        `ct_${mine.id}.${secretOf(other.accessToken!)}`, // another cart's secret under this id
        `ct_${other.id}.${secret}`, // this secret under another cart's id
        `ot_${mine.id}.${secret}`, // the kind changed
        mine.id, // the id is not a secret
        '',
        undefined,
        null,
        42,
        `ct_${mine.id}.${secret}${'x'.repeat(10_000)}`,
      ]
      for (const value of misses) {
        const error = await failure(commerce.carts.findByToken(value as string), 'NOT_FOUND', `findByToken(${String(value).slice(0, 40)})`)
        expect(JSON.stringify(error.toJSON())).not.toContain(secret)
        expect(await commerce.carts.verifyToken(mine.id, value as string)).toBe(false)
      }
      // Each token opens its own cart only.
      expect((await commerce.carts.findByToken(other.accessToken!)).id).toBe(other.id)
      expect(await commerce.carts.verifyToken(mine.id, other.accessToken!)).toBe(false)
      expect(await commerce.carts.verifyToken(other.id, token)).toBe(false)
      // A cart that does not exist is not opened by anything.
      expect(await commerce.carts.verifyToken('cart_nothere', token)).toBe(false)
      await failure(commerce.carts.verifyToken('', token), 'VALIDATION')
    })

    it('rotateToken gives a new token and voids the old one, leaving the cart as it was', async () => {
      const created = await commerce.carts.create({ currency: 'USD' })
      const before = await commerce.carts.addItem(created.id, { variantId: shop.variantId, quantity: 2 })
      const rotated = await commerce.carts.rotateToken(created.id)
      expect(rotated.accessToken).toMatch(/^ct_/)
      expect(rotated.accessToken).not.toBe(created.accessToken)
      await failure(commerce.carts.findByToken(created.accessToken!), 'NOT_FOUND')
      expect(await commerce.carts.verifyToken(created.id, created.accessToken!)).toBe(false)
      expect((await commerce.carts.findByToken(rotated.accessToken!)).id).toBe(created.id)
      expect(await commerce.carts.verifyToken(created.id, rotated.accessToken!)).toBe(true)
      const { accessToken: _, ...unchanged } = rotated
      expect(unchanged).toEqual(before)
      await failure(commerce.carts.rotateToken('cart_nothere'), 'NOT_FOUND')
    })
  })

  describe('orders', () => {
    it('the order placed carries its own token, which opens it, as does the cart\'s token', async () => {
      const { cart, token: cartToken } = await cartWithToken(commerce, shop.variantId)
      const order = await checkout(commerce, cart.id)
      expect(order.accessToken).toMatch(/^ot_\S+\.[A-Za-z0-9_-]{43}$/)
      const byOwn = await commerce.orders.findByToken(order.accessToken!)
      expect(byOwn.id).toBe(order.id)
      expect(byOwn).not.toHaveProperty('accessToken')
      const { accessToken: _, ...placed } = order
      expect(byOwn).toEqual(placed)
      expect((await commerce.orders.findByToken(cartToken)).id).toBe(order.id)
      expect(await commerce.orders.verifyToken(order.id, order.accessToken!)).toBe(true)
      expect(await commerce.orders.verifyToken(order.id, cartToken)).toBe(true)
      expect(await commerce.orders.get(order.id)).not.toHaveProperty('accessToken')
      const row = await commerce.db.selectFrom('cw_orders').select('access_token_hash').where('id', '=', order.id).executeTakeFirstOrThrow()
      expect(row.access_token_hash).toBe(sha256(order.accessToken!))
    })

    it('a replayed complete returns the order without a token, and the cart\'s token still opens it', async () => {
      const { cart, token: cartToken } = await cartWithToken(commerce, shop.variantId)
      const idempotencyKey = key()
      const first = await checkout(commerce, cart.id, idempotencyKey)
      // The first response was lost: the caller calls again with the same key.
      const replayed = await checkout(commerce, cart.id, idempotencyKey)
      expect(replayed.id).toBe(first.id)
      expect(replayed).not.toHaveProperty('accessToken')
      expect((await commerce.orders.findByToken(cartToken)).id).toBe(first.id)
      // The token of the lost response still works too.
      expect((await commerce.orders.findByToken(first.accessToken!)).id).toBe(first.id)
    })

    it('answers NOT_FOUND for another order\'s token, a tampered one, or a cart token whose cart has no order', async () => {
      const a = await cartWithToken(commerce, shop.variantId)
      const b = await cartWithToken(commerce, shop.variantId)
      const orderA = await checkout(commerce, a.cart.id)
      const orderB = await checkout(commerce, b.cart.id)
      const open = await commerce.carts.create({ currency: 'USD' })
      const secret = secretOf(orderA.accessToken!)
      const misses: unknown[] = [
        `ot_${orderA.id}.${secretOf(orderB.accessToken!)}`,
        `ot_${orderB.id}.${secret}`,
        `ct_${a.cart.id}.${secret}`, // the order's secret presented as its cart's token
        `ct_${orderA.id}.${secretOf(a.token)}`,
        open.accessToken!, // a cart without an order
        orderA.id,
        '',
        undefined,
      ]
      for (const value of misses) {
        const error = await failure(commerce.orders.findByToken(value as string), 'NOT_FOUND', `orders.findByToken(${String(value).slice(0, 40)})`)
        expect(JSON.stringify(error.toJSON())).not.toContain(secret)
        expect(await commerce.orders.verifyToken(orderA.id, value as string)).toBe(false)
      }
      expect(await commerce.orders.verifyToken(orderA.id, orderB.accessToken!)).toBe(false)
      expect(await commerce.orders.verifyToken(orderA.id, b.token)).toBe(false)
      expect(await commerce.orders.verifyToken(orderB.id, a.token)).toBe(false)
      expect((await commerce.orders.findByToken(orderB.accessToken!)).id).toBe(orderB.id)
    })

    it('issueAccessToken replaces the order\'s token; rotating the cart\'s token stops it opening the order', async () => {
      const { cart, token: cartToken } = await cartWithToken(commerce, shop.variantId)
      const order = await checkout(commerce, cart.id)
      const issued = await commerce.orders.issueAccessToken(order.id)
      expect(issued.id).toBe(order.id)
      expect(issued.accessToken).toMatch(/^ot_/)
      expect(issued.accessToken).not.toBe(order.accessToken)
      await failure(commerce.orders.findByToken(order.accessToken!), 'NOT_FOUND')
      expect(await commerce.orders.verifyToken(order.id, order.accessToken!)).toBe(false)
      expect((await commerce.orders.findByToken(issued.accessToken!)).id).toBe(order.id)
      // The cart's token opens the order until the cart's token is rotated.
      expect((await commerce.orders.findByToken(cartToken)).id).toBe(order.id)
      const rotated = await commerce.carts.rotateToken(cart.id)
      await failure(commerce.orders.findByToken(cartToken), 'NOT_FOUND')
      expect((await commerce.orders.findByToken(rotated.accessToken!)).id).toBe(order.id)
      await failure(commerce.orders.issueAccessToken('order_nothere'), 'NOT_FOUND')
    })

    it('the order.placed event carries no token, in the outbox or to listeners', async () => {
      const heard: unknown[] = []
      const off = commerce.events.on('order.placed', (payload) => void heard.push(payload))
      try {
        const { cart } = await cartWithToken(commerce, shop.variantId)
        const order = await checkout(commerce, cart.id)
        const secret = secretOf(order.accessToken!)
        const stored = await commerce.db.selectFrom('cw_outbox').select('payload').where('type', '=', 'order.placed').execute()
        const mine = stored.filter((e) => e.payload.includes(order.id))
        expect(mine).toHaveLength(1)
        expect(mine[0]!.payload).not.toContain(secret)
        expect(JSON.parse(mine[0]!.payload).order).not.toHaveProperty('accessToken')
        const heardMine = heard.filter((p) => (p as { order: Order }).order.id === order.id)
        expect(heardMine).toHaveLength(1)
        expect(JSON.stringify(heardMine[0])).not.toContain(secret)
      } finally {
        off?.()
      }
    })
  })

  it('no table holds a raw token: every row of every table is scanned', async () => {
    const tokens: string[] = []
    const a = await cartWithToken(commerce, shop.variantId)
    tokens.push(a.token)
    const order = await checkout(commerce, a.cart.id)
    tokens.push(order.accessToken!)
    tokens.push((await commerce.orders.issueAccessToken(order.id)).accessToken!)
    tokens.push((await commerce.carts.rotateToken(a.cart.id)).accessToken!)
    const b = await cartWithToken(commerce, shop.variantId)
    tokens.push(b.token, (await commerce.carts.rotateToken(b.cart.id)).accessToken!)
    // b's checkout snapshot (cw_carts.checkout) is written when it is claimed.
    await checkout(commerce, b.cart.id)
    expect(new Set(tokens).size).toBe(tokens.length)

    const rows = await everyRowAsText(shop)
    expect(Object.keys(rows)).toEqual(expect.arrayContaining(['cw_carts', 'cw_orders', 'cw_outbox', 'cw_payments']))
    for (const [table, text] of Object.entries(rows)) {
      for (const token of tokens) expect(text.includes(secretOf(token)), `${table} holds a token's secret`).toBe(false)
    }
    // What is stored is each current token's hash.
    expect(rows['cw_carts']).toContain(sha256(tokens[3]!))
    expect(rows['cw_orders']).toContain(sha256(tokens[2]!))
  })
})

describe('a database written by 0.1.0, migrated', () => {
  const fx = readFixture(FIXTURE_V0_1_0)
  let commerce: Commerce
  let dir: ReturnType<typeof tempDir>
  beforeAll(async () => {
    dir = tempDir()
    const filename = join(dir.dir, 'shop.db')
    copyFileSync(FIXTURE_V0_1_0, filename)
    commerce = await createCommerce({ storage: sqliteStorage({ filename }), ...fixtureComposition() })
  })
  afterAll(async () => {
    await commerce?.close()
    dir?.remove()
  })

  it('keeps its carts and orders usable by id; they have no token until one is issued', async () => {
    const openCart = fx['cw_carts']!.find((c) => c.status === 'open')!
    const ordered = fx['cw_carts']!.find((c) => c.order_id !== null)!
    const placed = fx['cw_orders']!.find((o) => o.id === ordered.order_id)!
    const rows = await commerce.db.selectFrom('cw_carts').select('access_token_hash').execute()
    expect(rows.length).toBe(fx['cw_carts']!.length)
    expect(rows.every((r) => r.access_token_hash === null)).toBe(true)
    expect((await commerce.carts.get(openCart.id)).id).toBe(openCart.id)
    expect((await commerce.orders.get(placed.id)).id).toBe(placed.id)

    // A row without a token is opened by nothing, whatever is presented under its id.
    const guess = `ct_${openCart.id}.${'A'.repeat(43)}`
    await failure(commerce.carts.findByToken(guess), 'NOT_FOUND')
    expect(await commerce.carts.verifyToken(openCart.id, guess)).toBe(false)
    await failure(commerce.orders.findByToken(`ot_${placed.id}.${'A'.repeat(43)}`), 'NOT_FOUND')
    await failure(commerce.orders.findByToken(`ct_${ordered.id}.${'A'.repeat(43)}`), 'NOT_FOUND')

    const rotated = await commerce.carts.rotateToken(openCart.id)
    expect((await commerce.carts.findByToken(rotated.accessToken!)).id).toBe(openCart.id)
    const cartOfOrder = await commerce.carts.rotateToken(ordered.id)
    expect((await commerce.orders.findByToken(cartOfOrder.accessToken!)).id).toBe(placed.id)
    const issued = await commerce.orders.issueAccessToken(placed.id)
    expect((await commerce.orders.findByToken(issued.accessToken!)).id).toBe(placed.id)
  })
})
