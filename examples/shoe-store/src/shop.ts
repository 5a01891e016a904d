import { createCommerce, testPayments, type PaymentProvider, type ShippingProvider, type StorageAdapter } from '@cartwright/core'
import { b2b } from '@cartwright/b2b'
import { customers } from '@cartwright/customers'
import { http } from '@cartwright/http'
import { stripePayments, type StripeEndpoint } from '@cartwright/payment-stripe'
import { giftCards, promotions } from '@cartwright/promotions'
import { reviews } from '@cartwright/reviews'
import { shippingRates } from '@cartwright/shipping-rates'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { taxRules } from '@cartwright/tax-rules'
import { storefront } from './storefront-plugin.js'

/** The stock location shoppers collect from (its code): the pickup option reserves stock there. */
export const PICKUP_LOCATION_CODE = 'berlin-store'

/** Options of {@link createShop}. */
export interface ShopOptions {
  /** `postgres://…` runs the shop on PostgreSQL; default `process.env.DATABASE_URL`, else SQLite. */
  databaseUrl?: string
  /** The SQLite file (default `shoe-store.db`; `:memory:` for a shop that lives as long as the process). */
  filename?: string
  /**
   * Card payments through Stripe, or `null` for none. Default {@link stripeFromEnv}: on when
   * `STRIPE_SECRET_KEY` is set.
   */
  stripe?: StripeSetup | null
  /**
   * Register the test gateway (provider `test`: approve, decline, requires action), which takes no
   * money: any shopper who names it gets their order for free, through the pages or the Store API.
   * Default: only in a demo ({@link demoModeFromEnv}). A shop that is not a demo needs Stripe or
   * `testPayments: true`, or `createShop` refuses to start.
   */
  testPayments?: boolean
}

/**
 * Whether the shop runs as a demo unless told: yes, except when `NODE_ENV` is `production`.
 *
 * @example
 * ```ts
 * const demo = demoModeFromEnv() // false when NODE_ENV=production
 * ```
 */
export const demoModeFromEnv = (): boolean => process.env.NODE_ENV !== 'production'

/** Card payments through Stripe: the keys, and where the shoppers' browsers load Stripe.js from. */
export interface StripeSetup {
  /** `sk_test_…` or `sk_live_…`. */
  secretKey: string
  /** The signing secret of the webhook endpoint (`whsec_…`) that points at `/api/store/webhooks/stripe`. */
  webhookSecret: string
  /** `pk_test_…` or `pk_live_…`: the checkout page gives it to Stripe.js. */
  publishableKey: string
  /** Stripe.js (default `https://js.stripe.com/v3/`); tests load the fake's (`@cartwright/payment-stripe/testing`). */
  jsUrl?: string
  /** A local Stripe API instead of api.stripe.com (tests). */
  client?: StripeEndpoint
}

/** What the checkout page needs to take a card: never the secret key. */
export interface CardCheckout {
  /** The payment provider's id at checkout. */
  provider: 'stripe'
  publishableKey: string
  jsUrl: string
}

/**
 * Stripe's settings from the environment: `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` and
 * `STRIPE_PUBLISHABLE_KEY`. Null when no secret key is set (the shop takes test payments only),
 * unless `required`; throws naming what is missing when a key is set without the others.
 *
 * @example
 * ```ts
 * const stripe = stripeFromEnv() // null without STRIPE_SECRET_KEY
 * ```
 */
export function stripeFromEnv(required = false): StripeSetup | null {
  const secretKey = process.env.STRIPE_SECRET_KEY
  if (!secretKey && !required) return null
  const missing = ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_PUBLISHABLE_KEY'].filter((name) => !process.env[name])
  if (missing.length > 0) throw new Error(`Set ${missing.join(', ')} in the environment or in .env (see .env.example): card payments through Stripe need all three`)
  return { secretKey: secretKey!, webhookSecret: process.env.STRIPE_WEBHOOK_SECRET!, publishableKey: process.env.STRIPE_PUBLISHABLE_KEY!, ...(process.env.STRIPE_JS_URL ? { jsUrl: process.env.STRIPE_JS_URL } : {}) }
}

/**
 * The test gateway, with one more outcome a shopper can pick: `requires_action`, which asks the
 * shopper to confirm at a (pretend) bank page before the payment is authorized. `approve` and
 * `decline` are the test gateway's own. Demo only: `confirmAtBank(ref)` confirms any reference.
 */
export function demoPayments(): PaymentProvider & { confirmAtBank(reference: string): void } {
  const inner = testPayments()
  const waiting = new Map<string, 'waiting' | 'confirmed'>()
  let sequence = 0
  return {
    id: 'test',
    capabilities: { ...inner.capabilities, retrieve: true },
    async authorize(input) {
      if (input.data['outcome'] === 'requires_action') {
        const reference = `tp_3ds_${++sequence}_${input.paymentId}`
        waiting.set(reference, 'waiting')
        return { status: 'requires_action', reference, action: { type: 'redirect', url: `/checkout/confirm-payment?ref=${encodeURIComponent(reference)}` } }
      }
      return inner.authorize(input)
    },
    capture: (input) => inner.capture!(input),
    void: (input) => inner.void!(input),
    refund: (input) => inner.refund!(input),
    async retrieve({ reference }) {
      const state = waiting.get(reference)
      if (state === 'confirmed') return { status: 'authorized' }
      return { status: state === 'waiting' ? 'requires_action' : 'authorized' }
    },
    // Demo only: this pretend bank confirms any waiting reference for whoever names it, with no
    // check of who the shopper is. A real gateway confirms at the bank's own page and tells the
    // shop by a signed webhook or by `retrieve`; never let a shopper's request confirm a payment.
    confirmAtBank(reference) {
      if (waiting.has(reference)) waiting.set(reference, 'confirmed')
    },
  }
}

