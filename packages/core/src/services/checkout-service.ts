import { sql } from 'kysely'
import { z } from 'zod'
import { attachAccessToken } from '../access-tokens.js'
import { waitTime, within } from '../clock.js'
import { CommerceError, isCommerceError, notFound, validationError } from '../errors.js'
import { compiledQuery } from '../db/compiled-query.js'
import type { OrderLineTable, OrderTable, PaymentTable, Tx } from '../db/database.js'
import { json, parseJson } from '../db/rows.js'
import type { AuthorizeResult, PaymentProvider } from '../ports/payment-provider.js'
import { read, transact, type Emit, type Runtime } from '../runtime.js'
import type { Cart, CheckoutResult, Order, PaymentStatus } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { loadCart, priceCart } from './cart-pricing.js'
import { applyReservation, beyondStockOf, planReservation, releaseStock } from './inventory-service.js'
import { channelLocations } from './channel-service.js'
import { claimDraftHolds, expireDrafts } from './draft-service.js'
import { loadOrder, toOrder, toPayment } from './order-mapping.js'
import { insertOrderAdjustments } from './order-adjustments.js'
import { insertOperation, orderPaymentStatus } from './payment-operations.js'
import { applyChargeRounding } from './charge-rounding.js'
import { placeTenders, releaseClaim, runClaimHooks, runPlaceHooks } from './checkout-plugins.js'
import { assertTransition } from '../payment-state.js'
import { assertSameRequest, requestDigest } from './checkout-request.js'
import { assessCheckoutRisk, heldEvent, holdColumns } from './order-holds.js'
import { paymentChanged } from './payment-transitions.js'
import {
  actionRequired,
  answerFor,
  answerSettled,
  awaitCustomerAction,
  beingGivenUp,
  checkActionAnswer,
  completeAttempt,
  declinedError,
  expiredActions,
  giveUpAction,
  outcomeOfRetrieve,
  reconcileReference,
  reconcileUnmatched,
} from './payment-completion.js'

const completeSchema = z.strictObject({
  payment: z.strictObject({
    provider: z.string().min(1).max(64),
    // Stored with the payment, so bounded (see fields.paymentData).
    data: fields.paymentData.default({}),
  }),
  idempotencyKey: fields.idempotencyKey,
})

const recoverSchema = z.strictObject({ limit: z.number().int().min(1).max(1000).default(100) })

/** Input of `checkout.complete`. */
export type CompleteCheckoutInput = z.input<typeof completeSchema>
/**
 * Input of `checkout.recover`: how many stalled checkouts, and how many customer actions past their
 * deadline, to finish in one call (1–1000 each, default 100).
 *
 * @example
 * ```ts
 * const input: RecoverCheckoutsInput = { limit: 500 }
 * const { placed, declined, failed } = await commerce.checkout.recover(input)
 * logger.info('recovered checkouts', { placed, declined, failed })
 * ```
 */
export type RecoverCheckoutsInput = z.input<typeof recoverSchema>

/** What the first step of a checkout decided. */
type Step =
  | { kind: 'order'; orderId: string }
  | { kind: 'authorize'; payment: PaymentTable; cart: Cart }
  | { kind: 'action'; payment: PaymentTable }
  | { kind: 'wait' }
  | { kind: 'declined'; reason: string }
  | { kind: 'reprice' }

// The statements of a checkout, compiled once (see db/compiled-query.ts).

const paymentCartByKey = compiledQuery((db, $: { key: string }) =>
  db.selectFrom('cw_payments').select(['cart_id', 'provider', 'request_digest']).where('idempotency_key', '=', $.key),
)

const paymentByKey = compiledQuery((db, $: { key: string }) => db.selectFrom('cw_payments').selectAll().where('idempotency_key', '=', $.key))

const cartState = compiledQuery((db, $: { cartId: string }) =>
  db.selectFrom('cw_carts').select(['status', 'version', 'order_id']).where('id', '=', $.cartId),
)

const cartStateForUpdate = compiledQuery((db, $: { cartId: string }) =>
  db.selectFrom('cw_carts').select(['status', 'version', 'order_id']).where('id', '=', $.cartId).forUpdate(),
)

const insertPayment = compiledQuery((db, $: PaymentTable) => db.insertInto('cw_payments').values($))

const markCompleting = compiledQuery((db, $: { cartId: string; checkout: string; updatedAt: string }) =>
  db.updateTable('cw_carts').set({ status: 'completing', checkout: $.checkout, updated_at: $.updatedAt }).where('id', '=', $.cartId),
)

const paymentState = compiledQuery((db, $: { paymentId: string }) =>
  db.selectFrom('cw_payments').select(['status', 'order_id', 'failure']).where('id', '=', $.paymentId),
)

/** PostgreSQL: a holder whose lease ran out and its successor may both reach placement; the second waits here, then sees the order. */
const paymentStateForUpdate = compiledQuery((db, $: { paymentId: string }) =>
  db.selectFrom('cw_payments').select(['status', 'order_id', 'failure']).where('id', '=', $.paymentId).forUpdate(),
)

