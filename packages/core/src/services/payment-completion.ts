import { sql } from 'kysely'
import { CommerceError } from '../errors.js'
import { isStorableText } from '../validation.js'
import type { Executor, OrderTable, PaymentEventTable, PaymentOperationTable, PaymentTable, Tx } from '../db/database.js'
import { iso, json, parseJson } from '../db/rows.js'
import type { AuthorizeResult, CustomerAction, GatewayEvent, PaymentProvider, RetrieveResult, WebhookRequest } from '../ports/payment-provider.js'
import { read, transact, type Emit, type Runtime } from '../runtime.js'
import type { ActionRequired, Cart, CheckoutResult, Order, PaymentDispute, PaymentStatus } from '../types.js'
import { declineAttempt, placeOrder } from './checkout-service.js'
import { loadOrder, toPayment } from './order-mapping.js'
import { assessCheckoutRisk } from './order-holds.js'
import { assertTransition } from '../payment-state.js'
import { CAPTURED, applySuccess, insertOperation, sendOperation } from './payment-operations.js'

/**
 * One completion path for a checkout's payment attempt. Whoever learns the gateway's outcome first
 * — checkout's own authorization, the shopper's return (`checkout.confirm`, which asks the gateway
 * with `retrieve` where it can), a webhook (`payments.handleWebhook`), or recovery — ends here, in
 * one transaction that locks the payment row (PostgreSQL; SQLite has one writer) and decides with
 * what it finds there:
 *
 * - an order already exists: nothing to do, the caller gets that order;
 * - the attempt is open (`pending`, `requires_action`) and the gateway approved: the order is placed
 *   (`checkout-placement.ts`, the code checkout uses);
 * - open and the gateway refused or canceled: the attempt is declined (stock and claim released);
 * - the gateway still waits (`requires_action`, `processing`): nothing changes;
 * - closed without an order (declined, given up) and the gateway approved after all: the money is
 *   given back at once (void, or refund if captured), so money is never held without an order.
 *
 * Webhooks are recorded under (provider, event id) in the transaction that applies them, before
 * the change: a repeat finds the row and changes nothing. An event whose payment reference is not
 * known yet is kept (`unmatched`) and applied once the reference is stored.
 */

/** What the gateway says of an attempt, reduced to what completion acts on. */
export type AttemptOutcome = { status: 'authorized' | 'captured' } | { status: 'declined'; reason: string } | { status: 'waiting' }

/** What completing an attempt came to. */
export type Settled =
  | { kind: 'placed'; order: Order }
  | { kind: 'exists'; orderId: string }
  /** `changed`: this call declined it (false when it was closed before). */
  | { kind: 'declined'; reason: string; changed: boolean }
  | { kind: 'waiting'; payment: PaymentTable }
  /** Approved after the attempt was closed: the money is being given back (`release` is sent after commit). */
  | { kind: 'released'; reason: string; release: Release | null }

/** A void or refund of money held without an order, to send once its transaction committed. */
interface Release {
  op: PaymentOperationTable
  payment: PaymentTable
}

/** Why recovery gave an attempt up. */
export const ACTION_EXPIRED = 'customer_action_expired'

const OPEN: readonly string[] = ['pending', 'requires_action']

/** The outcome a `retrieve` answer stands for. */
export function outcomeOfRetrieve(result: RetrieveResult): AttemptOutcome {
  switch (result?.status) {
    case 'authorized':
    case 'captured':
      return { status: result.status }
    case 'declined':
    case 'canceled':
      return { status: 'declined', reason: result.reason ?? result.status }
    default:
      return { status: 'waiting' }
  }
}

/** The error a caller gets for an attempt that ended without an order. */
export function declinedError(cartId: string, reason: string): CommerceError {
  return new CommerceError('PAYMENT_DECLINED', `Payment was declined: ${reason}`, { details: { cartId, reason } })
}

/** What a `requires_action` payment asks of the shopper. */
export function actionRequired(payment: PaymentTable): ActionRequired {
  return {
    status: 'requires_action',
    cartId: payment.cart_id,
    paymentId: payment.id,
    action: parseJson<CustomerAction>(payment.action ?? null, null as never),
    expiresAt: iso(payment.action_until!),
  }
}

/** True while recovery holds a waiting payment's lease (it is giving the attempt up): others leave the decision to it. */
export function beingGivenUp(rt: Runtime, payment: PaymentTable): boolean {
  return payment.status === 'requires_action' && payment.lease_until !== null && new Date(payment.lease_until).getTime() > rt.now().getTime()
}

