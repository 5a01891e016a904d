import { sql } from 'kysely'
import { CommerceError, isCommerceError, notFound, validationError } from '../errors.js'
import type { OrderTable, PaymentOperationTable, PaymentTable, Tx } from '../db/database.js'
import type { PaymentOperationResult, PaymentProvider } from '../ports/payment-provider.js'
import { transact, type Emit, type Runtime } from '../runtime.js'
import type { PaymentOperationKind, PaymentStatus } from '../types.js'
import { canTransition, transitionRefused } from '../payment-state.js'
import { toPayment, toPaymentOperation } from './order-mapping.js'
import { heldError } from './order-holds.js'
import { writePaymentChange } from './payment-transitions.js'
import { MANUAL_PROVIDER, manualPayments } from './draft-service.js'

/**
 * Captures, voids and refunds, each as one row of `cw_payment_operations` that goes through three
 * steps, the same for all three kinds:
 *
 * 1. **Claim**, in a write transaction that locks the order, then the payment: the operation is
 *    checked against what the gateway already confirmed *and* what is in flight (pending
 *    operations), and recorded as `pending` with a lease. Concurrent callers are serialized
 *    here, so a capture and a cancel of one payment can never both go to the gateway.
 * 2. **Send** it to the gateway with the operation's own key (`gateway_key`), never a key derived
 *    from a running total: a retry of this operation repeats this key, a new operation never does.
 * 3. **Settle**, in a write transaction: on success the payment's confirmed amounts move and its
 *    status is derived from them; on an explicit refusal the operation is `failed` and nothing
 *    moves. When the gateway's answer is lost the operation stays `pending`: retrying with the
 *    same idempotency key, or `payments.recover()`, sends it again with the same gateway key.
 *
 * So the stored `captured_amount` and `refunded_amount` are always what the gateway confirmed.
 */

/** What a caller asks for. */
export interface OperationRequest {
  kind: PaymentOperationKind
  orderId: string
  /** Capture: defaults to what is left of the authorization. Refund: required. Void: ignored. */
  amount?: number
  /** The caller's key; a fresh one is made when absent. */
  idempotencyKey?: string
  reason?: string | null
  /** The payment to act on; default: the order's gateway payment (a refund without it is split, see `orders.refund`). */
  paymentId?: string
}

/** Statuses from which money has been captured. */
export const CAPTURED: readonly PaymentStatus[] = ['partially_captured', 'captured', 'partially_refunded', 'refunded']

/** A payment's status, derived from its confirmed amounts. One place, for every operation. */
export function derivePaymentStatus(p: Pick<PaymentTable, 'status' | 'authorized_amount' | 'captured_amount' | 'refunded_amount'>): PaymentStatus {
  if (p.status === 'pending' || p.status === 'declined' || p.status === 'voided') return p.status
  if (p.captured_amount === 0) return p.status === 'captured' ? 'captured' : 'authorized'
  if (p.refunded_amount === 0) return p.captured_amount < p.authorized_amount ? 'partially_captured' : 'captured'
  return p.refunded_amount < p.captured_amount ? 'partially_refunded' : 'refunded'
}

type Amounts = Pick<PaymentTable, 'status' | 'authorized_amount' | 'captured_amount' | 'refunded_amount'>

/** Payments that still stand: not voided, not declined. */
/** An order's payments that count: all but declined attempts (a voided one still counts, as money not received). */
const counted = <T extends Pick<PaymentTable, 'status'>>(payments: readonly T[]) => payments.filter((p) => p.status !== 'declined')

/**
 * An order's payment status, from all its payments (the gateway's and its tenders): the status of
 * their summed amounts; `voided` when every one was voided. A voided payment next to captured ones
 * counts as authorized and never captured, so the order reads `partially_captured`, not paid.
 */
export function orderPaymentStatus(payments: readonly Amounts[]): PaymentStatus {
  const live = counted(payments)
  if (live.length === 0) return (payments[0]?.status as PaymentStatus | undefined) ?? 'authorized'
  if (live.length === 1) return derivePaymentStatus(live[0]!)
  if (live.every((p) => p.status === 'voided')) return 'voided'
  const sum = (k: 'authorized_amount' | 'captured_amount' | 'refunded_amount') => live.reduce((s, p) => s + p[k], 0)
  const captured = live.every((p) => p.status === 'captured' || CAPTURED.includes(p.status as PaymentStatus))
  return derivePaymentStatus({
    status: captured ? 'captured' : 'authorized',
    authorized_amount: sum('authorized_amount'),
    captured_amount: sum('captured_amount'),
    refunded_amount: sum('refunded_amount'),
  })
}

