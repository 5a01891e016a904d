import { CommerceError } from '../errors.js'
import type { PaymentTable, Tx } from '../db/database.js'
import { parseJson } from '../db/rows.js'
import type { HookTransaction, Tender, TransactionalHookContexts } from '../hooks.js'
import type { Emit, Runtime } from '../runtime.js'
import type { Cart, Order } from '../types.js'
import { MAX_PAYMENTS_PER_ORDER, insertOperation } from './payment-operations.js'
import { assertTransition } from '../payment-state.js'
import { writePaymentChange } from './payment-transitions.js'

/**
 * Where checkout meets plugins inside its transactions: the claim (a plugin uses up a limit, or
 * pays part of the total with a tender), the placement (the plugin's claim events reach the outbox,
 * its tenders are captured) and the release (a decline or a cancel gives back what the claim took).
 */

/** Core's transaction as a hook sees it, before each plugin narrows it. */
export function hookScope(rt: Runtime, tx: Tx, emit: (type: string, payload: unknown) => void): HookTransaction {
  return { tx, emit, retryable: (error) => rt.storage.isRetryable(error) }
}

interface HeldEvent {
  type: string
  payload: unknown
}

/**
 * Runs the `checkout.claim` hooks in the claim's transaction, after the payment row is written and
 * before stock is reserved. Events the hooks emit are held on the payment until the order is placed;
 * tenders they push are recorded as payments of their own, and the gateway payment's amount becomes
 * what is left. Changes `payment` in place.
 */
export async function runClaimHooks(rt: Runtime, tx: Tx, cart: Cart, payment: PaymentTable): Promise<void> {
  if (!rt.hooks.has('checkout.claim')) return
  const held: HeldEvent[] = []
  const tenders: Tender[] = []
  await rt.hooks.runTransactional(
    'checkout.claim',
    { cart, paymentId: payment.id, tenders },
    hookScope(rt, tx, (type, payload) => held.push({ type, payload })),
  )
  const updates: Partial<PaymentTable> = {}
  if (tenders.length) updates.amount = await recordTenders(rt, tx, cart, payment, tenders)
  if (held.length) updates.claim_events = JSON.stringify(held)
  if (Object.keys(updates).length === 0) return
  await tx.updateTable('cw_payments').set(updates).where('id', '=', payment.id).execute()
  Object.assign(payment, updates)
}

/** Checks and records a claim's tenders; returns what the gateway must still be asked for. */
async function recordTenders(rt: Runtime, tx: Tx, cart: Cart, payment: PaymentTable, tenders: Tender[]): Promise<number> {
  let left = payment.amount
  const stamp = rt.now().toISOString()
  if (tenders.length > MAX_PAYMENTS_PER_ORDER - 1) {
    throw new CommerceError('VETOED', `checkout.claim: at most ${MAX_PAYMENTS_PER_ORDER - 1} tenders per checkout, got ${tenders.length}`)
  }
  for (const [index, tender] of tenders.entries()) {
    const where = `checkout.claim tender ${index}`
    const provider = rt.payments.get(tender?.provider)
    if (!provider) throw new CommerceError('CONFIGURATION', `${where}: payment provider ${JSON.stringify(tender?.provider)} is not configured`)
    // A tender goes back by refund (a cancel, a refund of the order): one that cannot would leave an order that can never be canceled.
    if (!provider.capabilities.refund || typeof provider.refund !== 'function') {
      throw new CommerceError('CONFIGURATION', `${where}: payment provider ${provider.id} cannot refund, so this tender could never be given back; a tender's provider must offer refund`, {
        details: { provider: provider.id },
      })
    }
    if (!Number.isSafeInteger(tender.amount) || tender.amount <= 0) {
      throw new CommerceError('VETOED', `${where}: amount must be a positive integer in minor units, got ${String(tender.amount)}`)
    }
    if (typeof tender.reference !== 'string' || tender.reference.length === 0 || tender.reference.length > 200) {
      throw new CommerceError('VETOED', `${where}: reference must be a non-empty string of at most 200 characters`)
    }
    if (tender.amount > left) {
      throw new CommerceError('VETOED', `${where}: tenders of this checkout would pay more than its total ${cart.totals.total}`, {
        details: { cartId: cart.id, total: cart.totals.total },
      })
    }
    left -= tender.amount
    await tx
      .insertInto('cw_payments')
      .values({
        id: rt.ids('pay'),
        cart_id: cart.id,
        order_id: null,
        kind: 'tender',
        provider: provider.id,
        idempotency_key: `${payment.id}:tender:${index}`,
        status: 'authorized',
        currency: payment.currency,
        amount: tender.amount,
        authorized_amount: tender.amount,
        captured_amount: 0,
        refunded_amount: 0,
        reference: tender.reference,
        failure: null,
        lease_until: null,
        data: null,
        claim_events: null,
        created_at: stamp,
        updated_at: stamp,
      })
      .execute()
  }
  return left
}

