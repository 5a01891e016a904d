import { Kysely } from 'kysely'
import { z } from 'zod'
import { CommerceError } from './errors.js'
import { clockFrom, type Clock } from './clock.js'
import { checkedIds, newId, type IdGenerator } from './ids.js'
import { EventBus, type CommerceEvents, type EventMap, type ListenerErrorHandler } from './events.js'
import type { CommerceErrorCode } from './errors.js'
import type { ActorResolver, Endpoint } from './ports/endpoint.js'
import type { AnyPlugin, EventSchemas, EventsOf } from './ports/plugin.js'
import { RefuseInsideHook, errorCodesOf, eventSchemasOf, orderPlugins, pluginContext, type PluginRecord } from './plugins.js'
import { HookRegistry } from './hooks.js'
import type { CoreDatabase } from './db/database.js'
import { coreMigrations, migrateToLatest } from './db/migrations.js'
import { Outbox, outboxOptionsSchema, type OutboxOptions } from './outbox.js'
import type { DurableSubscriber } from './ports/plugin.js'
import type { PaymentProvider } from './ports/payment-provider.js'
import type { ShippingProvider } from './ports/shipping-provider.js'
import type { StorageAdapter } from './ports/storage-adapter.js'
import type { TaxProvider } from './ports/tax-provider.js'
import type { TaxRounding } from './tax.js'
import { noTax } from './providers/fixed-rate-tax.js'
import { checkProviders } from './provider-checks.js'
import type { Runtime } from './runtime.js'
import { CartService } from './services/cart-service.js'
import { CatalogService } from './services/catalog-service.js'
import { CategoryService } from './services/category-service.js'
import { CollectionService } from './services/collection-service.js'
import { ChannelService } from './services/channel-service.js'
import { MediaService } from './services/media-service.js'
import { SearchService } from './services/search-service.js'
import type { MediaStore } from './ports/media-store.js'
import { CheckoutService } from './services/checkout-service.js'
import { DraftService } from './services/draft-service.js'
import { InventoryService } from './services/inventory-service.js'
import { OrderService } from './services/order-service.js'
import { PaymentService } from './services/payment-service.js'
import { PrivacyService } from './services/privacy-service.js'
import { RetentionService, retentionOptionsSchema, type RetentionOptions } from './services/retention-service.js'
import { RecoveryScheduler, recoveryOptionsSchema, type RecoveryOptions } from './services/recovery-service.js'
import { pointRunner, type TestPoints } from './test-points.js'
import { parseOptions } from './validation.js'
import { priceSourcesSchema, type PriceSource } from './services/price-resolution.js'
import { catalogOptionsSchema, type CatalogOptions } from './services/catalog-texts.js'

