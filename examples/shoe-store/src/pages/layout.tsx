import type { Child, FC } from 'hono/jsx'
import { formatAmount } from '@cartwright/core'
import { LOCALES, translate, type Locale } from '../i18n.js'
import { CURRENCY } from '../seed.js'
/** The pages' layout and the parts several pages share. */

export interface PageProps {
  title: string
  locale: Locale
  path: string
  /** The shop takes cards through Stripe (else test payments only). */
  cards?: boolean
  children?: Child
}

export const Layout: FC<PageProps> = ({ title, locale, path, cards, children }) => {
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
export const NOTICES: Record<string, string> = {
  size: 'Choose a size.',
  stock: 'Not enough pairs in stock in that size.',
  quantity: 'The quantity could not be changed.',
  code: 'That code cannot be used on this cart.',
  address: 'The address was not saved: check each field.',
  approval: 'The approval could not be requested or decided.',
  quote: 'The quote could not be accepted.',
}

export const Alert: FC<{ message?: string | null }> = ({ message }) => (message ? <p role="alert" class="alert">{message}</p> : null)

export const money = (amount: number, currency = CURRENCY) => `${formatAmount(amount, currency)} ${currency === 'EUR' ? '€' : currency}`

/** The path part of a picture's URL: pictures are served by this app from `assets/`. */
export const picturePath = (url: string | null) => {
  if (!url) return ''
  try {
    return new URL(url).pathname
  } catch {
    return ''
  }
}

export interface TotalsView {
  subtotal: number
  discountTotal: number
  shippingTotal: number
  taxTotal: number
  total: number
}

export const Totals: FC<{ totals: TotalsView; currency: string; giftCards?: number; locale?: Locale }> = ({ totals, currency, giftCards, locale = 'en' }) => {
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

export interface ProductView {
  id: string
  handle: string
  title: string
  description: string | null
  options: Array<{ name: string; values: string[] }>
  variants: Array<{ id: string; options: Record<string, string>; prices: Array<{ currency: string; amount: number }> }>
  media: Array<{ variantId: string | null; url: string | null; alt: string | null; width: number | null; height: number | null }>
}

export const priceOf = (p: ProductView) => Math.min(...p.variants.map((v) => v.prices.find((x) => x.currency === CURRENCY)?.amount ?? Number.MAX_SAFE_INTEGER))

export const ProductCards: FC<{ products: ProductView[] }> = ({ products }) => (
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

