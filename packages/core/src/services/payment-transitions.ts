import { CommerceError } from '../errors.js'
import type { PaymentTable, Tx } from '../db/database.js'
import { assertTransition, paymentChangeProblems, transitionRefused, canTransition, type PaymentStateSnapshot, type TransitionOptions } from '../payment-state.js'
import type { PaymentStatus } from '../types.js'

/**
 * Where core changes a payment's status: every such change is checked against the payment state
 * machine (payment-state.ts), then written on the condition that the row still has the status and
 * amounts that were read. A change the machine refuses, or one that lost a race with another
 * writer, changes nothing.
 */

type Amounts = Pick<PaymentTable, 'status' | 'authorized_amount' | 'captured_amount' | 'refunded_amount'>

const snapshot = (row: Amounts): PaymentStateSnapshot => ({
  status: row.status as PaymentStatus,
  authorizedAmount: row.authorized_amount,
  capturedAmount: row.captured_amount,
  refundedAmount: row.refunded_amount,
})

/**
 * @internal Checks a change of a payment against the machine: its change of status, and the
 * guards on its amounts. Throws `INVALID_STATE` naming both statuses and the broken guards.
 */
export function checkPaymentChange(paymentId: string, before: Amounts, after: Amounts, options: TransitionOptions = {}): void {
  const problems = paymentChangeProblems(snapshot(before), snapshot(after), options)
  if (problems.length === 0) return
  const from = before.status as PaymentStatus
  const to = after.status as PaymentStatus
  if (problems.includes('transition')) assertTransition(from, to, { ...options, paymentId })
  throw transitionRefused(from, to, {
    paymentId,
    why: `it would break ${problems.join(', ')} (authorized ${after.authorized_amount}, captured ${after.captured_amount}, refunded ${after.refunded_amount})`,
    details: { guards: problems },
  })
}

/**
 * @internal Writes a change of a payment read as `before` in this transaction: `change` holds the
 * columns to set, its `status` the new status (amounts not given keep their value). The update is
 * conditional on the status and amounts read; when another writer changed the row meanwhile, the
 * change is refused, `INVALID_STATE` when it no longer follows from what is there, `CONFLICT`
 * (retryable) otherwise, and the caller's transaction rolls back.
 */
export async function writePaymentChange(
  tx: Tx,
  before: PaymentTable,
  change: Partial<Omit<PaymentTable, 'id' | 'status'>> & { status: PaymentStatus },
  options: TransitionOptions = {},
): Promise<PaymentTable> {
  const after: PaymentTable = { ...before, ...change }
  checkPaymentChange(before.id, before, after, options)
  const { status, ...rest } = change
  const updated = await tx
    .updateTable('cw_payments')
    .set({ ...rest, status })
    .where('id', '=', before.id)
    .where('status', '=', before.status)
    .where('authorized_amount', '=', before.authorized_amount)
    .where('captured_amount', '=', before.captured_amount)
    .where('refunded_amount', '=', before.refunded_amount)
    .executeTakeFirst()
  if (Number(updated.numUpdatedRows) !== 1) throw await paymentChanged(tx, before, status, options)
  return after
}

/**
 * @internal The error for a conditional write of a payment that found the row changed: what is
 * there now is read, so that the error names it.
 */
export async function paymentChanged(tx: Tx, before: Pick<PaymentTable, 'id' | 'status'>, to: PaymentStatus, options: TransitionOptions = {}): Promise<CommerceError> {
  const current = await tx.selectFrom('cw_payments').select(['status']).where('id', '=', before.id).executeTakeFirst()
  const now = (current?.status ?? 'gone') as PaymentStatus
  const details = { paymentId: before.id, expected: before.status, actual: now, to }
  if (current && now !== before.status && !canTransition(now, to, options)) {
    return transitionRefused(now, to, { paymentId: before.id, why: `it changed from ${before.status} to ${now} meanwhile; nothing was changed`, details })
  }
  return new CommerceError('CONFLICT', `Payment ${before.id} changed while it was being moved to ${to}; nothing was changed, retry`, { retryable: true, details })
}