/**
 * Click and collect at the Berlin store: free, offered with or without an address. The location
 * is looked up by its code, since its id is made when the shop is seeded.
 */
function pickupPoint(): ShippingProvider {
  let locationId: string | undefined
  return {
    id: 'pickup',
    async quote(_input, db) {
      locationId ??= (await db.selectFrom('cw_stock_locations').select('id').where('code', '=', PICKUP_LOCATION_CODE).executeTakeFirst())?.id
      return locationId ? [{ id: 'berlin', name: 'Pick up at Cartwright Berlin (Torstraße 1)', amount: 0, minDays: 0, maxDays: 1, estimate: 'ready the next day', pickupLocationId: locationId }] : []
    },
  }
}

/** The countries the shop delivers to, with their standard VAT rates. */
export const COUNTRIES = [
  { code: 'DE', name: 'Germany', vat: '19' },
  { code: 'AT', name: 'Austria', vat: '20' },
  { code: 'FR', name: 'France', vat: '20' },
  { code: 'NL', name: 'Netherlands', vat: '21' },
] as const

function storageFor(options: ShopOptions): StorageAdapter {
  const url = options.databaseUrl ?? process.env.DATABASE_URL
  if (url && /^postgres(ql)?:\/\//.test(url)) return postgresStorage({ connectionString: url })
  return sqliteStorage({ filename: options.filename ?? 'shoe-store.db' })
}

/**
 * The shoe store's engine: core with the plugins a real shop uses (HTTP, accounts, promotions and
 * gift cards, reviews, B2B, table rates and a pickup point, VAT rules, the test gateway).
 *
 * @example
 * ```ts
 * const shop = await createShop({ filename: ':memory:' })
 * await shop.commerce.close()
 * ```
 */
export async function createShop(options: ShopOptions = {}) {
  const stripe = options.stripe === undefined ? stripeFromEnv() : options.stripe
  if (stripe && !/^pk_(test|live)_\S+$/.test(stripe.publishableKey)) throw new Error('The Stripe publishable key must be pk_test_… or pk_live_…')
  if (stripe?.jsUrl && !/^https:\/\/|^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(stripe.jsUrl)) throw new Error('Stripe.js must load over https (STRIPE_JS_URL)')
  // The test gateway takes no money: never in a real shop unless it says so.
  const payments = (options.testPayments ?? demoModeFromEnv()) ? demoPayments() : null
  if (!payments && !stripe) {
    throw new Error('This shop has no way to take payment: set STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and STRIPE_PUBLISHABLE_KEY, or pass createShop({ testPayments: true }) for a shop that takes no money')
  }
  const commerce = await createCommerce({
    storage: storageFor(options),
    payments: [...(payments ? [payments] : []), ...(stripe ? [stripePayments({ secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, capture: 'manual', ...(stripe.client ? { client: stripe.client } : {}) })] : [])],
    shipping: [pickupPoint()],
    plugins: [
      http(),
      customers(),
      promotions(),
      giftCards(),
      reviews(),
      b2b(),
      shippingRates({
        rates: {
          zones: [
            { id: 'germany', name: 'Germany', countries: ['DE'], methods: [{ id: 'standard', name: 'DHL Paket', rates: { EUR: { type: 'flat', amount: 490, freeFrom: 15000 } }, minDays: 1, maxDays: 3 }] },
            { id: 'eu', name: 'European Union', countries: ['AT', 'FR', 'NL'], methods: [{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'flat', amount: 990 } }, minDays: 3, maxDays: 6 }] },
          ],
        },
      }),
      taxRules({ origin: 'DE', jurisdictions: COUNTRIES.map((c) => ({ id: c.code, name: 'VAT', country: c.code, rates: { standard: c.vat } })) }),
      storefront(),
    ],
  })
  if (payments) banks.set(commerce, payments)
  if (stripe) cards.set(commerce, { provider: 'stripe', publishableKey: stripe.publishableKey, jsUrl: stripe.jsUrl ?? 'https://js.stripe.com/v3/' })
  return { commerce, payments }
}

const cards = new WeakMap<object, CardCheckout>()

/** How the checkout takes cards in a shop made by {@link createShop}, or undefined when it takes test payments only. */
export function cardCheckout(commerce: object): CardCheckout | undefined {
  return cards.get(commerce)
}

const banks = new WeakMap<object, ReturnType<typeof demoPayments>>()

/** The pretend bank of a shop made by {@link createShop} with the test gateway (undefined without it): where a "requires action" payment is confirmed. */
export function demoBank(commerce: object): ReturnType<typeof demoPayments> | undefined {
  return banks.get(commerce)
}

/** The engine {@link createShop} makes. */
export type ShopCommerce = Awaited<ReturnType<typeof createShop>>['commerce']