/** An order is complete once it is fulfilled and every one of its payments is captured (a voided one never is). */
export function isComplete(order: Pick<OrderTable, 'status' | 'fulfillment_status'>, payments: readonly Pick<PaymentTable, 'status'>[]): boolean {
  const live = counted(payments)
  return order.status === 'placed' && order.fulfillment_status === 'fulfilled' && live.length > 0 && live.every((p) => CAPTURED.includes(p.status as PaymentStatus))
}

/** @internal The order's payments, locked after the order, gateway first, then tenders in the order they were applied. */
export async function lockPayments(rt: Runtime, tx: Tx, orderId: string): Promise<PaymentTable[]> {
  let q = tx
    .selectFrom('cw_payments')
    .selectAll()
    .where('order_id', '=', orderId)
    .orderBy(sql`case when kind = 'gateway' then 0 else 1 end`)
    .orderBy('created_at')
    .orderBy('idempotency_key')
  if (rt.storage.capabilities.rowLocks) q = q.forUpdate()
  return q.execute()
}

/** @internal The order, locked for the rest of the transaction where storage has row locks; `NOT_FOUND` when there is none. */
export async function lockOrder(rt: Runtime, tx: Tx, orderId: string): Promise<OrderTable> {
  let q = tx.selectFrom('cw_orders').selectAll().where('id', '=', orderId)
  if (rt.storage.capabilities.rowLocks) q = q.forUpdate()
  const order = await q.executeTakeFirst()
  if (!order) throw notFound('Order', orderId)
  return order
}

/**
 * The payment an operation is for, locked after the order (always in that order, so two operations
 * cannot deadlock): the one named, or the order's gateway payment (captures and voids are the
 * gateway's; tenders are captured when the order is placed).
 */
async function lockPayment(rt: Runtime, tx: Tx, order: OrderTable, paymentId?: string): Promise<PaymentTable> {
  let q = tx.selectFrom('cw_payments').selectAll().where('order_id', '=', order.id)
  q = paymentId ? q.where('id', '=', paymentId) : q.where('kind', '=', 'gateway').orderBy('created_at').limit(1)
  if (rt.storage.capabilities.rowLocks) q = q.forUpdate()
  const payment = await q.executeTakeFirst()
  if (!payment && paymentId) throw notFound('Payment', paymentId)
  if (!payment) throw new CommerceError('INVALID_STATE', `Order ${order.number} has no payment`, { details: { orderId: order.id } })
  return payment
}

/** Sums of what is in flight for a payment, by kind. */
async function inFlight(tx: Tx, paymentId: string): Promise<{ ops: PaymentOperationTable[]; capture: number; refund: number; void: number }> {
  const ops = await tx.selectFrom('cw_payment_operations').selectAll().where('payment_id', '=', paymentId).where('status', '=', 'pending').execute()
  const sum = (kind: string) => ops.filter((o) => o.kind === kind).reduce((s, o) => s + o.amount, 0)
  return { ops, capture: sum('capture'), refund: sum('refund'), void: ops.filter((o) => o.kind === 'void').length }
}

/** The payment's provider, checked to be able to `kind`. */
export function operationProvider(rt: Runtime, payment: PaymentTable, kind: PaymentOperationKind): PaymentProvider {
  // A payment recorded by drafts.markPaid has no gateway: its refunds are recorded (see drafts).
  const p = rt.payments.get(payment.provider) ?? (payment.provider === MANUAL_PROVIDER ? manualPayments : undefined)
  if (!p) throw new CommerceError('CONFIGURATION', `Payment provider ${payment.provider} is not configured`, { details: { provider: payment.provider } })
  if (!p.capabilities[kind] || typeof p[kind] !== 'function') {
    throw new CommerceError('INVALID_STATE', `Payment provider ${p.id} cannot ${kind}`, { details: { provider: p.id, operation: kind } })
  }
  return p
}