/** Everything `createCommerce` takes. Only `storage` is required. */
export interface CommerceOptions<P extends readonly AnyPlugin[] = readonly AnyPlugin[]> {
  storage: StorageAdapter
  payments?: PaymentProvider[]
  shipping?: ShippingProvider[]
  /** Defaults to no tax. */
  tax?: TaxProvider
  /**
   * Whether prices are entered with tax included, for carts opened outside a channel (a channel's
   * `taxInclusive` decides for its carts; a price's own `taxInclusive` wins over both). Default false.
   */
  pricesIncludeTax?: boolean
  /**
   * Where and how tax is rounded to a minor unit: per unit, per line (default) or once per order,
   * half up (default) or half even. See `TaxRounding` and docs/pricing.md.
   *
   * @example
   * ```ts
   * import { sqliteStorage } from '@cartwright/storage-sqlite'
   *
   * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), pricesIncludeTax: true, taxRounding: { level: 'unit', mode: 'half-even' } })
   * ```
   */
  taxRounding?: Partial<TaxRounding>
  /**
   * Sources of unit prices for cart lines (price lists, group prices, rules), asked once per cart
   * load. The highest priority that answers wins; core's base and tier prices are priority 0, ties
   * go to the source given first. See `PriceSource` and `docs/pricing.md`.
   */
  priceSources?: PriceSource[]
  /**
   * Feature plugins. The engine's type follows them: `commerce.<pluginId>` is each plugin's
   * service, and `commerce.events.on` knows their events.
   */
  plugins?: P
  /**
   * Refuse writes by a plugin outside its own tables (`<id>_*`), at run time. On by default,
   * except when `NODE_ENV` is `production` (the check walks each plugin query's syntax tree).
   */
  pluginWriteGuard?: boolean
  /** Durable subscribers besides the plugins' own. */
  subscribers?: DurableSubscriber[]
  outbox?: OutboxOptions
  /** How long a checkout holds its claim on a cart while the gateway answers, in ms (default 30 000). */
  checkoutLeaseMs?: number
  /**
   * How long a payment waits for the shopper to confirm with their bank or wallet (3-D Secure, a
   * redirect) before recovery gives the attempt up, voids what the gateway holds and releases the
   * stock, in ms (default 15 minutes; 10 seconds to 7 days).
   */
  customerActionTimeoutMs?: number
  /**
   * Automatic recovery: on a timer, under a lease in the database (one process at a time), stalled
   * checkouts, customer actions past their deadline and pending payment operations are finished.
   * On by default; see {@link RecoveryOptions}.
   */
  recovery?: RecoveryOptions
  /** Reports errors thrown by event listeners and subscribers; defaults to `console.error`. */
  onListenerError?: ListenerErrorHandler
  /** Run migrations at start (default true). */
  migrate?: boolean
  /**
   * Retention: the policy `commerce.retention.prune()` applies, and whether to prune
   * automatically (`intervalMs`; off by default).
   */
  retention?: RetentionOptions
  /**
   * Makes every id the engine writes: rows, events, its outbox dispatcher (default
   * random 128-bit ids). Tests pass `seededIds(seed)` from `@cartwright/testkit`.
   */
  ids?: IdGenerator
  /**
   * Every timestamp, wait, timer, backoff and jitter of the engine (default {@link systemClock}).
   * Tests pass `virtualClock()` from `@cartwright/testkit`: with seeded `ids` a run on SQLite then
   * replays exactly, and waits (a checkout's lease) pass in virtual time.
   */
  clock?: Clock
  /**
   * The older, narrower form of `clock`: only the current instant, for tests; waits and jitter
   * stay on the system clock. Refused together with `clock`.
   */
  now?: () => Date
  /**
   * Where the random bytes of access tokens come from (default node:crypto's `randomBytes`). For
   * deterministic runs only, next to seeded `ids` and a virtual clock: tokens drawn from a seeded
   * source are as guessable as its seed, so never give one in production.
   *
   * @example
   * ```ts
   * import { sqliteStorage } from '@cartwright/storage-sqlite'
   * import { seededBytes, seededIds, virtualClock } from '@cartwright/testkit'
   *
   * // A test's run that replays exactly, access tokens included:
   * const commerce = await createCommerce({
   *   storage: sqliteStorage({ filename: 'run.db' }),
   *   ids: seededIds(1),
   *   clock: virtualClock(),
   *   secretBytes: seededBytes(1),
   * })
   * ```
   */
  secretBytes?: (size: number) => Uint8Array
  /**
   * Named points inside operations where a test forces an interleaving (see {@link TestPoints}).
   * For tests only.
   */
  testPoints?: Partial<TestPoints>
  /** Where `commerce.media` stores image files (such as `fileSystemMedia()`); without one, images are kept by URL only. */
  media?: MediaStore
  /** The catalog's default locale (the fallback of translations) and the visibility source of shopper listings. */
  catalog?: CatalogOptions
}

