import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createCommerce, fixedRateTax, flatRateShipping, type CheckoutResult, type Commerce, type Order, type WebhookResult } from '@cartwright/core'
import { virtualClock, type VirtualClock } from '../deterministic/virtual-clock.js'
import { withChaos, type ChaosProvider } from './chaos.js'
import type { AuthorizationOutcome, GatewayNotification, PaymentConformanceTarget, PaymentHarness, PaymentLedgerEntry } from './conformance.js'

/** The engine's lease on a checkout, and the recovery interval, in the cases' virtual time. */
export const LEASE_MS = 30_000
export const INTERVAL_MS = 30_000
const ACTION_MS = 15 * 60_000
const STOCK = 10

/** Polls `probe` in real time until it answers something other than undefined. */
export async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** @internal One case's engine on a fresh database, its provider wrapped by the chaos harness, and helpers. */
export class PaymentFixture {
  readonly clock: VirtualClock
  readonly harness: PaymentHarness<GatewayNotification>
  readonly provider: ChaosProvider
  readonly commerce: Commerce
  readonly variantId: string

  private constructor(clock: VirtualClock, harness: PaymentHarness<GatewayNotification>, provider: ChaosProvider, commerce: Commerce, variantId: string) {
    this.clock = clock
    this.harness = harness
    this.provider = provider
    this.commerce = commerce
    this.variantId = variantId
  }

  static async open(target: PaymentConformanceTarget<GatewayNotification>, capture: 'manual' | 'automatic', prefix: string): Promise<PaymentFixture> {
    // Time moves only when a case moves it; the chaos harness's delays sleep on the same clock.
    const clock = virtualClock({ autoAdvance: false })
    const harness = await target.setup({ clock, capture })
    if (typeof harness?.provider?.authorize !== 'function') throw new Error(`${prefix} ${target.name}: setup() must return { provider, driver, webhook, ledger }; provider is not a payment provider`)
    for (const part of ['webhook', 'ledger'] as const) {
      if (typeof harness[part] !== 'function') throw new Error(`${prefix} ${target.name}: setup() must return { provider, driver, webhook, ledger }; ${part} is not a function`)
    }
    if (typeof harness.driver?.prepare !== 'function' || typeof harness.driver.completeAction !== 'function') {
      throw new Error(`${prefix} ${target.name}: setup() must return a driver with prepare(outcome) and completeAction(reference)`)
    }
    const provider = withChaos(harness.provider, { clock })
    let commerce: Commerce
    try {
      commerce = await createCommerce({
        storage: await target.storage(),
        payments: [provider],
        shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
        tax: fixedRateTax({ rate: '8' }),
        clock,
        checkoutLeaseMs: LEASE_MS,
        customerActionTimeoutMs: ACTION_MS,
        recovery: { intervalMs: INTERVAL_MS },
        outbox: { enabled: false },
        onListenerError: () => undefined,
      })
    } catch (error) {
      await harness.teardown?.()
      throw error
    }
    const tag = randomUUID().slice(0, 8)
    const product = await commerce.catalog.createProduct({
      title: `Mug ${tag}`,
      handle: `mug-${tag}`,
      variants: [{ sku: `MUG-${tag}`, prices: [{ currency: 'USD', amount: 1250 }] }],
    })
    const variantId = product.variants[0]!.id
    const location = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
    await commerce.inventory.setStock({ variantId, locationId: location.id, onHand: STOCK })
    return new PaymentFixture(clock, harness, provider, commerce, variantId)
  }

  /** A cart ready to check out with `quantity` of the variant. */
  async cart(quantity = 1): Promise<string> {
    const cart = await this.commerce.carts.create({ currency: 'USD' })
    await this.commerce.carts.addItem(cart.id, { variantId: this.variantId, quantity })
    await this.commerce.carts.update(cart.id, {
      email: 'ada@example.com',
      shippingAddress: { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' },
    })
    await this.commerce.carts.setShippingOption(cart.id, 'flat:standard')
    return cart.id
  }

  /** Makes the gateway behave as `outcome` for the next authorization, then completes checkout. */
  async pay(cartId: string, outcome: AuthorizationOutcome, idempotencyKey: string = randomUUID()): Promise<CheckoutResult> {
    const data = await this.prepare(outcome)
    return this.complete(cartId, idempotencyKey, data)
  }

  async prepare(outcome: AuthorizationOutcome): Promise<Record<string, unknown> | undefined> {
    return (await this.harness.driver.prepare(outcome)) ?? undefined
  }

  complete(cartId: string, idempotencyKey: string, data?: Record<string, unknown>): Promise<CheckoutResult> {
    return this.commerce.checkout.complete(cartId, { payment: { provider: this.provider.id, ...(data ? { data } : {}) }, idempotencyKey })
  }

  /** Delivers each notification as its own signed webhook request, in order; the outcomes of all. */
  async deliver(notifications: readonly GatewayNotification[]): Promise<WebhookResult> {
    const events: WebhookResult['events'] = []
    for (const notification of notifications) {
      const request = await this.harness.webhook(notification)
      events.push(...(await this.commerce.payments.handleWebhook(this.provider.id, request.rawBody, request.headers)).events)
    }
    return { events }
  }

  async orders(cartId: string): Promise<string[]> {
    return (await this.commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cartId).execute()).map((o) => o.id)
  }

