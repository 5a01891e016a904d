/**
 * Stripe's test card numbers the fake's Stripe.js knows, and the test PaymentMethod each behaves
 * as (see `TEST_PAYMENT_METHODS`). Any other number is refused as `incorrect_number`.
 */
export const TEST_CARD_NUMBERS: Readonly<Record<string, { paymentMethod: string; brand: string }>> = Object.freeze({
  '4242424242424242': { paymentMethod: 'pm_card_visa', brand: 'visa' },
  '5555555555554444': { paymentMethod: 'pm_card_mastercard', brand: 'mastercard' },
  '378282246310005': { paymentMethod: 'pm_card_amex', brand: 'amex' },
  '4000000000000002': { paymentMethod: 'pm_card_chargeDeclined', brand: 'visa' },
  '4000000000009995': { paymentMethod: 'pm_card_visa_chargeDeclinedInsufficientFunds', brand: 'visa' },
  '4000000000000069': { paymentMethod: 'pm_card_chargeDeclinedExpiredCard', brand: 'visa' },
  '4000000000003220': { paymentMethod: 'pm_card_threeDSecure2Required', brand: 'visa' },
  '4000002760003184': { paymentMethod: 'pm_card_authenticationRequired', brand: 'visa' },
})

/**
 * The browser script the fake serves at `/v3/`: the part of Stripe.js a card checkout uses,
 * talking to the fake instead of Stripe. `Stripe(publishableKey)` gives
 * - `elements().create('card')`: a card field (number, expiry, CVC as plain labelled inputs, not
 *   Stripe's iframe) with `mount(target)`, `on('change', fn)`, `unmount()` and `destroy()`;
 * - `createPaymentMethod({ type: 'card', card })`: `{ paymentMethod: { id: 'pm_…', card } }` or
 *   `{ error }`, made at the fake by `POST /v1/payment_methods` with the publishable key;
 * - `handleNextAction({ clientSecret })` (and `confirmCardPayment(clientSecret)` for a PaymentIntent
 *   already confirmed): shows a test 3-D Secure dialog with "Complete authentication" and "Fail
 *   authentication", and answers `{ paymentIntent }` or `{ error }` as Stripe.js does.
 * Only what runs in a test browser; card data goes to the fake only.
 */
