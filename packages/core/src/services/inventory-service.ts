import { sql } from 'kysely'
import { z } from 'zod'
import { allocateStock, type LevelSnapshot } from '../allocation.js'
import { CommerceError, notFound, validationError } from '../errors.js'
import { compiledQuery } from '../db/compiled-query.js'
import type { Db, InventoryLevelTable, ReservationTable, Tx } from '../db/database.js'
import { iso } from '../db/rows.js'
import { read, transact, type Emit, type Runtime } from '../runtime.js'
import type { InventoryLevel, Reservation, StockLocation } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'

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
    .select(['l.id', 'l.variant_id', 'l.location_id', 'l.on_hand', 'l.reserved', 'l.low_stock_threshold', 's.priority'])
    .where('l.variant_id', 'in', $.variantIds)
    .where('v.manage_inventory', '=', 1)
    .orderBy('l.variant_id')
    .orderBy('l.id')
}

const levelsToReserve = compiledQuery(trackedLevels)

/** The same, locking the levels (and only them) until the transaction ends: PostgreSQL. */
const levelsToReserveForUpdate = compiledQuery((db, $: { variantIds: string[] }) => trackedLevels(db, $).forUpdate('l'))

const reserveLevel = compiledQuery((db, $: { levelId: string; quantity: number; updatedAt: string }) =>
  db
    .updateTable('cw_inventory_levels')
    .set({ reserved: sql`reserved + ${$.quantity}`, updated_at: $.updatedAt })
    .where('id', '=', $.levelId)
    .where(sql<boolean>`on_hand - reserved >= ${$.quantity}`),
)

const insertReservations = compiledQuery((db, $: { reservations: Array<Omit<ReservationTable, 'created_at'> & { created_at: string }> }) =>
  db.insertInto('cw_reservations').values($.reservations),
)

/** Where a cart's units will be reserved: decided by {@link planReservation}, written by {@link applyReservation}. */
export interface ReservationPlan {
  cartId: string
  allocations: Array<{ levelId: string; variantId: string; locationId: string; quantity: number }>
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
 */
export async function planReservation(rt: Runtime, tx: Tx, cartId: string, lines: readonly ReservationLine[]): Promise<ReservationPlan | null> {
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
  const { allocations, shortages } = allocateStock(sorted, snapshots)
  if (shortages.length) throw await outOfStock(tx, shortages)
  allocations.sort((a, b) => (a.levelId < b.levelId ? -1 : a.levelId > b.levelId ? 1 : 0))
  return { cartId, allocations, levels: new Map(rows.map((r) => [r.id, r])) }
}

/**
 * Writes a {@link ReservationPlan}: the reservation rows, then one conditional write per level
 * that cannot take `available` below zero (a CHECK constraint backs it). Call it as late in the
 * transaction as possible: on PostgreSQL the level rows stay locked from here to the commit.
 */
export async function applyReservation(rt: Runtime, tx: Tx, emit: Emit, plan: ReservationPlan | null): Promise<void> {
  if (!plan) return
  const now = rt.now().toISOString()
  await insertReservations.execute(tx, {
    reservations: plan.allocations.map((a) => ({
      id: rt.ids('res'),
      variant_id: a.variantId,
      location_id: a.locationId,
      level_id: a.levelId,
      quantity: a.quantity,
      cart_id: plan.cartId,
      order_id: null,
      status: 'held',
      created_at: now,
    })),
  })
  for (const a of plan.allocations) {
    const reserved = await reserveLevel.affected(tx, { levelId: a.levelId, quantity: a.quantity, updatedAt: now })
    // Another checkout took the units since they were read: the whole transaction rolls back.
    if (reserved !== 1) throw await outOfStock(tx, [{ variantId: a.variantId, requested: a.quantity, available: 0 }])
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
      const existing = await q.executeTakeFirst()
      const now = rt.now().toISOString()
      const onHand = (existing?.on_hand ?? 0) + delta(existing?.on_hand ?? 0)
      const reserved = existing?.reserved ?? 0
      if (onHand > MAX_ON_HAND) {
        throw validationError('stock adjustment', [{ path: field, message: `on-hand would be ${onHand}; at most ${MAX_ON_HAND}` }])
      }
      if (onHand < reserved) {
        throw new CommerceError('CONFLICT', `On-hand cannot go below the ${reserved} units reserved for orders`, {
          details: { variantId, locationId, reserved, requestedOnHand: onHand },
        })
      }
      let row: InventoryLevelTable
      if (existing) {
        row = { ...existing, on_hand: onHand, updated_at: now, ...(threshold !== undefined ? { low_stock_threshold: threshold } : {}) }
        await tx
          .updateTable('cw_inventory_levels')
          .set({ on_hand: onHand, updated_at: now, ...(threshold !== undefined ? { low_stock_threshold: threshold } : {}) })
          .where('id', '=', existing.id)
          .execute()
      } else {
        row = {
          id: rt.ids('lvl'),
          variant_id: variantId,
          location_id: locationId,
          on_hand: onHand,
          reserved: 0,
          low_stock_threshold: threshold ?? null,
          updated_at: now,
        }
        await tx.insertInto('cw_inventory_levels').values(row).execute()
      }
      emit('inventory.adjusted', { variantId, locationId, onHand, available: onHand - reserved })
      return toLevel(row)
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

  /** Units of a variant that can still be sold, over all locations. */
  async available(variantId: string): Promise<number> {
    return (await this.levels(variantId)).reduce((sum, l) => sum + l.available, 0)
  }
}
