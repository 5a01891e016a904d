/**
 * A shopper in Chromium: buys "Trail Runner, size 43, red" with a coupon, meets a declined card and
 * a card that asks for confirmation, registers and finds the order in their history, and buys again
 * with JavaScript off. Every step is checked against what the engine persisted.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer } from '../../src/server.js'
import { createShop, type ShopCommerce } from '../../src/shop.js'
import { COUPON_CODE, COUPON_PERCENT, TRAIL_RUNNER_PRICE } from '../../src/seed.js'
import { addTrailRunnerToCart, enterAddress, launchChromium, minorUnits, orderOnPage, ordersIn, screenshot, seriousAxeFindings, termValue, type AxeFinding } from './support.js'

let dir: string
let server: { url: string; close(): Promise<void> }
let browser: Browser
let shop: { commerce: ShopCommerce }
/** axe-core's serious and critical findings, by page, over the purchase path. */
const findings = new Map<string, AxeFinding[]>()

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cartwright-shoe-store-browser-'))
  const filename = join(dir, 'shop.db')
  server = await startServer({ port: 0, filename, quiet: true })
  // A second engine on the same file reads what the store persisted.
  shop = await createShop({ filename })
  browser = await launchChromium()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await shop?.commerce.close()
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

const newContext = (options: { javaScript?: boolean } = {}) =>
  browser.newContext({ baseURL: server.url, javaScriptEnabled: options.javaScript ?? true, bypassCSP: options.javaScript ?? true, viewport: { width: 1024, height: 800 } })

/** Runs axe on the page (JavaScript on) and keeps its serious and critical findings under `name`. */
async function audit(page: Page, name: string): Promise<void> {
  findings.set(name, await seriousAxeFindings(page))
}

async function trailRunnerRed43(): Promise<string> {
  const product = await shop.commerce.catalog.getProduct('trail-runner')
  const variant = product.variants.find((v) => Object.values(v.options ?? {}).includes('Red') && Object.values(v.options ?? {}).includes('43'))
  if (!variant) throw new Error(`no red 43 among ${JSON.stringify(product.variants.map((v) => v.options))}`)
  return variant.id
}

/** Home → Trail Runner → Red → 43 → Add to cart; ends on the cart page. */
const addTrailRunner = (page: Page, options: { audit?: string } = {}) => addTrailRunnerToCart(page, options.audit ? (name) => audit(page, `${options.audit}: ${name}`) : undefined)

/** The address step and the shipping step, choosing `shipping` and the test payment `outcome`; clicks "Place order". */
async function checkOut(page: Page, outcome: 'Approve' | 'Decline' | 'Requires action', options: { email?: string; audit?: string } = {}): Promise<void> {
  await enterAddress(page, options.email ?? 'grace@example.com', options.audit ? (name) => audit(page, `${options.audit}: ${name}`) : undefined)
  await page.getByRole('group', { name: 'Test payment' }).getByRole('radio', { name: outcome }).check()
  if (options.audit) await audit(page, `${options.audit}: checkout shipping and payment`)
  await page.getByRole('button', { name: 'Place order' }).click()
}

const orderCount = () => ordersIn(shop.commerce)
const orderOf = (page: Page) => orderOnPage(shop.commerce, page)

