import type { GatewayEvent, PaymentProvider, StorageAdapter, WebhookRequest } from '@cartwright/core'
import { buildSuite, type CaseDefinition, type ConformanceSkip, type ConformanceSuite } from '../conformance-suite.js'
import type { VirtualClock } from '../deterministic/virtual-clock.js'
import { paymentCaseGroups } from './conformance-cases.js'
import { PaymentFixture } from './conformance-fixture.js'

const PREFIX = '[cartwright:testkit]'

/**
 * A notification as the gateway sends it, in its own shape (a Stripe event, a {@link GatewayEvent}
 * of the test gateway): the suite only needs its id, and passes it back to the harness to sign.
 *
 * @example
 * ```ts
 * const notification: GatewayNotification = { id: 'evt_1NcQ8f2eZvKYlo2C' }
 * ```
 */
export interface GatewayNotification {
  readonly id: string
}

/**
 * What the gateway should do with the next authorization a case sends.
 *
 * @example
 * ```ts
 * const cards: Record<AuthorizationOutcome, string> = { approve: 'pm_card_visa', decline: 'pm_card_chargeDeclined', action: 'pm_card_threeDSecure2Required' }
 * ```
 */
export type AuthorizationOutcome = 'approve' | 'decline' | 'action'

/**
 * How a case makes the gateway behave, written by the provider's author: for `testGateway()` it
 * scripts the gateway; for a hosted gateway it picks the gateway's test payment method or scripts
 * its fake server.
 *
 * @example
 * ```ts
 * const gateway = testGateway({ clock: virtualClock({ autoAdvance: false }) })
 * const driver: PaymentDriver = {
 *   prepare(outcome) {
 *     gateway.script('authorize', outcome === 'approve' ? 'ok' : outcome === 'decline' ? 'refuse' : 'action')
 *   },
 *   completeAction: (reference) => gateway.confirmAction(reference),
 * }
 * ```
 */
export interface PaymentDriver<E extends GatewayNotification = GatewayEvent> {
  /**
   * Makes the next authorization approve, decline or ask for a customer action. May return the
   * provider data the checkout sends (`payment.data`, e.g. a test payment method's token).
   */
  prepare(outcome: AuthorizationOutcome): void | Record<string, unknown> | Promise<void | Record<string, unknown>>
  /**
   * The shopper completes the customer action of the charge `reference` at their bank: the gateway
   * authorizes it (and captures it, when it captures automatically). Returns the notifications the
   * gateway sends for it, in the order it sends them, in the gateway's own shape (each with its id).
   */
  completeAction(reference: string): E[] | Promise<E[]>
}

/**
 * What the gateway holds for one charge, in minor units.
 *
 * @example
 * ```ts
 * const held: PaymentLedgerEntry = { reference: 'ch_1', authorized: 1850, captured: 1850, refunded: 500, voided: false, captures: 1 }
 * ```
 */
export interface PaymentLedgerEntry {
  /** The charge's reference (what `authorize` answered). */
  reference: string
  authorized: number
  captured: number
  refunded: number
  voided: boolean
  /** How many captures succeeded on it. */
  captures: number
}

/**
 * A provider made for one case, with the means to drive and read its gateway.
 *
 * @example
 * ```ts
 * const gateway = testGateway({ clock: virtualClock({ autoAdvance: false }) })
 * const harness: PaymentHarness = {
 *   provider: gateway,
 *   driver: { prepare: (outcome) => gateway.script('authorize', outcome === 'approve' ? 'ok' : outcome === 'decline' ? 'refuse' : 'action'), completeAction: (reference) => gateway.confirmAction(reference) },
 *   webhook: (event) => gateway.webhook(event),
 *   ledger: () => gateway.charges(),
 * }
 * ```
 */
export interface PaymentHarness<E extends GatewayNotification = GatewayEvent> {
  /** A fresh provider (and, behind it, a gateway with an empty ledger). Must have the `webhooks` capability. */
  provider: PaymentProvider
  driver: PaymentDriver<E>
  /** The webhook request the gateway sends for one notification, signed as it signs them. */
  webhook(event: E): WebhookRequest | Promise<WebhookRequest>
  /** Every charge this provider's gateway holds (authorizations made by this case only). */
  ledger(): PaymentLedgerEntry[] | Promise<PaymentLedgerEntry[]>
  /** Runs after the case, pass or fail, once the engine is closed. */
  teardown?(): void | Promise<void>
}

