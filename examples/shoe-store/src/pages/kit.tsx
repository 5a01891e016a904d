import type { Context } from 'hono'
import { getCookie, setCookie, deleteCookie } from 'hono/cookie'
import type { Child } from 'hono/jsx'
import type { b2bEndpoints } from '@cartwright/b2b'
import type { customerEndpoints } from '@cartwright/customers'
import { storeApi } from '@cartwright/http'
import { createStoreClient, isStoreApiError, type storeEndpoints } from '@cartwright/http/client'
import type { giftCardEndpoints, promotionEndpoints } from '@cartwright/promotions'
import type { reviewEndpoints } from '@cartwright/reviews'
import { guardOptionsFromEnv, requestOrigin, shopperAddress, type GuardOptions } from '../guard.js'
import { translate, type Locale } from '../i18n.js'
import { stripeSources } from '../card-checkout.js'
import { cardCheckout, demoModeFromEnv, type CardCheckout, type ShopCommerce } from '../shop.js'
import { CURRENCY } from '../seed.js'
import { Layout, NOTICES } from './layout.js'

/** The cookie with the shopper's cart: `<cart id>.<token>`. */
export const CART_COOKIE = 'shoe_cart'
/** The cookie with the shopper's Store API session. */
export const SESSION_COOKIE = 'shoe_session'
/** The cookie with the shopper's language. */
export const LOCALE_COOKIE = 'shoe_locale'

/** Every Store API route the pages call, for the typed client. */
export type Shop = [
  ...typeof storeEndpoints,
  ...typeof customerEndpoints,
  ...typeof promotionEndpoints,
  ...typeof giftCardEndpoints,
  ...typeof reviewEndpoints,
  ...typeof b2bEndpoints,
]

export { demoModeFromEnv }

/** Options of {@link createApp}: the form guards' and the demo mode. */
export interface AppOptions extends GuardOptions {
  /**
   * A demo shop (default {@link demoModeFromEnv}): the home page shows the demo's codes and logins,
   * and registering shows the verification link on the page (there is no mail server). Never in a
   * real shop: whoever types an email could verify it and see that email's orders.
   */
  demo?: boolean
}

/**
 * What every page handler shares, made once per app: the shopper's Store API client (their session
 * and cart from the cookies), the page frame, the shopper's language, form fields, and the cart,
 * account and payment helpers.
 *
 * @example
 * ```ts
 * const { commerce } = await createShop({ filename: ':memory:' })
 * const kit = createKit(commerce, { demo: false })
 * ```
 */
