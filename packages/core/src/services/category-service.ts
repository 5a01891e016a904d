import { z } from 'zod'
import { CommerceError, notFound, validationError } from '../errors.js'
import type { CategoryTable, Executor, Tx } from '../db/database.js'
import { iso } from '../db/rows.js'
import { read, transact, type Runtime } from '../runtime.js'
import type { Category, CategoryNode, Page, Product } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { claimHandle, keepRedirect, loadTexts, localeSchema, rowByIdOrHandle, visibleIds } from './catalog-texts.js'
import { loadProducts } from './catalog-service.js'
import { catalogSettings } from './catalog-texts.js'
import { coreChannelId } from './channel-service.js'

const createCategorySchema = z.strictObject({
  title: fields.shortText,
  handle: fields.handle,
  description: fields.longText.nullable().optional(),
  parentId: fields.id.nullable().optional(),
  /** Among its siblings, from 0; default last. */
  position: z.number().int().min(0).max(100_000).optional(),
})
const updateCategorySchema = z.strictObject({
  title: fields.shortText.optional(),
  handle: fields.handle.optional(),
  description: fields.longText.nullable().optional(),
})
const moveCategorySchema = z.strictObject({
  parentId: fields.id.nullable(),
  position: z.number().int().min(0).max(100_000).optional(),
})
/** @internal Reading a category or a collection: the locale of its texts. */
export const readSchema = z.strictObject({ locale: localeSchema.optional() })
/** @internal Products added to or removed from a category or a collection. */
export const addProductsSchema = z.strictObject({ productIds: z.array(fields.id).min(1).max(250) })
/** @internal A page of a category's or a collection's products. */
export const listedSchema = z.strictObject({
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  visibleOnly: z.boolean().default(false),
  locale: localeSchema.optional(),
  channel: z.string().trim().min(1).max(64).optional(),
})

/**
 * Input of `categories.create`: `handle` is unique among categories (and their old handles).
 *
 * @example
 * ```ts
 * const shoes = await commerce.categories.get('shoes')
 * const input: CreateCategoryInput = { title: 'Running shoes', handle: 'running-shoes', parentId: shoes.id }
 * ```
 */
export type CreateCategoryInput = z.input<typeof createCategorySchema>
/**
 * Input of `categories.update`; a new handle keeps the old one resolving to the category.
 *
 * @example
 * ```ts
 * const input: UpdateCategoryInput = { title: 'Trail running', handle: 'trail-running' }
 * ```
 */
export type UpdateCategoryInput = z.input<typeof updateCategorySchema>
/**
 * Input of `categories.move`: the new parent (null for the top level) and position among its children.
 *
 * @example
 * ```ts
 * const input: MoveCategoryInput = { parentId: null, position: 0 }
 * ```
 */
export type MoveCategoryInput = z.input<typeof moveCategorySchema>
/**
 * Paging of the products of a category or collection, in their order: `limit`, `cursor`, and for
 * shoppers `visibleOnly` (active products the visibility source shows), `locale`, `channel` (a
 * core sales channel's code or id: only its published products, in a category or hand-picked
 * collection).
 *
 * @example
 * ```ts
 * const input: ListedProductsInput = { visibleOnly: true, limit: 24, locale: 'de' }
 * ```
 */
export type ListedProductsInput = z.input<typeof listedSchema>