const insertOrder = compiledQuery((db, $: OrderTable) => db.insertInto('cw_orders').values($))

const insertOrderLines = compiledQuery((db, $: { lines: OrderLineTable[] }) => db.insertInto('cw_order_lines').values($.lines))

const attachReservations = compiledQuery((db, $: { cartId: string; orderId: string }) =>
  db.updateTable('cw_reservations').set({ order_id: $.orderId }).where('cart_id', '=', $.cartId).where('status', '=', 'held'),
)

const settlePayment = compiledQuery(
  (db, $: Pick<PaymentTable, 'id' | 'order_id' | 'status' | 'authorized_amount' | 'captured_amount' | 'reference' | 'data'> & { updatedAt: string; from: string }) =>
    db
      .updateTable('cw_payments')
      .set({
        order_id: $.order_id,
        status: $.status,
        authorized_amount: $.authorized_amount,
        captured_amount: $.captured_amount,
        reference: $.reference,
        lease_until: null,
        data: $.data,
        updated_at: $.updatedAt,
      })
      .where('id', '=', $.id)
      .where('status', '=', $.from),
)

const completeCart = compiledQuery((db, $: { cartId: string; orderId: string; updatedAt: string }) =>
  db.updateTable('cw_carts').set({ status: 'completed', order_id: $.orderId, updated_at: $.updatedAt }).where('id', '=', $.cartId),
)

const nextOrderNumberFromCounter = compiledQuery((db) =>
  db.updateTable('cw_counters').set({ value: sql`value + 1` }).where('name', '=', 'order_number').returning('value'),
)

const nextOrderNumberFromSequence = compiledQuery((db) => db.selectNoFrom(sql<number | string>`nextval('cw_order_number_seq')`.as('value')))

/**
 * Turns a cart into an order. The steps, each its own transaction so that no lock is held
 * while the gateway is called:
 *
 * 1. validate the cart, reserve stock (one conditional write per level) and record a
 *    pending payment with a lease, marking the cart `completing`;
 * 2. authorize exactly the persisted total at the gateway, keyed by the payment id;
 * 3. place the order (or, on a decline, release the stock and reopen the cart).
 *
 * A shopper who loses a stock race fails in step 1 and is never charged. A crash between
 * steps leaves a pending payment whose lease expires; the next call for the cart, or recovery,
 * resumes it with the same gateway idempotency key, so a paid cart always ends with an order.
 *
 * When the gateway wants the shopper to confirm (3-D Secure), step 2 answers `requires_action`:
 * the payment waits with the stock reserved, and the order is placed by whichever learns the
 * outcome first — `confirm` when the shopper returns, the gateway's webhook, or recovery — through
 * one completion (see `payment-completion.ts`).
 *
 * @example
 * ```ts
 * const result = await commerce.checkout.complete(cart.id, {
 *   payment: { provider: 'test' },
 *   idempotencyKey: crypto.randomUUID(),
 * })
 * if (result.status !== 'requires_action') console.log('order', result.number)
 * ```
 */