async function lockPayment(rt: Runtime, tx: Tx, paymentId: string): Promise<PaymentTable> {
  let q = tx.selectFrom('cw_payments').selectAll().where('id', '=', paymentId)
  if (rt.storage.capabilities.rowLocks) q = q.forUpdate()
  return q.executeTakeFirstOrThrow()
}

async function cartSnapshot(tx: Tx, cartId: string): Promise<Cart> {
  const row = await tx.selectFrom('cw_carts').select('checkout').where('id', '=', cartId).executeTakeFirstOrThrow()
  return parseJson<Cart>(row.checkout, null as never)
}

/** A hold the `checkout.risk` hooks ask for, or none. */
type Hold = { reason: string } | null

/**
 * The `checkout.risk` hooks' answer for an approval of an open attempt, asked before the
 * transaction that may place its order (a hook may call a fraud service). Free without hooks.
 */
async function riskOf(rt: Runtime, payment: PaymentTable | undefined, outcome: AttemptOutcome): Promise<Hold> {
  if (!rt.hooks.has('checkout.risk') || !payment || payment.order_id || !OPEN.includes(payment.status)) return null
  if (outcome.status !== 'authorized' && outcome.status !== 'captured') return null
  const row = await read(rt, (db) => db.selectFrom('cw_carts').select('checkout').where('id', '=', payment.cart_id).executeTakeFirst())
  if (!row?.checkout) return null
  return assessCheckoutRisk(rt, parseJson<Cart>(row.checkout, null as never), payment, { status: outcome.status, reference: payment.reference ?? '' })
}

/**
 * The decision, in the caller's transaction, on `payment` as locked there. `holder`: the caller is
 * recovery giving the attempt up (it holds the payment's lease); anyone else leaves a payment being
 * given up alone. `hold`: what the risk hooks asked for, should the order be placed here.
 */
export async function settleAttempt(rt: Runtime, tx: Tx, emit: Emit, payment: PaymentTable, outcome: AttemptOutcome, holder = false, hold: Hold = null): Promise<Settled> {
  if (payment.order_id) return { kind: 'exists', orderId: payment.order_id }
  if (OPEN.includes(payment.status)) {
    if (!holder && beingGivenUp(rt, payment)) return { kind: 'waiting', payment }
    if (outcome.status === 'waiting' || !payment.reference) return { kind: 'waiting', payment }
    if (outcome.status === 'declined') {
      const changed = await declineAttempt(rt, tx, emit, payment, outcome.reason)
      return { kind: 'declined', reason: outcome.reason, changed }
    }
    const placement = await placeOrder(rt, tx, emit, payment, await cartSnapshot(tx, payment.cart_id), { status: outcome.status, reference: payment.reference }, hold)
    if (placement.kind === 'closed') return { kind: 'declined', reason: placement.reason, changed: false }
    return placement
  }
  const reason = payment.failure ?? payment.status
  // Declined (by the gateway, or given up without a void) and approved after all: give the money back.
  if ((outcome.status === 'authorized' || outcome.status === 'captured') && payment.status === 'declined') {
    return { kind: 'released', reason, release: await holdLateApproval(rt, tx, payment, outcome.status) }
  }
  return { kind: 'declined', reason, changed: false }
}

/**
 * Money the gateway holds for an attempt closed without an order: recorded as a payment of its own
 * (`<attempt>:late`, no order, the amounts the gateway holds) with a void (or, if captured, a
 * refund) pending, sent after commit and by `payments.recover()` until answered. Once per attempt.
 */
async function holdLateApproval(rt: Runtime, tx: Tx, attempt: PaymentTable, status: 'authorized' | 'captured'): Promise<Release | null> {
  const key = `${attempt.id}:late`
  if (await tx.selectFrom('cw_payments').select('id').where('idempotency_key', '=', key).executeTakeFirst()) return null
  const stamp = rt.now().toISOString()
  const late: PaymentTable = {
    id: rt.ids('pay'),
    cart_id: attempt.cart_id,
    order_id: null,
    kind: 'gateway',
    provider: attempt.provider,
    idempotency_key: key,
    status,
    currency: attempt.currency,
    amount: attempt.amount,
    authorized_amount: attempt.amount,
    captured_amount: status === 'captured' ? attempt.amount : 0,
    refunded_amount: 0,
    reference: attempt.reference,
    failure: null,
    lease_until: null,
    data: null,
    claim_events: null,
    created_at: stamp,
    updated_at: stamp,
  }
  await tx.insertInto('cw_payments').values(late).execute()
  if (status === 'captured') {
    // Every captured amount has its operation.
    await insertOperation(rt, tx, late, { id: rt.ids('pop'), kind: 'capture', amount: late.amount, key: `${late.id}:authorize`, reason: null }, {
      status: 'succeeded',
      reference: late.reference,
    })
  }
  const kind = status === 'captured' ? 'refund' : 'void'
  const provider = rt.payments.get(late.provider)
  // A provider that can neither void nor refund leaves the money to the merchant: the payment shows it.
  if (!provider?.capabilities[kind] || typeof provider[kind] !== 'function') return null
  const op = await insertOperation(rt, tx, late, {
    id: rt.ids('pop'),
    kind,
    amount: late.amount,
    key: `${late.id}:release`,
    reason: 'approved after its checkout was closed without an order',
  })
  return { op, payment: late }
}