function toCategory(row: CategoryTable): Category {
  return {
    id: row.id,
    handle: row.handle,
    title: row.title,
    description: row.description,
    parentId: row.parent_id,
    position: row.position,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

/** A cursor over an ordered list: the last item's position and id. */
export function encodePositionCursor(position: number, id: string): string {
  return Buffer.from(JSON.stringify([position, id])).toString('base64url')
}

/** The keyset a position cursor encodes, or `VALIDATION` naming `cursor`: only what {@link encodePositionCursor} wrote passes. */
export function decodePositionCursor(cursor: string | undefined): { position: number; id: string } | null {
  if (cursor === undefined) return null
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    decoded = undefined
  }
  if (Array.isArray(decoded) && decoded.length === 2) {
    const [position, id] = decoded as [unknown, unknown]
    if (Number.isSafeInteger(position) && (position as number) >= 0 && typeof id === 'string' && /^[a-z]{1,32}_[0-9a-z]{1,40}$/.test(id) && encodePositionCursor(position as number, id) === cursor) {
      return { position: position as number, id }
    }
  }
  throw validationError('cursor', [{ path: 'cursor', message: 'invalid cursor: pass back the nextCursor of a previous page' }])
}

/** @internal One page of the products listed (by position) in a category or a hand-picked collection. */
export async function listedProducts(
  rt: Runtime,
  db: Executor,
  table: 'cw_category_products' | 'cw_collection_products',
  owner: { column: 'category_id' | 'collection_id'; id: string },
  input: z.output<typeof listedSchema>,
): Promise<Page<Product>> {
  const after = decodePositionCursor(input.cursor)
  let q = db
    .selectFrom(`${table} as l` as 'cw_category_products as l')
    .innerJoin('cw_products as p', 'p.id', 'l.product_id')
    .selectAll('p')
    .select('l.position as listed_position')
    .where(`l.${owner.column}` as 'l.category_id', '=', owner.id)
  if (input.visibleOnly) q = q.where('p.status', '=', 'active')
  // A core sales channel: only the products published to it.
  const channelId = await coreChannelId(db, input.channel)
  if (channelId) q = q.where('p.id', 'in', (eb) => eb.selectFrom('cw_channel_products as cp').select('cp.product_id').where('cp.channel_id', '=', channelId))
  if (after) q = q.where((eb) => eb.or([eb('l.position', '>', after.position), eb.and([eb('l.position', '=', after.position), eb('l.product_id', '>', after.id)])]))
  const rows = await q.orderBy('l.position').orderBy('l.product_id').limit(input.limit + 1).execute()
  const page = rows.slice(0, input.limit)
  let items = await loadProducts(db, page.map(({ listed_position: _, ...row }) => row), rt, input.locale)
  const last = page[page.length - 1]
  const nextCursor = rows.length > input.limit && last ? encodePositionCursor(last.listed_position, last.id) : null
  if (input.visibleOnly) {
    const shown = await visibleIds(rt, items.map((p) => p.id), { channel: input.channel ?? null, locale: input.locale ?? catalogSettings(rt).defaultLocale })
    items = items.filter((p) => shown.has(p.id))
  }
  return { items, nextCursor }
}

/** @internal Serialises writes to the category tree (moves check for cycles on what they read). */
async function lockTree(tx: Tx): Promise<void> {
  await tx
    .insertInto('cw_counters')
    .values({ name: 'category_tree', value: 0 })
    .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ value: eb('cw_counters.value', '+', 1) })))
    .execute()
}

/** Rewrites the positions of `parentId`'s children so that `moving` sits at `position` (default last), the others in order. */
async function placeAmongSiblings(tx: Tx, parentId: string | null, moving: string, position: number | undefined): Promise<number> {
  let q = tx.selectFrom('cw_categories').select(['id', 'position']).where('id', '!=', moving)
  q = parentId === null ? q.where('parent_id', 'is', null) : q.where('parent_id', '=', parentId)
  const siblings = (await q.orderBy('position').orderBy('id').execute()).map((r) => r.id)
  const at = Math.min(position ?? siblings.length, siblings.length)
  siblings.splice(at, 0, moving)
  for (const [i, id] of siblings.entries()) await tx.updateTable('cw_categories').set({ position: i }).where('id', '=', id).where('position', '!=', i).execute()
  return at
}

/**
 * The catalog's category tree: categories with unique handles under a parent, ordered among
 * their siblings, each listing products in an order of its own. A product may be in several
 * categories. Moves that would make a category its own ancestor are refused; a category with
 * sub-categories cannot be deleted (move or delete them first), and deleting one unlinks its
 * products (they stay in the catalog).
 *
 * @example
 * ```ts
 * const shoes = await commerce.categories.create({ title: 'Shoes', handle: 'shoes' })
 * const running = await commerce.categories.create({ title: 'Running', handle: 'running', parentId: shoes.id })
 * const { id: productId } = await commerce.catalog.getProduct('trail-runner')
 * await commerce.categories.addProducts(running.id, [productId])
 * const page = await commerce.categories.products(running.id, { visibleOnly: true })
 * ```
 */
