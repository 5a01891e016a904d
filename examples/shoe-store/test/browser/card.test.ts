/**
 * Card payments through Stripe in Chromium, with the fake Stripe server standing in for Stripe's
 * servers and its Stripe.js for js.stripe.com: the shop's Content-Security-Policy is enforced, the
 * card goes from the browser to "Stripe" only, and what Stripe holds matches the order the shop placed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFakeStripe, type FakeStripeServer } from '@cartwright/payment-stripe/testing'
import type { Browser, Page, Request } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer } from '../../src/server.js'
import { createShop, type ShopCommerce, type StripeSetup } from '../../src/shop.js'
import { addTrailRunnerToCart, enterAddress, launchChromium, minorUnits, orderOnPage, ordersIn, screenshot, termValue } from './support.js'

let dir: string
let stripe: FakeStripeServer
let server: { url: string; close(): Promise<void> }
let browser: Browser
let shop: { commerce: ShopCommerce }

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cartwright-shoe-store-card-'))
  const filename = join(dir, 'shop.db')
  stripe = await startFakeStripe()
  const setup: StripeSetup = { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, publishableKey: stripe.publishableKey, jsUrl: stripe.jsUrl, client: stripe.endpoint }
  server = await startServer({ port: 0, filename, quiet: true, stripe: setup })
  // A second engine on the same file reads what the store persisted.
  shop = await createShop({ filename, stripe: null })
  browser = await launchChromium()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await shop?.commerce.close()
  await server?.close()
  await stripe?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A shopper whose browser enforces the shop's Content-Security-Policy, and every request it sends to the shop. */
async function shopper() {
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1024, height: 800 } })
  const page = await context.newPage()
  const toShop: Request[] = []
  const refused: string[] = []
  page.on('request', (request) => {
    if (request.url().startsWith(server.url)) toShop.push(request)
  })
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text())
  })
  return { context, page, toShop, refused }
}

/** Types a card into Stripe's card field and places the order. */
async function payByCard(page: Page, number: string): Promise<void> {
  const payment = page.getByRole('group', { name: 'Payment' })
  await payment.getByRole('radio', { name: 'Card' }).check()
  await payment.getByLabel('Card number').fill(number)
  await payment.getByLabel('Expiry (MM / YY)').fill(`12 / ${(new Date().getUTCFullYear() + 3) % 100}`)
  await payment.getByLabel('CVC').fill('123')
  await page.getByRole('button', { name: 'Place order' }).click()
}

const orderCount = () => ordersIn(shop.commerce)
const orderOf = (page: Page) => orderOnPage(shop.commerce, page)

describe('card payments through Stripe, in Chromium', () => {
  it('takes a card: Stripe holds the order total, and the card number never reaches the shop', async () => {
    const { context, page, toShop, refused } = await shopper()
    try {
      await addTrailRunnerToCart(page)
      await enterAddress(page, 'ada@example.com')
      await screenshot(page, 'card-1-checkout')
      await payByCard(page, '4242 4242 4242 4242')
      await page.waitForURL(/\/orders\//)
      await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Thank you for your order')
      await screenshot(page, 'card-2-placed')

      const order = await orderOf(page)
      expect(minorUnits(await termValue(page, 'Total'))).toBe(order.totals.total)
      expect(order.paymentStatus).toBe('authorized')
      const [payment] = await shop.commerce.db.selectFrom('cw_payments').selectAll().where('order_id', '=', order.id).execute()
      expect(payment).toMatchObject({ provider: 'stripe', status: 'authorized' })
      const held = stripe.paymentIntent(String(payment!.reference))
      expect(held).toMatchObject({ status: 'requires_capture', amount: order.totals.total, currency: 'eur', capture_method: 'manual' })
      // What the shop was sent: a PaymentMethod id, never the card.
      const bodies = toShop.map((r) => r.postData() ?? '').join('\n')
      expect(bodies).toMatch(/paymentMethod=pm_/)
      expect(bodies).not.toMatch(/4242/)
      expect(refused).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('shows a declined card, charges nothing and places no order', async () => {
    const { context, page, toShop } = await shopper()
    try {
      const charges = stripe.ledger.charges.length
      const orders = await orderCount()
      await addTrailRunnerToCart(page)
      await enterAddress(page, 'ada@example.com')
      await payByCard(page, '4000 0000 0000 0002')
      await page.locator('.alert').waitFor()
      await expect(page.locator('.alert').innerText()).resolves.toMatch(/declined/i)
      await screenshot(page, 'card-declined')
      expect(page.url()).not.toMatch(/\/orders\//)
      expect(stripe.ledger.charges.length).toBe(charges)
      expect(await orderCount()).toBe(orders)
      // A card number Stripe refuses never leaves the page: the message is Stripe's, and the shop is not asked.
      const sent = toShop.length
      await payByCard(page, '4111 1111 1111 1112')
      await expect.poll(() => page.locator('#card-errors').innerText()).toMatch(/card number is incorrect/i)
      expect(toShop.length).toBe(sent)
    } finally {
      await context.close()
    }
  })

  it('asks for 3-D Secure, then places the order once the shopper completes it', async () => {
    const { context, page } = await shopper()
    try {
      await addTrailRunnerToCart(page)
      await enterAddress(page, 'ada@example.com')
      await payByCard(page, '4000 0000 0000 3220')
      const dialog = page.getByRole('dialog', { name: '3D Secure test payment' })
      await dialog.waitFor()
      await screenshot(page, 'card-3ds-1-dialog')
      await dialog.getByRole('button', { name: 'Complete authentication' }).click()
      await page.waitForURL(/\/orders\//)
      await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Thank you for your order')
      const order = await orderOf(page)
      expect(order.paymentStatus).toBe('authorized')
      const [payment] = await shop.commerce.db.selectFrom('cw_payments').selectAll().where('order_id', '=', order.id).execute()
      expect(stripe.paymentIntent(String(payment!.reference))).toMatchObject({ status: 'requires_capture', amount: order.totals.total })
    } finally {
      await context.close()
    }
  })

  it('places no order when the shopper fails 3-D Secure, and says so', async () => {
    const { context, page } = await shopper()
    try {
      const orders = await orderCount()
      await addTrailRunnerToCart(page)
      await enterAddress(page, 'ada@example.com')
      await payByCard(page, '4000 0000 0000 3220')
      await page.getByRole('dialog', { name: '3D Secure test payment' }).getByRole('button', { name: 'Fail authentication' }).click()
      await page.locator('.alert').waitFor()
      await expect(page.locator('.alert').innerText()).resolves.toMatch(/declined/i)
      expect(await orderCount()).toBe(orders)
    } finally {
      await context.close()
    }
  })
})
