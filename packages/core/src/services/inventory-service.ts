import { sql } from 'kysely'
import { z } from 'zod'
import { allocateStock, type LevelSnapshot } from '../allocation.js'
import { CommerceError, notFound, validationError } from '../errors.js'
import { compiledQuery } from '../db/compiled-query.js'
import type { Db, Executor, InventoryLevelTable, ReservationTable, Tx, VariantTable } from '../db/database.js'
import { iso, isoOrNull } from '../db/rows.js'
import { read, transact, type Emit, type Runtime } from '../runtime.js'
import type { BeyondStock, InventoryLevel, InventoryPolicy, Reservation, StockLocation } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { rowByIdOrHandle } from './catalog-texts.js'
import { channelLocations, coreChannelId, isPublished } from './channel-service.js'

const locationSchema = z.strictObject({
  name: fields.shortText,
  code: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'use letters, digits, dashes and underscores').optional(),
  priority: z.number().int().min(0).max(1_000_000).default(0),
})

/** The most units one level may hold: the bound of `setStock`, kept by `adjust` too. */
const MAX_ON_HAND = 1_000_000_000

const setStockSchema = z.strictObject({
  variantId: fields.id,
  locationId: fields.id,
  onHand: fields.stock,
  lowStockThreshold: z.number().int().min(0).max(1_000_000_000).nullable().optional(),
})