/** Sends a release; an unanswered one stays pending for `payments.recover()`. */
async function sendRelease(rt: Runtime, release: Release | null): Promise<void> {
  if (!release) return
  await sendOperation(rt, release.op, release.payment).catch(() => undefined)
}

/**
 * Completes an attempt by its payment id with an outcome learned outside any transaction (a
 * `retrieve`, recovery). Returns what it came to; sends a release after commit.
 */
export async function completeAttempt(rt: Runtime, paymentId: string, outcome: AttemptOutcome, holder = false): Promise<Settled> {
  const before = await read(rt, (db) => db.selectFrom('cw_payments').selectAll().where('id', '=', paymentId).executeTakeFirst())
  const hold = await riskOf(rt, before, outcome)
  const settled = await transact(rt, async (tx, emit) => settleAttempt(rt, tx, emit, await lockPayment(rt, tx, paymentId), outcome, holder, hold), { idempotent: true })
  if (settled.kind === 'released') await sendRelease(rt, settled.release)
  return settled
}

/**
 * What a caller of checkout is answered for an attempt as it now stands: its order, the action the
 * shopper must take, `null` while the authorization is in flight; a decline throws.
 */
export async function answerFor(rt: Runtime, paymentId: string): Promise<CheckoutResult | null> {
  const payment = await read(rt, (db) => db.selectFrom('cw_payments').selectAll().where('id', '=', paymentId).executeTakeFirstOrThrow())
  if (payment.order_id) return (await read(rt, (db) => loadOrder(db, payment.order_id!)))!
  if (payment.status === 'requires_action') return actionRequired(payment)
  if (payment.status === 'pending') return null
  throw declinedError(payment.cart_id, payment.failure ?? payment.status)
}

/** The answer for a settled attempt: its order, the action still awaited, or a decline (thrown). */
export async function answerSettled(rt: Runtime, settled: Settled, cartId: string): Promise<CheckoutResult | null> {
  switch (settled.kind) {
    case 'placed':
      return settled.order
    case 'exists':
      return (await read(rt, (db) => loadOrder(db, settled.orderId)))!
    case 'waiting':
      return answerFor(rt, settled.payment.id)
    default:
      throw declinedError(cartId, settled.reason)
  }
}

/**
 * Checkout's answer `requires_action`: the payment waits for the shopper until the deadline, with
 * its reference and the action stored. Events that arrived for the reference before it was stored
 * are applied now. Returns the attempt as it then stands.
 */
export async function awaitCustomerAction(
  rt: Runtime,
  payment: PaymentTable,
  result: Extract<AuthorizeResult, { status: 'requires_action' }>,
): Promise<CheckoutResult | null> {
  const now = rt.now()
  assertTransition('pending', 'requires_action', { paymentId: payment.id })
  await transact(rt, async (tx) => {
    await tx
      .updateTable('cw_payments')
      .set({
        status: 'requires_action',
        reference: result.reference,
        action: json(result.action),
        action_until: new Date(now.getTime() + rt.settings.customerActionTimeoutMs).toISOString(),
        lease_until: null,
        data: result.data ? json({ ...parseJson(payment.data, {}), ...result.data }) : payment.data,
        updated_at: now.toISOString(),
      })
      .where('id', '=', payment.id)
      .where('status', '=', 'pending')
      .execute()
  }, { idempotent: true })
  await reconcileReference(rt, payment.provider, result.reference)
  return answerFor(rt, payment.id)
}

