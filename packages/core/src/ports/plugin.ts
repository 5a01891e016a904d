import type { Kysely, Transaction } from 'kysely'
import type { z } from 'zod'
import type { Clock } from '../clock.js'
import type { CommerceMigration } from '../db/migrations.js'
import type { CommerceEvents, EventBus, EventEnvelope, EventMap } from '../events.js'
import type { HookRegistry, PluginHooks } from '../hooks.js'
import type { PaymentCapabilities, PaymentProvider } from './payment-provider.js'
import type { ShippingProvider } from './shipping-provider.js'
import type { StorageAdapter, StorageCapabilities } from './storage-adapter.js'
import type { TaxProvider } from './tax-provider.js'
import type { Actor, Endpoint } from './endpoint.js'
import type { PriceAnswer, PriceQuery } from '../services/price-resolution.js'

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
 * side effects that must happen once. `E` is the event map it can receive: core's by default;
 * a plugin's subscribers also receive the plugin's own events.
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
export interface DurableSubscriber<E extends EventMap = CommerceEvents> {
  /** Stable id; deliveries are recorded per (event, subscriber). Changing it starts afresh. */
  readonly id: string
  /** Event types to receive, or `'*'` for all. */
  readonly events: ReadonlyArray<keyof E & string> | '*'
  handle(event: EventEnvelope<E>, context: DeliveryContext): Promise<void> | void
}

/** What a plugin's `setup` receives: the engine's hooks and after-commit events. */
export interface PluginSetupContext {
  hooks: HookRegistry
  events: EventBus
}

/** @deprecated Renamed {@link PluginSetupContext}; `init` receives the fuller {@link PluginContext}. */
export type LegacyPluginContext = PluginSetupContext

/** zod schemas of a plugin's own events, by event name. */
export type EventSchemas = Record<string, z.ZodType>

/** The payload types of a plugin's events, from their schemas. */
export type EventsOf<S extends EventSchemas> = { [K in keyof S & string]: z.output<S[K]> }

/** A plugin's own error codes with what each means; see {@link Plugin.errorCodes}. */
export type ErrorCodeTable<Code extends string> = { readonly [C in Code]: { readonly description: string } }

/**
 * Events a plugin emits inside a transaction: validated against the plugin's schemas, then written
 * to the outbox in that transaction, so they exist exactly when the change they announce does.
 */
export type PluginEmit<Ev extends EventMap> = <K extends keyof Ev & string>(type: K, payload: Ev[K]) => void

/**
 * A running transaction as a plugin sees it: the database narrowed to the plugin's own tables (the
 * types hide core's, and a guard, on by default, refuses writes to any other table), and an
 * `emit` for the plugin's events into the same outbox transaction.
 */
export interface PluginTx<DB = {}, Ev extends EventMap = {}> {
  /** Core's transaction, narrowed to the plugin's tables: same connection, same commit. */
  readonly db: Transaction<DB>
  /** Announces one of the plugin's events; written to the outbox only if this transaction commits. */
  readonly emit: PluginEmit<Ev>
  /**
   * Marks a cart changed (its `version` moves), so a checkout that priced it before this
   * transaction prices it again: call it after writing something that changes the cart's price,
   * such as an applied coupon.
   */
  touchCart(cartId: string): Promise<void>
}

/**
 * What a plugin contributes to a customer's data export, and how it erases what it holds.
 * `commerce.privacy.export(subject)` and `commerce.privacy.erase(subject)` call every plugin's.
 */
export interface PrivacyContribution<DB = {}> {
  /** The plugin's data about the subject, as plain JSON; omitted from the export when undefined. */
  export?(subject: PrivacySubject, db: Kysely<DB>): Promise<unknown> | unknown
  /** Erases or anonymizes what the plugin holds about the subject, inside the erase transaction. */
  erase?(subject: PrivacySubject, tx: PluginTx<DB, any>): Promise<void> | void
}

