import type { CommerceMigration } from '../db/migrations.js'
import type { CommerceEventName, EventBus, StoredEvent } from '../events.js'
import type { HookRegistry } from '../hooks.js'
import type { PaymentCapabilities } from './payment-provider.js'
import type { StorageCapabilities } from './storage-adapter.js'

/** Passed to a durable subscriber with each delivery. */
export interface DeliveryContext {
  /** 1 on the first delivery, then 2, 3… on retries. */
  attempt: number
  /** The subscriber's id, for logs. */
  subscriber: string
}

/**
 * A subscriber the outbox delivers to at least once, after commit, with retry and backoff.
 * Deliveries can repeat (a process dies mid-delivery): use `event.id` as a dedup key for
 * side effects that must happen once.
 *
 * @example
 * ```ts
 * export function orderConfirmation(mailer: { send(dedupKey: string, to: string): Promise<void> }): DurableSubscriber {
 *   return {
 *     id: 'order-confirmation-email',
 *     events: ['order.placed'],
 *     async handle(event) {
 *       // Checking `type` narrows `payload`; the event id makes a repeated delivery send once.
 *       if (event.type === 'order.placed') await mailer.send(event.id, event.payload.order.email)
 *     },
 *   }
 * }
 * ```
 */
export interface DurableSubscriber {
  /** Stable id; deliveries are recorded per (event, subscriber). Changing it starts afresh. */
  readonly id: string
  /** Event types to receive, or `'*'` for all. */
  readonly events: readonly CommerceEventName[] | '*'
  handle(event: StoredEvent, context: DeliveryContext): Promise<void> | void
}

/** What a plugin's `setup` receives: the engine's extension points. */
export interface PluginContext {
  hooks: HookRegistry
  events: EventBus
}

/**
 * A feature plugin: a plain object with a literal id, usually made by an options-taking factory.
 *
 * @example
 * ```ts
 * export function maxFivePerLine(): Plugin {
 *   return {
 *     id: 'max-five-per-line',
 *     setup({ hooks }) {
 *       hooks.hook('cart.beforeAddItem', ({ cart, variantId, quantity }) => {
 *         // `quantity` is the number being added: add what the line already holds.
 *         const line = cart.lines.find((l) => l.variantId === variantId)
 *         if ((line?.quantity ?? 0) + quantity > 5) throw new CommerceError('VETOED', 'At most 5 per line')
 *       })
 *     },
 *   }
 * }
 * ```
 */
export interface Plugin {
  readonly id: string
  /** Schema migrations for tables the plugin owns; run by `createCommerce` after core's. */
  readonly migrations?: Record<string, CommerceMigration>
  /** Durable subscribers the outbox delivers to. */
  readonly subscribers?: readonly DurableSubscriber[]
  /**
   * What the plugin needs from the providers it is composed with. `createCommerce` refuses to
   * start, naming what is missing, when any configured payment provider (or the storage
   * adapter) lacks a required capability; see {@link PluginRequirements}.
   */
  readonly requires?: PluginRequirements
  /** Registers hooks and listeners. Called once by `createCommerce`. */
  setup?(context: PluginContext): void | Promise<void>
}

/** Capabilities a plugin needs; checked by `createCommerce`. */
export interface PluginRequirements {
  /** Every configured payment provider must offer these (e.g. `['refund']` for a returns plugin). */
  paymentCapabilities?: Array<keyof PaymentCapabilities>
  /** The storage adapter must offer these. */
  storageCapabilities?: Array<keyof StorageCapabilities>
  /** At least one shipping provider must be configured. */
  shipping?: boolean
}