export class CategoryService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /**
   * Creates a category, last among its siblings unless `position` says otherwise. `CONFLICT` for a
   * taken handle; `NOT_FOUND` for an unknown parent.
   *
   * @example
   * ```ts
   * const shoes = await commerce.categories.create({ title: 'Shoes', handle: 'shoes' })
   * ```
   */
  async create(input: CreateCategoryInput): Promise<Category> {
    const data = parseInput(createCategorySchema, input, 'category')
    const rt = this.#rt
    const id = rt.ids('cat')
    await this.#write(data.handle, async (tx, emit) => {
      await lockTree(tx)
      const parentId = data.parentId ?? null
      if (parentId !== null && !(await tx.selectFrom('cw_categories').select('id').where('id', '=', parentId).executeTakeFirst())) throw notFound('Category', parentId)
      await claimHandle(tx, 'category', data.handle, null)
      const now = rt.now().toISOString()
      await tx
        .insertInto('cw_categories')
        .values({ id, handle: data.handle, title: data.title, description: data.description ?? null, parent_id: parentId, position: 0, created_at: now, updated_at: now })
        .execute()
      await placeAmongSiblings(tx, parentId, id, data.position)
      emit('category.created', { categoryId: id, handle: data.handle, parentId })
    })
    return this.get(id)
  }

  /**
   * The category with this id, handle or old handle; `NOT_FOUND` when there is none.
   *
   * @example
   * ```ts
   * const category = await commerce.categories.get('running', { locale: 'de' })
   * ```
   */
  async get(idOrHandle: string, options: { locale?: string } = {}): Promise<Category> {
    const key = parseArg(z.string().min(1).max(120), idOrHandle, 'idOrHandle')
    const { locale } = parseInput(readSchema, options, 'options')
    const rt = this.#rt
    const found = await read(rt, async (db) => {
      const row = await rowByIdOrHandle(db, 'category', key)
      if (!row) return null
      return (await translate(rt, db, [toCategory(row)], locale))[0]!
    })
    if (!found) throw notFound('Category', key)
    return found
  }

  /**
   * Every category as a tree: top-level categories in order, each with its children in order.
   *
   * @example
   * ```ts
   * const tree = await commerce.categories.tree({ locale: 'de' })
   * ```
   */
  async tree(options: { locale?: string } = {}): Promise<CategoryNode[]> {
    const { locale } = parseInput(readSchema, options, 'options')
    const rt = this.#rt
    const all = await read(rt, async (db) => translate(rt, db, (await db.selectFrom('cw_categories').selectAll().orderBy('position').orderBy('id').execute()).map(toCategory), locale))
    const nodes = new Map(all.map((c) => [c.id, { ...c, children: [] as CategoryNode[] }]))
    const roots: CategoryNode[] = []
    for (const node of nodes.values()) (node.parentId === null ? roots : nodes.get(node.parentId)!.children).push(node)
    return roots
  }

  /**
   * Changes a category's texts or handle (the old handle keeps resolving to it).
   *
   * @example
   * ```ts
   * const { id: categoryId } = await commerce.categories.get('running')
   * await commerce.categories.update(categoryId, { handle: 'trail-running' })
   * ```
   */
  async update(categoryId: string, input: UpdateCategoryInput): Promise<Category> {
    const id = parseArg(fields.id, categoryId, 'categoryId')
    const data = parseInput(updateCategorySchema, input, 'category')
    const rt = this.#rt
    await this.#write(data.handle, async (tx, emit) => {
      const now = rt.now().toISOString()
      const before = await tx.selectFrom('cw_categories').select('handle').where('id', '=', id).executeTakeFirst()
      if (!before) throw notFound('Category', id)
      const newHandle = data.handle !== undefined && data.handle !== before.handle ? data.handle : undefined
      if (newHandle !== undefined) await claimHandle(tx, 'category', newHandle, id)
      await tx
        .updateTable('cw_categories')
        .set({
          ...(data.title !== undefined ? { title: data.title } : {}),
          ...(data.description !== undefined ? { description: data.description } : {}),
          ...(newHandle !== undefined ? { handle: newHandle } : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute()
      if (newHandle !== undefined) await keepRedirect(tx, 'category', before.handle, id, now)
      emit('category.updated', { categoryId: id })
    })
    return this.get(id)
  }

  /**
   * Moves a category under another parent (null: the top level), at `position` among its new
   * siblings (default last). `VALIDATION` naming `parentId` when the parent is the category itself
   * or one of its descendants: the tree never has a cycle.
   *
   * @example
   * ```ts
   * const [running, sports] = [await commerce.categories.get('running'), await commerce.categories.get('sports')]
   * await commerce.categories.move(running.id, { parentId: sports.id, position: 0 })
   * ```
   */
  async move(categoryId: string, input: MoveCategoryInput): Promise<Category> {
    const id = parseArg(fields.id, categoryId, 'categoryId')
    const data = parseInput(moveCategorySchema, input, 'move')
    const rt = this.#rt
    await transact(rt, async (tx, emit) => {
      await lockTree(tx)
      const moving = await tx.selectFrom('cw_categories').select(['id', 'parent_id']).where('id', '=', id).executeTakeFirst()
      if (!moving) throw notFound('Category', id)
      // Walk up from the new parent: meeting the category means it would be its own ancestor.
      for (let at = data.parentId, hops = 0; at !== null; hops++) {
        if (at === id) throw validationError('move', [{ path: 'parentId', message: 'is the category itself or one of its descendants: a category cannot be moved under itself' }])
        const row = await tx.selectFrom('cw_categories').select('parent_id').where('id', '=', at).executeTakeFirst()
        if (!row) {
          if (hops === 0) throw notFound('Category', at)
          break
        }
        at = row.parent_id
      }
      await tx.updateTable('cw_categories').set({ parent_id: data.parentId, updated_at: rt.now().toISOString() }).where('id', '=', id).execute()
      if (moving.parent_id !== data.parentId) await placeAmongSiblings(tx, moving.parent_id, '', undefined)
      const position = await placeAmongSiblings(tx, data.parentId, id, data.position)
      emit('category.moved', { categoryId: id, parentId: data.parentId, position })
    }, { idempotent: true })
    return this.get(id)
  }

  /**
   * Deletes a category without sub-categories (`INVALID_STATE` otherwise); its products stay in
   * the catalog, unlinked from it, and its old handles are dropped.
   *
   * @example
   * ```ts
   * const { id: categoryId } = await commerce.categories.get('running')
   * await commerce.categories.delete(categoryId)
   * ```
   */
  async delete(categoryId: string): Promise<void> {
    const id = parseArg(fields.id, categoryId, 'categoryId')
    const rt = this.#rt
    await transact(rt, async (tx, emit) => {
      await lockTree(tx)
      const row = await tx.selectFrom('cw_categories').select(['id', 'parent_id']).where('id', '=', id).executeTakeFirst()
      if (!row) throw notFound('Category', id)
      const child = await tx.selectFrom('cw_categories').select('id').where('parent_id', '=', id).limit(1).executeTakeFirst()
      if (child) throw new CommerceError('INVALID_STATE', `Category ${JSON.stringify(id)} has sub-categories: move or delete them first`, { details: { categoryId: id } })
      await tx.deleteFrom('cw_translations').where('entity_type', '=', 'category').where('entity_id', '=', id).execute()
      await tx.deleteFrom('cw_handle_redirects').where('entity_type', '=', 'category').where('entity_id', '=', id).execute()
      await tx.deleteFrom('cw_categories').where('id', '=', id).execute()
      await placeAmongSiblings(tx, row.parent_id, '', undefined)
      emit('category.deleted', { categoryId: id })
    }, { idempotent: true })
  }

  /**
   * Adds products to a category, after those it holds, in the order given (a product already
   * there keeps its place). `NOT_FOUND` for an unknown category or product.
   *
   * @example
   * ```ts
   * const { id: categoryId } = await commerce.categories.get('running')
   * const [shoe, sock] = [await commerce.catalog.getProduct('trail-runner'), await commerce.catalog.getProduct('wool-sock')]
   * await commerce.categories.addProducts(categoryId, [shoe.id, sock.id])
   * ```
   */
  async addProducts(categoryId: string, productIds: string[]): Promise<void> {
    const id = parseArg(fields.id, categoryId, 'categoryId')
    const { productIds: ids } = parseInput(addProductsSchema, { productIds }, 'products')
    await transact(this.#rt, async (tx, emit) => {
      if (!(await tx.selectFrom('cw_categories').select('id').where('id', '=', id).executeTakeFirst())) throw notFound('Category', id)
      await addListed(tx, 'cw_category_products', { category_id: id }, ids)
      emit('category.updated', { categoryId: id })
    }, { idempotent: true })
  }

  /**
   * Takes products out of a category (they stay in the catalog).
   *
   * @example
   * ```ts
   * const { id: categoryId } = await commerce.categories.get('running')
   * const sock = await commerce.catalog.getProduct('wool-sock')
   * await commerce.categories.removeProducts(categoryId, [sock.id])
   * ```
   */
  async removeProducts(categoryId: string, productIds: string[]): Promise<void> {
    const id = parseArg(fields.id, categoryId, 'categoryId')
    const { productIds: ids } = parseInput(addProductsSchema, { productIds }, 'products')
    await transact(this.#rt, async (tx, emit) => {
      if (!(await tx.selectFrom('cw_categories').select('id').where('id', '=', id).executeTakeFirst())) throw notFound('Category', id)
      await tx.deleteFrom('cw_category_products').where('category_id', '=', id).where('product_id', 'in', ids).execute()
      emit('category.updated', { categoryId: id })
    }, { idempotent: true })
  }

  /**
   * The products of a category in their order, a page at a time (see {@link ListedProductsInput}).
   *
   * @example
   * ```ts
   * const { id: categoryId } = await commerce.categories.get('running')
   * const page = await commerce.categories.products(categoryId, { visibleOnly: true, limit: 24 })
   * ```
   */
  async products(categoryId: string, input: ListedProductsInput = {}): Promise<Page<Product>> {
    const id = parseArg(fields.id, categoryId, 'categoryId')
    const data = parseInput(listedSchema, input, 'page')
    const rt = this.#rt
    return read(rt, async (db) => {
      if (!(await db.selectFrom('cw_categories').select('id').where('id', '=', id).executeTakeFirst())) throw notFound('Category', id)
      return listedProducts(rt, db, 'cw_category_products', { column: 'category_id', id }, data)
    })
  }

  /** A write that may take a handle: a unique violation on it is `CONFLICT` naming `handle`. */
  async #write(handle: string | undefined, work: Parameters<typeof transact>[1]): Promise<void> {
    try {
      await transact(this.#rt, work, { idempotent: true })
    } catch (error) {
      const cause = (error as { cause?: unknown })?.cause ?? error
      if (handle !== undefined && this.#rt.storage.isUniqueViolation(cause)) {
        throw new CommerceError('CONFLICT', `The handle ${JSON.stringify(handle)} is already used by another category`, { cause, details: { conflicts: [{ field: 'handle', value: handle }], fields: ['handle'] } })
      }
      throw error
    }
  }
}

