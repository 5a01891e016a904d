import mitt, { type Emitter } from 'mitt'
import type { Order, Payment, PaymentDispute, PaymentOperation } from './types.js'

/**
 * Every event Cartwright emits, by name. Payloads are plain JSON: the same object is
 * given to in-process listeners and written to the outbox for durable subscribers.
 */
export interface CommerceEvents {
  'product.created': { productId: string; handle: string }
  'product.updated': { productId: string }
  /** Deleted for good by `catalog.deleteProduct` (no order or cart referred to it). */
  'product.deleted': { productId: string; handle: string }
  /** Archived by `catalog.deleteProduct` instead of deleted, because orders or carts refer to it. */
  'product.archived': { productId: string; reason: 'orders' | 'carts' }
  'category.created': { categoryId: string; handle: string; parentId: string | null }
  'category.updated': { categoryId: string }
  /** Moved under another parent or to another position among its siblings. */
  'category.moved': { categoryId: string; parentId: string | null; position: number }
  'category.deleted': { categoryId: string }
  'collection.created': { collectionId: string; handle: string }
  /** Its texts, handle, rules or products changed. */
  'collection.updated': { collectionId: string }
  'collection.deleted': { collectionId: string }
  'channel.created': { channelId: string; code: string }
  /** Its settings or its published products changed. */
  'channel.updated': { channelId: string }
  'inventory.adjusted': { variantId: string; locationId: string; onHand: number; available: number }
  'inventory.low_stock': { variantId: string; locationId: string; available: number; threshold: number }
  'cart.created': { cartId: string; currency: string }
  'cart.item_added': { cartId: string; variantId: string; quantity: number }
  'cart.item_updated': { cartId: string; lineId: string; quantity: number }
  'cart.item_removed': { cartId: string; lineId: string }
  'cart.updated': { cartId: string }
  /** Staff opened a draft (`drafts.create`); `cart.created` is emitted too. */
  'draft.created': { draftId: string; createdBy: string; channelId: string | null; expiresAt: string }
  /** Staff set a line's unit price (`drafts.overridePrice`); the reason is kept on the line. */
  'draft.price_overridden': { draftId: string; lineId: string; variantId: string; unitPrice: number; from: number | null; by: string }
  /** The draft's units are held until `expiresAt` (`drafts.reserve`, `drafts.paymentLink`). */
  'draft.reserved': { draftId: string; expiresAt: string }
  /** A payment link was made for the draft (the token is never in an event). */
  'draft.payment_link_created': { draftId: string; expiresAt: string }
  /** The draft passed its expiry: its held units were released. */
  'draft.expired': { draftId: string; releasedReservations: number }
  /** Staff discarded the draft: its held units were released. */
  'draft.discarded': { draftId: string }
  'order.placed': { order: Order }
  'order.canceled': { orderId: string; number: number; reason: string | null }
  /** A guest's orders were attached to the customer who verified their email (`orders.assignCustomer`). */
  'order.customer_assigned': { customerId: string; orderIds: string[] }
  'order.fulfilled': { orderId: string; number: number }
  /** Fulfilled with its payment captured. */
  'order.completed': { orderId: string; number: number }
  /** Held for review (a `checkout.risk` hook when it was placed, or staff): its payment is not captured until it is released. */
  'order.held': { orderId: string; number: number; reason: string }
  /** Released from review by staff (`orders.release`): its payment can be captured and the order fulfilled. */
  'order.released': { orderId: string; number: number }
  'payment.authorized': { payment: Payment }
  /** `amount` was captured now; `operationId` is null for a capture at authorization. */
  'payment.captured': { payment: Payment; amount: number; operationId: string | null }
  'payment.voided': { payment: Payment; operationId: string }
  'payment.refunded': { payment: Payment; amount: number; operationId: string }
  'payment.declined': { cartId: string; paymentId: string; reason: string }
  /** The gateway refused a capture, void or refund; nothing moved. */
  'payment.operation_failed': { operation: PaymentOperation }
  /** The gateway reported a dispute (chargeback) on a payment (`payments.handleWebhook`). */
  'payment.dispute_opened': { payment: Payment; dispute: PaymentDispute }
  /** The gateway reported a dispute on a payment closed; `dispute.reason` is its outcome when the gateway says. */
  'payment.dispute_closed': { payment: Payment; dispute: PaymentDispute }
  /** An image was added to a product, or to one of its variants (`commerce.media.add`). */
  'media.added': { mediaId: string; productId: string; variantId: string | null }
  /** An image was removed (`commerce.media.remove`); a file the engine stored is deleted from the `MediaStore` after. */
  'media.removed': { mediaId: string; productId: string; variantId: string | null }
}

