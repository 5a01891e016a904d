import assert from 'node:assert/strict'
import { noTax } from '@cartwright/core'
import { rejectsWith } from '../check.js'
import { int, text } from '../raw.js'
import { checkout, readyCart, seedVariant } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'

const MAX = Number.MAX_SAFE_INTEGER // 2^53 − 1

const ORDER_MONEY = ['subtotal', 'discount_total', 'shipping_total', 'tax_total', 'total'] as const
const PAYMENT_MONEY = ['amount', 'authorized_amount', 'captured_amount', 'refunded_amount'] as const
const LINE_MONEY = ['unit_price', 'subtotal', 'discount_total', 'tax_total', 'total'] as const

/** Each value must be a JS number (not a bigint, not a decimal string) equal to the expected one. */
function numbers(row: Record<string, unknown>, expected: Record<string, number>, label: string): void {
  for (const [column, value] of Object.entries(expected)) {
    assert.equal(typeof row[column], 'number', `${label}.${column} must come back as a JS number through the adapter, got ${typeof row[column]} ${String(row[column])}`)
    assert.equal(row[column], value, `${label}.${column}`)
  }
}

export const moneyCases: StorageGroup = {
  group: 'money',
  cases: [
    {
      name: 'prices up to 2^53 − 1 round-trip exactly through the engine, the adapter and the backdoor',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId } = await seedVariant(commerce, { amount: MAX })
        const amounts = [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 52 + 1, MAX - 1, MAX]
        const variant = await commerce.catalog.setPrices(
          variantId,
          amounts.map((amount, i) => ({ currency: 'USD', amount, minQuantity: i + 1 })),
        )
        // First through the adapter: a driver returning bigint or text would break core's money code later, less clearly.
        const viaAdapter = await commerce.db.selectFrom('cw_prices').select(['amount', 'min_quantity']).where('variant_id', '=', variantId).orderBy('min_quantity').execute()
        viaAdapter.forEach((row, i) => numbers(row, { amount: amounts[i]!, min_quantity: i + 1 }, 'cw_prices'))
        const raw = await t.raw.rows('select amount from cw_prices where variant_id = ? order by min_quantity', [variantId])
        assert.deepEqual(
          raw.map((r) => int(r['amount'])),
          amounts.map(BigInt),
        )
        assert.deepEqual(
          variant.prices.map((p) => p.amount),
          amounts,
        )
        assert.equal((await commerce.catalog.getVariant(variantId))!.prices.at(-1)!.amount, MAX)
        // Stored as an integer, so it compares as one in SQL.
        assert.equal(await t.raw.count('cw_prices where variant_id = ? and amount = ?', [variantId, MAX]), 1)
        assert.equal(await t.raw.count('cw_prices where variant_id = ? and amount > ?', [variantId, MAX - 1]), 1)
      },
    },
    {
      name: 'an order totalling 2^53 − 1 is stored exactly in every money column, through capture and refunds',
      async run(t) {
        const { commerce } = await t.engine({ tax: noTax() })
        const { variantId } = await seedVariant(commerce, { amount: MAX, stock: 1 })
        const cart = await readyCart(commerce, [[variantId, 1]], { shipping: 'flat:pickup' })
        const order = await checkout(commerce, cart.id)
        assert.equal(order.totals.total, MAX)

        const o = await t.raw.one('select * from cw_orders where id = ?', [order.id])
        assert.deepEqual(
          ORDER_MONEY.map((c) => int(o[c])),
          [MAX, 0, 0, 0, MAX].map(BigInt),
        )
        const line = await t.raw.one('select * from cw_order_lines where order_id = ?', [order.id])
        assert.deepEqual(
          LINE_MONEY.map((c) => int(line[c])),
          [MAX, MAX, 0, 0, MAX].map(BigInt),
        )

        await commerce.orders.capturePayment(order.id)
        await commerce.orders.refund(order.id, { amount: MAX - 1 })
        // Exceeding the captured amount by one must be caught by exact SQL arithmetic.
        await rejectsWith(commerce.orders.refund(order.id, { amount: 2 }), 'VALIDATION')
        let pay = await t.raw.one('select * from cw_payments where order_id = ?', [order.id])
        assert.deepEqual(
          PAYMENT_MONEY.map((c) => int(pay[c])),
          [MAX, MAX, MAX, MAX - 1].map(BigInt),
        )
        assert.equal(text(pay['status']), 'partially_refunded')
        const final = await commerce.orders.refund(order.id, { amount: 1 })
        pay = await t.raw.one('select * from cw_payments where order_id = ?', [order.id])
        assert.equal(int(pay['refunded_amount']), BigInt(MAX))
        assert.equal(text(pay['status']), 'refunded')
        assert.equal(final.payments[0]!.refundedAmount, MAX)

        numbers(await commerce.db.selectFrom('cw_orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow(), { subtotal: MAX, discount_total: 0, shipping_total: 0, tax_total: 0, total: MAX }, 'cw_orders')
        numbers(
          await commerce.db.selectFrom('cw_payments').selectAll().where('order_id', '=', order.id).executeTakeFirstOrThrow(),
          { amount: MAX, authorized_amount: MAX, captured_amount: MAX, refunded_amount: MAX },
          'cw_payments',
        )
        numbers(
          await commerce.db.selectFrom('cw_order_lines').selectAll().where('order_id', '=', order.id).executeTakeFirstOrThrow(),
          { unit_price: MAX, subtotal: MAX, discount_total: 0, tax_total: 0, total: MAX, quantity: 1, position: 0 },
          'cw_order_lines',
        )
      },
    },
    {
      name: 'zero amounts are stored as 0, not NULL, and every money and count column comes back as a JS number',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId } = await seedVariant(commerce, { amount: 0, stock: 2 })
        const cart = await readyCart(commerce, [[variantId, 2]], { shipping: 'flat:pickup' })
        const order = await checkout(commerce, cart.id)
        assert.equal(order.totals.total, 0)
        const o = await t.raw.one('select * from cw_orders where id = ?', [order.id])
        for (const c of ORDER_MONEY) assert.equal(int(o[c]), 0n, `cw_orders.${c}`)
        numbers(await commerce.db.selectFrom('cw_orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow(), { subtotal: 0, discount_total: 0, shipping_total: 0, tax_total: 0, total: 0, number: order.number }, 'cw_orders')
        numbers(
          await commerce.db.selectFrom('cw_payments').selectAll().where('order_id', '=', order.id).executeTakeFirstOrThrow(),
          { amount: 0, authorized_amount: 0, captured_amount: 0, refunded_amount: 0 },
          'cw_payments',
        )
        numbers(await commerce.db.selectFrom('cw_inventory_levels').selectAll().where('variant_id', '=', variantId).executeTakeFirstOrThrow(), { on_hand: 2, reserved: 2 }, 'cw_inventory_levels')
        numbers(await commerce.db.selectFrom('cw_carts').selectAll().where('id', '=', cart.id).executeTakeFirstOrThrow(), { version: 3 }, 'cw_carts')
        if (!t.adapter.capabilities.sequences) {
          numbers(await commerce.db.selectFrom('cw_counters').selectAll().where('name', '=', 'order_number').executeTakeFirstOrThrow(), { value: order.number }, 'cw_counters')
        }
      },
    },
  ],
}