const optionsSchema = z.object({
  storage: z.custom<StorageAdapter>((v) => typeof v === 'object' && v !== null && typeof (v as StorageAdapter).createDialect === 'function', {
    message: 'pass a storage adapter such as sqliteStorage()',
  }),
  // Providers are checked member by member by checkProviders, which names each one and what it lacks.
  payments: z.array(z.custom<PaymentProvider>()).default([]),
  shipping: z.array(z.custom<ShippingProvider>()).default([]),
  tax: z.custom<TaxProvider>().optional(),
  pricesIncludeTax: z.boolean().default(false),
  taxRounding: z
    .strictObject({ level: z.enum(['unit', 'line', 'total']).default('line'), mode: z.enum(['half-up', 'half-even']).default('half-up') })
    .default({ level: 'line', mode: 'half-up' }),
  priceSources: priceSourcesSchema,
  plugins: z.array(z.custom<AnyPlugin>((v) => typeof (v as AnyPlugin)?.id === 'string', { message: 'not a plugin' })).default([]),
  pluginWriteGuard: z.boolean().default(process.env.NODE_ENV !== 'production'),
  subscribers: z
    .array(z.custom<DurableSubscriber>((v) => typeof (v as DurableSubscriber)?.handle === 'function', { message: 'not a subscriber' }))
    .default([]),
  outbox: outboxOptionsSchema.default(outboxOptionsSchema.parse({})),
  checkoutLeaseMs: z.number().int().min(1000).max(600_000).default(30_000),
  customerActionTimeoutMs: z.number().int().min(10_000).max(7 * 86_400_000).default(15 * 60_000),
  recovery: recoveryOptionsSchema.default(recoveryOptionsSchema.parse({})),
  onListenerError: z.custom<ListenerErrorHandler>((v) => typeof v === 'function').optional(),
  migrate: z.boolean().default(true),
  retention: retentionOptionsSchema.default({}),
  now: z.custom<() => Date>((v) => typeof v === 'function').optional(),
  ids: z.custom<IdGenerator>((v) => typeof v === 'function', { message: 'pass a function (prefix) => id' }).optional(),
  clock: z
    .custom<Clock>((v) => ['now', 'sleep', 'random'].every((m) => typeof (v as Record<string, unknown>)?.[m] === 'function'), {
      message: 'pass a clock with now(), sleep(ms) and random(), such as systemClock()',
    })
    .optional(),
  secretBytes: z.custom<(size: number) => Uint8Array>((v) => typeof v === 'function', { message: 'pass a function (size) => Uint8Array' }).optional(),
  testPoints: z.record(z.string(), z.custom<(context: unknown) => unknown>((v) => typeof v === 'function')).optional(),
  media: z.custom<MediaStore>((v) => ['put', 'get', 'delete', 'url'].every((m) => typeof (v as Record<string, unknown>)?.[m] === 'function'), { message: 'pass a MediaStore, such as fileSystemMedia()' }).optional(),
  catalog: catalogOptionsSchema,
})

/**
 * The core of a composed engine: services grouped by noun, the event bus, hooks and the outbox.
 * `E` is the event map (core's events and the plugins').
 */
