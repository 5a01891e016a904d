import type { Hono } from 'hono'
import { translate } from '../i18n.js'
import { COUPON_CODE, CURRENCY, DEMO_CUSTOMER, WHOLESALE_APPROVER, WHOLESALE_BUYER, giftCardCode } from '../seed.js'
import { Alert, money, picturePath, ProductCards } from './layout.js'
import type { Kit } from './kit.js'

/** The catalog's pages: home, category with filters and facets, search, product and its reviews. */
export function catalogPages(app: Hono, kit: Kit): void {
  const { commerce, localeOf, tr, shopper, page, notice, messageOf, form, signedIn, demo } = kit
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
    const colourValues = english.options[colourIndex]?.values ?? []
    const shownColour = (value: string) => product.options[colourIndex]?.values[colourValues.indexOf(value)] ?? value
    const wanted = (c.req.query('colour') ?? '').toLowerCase()
    const colour = colourValues.find((v) => v.toLowerCase() === wanted) ?? colourValues[0] ?? ''
    const [stock, reviews, summary, me] = await Promise.all([
      store.call('GET /products/:handle/availability', { params: { handle } }),
      store.call('GET /products/:productId/reviews', { params: { productId: product.id }, query: { limit: 10 } }),
      store.call('GET /products/:productId/reviews/summary', { params: { productId: product.id } }),
      signedIn(c),
    ])
    // null: the variant does not track stock, it never runs out.
    const available = new Map(stock.variants.map((s) => [s.variantId, s.available]))
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
              const units = available.has(v.id) ? available.get(v.id)! : 0
              const size = v.options.Size ?? ''
              return (
                <label>
                  <input type="radio" name="variantId" value={v.id} disabled={units !== null && units <= 0} aria-describedby={`stock-${v.id}`} />
                  {size}{' '}
                  <span id={`stock-${v.id}`} class="hint">
                    {units === null ? t('In stock') : units <= 0 ? t('Sold out') : `${units} ${t('left')}`}
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
}
