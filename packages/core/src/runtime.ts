import { reindexChanged } from './services/search-index.js'
import { CommerceError, isCommerceError } from './errors.js'
import type { CommerceEventName, CommerceEvents, EventBus } from './events.js'
import { insideTransactionalHook, type HookRegistry } from './hooks.js'
import { compiledQuery } from './db/compiled-query.js'
import type { Db, OutboxDeliveryTable, OutboxTable, Tx } from './db/database.js'
import type { Clock } from './clock.js'
import type { IdGenerator } from './ids.js'
import type { DurableSubscriber } from './ports/plugin.js'
import type { PaymentProvider } from './ports/payment-provider.js'
import type { ShippingProvider } from './ports/shipping-provider.js'
import type { StorageAdapter } from './ports/storage-adapter.js'
import type { TaxProvider } from './ports/tax-provider.js'
import type { RunPoint } from './test-points.js'
import type { z } from 'zod'

/** Collects the events of one transaction; they are written to the outbox before commit. */
export interface Emit {
  <K extends CommerceEventName>(type: K, payload: CommerceEvents[K]): void
}

/** Everything the services share. Internal: not exported from the package. */
export interface Runtime {
  db: Db
  storage: StorageAdapter
  events: EventBus
  hooks: HookRegistry
  payments: Map<string, PaymentProvider>
  shipping: ShippingProvider[]
  tax: TaxProvider
  /** `CommerceOptions.pricesIncludeTax` and `taxRounding`, parsed. */
  taxPolicy: { pricesIncludeTax: boolean; rounding: import('./tax.js').TaxRounding }
  /** Price sources (`CommerceOptions.priceSources`, then plugins'), in the order given; see `price-resolution.ts`. */
  priceSources: import('./services/price-resolution.js').PriceSource[]
  subscribers: DurableSubscriber[]
  /** Makes every id the engine writes (`CommerceOptions.ids`). */
  ids: IdGenerator
  /** Every timestamp, wait, timer and jitter of the engine (`CommerceOptions.clock`). */
  clock: Clock
  /** `clock.now()`, kept as a function of its own for its many call sites. */
  now: () => Date
  /** Random bytes for access tokens' secrets (`access-tokens.ts`); node:crypto's CSPRNG when absent. */
  secretBytes?: (size: number) => Uint8Array
  settings: { checkoutLeaseMs: number; transactionRetries: number; customerActionTimeoutMs: number }
  /** Wakes the outbox dispatcher after a commit that wrote deliveries. */
  onDeliveriesWritten: () => void
  /** Test points (`CommerceOptions.testPoints`); null in production. */
  point: RunPoint | null
  /** Set by `commerce.close()`: every later read or write is refused with {@link engineClosed}. */
  closed?: boolean
  /** Plugins' event schemas by event name, for validation before the outbox write. */
  eventSchemas: Map<string, { plugin: string; schema: z.ZodType }>
  /** Where media files live (`CommerceOptions.media`); stored images have no URL without it. */
  media?: import('./ports/media-store.js').MediaStore
  /** `CommerceOptions.catalog`, parsed: the default locale and the visibility source. */
  catalog?: import('./services/catalog-texts.js').CatalogSettings
  /** The plugins, set up; filled once every `init` has run. */
  plugins?: import('./plugins.js').PluginRecord[]
}

interface PendingEvent {
  id: string
  type: string
  payload: unknown
}

/** How a transaction may be retried. */
export interface TransactOptions {
  /**
   * The work re-checks its own preconditions (a status, a key), so running it again after a
   * commit whose outcome is unknown is harmless. Default false: such a failure is reported to
   * the caller instead of risking the change being applied twice.
   */
  idempotent?: boolean
}

/**
 * Runs `work` in one write transaction. Events it emits are written to the outbox in the
 * same transaction (invariant 6) and handed to in-process listeners after commit. A
 * retryable storage failure (busy database, deadlock, lost connection) before the commit is
 * retried with backoff. A failure during the commit itself leaves the outcome unknown: the
 * work is retried only when it is `idempotent`, otherwise the caller gets a retryable
 * `STORAGE` error with `details.outcomeUnknown`. What escapes is always a `CommerceError`.
 */