const inProgress = (op: PaymentOperationTable) =>
  new CommerceError('CONFLICT', `A ${op.kind} of this payment is in progress; retry shortly`, {
    retryable: true,
    details: { operationId: op.id, kind: op.kind },
  })

/** Checks a new operation against the payment and what is in flight; returns the amount to send. */
function admit(
  rt: Runtime,
  order: OrderTable,
  payment: PaymentTable,
  pending: Awaited<ReturnType<typeof inFlight>>,
  request: OperationRequest,
): number {
  const status = payment.status as PaymentStatus
  const label = `Order ${order.number}`
  const details = { orderId: order.id, paymentId: payment.id, paymentStatus: status }
  const p = operationProvider(rt, payment, request.kind)
  const multiCapture = p.capabilities.multiCapture === true
  // Every operation is checked against the payment state machine: the status it would lead to must follow this one.
  const refused = (to: PaymentStatus, why: string, more: Record<string, unknown> = {}) =>
    transitionRefused(status, to, { subject: `${label}'s payment`, why, details: { ...details, ...more } })
  switch (request.kind) {
    case 'capture': {
      if (order.status === 'canceled') throw new CommerceError('INVALID_STATE', `${label} is canceled; its payment cannot be captured`, { details })
      if (order.held_at) throw heldError(order)
      if (pending.void) throw inProgress(pending.ops.find((o) => o.kind === 'void')!)
      if (!multiCapture && pending.capture) throw inProgress(pending.ops.find((o) => o.kind === 'capture')!)
      const left = payment.authorized_amount - payment.captured_amount - pending.capture
      const amount = request.amount ?? left
      const to: PaymentStatus = payment.captured_amount + amount < payment.authorized_amount ? 'partially_captured' : 'captured'
      if (!canTransition(status, 'captured', { multiCapture }) && !canTransition(status, 'partially_captured', { multiCapture })) {
        const why = CAPTURED.includes(status)
          ? multiCapture
            ? 'the whole authorization was captured'
            : `it was already captured (${payment.captured_amount} of ${payment.authorized_amount}; ${p.id} captures once, the rest was released)`
          : `it is ${status}, and only an authorization can be captured`
        throw refused(to, why, { capturedAmount: payment.captured_amount })
      }
      if (amount > left) {
        throw validationError('capture', [{ path: 'amount', message: `only ${left} of the ${payment.authorized_amount} authorized can still be captured` }])
      }
      if (amount === 0) throw new CommerceError('INVALID_STATE', `${label}'s payment has nothing left to capture`, { details })
      if (amount < left && !p.capabilities.partialCapture) {
        throw validationError('capture', [{ path: 'amount', message: `${p.id} cannot capture part of an authorization` }])
      }
      return amount
    }
    case 'void': {
      if (pending.capture) throw inProgress(pending.ops.find((o) => o.kind === 'capture')!)
      if (pending.void) throw inProgress(pending.ops.find((o) => o.kind === 'void')!)
      if (!canTransition(status, 'voided') || status !== 'authorized') {
        throw refused('voided', `only an authorization with nothing captured can be voided${CAPTURED.includes(status) ? '; refund what was captured instead' : ''}`)
      }
      return payment.authorized_amount
    }
    case 'refund': {
      const amount = request.amount!
      if (!CAPTURED.includes(status)) {
        throw refused('refunded', 'nothing has been captured, so there is nothing to refund', { capturedAmount: 0 })
      }
      const refundable = payment.captured_amount - payment.refunded_amount - pending.refund
      if (amount > refundable) {
        throw validationError('refund', [
          {
            path: 'amount',
            message: `only ${refundable} can still be refunded (${payment.captured_amount} captured, ${payment.refunded_amount} refunded, ${pending.refund} being refunded)`,
          },
        ])
      }
      const to: PaymentStatus = payment.refunded_amount + pending.refund + amount < payment.captured_amount ? 'partially_refunded' : 'refunded'
      if (!canTransition(status, to)) throw refused(to, `${to} does not follow ${status}`)
      return amount
    }
  }
}

/** The result of a claim: the operation to send (or replay), and whether this caller holds its lease. */
interface Claimed {
  op: PaymentOperationTable
  payment: PaymentTable
  /** False when another caller is sending it right now. */
  ours: boolean
}

