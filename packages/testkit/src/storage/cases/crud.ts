import assert from 'node:assert/strict'
import { rejectsWith } from '../check.js'
import { int, json, num, numOrNull, text, textOrNull, ts, tsOrNull } from '../raw.js'
import { ADDRESS, checkout, key, probe, readyCart, seedVariant } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'

export const crudCases: StorageGroup = {
  group: 'crud',
  cases: [
    {
      name: 'createProduct persists the product, its variants and their price tiers, column by column',
      async run(t) {
        const { commerce } = await t.engine()
        const created = t.clock.iso()
        const product = await commerce.catalog.createProduct({
          title: 'Trail Runner',
          handle: 'trail-runner',
          description: 'A light shoe.',
          options: [{ name: 'Size', values: ['42', '43', '44'] }],
          variants: [
            {
              sku: 'TR-42',
              options: { Size: '42' },
              weightGrams: 600,
              prices: [
                { currency: 'USD', amount: 12900 },
                { currency: 'USD', amount: 11900, minQuantity: 5 },
                { currency: 'EUR', amount: 11500 },
              ],
            },
            { sku: 'TR-43', title: 'Size 43', options: { Size: '43' }, manageInventory: false },
          ],
          metadata: { season: 'ss30', featured: true, rank: 3 },
        })
        const p = await t.raw.one('select * from cw_products where id = ?', [product.id])
        assert.equal(text(p['handle']), 'trail-runner')
        assert.equal(text(p['title']), 'Trail Runner')
        assert.equal(textOrNull(p['description']), 'A light shoe.')
        assert.equal(text(p['status']), 'active')
        assert.deepEqual(json(p['options']), [{ name: 'Size', values: ['42', '43', '44'] }])
        assert.deepEqual(json(p['metadata']), { season: 'ss30', featured: true, rank: 3 })
        assert.equal(ts(p['created_at']), created)
        assert.equal(ts(p['updated_at']), created)

        const variants = await t.raw.rows('select * from cw_variants where product_id = ? order by position', [product.id])
        assert.equal(variants.length, 2)
        const [v0, v1] = variants as [Record<string, unknown>, Record<string, unknown>]
        assert.equal(text(v0['id']), product.variants[0]!.id)
        assert.equal(text(v0['sku']), 'TR-42')
        assert.equal(text(v0['title']), '42')
        assert.deepEqual(json(v0['options']), { Size: '42' })
        assert.equal(numOrNull(v0['weight_grams']), 600)
        assert.equal(num(v0['manage_inventory']), 1)
        assert.equal(num(v0['position']), 0)
        assert.equal(ts(v0['created_at']), created)
        assert.equal(text(v1['title']), 'Size 43')
        assert.equal(numOrNull(v1['weight_grams']), null)
        assert.equal(num(v1['manage_inventory']), 0)
        assert.equal(num(v1['position']), 1)

        const prices = await t.raw.rows('select variant_id, currency, amount, min_quantity from cw_prices where variant_id = ? order by currency, min_quantity', [
          text(v0['id']),
        ])
        assert.deepEqual(
          prices.map((r) => [text(r['currency']), int(r['amount']), num(r['min_quantity'])]),
          [
            ['EUR', 11500n, 1],
            ['USD', 12900n, 1],
            ['USD', 11900n, 5],
          ],
        )
        assert.equal(await t.raw.count('cw_prices where variant_id = ?', [text(v1['id'])]), 0)
        assert.deepEqual(await commerce.catalog.getProduct('trail-runner'), product)
        assert.deepEqual(await commerce.catalog.getVariantBySku('TR-43'), product.variants[1])
      },
    },
    {
      name: 'updateProduct, updateVariant, addVariants and setPrices change exactly what they were given',
      async run(t) {
        const { commerce } = await t.engine()
        const created = t.clock.iso()
        const product = await commerce.catalog.createProduct({
          title: 'Tee',
          handle: 'tee',
          description: 'Cotton',
          options: [{ name: 'Size', values: ['S', 'M', 'L'] }],
          variants: [{ sku: 'TEE-S', options: { Size: 'S' }, prices: [{ currency: 'USD', amount: 2000 }, { currency: 'USD', amount: 1800, minQuantity: 3 }] }],
          metadata: { a: 1 },
        })
        const variantId = product.variants[0]!.id
        const oldPriceIds = (await t.raw.rows('select id from cw_prices where variant_id = ?', [variantId])).map((r) => text(r['id']))
        assert.equal(oldPriceIds.length, 2)

        const updated = t.clock.advance(60_000)
        await commerce.catalog.updateProduct(product.id, { title: 'Tee II', status: 'archived', description: null, metadata: { b: 'two' } })
        const p = await t.raw.one('select * from cw_products where id = ?', [product.id])
        assert.equal(text(p['title']), 'Tee II')
        assert.equal(text(p['status']), 'archived')
        assert.equal(textOrNull(p['description']), null)
        assert.deepEqual(json(p['metadata']), { b: 'two' })
        assert.equal(text(p['handle']), 'tee')
        assert.equal(ts(p['created_at']), created)
        assert.equal(ts(p['updated_at']), updated)

        await commerce.catalog.updateVariant(variantId, { title: 'Small', weightGrams: 180, manageInventory: false })
        const v = await t.raw.one('select * from cw_variants where id = ?', [variantId])
        assert.equal(text(v['title']), 'Small')
        assert.equal(numOrNull(v['weight_grams']), 180)
        assert.equal(num(v['manage_inventory']), 0)
        assert.equal(text(v['sku']), 'TEE-S')
        assert.equal(ts(v['updated_at']), updated)

        await commerce.catalog.addVariants(product.id, [
          { sku: 'TEE-M', options: { Size: 'M' }, prices: [{ currency: 'USD', amount: 2100 }] },
          { sku: 'TEE-L', options: { Size: 'L' } },
        ])
        const added = await t.raw.rows('select sku, position from cw_variants where product_id = ? order by position', [product.id])
        assert.deepEqual(
          added.map((r) => [text(r['sku']), num(r['position'])]),
          [
            ['TEE-S', 0],
            ['TEE-M', 1],
            ['TEE-L', 2],
          ],
        )

        await commerce.catalog.setPrices(variantId, [{ currency: 'USD', amount: 1500 }, { currency: 'EUR', amount: 1400 }])
        const prices = await t.raw.rows('select id, currency, amount, min_quantity from cw_prices where variant_id = ? order by currency', [variantId])
        assert.deepEqual(
          prices.map((r) => [text(r['currency']), int(r['amount']), num(r['min_quantity'])]),
          [
            ['EUR', 1400n, 1],
            ['USD', 1500n, 1],
          ],
        )
        for (const id of oldPriceIds) assert.equal(await t.raw.count('cw_prices where id = ?', [id]), 0, `old price ${id} should be gone`)
        await commerce.catalog.setPrices(variantId, [])
        assert.equal(await t.raw.count('cw_prices where variant_id = ?', [variantId]), 0)
      },
    },
    {
      name: 'stock locations persist name, code and priority; a duplicate code is CONFLICT and writes nothing',
      async run(t) {
        const { commerce } = await t.engine()
        const main = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main', priority: 2 })
        const overflow = await commerce.inventory.createLocation({ name: 'Overflow' })
        const row = await t.raw.one('select * from cw_stock_locations where id = ?', [main.id])
        assert.equal(text(row['name']), 'Main warehouse')
        assert.equal(text(row['code']), 'main')
        assert.equal(num(row['priority']), 2)
        assert.equal(ts(row['created_at']), t.clock.iso())
        assert.equal(text((await t.raw.one('select code from cw_stock_locations where id = ?', [overflow.id]))['code']), overflow.code)

        await rejectsWith(commerce.inventory.createLocation({ name: 'Another', code: 'main' }), 'CONFLICT')
        assert.equal(await t.raw.count('cw_stock_locations'), 2)
        assert.deepEqual(
          (await commerce.inventory.listLocations()).map((l) => l.id),
          [overflow.id, main.id],
        )
      },
    },
    {
      name: 'inventory levels: one row per variant and location; setStock and adjust move on_hand',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId, locationId } = await seedVariant(commerce)
        const second = await commerce.inventory.createLocation({ name: 'Shop floor', code: 'floor', priority: 1 })
        await commerce.inventory.setStock({ variantId, locationId, onHand: 10, lowStockThreshold: 2 })
        await commerce.inventory.setStock({ variantId, locationId: second.id, onHand: 4 })
        t.clock.advance(1000)
        await commerce.inventory.adjust({ variantId, locationId, delta: -3 })
        await commerce.inventory.setStock({ variantId, locationId: second.id, onHand: 6 })

        const rows = await t.raw.rows(
          'select location_id, on_hand, reserved, low_stock_threshold, updated_at from cw_inventory_levels where variant_id = ? order by on_hand',
          [variantId],
        )
        assert.deepEqual(
          rows.map((r) => [text(r['location_id']), num(r['on_hand']), num(r['reserved']), numOrNull(r['low_stock_threshold']), ts(r['updated_at'])]),
          [
            [second.id, 6, 0, null, t.clock.iso()],
            [locationId, 7, 0, 2, t.clock.iso()],
          ],
        )
        assert.equal(await commerce.inventory.available(variantId), 13)
      },
    },
    {
      name: 'carts and lines: create, addItem, updateItem and removeItem persist the cart row and its lines',
      async run(t) {
        const { commerce } = await t.engine()
        const a = await seedVariant(commerce, { stock: 50 })
        const b = await seedVariant(commerce, { stock: 50 })
        const created = t.clock.iso()
        const cart = await commerce.carts.create({ currency: 'usd', email: 'ada@example.com', metadata: { channel: 'web' } })
        let row = await t.raw.one('select * from cw_carts where id = ?', [cart.id])
        assert.equal(text(row['currency']), 'USD')
        assert.equal(text(row['status']), 'open')
        assert.equal(textOrNull(row['email']), 'ada@example.com')
        assert.equal(textOrNull(row['customer_id']), null)
        assert.equal(textOrNull(row['order_id']), null)
        assert.equal(textOrNull(row['checkout']), null)
        assert.deepEqual(json(row['metadata']), { channel: 'web' })
        assert.equal(num(row['version']), 0)
        assert.equal(ts(row['created_at']), created)

        t.clock.advance(1)
        await commerce.carts.addItem(cart.id, { variantId: a.variantId, quantity: 2 })
        await commerce.carts.addItem(cart.id, { variantId: a.variantId, quantity: 3 })
        t.clock.advance(1)
        const withB = await commerce.carts.addItem(cart.id, { variantId: b.variantId, quantity: 1 })
        let lines = await t.raw.rows('select id, variant_id, quantity from cw_cart_lines where cart_id = ? order by created_at, id', [cart.id])
        assert.deepEqual(
          lines.map((r) => [text(r['variant_id']), num(r['quantity'])]),
          [
            [a.variantId, 5],
            [b.variantId, 1],
          ],
        )
        assert.deepEqual(
          withB.lines.map((l) => l.id),
          lines.map((r) => text(r['id'])),
        )
        assert.deepEqual(await commerce.carts.get(cart.id), withB, 'addItem returns the cart as stored')

        const lineA = text(lines[0]!['id'])
        const lineB = text(lines[1]!['id'])
        await commerce.carts.updateItem(cart.id, lineA, { quantity: 1 })
        await commerce.carts.removeItem(cart.id, lineB)
        lines = await t.raw.rows('select id, quantity from cw_cart_lines where cart_id = ?', [cart.id])
        assert.deepEqual(
          lines.map((r) => [text(r['id']), num(r['quantity'])]),
          [[lineA, 1]],
        )
        row = await t.raw.one('select version, updated_at, created_at from cw_carts where id = ?', [cart.id])
        assert.equal(num(row['version']), 5)
        assert.equal(ts(row['updated_at']), t.clock.iso())
        assert.equal(ts(row['created_at']), created)
      },
    },
    {
      name: 'carts: email, addresses and the shipping option are stored on the cart row',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 5 })
        const cart = await commerce.carts.create({ currency: 'USD' })
        await commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
        const billing = { line1: '2 Engine Row', city: 'Paris', country: 'fr' }
        const updated = await commerce.carts.update(cart.id, { email: 'grace@example.com', shippingAddress: ADDRESS, billingAddress: billing })
        assert.deepEqual(await commerce.carts.get(cart.id), updated, 'update returns the cart as stored')
        const chosen = await commerce.carts.setShippingOption(cart.id, 'flat:standard')
        assert.deepEqual(await commerce.carts.get(cart.id), chosen, 'setShippingOption returns the cart as stored')
        let row = await t.raw.one('select * from cw_carts where id = ?', [cart.id])
        assert.equal(textOrNull(row['email']), 'grace@example.com')
        assert.deepEqual(json(row['shipping_address']), ADDRESS)
        assert.deepEqual(json(row['billing_address']), { ...billing, country: 'FR' })
        assert.equal(textOrNull(row['shipping_option_id']), 'flat:standard')

        await commerce.carts.update(cart.id, { billingAddress: null, email: null })
        row = await t.raw.one('select email, billing_address, shipping_address from cw_carts where id = ?', [cart.id])
        assert.equal(row['email'], null)
        assert.equal(row['billing_address'], null)
        assert.deepEqual(json(row['shipping_address']), ADDRESS)
      },
    },
    {
      name: 'checkout persists the payment, the order, its lines and the reservations',
      async run(t) {
        const { commerce } = await t.engine()
        const { product, variantId, locationId } = await seedVariant(commerce, { title: 'Enamel Mug', amount: 12900, stock: 10 })
        const cart = await readyCart(commerce, [[variantId, 2]])
        const idempotencyKey = key()
        const placed = t.clock.advance(5)
        const order = await checkout(commerce, cart.id, idempotencyKey)
        // 2 × 129.00 + 5.00 shipping; 8 % tax on both: 20.64 + 0.40.
        const expected = { subtotal: 25800, discount: 0, shipping: 500, tax: 2104, total: 28404 }

        const pay = await t.raw.one('select * from cw_payments where cart_id = ?', [cart.id])
        assert.equal(text(pay['id']), order.payments[0]!.id)
        assert.equal(textOrNull(pay['order_id']), order.id)
        assert.equal(text(pay['provider']), 'test')
        assert.equal(text(pay['idempotency_key']), idempotencyKey)
        assert.equal(text(pay['status']), 'authorized')
        assert.equal(text(pay['currency']), 'USD')
        assert.equal(int(pay['amount']), BigInt(expected.total))
        assert.equal(int(pay['authorized_amount']), BigInt(expected.total))
        assert.equal(int(pay['captured_amount']), 0n)
        assert.equal(int(pay['refunded_amount']), 0n)
        assert.equal(textOrNull(pay['reference']), order.payments[0]!.reference)
        assert.ok(textOrNull(pay['reference']), 'the gateway reference is stored')
        assert.equal(tsOrNull(pay['lease_until']), null)
        assert.equal(textOrNull(pay['failure']), null)
        assert.equal(ts(pay['created_at']), placed)

        const o = await t.raw.one('select * from cw_orders where cart_id = ?', [cart.id])
        assert.equal(text(o['id']), order.id)
        assert.equal(num(o['number']), order.number)
        assert.equal(text(o['currency']), 'USD')
        assert.equal(text(o['status']), 'placed')
        assert.equal(text(o['payment_status']), 'authorized')
        assert.equal(text(o['fulfillment_status']), 'unfulfilled')
        assert.equal(text(o['email']), 'ada@example.com')
        assert.equal(textOrNull(o['customer_id']), null)
        assert.deepEqual(json(o['shipping_address']), ADDRESS)
        assert.deepEqual(json(o['billing_address']), ADDRESS)
        assert.deepEqual(json(o['shipping_method']), { id: 'flat:standard', provider: 'flat', name: 'Standard', amount: 500 })
        assert.deepEqual(
          [int(o['subtotal']), int(o['discount_total']), int(o['shipping_total']), int(o['tax_total']), int(o['total'])],
          [expected.subtotal, expected.discount, expected.shipping, expected.tax, expected.total].map(BigInt),
        )
        assert.equal(ts(o['created_at']), placed)
        assert.equal(tsOrNull(o['canceled_at']), null)

        const line = await t.raw.one('select * from cw_order_lines where order_id = ?', [order.id])
        assert.equal(text(line['id']), order.lines[0]!.id)
        assert.equal(text(line['variant_id']), variantId)
        assert.equal(text(line['product_id']), product.id)
        assert.equal(text(line['sku']), product.variants[0]!.sku)
        assert.equal(text(line['title']), 'Enamel Mug')
        assert.equal(text(line['variant_title']), 'Default')
        assert.equal(num(line['quantity']), 2)
        assert.deepEqual(
          [int(line['unit_price']), int(line['subtotal']), int(line['discount_total']), int(line['tax_total']), int(line['total'])],
          [12900n, 25800n, 0n, 2064n, 27864n],
        )
        assert.equal(num(line['position']), 0)

        const res = await t.raw.one('select * from cw_reservations where cart_id = ?', [cart.id])
        assert.equal(text(res['status']), 'held')
        assert.equal(num(res['quantity']), 2)
        assert.equal(text(res['variant_id']), variantId)
        assert.equal(text(res['location_id']), locationId)
        assert.equal(textOrNull(res['order_id']), order.id)
        const level = await t.raw.one('select id, on_hand, reserved from cw_inventory_levels where variant_id = ?', [variantId])
        assert.equal(text(res['level_id']), text(level['id']))
        assert.deepEqual([num(level['on_hand']), num(level['reserved'])], [10, 2])

        const c = await t.raw.one('select status, order_id from cw_carts where id = ?', [cart.id])
        assert.equal(text(c['status']), 'completed')
        assert.equal(textOrNull(c['order_id']), order.id)
        // All of it but its access token, which only checkout's response carries.
        const { accessToken: _, ...stored } = order
        assert.deepEqual(await commerce.orders.get(order.id), stored)
      },
    },
    {
      name: 'orders: capture, refund, fulfill and cancel persist payment amounts, statuses and stock',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId } = await seedVariant(commerce, { amount: 1000, stock: 10 })
        const first = await checkout(commerce, (await readyCart(commerce, [[variantId, 1]])).id)
        const second = await checkout(commerce, (await readyCart(commerce, [[variantId, 2]])).id)

        await commerce.orders.capturePayment(first.id)
        let pay = await t.raw.one('select status, captured_amount, refunded_amount from cw_payments where order_id = ?', [first.id])
        assert.deepEqual([text(pay['status']), int(pay['captured_amount'])], ['captured', BigInt(first.totals.total)])
        assert.equal(text((await t.raw.one('select payment_status from cw_orders where id = ?', [first.id]))['payment_status']), 'captured')

        await commerce.orders.refund(first.id, { amount: 100 })
        pay = await t.raw.one('select status, captured_amount, refunded_amount from cw_payments where order_id = ?', [first.id])
        assert.deepEqual([text(pay['status']), int(pay['refunded_amount'])], ['partially_refunded', 100n])

        await commerce.orders.fulfill(first.id)
        assert.equal(text((await t.raw.one('select fulfillment_status from cw_orders where id = ?', [first.id]))['fulfillment_status']), 'fulfilled')
        assert.equal(text((await t.raw.one('select status from cw_reservations where order_id = ?', [first.id]))['status']), 'committed')
        let level = await t.raw.one('select on_hand, reserved from cw_inventory_levels where variant_id = ?', [variantId])
        assert.deepEqual([num(level['on_hand']), num(level['reserved'])], [9, 2])

        const canceledAt = t.clock.advance(1000)
        await commerce.orders.cancel(second.id, { reason: 'changed mind' })
        const o = await t.raw.one('select status, payment_status, canceled_at from cw_orders where id = ?', [second.id])
        assert.deepEqual([text(o['status']), text(o['payment_status']), tsOrNull(o['canceled_at'])], ['canceled', 'voided', canceledAt])
        assert.equal(text((await t.raw.one('select status from cw_payments where order_id = ?', [second.id]))['status']), 'voided')
        assert.equal(text((await t.raw.one('select status from cw_reservations where order_id = ?', [second.id]))['status']), 'released')
        level = await t.raw.one('select on_hand, reserved from cw_inventory_levels where variant_id = ?', [variantId])
        assert.deepEqual([num(level['on_hand']), num(level['reserved'])], [9, 0])
      },
    },
    {
      name: 'outbox: each change writes its events, and one pending delivery per interested subscriber, in its transaction',
      async run(t) {
        const orders = probe('orders', ['product.created', 'order.placed'])
        const audit = probe('audit', '*')
        const { commerce } = await t.engine({ subscribers: [orders.subscriber, audit.subscriber] })
        const { product, variantId } = await seedVariant(commerce, { stock: 5 })

        const created = await t.raw.one("select * from cw_outbox where type = 'product.created'")
        assert.deepEqual(json(created['payload']), { productId: product.id, handle: product.handle })
        assert.equal(ts(created['created_at']), t.clock.iso())
        const deliveries = await t.raw.rows('select * from cw_outbox_deliveries where event_id = ? order by subscriber', [text(created['id'])])
        assert.deepEqual(
          deliveries.map((d) => [text(d['subscriber']), text(d['status']), num(d['attempts']), ts(d['next_attempt_at']), tsOrNull(d['locked_until']), tsOrNull(d['delivered_at']), textOrNull(d['last_error'])]),
          [
            ['audit', 'pending', 0, t.clock.iso(), null, null, null],
            ['orders', 'pending', 0, t.clock.iso(), null, null, null],
          ],
        )

        const cart = await readyCart(commerce, [[variantId, 1]])
        const cartEvent = await t.raw.one("select id from cw_outbox where type = 'cart.created'")
        assert.deepEqual(
          (await t.raw.rows('select subscriber from cw_outbox_deliveries where event_id = ?', [text(cartEvent['id'])])).map((r) => text(r['subscriber'])),
          ['audit'],
        )
        const order = await checkout(commerce, cart.id)
        const placed = await t.raw.one("select * from cw_outbox where type = 'order.placed'")
        const payload = json(placed['payload']) as { order: { id: string; totals: { total: number }; lines: unknown[] } }
        assert.equal(payload.order.id, order.id)
        assert.equal(payload.order.totals.total, order.totals.total)
        assert.equal(payload.order.lines.length, 1)
        assert.equal(await t.raw.count('cw_outbox_deliveries where event_id = ?', [text(placed['id'])]), 2)

        const events = await t.raw.count('cw_outbox')
        const total = await t.raw.count('cw_outbox_deliveries')
        assert.equal(total, events + 2, 'audit gets every event, orders gets two')
        await commerce.outbox.drain()
        assert.equal(await t.raw.count("cw_outbox_deliveries where status = 'delivered'"), total)
        assert.equal(audit.calls.length, events)
        assert.deepEqual(orders.calls.map((c) => c.type).sort(), ['order.placed', 'product.created'])
        assert.equal((await commerce.outbox.list({ status: 'delivered', limit: 1000 })).length, total)
      },
    },
  ],
}

