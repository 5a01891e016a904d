import type { Hono } from 'hono'
import { getCookie, deleteCookie } from 'hono/cookie'
import type { FC } from 'hono/jsx'
import { isStoreApiError } from '@cartwright/http/client'
import { COUNTRIES } from '../shop.js'
import { Alert, money } from './layout.js'
import { CART_COOKIE, SESSION_COOKIE, type Kit } from './kit.js'

/** The account's pages: register, verify, sign in and out, overview and order history, addresses, and the B2B buyer's approvals and quotes. */
export function accountPages(app: Hono, kit: Kit): void {
  const { commerce, cookie, localeOf, tr, cartOf, shopper, page, notice, messageOf, form, openCart, signedIn, demo } = kit

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
    const approvals = await me.store.call('GET /b2b/approvals')
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
    const quotes = await me.store.call('GET /b2b/quotes')
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
}