/** Whose data a privacy request concerns: an email, a customer id, or both. */
export interface PrivacySubject {
  email: string | null
  customerId: string | null
}

/**
 * What a plugin's `init` receives: the engine, its hooks, a database handle over the plugin's
 * own tables, a transaction runner, the clock and id generation.
 */
export interface PluginContext<DB = {}, Ev extends EventMap = {}, Code extends string = never> {
  /** The plugin's id. */
  readonly id: string
  /**
   * The engine, with core's services and the services of the plugins this one `dependsOn`. Never
   * call it from inside a transactional hook: that is refused with `INVALID_STATE` (it would wait
   * for the very transaction the hook runs in).
   */
  readonly commerce: CoreCommerceView
  /** Hooks, including the transactional ones that receive a {@link PluginTx}. */
  readonly hooks: PluginHooks<DB, Ev>
  /** After-commit, in-process events (core's and every plugin's). */
  readonly events: EventBus<CommerceEvents & Ev>
  /** The database narrowed to the plugin's tables, outside any transaction (reads, and writes that need no outbox). */
  readonly db: Kysely<DB>
  /**
   * Runs `work` in one write transaction with retries on busy/deadlock and the outbox: the plugin's
   * events emitted in it are written exactly when it commits.
   */
  transaction<T>(work: (tx: PluginTx<DB, Ev>) => Promise<T>): Promise<T>
  /** The engine's clock (`CommerceOptions.clock`): waits and jitter in a plugin use it, so seeded runs replay. */
  readonly clock: Clock
  /** The engine's clock's current instant. */
  now(): Date
  /** A new id with the engine's generator (`CommerceOptions.ids`), e.g. `newId('cpn')`. */
  newId(prefix: string): string
  /** A `CommerceError` with one of this plugin's own codes. */
  error(code: Code, message: string, options?: { details?: Record<string, unknown>; retryable?: boolean; cause?: unknown }): Error
  /** Adds a price source (see `PriceSource`); its `db` is narrowed to the plugin's tables. */
  priceSource(source: PluginPriceSource<DB>): void
  /** Adds to privacy export and erase. */
  privacy(contribution: PrivacyContribution<DB>): void
}

/**
 * A price source contributed by a plugin: like `PriceSource`, with `db` narrowed to the plugin's
 * tables. No network calls: it may run inside a write transaction.
 */
export interface PluginPriceSource<DB = {}> {
  readonly id: string
  /** Higher wins; core's base and tier prices are priority 0. */
  readonly priority: number
  resolve(query: PriceQuery, db: Kysely<DB>): Promise<Array<PriceAnswer | undefined>> | Array<PriceAnswer | undefined>
}

/** The core part of an engine, as plugins see it (the full type is `Commerce`). */
export type CoreCommerceView = import('../engine.js').CoreCommerce

/**
 * A feature plugin: a plain object with a literal id, usually made by an options-taking factory
 * and written with {@link definePlugin} so its types are inferred. The type parameters are what
 * the engine's type learns from it: `Id` and `Service` make `commerce[id]`, `Events` types
 * `commerce.events.on(...)`, `DB` types its tables, `Code` its error codes.
 *
 * @example
 * ```ts
 * export function maxFivePerLine() {
 *   return definePlugin({
 *     id: 'max-five-per-line',
 *     init({ hooks }) {
 *       hooks.hook('cart.beforeAddItem', ({ cart, variantId, quantity }) => {
 *         // `quantity` is the number being added: add what the line already holds.
 *         const line = cart.lines.find((l) => l.variantId === variantId)
 *         if ((line?.quantity ?? 0) + quantity > 5) throw new CommerceError('VETOED', 'At most 5 per line')
 *       })
 *     },
 *   })
 * }
 * ```
 */
export interface Plugin<
  Id extends string = string,
  Service = unknown,
  Events extends EventSchemas = {},
  DB = {},
  Code extends string = never,
