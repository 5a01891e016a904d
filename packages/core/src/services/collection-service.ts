import { z } from 'zod'
import type { Expression, ExpressionBuilder, SqlBool } from 'kysely'
import { CommerceError, notFound, validationError } from '../errors.js'
import type { CollectionRuleTable, CollectionTable, CoreDatabase, Executor, Tx } from '../db/database.js'
import { iso } from '../db/rows.js'
import { keysetPage } from '../paging.js'
import { read, transact, type Runtime } from '../runtime.js'
import type { Collection, CollectionRule, Page, Product } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { loadProducts } from './catalog-service.js'
import { catalogSettings, claimHandle, keepRedirect, rowByIdOrHandle, visibleIds } from './catalog-texts.js'
import { addListed, addProductsSchema, listedProducts, listedSchema, readSchema, translateListed, type ListedProductsInput } from './category-service.js'

const text64 = z.string().trim().min(1).max(64)
/** A tag as products keep it: trimmed, inner whitespace collapsed (compared ignoring case). */
const tag64 = z
  .string()
  .transform((t) => t.trim().replace(/\s+/g, ' '))
  .pipe(z.string().min(1).max(64))
const ruleSchema = z.discriminatedUnion('field', [
  z.strictObject({ field: z.literal('tag'), value: tag64 }),
  z.strictObject({ field: z.literal('type'), value: text64 }),
  z
    .strictObject({ field: z.literal('price'), currency: fields.currency, min: fields.amount.optional(), max: fields.amount.optional() })
    .refine((r) => r.min !== undefined || r.max !== undefined, { message: 'give min, max or both', path: ['min'] })
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'must not be greater than max', path: ['min'] }),
  z.strictObject({ field: z.literal('option'), option: fields.optionName, value: text64 }),
])
const rulesSchema = z.array(ruleSchema).max(20)
const createCollectionSchema = z
  .strictObject({
    title: fields.shortText,
    handle: fields.handle,
    description: fields.longText.nullable().optional(),
    kind: z.enum(['manual', 'rules']).default('manual'),
    match: z.enum(['all', 'any']).default('all'),
    rules: rulesSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.kind === 'manual' && c.rules?.length) ctx.addIssue({ code: 'custom', path: ['rules'], message: 'a hand-picked collection has no rules' })
    if (c.kind === 'rules' && !c.rules?.length) ctx.addIssue({ code: 'custom', path: ['rules'], message: 'a rule-based collection needs at least one rule' })
  })
const updateCollectionSchema = z.strictObject({
  title: fields.shortText.optional(),
  handle: fields.handle.optional(),
  description: fields.longText.nullable().optional(),
  match: z.enum(['all', 'any']).optional(),
  rules: rulesSchema.min(1).optional(),
})

/**
 * Input of `collections.create`: hand-picked (`kind: 'manual'`, products added with
 * `addProducts`) or rule-based (`kind: 'rules'`, products matching `all` or `any` of `rules`).
 *
 * @example
 * ```ts
 * const input: CreateCollectionInput = {
 *   title: 'Red under 100', handle: 'red-under-100', kind: 'rules', match: 'all',
 *   rules: [{ field: 'option', option: 'Color', value: 'Red' }, { field: 'price', currency: 'USD', max: 10000 }],
 * }
 * ```
 */
export type CreateCollectionInput = z.input<typeof createCollectionSchema>
/**
 * Input of `collections.update`; `rules` replaces the rules of a rule-based collection.
 *
 * @example
 * ```ts
 * const input: UpdateCollectionInput = { match: 'any', rules: [{ field: 'tag', value: 'sale' }] }
 * ```
 */
export type UpdateCollectionInput = z.input<typeof updateCollectionSchema>

function toRule(row: CollectionRuleTable): CollectionRule {
  if (row.field === 'price') {
    return { field: 'price', currency: row.currency!, ...(row.min_amount == null ? {} : { min: Number(row.min_amount) }), ...(row.max_amount == null ? {} : { max: Number(row.max_amount) }) }
  }
  if (row.field === 'option') return { field: 'option', option: row.option!, value: row.value! }
  return { field: row.field as 'tag' | 'type', value: row.value! }
}

function ruleRows(collectionId: string, rules: ReadonlyArray<z.output<typeof ruleSchema>>): CollectionRuleTable[] {
  return rules.map((r, position) => ({
    collection_id: collectionId,
    position,
    field: r.field,
    option: r.field === 'option' ? r.option : null,
    value: r.field === 'price' ? null : r.field === 'tag' ? r.value.toLowerCase() : r.value,
    currency: r.field === 'price' ? r.currency : null,
    min_amount: r.field === 'price' ? (r.min ?? null) : null,
    max_amount: r.field === 'price' ? (r.max ?? null) : null,
  }))
}