/** Checks an authorization's `requires_action` answer; a malformed one is the provider's error. */
export function checkActionAnswer(provider: PaymentProvider, result: Extract<AuthorizeResult, { status: 'requires_action' }>): void {
  const action = result.action as Partial<Record<string, unknown>> | undefined
  const ok =
    typeof result.reference === 'string' &&
    result.reference.length > 0 &&
    result.reference.length <= 200 &&
    ((action?.['type'] === 'redirect' && typeof action['url'] === 'string') || (action?.['type'] === 'client_secret' && typeof action['clientSecret'] === 'string'))
  if (!ok) {
    throw new CommerceError('PROVIDER', `Payment provider ${provider.id} answered requires_action without a reference and a redirect url or client secret`, {
      details: { provider: provider.id },
    })
  }
}

// ---------------------------------------------------------------------------------------------
// Webhooks

/** What `payments.handleWebhook` did with each event of a request, in the order received. */
export interface WebhookOutcome {
  events: Array<{ id: string; type: GatewayEvent['type']; outcome: 'applied' | 'duplicate' | 'unmatched' | 'ignored' }>
}

const EVENT_TYPES: ReadonlySet<string> = new Set(['authorized', 'captured', 'failed', 'canceled', 'refunded', 'requires_action', 'dispute.opened', 'dispute.closed'])

function checkEvents(provider: PaymentProvider, events: unknown): GatewayEvent[] {
  const problems: string[] = []
  if (!Array.isArray(events)) problems.push('verify() did not return an array of events')
  else {
    events.forEach((e: Partial<GatewayEvent> | null, i) => {
      if (typeof e?.id !== 'string' || e.id.length === 0 || e.id.length > 255) problems.push(`events[${i}].id must be a non-empty string`)
      if (!EVENT_TYPES.has(e?.type as string)) problems.push(`events[${i}].type ${JSON.stringify(e?.type)} is not a gateway event type`)
      if (typeof e?.reference !== 'string' || e.reference.length === 0 || e.reference.length > 255) problems.push(`events[${i}].reference must be a non-empty string`)
      if (e?.amount !== undefined && (!Number.isSafeInteger(e.amount) || e.amount < 0)) problems.push(`events[${i}].amount must be an integer ≥ 0 in minor units`)
      for (const field of ['id', 'reference', 'currency', 'reason', 'occurredAt'] as const) {
        const text = e?.[field]
        if (typeof text === 'string' && !isStorableText(text)) problems.push(`events[${i}].${field} must not contain a NUL character or an unpaired surrogate`)
      }
    })
  }
  if (problems.length) {
    throw new CommerceError('PROVIDER', `Payment provider ${provider.id} returned malformed webhook events: ${problems.join('; ')}`, { details: { provider: provider.id, problems } })
  }
  return events as GatewayEvent[]
}

/**
 * Verifies a webhook request with its provider and applies its events, each in its own
 * transaction. An invalid request (signature, body) is `VALIDATION` naming `signature`, and
 * changes nothing.
 */
export async function receiveWebhook(rt: Runtime, provider: PaymentProvider, request: WebhookRequest): Promise<WebhookOutcome> {
  let verified: unknown
  try {
    verified = await provider.webhooks!.verify(request)
  } catch (error) {
    const message = `${provider.id} could not verify the request: ${String((error as Error)?.message ?? error).slice(0, 300)}`
    throw new CommerceError('VALIDATION', `Invalid webhook: signature: ${message}`, {
      cause: error,
      details: { provider: provider.id, issues: [{ path: 'signature', message }], fields: ['signature'] },
    })
  }
  const events = checkEvents(provider, verified)
  const out: WebhookOutcome['events'] = []
  for (const event of events) out.push({ id: event.id, type: event.type, outcome: await applyEvent(rt, provider.id, event) })
  return { events: out }
}

type Effect = { outcome: 'applied' | 'ignored' | 'unmatched'; operationId?: string | null; release?: Release | null; reconcile?: string | null }

/** The risk hooks' answer for an event that may place an order (asked before its transaction). */
async function riskOfEvent(rt: Runtime, provider: string, type: string, reference: string): Promise<Hold> {
  if (!rt.hooks.has('checkout.risk') || (type !== 'authorized' && type !== 'captured')) return null
  const payment = await read(rt, (db) => paymentByReference(db, provider, reference))
  return riskOf(rt, payment, { status: type })
}

