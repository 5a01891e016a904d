import type { Tx } from './db/database.js'

/**
 * Named points inside the engine's operations where a test can act: pause until another
 * connection has done something, write behind the engine's back in the same transaction, or
 * throw to simulate a crash there. They exist so that races are forced at a known place
 * instead of hoped for. Points that pass `tx` run inside the operation's write transaction.
 *
 * Never set them in production: they run on the hot path of every operation they name.
 */
export interface TestPoints {
  /** In the checkout's claim transaction, after stock was planned and before it is written. */
  'checkout.claim.planned': (context: { cartId: string; paymentId: string; tx: Tx }) => void | Promise<void>
  /** In a cart change, after the changed cart was priced and before the transaction that writes it if the cart's version has not moved. */
  'cart.change.priced': (context: { cartId: string; attempt: number }) => void | Promise<void>
  /** Before the gateway is asked to authorize a checkout's payment. */
  'checkout.authorize.before': (context: { cartId: string; paymentId: string }) => void | Promise<void>
  /**
   * After the gateway answered a checkout's authorization, before the answer is recorded: a process
   * killed here leaves a charge the engine does not know of yet, for recovery to find.
   */
  'checkout.authorize.answered': (context: { cartId: string; paymentId: string; status: string }) => void | Promise<void>
  /**
   * In `payments.handleWebhook`'s transaction, after the event was recorded under (provider, event
   * id) and before it is applied to its payment.
   */
  'payment.event.recorded': (context: { provider: string; eventId: string; paymentId: string | null; tx: Tx }) => void | Promise<void>
  /**
   * In a round of automatic recovery, after this process tried to take the recovery lease
   * (`leased`: it holds it now) and before it does any work.
   */
  'recovery.round': (context: { holder: string; leased: boolean }) => void | Promise<void>
  /** In the placement transaction, after the payment row was read and before the order is written. */
  'checkout.place.before': (context: { cartId: string; paymentId: string; tx: Tx }) => void | Promise<void>
  /** In `orders.cancel`'s transaction, before the order is locked: another cancel may run to its end here. */
  'order.cancel.locking': (context: { orderId: string; tx: Tx }) => void | Promise<void>
  /**
   * In the transaction that claims a capture, void or refund, after its key was looked up and found
   * unused, before the order is locked: another call with the same key may run to its end here.
   */
  'payment.operation.locking': (context: { orderId: string; kind: 'capture' | 'void' | 'refund'; tx: Tx }) => void | Promise<void>
  /** Before the gateway is asked to capture, void or refund. */
  'payment.operation.before': (context: { paymentId: string; operationId: string; kind: 'capture' | 'void' | 'refund' }) => void | Promise<void>
  /** After the gateway answered a capture, void or refund, before the answer is recorded. */
  'payment.operation.answered': (context: { paymentId: string; operationId: string; kind: 'capture' | 'void' | 'refund' }) => void | Promise<void>
  /**
   * In the transaction that records a capture, void or refund's answer, after the payment was read
   * (and locked) and before it is written: a write through `tx` here is a change that slipped past
   * the lock, which the conditional write of the payment must refuse.
   */
  'payment.operation.settling': (context: { paymentId: string; operationId: string; kind: 'capture' | 'void' | 'refund'; tx: Tx }) => void | Promise<void>
  /** In `retention.prune()`, after a batch of removable rows was found and before the transaction that re-checks and removes them. */
  'retention.batch.found': (context: { kind: 'outbox' | 'payments' | 'reservations' | 'carts'; ids: string[] }) => void | Promise<void>
}

export type TestPointName = keyof TestPoints

/** @internal Runs a test point when one is set; free when none is. */
export type RunPoint = <K extends TestPointName>(name: K, context: Parameters<TestPoints[K]>[0]) => Promise<void>

/** @internal */
export function pointRunner(points: Partial<TestPoints> | undefined): RunPoint | null {
  if (!points || Object.keys(points).length === 0) return null
  return async (name, context) => {
    const fn = points[name] as ((context: unknown) => void | Promise<void>) | undefined
    if (fn) await fn(context)
  }
}
