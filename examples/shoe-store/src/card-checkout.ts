/**
 * The checkout's one script, served at {@link CARD_SCRIPT_PATH} when the shop takes cards through
 * Stripe. Card data goes from the shopper's browser to Stripe only: the script asks Stripe.js for a
 * PaymentMethod (`pm_…`) and sends the shop just that id. On the page that asks the shopper to
 * authenticate (3-D Secure), it runs Stripe's `handleNextAction` and then sends the page's form,
 * and the shop asks Stripe how it went. Every other page runs no script.
 */
export const CARD_SCRIPT = String.raw`(function () {
  'use strict'
  function say(node, text) { if (node) node.textContent = text }
  var mount = document.getElementById('card-element')
  if (mount) {
    var form = mount.closest('form')
    var errors = document.getElementById('card-errors')
    var field = form.querySelector('input[name=paymentMethod]')
    if (typeof window.Stripe !== 'function') { say(errors, 'Card payments are not available right now (Stripe did not load). Choose another payment or try again later.'); return }
    var stripe = window.Stripe(mount.getAttribute('data-key'))
    var card = stripe.elements().create('card')
    card.mount(mount)
    form.addEventListener('submit', function (event) {
      var chosen = form.querySelector('input[name=outcome]:checked')
      if (!chosen || chosen.value !== 'card' || field.value) return
      event.preventDefault()
      var button = form.querySelector('button[type=submit]')
      button.disabled = true
      say(errors, '')
      stripe.createPaymentMethod({ type: 'card', card: card }).then(function (result) {
        if (result.error) { say(errors, result.error.message); button.disabled = false; return }
        field.value = result.paymentMethod.id
        form.submit()
      }, function () {
        say(errors, 'We could not reach Stripe: check your connection and try again.')
        button.disabled = false
      })
    })
  }
  var action = document.getElementById('card-action')
  if (action) {
    var next = action.closest('form')
    if (typeof window.Stripe !== 'function') { say(document.getElementById('card-errors'), 'Stripe did not load: reload this page to confirm your payment.'); return }
    // Whatever the shopper did (or if Stripe could not be reached), the shop asks Stripe for the outcome.
    window.Stripe(action.getAttribute('data-key')).handleNextAction({ clientSecret: action.getAttribute('data-secret') }).then(function () { next.submit() }, function () { next.submit() })
  }
})()
`

/** Where the app serves {@link CARD_SCRIPT}. */
export const CARD_SCRIPT_PATH = '/assets/card-checkout.js'

/**
 * The Content-Security-Policy sources Stripe.js needs beyond the shop's own: its script, the API it
 * calls and the frames it shows, all on Stripe's origins (or the one origin of a test's fake).
 *
 * @example
 * ```ts
 * stripeSources('https://js.stripe.com/v3/')
 * // { script: ['https://js.stripe.com', 'https://*.js.stripe.com'], connect: ['https://api.stripe.com'],
 * //   frame: ['https://js.stripe.com', 'https://*.js.stripe.com', 'https://hooks.stripe.com'] }
 * ```
 */
export function stripeSources(jsUrl: string): { script: string[]; connect: string[]; frame: string[] } {
  const origin = new URL(jsUrl).origin
  if (origin === 'https://js.stripe.com') {
    return { script: [origin, 'https://*.js.stripe.com'], connect: ['https://api.stripe.com'], frame: [origin, 'https://*.js.stripe.com', 'https://hooks.stripe.com'] }
  }
  return { script: [origin], connect: [origin], frame: [origin] }
}
