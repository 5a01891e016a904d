import type { Hono } from 'hono'
import { isStoreApiError } from '@cartwright/http/client'
import { translate } from '../i18n.js'
import { Alert, money, Totals } from './layout.js'
import type { Kit } from './kit.js'

/** The cart page and its forms: lines, quantities, codes. */
export function cartPages(app: Hono, kit: Kit): void {
  const { localeOf, tr, page, notice, messageOf, form, openCart, giftCardsOf } = kit
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
}