/** Records one event and applies it, in one transaction; a repeat is answered `duplicate`. */
async function applyEvent(rt: Runtime, providerId: string, event: GatewayEvent): Promise<WebhookOutcome['events'][number]['outcome']> {
  const hold = await riskOfEvent(rt, providerId, event.type, event.reference)
  const effect = await transact(
    rt,
    async (tx, emit): Promise<Effect | 'duplicate'> => {
      const row: PaymentEventTable = {
        provider: providerId,
        event_id: event.id,
        type: event.type,
        reference: event.reference,
        payment_id: null,
        operation_id: null,
        amount: event.amount ?? null,
        currency: event.currency ?? null,
        reason: event.reason === undefined ? null : String(event.reason).slice(0, 500),
        occurred_at: event.occurredAt ?? null,
        outcome: 'unmatched',
        received_at: rt.now().toISOString(),
        applied_at: null,
      }
      // Recorded first: a concurrent repeat waits on this row's key, then finds it.
      const recorded = await tx
        .insertInto('cw_payment_events')
        .values(row)
        .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
        .returning('event_id')
        .executeTakeFirst()
      if (!recorded) return 'duplicate'
      return applyRecorded(rt, tx, emit, row, hold)
    },
    { idempotent: true },
  )
  if (effect === 'duplicate') return 'duplicate'
  await sendRelease(rt, effect.release ?? null)
  return effect.outcome
}

/** The payment an event names: the one with an order first, else the latest attempt with the reference. */
function paymentByReference(tx: Executor, provider: string, reference: string) {
  return tx
    .selectFrom('cw_payments')
    .selectAll()
    .where('provider', '=', provider)
    .where('reference', '=', reference)
    .where('kind', '=', 'gateway')
    .orderBy(sql`case when order_id is null then 1 else 0 end`)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst()
}

/** Applies a recorded event to its payment (if one has its reference), and records what it came to. */
async function applyRecorded(rt: Runtime, tx: Tx, emit: Emit, row: PaymentEventTable, hold: Hold = null): Promise<Effect> {
  const target = await paymentByReference(tx, row.provider, row.reference)
  if (rt.point) await rt.point('payment.event.recorded', { provider: row.provider, eventId: row.event_id, paymentId: target?.id ?? null, tx })
  if (!target) return { outcome: 'unmatched' }
  // Locks in the order payment operations take them: the order, then the payment.
  let order = target.order_id ? await lockOrderRow(rt, tx, target.order_id) : null
  const payment = await lockPayment(rt, tx, target.id)
  if (!order && payment.order_id) order = await lockOrderRow(rt, tx, payment.order_id)
  const effect = await effectOn(rt, tx, emit, order, payment, row, hold)
  await tx
    .updateTable('cw_payment_events')
    .set({
      outcome: effect.outcome,
      payment_id: payment.id,
      operation_id: effect.operationId ?? null,
      applied_at: effect.outcome === 'applied' ? rt.now().toISOString() : null,
    })
    .where('provider', '=', row.provider)
    .where('event_id', '=', row.event_id)
    .execute()
  return effect
}

async function lockOrderRow(rt: Runtime, tx: Tx, orderId: string): Promise<OrderTable> {
  let q = tx.selectFrom('cw_orders').selectAll().where('id', '=', orderId)
  if (rt.storage.capabilities.rowLocks) q = q.forUpdate()
  return q.executeTakeFirstOrThrow()
}

const ATTEMPT_EVENTS: Readonly<Record<string, (row: PaymentEventTable) => AttemptOutcome>> = {
  authorized: () => ({ status: 'authorized' }),
  captured: () => ({ status: 'captured' }),
  failed: (row) => ({ status: 'declined', reason: row.reason ?? 'failed' }),
  canceled: (row) => ({ status: 'declined', reason: row.reason ?? 'canceled' }),
  requires_action: () => ({ status: 'waiting' }),
}

