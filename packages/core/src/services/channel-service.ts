import { sql } from 'kysely'
import { z } from 'zod'
import { CommerceError, notFound, validationError } from '../errors.js'
import type { Executor, Tx } from '../db/database.js'
import type { ChannelTable } from '../db/migration-0014-channels.js'
import { iso } from '../db/rows.js'
import { decodeCursor, keysetPage, pageSchema } from '../paging.js'
import { read, transact, type Runtime } from '../runtime.js'
import type { Page, Product } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { loadProducts } from './catalog-service.js'
import { localeSchema } from './catalog-texts.js'

/** A channel's code: lower-case letters, digits, `-` and `_`, starting with a letter or digit. */
const codeSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, dashes and underscores')

const unique = <T>(list: readonly T[]) => new Set(list).size === list.length
const currenciesSchema = z.array(fields.currency).min(1, 'a channel sells in at least one currency').max(50).refine(unique, 'a currency is listed twice')
const localesSchema = z.array(localeSchema).max(50).refine(unique, 'a locale is listed twice')
const locationsSchema = z.array(fields.id).max(100).refine(unique, 'a stock location is listed twice')

const createChannelSchema = z.strictObject({
  code: codeSchema,
  name: fields.shortText,
  currencies: currenciesSchema,
  locales: localesSchema.default([]),
  taxInclusive: z.boolean().default(false),
  stockLocationIds: locationsSchema.default([]),
  active: z.boolean().default(true),
})
const updateChannelSchema = z.strictObject({
  code: codeSchema.optional(),
  name: fields.shortText.optional(),
  currencies: currenciesSchema.optional(),
  locales: localesSchema.optional(),
  taxInclusive: z.boolean().optional(),
  stockLocationIds: locationsSchema.optional(),
  active: z.boolean().optional(),
})
const listChannelsSchema = pageSchema.extend({ active: z.boolean().optional() })
const channelProductsSchema = pageSchema.extend({ locale: localeSchema.optional() })
const idOrCodeSchema = z.string().min(1).max(64)
const productIdsSchema = z.strictObject({ productIds: z.array(fields.id).min(1).max(250) })

/**
 * A sales channel: where a shop sells (its web store, a point of sale, a marketplace), in which
 * currencies and locales, from which stock locations, and which products.
 *
 * @example
 * ```ts
 * const web: Channel = await commerce.channels.get('web')
 * web.currencies[0] // the channel's default currency
 * web.stockLocationIds.length === 0 // sells from every location
 * ```
 */
export interface Channel {
  id: string
  /** Unique (`web`, `pos`, `marketplace-x`): lower-case letters, digits, `-` and `_`. */
  code: string
  name: string
  /** ISO 4217, at least one; the first is the channel's default. A cart in the channel must use one of them. */
  currencies: string[]
  /** BCP 47 tags, possibly none; the first is the channel's default. */
  locales: string[]
  /**
   * Whether the channel shows and charges prices tax-inclusive by default; carts opened in the
   * channel carry it (`cart.taxInclusive`). Stored and exposed only: tax itself does not read it yet.
   */
  taxInclusive: boolean
  /** The stock locations the channel sells from; empty: every location. */
  stockLocationIds: string[]
  /** An inactive channel refuses new carts; carts already open in it are left alone. */
  active: boolean
  createdAt: string
  updatedAt: string
}

/**
 * Input of `channels.create`: `code` and `name`, the `currencies` it sells in (the first is its
 * default), and optionally `locales`, `taxInclusive` (default false), `stockLocationIds` (default
 * `[]`: every location) and `active` (default true).
 *
 * @example
 * ```ts
 * const input: CreateChannelInput = { code: 'pos', name: 'Shop floor', currencies: ['EUR'], taxInclusive: true }
 * ```
 */
export type CreateChannelInput = z.input<typeof createChannelSchema>
/**
 * Input of `channels.update`: the fields to change; a list given replaces the channel's list.
 *
 * @example
 * ```ts
 * const input: UpdateChannelInput = { currencies: ['EUR', 'CHF'], active: false }
 * ```
 */