> {
  readonly id: Id
  /** Plugins this one needs; checked by `createCommerce`, which sets plugins up in dependency order. */
  readonly dependsOn?: readonly string[]
  /**
   * Schema migrations for tables the plugin owns, run by `createCommerce` after core's, in
   * dependency order. A plugin owns the tables whose names start with its table prefix: its id in
   * lower case with every other character as `_`, then `_` (`gift-cards` owns `gift_cards_*`).
   */
  readonly migrations?: Record<string, CommerceMigration>
  /** The plugin's own events, by name, with zod schemas: payloads are validated before the outbox write. */
  readonly events?: Events
  /** The plugin's own error codes (UPPER_SNAKE, distinct from core's and other plugins'). */
  readonly errorCodes?: ErrorCodeTable<Code>
  /** Durable subscribers the outbox delivers to (core's events and this plugin's). */
  readonly subscribers?: ReadonlyArray<DurableSubscriber<CommerceEvents & EventsOf<Events>>>
  /** Payment providers the plugin contributes (a gift card's tender provider, a gateway adapter). */
  readonly payments?: readonly PaymentProvider[]
  /** Shipping providers the plugin contributes. */
  readonly shipping?: readonly ShippingProvider[]
  /** A tax provider; at most one in a composition (`CommerceOptions.tax` or one plugin's). */
  readonly tax?: TaxProvider
  /** Store and Admin routes, described as data; the HTTP package mounts them and lists them in OpenAPI. */
  readonly endpoints?: readonly Endpoint[]
  /**
   * Turns a session token (from a `Bearer` header or the session cookie) into the caller, for the
   * HTTP layer's `access: 'customer'`: `null` when the token opens nothing; never throws for a bad
   * token. `commerce` is the composed engine.
   *
   * @example
   * ```ts
   * const sessions = definePlugin({
   *   id: 'sessions',
   *   async resolveActor({ sessionToken }) {
   *     return sessionToken === 'let-me-in' ? { kind: 'customer', customerId: 'cus_1' } : null
   *   },
   * })
   * ```
   */
  resolveActor?(credentials: { sessionToken: string }, commerce: any): Promise<Actor | null>
  /**
   * What the plugin needs from the providers it is composed with. `createCommerce` refuses to
   * start, naming what is missing, when any configured payment provider (or the storage
   * adapter) lacks a required capability; see {@link PluginRequirements}.
   */
  readonly requires?: PluginRequirements
  /**
   * Sets the plugin up once the engine's services exist and returns its service, reachable as
   * `commerce[id]`. Called by `createCommerce` in dependency order.
   */
  init?(context: PluginContext<DB, EventsOf<Events>, Code>): Service | Promise<Service>
  /** The smaller, older form of `init`: registers hooks and listeners; returns nothing. */
  setup?(context: PluginSetupContext): void | Promise<void>
}

/** Any plugin, whatever its types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlugin = Omit<Plugin<string, any, any, any, any>, 'subscribers' | 'init'> & {
  readonly subscribers?: ReadonlyArray<DurableSubscriber<any>>
  init?(context: any): any
}

/**
 * Writes a plugin with its types inferred: the literal id, the event payloads from their schemas,
 * and the service from what `init` returns. Annotate `init`'s context as `PluginContext<MyTables,
 * …>` to type the plugin's database handle.
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 *
 * export function visits() {
 *   let count = 0
 *   return definePlugin({
 *     id: 'visits',
 *     events: { 'visits.counted': z.object({ count: z.number() }) },
 *     init() {
 *       return { count: () => ++count }
 *     },
 *   })
 * }
 * // const commerce = await createCommerce({ storage, plugins: [visits()] })
 * // commerce.visits.count() is typed
 * ```
 */
export function definePlugin<
  const Id extends string,
  Service = undefined,
  const Events extends EventSchemas = {},
  DB = {},
  const Code extends string = never,
>(plugin: Plugin<Id, Service, Events, DB, Code>): Plugin<Id, Service, Events, DB, Code> {
  return plugin
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

/** @internal The storage adapter, for the plugin runner. */
export type PluginStorage = StorageAdapter
