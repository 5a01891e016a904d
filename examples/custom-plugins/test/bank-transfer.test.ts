import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { isCommerceError, type Order } from '@cartwright/core'
import { storeApi } from '@cartwright/http'
import { serve, type ServerType } from '@hono/node-server'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { signNotification } from '../src/index.js'
import { ACCOUNT, SECRET, openShop } from './support.js'

type Shop = Awaited<ReturnType<typeof openShop>>

/** The body the bank posts when `amount` arrives with `reference` written on the transfer. */
const notification = (reference: string, amount: number, id = `ntf_${randomUUID()}`) => JSON.stringify({ id, type: 'transfer.received', reference, amount, currency: 'EUR', bookedAt: '2026-12-02T09:30:00Z' })

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

describe('bank transfer on a running engine (SQLite file)', () => {
  let shop: Shop
  let order: Order
  const payment = () => shop.row<{ status: string; captured_amount: number; reference: string }>('select status, captured_amount, reference from cw_payments where order_id = ?', order.id)

  beforeEach(async () => {
    shop = await openShop()
    const cart = await shop.cart()
    await shop.commerce.carts.setShippingOption(cart.id, 'courier:zone-a')
    const result = await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'bank-transfer' }, idempotencyKey: randomUUID() })
    if (result.status === 'requires_action') throw new Error('a bank transfer never asks for an action')
    order = result
  })
  afterEach(() => shop.close())

  it('places the order at once, its payment pending with a reference and the account to pay into', async () => {
    expect(order.paymentStatus).toBe('authorized')
    const [paid] = order.payments
    expect(paid!.reference).toMatch(/^CW-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/)
    expect(shop.transfer.instructions(paid!)).toEqual({ ...ACCOUNT, reference: paid!.reference, amount: order.totals.total, currency: 'EUR' })
    expect(payment()).toEqual({ status: 'authorized', captured_amount: 0, reference: paid!.reference })
    // Stock is held for the order while the money is on its way.
    expect(await shop.commerce.inventory.available(shop.variantId)).toBe(4)
  })

  it("the bank's signed notification captures the payment, and the order's payment state is persisted", async () => {
    const body = notification(order.payments[0]!.reference!, order.totals.total)
    const result = await shop.commerce.payments.handleWebhook('bank-transfer', body, signNotification(SECRET, body))
    expect(result.events.map((e) => e.outcome)).toEqual(['applied'])
    expect((await shop.commerce.orders.get(order.id)).paymentStatus).toBe('captured')
    expect(payment()).toMatchObject({ status: 'captured', captured_amount: order.totals.total })
    expect(shop.row('select payment_status from cw_orders where id = ?', order.id)).toEqual({ payment_status: 'captured' })
  })

  it('matches a reference the shopper wrote in lower case, with spaces and look-alike letters', async () => {
    const written = order.payments[0]!.reference!.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l')
    const body = notification(written, order.totals.total)
    await shop.commerce.payments.handleWebhook('bank-transfer', body, signNotification(SECRET, body))
    expect(payment().status).toBe('captured')
  })

  it('two transfers of parts are two captures: partly paid after the first, paid after the second; a transfer beyond the total is not booked', async () => {
    const reference = order.payments[0]!.reference!
    const first = 5000
    const deliver = (amount: number) => {
      const body = notification(reference, amount)
      return shop.commerce.payments.handleWebhook('bank-transfer', body, signNotification(SECRET, body))
    }
    await deliver(first)
    expect(payment()).toMatchObject({ status: 'partially_captured', captured_amount: first })
    expect((await deliver(order.totals.total - first)).events[0]!.outcome).toBe('applied')
    expect(payment()).toMatchObject({ status: 'captured', captured_amount: order.totals.total })
    expect((await deliver(100)).events[0]!.outcome).toBe('ignored')
    expect(payment().captured_amount).toBe(order.totals.total)
  })

  it('a replayed notification changes nothing', async () => {
    const body = notification(order.payments[0]!.reference!, order.totals.total)
    await shop.commerce.payments.handleWebhook('bank-transfer', body, signNotification(SECRET, body))
    const operations = shop.count('cw_payment_operations')
    const again = await shop.commerce.payments.handleWebhook('bank-transfer', body, signNotification(SECRET, body))
    expect(again.events.map((e) => e.outcome)).toEqual(['duplicate'])
    expect(payment()).toMatchObject({ status: 'captured', captured_amount: order.totals.total })
    expect(shop.count('cw_payment_operations')).toBe(operations)
  })

  it.each([
    ['another secret', (body: string) => signNotification('not-the-secret-the-bank-uses', body)],
    ['a body changed after signing', (body: string) => signNotification(SECRET, body.replace(/"amount":\d+/, '"amount":1'))],
    ['a signature older than five minutes', (body: string) => signNotification(SECRET, body, new Date(Date.now() - 10 * 60_000))],
    ['no signature', () => ({ 'content-type': 'application/json' })],
  ])('refuses a notification signed with %s: VALIDATION naming the signature, nothing stored', async (_, headersFor) => {
    const body = notification(order.payments[0]!.reference!, order.totals.total)
    const headers = headersFor(body)
    // The changed-body case signs the changed text and posts the original one.
    const error = await rejection(shop.commerce.payments.handleWebhook('bank-transfer', body, headers))
    expect(isCommerceError(error, 'VALIDATION')).toBe(true)
    expect((error as { details: { fields: string[] } }).details.fields).toEqual(['signature'])
    expect(payment()).toMatchObject({ status: 'authorized', captured_amount: 0 })
    expect(shop.count('cw_payment_events')).toBe(0)
  })

  it('a refund of a paid order is sent to the bank once, as an outgoing transfer with the reference', async () => {
    const body = notification(order.payments[0]!.reference!, order.totals.total)
    await shop.commerce.payments.handleWebhook('bank-transfer', body, signNotification(SECRET, body))
    await shop.commerce.orders.refund(order.id, { amount: 2000, idempotencyKey: 'refund-1' })
    await shop.commerce.orders.refund(order.id, { amount: 2000, idempotencyKey: 'refund-1' })
    expect(shop.refunds).toEqual([expect.objectContaining({ reference: order.payments[0]!.reference, amount: 2000, currency: 'EUR' })])
    expect(shop.row('select refunded_amount from cw_payments where order_id = ?', order.id)).toEqual({ refunded_amount: 2000 })
  })

  it("shows the reference on the Store API's order, and takes the bank's notification at POST /webhooks/bank-transfer (HTTP on 127.0.0.1)", async () => {
    const app = storeApi(shop.commerce)
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
    })
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      // The confirmation page reads the order with its token: the reference is on its payment.
      const confirmation = await fetch(`${base}/orders/${order.id}`, { headers: { 'x-order-token': order.accessToken! } })
      expect(((await confirmation.json()) as Order).payments[0]!.reference).toBe(order.payments[0]!.reference)
      const url = `${base}/webhooks/bank-transfer`
      const body = notification(order.payments[0]!.reference!, order.totals.total)
      const forged = await fetch(url, { method: 'POST', headers: signNotification('not-the-secret-the-bank-uses', body), body })
      expect(forged.status).toBe(400)
      expect(payment().status).toBe('authorized')
      const signed = await fetch(url, { method: 'POST', headers: signNotification(SECRET, body), body })
      expect(signed.status).toBe(200)
      expect(payment()).toMatchObject({ status: 'captured', captured_amount: order.totals.total })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