const reservationsSchema = z
  .strictObject({
    cartId: fields.id.optional(),
    orderId: fields.id.optional(),
    variantId: fields.id.optional(),
    status: z.enum(['held', 'committed', 'released']).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .refine((q) => q.cartId || q.orderId || q.variantId, { message: 'give a cartId, an orderId or a variantId', path: ['cartId'] })

const setPolicySchema = z.discriminatedUnion('policy', [
  z.strictObject({ policy: z.literal('deny') }),
  z.strictObject({ policy: z.literal('backorder'), backorderLimit: z.number().int().min(1).max(1_000_000) }),
  z.strictObject({
    policy: z.literal('preorder'),
    availableAt: z.string().datetime({ offset: true }).max(40),
    backorderLimit: z.number().int().min(1).max(1_000_000).nullable().optional(),
  }),
])

/**
 * Input of `inventory.setPolicy`: `deny`, `backorder` with a `backorderLimit`, or `preorder`
 * until `availableAt` (ISO-8601), optionally with a `backorderLimit`.
 *
 * @example
 * ```ts
 * const input: SetInventoryPolicyInput = { policy: 'backorder', backorderLimit: 5 }
 * await commerce.inventory.setPolicy(variantId, input)
 * ```
 */
export type SetInventoryPolicyInput = z.input<typeof setPolicySchema>

/** The allowance of a preorder without a limit: as many units as a level may hold. */
const UNLIMITED = 1_000_000_000

/** @internal A variant row's inventory policy, as on `Variant`. */
export function inventoryPolicyOf(row: Pick<VariantTable, 'inventory_policy' | 'backorder_limit' | 'available_at'>): InventoryPolicy {
  const policy = (row.inventory_policy ?? 'deny') as InventoryPolicy['policy']
  return { policy, backorderLimit: row.backorder_limit ?? null, availableAt: isoOrNull(row.available_at ?? null) }
}

/**
 * The allowance a level gives a reservation made at `now`: its `backorder_allowance` until
 * `allowance_until` (a preorder's date), 0 from then on. The conditional write in
 * {@link applyReservation} and the carts' availability check say the same in SQL.
 */
function allowanceAt(row: Pick<InventoryLevelTable, 'backorder_allowance' | 'allowance_until'>, now: string): number {
  const allowance = row.backorder_allowance ?? 0
  if (allowance === 0) return 0
  return row.allowance_until == null || iso(row.allowance_until) > now ? allowance : 0
}

const availabilitySchema = z.strictObject({ channel: z.string().trim().min(1).max(64).optional() })

/**
 * Options of `inventory.productAvailability`: `channel`, a core sales channel's code or id, counts
 * only the stock at its locations (and finds only a product published to it).
 *
 * @example
 * ```ts
 * const options: ProductAvailabilityOptions = { channel: 'web' }
 * const { variants } = await commerce.inventory.productAvailability('trail-runner', options)
 * ```
 */
export type ProductAvailabilityOptions = z.input<typeof availabilitySchema>

/**
 * What shoppers can buy now of each variant of a product, as a cart counts it.
 *
 * @example
 * ```ts
 * const availability: ProductAvailability = await commerce.inventory.productAvailability('trail-runner')
 * const soldOut = availability.variants.filter((v) => v.available === 0).map((v) => v.sku)
 * ```
 */
export interface ProductAvailability {
  productId: string
  /** The core channel counted in; null: every stock location. */
  channelId: string | null
  variants: Array<{
    variantId: string
    sku: string
    /**
     * Units a cart can take now: stock not reserved, plus what a backorder or preorder still
     * allows; null when the variant does not track stock (it never runs out).
     */
    available: number | null
    /** Of `available`, the units in stock (the rest would be sold beyond stock); null when not tracked. */
    inStock: number | null
  }>
}

/** Input of `inventory.reservations`. */
export type ReservationsInput = z.input<typeof reservationsSchema>

const adjustSchema = z.strictObject({
  variantId: fields.id,
  locationId: fields.id,
  delta: z.number().int().min(-1_000_000_000).max(1_000_000_000).refine((d) => d !== 0, 'must not be 0'),
})

/**
 * Input of `inventory.createLocation`.
 *
 * @example
 * ```ts
 * const input: CreateLocationInput = { name: 'Berlin', code: 'ber', priority: 0 }
 * const berlin = await commerce.inventory.createLocation(input)
 * ```
 */
export type CreateLocationInput = z.input<typeof locationSchema>
/**
 * Input of `inventory.setStock`: a stock take of one variant at one location.
 *
 * @example
 * ```ts
 * const [location] = await commerce.inventory.listLocations()
 * const input: SetStockInput = { variantId, locationId: location!.id, onHand: 25, lowStockThreshold: 5 }
 * await commerce.inventory.setStock(input)
 * ```
 */
export type SetStockInput = z.input<typeof setStockSchema>
/**
 * Input of `inventory.adjust`: units added (positive `delta`) or removed at one location.
 *
 * @example
 * ```ts
 * const [location] = await commerce.inventory.listLocations()
 * const input: AdjustStockInput = { variantId, locationId: location!.id, delta: -2 } // two units damaged
 * await commerce.inventory.adjust(input)
 * ```
 */
export type AdjustStockInput = z.input<typeof adjustSchema>

function toLevel(row: InventoryLevelTable): InventoryLevel {
  return {
    variantId: row.variant_id,
    locationId: row.location_id,
    onHand: row.on_hand,
    reserved: row.reserved,
    available: row.on_hand - row.reserved,
    lowStockThreshold: row.low_stock_threshold,
    backorderAllowance: row.backorder_allowance ?? 0,
  }
}

/** A cart line as the reservation step sees it. */
export interface ReservationLine {
  variantId: string
  quantity: number
}

/** Levels of the stock-managed variants among `variantIds`, with their location's priority, in lock order (variant, then id). */
function trackedLevels(db: Db, $: { variantIds: string[] }) {
  return db
    .selectFrom('cw_inventory_levels as l')
    .innerJoin('cw_variants as v', 'v.id', 'l.variant_id')
    .innerJoin('cw_stock_locations as s', 's.id', 'l.location_id')
    .select(['l.id', 'l.variant_id', 'l.location_id', 'l.on_hand', 'l.reserved', 'l.low_stock_threshold', 'l.backorder_allowance', 'l.allowance_until', 's.priority'])
    .where('l.variant_id', 'in', $.variantIds)
    .where('v.manage_inventory', '=', 1)
    .orderBy('l.variant_id')
    .orderBy('l.id')
}

const levelsToReserve = compiledQuery(trackedLevels)

/** The same, locking the levels (and only them) until the transaction ends: PostgreSQL. */
const levelsToReserveForUpdate = compiledQuery((db, $: { variantIds: string[] }) => trackedLevels(db, $).forUpdate('l'))

/**
 * The one write that reserves: `available` may go below zero only by the level's allowance while
 * it applies (`allowance_until`, a preorder's date, not reached), never past it. Returns the row
 * as written, so the caller learns how many units went beyond stock.
 */
const reserveLevel = compiledQuery((db, $: { levelId: string; quantity: number; updatedAt: string }) =>
  db
    .updateTable('cw_inventory_levels')
    .set({ reserved: sql`reserved + ${$.quantity}`, updated_at: $.updatedAt })
    .where('id', '=', $.levelId)
    .where(
      sql<boolean>`on_hand - reserved + case when backorder_allowance > 0 and (allowance_until is null or allowance_until > ${$.updatedAt}) then backorder_allowance else 0 end >= ${$.quantity}`,
    )
    .returning(['on_hand', 'reserved']),
)

const setBeyondStock = compiledQuery((db, $: { id: string; beyondStock: number }) =>
  db.updateTable('cw_reservations').set({ beyond_stock: $.beyondStock }).where('id', '=', $.id),
)

const insertReservations = compiledQuery((db, $: { reservations: Array<Omit<ReservationTable, 'created_at'> & { created_at: string }> }) =>
  db.insertInto('cw_reservations').values($.reservations),
)

/** Where a cart's units will be reserved: decided by {@link planReservation}, written by {@link applyReservation}. */
export interface ReservationPlan {
  cartId: string
  allocations: Array<{ levelId: string; variantId: string; locationId: string; quantity: number; beyondStock: number }>
  levels: Map<string, { on_hand: number; reserved: number; low_stock_threshold: number | null }>
}

/**
 * Decides where a cart's units come from, in the caller's write transaction. Quantities are
 * summed per variant first. Throws `OUT_OF_STOCK` when any variant is short.
 *
 * On PostgreSQL the levels are read without locks when every variant has a single level: the
 * conditional write in {@link applyReservation} re-checks availability against the latest
 * committed row, so nothing can oversell, and the hot row of a popular variant is locked only
 * from that write to the commit. A variant split over several locations is locked here instead
 * (in a fixed order: variant, then id), so its allocation cannot go stale.
 *
 * `locationIds` (a sales channel's stock locations) restricts the levels reserved at to those
 * locations; null: every location.
 */
export async function planReservation(
  rt: Runtime,
  tx: Tx,
  cartId: string,
  lines: readonly ReservationLine[],
  locationIds: readonly string[] | null = null,
): Promise<ReservationPlan | null> {
  const requested = new Map<string, number>()
  for (const line of lines) requested.set(line.variantId, (requested.get(line.variantId) ?? 0) + line.quantity)
  if (requested.size === 0) return null
  const variantIds = [...requested.keys()].sort()
  let rows = await levelsToReserve.rows(tx, { variantIds })
  if (rt.storage.capabilities.rowLocks) {
    const perVariant = new Map<string, number>()
    for (const r of rows) perVariant.set(r.variant_id, (perVariant.get(r.variant_id) ?? 0) + 1)
    if ([...perVariant.values()].some((n) => n > 1)) rows = await levelsToReserveForUpdate.rows(tx, { variantIds })
  }
  // A channel's cart: only the levels at the channel's locations are candidates.
  if (locationIds) {
    const allowed = new Set(locationIds)
    rows = rows.filter((r) => allowed.has(r.location_id))
  }
  // A variant without levels above either does not manage stock (nothing to reserve) or has none.
  const withLevels = new Set(rows.map((r) => r.variant_id))
  const without = variantIds.filter((id) => !withLevels.has(id))
  if (without.length) {
    const untracked = await tx.selectFrom('cw_variants').select('id').where('id', 'in', without).where('manage_inventory', '!=', 1).execute()
    for (const v of untracked) requested.delete(v.id)
    if (requested.size === 0) return null
  }
  const snapshots: LevelSnapshot[] = rows.map((r) => ({
    id: r.id,
    variantId: r.variant_id,
    locationId: r.location_id,
    priority: r.priority,
    available: r.on_hand - r.reserved,
  }))
  const sorted = new Map(variantIds.filter((id) => requested.has(id)).map((id) => [id, requested.get(id)!]))
  const { allocations: inStock, shortages: short } = allocateStock(sorted, snapshots)
  const allocations: ReservationPlan['allocations'] = inStock.map((a) => ({ ...a, beyondStock: 0 }))
  const shortages = []
  for (const s of short) {
    const beyond = allocateBeyondStock(s.variantId, s.requested, snapshots, rows, rt.now().toISOString())
    if (beyond) allocations.push(...beyond)
    else shortages.push({ ...s, available: s.available + rows.filter((r) => r.variant_id === s.variantId).reduce((n, r) => n + allowanceAt(r, rt.now().toISOString()), 0) })
  }
  if (shortages.length) throw await outOfStock(tx, shortages)
  allocations.sort((a, b) => (a.levelId < b.levelId ? -1 : a.levelId > b.levelId ? 1 : 0))
  return { cartId, allocations, levels: new Map(rows.map((r) => [r.id, r])) }
}

/**
 * A variant's quantity when its stock is short: every unit in stock first (by priority), then the
 * rest beyond stock at the levels whose allowance applies now, or null when that is not enough.
 */
function allocateBeyondStock(
  variantId: string,
  quantity: number,
  snapshots: readonly LevelSnapshot[],
  rows: ReadonlyArray<Pick<InventoryLevelTable, 'id' | 'backorder_allowance' | 'allowance_until'>>,
  now: string,
): ReservationPlan['allocations'] | null {
  const levels = snapshots
    .filter((l) => l.variantId === variantId)
    .sort((a, b) => a.priority - b.priority || (a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0))
  const allowance = new Map(rows.map((r) => [r.id, allowanceAt(r, now)]))
  const take = new Map<string, { inStock: number; beyond: number }>()
  let left = quantity
  for (const l of levels) {
    const n = Math.min(left, Math.max(0, l.available))
    if (n > 0) take.set(l.id, { inStock: n, beyond: 0 })
    left -= n
  }
  for (const l of levels) {
    if (left === 0) break
    const room = (allowance.get(l.id) ?? 0) + Math.min(0, l.available)
    const n = Math.min(left, Math.max(0, room))
    if (n === 0) continue
    const t = take.get(l.id) ?? { inStock: 0, beyond: 0 }
    take.set(l.id, { inStock: t.inStock, beyond: t.beyond + n })
    left -= n
  }
  if (left > 0) return null
  return levels
    .filter((l) => take.has(l.id))
    .map((l) => ({ levelId: l.id, variantId, locationId: l.locationId, quantity: take.get(l.id)!.inStock + take.get(l.id)!.beyond, beyondStock: take.get(l.id)!.beyond }))
}

/**
 * Writes a {@link ReservationPlan}: the reservation rows, then one conditional write per level
 * that cannot take `available` below zero (a CHECK constraint backs it). Call it as late in the
 * transaction as possible: on PostgreSQL the level rows stay locked from here to the commit.
 */
export async function applyReservation(rt: Runtime, tx: Tx, emit: Emit, plan: ReservationPlan | null): Promise<void> {
  if (!plan) return
  const now = rt.now().toISOString()
  const ids = plan.allocations.map(() => rt.ids('res'))
  await insertReservations.execute(tx, {
    reservations: plan.allocations.map((a, i) => ({
      id: ids[i]!,
      variant_id: a.variantId,
      location_id: a.locationId,
      level_id: a.levelId,
      quantity: a.quantity,
      cart_id: plan.cartId,
      order_id: null,
      status: 'held',
      created_at: now,
      beyond_stock: a.beyondStock,
    })),
  })
  for (const [i, a] of plan.allocations.entries()) {
    const written = await reserveLevel.first(tx, { levelId: a.levelId, quantity: a.quantity, updatedAt: now })
    // Another checkout took the units since they were read: the whole transaction rolls back.
    if (!written) throw await outOfStock(tx, [{ variantId: a.variantId, requested: a.quantity, available: 0 }])
    // On PostgreSQL the level may have moved since it was read: what went beyond stock is what the write found.
    const beyond = Math.min(a.quantity, Math.max(0, written.reserved - written.on_hand))
    if (beyond !== a.beyondStock) await setBeyondStock.execute(tx, { id: ids[i]!, beyondStock: beyond })
    const row = plan.levels.get(a.levelId)!
    const available = row.on_hand - row.reserved - a.quantity
    if (row.low_stock_threshold !== null && available <= row.low_stock_threshold && row.on_hand - row.reserved > row.low_stock_threshold) {
      emit('inventory.low_stock', { variantId: a.variantId, locationId: a.locationId, available, threshold: row.low_stock_threshold })
    }
  }
}

/**
 * `OUT_OF_STOCK` naming each short variant by SKU and id; `details.shortages` carries both. The
 * SKUs are read only on this failure path, in the failing transaction.
 */
async function outOfStock(tx: Tx, short: Array<{ variantId: string; requested: number; available: number }>): Promise<CommerceError> {
  const rows = await tx.selectFrom('cw_variants').select(['id', 'sku']).where('id', 'in', short.map((s) => s.variantId)).execute()
  const skus = new Map(rows.map((r) => [r.id, r.sku]))
  const shortages = short.map((s) => ({ variantId: s.variantId, sku: skus.get(s.variantId) ?? null, requested: s.requested, available: s.available }))
  return new CommerceError(
    'OUT_OF_STOCK',
    `Not enough stock: ${shortages.map((s) => `${s.sku ?? s.variantId} (${s.variantId}: wanted ${s.requested}, ${s.available} available)`).join(', ')}`,
    { details: { shortages } },
  )
}

/** Releases a cart's or an order's held reservations: `reserved` goes down by their quantities. */
export async function releaseStock(rt: Runtime, tx: Tx, owner: { cartId: string } | { orderId: string }): Promise<number> {
  return settleStock(rt, tx, owner, 'released')
}

/** Commits an order's held reservations: the goods leave, so `on_hand` and `reserved` both go down. */
export async function commitStock(rt: Runtime, tx: Tx, owner: { orderId: string }): Promise<number> {
  return settleStock(rt, tx, owner, 'committed')
}

async function settleStock(rt: Runtime, tx: Tx, owner: { cartId: string } | { orderId: string }, to: 'released' | 'committed'): Promise<number> {
  let q = tx.selectFrom('cw_reservations').select(['id', 'level_id', 'quantity']).where('status', '=', 'held')
  q = 'cartId' in owner ? q.where('cart_id', '=', owner.cartId) : q.where('order_id', '=', owner.orderId)
  const reservations = await q.orderBy('level_id').execute()
  const now = rt.now().toISOString()
  for (const r of reservations) {
    if (to === 'committed') {
      // Units sold beyond stock cannot leave before they arrive: on-hand never goes below zero.
      const level = await tx.selectFrom('cw_inventory_levels').select(['variant_id', 'location_id', 'on_hand']).where('id', '=', r.level_id).executeTakeFirst()
      if (level && level.on_hand < r.quantity) {
        throw new CommerceError('CONFLICT', `Only ${level.on_hand} units are on hand at the location; ${r.quantity} were sold beyond stock and have not arrived`, {
          details: { variantId: level.variant_id, locationId: level.location_id, onHand: level.on_hand, quantity: r.quantity },
        })
      }
    }
    await tx
      .updateTable('cw_inventory_levels')
      .set(
        to === 'released'
          ? { reserved: sql`reserved - ${r.quantity}`, updated_at: now }
          : { reserved: sql`reserved - ${r.quantity}`, on_hand: sql`on_hand - ${r.quantity}`, updated_at: now },
      )
      .where('id', '=', r.level_id)
      .execute()
  }
  if (reservations.length) {
    await tx.updateTable('cw_reservations').set({ status: to }).where('id', 'in', reservations.map((r) => r.id)).execute()
  }
  return reservations.length
}

/**
 * Stock locations and stock levels. `available = onHand - reserved` is never negative:
 * the database enforces it with a CHECK constraint as well as every write's condition.
 *
 * Where a checkout takes a variant's stock from: the first location, by `priority` (lowest
 * first), that can ship the whole quantity ships all of it; only when none can is the quantity
 * split over locations in priority order. One shipment wins over priority: with Berlin
 * (priority 0) holding 2 and Paris (priority 1) holding 5, 3 units all come from Paris.
 *
 * @example
 * ```ts
 * const warehouse = await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })
 * await commerce.inventory.setStock({ variantId, locationId: warehouse.id, onHand: 10 })
 * await commerce.inventory.available(variantId) // 10
 * ```
 */
export class InventoryService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /**
   * Creates a stock location. Lower `priority` comes first, but a location that can ship a
   * variant's whole quantity is preferred over splitting it (see {@link InventoryService}).
   */
  async createLocation(input: CreateLocationInput): Promise<StockLocation> {
    const data = parseInput(locationSchema, input, 'stock location')
    const rt = this.#rt
    const row = {
      id: rt.ids('loc'),
      name: data.name,
      code: data.code ?? rt.ids('loc').slice(4, 16),
      priority: data.priority,
      created_at: rt.now().toISOString(),
    }
    try {
      await transact(rt, async (tx) => {
        await tx.insertInto('cw_stock_locations').values(row).execute()
      })
    } catch (error) {
      const cause = (error as { cause?: unknown })?.cause
      if (rt.storage.isUniqueViolation(cause)) throw new CommerceError('CONFLICT', `A stock location with code ${JSON.stringify(row.code)} exists`, { cause })
      throw error
    }
    return { id: row.id, name: row.name, code: row.code, priority: row.priority, createdAt: row.created_at }
  }

  /** Lists stock locations by priority. */
  async listLocations(): Promise<StockLocation[]> {
    const rows = await read(this.#rt, (db) => db.selectFrom('cw_stock_locations').selectAll().orderBy('priority').orderBy('id').execute())
    return rows.map((r) => ({ id: r.id, name: r.name, code: r.code, priority: r.priority, createdAt: iso(r.created_at) }))
  }

  /**
   * Sets the on-hand count of a variant at a location (a stock take). On-hand cannot go
   * below what is reserved for placed orders (`CONFLICT`).
   */
  async setStock(input: SetStockInput): Promise<InventoryLevel> {
    const data = parseInput(setStockSchema, input, 'stock level')
    return this.#write(data.variantId, data.locationId, data.lowStockThreshold, (current) => data.onHand - current)
  }

  /** Adds (positive `delta`) or removes (negative) on-hand units at a location. */
  async adjust(input: AdjustStockInput): Promise<InventoryLevel> {
    const data = parseInput(adjustSchema, input, 'stock adjustment')
    return this.#write(data.variantId, data.locationId, undefined, () => data.delta, 'delta')
  }

  async #write(
    variantId: string,
    locationId: string,
    threshold: number | null | undefined,
    delta: (onHand: number) => number,
    field = 'onHand',
  ): Promise<InventoryLevel> {
    const rt = this.#rt
    return transact(rt, async (tx, emit) => {
      const variant = await tx.selectFrom('cw_variants').select('id').where('id', '=', variantId).executeTakeFirst()
      if (!variant) throw notFound('Variant', variantId)
      const location = await tx.selectFrom('cw_stock_locations').select('id').where('id', '=', locationId).executeTakeFirst()
      if (!location) throw notFound('Stock location', locationId)
      let q = tx.selectFrom('cw_inventory_levels').selectAll().where('variant_id', '=', variantId).where('location_id', '=', locationId)
      if (rt.storage.capabilities.rowLocks) q = q.forUpdate()
      const now = rt.now().toISOString()
      let existing = await q.executeTakeFirst()
      if (!existing) {
        // The level's first stock. Two first adjustments at once: one inserts, the other's insert
        // does nothing (on PostgreSQL, once the first has committed) and it reads the level the first
        // made, locked, as any later adjustment would. Rolled back with the rest if refused below.
        await tx
          .insertInto('cw_inventory_levels')
          .values({ id: rt.ids('lvl'), variant_id: variantId, location_id: locationId, on_hand: 0, reserved: 0, low_stock_threshold: null, updated_at: now })
          .onConflict((oc) => oc.columns(['variant_id', 'location_id']).doNothing())
          .execute()
        existing = await q.executeTakeFirstOrThrow()
      }
      const onHand = (existing?.on_hand ?? 0) + delta(existing?.on_hand ?? 0)
      const reserved = existing?.reserved ?? 0
      const allowance = existing?.backorder_allowance ?? 0
      if (onHand > MAX_ON_HAND) {
        throw validationError('stock adjustment', [{ path: field, message: `on-hand would be ${onHand}; at most ${MAX_ON_HAND}` }])
      }
      // Units sold beyond stock (a backorder) may stay beyond it, by the level's allowance at most.
      if (onHand < 0 || onHand - reserved < -allowance) {
        const floor = Math.max(0, reserved - allowance)
        const why = allowance > 0 ? `${reserved} units are reserved for orders, ${allowance} of them may wait beyond stock` : `the ${reserved} units reserved for orders`
        throw new CommerceError('CONFLICT', `On-hand cannot go below ${allowance > 0 ? `${floor}: ${why}` : why}`, {
          details: { variantId, locationId, reserved, requestedOnHand: onHand, ...(allowance > 0 ? { backorderAllowance: allowance } : {}) },
        })
      }
      const row: InventoryLevelTable = { ...existing, on_hand: onHand, updated_at: now, ...(threshold !== undefined ? { low_stock_threshold: threshold } : {}) }
      await tx
        .updateTable('cw_inventory_levels')
        .set({ on_hand: onHand, updated_at: now, ...(threshold !== undefined ? { low_stock_threshold: threshold } : {}) })
        .where('id', '=', existing.id)
        .execute()
      emit('inventory.adjusted', { variantId, locationId, onHand, available: onHand - reserved })
      return toLevel(row)
    })
  }

  /**
   * Sets what a variant does when its stock runs out (see {@link InventoryPolicy}): `deny` (the
   * default), `backorder` up to `backorderLimit` units beyond stock, or `preorder` until
   * `availableAt` (optionally up to `backorderLimit`; from that date on it sells only what is in
   * stock, as `deny`).
   *
   * The limit is the variant's, not each location's: it is held by one of the variant's stock
   * levels, the one already beyond stock if any, else the one at the first location by priority
   * (a level with no stock is made there when the variant has none). Units sold beyond stock are
   * reserved at that level, so its `available` goes below zero, never past the limit: the write
   * that reserves checks it, and so does the database. Lowering the limit below what is already
   * sold beyond stock is a `CONFLICT` naming `backorderLimit`; a variant that does not manage
   * stock, or a shop without a stock location, is `INVALID_STATE`.
   *
   * @example
   * ```ts
   * await commerce.inventory.setPolicy(variantId, { policy: 'backorder', backorderLimit: 5 })
   * await commerce.inventory.setPolicy(variantId, { policy: 'preorder', availableAt: '2027-03-01T00:00:00Z' })
   * const product = await commerce.catalog.getProduct('trail-runner')
   * product.variants.find((v) => v.id === variantId)?.inventoryPolicy // { policy: 'preorder', backorderLimit: null, availableAt: '2027-03-01T00:00:00.000Z' }
   * ```
   */
  async setPolicy(variantId: string, input: SetInventoryPolicyInput): Promise<InventoryPolicy> {
    const id = parseArg(fields.id, variantId, 'variantId')
    const data = parseInput(setPolicySchema, input, 'inventory policy')
    const rt = this.#rt
    const availableAt = data.policy === 'preorder' ? new Date(data.availableAt).toISOString() : null
    // A preorder's allowance ends at its date: one already past would sell nothing beyond stock.
    if (availableAt !== null && availableAt <= rt.now().toISOString()) {
      throw validationError('inventory policy', [{ path: 'availableAt', message: 'must be in the future' }])
    }
    const limit = data.policy === 'deny' ? null : (data.backorderLimit ?? null)
    const allowance = data.policy === 'deny' ? 0 : (limit ?? UNLIMITED)
    return transact(rt, async (tx, emit) => {
      let vq = tx.selectFrom('cw_variants').select(['id', 'product_id', 'manage_inventory']).where('id', '=', id)
      if (rt.storage.capabilities.rowLocks) vq = vq.forUpdate()
      const variant = await vq.executeTakeFirst()
      if (!variant) throw notFound('Variant', id)
      if (variant.manage_inventory !== 1 && data.policy !== 'deny') {
        throw new CommerceError('INVALID_STATE', `Variant ${id} does not manage stock: it never runs out`, { details: { variantId: id } })
      }
      let lq = tx
        .selectFrom('cw_inventory_levels as l')
        .innerJoin('cw_stock_locations as s', 's.id', 'l.location_id')
        .select(['l.id', 'l.on_hand', 'l.reserved', 's.priority', 's.id as location_id'])
        .where('l.variant_id', '=', id)
        .orderBy('s.priority')
        .orderBy('s.id')
      if (rt.storage.capabilities.rowLocks) lq = lq.forUpdate('l')
      const levels = await lq.execute()
      const beyond = levels.filter((l) => l.on_hand - l.reserved < 0)
      const sold = beyond.reduce((n, l) => n + (l.reserved - l.on_hand), 0)
      if (sold > allowance) {
        throw new CommerceError('CONFLICT', `${sold} units of variant ${id} are already sold beyond stock: backorderLimit cannot be lower`, {
          details: { variantId: id, field: 'backorderLimit', soldBeyondStock: sold },
        })
      }
      const now = rt.now().toISOString()
      let holder = beyond[0]?.id ?? levels[0]?.id
      if (!holder && allowance > 0) {
        const location = await tx.selectFrom('cw_stock_locations').select('id').orderBy('priority').orderBy('id').executeTakeFirst()
        if (!location) throw new CommerceError('INVALID_STATE', 'Create a stock location before selling beyond stock', { details: { variantId: id } })
        holder = rt.ids('lvl')
        await tx
          .insertInto('cw_inventory_levels')
          .values({ id: holder, variant_id: id, location_id: location.id, on_hand: 0, reserved: 0, low_stock_threshold: null, updated_at: now })
          .execute()
      }
      await tx.updateTable('cw_inventory_levels').set({ backorder_allowance: 0, allowance_until: null, updated_at: now }).where('variant_id', '=', id).where('id', '!=', holder ?? '').execute()
      if (holder) {
        await tx.updateTable('cw_inventory_levels').set({ backorder_allowance: allowance, allowance_until: availableAt, updated_at: now }).where('id', '=', holder).execute()
      }
      await tx
        .updateTable('cw_variants')
        .set({ inventory_policy: data.policy, backorder_limit: limit, available_at: availableAt, updated_at: now })
        .where('id', '=', id)
        .execute()
      // The variant as the catalog shows it changed (its policy): search's summary of it is rewritten.
      emit('product.updated', { productId: variant.product_id })
      return { policy: data.policy, backorderLimit: limit, availableAt }
    })
  }

  /** Stock of a variant at every location that holds it; `NOT_FOUND` when there is no such variant. */
  async levels(variantId: string): Promise<InventoryLevel[]> {
    const id = parseArg(fields.id, variantId, 'variantId')
    const rows = await read(this.#rt, async (db) => {
      const levels = await db.selectFrom('cw_inventory_levels').selectAll().where('variant_id', '=', id).orderBy('location_id').execute()
      // No levels: tell a variant without stock from one that does not exist.
      if (levels.length === 0 && !(await db.selectFrom('cw_variants').select('id').where('id', '=', id).executeTakeFirst())) throw notFound('Variant', id)
      return levels
    })
    return rows.map(toLevel)
  }

  /**
   * Reservations of a cart, an order or a variant (read-only), oldest first: where a checkout's
   * units were set aside, and what became of them.
   *
   * @example
   * ```ts
   * const held = await commerce.inventory.reservations({ variantId, status: 'held' })
   * ```
   */
  async reservations(input: ReservationsInput): Promise<Reservation[]> {
    const q = parseInput(reservationsSchema, input, 'reservations')
    const rows = await read(this.#rt, (db) => {
      let query = db.selectFrom('cw_reservations').selectAll().orderBy('created_at').orderBy('id').limit(q.limit)
      if (q.cartId) query = query.where('cart_id', '=', q.cartId)
      if (q.orderId) query = query.where('order_id', '=', q.orderId)
      if (q.variantId) query = query.where('variant_id', '=', q.variantId)
      if (q.status) query = query.where('status', '=', q.status)
      return query.execute()
    })
    return rows.map((r) => ({
      id: r.id,
      variantId: r.variant_id,
      locationId: r.location_id,
      quantity: r.quantity,
      cartId: r.cart_id,
      orderId: r.order_id,
      status: r.status as Reservation['status'],
      createdAt: iso(r.created_at),
    }))
  }

  /**
   * What shoppers can buy now of each variant of an active product (by id, handle or a handle it
   * used to have), counted as `carts.addItem` counts it: stock not reserved, plus a backorder's or
   * preorder's allowance while it applies. With `channel` naming a core sales channel, only the
   * stock at its locations counts, and a product not published to it is `NOT_FOUND`. A draft or
   * archived product is `NOT_FOUND`, like a missing one: its stock is not told.
   *
   * @example
   * ```ts
   * const { variants } = await commerce.inventory.productAvailability('trail-runner', { channel: 'web' })
   * for (const v of variants) console.log(v.sku, v.available ?? 'always available')
   * ```
   */
  async productAvailability(idOrHandle: string, options: ProductAvailabilityOptions = {}): Promise<ProductAvailability> {
    const key = parseArg(z.string().min(1).max(120), idOrHandle, 'idOrHandle')
    const { channel } = parseInput(availabilitySchema, options, 'options')
    const now = this.#rt.now().toISOString()
    return read(this.#rt, async (db) => {
      const product = await rowByIdOrHandle(db, 'product', key)
      if (!product || product.status !== 'active') throw notFound('Product', key)
      const channelId = await coreChannelId(db, channel)
      if (channelId && !(await isPublished(db, channelId, product.id))) throw notFound('Product', key)
      const locations = await channelLocations(db, channelId)
      const variants = await db.selectFrom('cw_variants').select(['id', 'sku', 'manage_inventory']).where('product_id', '=', product.id).orderBy('position').orderBy('id').execute()
      const counts = new Map<string, { inStock: number; allowance: number }>()
      if (variants.length) {
        const rows = await db
          .selectFrom('cw_inventory_levels')
          .select([
            'variant_id',
            sql<number>`sum(on_hand - reserved)`.as('stock'),
            // An allowance counts while it applies (a preorder's until its date), as in the write that reserves.
            sql<number>`sum(case when backorder_allowance > 0 and (allowance_until is null or allowance_until > ${now}) then backorder_allowance else 0 end)`.as('allowance'),
          ])
          .where('variant_id', 'in', variants.map((v) => v.id))
          .$if(locations !== null, (q) => q.where('location_id', 'in', locations!))
          .groupBy('variant_id')
          .execute()
        for (const r of rows) counts.set(r.variant_id, { inStock: Number(r.stock), allowance: Number(r.allowance) })
      }
      return {
        productId: product.id,
        channelId,
        variants: variants.map((v) => {
          if (Number(v.manage_inventory) !== 1) return { variantId: v.id, sku: v.sku, available: null, inStock: null }
          const c = counts.get(v.id) ?? { inStock: 0, allowance: 0 }
          return { variantId: v.id, sku: v.sku, available: Math.max(0, c.inStock + c.allowance), inStock: Math.max(0, c.inStock) }
        }),
      }
    })
  }

  /** Units of a variant that can still be sold, over all locations. */
  async available(variantId: string): Promise<number> {
    return (await this.levels(variantId)).reduce((sum, l) => sum + l.available, 0)
  }
}