async function effectOn(rt: Runtime, tx: Tx, emit: Emit, order: OrderTable | null, payment: PaymentTable, row: PaymentEventTable, hold: Hold): Promise<Effect> {
  if (row.type === 'dispute.opened' || row.type === 'dispute.closed') return recordDispute(rt, tx, emit, payment, row)
  const settledMoney = payment.order_id !== null || payment.idempotency_key.endsWith(':late')
  if (!settledMoney) {
    // The checkout's attempt, with no order yet (or closed without one).
    const toOutcome = ATTEMPT_EVENTS[row.type]
    // Released at the gateway by recovery's void: a later approval report is older than that void.
    if (!toOutcome || payment.status === 'voided') return { outcome: 'ignored' }
    if (row.currency !== null && row.currency !== payment.currency) return { outcome: 'ignored' }
    const settled = await settleAttempt(rt, tx, emit, payment, toOutcome(row), false, hold)
    switch (settled.kind) {
      case 'placed':
        return { outcome: 'applied', operationId: row.type === 'captured' ? `pop_${payment.id.slice(4)}` : null }
      case 'declined':
        return { outcome: settled.changed ? 'applied' : 'ignored' }
      case 'released':
        return { outcome: settled.release || row.type !== 'authorized' ? 'applied' : 'ignored', operationId: settled.release?.op.id ?? null, release: settled.release }
      default:
        return { outcome: 'ignored' }
    }
  }
  if (row.currency !== null && row.currency !== payment.currency) return { outcome: 'ignored' }
  switch (row.type) {
    case 'captured':
      return confirmOperation(rt, tx, emit, order, payment, row, 'capture', row.amount ?? payment.authorized_amount - payment.captured_amount)
    case 'refunded':
      return row.amount === null ? { outcome: 'ignored' } : confirmOperation(rt, tx, emit, order, payment, row, 'refund', row.amount)
    case 'canceled':
      return confirmOperation(rt, tx, emit, order, payment, row, 'void', payment.authorized_amount)
    default:
      // Authorized again, failed, or waiting for the shopper: nothing new for a payment with an order.
      return { outcome: 'ignored' }
  }
}

/**
 * A capture, refund or void the gateway reports on a payment whose money is settled: the engine's
 * own operation it confirms (one not yet confirmed by another event, of that kind and amount; a
 * pending one is settled now, as if its answer had come back), or money moved at the gateway
 * without the engine (its dashboard), recorded as it says when it fits what is left; else ignored.
 */
async function confirmOperation(
  rt: Runtime,
  tx: Tx,
  emit: Emit,
  order: OrderTable | null,
  payment: PaymentTable,
  row: PaymentEventTable,
  kind: 'capture' | 'refund' | 'void',
  amount: number,
): Promise<Effect> {
  const now = rt.now().toISOString()
  const confirmed = await tx
    .selectFrom('cw_payment_events')
    .select('operation_id')
    .where('payment_id', '=', payment.id)
    .where('operation_id', 'is not', null)
    .execute()
  const taken = new Set(confirmed.map((c) => c.operation_id))
  const ops = await tx
    .selectFrom('cw_payment_operations')
    .selectAll()
    .where('payment_id', '=', payment.id)
    .where('kind', '=', kind)
    .where('status', 'in', ['pending', 'succeeded'])
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  const mine = ops.find((op) => !taken.has(op.id) && (kind === 'void' || op.amount === amount))
  if (mine) {
    if (mine.status === 'pending') {
      const settled = await tx
        .updateTable('cw_payment_operations')
        .set({ status: 'succeeded', lease_until: null, updated_at: now })
        .where('id', '=', mine.id)
        .where('status', '=', 'pending')
        .executeTakeFirst()
      if (Number(settled.numUpdatedRows) === 1) await applySuccess(rt, tx, emit, order, payment, { ...mine, status: 'succeeded', lease_until: null, updated_at: now }, now)
    }
    return { outcome: 'applied', operationId: mine.id }
  }
  const pending = (k: string) => ops.filter((o) => o.status === 'pending' && o.kind === k).reduce((s, o) => s + o.amount, 0)
  const status = payment.status as PaymentStatus
  const multi = rt.payments.get(payment.provider)?.capabilities.multiCapture === true
  let fits: boolean
  if (kind === 'capture') {
    fits = amount > 0 && (status === 'authorized' || (multi && status === 'partially_captured')) && payment.captured_amount + pending('capture') + amount <= payment.authorized_amount
  } else if (kind === 'refund') {
    fits = amount > 0 && CAPTURED.includes(status) && payment.refunded_amount + pending('refund') + amount <= payment.captured_amount
  } else {
    const inFlight = await tx.selectFrom('cw_payment_operations').select('id').where('payment_id', '=', payment.id).where('status', '=', 'pending').executeTakeFirst()
    fits = status === 'authorized' && payment.captured_amount === 0 && !inFlight
  }
  if (!fits) return { outcome: 'ignored' }
  const op = await insertOperation(
    rt,
    tx,
    payment,
    { id: rt.ids('pop'), kind, amount, key: `${payment.provider}:${row.event_id}`, reason: 'reported by the gateway' },
    { status: 'succeeded', reference: null },
  )
  await applySuccess(rt, tx, emit, order, payment, op, now)
  return { outcome: 'applied', operationId: op.id }
}

