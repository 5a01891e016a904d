import { sql, type ExpressionBuilder } from 'kysely'
import { z } from 'zod'
import { attachAccessToken, noMatchFor, readAccessToken, sameTokenHash, type AccessTokenKind } from '../access-tokens.js'
import { CommerceError, notFound } from '../errors.js'
import type { CoreDatabase, Db, PaymentOperationTable, PaymentTable, Tx } from '../db/database.js'
import { keysetPage, pageSchema } from '../paging.js'
import { engineClosed, read, transact, type Runtime } from '../runtime.js'
import type { Order, Page, PaymentStatus } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { commitStock, releaseStock } from './inventory-service.js'
import { loadOrder, loadOrders } from './order-mapping.js'
import { CAPTURED, insertOperation, isComplete, lockOrder, lockPayments, operationFailed, operationProvider, runOperation, runRefund, sendOperation } from './payment-operations.js'
import { releaseClaim } from './checkout-plugins.js'
import { heldError, heldEvent, holdColumns } from './order-holds.js'

const listSchema = pageSchema.extend({
  customerId: fields.id.optional(),
  /** Only orders placed from carts in this sales channel. */
  channelId: fields.id.optional(),
  // Not empty: an empty filter would match every order, not none.
  email: z.string().min(1).max(320).optional(),
  status: z.enum(['placed', 'canceled', 'completed']).optional(),
  /** `true`: only orders held for review; `false`: only orders that are not. */
  held: z.boolean().optional(),
})
const positiveAmount = fields.amount.refine((a) => a > 0, 'must be positive')
const captureSchema = z.strictObject({ amount: positiveAmount.optional(), idempotencyKey: fields.idempotencyKey.optional() })
const voidSchema = z.strictObject({ idempotencyKey: fields.idempotencyKey.optional() })
const refundSchema = z.strictObject({
  amount: positiveAmount,
  reason: z.string().max(500).optional(),
  idempotencyKey: fields.idempotencyKey.optional(),
  paymentId: fields.id.optional(),
})
const cancelSchema = z.strictObject({ reason: z.string().max(500).optional(), idempotencyKey: fields.idempotencyKey.optional() })
const holdSchema = z.strictObject({ reason: z.string().trim().min(1).max(500) })
const orderNumberSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)
const assignCustomerSchema = z.strictObject({ email: fields.email, customerId: fields.id })

/** Input of `orders.list`. */
export type ListOrdersInput = z.input<typeof listSchema>
/**
 * Input of `orders.assignCustomer`: a verified email and the customer who owns it.
 *
 * @example
 * ```ts
 * const input: AssignCustomerInput = { email: 'ada@example.com', customerId: 'cus_1' }
 * await commerce.orders.assignCustomer(input)
 * ```
 */
export type AssignCustomerInput = z.input<typeof assignCustomerSchema>
/** Input of `orders.capturePayment`. */
export type CaptureInput = z.input<typeof captureSchema>
/** Input of `orders.voidPayment`. */
export type VoidInput = z.input<typeof voidSchema>
/** Input of `orders.refund`. */
export type RefundInput = z.input<typeof refundSchema>
/** Input of `orders.cancel`. */
export type CancelInput = z.input<typeof cancelSchema>
/**
 * Input of `orders.hold`: why the order is held for review (1–500 characters).
 *
 * @example
 * ```ts
 * const input: HoldInput = { reason: 'address flagged by the carrier' }
 * await commerce.orders.hold(orderId, input)
 * ```
 */
export type HoldInput = z.input<typeof holdSchema>

/**
 * Placed orders: reading, capturing, voiding and refunding their payment, fulfilling, cancelling.
 *
 * Every capture, void and refund is an operation of its own (see `commerce.payments`), sent to the
 * gateway with that operation's key. Pass an `idempotencyKey` to make a retry after a lost
 * response safe: the same key replays the first call's result (or, when the gateway's answer was
 * lost, sends the same operation again with the same gateway key); without one, each call is a new
 * operation. Operations on one payment are serialized: a capture and a cancel can never both
 * reach the gateway, and the loser of such a race gets an error.
 *
 * A payment is captured once by default: a partial capture releases the rest of the authorization,
 * as most gateways do. A provider that declares `multiCapture` can be captured several times, up
 * to the authorized amount. Every capture, void and refund is checked against the payment state
 * machine (`paymentStateMachine`): one it does not allow is `INVALID_STATE` naming both statuses.
 *
 * An order held for review (by a `checkout.risk` hook, or `orders.hold`) is neither captured nor
 * fulfilled until `orders.release`; canceling it works as for any order.
 *
 * @example
 * ```ts
 * const order = await commerce.orders.get(orderId)
 * await commerce.orders.capturePayment(order.id, { idempotencyKey: 'capture-1001' })
 * await commerce.orders.fulfill(order.id)
 * await commerce.orders.refund(order.id, { amount: 500, reason: 'scuffed box', idempotencyKey: 'refund-1001-1' })
 * ```
 */