describe('the shoe store in Chromium', () => {
  it('sells a Trail Runner, size 43, red, with a coupon, and shows the right total', async () => {
    const context = await newContext()
    const page = await context.newPage()
    try {
      const variantId = await trailRunnerRed43()
      const before = await shop.commerce.inventory.available(variantId)
      await addTrailRunner(page, { audit: 'purchase' })
      await page.getByLabel('Coupon or gift card code').fill(COUPON_CODE)
      await page.getByRole('button', { name: 'Apply code' }).click()
      await page.waitForURL(/\/cart/)
      const expectedDiscount = Math.round((TRAIL_RUNNER_PRICE * COUPON_PERCENT) / 100)
      expect(Math.abs(minorUnits(await termValue(page, 'Discount')))).toBe(expectedDiscount)
      await audit(page, 'purchase: cart')
      await screenshot(page, 'purchase-1-cart-with-coupon')
      await checkOut(page, 'Approve', { audit: 'purchase' })
      await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Thank you for your order')
      await audit(page, 'purchase: confirmation')
      await screenshot(page, 'purchase-2-confirmation')

      const order = await orderOf(page)
      const shown = minorUnits(await termValue(page, 'Total'))
      const t = order.totals
      expect(order.lines.map((l) => [l.variantId, l.quantity])).toEqual([[variantId, 1]])
      expect(t.subtotal).toBe(TRAIL_RUNNER_PRICE)
      expect(t.discountTotal).toBe(expectedDiscount)
      expect(t.total).toBe(t.subtotal - t.discountTotal + t.shippingTotal + (t.taxInclusive ? 0 : t.taxTotal) + t.rounding)
      expect(shown).toBe(t.total)
      await expect(page.getByText(String(order.number)).first().isVisible()).resolves.toBe(true)
      expect(await shop.commerce.inventory.available(variantId)).toBe(before - 1)
    } finally {
      await context.close()
    }
  })

  it('shows a clear message for a declined card and leaves stock and orders unchanged', async () => {
    const context = await newContext()
    const page = await context.newPage()
    try {
      const variantId = await trailRunnerRed43()
      const before = await shop.commerce.inventory.available(variantId)
      const ordersBefore = await orderCount()
      await addTrailRunner(page)
      await checkOut(page, 'Decline')
      const alert = page.getByRole('alert')
      await expect(alert.innerText()).resolves.toMatch(/declined/i)
      await screenshot(page, 'declined')
      await audit(page, 'declined: message')
      expect(page.url()).not.toMatch(/\/orders\//)
      expect(await shop.commerce.inventory.available(variantId)).toBe(before)
      expect(await orderCount()).toBe(ordersBefore)
    } finally {
      await context.close()
    }
  })

  it('asks to confirm a "requires action" payment, then places the order', async () => {
    const context = await newContext()
    const page = await context.newPage()
    try {
      await addTrailRunner(page)
      await checkOut(page, 'Requires action')
      await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Confirm your payment')
      await audit(page, 'requires action: confirm page')
      await screenshot(page, 'requires-action-1-confirm')
      await page.getByRole('button', { name: 'Confirm payment' }).click()
      await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Thank you for your order')
      await screenshot(page, 'requires-action-2-placed')
      const order = await orderOf(page)
      expect(order.paymentStatus).toMatch(/authorized|captured|paid/)
      expect(minorUnits(await termValue(page, 'Total'))).toBe(order.totals.total)
    } finally {
      await context.close()
    }
  })

  it("lists a registered customer's order in their order history", async () => {
    const context = await newContext()
    const page = await context.newPage()
    const email = `lin-${Date.now()}@example.com`
    try {
      await page.goto('/account/register')
      await page.getByLabel('Name').fill('Lin Shopper')
      await page.getByLabel('Email').fill(email)
      await page.getByLabel('Password').fill('a long enough password 42')
      await page.getByRole('button', { name: 'Create account' }).click()
      // The demo shows the verification link on the page (there is no mail server).
      await page.getByRole('link', { name: /verify/i }).first().click()
      await page.goto('/account/login')
      await page.getByLabel('Email').fill(email)
      await page.getByLabel('Password').fill('a long enough password 42')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await addTrailRunner(page)
      await checkOut(page, 'Approve', { email })
      await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Thank you for your order')
      const order = await orderOf(page)
      await page.getByRole('link', { name: 'Account' }).click()
      await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Your account')
      const history = page.getByRole('region', { name: 'Order history' })
      await expect(history.getByRole('link', { name: new RegExp(`\\b${order.number}\\b`) }).count()).resolves.toBe(1)
      await audit(page, 'account: order history')
      await screenshot(page, 'account-order-history')
      expect(order.customerId).toBeTruthy()
    } finally {
      await context.close()
    }
  })

  it('sells the same shoe with JavaScript off', async () => {
    const context = await newContext({ javaScript: false })
    const page = await context.newPage()
    try {
      const variantId = await trailRunnerRed43()
      const before = await shop.commerce.inventory.available(variantId)
      await addTrailRunner(page)
      await page.getByLabel('Coupon or gift card code').fill(COUPON_CODE)
      await page.getByRole('button', { name: 'Apply code' }).click()
      await checkOut(page, 'Approve')
      await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Thank you for your order')
      await screenshot(page, 'javascript-off-confirmation')
      const order = await orderOf(page)
      expect(order.totals.discountTotal).toBe(Math.round((TRAIL_RUNNER_PRICE * COUPON_PERCENT) / 100))
      expect(minorUnits(await termValue(page, 'Total'))).toBe(order.totals.total)
      expect(await shop.commerce.inventory.available(variantId)).toBe(before - 1)
    } finally {
      await context.close()
    }
  })

  it('fits a phone-width screen (375 px) without scrolling sideways on the purchase path', async () => {
    const context = await browser.newContext({ baseURL: server.url, viewport: { width: 375, height: 740 }, isMobile: true })
    const page = await context.newPage()
    const overflow = async (name: string) => {
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      await screenshot(page, `phone-${name}`)
      return width > 375 ? [`${name}: ${width} px wide`] : []
    }
    try {
      const wide: string[] = []
      await page.goto('/')
      wide.push(...(await overflow('home')))
      await page.goto('/products/trail-runner?colour=red')
      wide.push(...(await overflow('product')))
      await page.getByRole('radio', { name: /^43\b/ }).check()
      await page.getByRole('button', { name: 'Add to cart' }).click()
      await page.waitForURL(/\/cart$/)
      wide.push(...(await overflow('cart')))
      await page.getByRole('link', { name: 'Checkout' }).click()
      wide.push(...(await overflow('checkout')))
      expect(wide).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('finds no serious or critical accessibility violations on the purchase path (axe-core)', () => {
    expect(findings.size).toBeGreaterThanOrEqual(8)
    const serious = [...findings].flatMap(([page, list]) => list.map((f) => `${page}: ${f.impact} ${f.id} (${f.help}) at ${f.targets.join(', ')}`))
    expect(serious).toEqual([])
  })
})