export async function transact<T>(rt: Runtime, work: (tx: Tx, emit: Emit) => Promise<T>, options: TransactOptions = {}): Promise<T> {
  if (rt.closed) throw engineClosed()
  refuseInsideHook()
  for (let attempt = 0; ; attempt++) {
    const pending: PendingEvent[] = []
    const emit: Emit = (type, payload) => {
      pending.push({ id: rt.ids('evt'), type, payload })
    }
    let deliveries = 0
    let committing = false
    try {
      const result = await rt.db.transaction().execute(async (tx) => {
        const value = await work(tx, emit)
        // Derived data in the same transaction: the search documents of products this one changed.
        if (pending.length > 0) await reindexChanged(rt, tx, pending)
        if (pending.length > 0) deliveries = await writeOutbox(rt, tx, pending)
        committing = true
        return value
      })
      if (deliveries > 0) rt.onDeliveriesWritten()
      if (pending.length > 0) rt.events.emitCommitted(pending)
      return result
    } catch (error) {
      if (isCommerceError(error)) throw error
      const retryable = rt.storage.isRetryable(error)
      if (committing && !options.idempotent) {
        throw new CommerceError(
          'STORAGE',
          `${rt.storage.id} storage failed while committing; the change may or may not have been saved, so read before retrying: ${(error as Error)?.message ?? String(error)}`,
          { cause: error, retryable, details: { outcomeUnknown: true } },
        )
      }
      if (retryable && attempt < rt.settings.transactionRetries) {
        await rt.clock.sleep(Math.min(200, 5 * 2 ** attempt) * (0.5 + rt.clock.random()))
        continue
      }
      throw storageError(rt, error)
    }
  }
}

/** Wraps a driver error as a `CommerceError` (`STORAGE`, retryable when the adapter says so). */
export function storageError(rt: Runtime, error: unknown): CommerceError {
  if (isCommerceError(error)) return error
  // A call that was under way when the engine closed: the driver is gone, and that is the reason.
  if (rt.closed) return engineClosed(error)
  const retryable = rt.storage.isRetryable(error)
  return new CommerceError(
    'STORAGE',
    `${rt.storage.id} storage failed${retryable ? ' (retry the call)' : ''}: ${(error as Error)?.message ?? String(error)}`,
    { cause: error, retryable },
  )
}

/**
 * `INVALID_STATE`: the engine was closed (`commerce.close()`), so its storage is gone. Every
 * service answers this instead of the driver's own message.
 */
export function engineClosed(cause?: unknown): CommerceError {
  return new CommerceError('INVALID_STATE', 'This engine was closed (commerce.close()); create a new one to continue', {
    cause,
    details: { closed: true },
  })
}

/**
 * A call into the engine from inside a transactional hook would wait for the very transaction the
 * hook runs in (forever on SQLite's one connection), or miss its uncommitted rows on PostgreSQL.
 */
function refuseInsideHook(): void {
  const hook = insideTransactionalHook.getStore()
  if (hook === undefined) return
  throw new CommerceError(
    'INVALID_STATE',
    `The engine was called from inside the transactional hook ${hook}: use the hook's tx (its db and emit) instead, or act after the commit in an event listener or durable subscriber`,
    { details: { hook } },
  )
}

/** Runs a read outside a transaction, wrapping driver errors. */
export async function read<T>(rt: Runtime, work: (db: Db) => Promise<T>): Promise<T> {
  if (rt.closed) throw engineClosed()
  refuseInsideHook()
  try {
    return await work(rt.db)
  } catch (error) {
    throw storageError(rt, error)
  }
}

const insertEvents = compiledQuery((db, $: { events: Array<Omit<OutboxTable, 'created_at'> & { created_at: string }> }) =>
  db.insertInto('cw_outbox').values($.events),
)

const insertDeliveries = compiledQuery(
  (db, $: { deliveries: Array<Pick<OutboxDeliveryTable, 'event_id' | 'subscriber' | 'status' | 'attempts'> & { next_attempt_at: string }> }) =>
    db.insertInto('cw_outbox_deliveries').values($.deliveries),
)

async function writeOutbox(rt: Runtime, tx: Tx, events: PendingEvent[]): Promise<number> {
  const createdAt = rt.now().toISOString()
  await insertEvents.execute(tx, {
    events: events.map((e) => ({ id: e.id, type: e.type, payload: JSON.stringify(e.payload), created_at: createdAt })),
  })
  const deliveries = []
  for (const event of events) {
    for (const subscriber of rt.subscribers) {
      if (subscriber.events === '*' || subscriber.events.includes(event.type as CommerceEventName)) {
        deliveries.push({
          event_id: event.id,
          subscriber: subscriber.id,
          status: 'pending',
          attempts: 0,
          next_attempt_at: createdAt,
        })
      }
    }
  }
  if (deliveries.length > 0) await insertDeliveries.execute(tx, { deliveries })
  return deliveries.length
}