export class OrderService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /** An order by id; `NOT_FOUND` when there is none. */
  async get(orderId: string): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const order = await read(this.#rt, (db) => loadOrder(db, id))
    if (!order) throw notFound('Order', id)
    return order
  }

  /** An order by its human number; `NOT_FOUND` when there is none. */
  async getByNumber(number: number): Promise<Order> {
    const n = parseArg(orderNumberSchema, number, 'number')
    const order = await read(this.#rt, async (db) => {
      const row = await db.selectFrom('cw_orders').selectAll().where('number', '=', n).executeTakeFirst()
      return row ? (await loadOrders(db, [row]))[0]! : null
    })
    if (!order) throw notFound('Order', String(n))
    return order
  }

  /** Orders, newest first, a page at a time; filter by customer, sales channel, email or status. */
  async list(input: ListOrdersInput = {}): Promise<Page<Order>> {
    const data = parseInput(listSchema, input, 'order list')
    return read(this.#rt, (db) => {
      let q = db.selectFrom('cw_orders').selectAll()
      if (data.customerId) q = q.where('customer_id', '=', data.customerId)
      if (data.channelId) q = q.where('channel_id', '=', data.channelId)
      if (data.email) q = q.where('email', '=', data.email)
      if (data.status) q = q.where('status', '=', data.status)
      if (data.held !== undefined) q = q.where('held_at', data.held ? 'is not' : 'is', null)
      return keysetPage(q, data, (rows) => loadOrders(db, rows))
    })
  }

  /**
   * Attaches a guest's orders to a customer: every order placed with `email` (in any case) that
   * has no customer gets `customerId`; orders of another customer are left alone. Call it only once
   * the customer has proven they own the email (a verified address): it hands them the orders'
   * history. Emits `order.customer_assigned` with the order ids when any changed. Returns the ids.
   *
   * @example
   * ```ts
   * // After the customer clicked the verification link sent to ada@example.com:
   * const { orderIds } = await commerce.orders.assignCustomer({ email: 'ada@example.com', customerId: 'cus_1' })
   * ```
   */
  async assignCustomer(input: AssignCustomerInput): Promise<{ orderIds: string[] }> {
    const data = parseInput(assignCustomerSchema, input, 'order customer')
    const rt = this.#rt
    return transact(rt, async (tx, emit) => {
      const guest = (eb: ExpressionBuilder<CoreDatabase, 'cw_orders'>) =>
        eb.and([eb(sql<string>`lower(email)`, '=', data.email.toLowerCase()), eb('customer_id', 'is', null)])
      const rows = await tx.selectFrom('cw_orders').select('id').where(guest).orderBy('id').execute()
      if (rows.length === 0) return { orderIds: [] }
      // The ids this update changed, not those selected: of two concurrent calls, each reports
      // (and announces) only the orders it assigned.
      const changed = await tx
        .updateTable('cw_orders')
        .set({ customer_id: data.customerId, updated_at: rt.now().toISOString() })
        .where('id', 'in', rows.map((r) => r.id))
        .where('customer_id', 'is', null)
        .returning('id')
        .execute()
      const orderIds = changed.map((r) => r.id).sort()
      if (orderIds.length === 0) return { orderIds: [] }
      emit('order.customer_assigned', { customerId: data.customerId, orderIds })
      return { orderIds }
    })
  }

  /**
   * Captures the order's authorized payment: what is left of the authorization by default, or
   * `amount`. Throws `INVALID_STATE` when there is nothing left to capture (a second capture with
   * another key, a canceled order), `CONFLICT` while another capture or a cancel of the payment is
   * in progress, `PAYMENT_FAILED` when the gateway refuses. The stored captured amount is always
   * what the gateway captured.
   *
   * @example
   * ```ts
   * await commerce.orders.capturePayment(orderId, { amount: 5000, idempotencyKey: 'ship-1-capture' })
   * ```
   */
  async capturePayment(orderId: string, input: CaptureInput = {}): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const data = parseInput(captureSchema, input, 'capture')
    const { op, sent } = await runOperation(this.#rt, { kind: 'capture', orderId: id, amount: data.amount, idempotencyKey: data.idempotencyKey })
    if (sent.status === 'failed') throw operationFailed(op, sent.reason)
    return this.get(id)
  }

  /**
   * Voids the order's authorization, releasing the money held, when nothing was captured. The
   * order stays placed; cancel it to release its stock too.
   *
   * @example
   * ```ts
   * await commerce.orders.voidPayment(orderId, { idempotencyKey: 'void-1001' })
   * ```
   */
  async voidPayment(orderId: string, input: VoidInput = {}): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const data = parseInput(voidSchema, input, 'void')
    const { op, sent } = await runOperation(this.#rt, { kind: 'void', orderId: id, idempotencyKey: data.idempotencyKey })
    if (sent.status === 'failed') throw operationFailed(op, sent.reason)
    return this.get(id)
  }

  /**
   * Refunds part or all of what was captured. The amount is claimed in storage before the gateway
   * is called, counting refunds still in flight, so concurrent refunds can never exceed what was
   * captured. `VALIDATION` (field `amount`) when it exceeds what is left to refund;
   * `INVALID_STATE` when nothing was captured.
   *
   * An order paid in several parts (a gift card and a card) is refunded to its sources by one rule:
   * the gateway payment first, up to what is left of it, then each tender in the order it was
   * applied; each part is an operation of its own at its own provider. Pass `paymentId` to refund one
   * payment instead. The key covers the whole refund: a retry replays every part.
   *
   * @example
   * ```ts
   * await commerce.orders.refund(orderId, { amount: 1500, reason: 'late delivery', idempotencyKey: 'refund-1001-1' })
   * ```
   */
  async refund(orderId: string, input: RefundInput): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const data = parseInput(refundSchema, input, 'refund')
    const parts = await runRefund(this.#rt, {
      kind: 'refund',
      orderId: id,
      amount: data.amount,
      idempotencyKey: data.idempotencyKey,
      reason: data.reason ?? null,
      ...(data.paymentId ? { paymentId: data.paymentId } : {}),
    })
    const failed = parts.find((p) => p.sent.status === 'failed')
    if (failed?.sent.status === 'failed') throw operationFailed(failed.op, failed.sent.reason)
    return this.get(id)
  }

  /**
   * Marks the order shipped in full: its reserved stock leaves the shelves (`onHand` and
   * `reserved` go down). An order whose payment is captured becomes `completed`.
   */
  async fulfill(orderId: string): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const rt = this.#rt
    await transact(rt, async (tx, emit) => {
      const order = await lockOrder(rt, tx, id)
      if (order.fulfillment_status === 'fulfilled') return
      if (order.status !== 'placed') throw new CommerceError('INVALID_STATE', `Order ${order.number} is ${order.status}`, { details: { orderId: id } })
      if (order.held_at) throw heldError(order, 'it cannot be fulfilled')
      await commitStock(rt, tx, { orderId: id })
      const payments = await tx.selectFrom('cw_payments').select('status').where('order_id', '=', id).execute()
      const complete = isComplete({ status: 'placed', fulfillment_status: 'fulfilled' }, payments)
      await tx
        .updateTable('cw_orders')
        .set({ fulfillment_status: 'fulfilled', updated_at: rt.now().toISOString(), ...(complete ? { status: 'completed' } : {}) })
        .where('id', '=', id)
        .execute()
      emit('order.fulfilled', { orderId: id, number: order.number })
      if (complete) emit('order.completed', { orderId: id, number: order.number })
    }, { idempotent: true })
    return this.get(id)
  }

  /**
   * Cancels an unfulfilled order: releases its stock, then gives the money back — a void when
   * nothing was captured, a refund of what is left otherwise (never a void after a capture). A
   * capture in flight makes it wait (`CONFLICT`, retryable). If the gateway refuses or does not
   * answer, the order stays canceled and the call throws `PAYMENT_FAILED`; calling `cancel` again
   * resumes or retries the money's return. Calling it on a canceled order whose money went back
   * returns the order.
   *
   * @example
   * ```ts
   * await commerce.orders.cancel(orderId, { reason: 'customer request', idempotencyKey: 'cancel-1001' })
   * ```
   */
  async cancel(orderId: string, input: CancelInput = {}): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const data = parseInput(cancelSchema, input, 'cancel')
    const rt = this.#rt
    const reason = data.reason ?? null
    await rt.hooks.run('order.beforeCancel', { orderId: id, reason })
    const { send } = await transact(rt, (tx, emit) => cancelAndClaim(rt, tx, emit, id, reason, data.idempotencyKey), { idempotent: true })
    const failures: string[] = []
    let unknown = false
    for (const { op, payment } of send) {
      try {
        const sent = await sendOperation(rt, op, payment)
        if (sent.status === 'failed') failures.push(`${op.kind} refused: ${sent.reason}`)
      } catch (error) {
        unknown = true
        failures.push(`${op.kind} unanswered: ${(error as Error)?.message ?? error}`)
      }
    }
    if (failures.length) {
      throw new CommerceError('PAYMENT_FAILED', `The order is canceled, but its payment was not given back (${failures.join('; ')}); call cancel again to retry`, {
        retryable: true,
        details: { orderId: id, operationIds: send.map((o) => o.op.id), ...(unknown ? { outcomeUnknown: true } : {}) },
      })
    }
    return this.get(id)
  }

  /**
   * Holds a placed order for review (a call from the customer about a stolen card, a suspicion
   * after the fact): until `orders.release`, its payment cannot be captured (`INVALID_STATE`) nor
   * the order fulfilled. Announces `order.held`. An order already held stays as it is, with its first
   * reason; a canceled or completed order cannot be held (`INVALID_STATE`). A capture already in
   * flight is not stopped.
   *
   * @example
   * ```ts
   * await commerce.orders.hold(orderId, { reason: 'customer reported the card stolen' })
   * ```
   */
  async hold(orderId: string, input: HoldInput): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const { reason } = parseInput(holdSchema, input, 'hold')
    const rt = this.#rt
    await transact(rt, async (tx, emit) => {
      const order = await lockOrder(rt, tx, id)
      if (order.held_at) return
      if (order.status !== 'placed') {
        throw new CommerceError('INVALID_STATE', `Order ${order.number} is ${order.status} and cannot be held for review`, { details: { orderId: id, status: order.status } })
      }
      const now = rt.now().toISOString()
      const updated = await tx.updateTable('cw_orders').set({ ...holdColumns({ reason }, now), updated_at: now }).where('id', '=', id).where('held_at', 'is', null).executeTakeFirst()
      if (Number(updated.numUpdatedRows) === 1) emit('order.held', heldEvent(order, reason))
    }, { idempotent: true })
    return this.get(id)
  }

  /**
   * Releases an order held for review (by a `checkout.risk` hook or `orders.hold`): its payment can
   * be captured and the order fulfilled again. Announces `order.released`. An order that is not held
   * is returned as it is; a canceled one stays canceled (`INVALID_STATE`: it was given up, its
   * authorization voided).
   *
   * @example
   * ```ts
   * const order = await commerce.orders.release(orderId)
   * await commerce.orders.capturePayment(order.id, { idempotencyKey: `capture-${order.number}` })
   * ```
   */
  async release(orderId: string): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const rt = this.#rt
    await transact(rt, async (tx, emit) => {
      const order = await lockOrder(rt, tx, id)
      if (!order.held_at) return
      if (order.status === 'canceled') {
        throw new CommerceError('INVALID_STATE', `Order ${order.number} was canceled while held for review and cannot be released`, { details: { orderId: id, status: order.status } })
      }
      const now = rt.now().toISOString()
      const updated = await tx.updateTable('cw_orders').set({ ...holdColumns(null, now), updated_at: now }).where('id', '=', id).where('held_at', 'is not', null).executeTakeFirst()
      if (Number(updated.numUpdatedRows) === 1) emit('order.released', { orderId: id, number: order.number })
    }, { idempotent: true })
    return this.get(id)
  }

  /**
   * The order an access token opens: the order's own token (from the `checkout.complete` call that
   * placed it, or from `issueAccessToken`), or the current token of the cart it was placed from,
   * which the shopper's browser still holds when `complete`'s response was lost. `NOT_FOUND` for
   * anything else: a token replaced since, a cart token whose cart has no order, another order's
   * token, a malformed, empty or missing value; every miss gets the same answer.
   *
   * @example
   * ```ts
   * // The host framework's request, with its query and cookies parsed:
   * declare const request: { query: { token?: string }; cookies: { cart: string } }
   *
   * // The order page, from the link in the confirmation email or the cart cookie:
   * const order = await commerce.orders.findByToken(request.query.token ?? request.cookies.cart)
   * ```
   */
  async findByToken(token: string): Promise<Order> {
    // Closed first: a malformed token is answered without storage, and after close() every call is INVALID_STATE.
    if (this.#rt.closed) throw engineClosed()
    const claim = readAccessToken(token)
    if (!claim) throw noMatchFor('Order')
    const order = await read(this.#rt, async (db) => {
      const orderId = await this.#orderOpenedBy(db, claim)
      return orderId === null ? null : loadOrder(db, orderId)
    })
    if (!order) throw noMatchFor('Order')
    return order
  }

  /**
   * True when `token` opens the order `orderId` (its own current token, or the current token of the
   * cart it was placed from, as for `findByToken`); false for any other value and for an order that
   * does not exist. Hashes are compared in constant time. `VALIDATION` only when `orderId` is not an id.
   *
   * @example
   * ```ts
   * // A store route, GET /orders/:orderId?token=…, in the host framework's terms:
   * async function showOrder(params: { orderId: string }, request: { query: { token: string } }) {
   *   if (!(await commerce.orders.verifyToken(params.orderId, request.query.token))) return { status: 404 }
   *   return { status: 200, body: await commerce.orders.get(params.orderId) }
   * }
   * ```
   */
  async verifyToken(orderId: string, token: string): Promise<boolean> {
    const id = parseArg(fields.id, orderId, 'orderId')
    if (this.#rt.closed) throw engineClosed()
    const claim = readAccessToken(token)
    if (!claim) return false
    return (await read(this.#rt, (db) => this.#orderOpenedBy(db, claim))) === id
  }

  /**
   * Gives the order a new access token, for a link in an email, and returns the order with it
   * (`accessToken`); the order's previous token stops working. The cart's token still opens the
   * order until the cart's token is rotated (`carts.rotateToken`). Works on orders placed before
   * orders had tokens. `NOT_FOUND` when there is no such order.
   *
   * @example
   * ```ts
   * // The host app's mailer:
   * declare const mailer: { send(to: string, body: string): Promise<void> }
   *
   * const order = await commerce.orders.issueAccessToken(orderId)
   * if (order.email) await mailer.send(order.email, `https://shop.example/orders?token=${order.accessToken}`)
   * ```
   */
  async issueAccessToken(orderId: string): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const rt = this.#rt
    const row = { id, access_token_hash: null as string | null }
    const accessToken = attachAccessToken('order', row, rt.secretBytes)
    // Idempotent: writing the same hash again is harmless.
    const updated = await transact(
      rt,
      async (tx) => Number((await tx.updateTable('cw_orders').set({ access_token_hash: row.access_token_hash }).where('id', '=', id).executeTakeFirst()).numUpdatedRows),
      { idempotent: true },
    )
    if (updated !== 1) throw notFound('Order', id)
    return { ...(await this.get(id)), accessToken }
  }

  /** The id of the order a token opens, or null: its own token, or its cart's while the cart has an order. */
  async #orderOpenedBy(db: Db, claim: { kind: AccessTokenKind; id: string; hash: string }): Promise<string | null> {
    if (claim.kind === 'order') {
      const row = await db.selectFrom('cw_orders').select('access_token_hash').where('id', '=', claim.id).executeTakeFirst()
      return row && sameTokenHash(row.access_token_hash, claim.hash) ? claim.id : null
    }
    const cart = await db.selectFrom('cw_carts').select(['access_token_hash', 'order_id']).where('id', '=', claim.id).executeTakeFirst()
    return cart && sameTokenHash(cart.access_token_hash, claim.hash) ? cart.order_id : null
  }
}

