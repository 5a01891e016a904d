import { z } from 'zod'
import { isCommerceError, notFound } from '../errors.js'
import { keysetPage, pageSchema } from '../paging.js'
import { read, transact, type Runtime } from '../runtime.js'
import type { Page, PaymentDetails } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { loadPaymentDetails } from './order-mapping.js'
import { sendOperation } from './payment-operations.js'

const paymentStatuses = ['pending', 'authorized', 'partially_captured', 'captured', 'partially_refunded', 'refunded', 'voided', 'declined'] as const

const listSchema = pageSchema.extend({
  orderId: fields.id.optional(),
  cartId: fields.id.optional(),
  status: z.enum(paymentStatuses).optional(),
})
const recoverSchema = z.strictObject({ limit: z.number().int().min(1).max(1000).default(100) })

/** Input of `payments.list`. */
export type ListPaymentsInput = z.input<typeof listSchema>
/** Input of `payments.recover`. */
export type RecoverPaymentsInput = z.input<typeof recoverSchema>

/**
 * Payments as an operator sees them, read-only: each attempt to pay for a cart (a checkout in
 * flight is a `pending` one), with every capture, void and refund sent for it. Money is moved
 * through `commerce.orders`; this service only reads, and finishes operations left pending.
 *
 * @example
 * ```ts
 * const { items } = await commerce.payments.list({ orderId })
 * for (const op of items[0]!.operations) console.log(op.kind, op.amount, op.status)
 * ```
 */
export class PaymentService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /** A payment with its operations; `NOT_FOUND` when there is none. */
  async get(paymentId: string): Promise<PaymentDetails> {
    const id = parseArg(fields.id, paymentId, 'paymentId')
    const [payment] = await read(this.#rt, async (db) => loadPaymentDetails(db, await db.selectFrom('cw_payments').selectAll().where('id', '=', id).execute()))
    if (!payment) throw notFound('Payment', id)
    return payment
  }

  /**
   * Payments, newest first, a page at a time; filter by order, cart or status
   * (`status: 'pending'` lists checkouts in flight).
   */
  async list(input: ListPaymentsInput = {}): Promise<Page<PaymentDetails>> {
    const data = parseInput(listSchema, input, 'payment list')
    return read(this.#rt, (db) => {
      let q = db.selectFrom('cw_payments').selectAll()
      if (data.orderId) q = q.where('order_id', '=', data.orderId)
      if (data.cartId) q = q.where('cart_id', '=', data.cartId)
      if (data.status) q = q.where('status', '=', data.status)
      return keysetPage(q, data, (rows) => loadPaymentDetails(db, rows))
    })
  }

  /**
   * Finishes captures, voids and refunds left pending because their process died or the
   * gateway's answer was lost: each is sent again with its own gateway key, so the gateway replays
   * what it did (or does it now), and the answer is recorded. Safe to run in many processes; run it
   * now and then, as `checkout.recover()`.
   *
   * @example
   * ```ts
   * setInterval(() => commerce.payments.recover().catch(console.error), 60_000)
   * ```
   */
  async recover(input: RecoverPaymentsInput = {}): Promise<{ succeeded: number; failed: number; unanswered: number }> {
    const { limit } = parseInput(recoverSchema, input, 'recover')
    const rt = this.#rt
    const now = rt.now().toISOString()
    const stale = await read(rt, (db) =>
      db
        .selectFrom('cw_payment_operations')
        .selectAll()
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
        .orderBy('created_at')
        .limit(limit)
        .execute(),
    )
    const outcome = { succeeded: 0, failed: 0, unanswered: 0 }
    for (const candidate of stale) {
      const lease = new Date(rt.now().getTime() + rt.settings.checkoutLeaseMs).toISOString()
      const claimed = await transact(rt, async (tx) => {
        let q = tx.updateTable('cw_payment_operations').set({ lease_until: lease }).where('id', '=', candidate.id).where('status', '=', 'pending')
        q = candidate.lease_until === null ? q.where('lease_until', 'is', null) : q.where('lease_until', '=', candidate.lease_until)
        if (Number((await q.executeTakeFirst()).numUpdatedRows) !== 1) return null
        return tx.selectFrom('cw_payments').selectAll().where('id', '=', candidate.payment_id).executeTakeFirstOrThrow()
      }, { idempotent: true })
      if (!claimed) continue
      try {
        const sent = await sendOperation(rt, { ...candidate, lease_until: lease }, claimed)
        outcome[sent.status]++
      } catch (error) {
        if (!isCommerceError(error)) throw error
        outcome.unanswered++
      }
    }
    return outcome
  }
}
