import { sql } from 'kysely'
import { z } from 'zod'
import { CommerceError, notFound, validationError } from '../errors.js'
import type { OrderTable, PaymentTable } from '../db/database.js'
import { decodeCursor, encodeCursor, pageSchema } from '../paging.js'
import type { PaymentOperationResult, PaymentProvider } from '../ports/payment-provider.js'
import { read, transact, type Runtime } from '../runtime.js'
import type { Order, Page, PaymentStatus } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { commitStock, releaseStock } from './inventory-service.js'
import { loadOrder, loadOrders, toPayment } from './order-mapping.js'

const listSchema = pageSchema.extend({
  customerId: fields.id.optional(),
  email: z.string().max(320).optional(),
  status: z.enum(['placed', 'canceled', 'completed']).optional(),
})
const captureSchema = z.strictObject({ amount: fields.amount.refine((a) => a > 0, 'must be positive').optional() })
const cancelSchema = z.strictObject({ reason: z.string().max(500).optional() })
const refundSchema = z.strictObject({ amount: fields.amount.refine((a) => a > 0, 'must be positive'), reason: z.string().max(500).optional() })
const orderNumberSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)

/**
 * Placed orders: reading, capturing payment, fulfilling, cancelling and refunding.
 * Every payment operation is sent to the gateway with a key fixed by the payment and the
 * operation, so a retried or concurrent call cannot move money twice.
 *
 * @example
 * ```ts
 * const order = await commerce.orders.get(orderId)
 * await commerce.orders.capturePayment(order.id)
 * await commerce.orders.fulfill(order.id)
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

  /** Orders, newest first, a page at a time; filter by customer, email or status. */
  async list(input: z.input<typeof listSchema> = {}): Promise<Page<Order>> {
    const data = parseInput(listSchema, input, 'order list')
    const after = decodeCursor(data.cursor)
    return read(this.#rt, async (db) => {
      let q = db.selectFrom('cw_orders').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(data.limit + 1)
      if (data.customerId) q = q.where('customer_id', '=', data.customerId)
      if (data.email) q = q.where('email', '=', data.email)
      if (data.status) q = q.where('status', '=', data.status)
      if (after) {
        q = q.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]))
      }
      const rows = await q.execute()
      const items = await loadOrders(db, rows.slice(0, data.limit))
      const last = items[items.length - 1]
      return { items, nextCursor: rows.length > data.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null }
    })
  }

  /**
   * Captures the order's authorized payment (all of it by default). Calling it again after
   * success returns the order unchanged.
   */
  async capturePayment(orderId: string, input: z.input<typeof captureSchema> = {}): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const data = parseInput(captureSchema, input, 'capture')
    const { order, payment } = await this.#orderPayment(id)
    if (payment.status === 'captured' || payment.status === 'partially_refunded' || payment.status === 'refunded') return this.get(id)
    if (payment.status !== 'authorized' || order.status === 'canceled') {
      throw new CommerceError('INVALID_STATE', `Payment of order ${order.number} is ${payment.status}; only an authorized payment can be captured`, {
        details: { orderId: id, paymentStatus: payment.status },
      })
    }
    const provider = this.#provider(payment, 'capture')
    const amount = data.amount ?? payment.authorized_amount
    if (amount > payment.authorized_amount) {
      throw validationError('capture', [{ path: 'amount', message: `cannot capture more than the ${payment.authorized_amount} authorized` }])
    }
    if (amount < payment.authorized_amount && !provider.capabilities.partialCapture) {
      throw validationError('capture', [{ path: 'amount', message: `${provider.id} cannot capture part of an authorization` }])
    }
    const result = await this.#call(provider, 'capture', payment, amount, `${payment.id}:capture`)
    if (result.status === 'failed') {
      throw new CommerceError('PAYMENT_FAILED', `Capture failed: ${result.reason}`, { details: { orderId: id, reason: result.reason } })
    }
    await transact(this.#rt, async (tx, emit) => {
      const now = this.#rt.now().toISOString()
      const updated = await tx
        .updateTable('cw_payments')
        .set({ status: 'captured', captured_amount: amount, updated_at: now })
        .where('id', '=', payment.id)
        .where('status', '=', 'authorized')
        .executeTakeFirst()
      if (Number(updated.numUpdatedRows) !== 1) return
      await tx.updateTable('cw_orders').set({ payment_status: 'captured', updated_at: now }).where('id', '=', id).execute()
      emit('payment.captured', { payment: toPayment({ ...payment, status: 'captured', captured_amount: amount, updated_at: now }) })
    }, { idempotent: true })
    return this.get(id)
  }

  /** Marks the order shipped in full: its reserved stock leaves the shelves (`onHand` and `reserved` go down). */
  async fulfill(orderId: string): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    await transact(this.#rt, async (tx, emit) => {
      const order = await this.#lockOrder(tx, id)
      if (order.fulfillment_status === 'fulfilled') return
      if (order.status !== 'placed') throw new CommerceError('INVALID_STATE', `Order ${order.number} is ${order.status}`, { details: { orderId: id } })
      await commitStock(this.#rt, tx, { orderId: id })
      await tx.updateTable('cw_orders').set({ fulfillment_status: 'fulfilled', updated_at: this.#rt.now().toISOString() }).where('id', '=', id).execute()
      emit('order.fulfilled', { orderId: id, number: order.number })
    }, { idempotent: true })
    return this.get(id)
  }

  /**
   * Cancels an unfulfilled order: releases its stock, then voids the authorization or refunds
   * the captured amount. If the gateway fails, the order stays canceled with its payment
   * `canceling`; calling `cancel` again retries the gateway step with the same key.
   */
  async cancel(orderId: string, input: z.input<typeof cancelSchema> = {}): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const data = parseInput(cancelSchema, input, 'cancel')
    const rt = this.#rt
    const reason = data.reason ?? null
    await rt.hooks.run('order.beforeCancel', { orderId: id, reason })
    const before = await transact(rt, async (tx, emit) => {
      const order = await this.#lockOrder(tx, id)
      const payment = await tx.selectFrom('cw_payments').selectAll().where('order_id', '=', id).executeTakeFirst()
      if (order.status === 'canceled') return { payment, action: null as null | 'void' | 'refund' }
      if (order.status !== 'placed' || order.fulfillment_status !== 'unfulfilled') {
        throw new CommerceError('INVALID_STATE', `Order ${order.number} is ${order.status}/${order.fulfillment_status} and cannot be canceled`, {
          details: { orderId: id, status: order.status, fulfillmentStatus: order.fulfillment_status },
        })
      }
      const now = rt.now().toISOString()
      await releaseStock(rt, tx, { orderId: id })
      // A partly refunded payment still holds captured money: the rest is refunded too.
      const action =
        payment?.status === 'authorized' ? 'void' : payment?.status === 'captured' || payment?.status === 'partially_refunded' ? 'refund' : null
      await tx
        .updateTable('cw_orders')
        .set({ status: 'canceled', canceled_at: now, updated_at: now, ...(action ? { payment_status: 'canceling' } : {}) })
        .where('id', '=', id)
        .execute()
      if (payment && action) {
        await tx.updateTable('cw_payments').set({ status: 'canceling', failure: action, updated_at: now }).where('id', '=', payment.id).execute()
      }
      emit('order.canceled', { orderId: id, number: order.number, reason })
      return { payment: payment ? { ...payment, status: action ? 'canceling' : payment.status, failure: action } : undefined, action }
    }, { idempotent: true })
    const payment = before.payment
    if (payment && payment.status === 'canceling') await this.#settleCancel(id, payment)
    return this.get(id)
  }

  async #settleCancel(orderId: string, payment: PaymentTable): Promise<void> {
    const action = payment.failure === 'refund' ? 'refund' : 'void'
    const provider = this.#provider(payment, action)
    const amount = action === 'refund' ? payment.captured_amount - payment.refunded_amount : payment.authorized_amount
    const result = await this.#call(provider, action, payment, amount, `${payment.id}:cancel`)
    if (result.status === 'failed') {
      throw new CommerceError('PAYMENT_FAILED', `The order is canceled but the payment ${action} failed: ${result.reason}; call cancel again to retry`, {
        details: { orderId, reason: result.reason },
        retryable: true,
      })
    }
    await transact(this.#rt, async (tx, emit) => {
      const now = this.#rt.now().toISOString()
      const status: PaymentStatus = action === 'refund' ? 'refunded' : 'voided'
      const updated = await tx
        .updateTable('cw_payments')
        .set({ status, failure: null, updated_at: now, ...(action === 'refund' ? { refunded_amount: payment.captured_amount } : {}) })
        .where('id', '=', payment.id)
        .where('status', '=', 'canceling')
        .executeTakeFirst()
      if (Number(updated.numUpdatedRows) !== 1) return
      await tx.updateTable('cw_orders').set({ payment_status: status, updated_at: now }).where('id', '=', orderId).execute()
      const after = toPayment({ ...payment, status, failure: null, refunded_amount: action === 'refund' ? payment.captured_amount : payment.refunded_amount, updated_at: now })
      if (action === 'refund') emit('payment.refunded', { payment: after, amount })
      else emit('payment.voided', { payment: after })
    }, { idempotent: true })
  }

  /**
   * Refunds part or all of the captured amount. The amount is claimed in storage before the
   * gateway is called, so concurrent refunds can never exceed what was captured.
   */
  async refund(orderId: string, input: z.input<typeof refundSchema>): Promise<Order> {
    const id = parseArg(fields.id, orderId, 'orderId')
    const data = parseInput(refundSchema, input, 'refund')
    const rt = this.#rt
    const { payment } = await this.#orderPayment(id)
    const provider = this.#provider(payment, 'refund')
    const claimed = await transact(rt, async (tx) => {
      const row = await tx
        .updateTable('cw_payments')
        .set({ refunded_amount: sql`refunded_amount + ${data.amount}`, updated_at: rt.now().toISOString() })
        .where('id', '=', payment.id)
        .where('status', 'in', ['captured', 'partially_refunded'])
        .where(sql<boolean>`refunded_amount + ${data.amount} <= captured_amount`)
        .returning(['refunded_amount'])
        .executeTakeFirst()
      if (!row) {
        throw new CommerceError('INVALID_STATE', 'The refund exceeds what is left of the captured amount, or nothing was captured', {
          details: { orderId: id, amount: data.amount },
        })
      }
      return row.refunded_amount - data.amount
    })
    const result = await this.#call(provider, 'refund', payment, data.amount, `${payment.id}:refund:${claimed}`).catch((error) => ({
      status: 'failed' as const,
      reason: (error as Error)?.message ?? String(error),
    }))
    await transact(rt, async (tx, emit) => {
      const now = rt.now().toISOString()
      if (result.status === 'failed') {
        await tx.updateTable('cw_payments').set({ refunded_amount: sql`refunded_amount - ${data.amount}`, updated_at: now }).where('id', '=', payment.id).execute()
        return
      }
      const row = await tx.selectFrom('cw_payments').selectAll().where('id', '=', payment.id).executeTakeFirstOrThrow()
      // A cancel that began meanwhile owns the status now; it refunds what is left.
      const settled = row.status === 'captured' || row.status === 'partially_refunded'
      const status: PaymentStatus = !settled ? (row.status as PaymentStatus) : row.refunded_amount === row.captured_amount ? 'refunded' : 'partially_refunded'
      if (settled) {
        await tx.updateTable('cw_payments').set({ status, updated_at: now }).where('id', '=', payment.id).execute()
        await tx.updateTable('cw_orders').set({ payment_status: status, updated_at: now }).where('id', '=', id).execute()
      }
      emit('payment.refunded', { payment: toPayment({ ...row, status }), amount: data.amount })
    })
    if (result.status === 'failed') {
      throw new CommerceError('PAYMENT_FAILED', `Refund failed: ${result.reason}`, { details: { orderId: id, reason: result.reason }, retryable: true })
    }
    return this.get(id)
  }

  async #orderPayment(id: string): Promise<{ order: OrderTable; payment: PaymentTable }> {
    return read(this.#rt, async (db) => {
      const order = await db.selectFrom('cw_orders').selectAll().where('id', '=', id).executeTakeFirst()
      if (!order) throw notFound('Order', id)
      const payment = await db.selectFrom('cw_payments').selectAll().where('order_id', '=', id).executeTakeFirst()
      if (!payment) throw new CommerceError('INVALID_STATE', `Order ${order.number} has no payment`, { details: { orderId: id } })
      return { order, payment }
    })
  }

  async #lockOrder(tx: Parameters<Parameters<typeof transact>[1]>[0], id: string): Promise<OrderTable> {
    let q = tx.selectFrom('cw_orders').selectAll().where('id', '=', id)
    if (this.#rt.storage.capabilities.rowLocks) q = q.forUpdate()
    const order = await q.executeTakeFirst()
    if (!order) throw notFound('Order', id)
    return order
  }

  #provider(payment: PaymentTable, operation: 'capture' | 'void' | 'refund'): PaymentProvider {
    const provider = this.#rt.payments.get(payment.provider)
    if (!provider) throw new CommerceError('CONFIGURATION', `Payment provider ${payment.provider} is not configured`, { details: { provider: payment.provider } })
    if (!provider.capabilities[operation] || !provider[operation]) {
      throw new CommerceError('INVALID_STATE', `Payment provider ${provider.id} cannot ${operation}`, { details: { provider: provider.id, operation } })
    }
    return provider
  }

  async #call(provider: PaymentProvider, operation: 'capture' | 'void' | 'refund', payment: PaymentTable, amount: number, key: string): Promise<PaymentOperationResult> {
    try {
      return await provider[operation]!({ paymentId: payment.id, reference: payment.reference ?? '', idempotencyKey: key, amount, currency: payment.currency })
    } catch (error) {
      throw new CommerceError('PROVIDER', `Payment provider ${provider.id} failed to ${operation}: ${(error as Error)?.message ?? error}`, {
        cause: error,
        retryable: true,
      })
    }
  }
}