/** A dispute reported on a payment: recorded on it and announced. A report older than what is recorded is ignored. */
async function recordDispute(rt: Runtime, tx: Tx, emit: Emit, payment: PaymentTable, row: PaymentEventTable): Promise<Effect> {
  const current = parseJson<PaymentDispute | null>(payment.dispute ?? null, null)
  const at = row.occurred_at ?? rt.now().toISOString()
  const latest = current ? (current.closedAt ?? current.openedAt) : null
  if (latest !== null && at < latest) return { outcome: 'ignored' }
  const opened = row.type === 'dispute.opened'
  const dispute: PaymentDispute = opened
    ? { status: 'open', reason: row.reason, amount: row.amount, eventId: row.event_id, openedAt: at, closedAt: null }
    : {
        status: 'closed',
        reason: row.reason ?? current?.reason ?? null,
        amount: row.amount ?? current?.amount ?? null,
        eventId: row.event_id,
        openedAt: current?.openedAt ?? at,
        closedAt: at,
      }
  const now = rt.now().toISOString()
  await tx.updateTable('cw_payments').set({ dispute: JSON.stringify(dispute), updated_at: now }).where('id', '=', payment.id).execute()
  emit(opened ? 'payment.dispute_opened' : 'payment.dispute_closed', { payment: toPayment({ ...payment, updated_at: now }), dispute })
  return { outcome: 'applied' }
}

// ---------------------------------------------------------------------------------------------
// Reconciliation

/**
 * Applies the events kept `unmatched` for a reference, oldest first, once a payment has it. Safe to
 * run concurrently: each event is taken under its row's lock, and only while still unmatched.
 */
export async function reconcileReference(rt: Runtime, provider: string, reference: string): Promise<number> {
  if (!rt.payments.get(provider)?.capabilities.webhooks) return 0
  const rows = await read(rt, (db) =>
    db
      .selectFrom('cw_payment_events')
      .select(['event_id', 'type'])
      .where('provider', '=', provider)
      .where('reference', '=', reference)
      .where('outcome', '=', 'unmatched')
      .orderBy('received_at')
      .orderBy('event_id')
      .execute(),
  )
  let applied = 0
  for (const { event_id, type } of rows) {
    const hold = await riskOfEvent(rt, provider, type, reference)
    const effect = await transact(
      rt,
      async (tx, emit) => {
        let q = tx.selectFrom('cw_payment_events').selectAll().where('provider', '=', provider).where('event_id', '=', event_id).where('outcome', '=', 'unmatched')
        if (rt.storage.capabilities.rowLocks) q = q.forUpdate()
        const row = await q.executeTakeFirst()
        return row ? applyRecorded(rt, tx, emit, row, hold) : null
      },
      { idempotent: true },
    )
    if (!effect) continue
    if (effect.outcome === 'applied') applied++
    await sendRelease(rt, effect.release ?? null)
  }
  return applied
}

/** Reconciles unmatched events whose payment has appeared since (at most `limit` references); returns how many applied. */
export async function reconcileUnmatched(rt: Runtime, limit: number): Promise<number> {
  const refs = await read(rt, (db) =>
    db
      .selectFrom('cw_payment_events as e')
      .select(['e.provider', 'e.reference'])
      .distinct()
      .where('e.outcome', '=', 'unmatched')
      .where(({ exists, selectFrom }) =>
        exists(selectFrom('cw_payments as p').select('p.id').whereRef('p.provider', '=', 'e.provider').whereRef('p.reference', '=', 'e.reference')),
      )
      .limit(limit)
      .execute(),
  )
  let applied = 0
  for (const ref of refs) applied += await reconcileReference(rt, ref.provider, ref.reference)
  return applied
}

// ---------------------------------------------------------------------------------------------
// Customer actions past their deadline

/** How giving up one attempt ended: an order, no order (money released), or not yet (retried next round). */
export type GiveUpResult = 'placed' | 'declined' | 'failed' | 'skipped'

/** Waiting payments past their deadline, of providers this engine has, oldest deadline first. */
export async function expiredActions(rt: Runtime, limit: number): Promise<PaymentTable[]> {
  const providers = [...rt.payments.keys()]
  if (providers.length === 0) return []
  const now = rt.now().toISOString()
  return read(rt, (db) =>
    db
      .selectFrom('cw_payments')
      .selectAll()
      .where('status', '=', 'requires_action')
      .where('action_until', '<=', now)
      .where('provider', 'in', providers)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
      .orderBy('action_until')
      .limit(limit)
      .execute(),
  )
}