export const FAKE_STRIPE_JS = String.raw`(function () {
  'use strict'
  var script = document.currentScript
  var origin = script && script.src ? new URL(script.src).origin : ''
  function call(key, path, fields) {
    var body = new URLSearchParams()
    Object.keys(fields).forEach(function (name) { if (fields[name] !== undefined && fields[name] !== '') body.append(name, String(fields[name])) })
    return fetch(origin + path, { method: 'POST', headers: { authorization: 'Bearer ' + key, 'content-type': 'application/x-www-form-urlencoded' }, body: body })
      .then(function (response) { return response.json() })
      .catch(function () { return { error: { type: 'api_connection_error', message: 'We could not reach Stripe. Check your connection and try again.' } } })
  }
  function input(wrapper, id, labelText, attributes) {
    var label = document.createElement('label')
    label.htmlFor = id
    label.textContent = labelText
    var field = document.createElement('input')
    field.id = id
    Object.keys(attributes).forEach(function (name) { field.setAttribute(name, attributes[name]) })
    wrapper.appendChild(label)
    wrapper.appendChild(field)
    return field
  }
  var count = 0
  function cardElement() {
    var n = ++count
    var listeners = []
    var wrapper = document.createElement('div')
    wrapper.className = 'StripeElement fake-stripe-card'
    var number = input(wrapper, 'fake-stripe-number-' + n, 'Card number', { inputmode: 'numeric', autocomplete: 'cc-number', placeholder: '4242 4242 4242 4242' })
    var expiry = input(wrapper, 'fake-stripe-expiry-' + n, 'Expiry (MM / YY)', { inputmode: 'numeric', autocomplete: 'cc-exp', placeholder: 'MM / YY' })
    var cvc = input(wrapper, 'fake-stripe-cvc-' + n, 'CVC', { inputmode: 'numeric', autocomplete: 'cc-csc', placeholder: '123' })
    function fire() {
      var digits = number.value.replace(/\D/g, '')
      var event = { elementType: 'card', empty: digits.length === 0, complete: digits.length >= 15, error: undefined }
      listeners.forEach(function (l) { if (l.type === 'change') l.fn(event) })
    }
    ;[number, expiry, cvc].forEach(function (f) { f.addEventListener('input', fire) })
    return {
      _fields: function () {
        var parts = expiry.value.split('/').map(function (s) { return s.trim() })
        return { number: number.value.replace(/\D/g, ''), exp_month: parts[0] || '', exp_year: parts[1] || '', cvc: cvc.value.trim() }
      },
      mount: function (target) { (typeof target === 'string' ? document.querySelector(target) : target).appendChild(wrapper) },
      unmount: function () { if (wrapper.parentNode) wrapper.parentNode.removeChild(wrapper) },
      destroy: function () { this.unmount(); listeners = [] },
      on: function (type, fn) { listeners.push({ type: type, fn: fn }); return this },
      focus: function () { number.focus() },
    }
  }
  function authenticate(key, clientSecret) {
    var id = String(clientSecret || '').split('_secret_')[0]
    return new Promise(function (resolve) {
      var dialog = document.createElement('div')
      dialog.setAttribute('role', 'dialog')
      dialog.setAttribute('aria-modal', 'true')
      dialog.setAttribute('aria-labelledby', 'fake-stripe-3ds-title')
      dialog.className = 'fake-stripe-3ds'
      dialog.style.cssText = 'position:fixed;inset:0;display:flex;align-items:center;justify-content:center;background:rgba(0,0,0,.5);z-index:2147483647'
      var box = document.createElement('div')
      box.style.cssText = 'background:#fff;color:#111;padding:1.5rem;max-width:22rem;font:16px/1.4 sans-serif'
      var title = document.createElement('h2')
      title.id = 'fake-stripe-3ds-title'
      title.textContent = '3D Secure test payment'
      var text = document.createElement('p')
      text.textContent = 'A test page of your bank: complete or fail the authentication of this payment.'
      box.appendChild(title)
      box.appendChild(text)
      function button(label, outcome) {
        var b = document.createElement('button')
        b.type = 'button'
        b.textContent = label
        b.style.cssText = 'margin:.25rem;padding:.5rem 1rem;font:inherit'
        b.addEventListener('click', function () {
          call(key, '/v1/test_helpers/payment_intents/' + encodeURIComponent(id) + '/authenticate', { client_secret: clientSecret, outcome: outcome }).then(function (answer) {
            document.body.removeChild(dialog)
            if (answer.error) return resolve({ error: answer.error })
            if (answer.status === 'requires_payment_method') {
              return resolve({ error: Object.assign({ type: 'invalid_request_error', payment_intent: answer }, answer.last_payment_error || { code: 'payment_intent_authentication_failure', message: 'We are unable to authenticate your payment method.' }) })
            }
            resolve({ paymentIntent: answer })
          })
        })
        return b
      }
      var complete = button('Complete authentication', 'succeed')
      box.appendChild(complete)
      box.appendChild(button('Fail authentication', 'fail'))
      dialog.appendChild(box)
      document.body.appendChild(dialog)
      complete.focus()
    })
  }
  window.Stripe = function (key) {
    if (!/^pk_test_\S+$/.test(String(key))) throw new Error('IntegrationError: Invalid API Key provided: ' + key)
    return {
      elements: function () {
        return { create: function (type) { if (type !== 'card') throw new Error('IntegrationError: the fake Stripe.js makes only card elements'); return cardElement() } }
      },
      createPaymentMethod: function (options) {
        var card = options && options.card
        if (!card || typeof card._fields !== 'function') return Promise.resolve({ error: { type: 'validation_error', message: 'Please provide a card element.' } })
        var f = card._fields()
        return call(key, '/v1/payment_methods', { type: 'card', 'card[number]': f.number, 'card[exp_month]': f.exp_month, 'card[exp_year]': f.exp_year, 'card[cvc]': f.cvc })
          .then(function (answer) { return answer.error ? { error: answer.error } : { paymentMethod: answer } })
      },
      handleNextAction: function (options) { return authenticate(key, options && options.clientSecret) },
      confirmCardPayment: function (clientSecret) { return authenticate(key, clientSecret) },
    }
  }
})()
`
