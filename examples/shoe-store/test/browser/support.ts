/**
 * What the browser tests share: Debian's Chromium driven by playwright-core (no browser download),
 * screenshots kept as test artifacts, and axe-core run in the page.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { expect } from 'vitest'
import type { ShopCommerce } from '../../src/shop.js'

/** Debian's `chromium` (`apt-get install chromium`, as .ci/run does); `CHROMIUM_PATH` overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Where screenshots go: `examples/shoe-store/.artifacts/screenshots/`. */
export const SCREENSHOTS = fileURLToPath(new URL('../../.artifacts/screenshots/', import.meta.url))

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium, as .ci/run does) or set CHROMIUM_PATH`)
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root Chromium's sandbox cannot start; the pages are our own, served on 127.0.0.1.
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** Saves a full-page screenshot as `<name>.png` among the test artifacts. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name.replace(/[^\w.-]+/g, '-')}.png`), fullPage: true })
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface AxeFinding {
  id: string
  impact: string
  help: string
  targets: string[]
}

/**
 * axe-core's serious and critical findings on the page as it is now (WCAG 2.1 A and AA rules and
 * best practices). The page must come from a context with `bypassCSP: true`: axe is injected as
 * a script, which the shop's Content-Security-Policy would otherwise refuse.
 */
export async function seriousAxeFindings(page: Page): Promise<AxeFinding[]> {
  await page.addScriptTag({ content: axeSource })
  const results = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe
    const run = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
    return run.violations.map((v) => ({ id: v.id, impact: v.impact ?? 'unknown', help: v.help, targets: v.nodes.map((n) => String(n.target)) }))
  })
  return results.filter((f) => f.impact === 'serious' || f.impact === 'critical')
}

/** The text of the `<dd>` that follows the `<dt>` named `term` (totals are a description list). */
export async function termValue(page: Page, term: string): Promise<string> {
  const value = page.locator('dt', { hasText: new RegExp(`^\\s*${term}\\s*$`) }).locator('xpath=following-sibling::dd[1]')
  return (await value.first().innerText()).trim()
}

/** Minor units from a displayed amount such as "$142.11", "142,11 €" or "-$12.90". */
export function minorUnits(displayed: string): number {
  const negative = /[-−]/.test(displayed)
  const digits = displayed.replace(/[^\d.,]/g, '')
  const match = /^(\d{1,3}(?:[.,]\d{3})*|\d+)(?:[.,](\d{2}))?$/.exec(digits)
  if (!match) throw new Error(`not an amount: ${JSON.stringify(displayed)}`)
  const units = Number(match[1]!.replace(/[.,]/g, '')) * 100 + Number(match[2] ?? '0')
  return negative ? -units : units
}

/** Called on each page of a flow that a test may want to check (axe), with the page's name. */
export type OnPage = (name: string) => Promise<void>

/** Home → Trail Runner → Red → 43 → Add to cart; ends on the cart page. */
export async function addTrailRunnerToCart(page: Page, onPage?: OnPage): Promise<void> {
  await page.goto('/')
  await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Cartwright Shoes')
  await onPage?.('home')
  await page.getByRole('main').getByRole('link', { name: 'Trail Runner' }).first().click()
  await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Trail Runner')
  await page.getByRole('navigation', { name: 'Colour' }).getByRole('link', { name: 'Red' }).click()
  await page.waitForURL(/colour=red/i)
  await page.getByRole('radio', { name: /^43\b/ }).check()
  await page.getByLabel('Quantity').fill('1')
  await onPage?.('product')
  await page.getByRole('button', { name: 'Add to cart' }).click()
  await page.waitForURL(/\/cart$/)
  await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Your cart')
}

/** From the cart: the address step, then the first delivery option (not pickup) on the shipping and payment step. */
export async function enterAddress(page: Page, email: string, onPage?: OnPage): Promise<void> {
  await page.getByRole('link', { name: 'Checkout' }).click()
  await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Checkout')
  await onPage?.('checkout address')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('First name').fill('Grace')
  await page.getByLabel('Last name').fill('Hopper')
  await page.getByLabel('Address').fill('Torstraße 12')
  await page.getByLabel('City').fill('Berlin')
  await page.getByLabel('Postal code').fill('10119')
  await page.getByLabel('Country').selectOption({ label: 'Germany' })
  await page.getByRole('button', { name: 'Continue' }).click()
  const shipping = page.getByRole('group', { name: 'Shipping' })
  await shipping.getByRole('radio').first().waitFor()
  await shipping.getByRole('radio', { name: /^(?!Pick up)/ }).first().check()
}

/** How many orders the shop holds. */
export async function ordersIn(commerce: ShopCommerce): Promise<number> {
  return Number((await commerce.db.selectFrom('cw_orders').select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
}

/** The order behind the confirmation page's URL (`/orders/:id?token=…`). */
export async function orderOnPage(commerce: ShopCommerce, page: Page) {
  const id = /\/orders\/([^/?#]+)/.exec(page.url())?.[1]
  if (!id) throw new Error(`not an order page: ${page.url()}`)
  return commerce.orders.get(decodeURIComponent(id))
}