export type UpdateChannelInput = z.input<typeof updateChannelSchema>
/**
 * Input of `channels.list`: a page (`limit`, `cursor`), optionally only active or inactive channels.
 *
 * @example
 * ```ts
 * const input: ListChannelsInput = { active: true, limit: 50 }
 * ```
 */
export type ListChannelsInput = z.input<typeof listChannelsSchema>
/**
 * Input of `channels.products`: a page (`limit`, `cursor`) and the `locale` of the texts.
 *
 * @example
 * ```ts
 * const input: ChannelProductsInput = { limit: 24, locale: 'de' }
 * ```
 */
export type ChannelProductsInput = z.input<typeof channelProductsSchema>

function toChannel(row: ChannelTable): Channel {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    currencies: JSON.parse(row.currencies) as string[],
    locales: JSON.parse(row.locales) as string[],
    taxInclusive: Number(row.tax_inclusive) === 1,
    stockLocationIds: JSON.parse(row.stock_location_ids) as string[],
    active: Number(row.active) === 1,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

/** A channel by id or code; undefined when there is none. */
async function channelRow(db: Executor, idOrCode: string): Promise<ChannelTable | undefined> {
  return (await db.selectFrom('cw_channels').selectAll().where((eb) => eb.or([eb('id', '=', idOrCode), eb('code', '=', idOrCode)])).orderBy('id').limit(1).executeTakeFirst()) as
    | ChannelTable
    | undefined
}

/** Refuses stock locations that do not exist, naming the first by its place in `stockLocationIds`. */
async function assertLocations(tx: Tx, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return
  const known = new Set((await tx.selectFrom('cw_stock_locations').select('id').where('id', 'in', [...ids]).execute()).map((r) => r.id))
  const missing = ids.findIndex((id) => !known.has(id))
  if (missing >= 0) throw validationError('channel', [{ path: `stockLocationIds.${missing}`, message: `no stock location ${JSON.stringify(ids[missing])}` }])
}

/**
 * @internal What a cart in a channel needs to know of it, read on `db`; null for an unknown
 * channel. `locationIds` null: every location.
 */
export async function channelScope(
  db: Executor,
  channelId: string,
): Promise<{ id: string; code: string; active: boolean; currencies: string[]; taxInclusive: boolean; locationIds: string[] | null } | null> {
  const row = await db
    .selectFrom('cw_channels')
    .select(['id', 'code', 'active', 'currencies', 'tax_inclusive', 'stock_location_ids'])
    .where('id', '=', channelId)
    .executeTakeFirst()
  if (!row) return null
  const locations = JSON.parse(row.stock_location_ids) as string[]
  return {
    id: row.id,
    code: row.code,
    active: Number(row.active) === 1,
    currencies: JSON.parse(row.currencies) as string[],
    taxInclusive: Number(row.tax_inclusive) === 1,
    locationIds: locations.length ? locations : null,
  }
}

/** @internal The stock locations a channel sells from, or null for every location (and for no channel). */
export async function channelLocations(db: Executor, channelId: string | null | undefined): Promise<string[] | null> {
  if (!channelId) return null
  const row = await db.selectFrom('cw_channels').select('stock_location_ids').where('id', '=', channelId).executeTakeFirst()
  const ids = row ? (JSON.parse(row.stock_location_ids) as string[]) : []
  return ids.length ? ids : null
}

/**
 * @internal Opens a cart in a channel, in the transaction that writes the cart: the channel must
 * exist (`NOT_FOUND`), be active (`INVALID_STATE`) and sell in `currency` (`VALIDATION` naming
 * `currency`). Returns the tax-inclusive setting the cart keeps (1 or 0).
 */
export async function channelForCart(db: Executor, channelId: string, currency: string): Promise<number> {
  const scope = await channelScope(db, channelId)
  if (!scope) throw notFound('Channel', channelId)
  if (!scope.active) {
    throw new CommerceError('INVALID_STATE', `Channel ${scope.code} (${channelId}) is inactive: no cart can be opened in it`, { details: { channelId, fields: ['channelId'] } })
  }
  if (!scope.currencies.includes(currency)) {
    throw validationError('cart', [{ path: 'currency', message: `channel ${scope.code} does not sell in ${currency}; it sells in ${scope.currencies.join(', ')}` }])
  }
  return scope.taxInclusive ? 1 : 0
}

/**
 * @internal What a channel's cart may take of a variant: `published` (its product is published to
 * the channel) and the units `available` at the channel's stock locations, allowances that apply
 * now included, as `carts.addItem` counts them; `available` null when the channel sells from every
 * location (the caller's count over every level stands).
 */
export async function channelAvailability(
  db: Executor,
  channelId: string,
  productId: string,
  variantId: string,
  now: string,
): Promise<{ published: boolean; available: number | null }> {
  const published = await isPublished(db, channelId, productId)
  if (!published) return { published, available: null }
  const locations = await channelLocations(db, channelId)
  if (locations === null) return { published, available: null }
  const row = await db
    .selectFrom('cw_inventory_levels as s')
    .select((eb) =>
      eb.fn
        .sum<number>(sql`s.on_hand - s.reserved + case when s.backorder_allowance > 0 and (s.allowance_until is null or s.allowance_until > ${now}) then s.backorder_allowance else 0 end`)
        .as('available'),
    )
    .where('s.variant_id', '=', variantId)
    .where('s.location_id', 'in', locations)
    .executeTakeFirst()
  return { published, available: Number(row?.available ?? 0) }
}

/** @internal Whether a product is published to a channel. */
export async function isPublished(db: Executor, channelId: string, productId: string): Promise<boolean> {
  const row = await db.selectFrom('cw_channel_products').select('product_id').where('channel_id', '=', channelId).where('product_id', '=', productId).executeTakeFirst()
  return row !== undefined
}

/**
 * @internal The id of the core channel a catalog query names (`channel`: an id or a code), or
 * null when no core channel has it (the name then only feeds the visibility source).
 */
export async function coreChannelId(db: Executor, channel: string | null | undefined): Promise<string | null> {
  if (!channel) return null
  return (await channelRow(db, channel))?.id ?? null
}

/**
 * Sales channels (web, point of sale, marketplaces): each with its currencies, locales, default
 * tax-inclusive setting, the stock locations it sells from and the products published to it.
 * A cart opened in a channel (`carts.create({ channelId })`) must use one of its currencies, holds
 * only products published to it, reserves stock only at its locations at checkout, and its order
 * keeps the channel (`order.channelId`). Search and catalog listings given `channel` find only
 * the products published to it. See docs/channels.md.
 *
 * @example
 * ```ts
 * const web = await commerce.channels.create({ code: 'web', name: 'Web store', currencies: ['USD', 'EUR'], locales: ['en-US'] })
 * const shoe = await commerce.catalog.getProduct('trail-runner')
 * await commerce.channels.publish(web.id, [shoe.id])
 * const cart = await commerce.carts.create({ channelId: web.id, currency: 'USD' })
 * ```
 */
export class ChannelService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /**
   * Creates a channel. `CONFLICT` naming `code` when another channel has it; `VALIDATION` naming
   * `stockLocationIds.<n>` for a stock location that does not exist.
   *
   * @example
   * ```ts
   * const pos = await commerce.channels.create({ code: 'pos', name: 'Shop floor', currencies: ['EUR'], taxInclusive: true })
   * ```
   */
  async create(input: CreateChannelInput): Promise<Channel> {
    const data = parseInput(createChannelSchema, input, 'channel')
    const rt = this.#rt
    const id = rt.ids('chan')
    await this.#write(data.code, async (tx, emit) => {
      await assertLocations(tx, data.stockLocationIds)
      const now = rt.now().toISOString()
      await tx
        .insertInto('cw_channels')
        .values({
          id,
          code: data.code,
          name: data.name,
          currencies: JSON.stringify(data.currencies),
          locales: JSON.stringify(data.locales),
          tax_inclusive: data.taxInclusive ? 1 : 0,
          stock_location_ids: JSON.stringify(data.stockLocationIds),
          active: data.active ? 1 : 0,
          created_at: now,
          updated_at: now,
        })
        .execute()
      emit('channel.created', { channelId: id, code: data.code })
    })
    return this.get(id)
  }

  /**
   * The channel with this id or code; `NOT_FOUND` when there is none.
   *
   * @example
   * ```ts
   * const web = await commerce.channels.get('web')
   * ```
   */
  async get(idOrCode: string): Promise<Channel> {
    const key = parseArg(idOrCodeSchema, idOrCode, 'idOrCode')
    const row = await read(this.#rt, (db) => channelRow(db, key))
    if (!row) throw notFound('Channel', key)
    return toChannel(row)
  }

  /**
   * Channels, newest first, a page at a time; `active` keeps only active (or inactive) ones.
   *
   * @example
   * ```ts
   * const page = await commerce.channels.list({ active: true })
   * const next = page.nextCursor ? await commerce.channels.list({ active: true, cursor: page.nextCursor }) : null
   * ```
   */
  async list(input: ListChannelsInput = {}): Promise<Page<Channel>> {
    const data = parseInput(listChannelsSchema, input, 'channel list')
    return read(this.#rt, (db) => {
      let q = db.selectFrom('cw_channels').selectAll()
      if (data.active !== undefined) q = q.where('active', '=', data.active ? 1 : 0)
      return keysetPage(q, data, async (rows) => rows.map((r) => toChannel(r as ChannelTable)))
    })
  }

  /**
   * Changes a channel. A new `currencies`, `locales` or `stockLocationIds` list replaces the old
   * one; carts already open keep their currency. `CONFLICT` naming `code` for a taken code.
   *
   * @example
   * ```ts
   * const { id: channelId } = await commerce.channels.get('pos')
   * await commerce.channels.update(channelId, { active: false })
   * ```
   */
  async update(channelId: string, input: UpdateChannelInput): Promise<Channel> {
    const id = parseArg(fields.id, channelId, 'channelId')
    const data = parseInput(updateChannelSchema, input, 'channel')
    const rt = this.#rt
    await this.#write(data.code, async (tx, emit) => {
      const exists = await tx.selectFrom('cw_channels').select('id').where('id', '=', id).executeTakeFirst()
      if (!exists) throw notFound('Channel', id)
      if (data.stockLocationIds) await assertLocations(tx, data.stockLocationIds)
      await tx
        .updateTable('cw_channels')
        .set({
          ...(data.code !== undefined ? { code: data.code } : {}),
          ...(data.name !== undefined ? { name: data.name } : {}),
          ...(data.currencies !== undefined ? { currencies: JSON.stringify(data.currencies) } : {}),
          ...(data.locales !== undefined ? { locales: JSON.stringify(data.locales) } : {}),
          ...(data.taxInclusive !== undefined ? { tax_inclusive: data.taxInclusive ? 1 : 0 } : {}),
          ...(data.stockLocationIds !== undefined ? { stock_location_ids: JSON.stringify(data.stockLocationIds) } : {}),
          ...(data.active !== undefined ? { active: data.active ? 1 : 0 } : {}),
          updated_at: rt.now().toISOString(),
        })
        .where('id', '=', id)
        .execute()
      emit('channel.updated', { channelId: id })
    })
    return this.get(id)
  }

  /**
   * Publishes products to a channel: they can be found and bought in it. Publishing a product
   * already published is harmless. `NOT_FOUND` for an unknown channel or product (nothing published).
   *
   * @example
   * ```ts
   * const { id: channelId } = await commerce.channels.get('web')
   * const shoe = await commerce.catalog.getProduct('trail-runner')
   * await commerce.channels.publish(channelId, [shoe.id])
   * ```
   */
  async publish(channelId: string, productIds: string[]): Promise<void> {
    const id = parseArg(fields.id, channelId, 'channelId')
    const { productIds: ids } = parseInput(productIdsSchema, { productIds }, 'products')
    const rt = this.#rt
    await transact(
      rt,
      async (tx, emit) => {
        await existing(tx, id)
        const wanted = [...new Set(ids)]
        const known = new Set((await tx.selectFrom('cw_products').select('id').where('id', 'in', wanted).execute()).map((r) => r.id))
        const missing = wanted.find((p) => !known.has(p))
        if (missing !== undefined) throw notFound('Product', missing)
        const present = new Set(
          (await tx.selectFrom('cw_channel_products').select('product_id').where('channel_id', '=', id).where('product_id', 'in', wanted).execute()).map((r) => r.product_id),
        )
        const now = rt.now().toISOString()
        const rows = wanted.filter((p) => !present.has(p)).map((p) => ({ channel_id: id, product_id: p, created_at: now }))
        if (rows.length) await tx.insertInto('cw_channel_products').values(rows).execute()
        emit('channel.updated', { channelId: id })
      },
      { idempotent: true },
    )
  }

  /**
   * Takes products out of a channel: they are no longer found in it and cannot be added to its
   * carts (lines already in a cart stay). `NOT_FOUND` for an unknown channel.
   *
   * @example
   * ```ts
   * const { id: channelId } = await commerce.channels.get('web')
   * const shoe = await commerce.catalog.getProduct('trail-runner')
   * await commerce.channels.unpublish(channelId, [shoe.id])
   * ```
   */
  async unpublish(channelId: string, productIds: string[]): Promise<void> {
    const id = parseArg(fields.id, channelId, 'channelId')
    const { productIds: ids } = parseInput(productIdsSchema, { productIds }, 'products')
    await transact(
      this.#rt,
      async (tx, emit) => {
        await existing(tx, id)
        await tx.deleteFrom('cw_channel_products').where('channel_id', '=', id).where('product_id', 'in', ids).execute()
        emit('channel.updated', { channelId: id })
      },
      { idempotent: true },
    )
  }

  /**
   * The products published to a channel, whatever their status, newest first, a page at a time.
   * `NOT_FOUND` for an unknown channel.
   *
   * @example
   * ```ts
   * const { id: channelId } = await commerce.channels.get('web')
   * const page = await commerce.channels.products(channelId, { limit: 50 })
   * ```
   */
  async products(channelId: string, input: ChannelProductsInput = {}): Promise<Page<Product>> {
    const id = parseArg(fields.id, channelId, 'channelId')
    const data = parseInput(channelProductsSchema, input, 'page')
    // A bad cursor is bad input, whether or not the channel exists.
    decodeCursor(data.cursor)
    const rt = this.#rt
    return read(rt, async (db) => {
      await existing(db, id)
      const q = db
        .selectFrom('cw_products as p')
        .selectAll('p')
        .where('p.id', 'in', (eb) => eb.selectFrom('cw_channel_products as cp').select('cp.product_id').where('cp.channel_id', '=', id))
      return keysetPage(q, { limit: data.limit, ...(data.cursor === undefined ? {} : { cursor: data.cursor }) }, (rows) => loadProducts(db, rows, rt, data.locale))
    })
  }

  /** A write that may take a code: a unique violation on it is `CONFLICT` naming `code`. */
  async #write(code: string | undefined, work: Parameters<typeof transact>[1]): Promise<void> {
    try {
      await transact(this.#rt, work, { idempotent: true })
    } catch (error) {
      const cause = (error as { cause?: unknown })?.cause ?? error
      if (code !== undefined && this.#rt.storage.isUniqueViolation(cause)) {
        throw new CommerceError('CONFLICT', `The code ${JSON.stringify(code)} is already used by another channel`, {
          cause,
          details: { conflicts: [{ field: 'code', value: code }], fields: ['code'] },
        })
      }
      throw error
    }
  }
}

async function existing(db: Executor, id: string): Promise<void> {
  const row = await db.selectFrom('cw_channels').select('id').where('id', '=', id).executeTakeFirst()
  if (!row) throw notFound('Channel', id)
}