/** @internal Appends products to an ordered list (category or hand-picked collection), skipping those already in it. */
export async function addListed(tx: Tx, table: 'cw_category_products' | 'cw_collection_products', owner: { category_id: string } | { collection_id: string }, ids: string[]): Promise<void> {
  const [column, ownerId] = Object.entries(owner)[0] as ['category_id', string]
  const known = new Set((await tx.selectFrom('cw_products').select('id').where('id', 'in', ids).execute()).map((r) => r.id))
  const missing = ids.find((p) => !known.has(p))
  if (missing !== undefined) throw notFound('Product', missing)
  const present = new Set(
    (await tx.selectFrom(table as 'cw_category_products').select('product_id').where(column, '=', ownerId).where('product_id', 'in', ids).execute()).map((r) => r.product_id),
  )
  const last = await tx.selectFrom(table as 'cw_category_products').select((eb) => eb.fn.max('position').as('max')).where(column, '=', ownerId).executeTakeFirst()
  let next = last?.max == null ? 0 : Number(last.max) + 1
  const rows = [...new Set(ids)].filter((p) => !present.has(p)).map((p) => ({ [column]: ownerId, product_id: p, position: next++ }))
  if (rows.length) await tx.insertInto(table as 'cw_category_products').values(rows as Array<{ category_id: string; product_id: string; position: number }>).execute()
}

async function translate<T extends { id: string; title: string; description: string | null }>(rt: Runtime, db: Executor, items: T[], locale: string | undefined, type: 'category' | 'collection' = 'category'): Promise<T[]> {
  if (!locale) return items
  const texts = await loadTexts(rt, db, locale, [{ type, ids: items.map((i) => i.id) }])
  return items.map((i) => ({ ...i, title: texts.get(type, i.id, 'title') ?? i.title, description: texts.get(type, i.id, 'description') ?? i.description }))
}

export { translate as translateListed }