/** Looks an operation up by the caller's key and checks that it is the same request. */
function sameRequest(op: PaymentOperationTable, request: OperationRequest): void {
  const amountDiffers = request.amount !== undefined && request.kind !== 'void' && op.amount !== request.amount
  if (op.order_id !== request.orderId || op.kind !== request.kind || amountDiffers) {
    throw new CommerceError('CONFLICT', `This idempotency key was already used for another operation (a ${op.kind} of ${op.amount})`, {
      details: { operationId: op.id, kind: op.kind },
    })
  }
}

/** Takes over an operation whose lease ran out (its sender died, or its answer was lost). */
async function takeLease(rt: Runtime, tx: Tx, op: PaymentOperationTable): Promise<PaymentOperationTable | null> {
  const now = rt.now()
  if (op.status !== 'pending') return null
  if (op.lease_until !== null && new Date(op.lease_until).getTime() > now.getTime()) return null
  const lease = new Date(now.getTime() + rt.settings.checkoutLeaseMs).toISOString()
  let q = tx.updateTable('cw_payment_operations').set({ lease_until: lease }).where('id', '=', op.id).where('status', '=', 'pending')
  q = op.lease_until === null ? q.where('lease_until', 'is', null) : q.where('lease_until', '=', op.lease_until)
  const taken = await q.executeTakeFirst()
  return Number(taken.numUpdatedRows) === 1 ? { ...op, lease_until: lease } : null
}

/**
 * Step 1: finds the operation under the caller's key, or admits and records a new one.
 * `prepare` runs first in the same transaction (a cancel releases stock and marks the order there).
 */
export async function claimOperation(rt: Runtime, request: OperationRequest): Promise<Claimed> {
  const id = rt.ids('pop')
  const key = request.idempotencyKey ?? id
  return transact(
    rt,
    async (tx) => {
      const byKey = () => tx.selectFrom('cw_payment_operations').selectAll().where('idempotency_key', '=', key).executeTakeFirst()
      const resume = async (existing: PaymentOperationTable): Promise<Claimed> => {
        sameRequest(existing, request)
        const payment = await tx.selectFrom('cw_payments').selectAll().where('id', '=', existing.payment_id).executeTakeFirstOrThrow()
        const leased = await takeLease(rt, tx, existing)
        return { op: leased ?? existing, payment, ours: leased !== null }
      }
      const existing = await byKey()
      if (existing) return resume(existing)
      if (rt.point) await rt.point('payment.operation.locking', { orderId: request.orderId, kind: request.kind, tx })
      const order = await lockOrder(rt, tx, request.orderId)
      const payment = await lockPayment(rt, tx, order, request.paymentId)
      // Looked up again with the order locked: a call with the same key that committed while this
      // one waited for the lock is resumed, not inserted a second time.
      if (request.idempotencyKey) {
        const committed = await byKey()
        if (committed) return resume(committed)
      }
      const pending = await inFlight(tx, payment.id)
      // A payment is captured (or voided) once: a call without a key that finds that one operation
      // left pending by a lost answer is its retry, and resumes it with the same gateway key.
      const single = request.kind === 'void' || (request.kind === 'capture' && !operationProvider(rt, payment, 'capture').capabilities.multiCapture)
      const orphan = single && !request.idempotencyKey ? pending.ops.find((o) => o.kind === request.kind) : undefined
      if (orphan && (request.amount === undefined || request.amount === orphan.amount)) {
        const leased = await takeLease(rt, tx, orphan)
        if (leased) return { op: leased, payment, ours: true }
      }
      const amount = admit(rt, order, payment, pending, request)
      const op = await insertOperation(rt, tx, payment, { id, kind: request.kind, amount, key, reason: request.reason ?? null })
      return { op, payment, ours: true }
    },
    { idempotent: true },
  )
}

/** @internal Records a new pending operation, leased to the caller (or, with `done`, one the gateway already did). */
export async function insertOperation(
  rt: Runtime,
  tx: Tx,
  payment: PaymentTable,
  { id, kind, amount, key, reason }: { id: string; kind: PaymentOperationKind; amount: number; key: string; reason: string | null },
  done?: { status: 'succeeded'; reference: string | null },
): Promise<PaymentOperationTable> {
  const now = rt.now()
  const op: PaymentOperationTable = {
    id,
    payment_id: payment.id,
    order_id: payment.order_id,
    kind,
    amount,
    status: done ? 'succeeded' : 'pending',
    idempotency_key: key,
    gateway_key: done ? key : id,
    reason,
    reference: done?.reference ?? null,
    failure: null,
    lease_until: done ? null : new Date(now.getTime() + rt.settings.checkoutLeaseMs).toISOString(),
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
  }
  await tx.insertInto('cw_payment_operations').values(op).execute()
  return op
}