/**
 * The cancel's transaction: marks the order canceled and releases its stock (once), then claims
 * what must go back to the shopper beyond what is already in flight. Returns the operations this
 * caller must send: the new one, and pending voids or refunds whose sender died.
 */
async function cancelAndClaim(
  rt: Runtime,
  tx: Tx,
  emit: Parameters<Parameters<typeof transact>[1]>[1],
  id: string,
  reason: string | null,
  key: string | undefined,
): Promise<{ send: Array<{ op: PaymentOperationTable; payment: PaymentTable }> }> {
  if (rt.point) await rt.point('order.cancel.locking', { orderId: id, tx })
  const order = await lockOrder(rt, tx, id)
  const payments = await lockPayments(rt, tx, id)
  // The key is looked up with the order locked: another cancel with the same key that committed
  // (and was perhaps answered) while this one waited for the lock is seen, and its key not reused.
  let keyFree = key !== undefined
  if (key) {
    const used = await tx.selectFrom('cw_payment_operations').select(['order_id', 'kind']).where('idempotency_key', '=', key).executeTakeFirst()
    if (used && (used.order_id !== id || used.kind === 'capture')) {
      throw new CommerceError('CONFLICT', 'This idempotency key was already used for another operation', { details: { orderId: id } })
    }
    keyFree = !used
  }
  const pendingOf = new Map<string, PaymentOperationTable[]>()
  for (const payment of payments) {
    pendingOf.set(payment.id, await tx.selectFrom('cw_payment_operations').selectAll().where('payment_id', '=', payment.id).where('status', '=', 'pending').execute())
  }
  const capturing = [...pendingOf.values()].flat().find((o) => o.kind === 'capture')
  if (order.status !== 'canceled') {
    if (order.status !== 'placed' || order.fulfillment_status !== 'unfulfilled') {
      throw new CommerceError('INVALID_STATE', `Order ${order.number} is ${order.status}/${order.fulfillment_status} and cannot be canceled`, {
        details: { orderId: id, status: order.status, fulfillmentStatus: order.fulfillment_status },
      })
    }
    if (capturing) {
      throw new CommerceError('CONFLICT', `A capture of order ${order.number}'s payment is in progress; cancel again once it is answered`, {
        retryable: true,
        details: { orderId: id, operationId: capturing.id },
      })
    }
    const now = rt.now().toISOString()
    await releaseStock(rt, tx, { orderId: id })
    await tx.updateTable('cw_orders').set({ status: 'canceled', canceled_at: now, updated_at: now }).where('id', '=', id).execute()
    emit('order.canceled', { orderId: id, number: order.number, reason })
    const gateway = payments.find((p) => p.kind === 'gateway')
    if (gateway) await releaseClaim(rt, tx, emit, { cartId: order.cart_id, paymentId: gateway.id, orderId: id, reason: 'canceled' })
  }

  const send: Array<{ op: PaymentOperationTable; payment: PaymentTable }> = []
  const now = rt.now()
  for (const payment of payments) {
    const pending = pendingOf.get(payment.id)!
    // Voids and refunds still pending whose sender is gone: this caller resumes them.
    for (const op of pending) {
      if (op.kind === 'capture') continue
      if (op.lease_until !== null && new Date(op.lease_until).getTime() > now.getTime()) continue
      const lease = new Date(now.getTime() + rt.settings.checkoutLeaseMs).toISOString()
      await tx.updateTable('cw_payment_operations').set({ lease_until: lease }).where('id', '=', op.id).execute()
      send.push({ op: { ...op, lease_until: lease }, payment })
    }
    // Every payment goes back: a void when nothing was captured, a refund of what is left otherwise.
    const status = payment.status as PaymentStatus
    const refunding = pending.filter((o) => o.kind === 'refund').reduce((s, o) => s + o.amount, 0)
    const voiding = pending.some((o) => o.kind === 'void')
    let kind: 'void' | 'refund' | null = null
    let amount = 0
    if (status === 'authorized' && !voiding && !capturing) {
      kind = 'void'
      amount = payment.authorized_amount
    } else if (CAPTURED.includes(status)) {
      amount = payment.captured_amount - payment.refunded_amount - refunding
      if (amount > 0) kind = 'refund'
    }
    if (kind) {
      operationProvider(rt, payment, kind)
      const opId = rt.ids('pop')
      const op = await insertOperation(rt, tx, payment, { id: opId, kind, amount, key: keyFree ? key! : opId, reason: reason ?? 'order canceled' })
      keyFree = false
      send.push({ op, payment })
    }
  }
  return { send }
}