const beyondStockOfCart = compiledQuery((db, $: { cartId: string }) =>
  db
    .selectFrom('cw_reservations as r')
    .innerJoin('cw_variants as v', 'v.id', 'r.variant_id')
    .select(['r.variant_id', 'r.beyond_stock', 'v.inventory_policy', 'v.available_at'])
    .where('r.cart_id', '=', $.cartId)
    .where('r.status', '=', 'held')
    .where('r.beyond_stock', '>', 0),
)

/**
 * @internal What a cart's held reservations sold beyond stock, per variant: the order lines'
 * snapshot when the cart becomes an order.
 */
export async function beyondStockOf(db: Executor, cartId: string): Promise<Map<string, BeyondStock>> {
  const out = new Map<string, BeyondStock>()
  for (const r of await beyondStockOfCart.rows(db as Db, { cartId })) {
    const seen = out.get(r.variant_id)
    if (seen) {
      seen.quantity += r.beyond_stock ?? 0
      continue
    }
    const preorder = r.inventory_policy === 'preorder'
    out.set(r.variant_id, {
      policy: preorder ? 'preorder' : 'backorder',
      quantity: r.beyond_stock ?? 0,
      availableAt: preorder ? isoOrNull(r.available_at ?? null) : null,
    })
  }
  return out
}