type ProductEb = ExpressionBuilder<CoreDatabase & { p: CoreDatabase['cw_products'] }, 'p'>

/**
 * One rule as a condition on `p` (cw_products), in SQL: every value is bound, never spliced.
 * Prices: a variant's base price (one unit) in the currency within the range.
 */
function ruleCondition(eb: ProductEb, rule: CollectionRule): Expression<SqlBool> {
  switch (rule.field) {
    case 'tag':
      return eb.exists(eb.selectFrom('cw_product_tags as t').select('t.product_id').whereRef('t.product_id', '=', 'p.id').where('t.tag', '=', rule.value.toLowerCase()))
    case 'type':
      return eb('p.product_type', '=', rule.value)
    case 'option':
      return eb.exists(
        eb.selectFrom('cw_variant_option_values as o').select('o.variant_id').whereRef('o.product_id', '=', 'p.id').where('o.option', '=', rule.option).where('o.value', '=', rule.value),
      )
    case 'price': {
      let q = eb
        .selectFrom('cw_prices as pr')
        .innerJoin('cw_variants as v', 'v.id', 'pr.variant_id')
        .select('pr.id')
        .whereRef('v.product_id', '=', 'p.id')
        .where('pr.currency', '=', rule.currency)
        .where('pr.min_quantity', '=', 1)
      if (rule.min !== undefined) q = q.where('pr.amount', '>=', rule.min)
      if (rule.max !== undefined) q = q.where('pr.amount', '<=', rule.max)
      return eb.exists(q)
    }
  }
}

/**
 * A collection's membership as a condition on `p` (cw_products), for queries of other services
 * (search): hand-picked products, or the collection's rules; null for an unknown collection.
 * @internal
 */
export async function collectionMembership(db: Executor, collectionId: string): Promise<((eb: ProductEb) => Expression<SqlBool>) | null> {
  const row = await db.selectFrom('cw_collections').select(['kind', 'match_mode']).where('id', '=', collectionId).executeTakeFirst()
  if (!row) return null
  if (row.kind === 'manual') {
    return (eb) => eb('p.id', 'in', eb.selectFrom('cw_collection_products as cc').select('cc.product_id').where('cc.collection_id', '=', collectionId))
  }
  const rules = (await db.selectFrom('cw_collection_rules').selectAll().where('collection_id', '=', collectionId).orderBy('position').execute()).map(toRule)
  return (eb) => {
    const conditions = rules.map((r) => ruleCondition(eb, r))
    return row.match_mode === 'any' ? eb.or(conditions) : eb.and(conditions)
  }
}

/**
 * Collections of products: hand-picked, in the merchant's order, or rule-based, by tag, product
 * type, price range in a currency or option value (`Color` = `Red`), combined with `all` or
 * `any`. Rule-based collections are resolved in SQL when read, so they follow the catalog as it
 * changes. Handles are unique; a changed handle keeps the old one resolving to the collection.
 *
 * @example
 * ```ts
 * const sale = await commerce.collections.create({ title: 'Sale', handle: 'sale', kind: 'rules', rules: [{ field: 'tag', value: 'sale' }] })
 * const page = await commerce.collections.products(sale.id, { visibleOnly: true })
 * ```
 */
