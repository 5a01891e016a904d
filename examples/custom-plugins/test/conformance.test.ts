import type { PaymentProvider } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { paymentConformance, shippingConformance, SAMPLE_QUOTE_INPUTS, type PaymentLedgerEntry } from '@cartwright/testkit'
import { describe, it } from 'vitest'
import { bankTransfer, signNotification, type BankTransferProvider } from '../src/index.js'
import { ACCOUNT, SECRET, address, courier } from './support.js'

const storage = () => sqliteStorage({ filename: ':memory:' })

/**
 * The shop's account at the bank, as the suite's ledger: the references the provider issued (what
 * the shop expects, by reference), what staff confirmed, what was sent back, what was retired.
 * Captures, voids and refunds count once per idempotency key, as a bank books a payment order once.
 */
function bankBooks() {
  const charges = new Map<string, PaymentLedgerEntry>()
  const booked = new Set<string>()
  const once = (key: string, book: () => void) => {
    if (booked.has(key)) return
    booked.add(key)
    book()
  }
  return {
    charges,
    once,
    /** The provider, its answers booked as the bank would. */
    keep(provider: BankTransferProvider): PaymentProvider {
      return {
        ...provider,
        async authorize(input) {
          const answer = await provider.authorize(input)
          // Booked by the reference it answers, not by key: a retry that issued a second reference would show as a second charge.
          if (answer.status === 'authorized' && !charges.has(answer.reference)) charges.set(answer.reference, { reference: answer.reference, authorized: input.amount, captured: 0, refunded: 0, voided: false, captures: 0 })
          return answer
        },
        async capture(input) {
          const answer = await provider.capture!(input)
          once(`capture:${input.idempotencyKey}`, () => {
            const charge = charges.get(input.reference)!
            charge.captured += input.amount
            charge.captures++
          })
          return answer
        },
        async void(input) {
          const answer = await provider.void!(input)
          once(`void:${input.idempotencyKey}`, () => (charges.get(input.reference)!.voided = true))
          return answer
        },
      }
    },
  }
}

paymentConformance({
  name: 'bankTransfer',
  storage,
  setup({ clock }) {
    const books = bankBooks()
    let refusing = false
    const provider = bankTransfer({
      secret: SECRET,
      account: ACCOUNT,
      now: () => clock.now(),
      refuse: () => (refusing ? 'bank transfer is not offered for this order' : null),
      // The bank sends the money back once per key.
      sendRefund: async (t) => books.once(`refund:${t.idempotencyKey}`, () => (books.charges.get(t.reference)!.refunded += t.amount)),
    })
    return {
      provider: books.keep(provider),
      driver: {
        prepare(outcome) {
          if (outcome === 'action') throw new Error('a bank transfer never asks the shopper to act at checkout')
          refusing = outcome === 'decline'
        },
        completeAction() {
          throw new Error('a bank transfer never asks the shopper to act at checkout')
        },
      },
      webhook(event) {
        const body = JSON.stringify({ id: event.id, type: 'transfer.received', reference: event.reference, amount: event.amount, currency: event.currency })
        return { rawBody: body, headers: signNotification(SECRET, body, clock.now()) }
      },
      ledger: () => [...books.charges.values()].map((c) => ({ ...c })),
    }
  },
  skip: [
    {
      reason: 'a bank transfer never asks the shopper to act at checkout: the order is placed at once and the bank notification captures it later (test/bank-transfer.test.ts drives that, replays included)',
      tests: [
        'chaos > duplicate webhooks, 5 at once and 3 more later, are applied once',
        'chaos > events out of order (the last sent delivered first): one order, one capture',
        "chaos > the webhook before the shopper's return: exactly one order and one capture",
        "chaos > the webhook at the same time as the shopper's return: exactly one order and one capture",
        "chaos > the webhook after the shopper's return: exactly one order and one capture",
        "chaos > the webhook without the shopper's return: exactly one order and one capture",
      ],
    },
  ],
}).register({ describe, it })

const sample = (postalCode: string, subtotal: number, country = 'NL') => ({
  ...structuredClone(SAMPLE_QUOTE_INPUTS[2]!),
  address: address(postalCode, country),
  subtotal,
})

shippingConformance({
  name: 'localCourier',
  provider: courier,
  storage,
  // Carts in each zone, on a zone's edge, outside every zone and abroad, in the courier's currency.
  inputs: [sample('1016 GV', 12_900), sample('1102AB', 3_990), sample('2011 VB', 25_000), sample('3011 AD', 12_900), sample('10117', 12_900, 'DE')],
}).register({ describe, it })