  async available(): Promise<number> {
    return (await this.commerce.inventory.levels(this.variantId)).reduce((sum, level) => sum + level.available, 0)
  }

  async ledger(): Promise<PaymentLedgerEntry[]> {
    return [...(await this.harness.ledger())]
  }

  /** The gateway's charge for the engine's payment, found by the reference the engine stored. */
  async charge(paymentId: string): Promise<PaymentLedgerEntry> {
    const payment = await this.commerce.payments.get(paymentId)
    assert.ok(payment.reference, `payment ${paymentId} has no gateway reference`)
    const entry = (await this.ledger()).find((c) => c.reference === payment.reference)
    assert.ok(entry, `the gateway's ledger has no charge ${payment.reference}`)
    return entry
  }

  /**
   * The books equal the gateway's ledger: for every gateway payment of the cart, what the engine
   * says is captured and refunded is what the gateway holds, and a voided payment is void there.
   */
  async assertBooks(cartId: string): Promise<void> {
    const payments = await this.commerce.db.selectFrom('cw_payments').select(['id', 'reference', 'status', 'captured_amount', 'refunded_amount']).where('cart_id', '=', cartId).where('kind', '=', 'gateway').execute()
    const ledger = await this.ledger()
    for (const p of payments) {
      const entry = p.reference === null ? undefined : ledger.find((c) => c.reference === p.reference)
      if (!entry) {
        assert.equal(Number(p.captured_amount), 0, `payment ${p.id} has no charge at the gateway but ${String(p.captured_amount)} captured in the books`)
        continue
      }
      assert.deepEqual(
        { captured: Number(p.captured_amount), refunded: Number(p.refunded_amount), voided: p.status === 'voided' },
        { captured: entry.captured, refunded: entry.refunded, voided: entry.voided },
        `books of payment ${p.id} (${p.status}) against the gateway's charge ${entry.reference}`,
      )
    }
  }

  /**
   * Settles `work` while letting virtual time pass in small steps, for calls that wait on the
   * engine's clock (a repeat of a key waiting for the first call to finish).
   */
  async whileTimePasses<T>(work: Promise<T>, stepMs = 100, steps = 600): Promise<T> {
    let done = false
    const settled = work.finally(() => {
      done = true
    })
    for (let step = 0; step < steps && !done; step++) {
      await this.clock.advance(stepMs)
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    return settled
  }

  /**
   * Lets time pass a recovery interval at a time until `probe` answers; after each step the work
   * the engine's timers started is given a moment of real time.
   */
  async passTimeUntil<T>(probe: () => Promise<T | undefined>, what: string, steps = 40): Promise<T> {
    for (let step = 0; step < steps; step++) {
      const value = await probe()
      if (value !== undefined) return value
      await this.clock.advance(INTERVAL_MS)
      try {
        return await until(probe, what, 300)
      } catch {
        // Not yet: let more time pass.
      }
    }
    throw new Error(`${what} did not happen within ${steps} recovery intervals`)
  }

  /**
   * The cart ended in one of the two allowed states: one order, whose payment the gateway holds as
   * the books say; or no order, the stock released, and nothing held at the gateway (voided or refunded).
   */
  async assertSettled(cartId: string): Promise<'order' | 'no order'> {
    const orders = await this.orders(cartId)
    await this.assertBooks(cartId)
    if (orders.length === 1) return 'order'
    assert.equal(orders.length, 0, `cart ${cartId} has ${orders.length} orders`)
    assert.equal(await this.available(), STOCK, 'the stock of a cart without an order is released')
    for (const entry of await this.ledger()) {
      assert.ok(entry.voided || entry.authorized === 0 || (entry.captured > 0 && entry.refunded === entry.captured), `charge ${entry.reference} still holds money for a cart without an order`)
    }
    return 'no order'
  }

  /** The order a checkout placed; fails when it answered requires_action. */
  placed(result: CheckoutResult): Order {
    assert.notEqual(result.status, 'requires_action', `checkout of cart answered requires_action, not an order`)
    return result as Order
  }

  async close(): Promise<void> {
    await this.commerce.close()
  }
}