/** What sending an operation came to. */
export type Sent = { status: 'succeeded' } | { status: 'failed'; reason: string }

/**
 * Steps 2 and 3 for an operation whose lease the caller holds: sends it with its gateway key and
 * records the answer. Throws a retryable `PAYMENT_FAILED` with `details.outcomeUnknown` when the
 * gateway's answer is lost; the operation then stays pending for a retry or `payments.recover()`.
 */
export async function sendOperation(rt: Runtime, op: PaymentOperationTable, payment: PaymentTable): Promise<Sent> {
  const kind = op.kind as PaymentOperationKind
  const p = operationProvider(rt, payment, kind)
  if (rt.point) await rt.point('payment.operation.before', { paymentId: payment.id, operationId: op.id, kind })
  let result: PaymentOperationResult
  try {
    result = await p[kind]!({
      paymentId: payment.id,
      operationId: op.id,
      reference: payment.reference ?? '',
      idempotencyKey: op.gateway_key,
      amount: op.amount,
      currency: payment.currency,
    })
    if (result?.status !== 'succeeded' && result?.status !== 'failed') throw new Error(`unexpected answer ${JSON.stringify(result)}`)
  } catch (error) {
    // The gateway may or may not have moved the money: keep the claim, free the lease for a retry.
    await transact(rt, async (tx) => {
      await tx.updateTable('cw_payment_operations').set({ lease_until: rt.now().toISOString() }).where('id', '=', op.id).where('status', '=', 'pending').execute()
    }, { idempotent: true })
    throw new CommerceError('PAYMENT_FAILED', `Payment provider ${p.id} did not answer the ${kind}; retry with the same idempotency key: ${(error as Error)?.message ?? error}`, {
      cause: error,
      retryable: true,
      details: { orderId: op.order_id, paymentId: payment.id, operationId: op.id, outcomeUnknown: true },
    })
  }
  if (rt.point) await rt.point('payment.operation.answered', { paymentId: payment.id, operationId: op.id, kind })
  return settleOperation(rt, op, result)
}

/** Step 3: records the gateway's answer; the first settler wins, later ones read what it wrote. */
async function settleOperation(rt: Runtime, op: PaymentOperationTable, result: PaymentOperationResult): Promise<Sent> {
  return transact(
    rt,
    async (tx, emit) => {
      const order = op.order_id ? await lockOrder(rt, tx, op.order_id) : null
      let pq = tx.selectFrom('cw_payments').selectAll().where('id', '=', op.payment_id)
      if (rt.storage.capabilities.rowLocks) pq = pq.forUpdate()
      const payment = await pq.executeTakeFirstOrThrow()
      if (rt.point) await rt.point('payment.operation.settling', { paymentId: payment.id, operationId: op.id, kind: op.kind as PaymentOperationKind, tx })
      const now = rt.now().toISOString()
      const status = result.status === 'succeeded' ? 'succeeded' : 'failed'
      const settled = await tx
        .updateTable('cw_payment_operations')
        .set({
          status,
          reference: result.status === 'succeeded' ? (result.reference ?? null) : null,
          failure: result.status === 'failed' ? String(result.reason).slice(0, 500) : null,
          lease_until: null,
          updated_at: now,
        })
        .where('id', '=', op.id)
        .where('status', '=', 'pending')
        .executeTakeFirst()
      if (Number(settled.numUpdatedRows) !== 1) {
        const current = await tx.selectFrom('cw_payment_operations').select(['status', 'failure']).where('id', '=', op.id).executeTakeFirstOrThrow()
        return current.status === 'failed' ? { status: 'failed' as const, reason: current.failure ?? 'failed' } : { status: 'succeeded' as const }
      }
      const after = { ...op, status, updated_at: now, lease_until: null } as PaymentOperationTable
      if (result.status === 'failed') {
        after.failure = String(result.reason).slice(0, 500)
        emit('payment.operation_failed', { operation: toPaymentOperation(after) })
        return { status: 'failed' as const, reason: after.failure }
      }
      after.reference = result.reference ?? null
      await applySuccess(rt, tx, emit, order, payment, after, now)
      return { status: 'succeeded' as const }
    },
    { idempotent: true },
  )
}