export function createKit(commerce: ShopCommerce, options: AppOptions = {}) {
  const { demo = demoModeFromEnv(), ...guardOptions } = options
  const guard: GuardOptions = { ...guardOptionsFromEnv(), ...guardOptions }
  // The pages call the Store API in process; the shopper's address travels in the request's env so
  // that rate limits count per shopper, not for the storefront as a whole.
  const api = storeApi(commerce, { trustProxy: guard.trustProxy ?? false, clientKey: (c) => (c.env as { shopper?: string } | undefined)?.shopper })
  // Card payments through Stripe, when the shop takes them (see createShop's `stripe`).
  const card: CardCheckout | undefined = cardCheckout(commerce)
  const stripe = card ? stripeSources(card.jsUrl) : null
  const addressOf = (c: Context) => shopperAddress(c, guard)

  const secure = (c: Context) => requestOrigin(c, guard).startsWith('https:')
  const cookie = (c: Context, name: string, value: string, maxAge = 60 * 60 * 24 * 30) =>
    setCookie(c, name, value, { httpOnly: true, sameSite: 'Lax', path: '/', secure: secure(c), maxAge })

  const localeOf = (c: Context): Locale => (getCookie(c, LOCALE_COOKIE) === 'de' ? 'de' : 'en')
  /** The page's own texts in the shopper's language. */
  const tr = (c: Context) => (text: string) => translate(localeOf(c), text)
  const cartOf = (c: Context): { id: string; token?: string } | null => {
    const raw = getCookie(c, CART_COOKIE)
    if (!raw) return null
    // `<cart id>.<token>`: ids hold no dot; a token may.
    const at = raw.indexOf('.')
    const id = at < 0 ? raw : raw.slice(0, at)
    const token = at < 0 ? '' : raw.slice(at + 1)
    return id ? { id, ...(token ? { token } : {}) } : null
  }

  /** The Store API client of this request's shopper: their session and cart token. */
  const shopper = (c: Context) => {
    const address = addressOf(c)
    const client = createStoreClient<Shop>({ baseUrl: 'http://storefront.internal', fetch: (url, init) => Promise.resolve(api.request(url, init, { shopper: address })) })
    const session = getCookie(c, SESSION_COOKIE)
    const cart = cartOf(c)
    return client.with({ ...(session ? { session } : {}), ...(cart?.token ? { cartToken: cart.token } : {}) })
  }

  /**
   * Where the language switch returns to: this page, or for a page answering a form post (a
   * declined payment, a 3-D Secure step) the page the form was on, since a post cannot be reloaded.
   */
  const here = (c: Context): string => {
    const url = new URL(c.req.url)
    if (c.req.method === 'GET') return url.pathname + url.search
    try {
      const from = new URL(c.req.header('referer') ?? '')
      if (from.origin === url.origin) return from.pathname + from.search
    } catch {
      // No referer, or not a URL: the home page.
    }
    return '/'
  }

  const page = (c: Context, title: string, body: Child, status: 200 | 400 | 403 | 404 | 402 | 409 | 422 | 429 = 200) =>
    c.html(
      <Layout title={title} locale={localeOf(c)} path={here(c)} cards={card !== undefined}>
        {body}
      </Layout>,
      status,
    )

  /** The page's notice for its `?error=` code, in the shopper's language (none for an unknown code). */
  const notice = (c: Context): string | null => {
    const code = c.req.query('error') ?? ''
    return Object.hasOwn(NOTICES, code) ? tr(c)(NOTICES[code]!) : null
  }

  const messageOf = (error: unknown) => {
    if (isStoreApiError(error)) return error.message
    throw error
  }

  /** A form's fields, as strings. */
  const form = async (c: Context) => {
    const body = await c.req.parseBody({ all: true })
    return (name: string) => {
      const value = body[name]
      return typeof value === 'string' ? value.trim() : Array.isArray(value) && typeof value[0] === 'string' ? value[0].trim() : ''
    }
  }

  /** The shopper's open cart: the one in their cookie, or a new one when `create`. */
  const openCart = async (c: Context, create: boolean) => {
    const store = shopper(c)
    const current = cartOf(c)
    if (current) {
      try {
        const cart = await store.call('GET /carts/:cartId', { params: { cartId: current.id } })
        // A cart waiting for the shopper's payment confirmation ('completing') is still theirs.
        if (cart.status !== 'completed') return { cart, store }
      } catch (error) {
        if (!isStoreApiError(error, 'NOT_FOUND')) throw error
        // A cart that is gone (or a cookie that never named one): forget it.
        deleteCookie(c, CART_COOKIE, { path: '/' })
      }
    }
    if (!create) return null
    const cart = await store.call('POST /carts', { body: { currency: CURRENCY } })
    cookie(c, CART_COOKIE, `${cart.id}.${cart.accessToken}`)
    return { cart, store: store.with({ cartToken: cart.accessToken! }) }
  }

  /**
   * The gift cards on a cart. The gift-card routes open a cart by its token only, so a cart a
   * signed-in customer opens by their session (one accepted from a quote) shows none.
   */
  const giftCardsOf = (store: ReturnType<typeof shopper>, cartId: string) =>
    store.call('GET /carts/:cartId/gift-cards', { params: { cartId } }).catch((error: unknown) => {
      if (isStoreApiError(error, 'NOT_FOUND')) return { cards: [] as Array<{ last4: string; amount: number }> }
      throw error
    })

  const orderLink = (order: { id: string; accessToken?: string | undefined }, first: boolean) =>
    `/orders/${order.id}?${new URLSearchParams({ ...(order.accessToken ? { token: order.accessToken } : {}), ...(first ? { placed: '1' } : {}) })}`
  const signedIn = async (c: Context) => {
    if (!getCookie(c, SESSION_COOKIE)) return null
    const store = shopper(c)
    try {
      return { account: await store.call('GET /account'), store }
    } catch (error) {
      if (isStoreApiError(error) && (error.status === 401 || error.status === 404)) {
        deleteCookie(c, SESSION_COOKIE, { path: '/' })
        return null
      }
      throw error
    }
  }
  return { commerce, demo, guard, card, api, stripe, addressOf, secure, cookie, localeOf, tr, cartOf, shopper, page, notice, messageOf, form, openCart, giftCardsOf, orderLink, signedIn }
}

/** What {@link createKit} makes. */
export type Kit = ReturnType<typeof createKit>
