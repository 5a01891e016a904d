import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Hono, type Context } from 'hono'
import { getCookie, setCookie, deleteCookie } from 'hono/cookie'
import { secureHeaders } from 'hono/secure-headers'
import type { Child, FC } from 'hono/jsx'
import { formatAmount } from '@cartwright/core'
import type { b2bEndpoints } from '@cartwright/b2b'
import type { customerEndpoints } from '@cartwright/customers'
import { storeApi } from '@cartwright/http'
import { createStoreClient, isStoreApiError, type storeEndpoints } from '@cartwright/http/client'
import type { giftCardEndpoints, promotionEndpoints } from '@cartwright/promotions'
import type { reviewEndpoints } from '@cartwright/reviews'
import { formBodyLimit, fromThisSite, guardOptionsFromEnv, requestOrigin, safeBack, shopperAddress, type GuardOptions } from './guard.js'
import { LOCALES, translate, type Locale } from './i18n.js'
import { CARD_SCRIPT, CARD_SCRIPT_PATH, stripeSources } from './card-checkout.js'
import { COUNTRIES, cardCheckout, demoBank, type CardCheckout, type ShopCommerce } from './shop.js'
import { COUPON_CODE, CURRENCY, DEMO_CUSTOMER, WHOLESALE_APPROVER, WHOLESALE_BUYER, giftCardCode } from './seed.js'
import type { storefrontEndpoints } from './storefront-plugin.js'
import { STYLESHEET } from './style.js'

type Shop = [
  ...typeof storeEndpoints,
  ...typeof customerEndpoints,
  ...typeof promotionEndpoints,
  ...typeof giftCardEndpoints,
  ...typeof reviewEndpoints,
  ...typeof b2bEndpoints,
  ...typeof storefrontEndpoints,
]

const ASSETS = fileURLToPath(new URL('../assets/', import.meta.url))
const CART_COOKIE = 'shoe_cart'
const SESSION_COOKIE = 'shoe_session'
const LOCALE_COOKIE = 'shoe_locale'

// ---------------------------------------------------------------------------------------------
// Layout

interface PageProps {
  title: string
  locale: Locale
  path: string
  /** The shop takes cards through Stripe (else test payments only). */
  cards?: boolean
  children?: Child
}