export type CommerceEventName = keyof CommerceEvents

/** Event payloads by event name: core's {@link CommerceEvents}, plus those of the plugins composed. */
export type EventMap = object

/**
 * An event as stored in the outbox, for any event map: a union over event names, so checking
 * `type` narrows `payload`.
 */
export type EventEnvelope<E extends EventMap, K extends keyof E & string = keyof E & string> = {
  [T in K]: {
    /** Unique event id: the dedup key for subscribers. */
    id: string
    type: T
    payload: E[T]
    createdAt: string
  }
}[K]

/**
 * An event as stored in the outbox and handed to durable subscribers. A union over event
 * names: checking `type` narrows `payload`.
 *
 * @example
 * ```ts
 * function describe(event: StoredEvent): string {
 *   if (event.type === 'order.placed') return `order ${event.payload.order.number}`
 *   if (event.type === 'payment.refunded') return `refund of ${event.payload.amount}`
 *   return event.type
 * }
 * ```
 */
export type StoredEvent<K extends CommerceEventName = CommerceEventName> = EventEnvelope<CommerceEvents, K>

/** Called with an error a listener threw; the emitting operation has already succeeded. */
export type ListenerErrorHandler = (error: unknown, context: { event: string; listener: 'event' | 'subscriber' }) => void

type AnyHandler = (payload: any) => unknown

/**
 * After-commit notifications. Listeners run after the change they announce is committed;
 * a listener that throws (or rejects) is reported to `onListenerError` and never fails the operation.
 *
 * @example
 * ```ts
 * const off = commerce.events.on('order.placed', ({ order }) => console.log('placed', order.number))
 * off() // unsubscribe
 * ```
 */
export class EventBus<E extends EventMap = CommerceEvents> {
  readonly #emitter: Emitter<Record<string, unknown>> = mitt()
  /** Wrappers by event type, then by the caller's handler: one function may listen to several events, or twice to one. */
  readonly #wrapped = new Map<string, Map<AnyHandler, AnyHandler[]>>()
  readonly #onError: ListenerErrorHandler

  constructor(onError: ListenerErrorHandler) {
    this.#onError = onError
  }

  /**
   * Listens to one event type. Returns a function that removes the listener.
   *
   * @example
   * ```ts
   * const off = commerce.events.on('payment.captured', ({ payment }) => logger.info('captured', payment.id))
   * ```
   */
  on<K extends keyof E & string>(type: K, handler: (payload: E[K]) => unknown): () => void {
    const wrapped: AnyHandler = (payload) => {
      try {
        const result = handler(payload)
        if (result && typeof (result as Promise<unknown>).then === 'function') {
          ;(result as Promise<unknown>).then(undefined, (error) => this.#onError(error, { event: type, listener: 'event' }))
        }
      } catch (error) {
        this.#onError(error, { event: type, listener: 'event' })
      }
    }
    const byHandler = this.#wrapped.get(type) ?? new Map<AnyHandler, AnyHandler[]>()
    this.#wrapped.set(type, byHandler)
    byHandler.set(handler as AnyHandler, [...(byHandler.get(handler as AnyHandler) ?? []), wrapped])
    this.#emitter.on(type, wrapped)
    return () => {
      const list = byHandler.get(handler as AnyHandler)
      if (!list?.includes(wrapped)) return
      this.#emitter.off(type, wrapped)
      const rest = list.filter((w) => w !== wrapped)
      if (rest.length) byHandler.set(handler as AnyHandler, rest)
      else byHandler.delete(handler as AnyHandler)
    }
  }

  /** Removes a listener added with {@link EventBus.on} for `type` (every time it was added for that type). */
  off<K extends keyof E & string>(type: K, handler: (payload: E[K]) => unknown): void {
    const byHandler = this.#wrapped.get(type)
    for (const wrapped of byHandler?.get(handler as AnyHandler) ?? []) this.#emitter.off(type, wrapped)
    byHandler?.delete(handler as AnyHandler)
  }

  /** @internal Delivers committed events to in-process listeners. */
  emitCommitted(events: ReadonlyArray<{ type: string; payload: unknown }>): void {
    for (const event of events) this.#emitter.emit(event.type, event.payload)
  }
}
