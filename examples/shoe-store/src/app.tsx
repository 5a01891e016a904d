import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Hono } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { formBodyLimit, fromThisSite, safeBack } from './guard.js'
import { CARD_SCRIPT, CARD_SCRIPT_PATH } from './card-checkout.js'
import type { ShopCommerce } from './shop.js'
import { STYLESHEET } from './style.js'
import { accountPages } from './pages/account.js'
import { cartPages } from './pages/cart.js'
import { catalogPages } from './pages/catalog.js'
import { checkoutPages } from './pages/checkout.js'
import { LOCALE_COOKIE, createKit, type AppOptions } from './pages/kit.js'
import { Layout } from './pages/layout.js'

export { demoModeFromEnv, type AppOptions } from './pages/kit.js'

const ASSETS = fileURLToPath(new URL('../assets/', import.meta.url))

/**
 * The shoe store's web app: the Store API at `/api/store`, and the storefront's pages, which act as
 * a shopper through that API (in process), keeping the cart and the session in their own cookies.
 *
 * @example
 * ```ts
 * const { commerce } = await createShop({ filename: ':memory:' })
 * const app = createApp(commerce, { demo: false })
 * const home = await app.request('/')
 * ```
 */
export function createApp(commerce: ShopCommerce, options: AppOptions = {}) {
  const kit = createKit(commerce, options)
  const { api, card, stripe, guard, form, cookie, page, localeOf } = kit
  const app = new Hono()
  app.route('/api/store', api)
  // With cards taken through Stripe, the checkout runs the shop's one script and Stripe.js (from
  // Stripe's origins only); otherwise the pages load nothing from elsewhere and run no script.
  app.use(
    '*',
    secureHeaders({
      // Not the default no-referrer: with it a browser sends its form posts with `Origin: null`
      // and no Referer, and the same-site check below could not tell them from another site's.
      referrerPolicy: 'same-origin',
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        imgSrc: ["'self'"],
        styleSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        ...(stripe ? { scriptSrc: ["'self'", ...stripe.script], connectSrc: stripe.connect, frameSrc: stripe.frame } : {}),
      },
    }),
  )

  // A form post must come from this site (its Origin, else its Referer), on top of the SameSite=Lax
  // cookies; and a storefront form is small.
  app.use('*', async (c, next) => {
    if (c.req.method === 'POST' && !c.req.path.startsWith('/api/') && !fromThisSite(c, guard)) return c.text('Forbidden: a form from another site', 403)
    await next()
  })
  app.post('*', formBodyLimit())
  // Pages are the shopper's own (their cart, account, orders, a payment's client secret): no cache keeps them.
  app.use('*', async (c, next) => {
    await next()
    if (c.res.headers.get('content-type')?.startsWith('text/html')) c.res.headers.set('cache-control', 'no-store')
  })

  if (card) app.get(CARD_SCRIPT_PATH, (c) => c.body(CARD_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=3600' }))
  app.get('/style.css', (c) => c.body(STYLESHEET, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=3600' }))
  app.get('/assets/:file', async (c) => {
    const file = c.req.param('file')
    if (!/^[a-z0-9-]+\.svg$/.test(file)) return c.notFound()
    try {
      return c.body(await readFile(`${ASSETS}${file}`), 200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' })
    } catch {
      return c.notFound()
    }
  })

  app.post('/language', async (c) => {
    const field = await form(c)
    const locale = field('locale') === 'de' ? 'de' : 'en'
    cookie(c, LOCALE_COOKIE, locale, 60 * 60 * 24 * 365)
    return c.redirect(safeBack(field('back')), 303)
  })

  catalogPages(app, kit)
  cartPages(app, kit)
  checkoutPages(app, kit)
  accountPages(app, kit)

  app.notFound((c) => page(c, 'Not found', <><h1>Not found</h1><p><a href="/">Cartwright Shoes</a></p></>, 404))
  app.onError((error, c) => {
    console.error(error)
    return c.html(
      <Layout title="Something went wrong" locale={localeOf(c)} path="/">
        <h1>Something went wrong</h1>
        <p role="alert">Please try again in a moment.</p>
      </Layout>,
      500,
    )
  })
  return app
}