export class CheckoutService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /**
   * Completes checkout and returns the placed order, or {@link ActionRequired} when the gateway
   * wants the shopper to confirm first (3-D Secure, a redirect): send them to `action`, then call
   * {@link CheckoutService.confirm} when they return. Calling it again for the same cart — the same
   * key, another tab, a retry after a timeout — returns the same order (or the same action, never
   * a second authorization); at most one order and one authorization ever exist per cart. Throws
   * `OUT_OF_STOCK`, `PAYMENT_DECLINED` (the same key then keeps answering so; use a new key to try
   * again), `INVALID_STATE` for an incomplete cart, `CONFLICT` when the key was first used for
   * another cart or with another payment provider (a key belongs to the cart and provider of its
   * first use).
   *
   * @example
   * ```ts
   * declare function redirect(url: string): void
   *
   * const result = await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: crypto.randomUUID() })
   * if (result.status === 'requires_action') {
   *   if (result.action.type === 'redirect') redirect(result.action.url)
   * } else {
   *   console.log('placed order', result.number)
   * }
   * ```
   */
  async complete(cartId: string, input: CompleteCheckoutInput): Promise<CheckoutResult> {
    const id = parseArg(fields.id, cartId, 'cartId')
    const data = parseInput(completeSchema, input, 'checkout')
    const rt = this.#rt
    const provider = rt.payments.get(data.payment.provider)
    if (!provider) {
      throw validationError('checkout', [{ path: 'payment.provider', message: `no payment provider ${JSON.stringify(data.payment.provider)} is configured` }])
    }
    // On the time the waits below sleep in (see waitTime), or a clock held still would never end them.
    const deadline = waitTime(rt.clock) + rt.settings.checkoutLeaseMs + 5_000
    let pause = 5
    for (;;) {
      let step: Step
      try {
        step = await this.#begin(id, data.idempotencyKey, provider, data.payment.data)
      } catch (error) {
        // Another cart took this key between our check and our insert: look again, and the
        // check reports the CONFLICT.
        if (isCommerceError(error, 'STORAGE') && rt.storage.isUniqueViolation(error.cause)) continue
        throw error
      }
      switch (step.kind) {
        case 'order':
          return (await read(rt, (db) => loadOrder(db, step.orderId)))!
        case 'declined':
          throw new CommerceError('PAYMENT_DECLINED', `Payment was declined: ${step.reason}`, { details: { cartId: id, reason: step.reason } })
        case 'authorize':
          return this.#authorizeAndPlace(step.payment, step.cart, this.#rt.payments.get(step.payment.provider) ?? provider)
        case 'action':
          // Waiting for the shopper: the same answer, never a second authorization.
          return actionRequired(step.payment)
        case 'reprice':
          continue
        case 'wait':
          if (waitTime(rt.clock) > deadline) {
            throw new CommerceError('CONFLICT', 'Another checkout of this cart is still in progress; retry shortly', {
              details: { cartId: id },
              retryable: true,
            })
          }
          await rt.clock.sleep(pause)
          pause = Math.min(pause * 2, 200)
      }
    }
  }

  async #begin(cartId: string, key: string, provider: PaymentProvider, paymentData: Record<string, unknown>): Promise<Step> {
    const rt = this.#rt
    // Price outside the transaction: tax and shipping providers may be remote. The
    // transaction below proceeds only if the cart did not change meanwhile (its version).
    const before = await read(rt, async (db) => {
      const existing = await paymentCartByKey.first(db, { key })
      const cart = await loadCart(rt, db, cartId)
      return { existing, cart }
    })
    if (before.existing) this.#assertKeyOwner(before.existing, cartId, provider, paymentData)
    if (!before.cart) throw notFound('Cart', cartId)
    const priced = before.cart.row.status === 'open' && !before.existing ? await priceCart(rt, before.cart) : null
    if (priced) {
      this.#assertReady(priced, before.cart.lines)
      await rt.hooks.run('checkout.beforeComplete', { cart: priced, totals: priced.totals })
    }

    return transact(rt, async (tx, emit) => {
      const now = rt.now()
      const existing = await paymentByKey.first(tx, { key })
      if (existing) {
        // Checked again here: another cart may have claimed the key since the check above (its
        // hooks may be slow), and a key answers only for the cart and provider of its first use.
        this.#assertKeyOwner(existing, cartId, provider, paymentData)
        return this.#resumeOrWait(tx, existing, now)
      }
      // Only the cart's state is read again: its lines are those priced above unless the version moved.
      const cart = await (rt.storage.capabilities.rowLocks ? cartStateForUpdate : cartState).first(tx, { cartId })
      if (!cart) throw notFound('Cart', cartId)
      if (cart.status === 'completed') return { kind: 'order', orderId: cart.order_id! }
      if (cart.status === 'completing') {
        const pending = await tx
          .selectFrom('cw_payments')
          .selectAll()
          .where('cart_id', '=', cartId)
          .where('status', 'in', ['pending', 'requires_action'])
          .executeTakeFirst()
        if (!pending) return { kind: 'wait' }
        return this.#resumeOrWait(tx, pending, now)
      }
      if (!priced || cart.version !== before.cart!.row.version) return { kind: 'reprice' }

      // A staff-made draft: refused once expired; the units it holds are taken again by the plan below.
      await claimDraftHolds(rt, tx, before.cart!.row)
      let locations = before.cart!.row.channel_id ? await channelLocations(tx, before.cart!.row.channel_id) : null
      // Click and collect: every unit from the pickup location (within the channel's, if any).
      const pickup = priced.shippingMethod?.pickupLocationId
      if (pickup !== undefined) locations = locations ? locations.filter((l) => l === pickup) : [pickup]
      const plan = await planReservation(rt, tx, cartId, before.cart!.lines.map((l) => ({ variantId: l.variant_id, quantity: l.quantity })), locations)
      const stamp = now.toISOString()
      const payment: PaymentTable = {
        id: rt.ids('pay'),
        cart_id: cartId,
        order_id: null,
        kind: 'gateway',
        provider: provider.id,
        idempotency_key: key,
        status: 'pending',
        currency: priced.currency,
        amount: priced.totals.total,
        authorized_amount: 0,
        captured_amount: 0,
        refunded_amount: 0,
        reference: null,
        failure: null,
        lease_until: new Date(now.getTime() + rt.settings.checkoutLeaseMs).toISOString(),
        data: json(paymentData),
        claim_events: null,
        request_digest: requestDigest(provider.id, paymentData),
        created_at: stamp,
        updated_at: stamp,
      }
      await insertPayment.execute(tx, payment)
      await markCompleting.execute(tx, { cartId, checkout: JSON.stringify(priced), updatedAt: stamp })
      // Plugins act atomically with the claim: use up a limit, pay part with a tender, or veto.
      await runClaimHooks(rt, tx, priced, payment)
      // What the gateway is asked for is a multiple of the provider's charge step; the order's total moves with it.
      await applyChargeRounding(tx, provider, priced, payment)
      if (rt.point) await rt.point('checkout.claim.planned', { cartId, paymentId: payment.id, tx })
      // Last: on PostgreSQL a popular variant's level row stays locked from here to the commit.
      await applyReservation(rt, tx, emit, plan)
      return { kind: 'authorize', payment, cart: priced }
    }, { idempotent: true })
  }

  /**
   * A key belongs to the cart and the payment provider of its first use: any other use is a
   * `CONFLICT`, so that a call is never answered with another cart's order, decline or payment.
   */
  #assertKeyOwner(payment: Pick<PaymentTable, 'cart_id' | 'provider' | 'request_digest'>, cartId: string, provider: PaymentProvider, data: Record<string, unknown>): void {
    if (payment.cart_id !== cartId) {
      throw new CommerceError('CONFLICT', 'This idempotency key was already used for another cart', { details: { cartId } })
    }
    if (payment.provider !== provider.id) {
      throw new CommerceError('CONFLICT', `This idempotency key was already used with payment provider ${payment.provider}`, {
        details: { cartId, provider: payment.provider },
      })
    }
    assertSameRequest(payment, provider.id, data)
  }

  /**
   * A pending payment whose lease has run out is taken over, by its own provider only; one still
   * leased is waited for. One waiting for the shopper is answered with its action.
   */
  async #resumeOrWait(tx: Tx, payment: PaymentTable, now: Date): Promise<Step> {
    switch (payment.status) {
      case 'declined':
        return { kind: 'declined', reason: payment.failure ?? 'declined' }
      case 'requires_action':
        return { kind: 'action', payment }
      case 'voided':
        // Given up after its customer action expired (an order's voided payment has its order).
        if (!payment.order_id) return { kind: 'declined', reason: payment.failure ?? 'voided' }
        return { kind: 'order', orderId: payment.order_id }
      case 'pending': {
        const leaseUntil = new Date(payment.lease_until ?? 0).getTime()
        if (leaseUntil > now.getTime()) return { kind: 'wait' }
        if (!this.#rt.payments.has(payment.provider)) {
          // Authorizing through another provider would charge twice or record the wrong gateway.
          throw new CommerceError(
            'INVALID_STATE',
            `A checkout of this cart is in flight with payment provider ${payment.provider}, which is not configured; configure it to finish that checkout`,
            { details: { cartId: payment.cart_id, paymentId: payment.id, provider: payment.provider } },
          )
        }
        const newLease = new Date(now.getTime() + this.#rt.settings.checkoutLeaseMs).toISOString()
        const taken = await tx
          .updateTable('cw_payments')
          .set({ lease_until: newLease })
          .where('id', '=', payment.id)
          .where('status', '=', 'pending')
          .where('lease_until', '=', payment.lease_until)
          .executeTakeFirst()
        if (Number(taken.numUpdatedRows) !== 1) return { kind: 'wait' }
        const cart = await tx.selectFrom('cw_carts').select('checkout').where('id', '=', payment.cart_id).executeTakeFirstOrThrow()
        return { kind: 'authorize', payment: { ...payment, lease_until: newLease }, cart: parseJson<Cart>(cart.checkout, null as never) }
      }
      default:
        if (!payment.order_id) return { kind: 'wait' }
        return { kind: 'order', orderId: payment.order_id }
    }
  }

  #assertReady(cart: Cart, lines: Array<{ product_status: string; unitPrice: number | null; variant_id: string }>): void {
    const problems: string[] = []
    if (cart.lines.length === 0) problems.push('the cart is empty')
    if (cart.pricingProblem !== null) problems.push(cart.pricingProblem)
    if (!cart.email) problems.push('an email is required')
    // Without shipping providers the shop sells nothing that ships (digital goods, pickup).
    const ships = this.#rt.shipping.length > 0
    if (ships && !cart.shippingAddress && cart.shippingMethod?.pickupLocationId === undefined) problems.push('a shipping address is required')
    if (ships && !cart.shippingMethod) problems.push('choose a shipping option (or the chosen one is no longer offered)')
    for (const line of lines) {
      if (line.product_status !== 'active') problems.push(`${line.variant_id} is no longer for sale`)
      if (line.unitPrice === null) problems.push(`${line.variant_id} has no ${cart.currency} price`)
    }
    if (problems.length) {
      throw new CommerceError('INVALID_STATE', `The cart cannot be checked out: ${problems.join('; ')}`, { details: { cartId: cart.id, problems } })
    }
  }

  /**
   * The shopper's return from their bank or wallet (3-D Secure, a redirect), by cart id or by the
   * payment id of an {@link ActionRequired}: finishes the checkout if the gateway has decided. The
   * gateway is asked (`retrieve`) where the provider can; else the answer waits for its webhook.
   * Returns the order (whoever placed it: this call, the webhook or recovery, exactly once), or the
   * same {@link ActionRequired} while the shopper has not confirmed; throws `PAYMENT_DECLINED` when
   * the payment failed or the attempt was given up after its deadline, `NOT_FOUND` for an unknown
   * cart or payment, `INVALID_STATE` for a cart with no checkout in progress.
   *
   * @example
   * ```ts
   * // The page the bank redirects the shopper back to:
   * async function returned(cartId: string) {
   *   const result = await commerce.checkout.confirm(cartId)
   *   if (result.status === 'requires_action') return { page: 'still-waiting', until: result.expiresAt }
   *   return { page: 'thank-you', order: result.number }
   * }
   * ```
   */
  async confirm(cartOrPaymentId: string): Promise<CheckoutResult> {
    const id = parseArg(fields.id, cartOrPaymentId, 'cartOrPaymentId')
    const rt = this.#rt
    const deadline = waitTime(rt.clock) + rt.settings.checkoutLeaseMs + 5_000
    let pause = 5
    for (;;) {
      const found = await read(rt, async (db) => {
        if (id.startsWith('pay_')) {
          const payment = await db.selectFrom('cw_payments').selectAll().where('id', '=', id).where('kind', '=', 'gateway').executeTakeFirst()
          return payment ? { payment } : null
        }
        const cart = await db.selectFrom('cw_carts').select(['status', 'order_id']).where('id', '=', id).executeTakeFirst()
        if (!cart) return null
        const payment = await db
          .selectFrom('cw_payments')
          .selectAll()
          .where('cart_id', '=', id)
          .where('kind', '=', 'gateway')
          .where('idempotency_key', 'not like', '%:late')
          .orderBy('created_at', 'desc')
          .limit(1)
          .executeTakeFirst()
        return { payment: payment ?? null }
      })
      if (!found) throw notFound(id.startsWith('pay_') ? 'Payment' : 'Cart', id)
      const payment = found.payment
      if (!payment) {
        throw new CommerceError('INVALID_STATE', 'No checkout of this cart is in progress: complete it first', { details: { cartId: id } })
      }
      let answer: CheckoutResult | null
      if (payment.order_id) {
        answer = (await read(rt, (db) => loadOrder(db, payment.order_id!)))!
      } else if (payment.status === 'pending') {
        if (new Date(payment.lease_until ?? 0).getTime() <= rt.now().getTime()) {
          // Its process died or lost the gateway's answer: resume it with its own key.
          return this.complete(payment.cart_id, { payment: { provider: payment.provider, data: parseJson(payment.data, {}) }, idempotencyKey: payment.idempotency_key })
        }
        answer = null
      } else if (payment.status === 'requires_action') {
        const provider = rt.payments.get(payment.provider)
        if (beingGivenUp(rt, payment)) answer = null
        else if (provider?.capabilities.retrieve && typeof provider.retrieve === 'function') {
          let status
          try {
            status = await provider.retrieve({ paymentId: payment.id, reference: payment.reference! })
          } catch (error) {
            throw new CommerceError('PAYMENT_FAILED', `Payment provider ${provider.id} could not be asked about the payment; retry: ${(error as Error)?.message ?? error}`, {
              cause: error,
              retryable: true,
              details: { cartId: payment.cart_id, paymentId: payment.id },
            })
          }
          answer = await answerSettled(rt, await completeAttempt(rt, payment.id, outcomeOfRetrieve(status)), payment.cart_id)
        } else answer = actionRequired(payment)
      } else {
        throw declinedError(payment.cart_id, payment.failure ?? payment.status)
      }
      if (answer) return answer
      if (waitTime(rt.clock) > deadline) {
        throw new CommerceError('CONFLICT', 'Another checkout of this cart is still in progress; retry shortly', { details: { cartId: payment.cart_id }, retryable: true })
      }
      await rt.clock.sleep(pause)
      pause = Math.min(pause * 2, 200)
    }
  }

  /**
   * Finishes checkouts left half-done: a pending payment whose lease ran out because its process
   * died, or whose gateway response was lost, is resumed with its original gateway key, so the
   * gateway replays its first answer; a payment whose shopper did not confirm before the deadline
   * (`customerActionTimeoutMs`) is given up — the gateway asked first where it can tell, what it
   * holds voided, the stock released — and gateway events kept because their payment was not known
   * yet are applied; staff-made drafts past their expiry release the stock they held (`drafts.expire`).
   * Each cart ends with an order, or with no order and its stock released after a decline. The
   * engine runs this on a timer (`CommerceOptions.recovery`); call it yourself when
   * that is off. It is safe to run in many processes.
   *
   * @example
   * ```ts
   * setInterval(() => commerce.checkout.recover().catch(console.error), 60_000)
   * ```
   */
  async recover(input: RecoverCheckoutsInput = {}): Promise<{ placed: number; declined: number; failed: number }> {
    const { limit } = parseInput(recoverSchema, input, 'recover')
    const rt = this.#rt
    // Only payments this engine can finish: one whose provider is not configured here would fail on
    // every run and, oldest first, crowd out the rest.
    // Staff-made drafts past their expiry give their held units back (see drafts).
    await expireDrafts(rt, limit)
    const providers = [...rt.payments.keys()]
    if (providers.length === 0) return { placed: 0, declined: 0, failed: 0 }
    const stale = await read(rt, (db) =>
      db
        .selectFrom('cw_payments')
        .select(['cart_id', 'idempotency_key', 'provider', 'data'])
        .where('status', '=', 'pending')
        .where('lease_until', '<=', rt.now().toISOString())
        .where('provider', 'in', providers)
        .orderBy('created_at')
        .limit(limit)
        .execute(),
    )
    const outcome = { placed: 0, declined: 0, failed: 0 }
    for (const payment of stale) {
      try {
        const result = await this.complete(payment.cart_id, { payment: { provider: payment.provider, data: parseJson(payment.data, {}) }, idempotencyKey: payment.idempotency_key })
        // A replayed answer may ask for the shopper: that attempt now waits for them.
        if (result.status !== 'requires_action') outcome.placed++
      } catch (error) {
        if (isCommerceError(error, 'PAYMENT_DECLINED')) outcome.declined++
        else outcome.failed++
      }
    }
    for (const payment of await expiredActions(rt, limit)) {
      const ended = await giveUpAction(rt, payment).catch(() => 'failed' as const)
      if (ended !== 'skipped') outcome[ended]++
    }
    await reconcileUnmatched(rt, limit)
    return outcome
  }

  /** The answer for a cart whose attempt was settled by someone else meanwhile. */
  async #answer(cartId: string): Promise<CheckoutResult> {
    const row = await read(this.#rt, (db) =>
      db.selectFrom('cw_payments').select('id').where('cart_id', '=', cartId).where('kind', '=', 'gateway').orderBy('created_at', 'desc').limit(1).executeTakeFirstOrThrow(),
    )
    const answer = await answerFor(this.#rt, row.id)
    if (answer) return answer
    throw new CommerceError('CONFLICT', 'Another checkout of this cart is still in progress; retry shortly', { details: { cartId }, retryable: true })
  }

  async #authorizeAndPlace(payment: PaymentTable, cart: Cart, provider: PaymentProvider): Promise<CheckoutResult> {
    const data = parseJson<Record<string, unknown>>(payment.data, {})
    const rt = this.#rt
    let result: AuthorizeResult
    if (payment.amount === 0) {
      result = { status: 'captured', reference: `free_${payment.id}` }
    } else {
      if (rt.point) await rt.point('checkout.authorize.before', { cartId: cart.id, paymentId: payment.id })
      try {
        // A gateway that hangs is given up when the lease runs out: the outcome is then unknown, and
        // recovery resends the same key (or asks the gateway).
        result = await answerWithin(
          rt,
          provider.authorize({
            paymentId: payment.id,
            idempotencyKey: payment.id,
            amount: payment.amount,
            currency: payment.currency,
            cartId: cart.id,
            email: cart.email,
            data,
          }),
        )
      } catch (error) {
        // Unknown outcome: let the next call resume at once with the same gateway key (unless one
        // already took the checkout over: its lease is not ours to end).
        await transact(rt, async (tx) => {
          await tx
            .updateTable('cw_payments')
            .set({ lease_until: rt.now().toISOString() })
            .where('id', '=', payment.id)
            .where('status', '=', 'pending')
            .where('lease_until', '=', payment.lease_until)
            .execute()
        }, { idempotent: true })
        throw new CommerceError('PAYMENT_FAILED', `Payment provider ${provider.id} failed; retry the checkout: ${(error as Error)?.message ?? error}`, {
          cause: error,
          retryable: true,
          details: { cartId: cart.id, paymentId: payment.id },
        })
      }
      if (rt.point) await rt.point('checkout.authorize.answered', { cartId: cart.id, paymentId: payment.id, status: result.status })
    }
    if (result.status === 'declined') {
      assertTransition('pending', 'declined', { paymentId: payment.id })
      await transact(rt, (tx, emit) => declineAttempt(rt, tx, emit, payment, result.reason), { idempotent: true })
      throw declinedError(cart.id, result.reason)
    }
    if (result.status === 'requires_action') {
      checkActionAnswer(provider, result)
      // The shopper confirms with their bank; the gateway's webhook or checkout.confirm finishes it.
      const answer = await awaitCustomerAction(rt, payment, result)
      if (answer) return answer
      return this.#answer(cart.id)
    }
    // Outside the transaction: a checkout.risk hook may ask a fraud service whether to hold the order.
    const hold = await assessCheckoutRisk(rt, cart, payment, result)
    const placement = await transact(rt, (tx, emit) => placeOrder(rt, tx, emit, payment, cart, result, hold), { idempotent: true })
    if (placement.kind === 'placed') {
      // Webhooks that came before this answer was stored are applied now; the order as they left it.
      if (!(await reconcileReference(rt, provider.id, result.reference))) return placement.order
      return { ...(await read(rt, (db) => loadOrder(db, placement.order.id)))!, accessToken: placement.order.accessToken }
    }
    if (placement.kind === 'exists') return (await read(rt, (db) => loadOrder(db, placement.orderId)))!
    throw declinedError(cart.id, placement.reason)
  }
}