/** The tenders of the claim whose gateway payment is `paymentId`, still held. */
function heldTenders(tx: Tx, paymentId: string) {
  return tx
    .selectFrom('cw_payments')
    .selectAll()
    .where('idempotency_key', 'like', `${paymentId}:tender:%`)
    .where('kind', '=', 'tender')
    .where('status', '=', 'authorized')
    .orderBy('idempotency_key')
    .execute()
}

/**
 * In the placement's transaction: captures the claim's tenders for the order (each with its capture
 * operation), and returns them as the order's further payments.
 */
export async function placeTenders(rt: Runtime, tx: Tx, gateway: PaymentTable, cart: Cart, orderId: string, now: string): Promise<PaymentTable[]> {
  // A claim without tenders asked the gateway for the whole total: nothing to look up.
  if (gateway.amount >= cart.totals.total) return []
  const tenders = await heldTenders(tx, gateway.id)
  const placed: PaymentTable[] = []
  for (const tender of tenders) {
    // Through the payment state machine, and only if the tender is still as it was read.
    const row = await writePaymentChange(tx, tender, { order_id: orderId, status: 'captured', captured_amount: tender.amount, updated_at: now })
    await insertOperation(rt, tx, row, { id: `pop_${tender.id.slice(4)}`, kind: 'capture', amount: tender.amount, key: `${tender.id}:place`, reason: null }, {
      status: 'succeeded',
      reference: tender.reference,
    })
    placed.push(row)
  }
  return placed
}

/**
 * In the placement's transaction: writes the events plugins announced at claim, then runs the
 * `checkout.place` hooks.
 */
export async function runPlaceHooks(rt: Runtime, tx: Tx, emit: Emit, gateway: PaymentTable, order: Order, cart: Cart): Promise<void> {
  const rawEmit = emit as unknown as (type: string, payload: unknown) => void
  for (const event of parseJson<HeldEvent[]>(gateway.claim_events, [])) rawEmit(event.type, event.payload)
  if (!rt.hooks.has('checkout.place')) return
  await rt.hooks.runTransactional('checkout.place', { order, cart, paymentId: gateway.id }, hookScope(rt, tx, rawEmit))
}

/**
 * Gives back what a claim took, in the transaction that declines its payment or cancels its order:
 * the claim's tenders still held are voided (a decline), and the `checkout.release` hooks run.
 */
export async function releaseClaim(
  rt: Runtime,
  tx: Tx,
  emit: Emit,
  context: TransactionalHookContexts['checkout.release'],
): Promise<void> {
  if (context.reason === 'declined') {
    assertTransition('authorized', 'voided')
    await tx
      .updateTable('cw_payments')
      .set({ status: 'voided', updated_at: rt.now().toISOString() })
      .where('idempotency_key', 'like', `${context.paymentId}:tender:%`)
      .where('kind', '=', 'tender')
      .where('status', '=', 'authorized')
      .where('order_id', 'is', null)
      .execute()
  }
  if (!rt.hooks.has('checkout.release')) return
  await rt.hooks.runTransactional('checkout.release', context, hookScope(rt, tx, emit as unknown as (type: string, payload: unknown) => void))
}
