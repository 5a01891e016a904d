export {
  startFakeStripe,
  TEST_PAYMENT_METHODS,
  type FakeStripeServer,
  type FakeStripeOptions,
  type FakeStripeLedger,
  type FakeStripeCall,
  type FakePaymentIntent,
  type Fault,
  type FaultMatch,
} from './fake-stripe-server.js'
export {
  signedEvent,
  sign,
  sendWebhook,
  type SignedEvent,
  type SignedEventOptions,
  type StripeTestEvent,
  type WebhookDelivery,
  type WebhookTarget,
} from './webhook-helpers.js'
export { TEST_CARD_NUMBERS, FAKE_STRIPE_JS } from './fake-stripe-js.js'