/**
 * The gateway's answer, or an error once the checkout's lease has run out without one (another
 * caller or recovery may take the attempt over from then on). The timer is a background sleep of
 * the engine's clock, cancelled as soon as the gateway answers.
 */
async function answerWithin<T>(rt: Runtime, call: Promise<T>): Promise<T> {
  const ms = rt.settings.checkoutLeaseMs
  return within(rt.clock, ms, call, () => new Error(`the gateway did not answer within ${ms} ms`))
}

/** What the gateway said that lets an order be placed. */
export interface Approval {
  status: 'authorized' | 'captured'
  reference: string
  /** Provider data to keep with the payment. */
  data?: Record<string, unknown>
}

/**
 * What placement came to: the order it placed (with its access token, for this caller only), the
 * order placed before, or the attempt already closed without an order (declined, or given up).
 */
export type Placement = { kind: 'placed'; order: Order } | { kind: 'exists'; orderId: string } | { kind: 'closed'; status: string; reason: string }

/**
 * @internal Places the order of a checkout attempt whose payment (`pending` or `requires_action`)
 * the gateway approved, in the caller's transaction: order, lines, adjustments, reservations tied to
 * it, the payment settled (a capture at authorization recorded as its first capture operation), the
 * claim's tenders captured, the cart completed, events, and the `checkout.place` hooks. `cart` is
 * the priced cart the claim snapshotted; `hold` what the `checkout.risk` hooks asked (run before the
 * transaction). Checkout's own authorization, `checkout.confirm`, webhooks and recovery all place
 * orders here (see payment-completion.ts).
 */
