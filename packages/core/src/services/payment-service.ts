import { z } from 'zod'
import { isCommerceError, notFound, validationError } from '../errors.js'
import { iso, isoOrNull } from '../db/rows.js'
import { keysetPage, pageSchema } from '../paging.js'
import { engineClosed, read, transact, type Runtime } from '../runtime.js'
import type { Page, PaymentDetails, PaymentEventRecord } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { loadPaymentDetails } from './order-mapping.js'
import { receiveWebhook, type WebhookOutcome } from './payment-completion.js'
import { sendOperation } from './payment-operations.js'

const paymentStatuses = ['pending', 'requires_action', 'authorized', 'partially_captured', 'captured', 'partially_refunded', 'refunded', 'voided', 'declined'] as const

const listSchema = pageSchema.extend({
  orderId: fields.id.optional(),
  cartId: fields.id.optional(),
  status: z.enum(paymentStatuses).optional(),
})
const recoverSchema = z.strictObject({ limit: z.number().int().min(1).max(1000).default(100) })
const unmatchedSchema = z.strictObject({
  provider: z.string().min(1).max(64).optional(),
  limit: z.number().int().min(1).max(1000).default(100),
})
const webhookSchema = z.object({
  providerId: z.string().min(1).max(64),
  // The bytes as they arrived: a body parsed and serialized again no longer matches its signature.
  rawBody: z.union([z.string(), z.instanceof(Uint8Array)]).refine((b) => b.length <= 1_048_576, 'at most 1 MiB'),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string()), z.undefined()])),
})

/** Input of `payments.list`. */
export type ListPaymentsInput = z.input<typeof listSchema>
/** Input of `payments.recover`. */
export type RecoverPaymentsInput = z.input<typeof recoverSchema>
/**
 * Input of `payments.listUnmatchedEvents`: one provider's events (default all), at most `limit`
 * (1–1000, default 100), oldest first.
 *
 * @example
 * ```ts
 * const input: ListUnmatchedEventsInput = { provider: 'stripe', limit: 20 }
 * const events = await commerce.payments.listUnmatchedEvents(input)
 * ```
 */
export type ListUnmatchedEventsInput = z.input<typeof unmatchedSchema>
/**
 * What `payments.handleWebhook` did with each event of a request, in the order received:
 * `applied` (it changed a payment, or confirmed what the engine recorded), `duplicate` (this event
 * id was received before: nothing changed), `unmatched` (no payment has its reference yet: kept,
 * and applied when one does), `ignored` (nothing to do, such as an intermediate status).
 *
 * @example
 * ```ts
 * declare const rawBody: string
 * declare const headers: Record<string, string>
 *
 * const result: WebhookResult = await commerce.payments.handleWebhook('stripe', rawBody, headers)
 * logger.info('webhook', result.events.map((e) => `${e.id}: ${e.outcome}`).join(', '))
 * ```
 */
export type WebhookResult = WebhookOutcome

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
   * Receives a gateway's webhook request: the provider (`providerId`, one with the `webhooks`
   * capability) verifies the signature over the raw body, byte for byte as it arrived, and turns
   * it into events; each event is then recorded under (provider, event id) and applied in one
   * transaction, so a repeat of an event is answered `duplicate` and changes nothing, however many
   * times and however concurrently it arrives.
   *
   * Applying an event goes through the same completion as `checkout.complete` and
   * `checkout.confirm`: an authorization or capture places the order of a checkout waiting for it
   * (exactly once, whichever of them comes first), a failure or cancellation declines it and
   * releases its stock, an intermediate status changes nothing; a capture, refund or void of a
   * payment with an order confirms the engine's own operation (a pending one is settled) or
   * records what was done at the gateway directly; a dispute is recorded on the payment and
   * announced (`payment.dispute_opened`, `payment.dispute_closed`). An event for a reference no
   * payment has yet is kept and applied when one does.
   *
   * Throws `VALIDATION` naming `signature` when the provider refuses the request (wrong, stale or
   * missing signature, a body that is not what was signed) and `VALIDATION` naming `providerId`
   * for a provider that is not configured or takes no webhooks; nothing is stored then. Answer the
   * gateway 2xx for a result and 4xx for `VALIDATION`; on any other error answer 5xx, and the
   * gateway's retry is safe.
   *
   * @example
   * ```ts
   * // In the host's HTTP handler, with the body read as raw bytes (not parsed JSON):
   * async function stripeWebhook(rawBody: Buffer, headers: Record<string, string>) {
   *   try {
   *     const result = await commerce.payments.handleWebhook('stripe', rawBody, headers)
   *     return { status: 200, body: result }
   *   } catch (error) {
   *     if (isCommerceError(error, 'VALIDATION')) return { status: 400, body: error.toJSON() }
   *     throw error
   *   }
   * }
   * ```
   */
  async handleWebhook(providerId: string, rawBody: string | Uint8Array, headers: Record<string, string | readonly string[] | undefined>): Promise<WebhookResult> {
    const input = parseInput(webhookSchema, { providerId, rawBody, headers }, 'webhook')
    const rt = this.#rt
    if (rt.closed) throw engineClosed()
    const provider = rt.payments.get(input.providerId)
    if (!provider) throw validationError('webhook', [{ path: 'providerId', message: `no payment provider ${JSON.stringify(input.providerId)} is configured` }])
    if (!provider.capabilities.webhooks || typeof provider.webhooks?.verify !== 'function') {
      throw validationError('webhook', [{ path: 'providerId', message: `payment provider ${provider.id} does not take webhooks (capability webhooks)` }])
    }
    return receiveWebhook(rt, provider, { rawBody: input.rawBody, headers })
  }

  /**
   * Gateway events kept because no payment had their reference when they arrived, oldest first.
   * Each is applied as soon as a payment with its reference appears (when checkout stores the
   * gateway's answer, or by recovery); one that stays here names a payment the engine never made,
   * for someone to look at.
   *
   * @example
   * ```ts
   * for (const event of await commerce.payments.listUnmatchedEvents({ provider: 'stripe' })) {
   *   logger.warn('unmatched gateway event', event.eventId, event.type, event.reference)
   * }
   * ```
   */
  async listUnmatchedEvents(input: ListUnmatchedEventsInput = {}): Promise<PaymentEventRecord[]> {
    const data = parseInput(unmatchedSchema, input, 'event list')
    const rows = await read(this.#rt, (db) => {
      let q = db.selectFrom('cw_payment_events').selectAll().where('outcome', '=', 'unmatched').orderBy('received_at').orderBy('event_id').limit(data.limit)
      if (data.provider) q = q.where('provider', '=', data.provider)
      return q.execute()
    })
    return rows.map((r) => ({
      provider: r.provider,
      eventId: r.event_id,
      type: r.type as PaymentEventRecord['type'],
      reference: r.reference,
      paymentId: r.payment_id,
      operationId: r.operation_id,
      amount: r.amount === null ? null : Number(r.amount),
      currency: r.currency,
      reason: r.reason,
      occurredAt: r.occurred_at,
      outcome: r.outcome as PaymentEventRecord['outcome'],
      receivedAt: iso(r.received_at),
      appliedAt: isoOrNull(r.applied_at),
    }))
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