const settledAs = (settled: Settled): GiveUpResult =>
  settled.kind === 'placed' || settled.kind === 'exists' ? 'placed' : settled.kind === 'waiting' ? 'failed' : 'declined'

/**
 * Gives up an attempt whose shopper did not confirm in time, under the payment's lease (so that
 * confirmations and webhooks meanwhile leave the decision here): the gateway is asked first where
 * it can tell (an approval places the order, a refusal declines); an attempt still waiting is
 * voided at the gateway (under a key of its own per round, `<payment>:expire:<operation>`, where
 * the gateway was asked first; else `<payment>:expire`) and declined with its stock and claim
 * released.
 * A void the gateway refuses means it approved meanwhile: the order is placed if a webhook said
 * so, else the attempt is tried again next round. A provider that cannot void has the attempt
 * declined; an approval reported later is given back then.
 */
export async function giveUpAction(rt: Runtime, payment: PaymentTable): Promise<GiveUpResult> {
  const provider = rt.payments.get(payment.provider)
  if (!provider) return 'skipped'
  const now = rt.now()
  const lease = new Date(now.getTime() + rt.settings.checkoutLeaseMs).toISOString()
  const taken = await transact(rt, async (tx) => {
    let q = tx.updateTable('cw_payments').set({ lease_until: lease }).where('id', '=', payment.id).where('status', '=', 'requires_action')
    q = payment.lease_until === null ? q.where('lease_until', 'is', null) : q.where('lease_until', '=', payment.lease_until)
    return Number((await q.executeTakeFirst()).numUpdatedRows) === 1
  }, { idempotent: true })
  if (!taken) return 'skipped'
  const reference = payment.reference!
  const asks = provider.capabilities.retrieve && typeof provider.retrieve === 'function'
  if (asks) {
    let answer: RetrieveResult
    try {
      answer = await provider.retrieve!({ paymentId: payment.id, reference })
    } catch {
      return 'failed'
    }
    const outcome = outcomeOfRetrieve(answer)
    if (outcome.status !== 'waiting') return settledAs(await completeAttempt(rt, payment.id, outcome, true))
  }
  if (!provider.capabilities.void || typeof provider.void !== 'function') {
    return settledAs(await completeAttempt(rt, payment.id, { status: 'declined', reason: ACTION_EXPIRED }, true))
  }
  const operationId = rt.ids('pop')
  // Where the gateway was just asked and said the attempt still waits, no earlier void took effect:
  // each round sends a key of its own, so that a void refused once (replayed under its key
  // forever) does not keep the attempt, and its stock, from ever being given up. A gateway that
  // cannot be asked gets the same key every round, so that a void whose answer was lost is replayed.
  const key = asks ? `${payment.id}:expire:${operationId}` : `${payment.id}:expire`
  let voided: Awaited<ReturnType<NonNullable<PaymentProvider['void']>>>
  try {
    voided = await provider.void({ paymentId: payment.id, operationId, reference, idempotencyKey: key, amount: payment.amount, currency: payment.currency })
  } catch {
    return 'failed'
  }
  if (voided?.status === 'succeeded') {
    await transact(rt, async (tx, emit) => {
      const current = await lockPayment(rt, tx, payment.id)
      if (!(await declineAttempt(rt, tx, emit, current, ACTION_EXPIRED, 'voided'))) return
      const closed: PaymentTable = { ...current, status: 'voided', failure: ACTION_EXPIRED, lease_until: null, updated_at: rt.now().toISOString() }
      const op = await insertOperation(rt, tx, closed, { id: operationId, kind: 'void', amount: payment.amount, key, reason: ACTION_EXPIRED }, {
        status: 'succeeded',
        reference: voided.reference ?? null,
      })
      emit('payment.voided', { payment: toPayment(closed), operationId: op.id })
    }, { idempotent: true })
    return 'declined'
  }
  // The gateway would not cancel: it approved meanwhile. A webhook may have said how.
  const said = await read(rt, (db) =>
    db
      .selectFrom('cw_payment_events')
      .select('type')
      .where('payment_id', '=', payment.id)
      .where('type', 'in', ['authorized', 'captured'])
      .orderBy('received_at', 'desc')
      .executeTakeFirst(),
  )
  if (said) return settledAs(await completeAttempt(rt, payment.id, { status: said.type as 'authorized' | 'captured' }, true))
  await transact(rt, async (tx) => {
    await tx.updateTable('cw_payments').set({ lease_until: rt.now().toISOString() }).where('id', '=', payment.id).where('lease_until', '=', lease).execute()
  }, { idempotent: true })
  return 'failed'
}