export async function placeOrder(
  rt: Runtime,
  tx: Tx,
  emit: Emit,
  payment: PaymentTable,
  cart: Cart,
  result: Approval,
  hold: { reason: string } | null,
): Promise<Placement> {
  const current = await (rt.storage.capabilities.rowLocks ? paymentStateForUpdate : paymentState).first(tx, { paymentId: payment.id })
  if (!current) throw new Error(`payment ${payment.id} is gone`)
  // "Order exists" is decided here, under the payment's lock: whoever comes second finds the first's order.
  if (current.order_id) return { kind: 'exists', orderId: current.order_id }
  if (current.status !== 'pending' && current.status !== 'requires_action') {
    return { kind: 'closed', status: current.status, reason: current.failure ?? current.status }
  }
  if (rt.point) await rt.point('checkout.place.before', { cartId: cart.id, paymentId: payment.id, tx })
  const now = rt.now().toISOString()
  const number = await nextOrderNumber(rt, tx)
  const order: OrderTable = {
    id: rt.ids('order'),
    number,
    cart_id: cart.id,
    currency: cart.currency,
    status: 'placed',
    // With tenders (always captured at placement) the order's money is partly or wholly captured.
    payment_status:
      payment.amount < cart.totals.total
        ? orderPaymentStatus([
            { status: result.status, authorized_amount: payment.amount, captured_amount: result.status === 'captured' ? payment.amount : 0, refunded_amount: 0 },
            { status: 'captured', authorized_amount: cart.totals.total - payment.amount, captured_amount: cart.totals.total - payment.amount, refunded_amount: 0 },
          ])
        : result.status,
    fulfillment_status: 'unfulfilled',
    email: cart.email!,
    customer_id: cart.customerId,
    channel_id: cart.channelId,
    shipping_address: json(cart.shippingAddress),
    billing_address: json(cart.billingAddress ?? cart.shippingAddress),
    shipping_method: json(cart.shippingMethod),
    // Without tax, so the column check holds in either convention; with tax beside them (migration 0016).
    subtotal: cart.totals.net.subtotal,
    discount_total: cart.totals.net.discountTotal,
    shipping_total: cart.totals.net.shippingTotal,
    tax_total: cart.totals.taxTotal,
    tax_inclusive: cart.totals.taxInclusive ? 1 : 0,
    gross_subtotal: cart.totals.gross.subtotal,
    gross_discount_total: cart.totals.gross.discountTotal,
    gross_shipping_total: cart.totals.gross.shippingTotal,
    shipping_tax_lines: cart.shippingTaxLines.length ? json(cart.shippingTaxLines) : null,
    // The column keeps the sum of the parts (its check); the rounding to the charge step is beside it.
    total: cart.totals.total - (cart.totals.rounding ?? 0),
    rounding_total: cart.totals.rounding ?? 0,
    metadata: null,
    created_at: now,
    updated_at: now,
    canceled_at: null,
    access_token_hash: null,
    ...holdColumns(hold, now),
  }
  const accessToken = attachAccessToken('order', order, rt.secretBytes)
  const beyond = await beyondStockOf(tx, cart.id)
  const lines: OrderLineTable[] = cart.lines.map((l, position) => ({
    id: rt.ids('oline'),
    order_id: order.id,
    variant_id: l.variantId,
    product_id: l.productId,
    sku: l.sku,
    title: l.title,
    variant_title: l.variantTitle,
    quantity: l.quantity,
    unit_price: l.unitPrice,
    subtotal: l.subtotal,
    discount_total: l.discountTotal,
    tax_total: l.taxTotal,
    total: l.total,
    tax_inclusive: l.taxInclusive ? 1 : 0,
    tax_class: l.taxClass,
    tax_lines: l.taxLines.length ? json(l.taxLines) : null,
    net_subtotal: l.net.subtotal,
    net_discount_total: l.net.discountTotal,
    gross_subtotal: l.gross.subtotal,
    gross_discount_total: l.gross.discountTotal,
    position,
    beyond_stock: beyond.get(l.variantId)?.quantity ?? 0,
    stock_policy: beyond.get(l.variantId)?.policy ?? null,
    available_at: beyond.get(l.variantId)?.availableAt ?? null,
    // A draft's line whose price staff set keeps it (see drafts). Always a key: the insert is compiled once.
    price_override: l.priceOverride ? json(l.priceOverride) : null,
  }))
  await insertOrder.execute(tx, order)
  await insertOrderLines.execute(tx, { lines })
  const adjustments = await insertOrderAdjustments(rt, tx, order.id, cart, lines)
  await attachReservations.execute(tx, { cartId: cart.id, orderId: order.id })
  const paid: PaymentTable = {
    ...payment,
    order_id: order.id,
    status: result.status,
    authorized_amount: payment.amount,
    captured_amount: result.status === 'captured' ? payment.amount : 0,
    reference: result.reference,
    lease_until: null,
    updated_at: now,
  }
  assertTransition(current.status as PaymentStatus, paid.status as PaymentStatus, { paymentId: payment.id })
  const settled = await settlePayment.affected(tx, {
    from: current.status,
    id: payment.id,
    order_id: paid.order_id,
    status: paid.status,
    authorized_amount: paid.authorized_amount,
    captured_amount: paid.captured_amount,
    reference: paid.reference,
    data: result.data ? json({ ...parseJson(payment.data, {}), ...result.data }) : payment.data,
    updatedAt: now,
  })
  if (settled !== 1) throw await paymentChanged(tx, { id: payment.id, status: current.status }, paid.status as PaymentStatus)
  await completeCart.execute(tx, { cartId: cart.id, orderId: order.id, updatedAt: now })
  // Captured at authorization: recorded as the payment's first capture, so every captured amount has its operation.
  if (result.status === 'captured' && paid.captured_amount > 0) {
    await insertOperation(rt, tx, paid, { id: `pop_${payment.id.slice(4)}`, kind: 'capture', amount: paid.captured_amount, key: `${payment.id}:authorize`, reason: null }, {
      status: 'succeeded',
      reference: result.reference,
    })
  }
  const tenders = await placeTenders(rt, tx, payment, cart, order.id, now)
  // The order is what this transaction wrote: this payment and the claim's tenders.
  const placed = toOrder(order, lines, [paid, ...tenders], adjustments)
  emit('payment.authorized', { payment: toPayment(paid) })
  if (result.status === 'captured') emit('payment.captured', { payment: toPayment(paid), amount: paid.captured_amount, operationId: null })
  for (const tender of tenders) emit('payment.captured', { payment: toPayment(tender), amount: tender.captured_amount, operationId: `pop_${tender.id.slice(4)}` })
  emit('order.placed', { order: placed })
  if (hold) emit('order.held', heldEvent(placed, hold.reason))
  await runPlaceHooks(rt, tx, emit, payment, placed, cart)
  // The token goes to this caller only: not into the event above, nor anywhere stored.
  return { kind: 'placed', order: { ...placed, accessToken } }
}