/** @internal Moves a payment (and its order) by a succeeded operation, in the caller's transaction; the completion path settles operations a webhook confirmed with it. */
export async function applySuccess(rt: Runtime, tx: Tx, emit: Emit, order: OrderTable | null, payment: PaymentTable, op: PaymentOperationTable, now: string): Promise<void> {
  const moved: PaymentTable = { ...payment, updated_at: now }
  if (op.kind === 'capture') moved.captured_amount = payment.captured_amount + op.amount
  else if (op.kind === 'refund') moved.refunded_amount = payment.refunded_amount + op.amount
  else moved.status = 'voided'
  // Checked against the state machine and written only if the payment is still as it was read.
  const next = await writePaymentChange(
    tx,
    payment,
    { status: derivePaymentStatus(moved), captured_amount: moved.captured_amount, refunded_amount: moved.refunded_amount, updated_at: now },
    { multiCapture: rt.payments.get(payment.provider)?.capabilities.multiCapture === true },
  )
  if (order) {
    // The order's status comes from all its payments, this one as it is now.
    const others = await tx.selectFrom('cw_payments').selectAll().where('order_id', '=', order.id).where('id', '!=', payment.id).execute()
    const all = [...others, next]
    const complete = isComplete(order, all)
    await tx
      .updateTable('cw_orders')
      .set({ payment_status: orderPaymentStatus(all), updated_at: now, ...(complete ? { status: 'completed' } : {}) })
      .where('id', '=', order.id)
      .execute()
    if (complete) emit('order.completed', { orderId: order.id, number: order.number })
  }
  const after = toPayment(next)
  const operation = toPaymentOperation(op)
  if (op.kind === 'capture') emit('payment.captured', { payment: after, amount: op.amount, operationId: operation.id })
  else if (op.kind === 'refund') emit('payment.refunded', { payment: after, amount: op.amount, operationId: operation.id })
  else emit('payment.voided', { payment: after, operationId: operation.id })
}

/**
 * Runs one operation to its end for a caller: claim, then send unless another caller is sending it
 * or it was already answered. Returns what the gateway answered (a replay for a known key).
 */
export async function runOperation(rt: Runtime, request: OperationRequest): Promise<{ op: PaymentOperationTable; sent: Sent }> {
  let claimed: Claimed
  try {
    claimed = await claimOperation(rt, request)
  } catch (error) {
    // Two callers raced to the same new key: the loser sees the winner's operation.
    if (request.idempotencyKey && isCommerceError(error, 'STORAGE') && rt.storage.isUniqueViolation(error.cause)) {
      claimed = await claimOperation(rt, request)
    } else throw error
  }
  const { op, payment, ours } = claimed
  if (op.status === 'succeeded') return { op, sent: { status: 'succeeded' } }
  if (op.status === 'failed') return { op, sent: { status: 'failed', reason: op.failure ?? 'failed' } }
  if (!ours) throw inProgress(op)
  return { op, sent: await sendOperation(rt, op, payment) }
}

/** At most this many payments per order: a gateway payment and the tenders of its claim. */
export const MAX_PAYMENTS_PER_ORDER = 11

/** The keys of the parts of one refund: the caller's key for the first, `<key>#2`… for the next. */
// The separator is a control character, which callers' keys may not contain (fields.idempotencyKey):
// no caller's key can be the key of another refund's part.
const partKeys = (key: string) => [key, ...Array.from({ length: MAX_PAYMENTS_PER_ORDER - 1 }, (_, i) => `${key}\u001f${i + 2}`)]

/**
 * A refund of an order, split over its payments by the documented rule (gateway first, then tenders
 * in the order applied) unless the request names a payment. One transaction claims every part, so a
 * retry with the same key finds them all and replays or resumes each.
 */