const Layout: FC<PageProps> = ({ title, locale, path, cards, children }) => {
  const t = (s: string) => translate(locale, s)
  return (
    <html lang={locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Cartwright Shoes`}</title>
        <link rel="stylesheet" href="/style.css" />
      </head>
      <body>
        <a class="skip" href="#main">
          {t('Skip to content')}
        </a>
        <header>
          <a class="brand" href="/">
            Cartwright Shoes
          </a>
          <form role="search" method="get" action="/search">
            <label for="site-search" class="sr">
              Search
            </label>
            <input id="site-search" type="search" name="q" />
            <button type="submit">Search</button>
          </form>
          <form method="post" action="/language">
            <label for="language">Language</label>
            <select id="language" name="locale">
              {(Object.keys(LOCALES) as Locale[]).map((l) => (
                <option value={l} selected={l === locale}>
                  {LOCALES[l]}
                </option>
              ))}
            </select>
            <input type="hidden" name="back" value={path} />
            <button type="submit">Change language</button>
          </form>
          <nav aria-label="Shop">
            <ul>
              <li>
                <a href="/cart">Cart</a>
              </li>
              <li>
                <a href="/account">Account</a>
              </li>
            </ul>
          </nav>
        </header>
        <main id="main">{children}</main>
        <footer>
          <p>Cartwright Shoes, a demo store built on Cartwright. {cards ? 'Cards are taken through Stripe.' : 'Test payments only: nothing is charged.'}</p>
        </footer>
      </body>
    </html>
  )
}

/**
 * What a page says after a redirect with `?error=<code>`: the codes the pages send, each with its
 * text. The text never comes from the URL (anyone can link to a page with any query); an unknown
 * code shows nothing.
 */
const NOTICES: Record<string, string> = {
  size: 'Choose a size.',
  stock: 'Not enough pairs in stock in that size.',
  quantity: 'The quantity could not be changed.',
  code: 'That code cannot be used on this cart.',
  address: 'The address was not saved: check each field.',
  approval: 'The approval could not be requested or decided.',
  quote: 'The quote could not be accepted.',
}

const Alert: FC<{ message?: string | null }> = ({ message }) => (message ? <p role="alert" class="alert">{message}</p> : null)

const money = (amount: number, currency = CURRENCY) => `${formatAmount(amount, currency)} ${currency === 'EUR' ? '€' : currency}`

/** The path part of a picture's URL: pictures are served by this app from `assets/`. */
const picturePath = (url: string | null) => {
  if (!url) return ''
  try {
    return new URL(url).pathname
  } catch {
    return ''
  }
}

interface TotalsView {
  subtotal: number
  discountTotal: number
  shippingTotal: number
  taxTotal: number
  total: number
}

const Totals: FC<{ totals: TotalsView; currency: string; giftCards?: number; locale?: Locale }> = ({ totals, currency, giftCards, locale = 'en' }) => {
  const t = (s: string) => translate(locale, s)
  return (
  <dl class="totals">
    <dt>{t('Subtotal')}</dt>
    <dd>{money(totals.subtotal, currency)}</dd>
    <dt>{t('Discount')}</dt>
    <dd>{totals.discountTotal ? `−${money(totals.discountTotal, currency)}` : money(0, currency)}</dd>
    <dt>{t('Shipping')}</dt>
    <dd>{money(totals.shippingTotal, currency)}</dd>
    <dt>{t('Tax')}</dt>
    <dd>{money(totals.taxTotal, currency)}</dd>
    <dt class="total">{t('Total')}</dt>
    <dd class="total">{money(totals.total, currency)}</dd>
    {giftCards ? (
      <>
        <dt>{t('Paid by gift card')}</dt>
        <dd>−{money(giftCards, currency)}</dd>
        <dt>{t('Due by card')}</dt>
        <dd>{money(Math.max(0, totals.total - giftCards), currency)}</dd>
      </>
    ) : null}
  </dl>
  )
}

interface ProductView {
  id: string
  handle: string
  title: string
  description: string | null
  options: Array<{ name: string; values: string[] }>
  variants: Array<{ id: string; options: Record<string, string>; prices: Array<{ currency: string; amount: number }> }>
  media: Array<{ variantId: string | null; url: string | null; alt: string | null; width: number | null; height: number | null }>
}

const priceOf = (p: ProductView) => Math.min(...p.variants.map((v) => v.prices.find((x) => x.currency === CURRENCY)?.amount ?? Number.MAX_SAFE_INTEGER))

const ProductCards: FC<{ products: ProductView[] }> = ({ products }) => (
  <ul class="grid">
    {products.map((p) => {
      const image = p.media[0]
      return (
        <li class="card">
          {image ? <img src={picturePath(image.url)} alt="" width={image.width ?? 320} height={image.height ?? 200} loading="lazy" /> : null}
          <h2 class="card-title">
            <a href={`/products/${p.handle}`}>{p.title}</a>
          </h2>
          <p>{money(priceOf(p))}</p>
        </li>
      )
    })}
  </ul>
)

// ---------------------------------------------------------------------------------------------
// The app

/**
 * Whether the shop runs as a demo unless told: yes, except when `NODE_ENV` is `production`.
 *
 * @example
 * ```ts
 * const demo = demoModeFromEnv() // false when NODE_ENV=production
 * ```
 */
export const demoModeFromEnv = (): boolean => process.env.NODE_ENV !== 'production'

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
  const { demo = demoModeFromEnv(), ...guardOptions } = options
  const guard: GuardOptions = { ...guardOptionsFromEnv(), ...guardOptions }
  // The pages call the Store API in process; the shopper's address travels in the request's env so
  // that rate limits count per shopper, not for the storefront as a whole.
  const api = storeApi(commerce, { trustProxy: guard.trustProxy ?? false, clientKey: (c) => (c.env as { shopper?: string } | undefined)?.shopper })
  const app = new Hono()
  app.route('/api/store', api)
  // With cards taken through Stripe, the checkout runs the shop's one script and Stripe.js (from
  // Stripe's origins only); otherwise the pages load nothing from elsewhere and run no script.
  const card: CardCheckout | undefined = cardCheckout(commerce)
  const stripe = card ? stripeSources(card.jsUrl) : null
  // The test gateway is offered when there is no card payment, and beside it in a demo.
  const testGateway = !card || demo
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

  const page = (c: Context, title: string, body: Child, status: 200 | 400 | 403 | 404 | 402 | 409 | 422 | 429 = 200) =>
    c.html(
      <Layout title={title} locale={localeOf(c)} path={new URL(c.req.url).pathname + new URL(c.req.url).search} cards={card !== undefined}>
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

  // A form post must come from this site (its Origin, else its Referer), on top of the SameSite=Lax
  // cookies; and a storefront form is small.
  app.use('*', async (c, next) => {
    if (c.req.method === 'POST' && !c.req.path.startsWith('/api/') && !fromThisSite(c, guard)) return c.text('Forbidden: a form from another site', 403)
    await next()
  })
  app.post('*', formBodyLimit())

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

  // -- Home ------------------------------------------------------------------------------------
  app.get('/', async (c) => {
    const locale = localeOf(c)
    const t = (s: string) => translate(locale, s)
    const store = shopper(c)
    const [products, categories, giftCard] = await Promise.all([
      store.call('GET /products', { query: { locale, currency: CURRENCY, limit: 24 } }),
      store.call('GET /categories', { query: { locale } }),
      demo ? giftCardCode(commerce) : null,
    ])
    return page(
      c,
      'Cartwright Shoes',
      <>
        <h1>Cartwright Shoes</h1>
        <p>{t('Shoes for trails, roads and town.')}</p>
        <section aria-labelledby="cats">
          <h2 id="cats">{t('Categories')}</h2>
          <ul>
            {categories.map((cat) => (
              <li>
                <a href={`/categories/${cat.handle}`}>{cat.title}</a>
              </li>
            ))}
          </ul>
        </section>
        <section aria-labelledby="products">
          <h2 id="products">{t('Products')}</h2>
          <ProductCards products={products.items.map((i) => i.product)} />
        </section>
        {demo ? (
        <section aria-labelledby="demo" class="note">
          <h2 id="demo">{t('Demo shortcuts')}</h2>
          <p>
            Coupon <code>{COUPON_CODE}</code> (10 % off); gift card <code>{giftCard ?? '—'}</code> (50.00 €). Test payments: choose approve, decline or requires action at
            checkout.
          </p>
          <p>
            Sign in as <code>{DEMO_CUSTOMER.email}</code> / <code>{DEMO_CUSTOMER.password}</code>; the wholesale buyer is <code>{WHOLESALE_BUYER.email}</code> /{' '}
            <code>{WHOLESALE_BUYER.password}</code>, the approver <code>{WHOLESALE_APPROVER.email}</code> / <code>{WHOLESALE_APPROVER.password}</code>.
          </p>
        </section>
        ) : null}
      </>,
    )
  })

  // -- Category with filters and facets --------------------------------------------------------
  app.get('/categories/:handle', async (c) => {
    const locale = localeOf(c)
    const t = (s: string) => translate(locale, s)
    const store = shopper(c)
    let category
    try {
      category = await store.call('GET /categories/:handle', { params: { handle: c.req.param('handle') }, query: { locale } })
    } catch (error) {
      return page(c, 'Not found', <><h1>Not found</h1><Alert message={messageOf(error)} /></>, 404)
    }
    const colours = c.req.queries('colour') ?? []
    const sizes = c.req.queries('size') ?? []
    const options: Record<string, string[]> = {}
    if (colours.length) options.Colour = colours.slice(0, 20)
    if (sizes.length) options.Size = sizes.slice(0, 20)
    const [result, all] = await Promise.all([
      store.call('POST /products/search', { body: { categoryId: category.id, locale, currency: CURRENCY, facets: true, limit: 48, ...(colours.length || sizes.length ? { options } : {}) } }),
      store.call('POST /products/search', { body: { categoryId: category.id, currency: CURRENCY, facets: true, limit: 1 } }),
    ])
    const facet = (name: string) => all.facets?.options[name] ?? []
    const countOf = (name: string, value: string) => result.facets?.options[name]?.find((f) => f.value === value)?.count ?? 0
    return page(
      c,
      category.title,
      <>
        <h1>{category.title}</h1>
        {category.description ? <p>{category.description}</p> : null}
        <form method="get" action={`/categories/${category.handle}`} class="filters">
          <fieldset>
            <legend>{tr(c)('Colour')}</legend>
            {facet('Colour').map((f) => (
              <label>
                <input type="checkbox" name="colour" value={f.value} checked={colours.includes(f.value)} /> {f.value}{' '}
                <span class="hint">({countOf('Colour', f.value)})</span>
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>{tr(c)('Size')}</legend>
            {facet('Size')
              .sort((a, b) => Number(a.value) - Number(b.value))
              .map((f) => (
                <label>
                  <input type="checkbox" name="size" value={f.value} checked={sizes.includes(f.value)} /> {f.value}
                </label>
              ))}
          </fieldset>
          <button type="submit">{tr(c)('Apply filters')}</button>
        </form>
        <p>
          {result.total} {t('results')}
        </p>
        {result.items.length ? <ProductCards products={result.items.map((i) => i.product)} /> : <p>{t('No shoes match.')}</p>}
      </>,
    )
  })

  // -- Search ----------------------------------------------------------------------------------
  app.get('/search', async (c) => {
    const locale = localeOf(c)
    const t = (s: string) => translate(locale, s)
    const q = (c.req.query('q') ?? '').slice(0, 200)
    const result = await shopper(c).call('GET /products', { query: { ...(q ? { query: q } : {}), locale, currency: CURRENCY, limit: 48 } })
    return page(
      c,
      'Search results',
      <>
        <h1>{tr(c)('Search results')}</h1>
        <p>
          {result.total} {t('results')}
          {q ? ` for “${q}”` : ''}
        </p>
        {result.items.length ? <ProductCards products={result.items.map((i) => i.product)} /> : <p>{t('No shoes match.')}</p>}
      </>,
    )
  })

  // -- Product ---------------------------------------------------------------------------------
  app.get('/products/:handle', async (c) => {
    const locale = localeOf(c)
    const t = (s: string) => translate(locale, s)
    const store = shopper(c)
    const handle = c.req.param('handle')
    let product
    try {
      product = await store.call('GET /products/:handle', { params: { handle }, query: { locale } })
    } catch (error) {
      return page(c, t('Product not found'), <><h1>{t('Product not found')}</h1><Alert message={messageOf(error)} /></>, 404)
    }
    // Option names and values come translated; the variants keep the default locale's values.
    const english = locale === 'en' ? product : await store.call('GET /products/:handle', { params: { handle } })
    const colourIndex = english.options.findIndex((o) => o.name === 'Colour')
    const sizeIndex = english.options.findIndex((o) => o.name === 'Size')
    const colourValues = english.options[colourIndex]?.values ?? []
    const shownColour = (value: string) => product.options[colourIndex]?.values[colourValues.indexOf(value)] ?? value
    const wanted = (c.req.query('colour') ?? '').toLowerCase()
    const colour = colourValues.find((v) => v.toLowerCase() === wanted) ?? colourValues[0] ?? ''
    const [stock, reviews, summary, me] = await Promise.all([
      store.call('GET /storefront/products/:handle/stock', { params: { handle } }),
      store.call('GET /products/:productId/reviews', { params: { productId: product.id }, query: { limit: 10 } }),
      store.call('GET /products/:productId/reviews/summary', { params: { productId: product.id } }),
      signedIn(c),
    ])
    const available = new Map(stock.map((s) => [s.variantId, s.available]))
    const variants = product.variants.filter((v) => v.options.Colour === colour)
    const variantIds = new Set(variants.map((v) => v.id))
    const pictures = product.media.filter((m) => m.variantId && variantIds.has(m.variantId))
    const price = variants[0]?.prices.find((p) => p.currency === CURRENCY)?.amount
    return page(
      c,
      product.title,
      <>
        <h1>{product.title}</h1>
        <Alert message={notice(c)} />
        <div class="pictures" aria-label={t('Pictures')} role="group">
          {pictures.map((m) => (
            <img src={picturePath(m.url)} alt={m.alt ?? product.title} width={m.width ?? 320} height={m.height ?? 200} />
          ))}
        </div>
        {price !== undefined ? <p class="price">{money(price)}</p> : null}
        {product.description ? <p>{product.description}</p> : null}
        <nav aria-label="Colour">
          <p class="flush">{product.options[colourIndex]?.name ?? 'Colour'}:</p>
          <ul>
            {colourValues.map((value) => (
              <li>
                <a href={`/products/${product.handle}?colour=${encodeURIComponent(value.toLowerCase())}`} aria-current={value === colour ? 'true' : undefined}>
                  {shownColour(value)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <form method="post" action="/cart/lines">
          <fieldset>
            <legend>{tr(c)('Size')}</legend>
            {variants.map((v) => {
              const units = available.get(v.id) ?? 0
              const size = v.options.Size ?? ''
              return (
                <label>
                  <input type="radio" name="variantId" value={v.id} disabled={units <= 0} aria-describedby={`stock-${v.id}`} />
                  {size}{' '}
                  <span id={`stock-${v.id}`} class="hint">
                    {units <= 0 ? t('Sold out') : `${units} ${t('left')}`}
                  </span>
                </label>
              )
            })}
          </fieldset>
          <input type="hidden" name="handle" value={product.handle} />
          <input type="hidden" name="colour" value={colour.toLowerCase()} />
          <label for="quantity">{tr(c)('Quantity')}</label>
          <input id="quantity" name="quantity" type="number" min="1" max="10" value="1" required />{' '}
          <button type="submit">{tr(c)('Add to cart')}</button>
        </form>
        <section aria-labelledby="reviews">
          <h2 id="reviews">Reviews</h2>
          {summary.count ? (
            <p>
              {summary.average?.toFixed(1)} / 5 ({summary.count})
            </p>
          ) : (
            <p>{t('No reviews yet.')}</p>
          )}
          <ul>
            {reviews.items.map((r) => (
              <li>
                <strong>
                  {r.rating}/5 {r.title ?? ''}
                </strong>{' '}
                — {r.name ?? 'A shopper'}
                {r.verifiedBuyer ? ' (verified buyer)' : ''}
                <p>{r.body}</p>
              </li>
            ))}
          </ul>
          {c.req.query('reviewed') ? <p role="status" class="note">Thank you: your review will appear once it is approved.</p> : null}
          {!me ? (
            <p>
              <a href="/account/login">Sign in</a> to write a review.
            </p>
          ) : !me.account.emailVerified ? (
            <p>Verify your email to write a review.</p>
          ) : (
          <details>
            <summary>{t('Write a review')}</summary>
            <form method="post" action={`/products/${product.handle}/reviews`}>
              <label for="review-name">Name</label>
              <input id="review-name" name="name" maxlength={100} value={me.account.firstName ?? ''} />
              <label for="review-rating">Rating</label>
              <select id="review-rating" name="rating">
                {[5, 4, 3, 2, 1].map((n) => (
                  <option value={String(n)}>{n}</option>
                ))}
              </select>
              <label for="review-title">Title</label>
              <input id="review-title" name="title" maxlength={150} />
              <label for="review-body">Review</label>
              <textarea id="review-body" name="body" required maxlength={5000} rows={4}></textarea>
              <p>
                <button type="submit">Submit review</button>
              </p>
            </form>
          </details>
          )}
        </section>
      </>,
    )
  })

  // A review is written by a signed-in customer with a verified email, under that email: "verified
  // buyer" is decided by the email, so a typed one would let anyone write as a buyer.
  app.post('/products/:handle/reviews', async (c) => {
    const field = await form(c)
    const handle = c.req.param('handle').replace(/[^a-z0-9-]/g, '')
    const me = await signedIn(c)
    if (!me) return c.redirect('/account/login', 303)
    if (!me.account.emailVerified) return page(c, 'Review not saved', <><h1>Review not saved</h1><Alert message="Verify your email to write a review." /><a href={`/products/${handle}`}>Back</a></>, 403)
    const store = me.store
    try {
      const product = await store.call('GET /products/:handle', { params: { handle } })
      await store.call('POST /products/:productId/reviews', {
        params: { productId: product.id },
        body: { email: me.account.email, rating: Number(field('rating')) || 5, body: field('body'), ...(field('name') ? { name: field('name') } : {}), ...(field('title') ? { title: field('title') } : {}) },
      })
    } catch (error) {
      return page(c, 'Review not saved', <><h1>Review not saved</h1><Alert message={messageOf(error)} /><a href={`/products/${handle}`}>Back</a></>, 400)
    }
    return c.redirect(`/products/${handle}?reviewed=1#reviews`, 303)
  })

  // -- Cart ------------------------------------------------------------------------------------

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

  app.post('/cart/lines', async (c) => {
    const field = await form(c)
    const handle = field('handle').replace(/[^a-z0-9-]/g, '')
    const back = `/products/${handle}?colour=${encodeURIComponent(field('colour').replace(/[^a-z]/g, ''))}`
    const variantId = field('variantId')
    const quantity = Math.max(1, Math.min(10, Number.parseInt(field('quantity'), 10) || 1))
    if (!variantId) return c.redirect(`${back}&error=size`, 303)
    const { cart, store } = (await openCart(c, true))!
    try {
      await store.call('POST /carts/:cartId/lines', { params: { cartId: cart.id }, body: { variantId, quantity } })
    } catch (error) {
      if (isStoreApiError(error, 'OUT_OF_STOCK')) return c.redirect(`${back}&error=stock`, 303)
      return page(c, 'Not added', <><h1>Not added</h1><Alert message={messageOf(error)} /><a href={back}>Back</a></>, 400)
    }
    return c.redirect('/cart', 303)
  })

  app.post('/cart/lines/:lineId', async (c) => {
    const field = await form(c)
    const open = await openCart(c, false)
    if (open) {
      const quantity = field('remove') ? 0 : Math.max(0, Math.min(10, Number.parseInt(field('quantity'), 10) || 0))
      try {
        await open.store.call('PATCH /carts/:cartId/lines/:lineId', { params: { cartId: open.cart.id, lineId: c.req.param('lineId') }, body: { quantity } })
      } catch (error) {
        if (!isStoreApiError(error)) throw error
        return c.redirect(isStoreApiError(error, 'OUT_OF_STOCK') ? '/cart?error=stock' : '/cart?error=quantity', 303)
      }
    }
    return c.redirect('/cart', 303)
  })

  app.post('/cart/code', async (c) => {
    const field = await form(c)
    const code = field('code').slice(0, 100)
    // The cart page and the checkout's payment step both take a code; each gets its page back.
    const back = field('back') === '/checkout/shipping' ? '/checkout/shipping' : '/cart'
    const open = await openCart(c, false)
    if (!open || !code) return c.redirect(back, 303)
    const params = { cartId: open.cart.id }
    // A gift card's code is 16 characters of its alphabet (dashes and spaces aside); anything else is a coupon.
    const looksLikeGiftCard = /^[A-Z2-9]{16}$/i.test(code.replace(/[\s-]/g, ''))
    try {
      if (looksLikeGiftCard) await open.store.call('POST /carts/:cartId/gift-cards', { params, body: { code } })
      else await open.store.call('POST /carts/:cartId/promotion-codes', { params, body: { code } })
    } catch (error) {
      if (!isStoreApiError(error)) throw error
      return c.redirect(`${back}?error=code`, 303)
    }
    return c.redirect(`${back}?applied=1`, 303)
  })

  app.get('/cart', async (c) => {
    const locale = localeOf(c)
    const t = (s: string) => translate(locale, s)
    const open = await openCart(c, false)
    const error = notice(c)
    if (!open || open.cart.lines.length === 0) {
      return page(
        c,
        tr(c)('Your cart'),
        <>
          <h1>{tr(c)('Your cart')}</h1>
          <Alert message={error} />
          <p>{t('Your cart is empty.')}</p>
          <a href="/">{t('Continue shopping')}</a>
        </>,
      )
    }
    const { cart, store } = open
    const [codes, cards] = await Promise.all([
      store.call('GET /carts/:cartId/promotion-codes', { params: { cartId: cart.id } }),
      giftCardsOf(store, cart.id),
    ])
    return page(
      c,
      tr(c)('Your cart'),
      <>
        <h1>{tr(c)('Your cart')}</h1>
        <Alert message={error} />
        {c.req.query('applied') ? <p role="status" class="note">Code applied.</p> : null}
        <table>
          <caption class="hint left">
            {cart.lines.length} {cart.lines.length === 1 ? 'line' : 'lines'}
          </caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Quantity</th>
              <th scope="col">Price</th>
            </tr>
          </thead>
          <tbody>
            {cart.lines.map((line) => (
              <tr>
                <td>
                  {line.title}
                  <br />
                  <span class="hint">{line.variantTitle}</span>
                </td>
                <td>
                  <form method="post" action={`/cart/lines/${line.id}`}>
                    <label for={`qty-${line.id}`} class="hint flush">
                      Quantity of {line.title}, {line.variantTitle}
                    </label>
                    <input id={`qty-${line.id}`} name="quantity" type="number" min="0" max="10" value={String(line.quantity)} class="qty" />{' '}
                    <button type="submit" class="secondary">
                      {t('Update')}
                    </button>{' '}
                    <button type="submit" name="remove" value="1" class="secondary">
                      {t('Remove')}
                    </button>
                  </form>
                </td>
                <td>{money(line.subtotal, cart.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {codes.codes?.length ? <p>Coupon: {codes.codes.join(', ')}</p> : null}
        {cards.cards.length ? <p>Gift cards: {cards.cards.map((g) => `…${g.last4}`).join(', ')}</p> : null}
        <Totals locale={localeOf(c)} totals={cart.totals} currency={cart.currency} giftCards={cards.cards.reduce((s, g) => s + g.amount, 0)} />
        <p class="hint">{tr(c)('Shipping is added at checkout, once you choose how your shoes reach you.')}</p>
        <form method="post" action="/cart/code">
          <label for="code">{tr(c)('Coupon or gift card code')}</label>
          <input id="code" name="code" autocomplete="off" /> <button type="submit">{tr(c)('Apply code')}</button>
        </form>
        <p>
          <a class="button" href="/checkout">
            {tr(c)('Checkout')}
          </a>
        </p>
      </>,
    )
  })

  // -- Checkout --------------------------------------------------------------------------------
  const AddressForm: FC<{ values: Record<string, string>; error?: string | null; t: (text: string) => string }> = ({ values, error, t }) => (
    <form method="post" action="/checkout">
      <Alert message={error} />
      <h2>1. Address</h2>
      <label for="email">{t('Email')}</label>
      <input id="email" name="email" type="email" autocomplete="email" required value={values.email ?? ''} />
      <label for="firstName">{t('First name')}</label>
      <input id="firstName" name="firstName" autocomplete="given-name" required value={values.firstName ?? ''} />
      <label for="lastName">{t('Last name')}</label>
      <input id="lastName" name="lastName" autocomplete="family-name" required value={values.lastName ?? ''} />
      <label for="line1">{t('Address')}</label>
      <input id="line1" name="line1" autocomplete="address-line1" required value={values.line1 ?? ''} />
      <label for="city">{t('City')}</label>
      <input id="city" name="city" autocomplete="address-level2" required value={values.city ?? ''} />
      <label for="postalCode">{t('Postal code')}</label>
      <input id="postalCode" name="postalCode" autocomplete="postal-code" required value={values.postalCode ?? ''} />
      <label for="country">{t('Country')}</label>
      <select id="country" name="country" autocomplete="country">
        {COUNTRIES.map((country) => (
          <option value={country.code} selected={country.code === (values.country || 'DE')}>
            {country.name}
          </option>
        ))}
      </select>
      <p>
        <button type="submit">{t('Continue')}</button>
      </p>
    </form>
  )

  app.get('/checkout', async (c) => {
    const open = await openCart(c, false)
    if (!open || open.cart.lines.length === 0) return c.redirect('/cart', 303)
    const { cart, store } = open
    let values: Record<string, string> = { email: cart.email ?? '', ...(cart.shippingAddress as Record<string, string> | null) }
    if (!cart.shippingAddress && getCookie(c, SESSION_COOKIE)) {
      // A signed-in customer starts from their saved address.
      try {
        const [account, addresses] = await Promise.all([store.call('GET /account'), store.call('GET /account/addresses')])
        const saved = addresses.find((a) => a.defaultShipping) ?? addresses[0]
        values = { email: account.email, firstName: account.firstName ?? '', lastName: account.lastName ?? '', ...(saved?.address as Record<string, string> | undefined) }
      } catch {
        // An ended session: the shopper types their address.
      }
    }
    return page(
      c,
      'Checkout',
      <>
        <h1>{tr(c)('Checkout')}</h1>
        <AddressForm values={values} t={tr(c)} />
        <Totals locale={localeOf(c)} totals={cart.totals} currency={cart.currency} />
      </>,
    )
  })

  app.post('/checkout', async (c) => {
    const field = await form(c)
    const open = await openCart(c, false)
    if (!open) return c.redirect('/cart', 303)
    const values = Object.fromEntries(['email', 'firstName', 'lastName', 'line1', 'city', 'postalCode', 'country'].map((k) => [k, field(k)]))
    try {
      await open.store.call('PATCH /carts/:cartId', {
        params: { cartId: open.cart.id },
        body: {
          email: values.email!,
          shippingAddress: { firstName: values.firstName!, lastName: values.lastName!, line1: values.line1!, city: values.city!, postalCode: values.postalCode!, country: values.country || 'DE' },
        },
      })
    } catch (error) {
      return page(c, 'Checkout', <><h1>{tr(c)('Checkout')}</h1><AddressForm values={values} error={messageOf(error)} t={tr(c)} /></>, 400)
    }
    return c.redirect('/checkout/shipping', 303)
  })

  const renderShipping = async (c: Context, error: string | null, status: 200 | 402 | 400 | 409 = 200) => {
    const open = await openCart(c, false)
    if (!open || open.cart.lines.length === 0) return c.redirect('/cart', 303)
    const { cart, store } = open
    if (!cart.email) return c.redirect('/checkout', 303)
    const [options, cards] = await Promise.all([
      store.call('GET /carts/:cartId/shipping-options', { params: { cartId: cart.id } }),
      giftCardsOf(store, cart.id),
    ])
    // Delivery first, pickup last.
    options.sort((a, b) => Number(Boolean(a.pickupLocationId)) - Number(Boolean(b.pickupLocationId)))
    const chosen = cart.shippingMethod?.id ?? options[0]?.id
    return page(
      c,
      'Checkout',
      <>
        <h1>{tr(c)('Checkout')}</h1>
        <Alert message={error} />
        <p>
          Shipping to {cart.shippingAddress ? `${cart.shippingAddress.firstName ?? ''} ${cart.shippingAddress.lastName ?? ''}, ${cart.shippingAddress.line1}, ${cart.shippingAddress.postalCode ?? ''} ${cart.shippingAddress.city}` : '—'} ({cart.email}).{' '}
          <a href="/checkout">Change address</a>
        </p>
        <form method="post" action="/checkout/place">
          <h2>2. Shipping and payment</h2>
          <fieldset>
            <legend>{tr(c)('Shipping')}</legend>
            {options.map((o) => (
              <label>
                <input type="radio" name="shipping" value={o.id} checked={o.id === chosen} required />
                {o.pickupLocationId ? o.name : o.name} — {money(o.amount, cart.currency)}
                {o.estimate ? <span class="hint"> ({o.estimate})</span> : null}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>{tr(c)(card ? 'Payment' : 'Test payment')}</legend>
            {card ? (
              <>
                <label>
                  <input type="radio" name="outcome" value="card" checked /> {tr(c)('Card')}
                </label>
                <div id="card-element" class="card-element" data-key={card.publishableKey}></div>
                <p id="card-errors" class="card-errors" role="alert" aria-live="assertive"></p>
                <input type="hidden" name="paymentMethod" value="" />
                <noscript>
                  <p class="hint">{tr(c)('Paying by card needs JavaScript: turn it on to enter your card, which goes to Stripe and never to this shop.')}</p>
                </noscript>
              </>
            ) : null}
            {testGateway ? (
              <>
                <label>
                  <input type="radio" name="outcome" value="approve" checked={!card} /> {tr(c)(card ? 'Test payment: approve' : 'Approve')}
                </label>
                <label>
                  <input type="radio" name="outcome" value="decline" /> {tr(c)(card ? 'Test payment: decline' : 'Decline')}
                </label>
                <label>
                  <input type="radio" name="outcome" value="requires_action" /> {tr(c)(card ? 'Test payment: requires action' : 'Requires action')}
                </label>
              </>
            ) : null}
          </fieldset>
          <Totals locale={localeOf(c)} totals={cart.totals} currency={cart.currency} giftCards={cards.cards.reduce((s, g) => s + g.amount, 0)} />
          <input type="hidden" name="attempt" value={randomUUID()} />
          <p>
            <button type="submit">{tr(c)('Place order')}</button>
          </p>
        </form>
        {card ? (
          <>
            <script src={card.jsUrl}></script>
            <script src={CARD_SCRIPT_PATH}></script>
          </>
        ) : null}
        <form method="post" action="/cart/code">
          <input type="hidden" name="back" value="/checkout/shipping" />
          <label for="code">{tr(c)('Coupon or gift card code')}</label>
          <input id="code" name="code" autocomplete="off" /> <button type="submit">{tr(c)('Apply code')}</button>
        </form>
      </>,
      status,
    )
  }

  app.get('/checkout/shipping', (c) => renderShipping(c, notice(c)))

  const orderLink = (order: { id: string; accessToken?: string | undefined }, first: boolean) =>
    `/orders/${order.id}?${new URLSearchParams({ ...(order.accessToken ? { token: order.accessToken } : {}), ...(first ? { placed: '1' } : {}) })}`

  app.post('/checkout/place', async (c) => {
    const field = await form(c)
    // Not openCart: a form sent twice finds its cart completing or completed by the first, and the
    // same attempt's key then answers the first's order.
    const current = cartOf(c)
    if (!current) return c.redirect('/cart', 303)
    const store = shopper(c)
    const params = { cartId: current.id }
    const cart = await store.call('GET /carts/:cartId', { params }).catch((error: unknown) => {
      if (isStoreApiError(error, 'NOT_FOUND')) return null
      throw error
    })
    const outcome = field('outcome')
    const payment =
      card && outcome === 'card'
        ? { provider: card.provider, data: { paymentMethod: field('paymentMethod') } }
        : testGateway && ['approve', 'decline', 'requires_action'].includes(outcome)
          ? { provider: 'test', data: { outcome } }
          : null
    if (!payment) return renderShipping(c, tr(c)('Choose how to pay.'), 400)
    try {
      if (cart?.status === 'open' && field('shipping') && field('shipping') !== cart.shippingMethod?.id) {
        await store.call('PUT /carts/:cartId/shipping-option', { params, body: { optionId: field('shipping') } }).catch((error: unknown) => {
          // The same form, sent twice, completed the cart meanwhile: its checkout below answers that order.
          if (!isStoreApiError(error, 'INVALID_STATE')) throw error
        })
      }
      // One key per attempt (the form's): a double submit places one order; a new attempt after a decline gets a new key.
      const key = `checkout-${current.id}-${(field('attempt') || randomUUID()).slice(0, 64)}`
      const result = await store.call('POST /carts/:cartId/checkout', { params, idempotencyKey: key, body: { payment } })
      if (result.status === 'requires_action') return nextAction(c, result.action)
      deleteCookie(c, CART_COOKIE, { path: '/' })
      return c.redirect(orderLink(result, true), 303)
    } catch (error) {
      if (isStoreApiError(error, 'PAYMENT_DECLINED')) return renderShipping(c, 'Your payment was declined. No order was placed and nothing was charged: choose another payment and try again.', 402)
      if (isStoreApiError(error, 'B2B_APPROVAL_REQUIRED')) return renderShipping(c, `This order is above your spending limit: ask your company to approve it on the approvals page (/account/approvals).`, 409)
      return renderShipping(c, messageOf(error), 400)
    }
  })

  /**
   * Where a payment that needs the shopper goes next: a redirect to the bank's page (the test
   * gateway's pretend bank), or, for Stripe, a page where Stripe.js asks the shopper to authenticate
   * and then sends them on to the confirmation, which asks Stripe how it went.
   */
  const nextAction = async (c: Context, action: { type: 'redirect'; url: string } | { type: 'client_secret'; clientSecret: string }) => {
    if (action.type === 'redirect') return c.redirect(action.url, 303)
    const open = await openCart(c, false)
    if (!card || !open) return renderShipping(c, tr(c)('Your payment could not be confirmed: try again.'), 400)
    return page(
      c,
      'Confirm your payment',
      <>
        <h1>{tr(c)('Confirm your payment')}</h1>
        <p>{tr(c)('Your bank asks you to confirm this payment.')} {money(open.cart.totals.total, open.cart.currency)}</p>
        <form method="post" action="/checkout/confirm-payment">
          <div id="card-action" data-key={card.publishableKey} data-secret={action.clientSecret}></div>
          <p id="card-errors" class="card-errors" role="alert"></p>
          <noscript>
            <p class="hint">{tr(c)('Confirming a card payment needs JavaScript: turn it on and reload this page.')}</p>
          </noscript>
          <button type="submit">{tr(c)('Continue')}</button>
        </form>
        <script src={card.jsUrl}></script>
        <script src={CARD_SCRIPT_PATH}></script>
      </>,
    )
  }

  app.get('/checkout/confirm-payment', async (c) => {
    const ref = c.req.query('ref') ?? ''
    const open = await openCart(c, false)
    if (!open) return c.redirect('/cart', 303)
    return page(
      c,
      'Confirm your payment',
      <>
        <h1>{tr(c)('Confirm your payment')}</h1>
        <p>Your bank asks you to confirm this payment of {money(open.cart.totals.total, open.cart.currency)} (a test page: nothing is charged).</p>
        <form method="post" action="/checkout/confirm-payment">
          <input type="hidden" name="ref" value={ref} />
          <button type="submit">{tr(c)('Confirm payment')}</button>
        </form>
      </>,
    )
  })

  app.post('/checkout/confirm-payment', async (c) => {
    const field = await form(c)
    const open = await openCart(c, false)
    if (!open) return c.redirect('/cart', 303)
    // The pretend bank records the shopper's confirmation; the shop then asks the gateway. Demo
    // only: the pretend bank confirms any reference it is given (see demoPayments in shop.ts).
    demoBank(commerce)?.confirmAtBank(field('ref'))
    try {
      const result = await open.store.call('POST /carts/:cartId/checkout/confirm', { params: { cartId: open.cart.id } })
      if (result.status === 'requires_action') return nextAction(c, result.action)
      deleteCookie(c, CART_COOKIE, { path: '/' })
      return c.redirect(orderLink(result, true), 303)
    } catch (error) {
      if (isStoreApiError(error, 'PAYMENT_DECLINED')) return renderShipping(c, 'Your payment was declined. No order was placed.', 402)
      return renderShipping(c, messageOf(error), 400)
    }
  })

  // -- Orders ----------------------------------------------------------------------------------
  app.get('/orders/:orderId', async (c) => {
    const token = c.req.query('token')
    const store = shopper(c)
    let order
    try {
      order = await store.call('GET /orders/:orderId', { params: { orderId: c.req.param('orderId') }, ...(token ? { orderToken: token } : {}) })
    } catch (error) {
      return page(c, 'Order not found', <><h1>Order not found</h1><Alert message={messageOf(error)} /></>, 404)
    }
    const first = c.req.query('placed') === '1'
    const link = `/orders/${order.id}${token ? `?token=${encodeURIComponent(token)}` : ''}`
    return page(
      c,
      first ? 'Thank you for your order' : `Order #${order.number}`,
      <>
        <h1>{first ? tr(c)('Thank you for your order') : `${localeOf(c) === 'de' ? 'Bestellung' : 'Order'} #${order.number}`}</h1>
        <p>
          Order number: <strong>#{order.number}</strong> · status {order.status}, payment {order.paymentStatus}, {order.fulfillmentStatus}
        </p>
        {first ? (
          <p class="note">
            A confirmation goes to {order.email}. Keep this link to see your order's status: <a href={link}>order #{order.number}</a>.
          </p>
        ) : null}
        <ul>
          {order.lines.map((l) => (
            <li>
              {l.quantity} × {l.title} ({l.variantTitle}) — {money(l.subtotal, order.currency)}
            </li>
          ))}
        </ul>
        {order.shippingMethod ? <p>Delivery: {order.shippingMethod.name}</p> : null}
        <Totals locale={localeOf(c)} totals={order.totals} currency={order.currency} />
      </>,
    )
  })

  // -- Account ---------------------------------------------------------------------------------
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

  const AccountNav: FC = () => (
    <nav aria-label="Account">
      <ul class="row">
        <li>
          <a href="/account">Overview</a>
        </li>
        <li>
          <a href="/account/addresses">Addresses</a>
        </li>
        <li>
          <a href="/account/approvals">Approvals</a>
        </li>
        <li>
          <a href="/account/quotes">Quotes</a>
        </li>
        <li>
          <form method="post" action="/account/logout" class="inline">
            <button type="submit" class="secondary">
              Sign out
            </button>
          </form>
        </li>
      </ul>
    </nav>
  )

  const RegisterForm: FC<{ error?: string | null; values?: Record<string, string> }> = ({ error, values = {} }) => (
    <form method="post" action="/account/register">
      <Alert message={error} />
      <label for="name">Name</label>
      <input id="name" name="name" autocomplete="name" value={values.name ?? ''} />
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="email" required value={values.email ?? ''} />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="new-password" required minlength={10} aria-describedby="password-hint" />
      <p id="password-hint" class="hint">
        At least 10 characters.
      </p>
      <button type="submit">Create account</button>
    </form>
  )

  app.get('/account/register', (c) => page(c, 'Create an account', <><h1>Create an account</h1><RegisterForm /><p>Already have one? <a href="/account/login">Sign in</a>.</p></>))

  app.post('/account/register', async (c) => {
    const field = await form(c)
    const [firstName, ...rest] = field('name').split(/\s+/).filter(Boolean)
    const values = { name: field('name'), email: field('email') }
    const checkEmail = (email: string, token: string | null) =>
      page(
        c,
        'Check your email',
        <>
          <h1>Check your email</h1>
          <p>We sent a link to {email} to verify your address.</p>
          {token ? (
            <p class="note">
              Demo shortcut (there is no mail server here): <a href={`/account/verify?token=${encodeURIComponent(token)}`}>verify your email</a>.
            </p>
          ) : null}
        </>,
      )
    const started = Date.now()
    try {
      // The Store API answers the same whether the email has an account or not (the owner of an
      // account is mailed a note instead), so the page tells no one which emails have accounts.
      await shopper(c).call('POST /account/register', {
        body: { email: field('email'), password: field('password'), ...(firstName ? { firstName } : {}), ...(rest.length ? { lastName: rest.join(' ') } : {}), locale: localeOf(c) },
      })
    } catch (error) {
      return page(c, 'Create an account', <><h1>Create an account</h1><RegisterForm error={messageOf(error)} values={values} /></>, 400)
    }
    // No mail server here: a real shop's mailer sends this link to the address; a demo shows it on
    // the page instead, for an account this registration made (only a demo: whoever typed the
    // email could verify it). Never for an older one: verifying a profile staff made, just
    // claimed, would give its address to whoever typed it.
    const customer = demo ? await commerce.customers.findByEmail(values.email!) : null
    const made = customer !== null && !customer.emailVerified && Date.parse(customer.createdAt) >= started
    const token = made ? await commerce.customers.accounts.mintVerificationToken(customer.id) : null
    return checkEmail(values.email!, token)
  })

  // The link in the (demo) verification mail: opening it verifies the address.
  app.get('/account/verify', async (c) => {
    try {
      await shopper(c).call('POST /account/verify', { body: { token: (c.req.query('token') ?? '').slice(0, 200) } })
    } catch (error) {
      return page(c, 'Verify your email', <><h1>Verify your email</h1><Alert message={messageOf(error)} /></>, 400)
    }
    return c.redirect('/account/login?verified=1', 303)
  })

  const LoginForm: FC<{ error?: string | null }> = ({ error }) => (
    <form method="post" action="/account/login">
      <Alert message={error} />
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="email" required />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required />
      <p>
        <button type="submit">Sign in</button>
      </p>
    </form>
  )

  app.get('/account/login', (c) =>
    page(
      c,
      'Sign in',
      <>
        <h1>Sign in</h1>
        {c.req.query('verified') ? <p role="status" class="note">Your email is verified: sign in.</p> : null}
        <LoginForm />
        <p>
          New here? <a href="/account/register">Create an account</a>.
        </p>
      </>,
    ),
  )

  app.post('/account/login', async (c) => {
    const field = await form(c)
    // The guest cart joins the account only when it still opens: a stale cookie must not stop a sign-in.
    const open = cartOf(c)?.token ? await openCart(c, false) : null
    let login
    try {
      login = await shopper(c).call('POST /account/login', { body: { email: field('email'), password: field('password'), ...(open ? { guestCartId: open.cart.id } : {}) } })
    } catch (error) {
      return page(c, 'Sign in', <><h1>Sign in</h1><LoginForm error={messageOf(error)} /></>, 400)
    }
    cookie(c, SESSION_COOKIE, login.sessionToken)
    return c.redirect('/account', 303)
  })

  app.post('/account/logout', async (c) => {
    const session = getCookie(c, SESSION_COOKIE)
    if (session) await shopper(c).call('POST /account/logout', { body: { sessionToken: session } }).catch(() => undefined)
    deleteCookie(c, SESSION_COOKIE, { path: '/' })
    deleteCookie(c, CART_COOKIE, { path: '/' })
    return c.redirect('/', 303)
  })

  app.get('/account', async (c) => {
    const me = await signedIn(c)
    if (!me) return c.redirect('/account/login', 303)
    const orders = await me.store.call('GET /account/orders', { query: { limit: 20 } })
    return page(
      c,
      'Your account',
      <>
        <h1>{tr(c)('Your account')}</h1>
        <AccountNav />
        <p>
          Signed in as {me.account.firstName ?? ''} {me.account.lastName ?? ''} ({me.account.email}){me.account.emailVerified ? '' : ', email not verified yet'}.
        </p>
        <section aria-labelledby="history">
          <h2 id="history">{tr(c)('Order history')}</h2>
          {orders.items.length ? (
            <ul>
              {orders.items.map((o) => (
                <li>
                  <a href={`/orders/${o.id}`}>Order #{o.number}</a> — {new Date(o.createdAt).toISOString().slice(0, 10)}, {money(o.totals.total, o.currency)}, {o.status}
                </li>
              ))}
            </ul>
          ) : (
            <p>No orders yet.</p>
          )}
        </section>
      </>,
    )
  })

  app.get('/account/addresses', async (c) => {
    const me = await signedIn(c)
    if (!me) return c.redirect('/account/login', 303)
    const addresses = await me.store.call('GET /account/addresses')
    return page(
      c,
      'Your addresses',
      <>
        <h1>Your addresses</h1>
        <AccountNav />
        <Alert message={notice(c)} />
        <ul>
          {addresses.map((a) => (
            <li>
              {a.address.firstName} {a.address.lastName}, {a.address.line1}, {a.address.postalCode} {a.address.city}, {a.address.country}
              {a.defaultShipping ? ' (default)' : ''}
            </li>
          ))}
        </ul>
        <h2>Add an address</h2>
        <form method="post" action="/account/addresses">
          <label for="firstName">First name</label>
          <input id="firstName" name="firstName" required />
          <label for="lastName">Last name</label>
          <input id="lastName" name="lastName" required />
          <label for="line1">Address</label>
          <input id="line1" name="line1" required />
          <label for="city">City</label>
          <input id="city" name="city" required />
          <label for="postalCode">Postal code</label>
          <input id="postalCode" name="postalCode" required />
          <label for="country">Country</label>
          <select id="country" name="country">
            {COUNTRIES.map((country) => (
              <option value={country.code}>{country.name}</option>
            ))}
          </select>
          <p>
            <button type="submit">Save address</button>
          </p>
        </form>
      </>,
    )
  })

  app.post('/account/addresses', async (c) => {
    const field = await form(c)
    const me = await signedIn(c)
    if (!me) return c.redirect('/account/login', 303)
    try {
      await me.store.call('POST /account/addresses', {
        body: { address: { firstName: field('firstName'), lastName: field('lastName'), line1: field('line1'), city: field('city'), postalCode: field('postalCode'), country: field('country') || 'DE' } },
      })
    } catch (error) {
      if (!isStoreApiError(error)) throw error
      return c.redirect('/account/addresses?error=address', 303)
    }
    return c.redirect('/account/addresses', 303)
  })

  app.get('/account/approvals', async (c) => {
    const me = await signedIn(c)
    if (!me) return c.redirect('/account/login', 303)
    const approvals = await me.store.call('GET /storefront/b2b/approvals')
    const open = await openCart(c, false)
    return page(
      c,
      'Approvals',
      <>
        <h1>Approvals</h1>
        <AccountNav />
        <Alert message={notice(c)} />
        {open && open.cart.lines.length ? (
          <form method="post" action="/account/approvals/request">
            <p>
              Your cart comes to {money(open.cart.totals.total, open.cart.currency)}. <button type="submit">Ask for approval</button>
            </p>
          </form>
        ) : null}
        {approvals.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Buyer</th>
                <th scope="col">Total</th>
                <th scope="col">Status</th>
                <th scope="col">Decision</th>
              </tr>
            </thead>
            <tbody>
              {approvals.map((a) => (
                <tr>
                  <td>{a.buyerEmail ?? a.buyerId}</td>
                  <td>{money(a.total, a.currency)}</td>
                  <td>{a.status}</td>
                  <td>
                    {a.status === 'pending' && a.buyerId !== me.account.id ? (
                      <form method="post" action={`/account/approvals/${a.id}`}>
                        <button type="submit" name="decision" value="approve">
                          Approve
                        </button>{' '}
                        <button type="submit" name="decision" value="reject" class="secondary">
                          Reject
                        </button>
                      </form>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>No approval requests.</p>
        )}
      </>,
    )
  })

  app.post('/account/approvals/request', async (c) => {
    const me = await signedIn(c)
    if (!me) return c.redirect('/account/login', 303)
    const open = await openCart(c, false)
    if (!open) return c.redirect('/cart', 303)
    try {
      await me.store.call('POST /b2b/carts/:cartId/approval', { params: { cartId: open.cart.id } })
    } catch (error) {
      if (!isStoreApiError(error)) throw error
      return c.redirect('/account/approvals?error=approval', 303)
    }
    return c.redirect('/account/approvals', 303)
  })

  app.post('/account/approvals/:approvalId', async (c) => {
    const field = await form(c)
    const me = await signedIn(c)
    if (!me) return c.redirect('/account/login', 303)
    // The form's two buttons name the decision; a post naming neither decides nothing.
    const decision = field('decision')
    if (decision !== 'approve' && decision !== 'reject') {
      return page(c, 'Approvals', <><h1>Approvals</h1><Alert message="Choose Approve or Reject." /><a href="/account/approvals">Back to the approvals</a></>, 400)
    }
    try {
      const params = { approvalId: c.req.param('approvalId') }
      if (decision === 'approve') await me.store.call('POST /b2b/approvals/:approvalId/approve', { params, body: {} })
      else await me.store.call('POST /b2b/approvals/:approvalId/reject', { params, body: {} })
    } catch (error) {
      if (!isStoreApiError(error)) throw error
      return c.redirect('/account/approvals?error=approval', 303)
    }
    return c.redirect('/account/approvals', 303)
  })

  app.get('/account/quotes', async (c) => {
    const me = await signedIn(c)
    if (!me) return c.redirect('/account/login', 303)
    const list = await me.store.call('GET /storefront/b2b/quotes')
    const quotes = await Promise.all(list.map((q) => me.store.call('GET /b2b/quotes/:quoteId', { params: { quoteId: q.id } })))
    return page(
      c,
      'Quotes',
      <>
        <h1>Quotes</h1>
        <AccountNav />
        <Alert message={notice(c)} />
        {quotes.length ? (
          <ul>
            {quotes.map((q) => (
              <li>
                Quote {q.id.slice(-6)} — {q.status}, valid until {q.expiresAt.slice(0, 10)}:{' '}
                {q.lines.map((l) => `${l.quantity} × ${money(l.unitPrice, q.currency)}`).join(', ')}, {money(q.lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0), q.currency)}
                {q.status === 'sent' ? (
                  <form method="post" action={`/account/quotes/${q.id}/accept`}>
                    <button type="submit">Accept quote</button>
                  </form>
                ) : null}
              </li>
            ))}
          </ul>
        ) : (
          <p>No quotes.</p>
        )}
      </>,
    )
  })

  app.post('/account/quotes/:quoteId/accept', async (c) => {
    const me = await signedIn(c)
    if (!me) return c.redirect('/account/login', 303)
    try {
      const { cartId } = await me.store.call('POST /b2b/quotes/:quoteId/accept', { params: { quoteId: c.req.param('quoteId') } })
      // The cart is the buyer's: their session opens it, so the cookie holds no token.
      cookie(c, CART_COOKIE, cartId)
    } catch (error) {
      if (!isStoreApiError(error)) throw error
      return c.redirect('/account/quotes?error=quote', 303)
    }
    return c.redirect('/cart', 303)
  })

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