export class CollectionService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /**
   * Creates a collection. `CONFLICT` for a taken handle.
   *
   * @example
   * ```ts
   * const picks = await commerce.collections.create({ title: 'Staff picks', handle: 'staff-picks' })
   * ```
   */
  async create(input: CreateCollectionInput): Promise<Collection> {
    const data = parseInput(createCollectionSchema, input, 'collection')
    const rt = this.#rt
    const id = rt.ids('coll')
    await this.#write(data.handle, async (tx, emit) => {
      await claimHandle(tx, 'collection', data.handle, null)
      const now = rt.now().toISOString()
      await tx
        .insertInto('cw_collections')
        .values({ id, handle: data.handle, title: data.title, description: data.description ?? null, kind: data.kind, match_mode: data.match, created_at: now, updated_at: now })
        .execute()
      const rules = ruleRows(id, data.rules ?? [])
      if (rules.length) await tx.insertInto('cw_collection_rules').values(rules).execute()
      emit('collection.created', { collectionId: id, handle: data.handle })
    })
    return this.get(id)
  }

  /**
   * The collection with this id, handle or old handle; `NOT_FOUND` when there is none.
   *
   * @example
   * ```ts
   * const sale = await commerce.collections.get('sale', { locale: 'de' })
   * ```
   */
  async get(idOrHandle: string, options: { locale?: string } = {}): Promise<Collection> {
    const key = parseArg(z.string().min(1).max(120), idOrHandle, 'idOrHandle')
    const { locale } = parseInput(readSchema, options, 'options')
    const rt = this.#rt
    const found = await read(rt, async (db) => {
      const row = await rowByIdOrHandle(db, 'collection', key)
      if (!row) return null
      const rules = await db.selectFrom('cw_collection_rules').selectAll().where('collection_id', '=', row.id).orderBy('position').execute()
      return (await translateListed(rt, db, [toCollection(row, rules)], locale, 'collection'))[0]!
    })
    if (!found) throw notFound('Collection', key)
    return found
  }

  /**
   * Changes a collection's texts, handle, or rules and how they combine.
   *
   * @example
   * ```ts
   * const { id: collectionId } = await commerce.collections.get('sale')
   * await commerce.collections.update(collectionId, { rules: [{ field: 'type', value: 'Shoes' }] })
   * ```
   */
  async update(collectionId: string, input: UpdateCollectionInput): Promise<Collection> {
    const id = parseArg(fields.id, collectionId, 'collectionId')
    const data = parseInput(updateCollectionSchema, input, 'collection')
    const rt = this.#rt
    await this.#write(data.handle, async (tx, emit) => {
      const now = rt.now().toISOString()
      const before = await tx.selectFrom('cw_collections').select(['handle', 'kind']).where('id', '=', id).executeTakeFirst()
      if (!before) throw notFound('Collection', id)
      if (before.kind === 'manual' && (data.rules !== undefined || data.match !== undefined)) {
        throw validationError('collection', [{ path: data.rules !== undefined ? 'rules' : 'match', message: 'a hand-picked collection has no rules' }])
      }
      const newHandle = data.handle !== undefined && data.handle !== before.handle ? data.handle : undefined
      if (newHandle !== undefined) await claimHandle(tx, 'collection', newHandle, id)
      await tx
        .updateTable('cw_collections')
        .set({
          ...(data.title !== undefined ? { title: data.title } : {}),
          ...(data.description !== undefined ? { description: data.description } : {}),
          ...(newHandle !== undefined ? { handle: newHandle } : {}),
          ...(data.match !== undefined ? { match_mode: data.match } : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute()
      if (newHandle !== undefined) await keepRedirect(tx, 'collection', before.handle, id, now)
      if (data.rules !== undefined) {
        await tx.deleteFrom('cw_collection_rules').where('collection_id', '=', id).execute()
        await tx.insertInto('cw_collection_rules').values(ruleRows(id, data.rules)).execute()
      }
      emit('collection.updated', { collectionId: id })
    })
    return this.get(id)
  }

  /**
   * Deletes a collection (its products stay in the catalog).
   *
   * @example
   * ```ts
   * const { id: collectionId } = await commerce.collections.get('sale')
   * await commerce.collections.delete(collectionId)
   * ```
   */
  async delete(collectionId: string): Promise<void> {
    const id = parseArg(fields.id, collectionId, 'collectionId')
    await transact(this.#rt, async (tx, emit) => {
      const result = await tx.deleteFrom('cw_collections').where('id', '=', id).executeTakeFirst()
      if (Number(result.numDeletedRows) === 0) throw notFound('Collection', id)
      await tx.deleteFrom('cw_translations').where('entity_type', '=', 'collection').where('entity_id', '=', id).execute()
      await tx.deleteFrom('cw_handle_redirects').where('entity_type', '=', 'collection').where('entity_id', '=', id).execute()
      emit('collection.deleted', { collectionId: id })
    }, { idempotent: true })
  }

  /**
   * Adds products to a hand-picked collection, after those it holds, in the order given.
   * `INVALID_STATE` for a rule-based collection.
   *
   * @example
   * ```ts
   * const { id: collectionId } = await commerce.collections.get('sale')
   * const shoe = await commerce.catalog.getProduct('trail-runner')
   * await commerce.collections.addProducts(collectionId, [shoe.id])
   * ```
   */
  async addProducts(collectionId: string, productIds: string[]): Promise<void> {
    const id = parseArg(fields.id, collectionId, 'collectionId')
    const { productIds: ids } = parseInput(addProductsSchema, { productIds }, 'products')
    await transact(this.#rt, async (tx, emit) => {
      await manual(tx, id)
      await addListed(tx, 'cw_collection_products', { collection_id: id }, ids)
      emit('collection.updated', { collectionId: id })
    }, { idempotent: true })
  }

  /**
   * Takes products out of a hand-picked collection.
   *
   * @example
   * ```ts
   * const { id: collectionId } = await commerce.collections.get('sale')
   * const shoe = await commerce.catalog.getProduct('trail-runner')
   * await commerce.collections.removeProducts(collectionId, [shoe.id])
   * ```
   */
  async removeProducts(collectionId: string, productIds: string[]): Promise<void> {
    const id = parseArg(fields.id, collectionId, 'collectionId')
    const { productIds: ids } = parseInput(addProductsSchema, { productIds }, 'products')
    await transact(this.#rt, async (tx, emit) => {
      await manual(tx, id)
      await tx.deleteFrom('cw_collection_products').where('collection_id', '=', id).where('product_id', 'in', ids).execute()
      emit('collection.updated', { collectionId: id })
    }, { idempotent: true })
  }

  /**
   * The products of a collection, a page at a time: a hand-picked one in its order, a rule-based
   * one newest first, resolved by one SQL query over tags, types, prices and option values.
   *
   * @example
   * ```ts
   * const { id: collectionId } = await commerce.collections.get('sale')
   * const page = await commerce.collections.products(collectionId, { visibleOnly: true, limit: 24 })
   * ```
   */
  async products(collectionId: string, input: ListedProductsInput = {}): Promise<Page<Product>> {
    const id = parseArg(fields.id, collectionId, 'collectionId')
    const data = parseInput(listedSchema, input, 'page')
    const rt = this.#rt
    return read(rt, async (db) => {
      const row = await db.selectFrom('cw_collections').selectAll().where('id', '=', id).executeTakeFirst()
      if (!row) throw notFound('Collection', id)
      if (row.kind === 'manual') return listedProducts(rt, db, 'cw_collection_products', { column: 'collection_id', id }, data)
      const rules = (await db.selectFrom('cw_collection_rules').selectAll().where('collection_id', '=', id).orderBy('position').execute()).map(toRule)
      let q = db.selectFrom('cw_products as p').selectAll('p')
      q = q.where((eb) => {
        const conditions = rules.map((r) => ruleCondition(eb as unknown as ProductEb, r))
        return row.match_mode === 'any' ? eb.or(conditions) : eb.and(conditions)
      })
      if (data.visibleOnly) q = q.where('p.status', '=', 'active')
      const page = await keysetPage(q, { limit: data.limit, ...(data.cursor === undefined ? {} : { cursor: data.cursor }) }, (rows) => loadProducts(db, rows, rt, data.locale))
      if (!data.visibleOnly) return page
      const shown = await visibleIds(rt, page.items.map((p) => p.id), { channel: data.channel ?? null, locale: data.locale ?? catalogSettings(rt).defaultLocale })
      return { items: page.items.filter((p) => shown.has(p.id)), nextCursor: page.nextCursor }
    })
  }

  /** A write that may take a handle: a unique violation on it is `CONFLICT` naming `handle`. */
  async #write(handle: string | undefined, work: Parameters<typeof transact>[1]): Promise<void> {
    try {
      await transact(this.#rt, work, { idempotent: true })
    } catch (error) {
      const cause = (error as { cause?: unknown })?.cause ?? error
      if (handle !== undefined && this.#rt.storage.isUniqueViolation(cause)) {
        throw new CommerceError('CONFLICT', `The handle ${JSON.stringify(handle)} is already used by another collection`, { cause, details: { conflicts: [{ field: 'handle', value: handle }], fields: ['handle'] } })
      }
      throw error
    }
  }
}

async function manual(tx: Tx, id: string): Promise<void> {
  const row = await tx.selectFrom('cw_collections').select('kind').where('id', '=', id).executeTakeFirst()
  if (!row) throw notFound('Collection', id)
  if (row.kind !== 'manual') throw new CommerceError('INVALID_STATE', `Collection ${JSON.stringify(id)} is rule-based: its products follow its rules`, { details: { collectionId: id } })
}

function toCollection(row: CollectionTable, rules: CollectionRuleTable[]): Collection {
  return {
    id: row.id,
    handle: row.handle,
    title: row.title,
    description: row.description,
    kind: row.kind as 'manual' | 'rules',
    match: row.match_mode as 'all' | 'any',
    rules: rules.map(toRule),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

