import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// The PostgreSQL harness is the adapter's own: a fresh database on the server the globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../../packages/storage-postgres/test/support/fresh-database.js'
import { createApp } from '../src/app.js'
import { createShop, type ShopCommerce } from '../src/shop.js'
import { COUPON_CODE, COUPON_PERCENT, TRAIL_RUNNER_PRICE, seed } from '../src/seed.js'
import { browserless, h1, inputValue } from './support.js'

const skip = process.env.CARTWRIGHT_SKIP_POSTGRES === '1'

describe.skipIf(skip)('the same store on PostgreSQL (DATABASE_URL), no code change', () => {
  let database: FreshDatabase
  let commerce: ShopCommerce
  const saved = process.env.DATABASE_URL

  beforeAll(async () => {
    database = await freshDatabase()
    process.env.DATABASE_URL = database.url
    commerce = (await createShop()).commerce
    await seed(commerce, () => undefined)
  })
  afterAll(async () => {
    if (saved === undefined) delete process.env.DATABASE_URL
    else process.env.DATABASE_URL = saved
    await commerce?.close()
    await database?.drop()
  })

  it('runs on PostgreSQL and sells a Trail Runner, red, 43, with the coupon', async () => {
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(commerce.db)
    expect(rows[0]!.name).toBe(database.name)
    const shopper = browserless(createApp(commerce))
    const variant = (await commerce.catalog.getProduct('trail-runner')).variants.find((v) => v.options.Colour === 'Red' && v.options.Size === '43')!
    const before = await commerce.inventory.available(variant.id)
    expect(h1(await (await shopper.get('/')).text())).toBe('Cartwright Shoes')
    await shopper.post('/cart/lines', { variantId: variant.id, quantity: '1', handle: 'trail-runner', colour: 'red' })
    await shopper.post('/cart/code', { code: COUPON_CODE })
    await shopper.post('/checkout', { email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', line1: 'Torstraße 12', city: 'Berlin', postalCode: '10119', country: 'DE' })
    const step = await (await shopper.get('/checkout/shipping')).text()
    const placed = await shopper.post('/checkout/place', { shipping: /name="shipping" value="([^"]+)"/.exec(step)![1]!, outcome: 'approve', attempt: inputValue(step, 'attempt') })
    const order = await commerce.orders.get(/\/orders\/([^?]+)/.exec(placed.headers.get('location')!)![1]!)
    expect(order.totals.discountTotal).toBe(Math.round((TRAIL_RUNNER_PRICE * COUPON_PERCENT) / 100))
    expect(await commerce.inventory.available(variant.id)).toBe(before - 1)
  })
})
