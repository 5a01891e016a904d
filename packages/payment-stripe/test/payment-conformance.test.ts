import { sqliteStorage } from '@cartwright/storage-sqlite'
import { paymentConformance, type PaymentConformanceTarget, type PaymentLedgerEntry } from '@cartwright/testkit'
import { describe, it } from 'vitest'
import { stripePayments } from '../src/index.js'
import { startFakeStripe, type FakeStripeServer, type StripeTestEvent } from '../src/testing/index.js'

/**
 * The payment conformance suite of @cartwright/testkit and its chaos harness, run against the
 * Stripe adapter and the real SDK talking to the fake Stripe server on 127.0.0.1.
 */

const CARDS = { approve: 'pm_card_visa', decline: 'pm_card_chargeDeclined', action: 'pm_card_threeDSecure2Required' } as const

/** The fake's ledger per PaymentIntent, in Stripe's units (minor units for USD, which the cases use). */
function ledgerOf(server: FakeStripeServer): PaymentLedgerEntry[] {
  const { ledger } = server
  return server.paymentIntents().map((pi) => ({
    reference: pi.id,
    authorized: ledger.charges.filter((c) => c.paymentIntent === pi.id).reduce((sum, c) => sum + c.amount, 0),
    captured: ledger.captures.filter((c) => c.paymentIntent === pi.id).reduce((sum, c) => sum + c.amount, 0),
    refunded: ledger.refunds.filter((r) => r.paymentIntent === pi.id).reduce((sum, r) => sum + r.amount, 0),
    voided: ledger.cancels.some((c) => c.paymentIntent === pi.id),
    captures: ledger.captures.filter((c) => c.paymentIntent === pi.id).length,
  }))
}

const target: PaymentConformanceTarget<StripeTestEvent> = {
  name: 'stripe (fake server)',
  storage: () => sqliteStorage({ filename: ':memory:' }),
  async setup({ capture }) {
    const server = await startFakeStripe()
    const provider = stripePayments({ secretKey: server.secretKey, webhookSecret: server.webhookSecret, client: server.endpoint, maxNetworkRetries: 0, capture })
    return {
      provider,
      driver: {
        prepare: (outcome) => ({ paymentMethod: CARDS[outcome] }),
        completeAction(reference) {
          const before = server.events().length
          server.completeAction(reference, 'succeed')
          return server.events().slice(before)
        },
      },
      webhook(event) {
        const signed = server.signedEvent(event)
        return { rawBody: signed.payload, headers: signed.headers }
      },
      ledger: () => ledgerOf(server),
      teardown: () => server.close(),
    }
  },
}

paymentConformance(target).register({ describe, it })