/**
 * @internal Closes a checkout attempt without an order in the caller's transaction, if it is still
 * open (`pending` or `requires_action`): the payment becomes `status` (`declined`, or `voided` when
 * the gateway released what it held), the stock and the claim are released (`checkout.release`
 * with reason `declined`), the cart is open again and `payment.declined` is announced. Returns
 * false when the attempt was no longer open.
 */
export async function declineAttempt(
  rt: Runtime,
  tx: Tx,
  emit: Emit,
  payment: Pick<PaymentTable, 'id' | 'cart_id'>,
  reason: string,
  status: 'declined' | 'voided' = 'declined',
): Promise<boolean> {
  // The payment state machine closes an attempt from either status the update below accepts.
  for (const from of ['pending', 'requires_action'] as const) assertTransition(from, status, { paymentId: payment.id })
  const updated = await tx
    .updateTable('cw_payments')
    .set({ status, failure: reason.slice(0, 500), updated_at: rt.now().toISOString(), lease_until: null })
    .where('id', '=', payment.id)
    .where('status', 'in', ['pending', 'requires_action'])
    .executeTakeFirst()
  if (Number(updated.numUpdatedRows) !== 1) return false
  await releaseStock(rt, tx, { cartId: payment.cart_id })
  await releaseClaim(rt, tx, emit, { cartId: payment.cart_id, paymentId: payment.id, orderId: null, reason: 'declined' })
  await tx.updateTable('cw_carts').set({ status: 'open', checkout: null, updated_at: rt.now().toISOString() }).where('id', '=', payment.cart_id).execute()
  emit('payment.declined', { cartId: payment.cart_id, paymentId: payment.id, reason })
  return true
}

/** The next human order number: a sequence on PostgreSQL, a counter row on SQLite (single writer). */
async function nextOrderNumber(rt: Runtime, tx: Tx): Promise<number> {
  const row = rt.storage.capabilities.sequences
    ? await nextOrderNumberFromSequence.first(tx, {})
    : await nextOrderNumberFromCounter.first(tx, {})
  if (!row) throw new Error('no order number: the order_number counter row is missing')
  return Number(row.value)
}
