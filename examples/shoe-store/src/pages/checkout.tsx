import { randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { getCookie, deleteCookie } from 'hono/cookie'
import type { FC } from 'hono/jsx'
import { isStoreApiError } from '@cartwright/http/client'
import { CARD_SCRIPT_PATH } from '../card-checkout.js'
import { COUNTRIES, demoBank } from '../shop.js'
import { Alert, money, Totals } from './layout.js'
import { CART_COOKIE, SESSION_COOKIE, type Kit } from './kit.js'

/** Checkout: address, shipping and payment, placing the order, confirming a payment, and the order's page. */
export function checkoutPages(app: Hono, kit: Kit): void {
  const { commerce, localeOf, tr, cartOf, shopper, page, notice, messageOf, form, openCart, giftCardsOf, orderLink, card } = kit
  // -- Checkout --------------------------------------------------------------------------------
  // The test gateway's pretend bank, when the shop registered the test gateway (a demo, or told to).
  const bank = demoBank(commerce)
  const testGateway = bank !== undefined
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
    const giftCards = cards.cards.reduce((sum, g) => sum + g.amount, 0)
    // Gift cards pay it all: nothing to take by card (the checkout asks no gateway for nothing).
    const due = cart.totals.total - giftCards
    const takeCard = card !== undefined && due > 0
    return page(
      c,
      'Checkout',
      <>
        <h1>{tr(c)('Checkout')}</h1>
        <Alert message={error} />
        {cart.status === 'completing' ? (
          // The shopper came back while a payment waits for their bank: that payment goes on, not a new one.
          <form method="post" action="/checkout/confirm-payment" class="note">
            <p>{tr(c)('A payment for this cart is waiting for your confirmation at your bank.')}</p>
            <button type="submit">{tr(c)('Continue with that payment')}</button>
          </form>
        ) : null}
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
            {card && !takeCard ? (
              <label>
                <input type="radio" name="outcome" value="nothing-due" checked /> {tr(c)('Nothing to pay: your gift cards cover it')}
              </label>
            ) : null}
            {takeCard ? (
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
          <Totals locale={localeOf(c)} totals={cart.totals} currency={cart.currency} giftCards={giftCards} />
          <input type="hidden" name="attempt" value={randomUUID()} />
          <p>
            <button type="submit">{tr(c)('Place order')}</button>
          </p>
        </form>
        {takeCard ? (
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
    // Only the gateways this shop registered; a card comes as Stripe.js's PaymentMethod id, never as digits.
    if (card && outcome === 'card' && !field('paymentMethod')) {
      return renderShipping(c, tr(c)('Paying by card needs JavaScript: turn it on to enter your card, which goes to Stripe and never to this shop.'), 400)
    }
    const payment =
      card && outcome === 'card'
        ? { provider: card.provider, data: { paymentMethod: field('paymentMethod') } }
        : card && outcome === 'nothing-due'
          ? // The checkout takes nothing from the gateway when gift cards cover the total; if they no longer do, Stripe refuses the empty payment.
            { provider: card.provider, data: {} }
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
    // The pretend bank's page exists only beside the test gateway.
    if (!bank) return c.redirect('/checkout/shipping', 303)
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
    bank?.confirmAtBank(field('ref'))
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
}