export async function runRefund(rt: Runtime, request: OperationRequest & { amount: number }): Promise<Array<{ op: PaymentOperationTable; sent: Sent }>> {
  if (request.paymentId) return [await runOperation(rt, request)]
  let claimed: Claimed[]
  try {
    claimed = await claimRefund(rt, request)
  } catch (error) {
    if (request.idempotencyKey && isCommerceError(error, 'STORAGE') && rt.storage.isUniqueViolation(error.cause)) claimed = await claimRefund(rt, request)
    else throw error
  }
  const results: Array<{ op: PaymentOperationTable; sent: Sent }> = []
  let firstError: unknown = null
  for (const { op, payment, ours } of claimed) {
    if (op.status === 'succeeded') results.push({ op, sent: { status: 'succeeded' } })
    else if (op.status === 'failed') results.push({ op, sent: { status: 'failed', reason: op.failure ?? 'failed' } })
    else if (!ours) firstError ??= inProgress(op)
    else {
      try {
        results.push({ op, sent: await sendOperation(rt, op, payment) })
      } catch (error) {
        // The other parts are still sent; the caller learns of the unanswered one.
        firstError ??= error
      }
    }
  }
  if (firstError) throw firstError
  return results
}

async function claimRefund(rt: Runtime, request: OperationRequest & { amount: number }): Promise<Claimed[]> {
  const firstId = rt.ids('pop')
  const key = request.idempotencyKey ?? firstId
  return transact(
    rt,
    async (tx) => {
      const existing = await tx.selectFrom('cw_payment_operations').selectAll().where('idempotency_key', 'in', partKeys(key)).orderBy('created_at').execute()
      if (existing.length) {
        const total = existing.reduce((s, o) => s + o.amount, 0)
        if (existing.some((o) => o.order_id !== request.orderId || o.kind !== 'refund') || total !== request.amount) {
          throw new CommerceError('CONFLICT', `This idempotency key was already used for another operation (a ${existing[0]!.kind} of ${total})`, {
            details: { operationId: existing[0]!.id, kind: existing[0]!.kind },
          })
        }
        const out: Claimed[] = []
        for (const op of existing) {
          const payment = await tx.selectFrom('cw_payments').selectAll().where('id', '=', op.payment_id).executeTakeFirstOrThrow()
          const leased = await takeLease(rt, tx, op)
          out.push({ op: leased ?? op, payment, ours: leased !== null })
        }
        return out
      }
      const order = await lockOrder(rt, tx, request.orderId)
      const payments = await lockPayments(rt, tx, request.orderId)
      const parts: Array<{ payment: PaymentTable; amount: number }> = []
      let left = request.amount
      let refundable = 0
      for (const payment of payments) {
        if (!CAPTURED.includes(payment.status as PaymentStatus)) continue
        const pending = await inFlight(tx, payment.id)
        const open = payment.captured_amount - payment.refunded_amount - pending.refund
        refundable += open
        const take = Math.min(left, open)
        if (take > 0 && left > 0) {
          parts.push({ payment, amount: take })
          left -= take
        }
      }
      if (parts.length === 0 || left > 0) {
        // Nothing (or not enough) to refund: the single-payment checks name why.
        const gateway = payments.find((p) => p.kind === 'gateway') ?? payments[0]
        if (!gateway) throw new CommerceError('INVALID_STATE', `Order ${order.number} has no payment`, { details: { orderId: order.id } })
        if (payments.length === 1 || parts.length === 0) admit(rt, order, gateway, await inFlight(tx, gateway.id), request)
        throw validationError('refund', [{ path: 'amount', message: `only ${refundable} can still be refunded across the order's payments` }])
      }
      const out: Claimed[] = []
      for (const [index, part] of parts.entries()) {
        operationProvider(rt, part.payment, 'refund')
        const id = index === 0 ? firstId : rt.ids('pop')
        const op = await insertOperation(rt, tx, part.payment, {
          id,
          kind: 'refund',
          amount: part.amount,
          key: partKeys(key)[index]!,
          reason: request.reason ?? null,
        })
        out.push({ op, payment: part.payment, ours: true })
      }
      return out
    },
    { idempotent: true },
  )
}

/** The error a caller gets for an operation the gateway refused. */
export function operationFailed(op: PaymentOperationTable, reason: string): CommerceError {
  return new CommerceError('PAYMENT_FAILED', `The gateway refused the ${op.kind}: ${reason}`, {
    details: { orderId: op.order_id, paymentId: op.payment_id, operationId: op.id, reason },
  })
}
