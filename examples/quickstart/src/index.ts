import { randomUUID } from 'node:crypto'
import { createCommerce, fixedRateTax, flatRateShipping, formatAmount, testPayments } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { seed } from './seed.js'

// An engine on SQLite: no server to run. Use a file name to keep the shop between runs.
const commerce = await createCommerce({
  storage: sqliteStorage({ filename: process.env.QUICKSTART_DB ?? ':memory:' }),
  payments: [testPayments()],
  shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard (3–5 days)', amounts: { USD: 500 } }] })],
  tax: fixedRateTax({ rate: '8.25' }),
})
commerce.events.on('order.placed', ({ order }) => console.log(`event: order.placed #${order.number}`))

const { shoe } = await seed(commerce)
const variant = shoe.variants.find((v) => v.options.Size === '42' && v.options.Color === 'Blue')!

// The shopper's side: a cart, a pair of shoes, an address, a shipping option.
let cart = await commerce.carts.create({ currency: 'USD' })
cart = await commerce.carts.addItem(cart.id, { variantId: variant.id, quantity: 1 })
cart = await commerce.carts.update(cart.id, {
  email: 'ada@example.com',
  shippingAddress: { firstName: 'Ada', lastName: 'Lovelace', line1: '12 Elm Street', city: 'Portland', region: 'OR', postalCode: '97201', country: 'US' },
})
const [option] = await commerce.carts.listShippingOptions(cart.id)
cart = await commerce.carts.setShippingOption(cart.id, option!.id)

// Checkout: stock is reserved, the test gateway authorizes the total, the order is placed.
const order = await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
// A real gateway may first ask the shopper to confirm (3-D Secure): send them to order.action, then
// call commerce.checkout.confirm(cart.id) when they return. The test gateway approves at once.
if (order.status === 'requires_action') throw new Error(`confirm the payment at ${JSON.stringify(order.action)}`)

const money = (amount: number) => `${formatAmount(amount, order.currency)} ${order.currency}`
console.log(`order #${order.number} placed for ${order.email}`)
for (const line of order.lines) console.log(`  ${line.quantity} × ${line.title} (${line.variantTitle}, ${line.sku})  ${money(line.subtotal)}`)
console.log(`  subtotal  ${money(order.totals.subtotal)}`)
console.log(`  shipping  ${money(order.totals.shippingTotal)}  (${order.shippingMethod?.name})`)
console.log(`  tax       ${money(order.totals.taxTotal)}`)
console.log(`  total     ${money(order.totals.total)}`)
console.log(`payment: ${order.paymentStatus}`)
console.log(`stock left for ${variant.sku}: ${await commerce.inventory.available(variant.id)}`)

await commerce.close()