/**
 * What {@link paymentConformance} runs against: an empty database per case and a fresh provider
 * per case.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 * import { testGateway, type PaymentConformanceTarget } from '@cartwright/testkit'
 *
 * const target: PaymentConformanceTarget = {
 *   name: 'test gateway',
 *   storage: () => sqliteStorage(),
 *   setup({ clock, capture }) {
 *     const gateway = testGateway({ clock, autoCapture: capture === 'automatic' })
 *     return {
 *       provider: gateway,
 *       driver: {
 *         prepare: (outcome) => gateway.script('authorize', outcome === 'approve' ? 'ok' : outcome === 'decline' ? 'refuse' : 'action'),
 *         completeAction: (reference) => gateway.confirmAction(reference),
 *       },
 *       webhook: (event) => gateway.webhook(event),
 *       ledger: () => gateway.charges(),
 *     }
 *   },
 * }
 * ```
 */
export interface PaymentConformanceTarget<E extends GatewayNotification = GatewayEvent> {
  /** Names the suite in test output, e.g. `testGateway` or `stripe (fake server)`. */
  name: string
  /** A storage adapter on a new, empty database (SQLite in memory is enough), never shared between cases. */
  storage(): StorageAdapter | Promise<StorageAdapter>
  /**
   * A fresh provider for one case. `clock` is the engine's virtual clock (time moves only when the
   * case moves it): give it to anything of yours that sleeps. `capture` says whether the gateway
   * should capture at authorization (`automatic`) or wait for a capture call (`manual`).
   */
  setup(context: { clock: VirtualClock; capture: 'manual' | 'automatic' }): PaymentHarness<E> | Promise<PaymentHarness<E>>
  /** Cases not to run, each with a reason that is printed when the suite is registered. */
  skip?: ConformanceSkip[]
}

/**
 * The conformance suite every payment provider must pass, on a real engine: authorize, capture in
 * full and in part, refund in part, void, idempotent keys and declines, each time with the engine's
 * books equal to the gateway's ledger; and under the chaos harness ({@link withChaos}): duplicate
 * webhooks (5 at once, 3 more later) applied once, events out of order, the webhook before, at,
 * after or without the shopper's return, a gateway that hangs past the timeout, and answers lost
 * after the gateway acted — each ending with exactly one order and one charge, or none and nothing
 * held. Checks with `node:assert`, so it runs under any test runner.
 *
 * @example
 * ```ts
 * // test/payment-conformance.test.ts (vitest)
 * import { describe, it } from 'vitest'
 * import { paymentConformance } from '@cartwright/testkit'
 *
 * declare const target: PaymentConformanceTarget // your provider's target, see its example
 *
 * paymentConformance(target).register({ describe, it })
 * ```
 */
export function paymentConformance<E extends GatewayNotification = GatewayEvent>(target: PaymentConformanceTarget<E>): ConformanceSuite {
  if (typeof target !== 'object' || target === null) throw new Error(`${PREFIX} paymentConformance: pass { name, storage, setup }`)
  if (typeof target.name !== 'string' || target.name.trim() === '') throw new Error(`${PREFIX} paymentConformance: name must be a non-empty string`)
  if (typeof target.storage !== 'function') throw new Error(`${PREFIX} paymentConformance: storage must be a function returning a storage adapter`)
  if (typeof target.setup !== 'function') throw new Error(`${PREFIX} paymentConformance: setup must be a function returning { provider, driver, webhook, ledger }`)
  if (target.skip !== undefined && !Array.isArray(target.skip)) throw new Error(`${PREFIX} paymentConformance: skip must be an array of { reason, tests }`)
  const definitions: CaseDefinition[] = paymentCaseGroups.flatMap(({ group, cases }) =>
    cases.map((c) => ({ group, name: c.name, run: () => runCase(target as unknown as PaymentConformanceTarget<GatewayNotification>, c.capture ?? 'manual', c.run) })),
  )
  return buildSuite(PREFIX, target.name, definitions, target.skip ?? [])
}

async function runCase(target: PaymentConformanceTarget<GatewayNotification>, capture: 'manual' | 'automatic', body: (t: PaymentFixture) => Promise<void>): Promise<void> {
  const fixture = await PaymentFixture.open(target, capture, PREFIX)
  let failure: { error: unknown } | null = null
  try {
    await body(fixture)
  } catch (error) {
    failure = { error }
  }
  // Clean up whatever happened; a cleanup error never hides the case's own failure.
  for (const step of [() => fixture.close(), () => fixture.harness.teardown?.()]) {
    try {
      await step()
    } catch (error) {
      failure ??= { error }
    }
  }
  if (failure) throw failure.error
}