export interface CoreCommerce<E extends EventMap = CommerceEvents> {
  readonly catalog: CatalogService
  /** The category tree and the products in each category. */
  readonly categories: CategoryService
  /** Hand-picked and rule-based collections of products. */
  readonly collections: CollectionService
  /** Sales channels: their currencies, locales, stock locations and published products. */
  readonly channels: ChannelService
  /** Images of products and variants: references in the catalog, files in the `MediaStore`. */
  readonly media: MediaService
  /** Text search over the catalog with filters and facets, for shoppers. */
  readonly search: SearchService
  readonly inventory: InventoryService
  readonly carts: CartService
  readonly checkout: CheckoutService
  /** Staff-made orders: drafts with price overrides, stock held until they expire, paid by link or marked paid. */
  readonly drafts: DraftService
  readonly orders: OrderService
  /** Payments and their captures, voids and refunds (read-only), and recovery of operations left pending. */
  readonly payments: PaymentService
  /** After-commit events: core's and every plugin's. */
  readonly events: EventBus<E>
  /** Ordered, awaited interceptors. */
  readonly hooks: HookRegistry
  /** Durable deliveries: drain, inspect dead letters, retry. */
  readonly outbox: Outbox
  /** Removes delivered events, abandoned carts and declined attempts by a retention policy. */
  readonly retention: RetentionService
  /** A person's data: export it, or erase it (core's rows and every plugin's contribution). */
  readonly privacy: PrivacyService
  /**
   * The kysely instance over core's tables, for the host's own read queries (reports, exports).
   * Not for plugins: they get a handle over their own tables in `init`, and write core's data only
   * through services and hooks. Writing core's tables here bypasses every invariant.
   */
  readonly db: Kysely<CoreDatabase>
  /** Store and Admin routes the plugins describe, for the HTTP package to mount. */
  readonly endpoints: readonly Endpoint[]
  /** The plugins' session resolvers (`Plugin.resolveActor`), in plugin order, for the HTTP package. */
  readonly actorResolvers: readonly ActorResolver<any>[]
  /** Every error code this composition can throw: core's, then each plugin's. */
  readonly errorCodes: readonly string[]
  /** Stops the dispatcher and automatic recovery, and closes storage. */
  close(): Promise<void>
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never

/** `{ [id]: service }` of one plugin; nothing for a plugin whose id is not a literal. */
// Read structurally rather than by matching Plugin<…>: a plugin's subscribers make Plugin invariant in its events.
type ServiceOf<P> = P extends { readonly id: infer Id extends string }
  ? string extends Id
    ? {}
    : { readonly [K in Id]: P extends { init?(context: any): infer S } ? Awaited<S> : undefined }
  : {}
/** A plugin typed only as `AnyPlugin` (not a literal id) adds nothing to the engine's type. */
type Literal<P> = P extends { readonly id: infer Id extends string } ? (string extends Id ? false : true) : false
type EventsOfPlugin<P> = Literal<P> extends true
  ? P extends { readonly events?: infer Ev }
    ? NonNullable<Ev> extends EventSchemas
      ? EventsOf<NonNullable<Ev>>
      : {}
    : {}
  : {}
type CodesOfPlugin<P> = Literal<P> extends true ? (P extends { readonly errorCodes?: infer T } ? keyof NonNullable<T> & string : never) : never

/** The services of a list of plugins, by id. */
export type PluginServices<P extends readonly AnyPlugin[]> = [P[number]] extends [never] ? {} : UnionToIntersection<ServiceOf<P[number]>>
/** The events of a list of plugins, by name. */
export type PluginEvents<P extends readonly AnyPlugin[]> = [P[number]] extends [never] ? {} : UnionToIntersection<EventsOfPlugin<P[number]>>

/**
 * A composed commerce engine: core's services, and each plugin's service under its id, with
 * events typed for core's and the plugins'. `createCommerce` infers `P` from its `plugins`.
 *
 * @example
 * ```ts
 * async function start(storage: StorageAdapter): Promise<Commerce> {
 *   return createCommerce({ storage })
 * }
 * ```
 */
export type Commerce<P extends readonly AnyPlugin[] = []> = CoreCommerce<CommerceEvents & PluginEvents<P>> &
  PluginServices<P> & {
    /** Every error code this composition can throw (see {@link ErrorCodeOf}). */
    readonly errorCodes: ReadonlyArray<CommerceErrorCode | CodesOfPlugin<P[number]>>
  }

/**
 * The error codes an engine can throw, core's and its plugins', for `isCommerceError`.
 *
 * @example
 * ```ts
 * declare const commerce: Commerce
 * type Code = ErrorCodeOf<typeof commerce>
 * function soldOut(error: unknown) {
 *   return isCommerceError<Code>(error, 'OUT_OF_STOCK')
 * }
 * ```
 */
export type ErrorCodeOf<C extends { readonly errorCodes: readonly string[] }> = C['errorCodes'][number]

function unique(kind: string, ids: string[]): void {
  const seen = new Set<string>()
  for (const id of ids) {
    if (seen.has(id)) throw new CommerceError('CONFIGURATION', `[cartwright] two ${kind} share the id ${JSON.stringify(id)}`)
    seen.add(id)
  }
}

/** Refuses a composition whose providers cannot do what its plugins need, naming every gap. */
function checkRequirements(plugins: readonly AnyPlugin[], payments: PaymentProvider[], shipping: ShippingProvider[], storage: StorageAdapter): void {
  const missing: string[] = []
  for (const plugin of plugins) {
    const needs = plugin.requires
    if (!needs) continue
    for (const capability of needs.paymentCapabilities ?? []) {
      if (payments.length === 0) missing.push(`${plugin.id} needs a payment provider that can ${capability}; none is configured`)
      for (const provider of payments) {
        if (!provider.capabilities[capability]) missing.push(`${plugin.id} needs payment capability "${capability}", which ${provider.id} lacks`)
      }
    }
    for (const capability of needs.storageCapabilities ?? []) {
      if (!storage.capabilities[capability]) missing.push(`${plugin.id} needs storage capability "${capability}", which ${storage.id} lacks`)
    }
    if (needs.shipping && shipping.length === 0) missing.push(`${plugin.id} needs a shipping provider; none is configured`)
  }
  if (missing.length) {
    throw new CommerceError('CONFIGURATION', `[cartwright] this composition cannot work: ${missing.join('; ')}`, { details: { missing } })
  }
}

/**
 * Composes an engine from a storage adapter, providers and plugins; runs migrations and
 * starts the outbox dispatcher and automatic recovery.
 *
 * @example
 * ```ts
 * import { createCommerce, testPayments, flatRateShipping, fixedRateTax } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({
 *   storage: sqliteStorage({ filename: 'shop.db' }),
 *   payments: [testPayments()],
 *   shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
 *   tax: fixedRateTax({ rate: '8' }),
 * })
 * ```
 */
export async function createCommerce<const P extends readonly AnyPlugin[] = readonly AnyPlugin[]>(options: CommerceOptions<P>): Promise<Commerce<P>> {
  const config = parseOptions(optionsSchema, options, 'cartwright')
  const plugins = orderPlugins(config.plugins)
  // Providers plugins contribute join the configured ones, and are checked the same way.
  config.payments = [...config.payments, ...plugins.flatMap((p) => p.payments ?? [])]
  config.shipping = [...config.shipping, ...plugins.flatMap((p) => p.shipping ?? [])]
  const taxes = [...(config.tax ? [config.tax] : []), ...plugins.flatMap((p) => (p.tax ? [p.tax] : []))]
  if (taxes.length > 1) throw new CommerceError('CONFIGURATION', `[cartwright] more than one tax provider: ${taxes.map((t) => t.id).join(', ')}`)
  config.tax = taxes[0]
  checkProviders(config.payments, config.shipping, config.tax)
  unique('payment providers', config.payments.map((p) => p.id))
  unique('shipping providers', config.shipping.map((p) => p.id))
  const subscribers = [...config.subscribers, ...plugins.flatMap((p) => (p.subscribers ?? []) as DurableSubscriber[])]
  unique('durable subscribers', subscribers.map((s) => s.id))
  const eventSchemas = eventSchemasOf(plugins, CORE_EVENTS)

  checkRequirements(plugins, config.payments, config.shipping, config.storage)
  if (config.clock && config.now) {
    throw new CommerceError('CONFIGURATION', '[cartwright] invalid options: now: give either clock or now (the older form of clock), not both', {
      details: { issues: [{ path: 'now', message: 'give either clock or now, not both' }] },
    })
  }
  const clock = clockFrom(config.clock, config.now)
  // The dispatcher's id is the first one made, here: a generator of the wrong shape is refused before storage opens.
  const ids = config.ids ? checkedIds(config.ids) : newId
  const dispatcherId = ids('dispatcher')
  const storage = config.storage
  const db = new Kysely<CoreDatabase>({ dialect: storage.createDialect() })
  try {
    if (config.migrate) {
      await migrateToLatest(db, storage.family, 'core', coreMigrations, clock)
      for (const plugin of plugins) {
        if (plugin.migrations) await migrateToLatest(db, storage.family, plugin.id, plugin.migrations, clock)
      }
    }
  } catch (error) {
    await db.destroy()
    throw error
  }

  const onListenerError: ListenerErrorHandler =
    config.onListenerError ?? ((error, context) => console.error(`[cartwright] ${context.listener} for ${context.event} failed:`, error))
  const events = new EventBus<any>(onListenerError)
  const hooks = new HookRegistry()
  let outbox: Outbox | null = null
  const rt: Runtime = {
    db,
    storage,
    events,
    hooks,
    payments: new Map(config.payments.map((p) => [p.id, p])),
    shipping: config.shipping,
    tax: config.tax ?? noTax(),
    priceSources: config.priceSources,
    subscribers,
    ids,
    clock,
    now: () => clock.now(),
    secretBytes: config.secretBytes,
    settings: { checkoutLeaseMs: config.checkoutLeaseMs, transactionRetries: 5, customerActionTimeoutMs: config.customerActionTimeoutMs },
    onDeliveriesWritten: () => outbox?.kick(),
    point: pointRunner(config.testPoints as Partial<TestPoints> | undefined),
    eventSchemas,
    media: config.media,
    catalog: config.catalog,
    taxPolicy: { pricesIncludeTax: config.pricesIncludeTax, rounding: config.taxRounding },
  }
  outbox = new Outbox(rt, config.outbox, dispatcherId)
  const retention = new RetentionService(rt, config.retention)
  const checkout = new CheckoutService(rt)
  const payments = new PaymentService(rt)
  const drafts = new DraftService(rt)
  // The process's recovery lease is held under its dispatcher's id.
  const recovery = new RecoveryScheduler(rt, config.recovery, dispatcherId, {
    checkouts: (limit) => checkout.recover({ limit }),
    operations: (limit) => payments.recover({ limit }),
  })

  let closed: Promise<void> | null = null
  const commerce: Record<string, unknown> = {
    catalog: new CatalogService(rt),
    categories: new CategoryService(rt),
    collections: new CollectionService(rt),
    channels: new ChannelService(rt),
    media: new MediaService(rt, config.media),
    search: new SearchService(rt),
    inventory: new InventoryService(rt),
    carts: new CartService(rt),
    checkout,
    drafts,
    orders: new OrderService(rt),
    payments,
    privacy: new PrivacyService(rt),
    events,
    hooks,
    outbox,
    retention,
    // The host's handle refuses queries from inside a transactional hook, as the services do.
    db: db.withPlugin(new RefuseInsideHook()),
    endpoints: Object.freeze(plugins.flatMap((p) => p.endpoints ?? [])),
    actorResolvers: Object.freeze(plugins.flatMap((p) => (p.resolveActor ? [p.resolveActor.bind(p)] : []))),
    errorCodes: Object.freeze(errorCodesOf(plugins)),
    close() {
      closed ??= (async () => {
        await recovery.stop()
        await retention.stop()
        await outbox!.stop()
        // From here every service answers INVALID_STATE instead of the driver's "destroyed" error.
        rt.closed = true
        await db.destroy()
      })()
      return closed
    },
  }
  // Plugins are set up once the services exist, in dependency order; each sees the services of
  // those set up before it.
  const records: PluginRecord[] = []
  try {
    for (const plugin of plugins) {
      await plugin.setup?.({ hooks, events })
      const { record, context } = pluginContext(rt, plugin, commerce, config.pluginWriteGuard)
      records.push(record)
      if (plugin.init) commerce[plugin.id] = await plugin.init(context)
    }
  } catch (error) {
    await db.destroy()
    throw error
  }
  rt.plugins = records
  outbox.start()
  retention.start()
  recovery.start()
  return commerce as unknown as Commerce<P>
}

/** Core's event names: a plugin may not declare one. The record makes the compiler check the list is whole. */
const CORE_EVENTS: ReadonlySet<string> = new Set(
  Object.keys({
    'product.created': true,
    'product.updated': true,
    'product.deleted': true,
    'product.archived': true,
    'category.created': true,
    'category.updated': true,
    'category.moved': true,
    'category.deleted': true,
    'collection.created': true,
    'collection.updated': true,
    'collection.deleted': true,
    'channel.created': true,
    'channel.updated': true,
    'inventory.adjusted': true,
    'inventory.low_stock': true,
    'cart.created': true,
    'cart.item_added': true,
    'cart.item_updated': true,
    'cart.item_removed': true,
    'cart.updated': true,
    'draft.created': true,
    'draft.price_overridden': true,
    'draft.reserved': true,
    'draft.payment_link_created': true,
    'draft.expired': true,
    'draft.discarded': true,
    'order.placed': true,
    'order.canceled': true,
    'order.customer_assigned': true,
    'order.fulfilled': true,
    'order.completed': true,
    'order.held': true,
    'order.released': true,
    'payment.authorized': true,
    'payment.captured': true,
    'payment.voided': true,
    'payment.refunded': true,
    'payment.declined': true,
    'payment.operation_failed': true,
    'payment.dispute_opened': true,
    'payment.dispute_closed': true,
    'media.added': true,
    'media.removed': true,
  } satisfies Record<keyof CommerceEvents, true>),
)
