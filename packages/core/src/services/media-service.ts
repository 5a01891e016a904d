import { z } from 'zod'
import { CommerceError, isCommerceError, notFound, validationError } from '../errors.js'
import type { Executor, Tx } from '../db/database.js'
import type { MediaTable } from '../db/migration-0010-media.js'
import { iso } from '../db/rows.js'
import type { MediaStore } from '../ports/media-store.js'
import { read, transact, type Runtime } from '../runtime.js'
import type { Media, Product } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'

/** Media types a stored file may have, with the extension its key gets. SVG is not one: it can carry script. */
const FILE_TYPES = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
} as const
type FileType = keyof typeof FILE_TYPES
const fileTypes = Object.keys(FILE_TYPES) as [FileType, ...FileType[]]

/** Largest file `media.add` stores: 20 MiB. */
export const MAX_MEDIA_BYTES = 20 * 1024 * 1024
/** Most images one product holds, its variants' included. */
export const MAX_MEDIA_PER_PRODUCT = 250

const ascii = (bytes: Uint8Array, start: number, text: string) => [...text].every((ch, i) => bytes[start + i] === ch.charCodeAt(0))

/** True when `bytes` begin as a file of `type` does (its signature), so a file is served as what it is. */
function looksLike(bytes: Uint8Array, type: FileType): boolean {
  switch (type) {
    case 'image/jpeg':
      return bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff
    case 'image/png':
      return [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b)
    case 'image/gif':
      return ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')
    case 'image/webp':
      return ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')
    case 'image/avif':
      return ascii(bytes, 4, 'ftyp') && (ascii(bytes, 8, 'avif') || ascii(bytes, 8, 'avis'))
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.username === '' && url.password === ''
  } catch {
    return false
  }
}

const idOrHandle = z.string().min(1).max(120)
const dimension = z.number().int().min(1).max(20_000)
const alt = z.string().trim().max(512)
const externalUrl = z.string().max(2048).refine(isHttpUrl, 'must be an http(s) URL without credentials')

const fileSchema = z.strictObject({
  bytes: z
    .instanceof(Uint8Array, { message: 'must be a Uint8Array (or Buffer)' })
    .refine((b) => b.length > 0, 'is empty')
    .refine((b) => b.length <= MAX_MEDIA_BYTES, `is larger than ${MAX_MEDIA_BYTES} bytes (20 MiB)`),
  contentType: z.enum(fileTypes, { message: `must be one of ${fileTypes.join(', ')}` }),
})

const addSchema = z
  .strictObject({
    variantId: fields.id.optional(),
    url: externalUrl.optional(),
    file: fileSchema.optional(),
    /** The type of an external image, when known; a file's is `file.contentType`. */
    contentType: z.enum(fileTypes, { message: `must be one of ${fileTypes.join(', ')}` }).optional(),
    alt: alt.optional(),
    width: dimension.optional(),
    height: dimension.optional(),
    position: z.number().int().min(0).max(MAX_MEDIA_PER_PRODUCT).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.url === undefined && input.file === undefined) ctx.addIssue({ code: 'custom', path: ['file'], message: 'give a file or a url' })
    if (input.url !== undefined && input.file !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'give a file or a url, not both' })
    if (input.file !== undefined && input.contentType !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['contentType'], message: "a file's type is file.contentType" })
    }
    if (input.file && !looksLike(input.file.bytes, input.file.contentType)) {
      ctx.addIssue({ code: 'custom', path: ['file', 'bytes'], message: `are not a ${input.file.contentType} file` })
    }
  })

const listSchema = z.strictObject({ variantId: fields.id.optional() })
const updateSchema = z.strictObject({ alt: alt.nullable().optional(), width: dimension.nullable().optional(), height: dimension.nullable().optional() })
const reorderSchema = z.strictObject({
  mediaIds: z
    .array(fields.id)
    .min(1)
    .max(MAX_MEDIA_PER_PRODUCT)
    .refine((ids) => new Set(ids).size === ids.length, 'lists an image twice'),
})

/**
 * Input of `media.add`: the image, as a file the engine stores through the `MediaStore`
 * (`file`) or as an image hosted elsewhere (`url`, http or https), for the whole product or for
 * one variant (`variantId`), with its alt text (at most 512 characters), dimensions (1–20 000
 * pixels) and place in the product's order (`position`, default last). A file is JPEG, PNG,
 * WebP, GIF or AVIF, at most 20 MiB, and its bytes must begin as its type's do.
 *
 * @example
 * ```ts
 * const input: AddMediaInput = { url: 'https://cdn.example.com/trail-runner-red.jpg', alt: 'Trail Runner in red', width: 1600, height: 1200 }
 * ```
 */
export type AddMediaInput = z.input<typeof addSchema>
/**
 * Input of `media.list`: a variant, whose own images come first, then the product's.
 *
 * @example
 * ```ts
 * const input: ListMediaInput = { variantId }
 * ```
 */
export type ListMediaInput = z.input<typeof listSchema>
/**
 * Input of `media.update`: alt text and dimensions; null clears one.
 *
 * @example
 * ```ts
 * const input: UpdateMediaInput = { alt: 'Trail Runner, side view' }
 * ```
 */
export type UpdateMediaInput = z.input<typeof updateSchema>

/** @internal A media reference as the API shows it (its URL from the store when the engine stored the file). */
export function toMedia(row: MediaTable, store: MediaStore | undefined): Media {
  return {
    id: row.id,
    productId: row.product_id,
    variantId: row.variant_id,
    position: row.position,
    alt: row.alt,
    width: row.width,
    height: row.height,
    contentType: row.content_type,
    size: row.size === null ? null : Number(row.size),
    key: row.storage_key,
    url: row.url ?? (row.storage_key !== null && store ? store.url(row.storage_key) : null),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

/**
 * @internal `products` with their images (`Product.media`), every one of each product in order,
 * read in one query: what the catalog's reads call on the products they load.
 */
export async function withMedia(store: MediaStore | undefined, db: Executor, products: Product[]): Promise<Product[]> {
  if (products.length === 0) return products
  const rows = await db
    .selectFrom('cw_media')
    .selectAll()
    .where('product_id', 'in', products.map((p) => p.id))
    .orderBy('product_id')
    .orderBy('position')
    .orderBy('id')
    .execute()
  const byProduct = new Map<string, Media[]>()
  for (const row of rows) {
    const list = byProduct.get(row.product_id) ?? []
    list.push(toMedia(row as MediaTable, store))
    byProduct.set(row.product_id, list)
  }
  return products.map((p) => ({ ...p, media: byProduct.get(p.id) ?? [] }))
}

/**
 * Images of products and variants. The catalog keeps references (`cw_media`); files the engine
 * stores go through the `MediaStore` given as `CommerceOptions.media`, under keys made from ids
 * (`products/<productId>/<mediaId>.<ext>`), never from a file name. Images hosted elsewhere are
 * kept by URL. A product's images have one order (`position`); a variant's list shows its own
 * images first, then the product's. Adding and removing emit `media.added` and `media.removed`.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises'
 *
 * const shoe = await commerce.catalog.getProduct('trail-runner')
 * const red = shoe.variants.find((v) => v.options.Color === 'Red')!
 * await commerce.media.add(shoe.id, { url: 'https://cdn.example.com/trail-runner.jpg', alt: 'Trail Runner' })
 * await commerce.media.add(shoe.id, {
 *   variantId: red.id,
 *   file: { bytes: await readFile('red.webp'), contentType: 'image/webp' },
 *   alt: 'Trail Runner in red',
 * })
 * const pictures = await commerce.media.list(shoe.id, { variantId: red.id }) // the red one first
 * ```
 */
export class MediaService {
  readonly #rt: Runtime
  readonly #store: MediaStore | undefined
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime, store: MediaStore | undefined) {
    this.#rt = rt
    this.#store = store
  }

  /**
   * Adds an image to a product (by id or handle), or to one of its variants. A `file` is stored
   * through the `MediaStore` first, then referenced; if the reference cannot be written the file is
   * deleted again. `VALIDATION` naming the field for bad input (a `variantId` that is not one of the
   * product's included), `NOT_FOUND` for an unknown product, `CONFIGURATION` for a file without a
   * `MediaStore`, `INVALID_STATE` past {@link MAX_MEDIA_PER_PRODUCT} images, `PROVIDER` when the
   * store fails; storage is unchanged in each case.
   *
   * @example
   * ```ts
   * const image = await commerce.media.add('trail-runner', { url: 'https://cdn.example.com/tr.jpg', alt: 'Trail Runner', position: 0 })
   * ```
   */
  async add(productId: string, input: AddMediaInput): Promise<Media> {
    const productKey = parseArg(idOrHandle, productId, 'productId')
    const data = parseInput(addSchema, input, 'media')
    const rt = this.#rt
    const store = this.#store
    if (data.file && !store) {
      throw new CommerceError('CONFIGURATION', 'Storing a file needs a MediaStore (CommerceOptions.media, such as fileSystemMedia()); or give the image by url', {
        details: { fields: ['file'] },
      })
    }
    const product = await read(rt, (db) => this.#target(db, productKey, data.variantId))
    const id = rt.ids('media')
    const key = data.file ? `products/${product}/${id}.${FILE_TYPES[data.file.contentType]}` : null
    let size: number | null = null
    if (data.file && key) size = (await this.#put(key, data.file.bytes, data.file.contentType)).size
    const now = rt.now().toISOString()
    try {
      return await transact(rt, async (tx, emit) => {
        // Touching the product locks its row (PostgreSQL), so concurrent adds number positions one after the other.
        await this.#target(tx, product, data.variantId, now)
        const db = tx
        const { count } = await db.selectFrom('cw_media').select((eb) => eb.fn.countAll<number>().as('count')).where('product_id', '=', product).executeTakeFirstOrThrow()
        const existing = Number(count)
        if (existing >= MAX_MEDIA_PER_PRODUCT) {
          throw new CommerceError('INVALID_STATE', `Product ${JSON.stringify(product)} already holds ${MAX_MEDIA_PER_PRODUCT} images, the most one may`, {
            details: { productId: product, limit: MAX_MEDIA_PER_PRODUCT },
          })
        }
        const position = Math.min(data.position ?? existing, existing)
        if (position < existing) {
          await db.updateTable('cw_media').set((eb) => ({ position: eb('position', '+', 1) })).where('product_id', '=', product).where('position', '>=', position).execute()
        }
        const row: MediaTable = {
          id,
          product_id: product,
          variant_id: data.variantId ?? null,
          position,
          alt: data.alt ?? null,
          width: data.width ?? null,
          height: data.height ?? null,
          content_type: data.file?.contentType ?? data.contentType ?? null,
          size,
          storage_key: key,
          url: data.url ?? null,
          created_at: now,
          updated_at: now,
        }
        await db.insertInto('cw_media').values(row).execute()
        emit('media.added', { mediaId: id, productId: product, variantId: row.variant_id })
        return toMedia(row, store)
      })
    } catch (error) {
      // The reference was not written (unless the commit's outcome is unknown): the file goes too.
      if (key && store && !(isCommerceError(error) && error.details.outcomeUnknown)) await store.delete(key).catch(() => undefined)
      throw error
    }
  }

  /**
   * A product's images (by id or handle) in their order; for a `variantId`, that variant's own
   * images first, then the product's (not other variants'). `NOT_FOUND` for an unknown product,
   * `VALIDATION` naming `variantId` for a variant that is not the product's.
   *
   * @example
   * ```ts
   * const gallery = await commerce.media.list('trail-runner', { variantId })
   * ```
   */
  async list(productId: string, input: ListMediaInput = {}): Promise<Media[]> {
    const productKey = parseArg(idOrHandle, productId, 'productId')
    const { variantId } = parseInput(listSchema, input, 'media query')
    const rows = await read(this.#rt, async (db) => {
      const product = await this.#target(db, productKey, variantId)
      let q = db.selectFrom('cw_media').selectAll().where('product_id', '=', product)
      if (variantId !== undefined) q = q.where((eb) => eb.or([eb('variant_id', 'is', null), eb('variant_id', '=', variantId)]))
      return (await q.orderBy('position').orderBy('id').execute()) as MediaTable[]
    })
    if (variantId !== undefined) rows.sort((a, b) => Number(b.variant_id !== null) - Number(a.variant_id !== null) || a.position - b.position)
    return rows.map((row) => toMedia(row, this.#store))
  }

  /**
   * Changes an image's alt text or dimensions (null clears one). `NOT_FOUND` for an unknown image.
   *
   * @example
   * ```ts
   * const [cover] = await commerce.media.list('trail-runner')
   * await commerce.media.update(cover!.id, { alt: 'Trail Runner in red, side view' })
   * ```
   */
  async update(mediaId: string, input: UpdateMediaInput): Promise<Media> {
    const id = parseArg(fields.id, mediaId, 'mediaId')
    const data = parseInput(updateSchema, input, 'media')
    const rt = this.#rt
    const row = await transact(
      rt,
      async (tx) => {
        const db = tx
        const result = await db
          .updateTable('cw_media')
          .set({
            ...(data.alt !== undefined ? { alt: data.alt } : {}),
            ...(data.width !== undefined ? { width: data.width } : {}),
            ...(data.height !== undefined ? { height: data.height } : {}),
            updated_at: rt.now().toISOString(),
          })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirst()
        if (!result) throw notFound('Media', id)
        return result as MediaTable
      },
      { idempotent: true },
    )
    return toMedia(row, this.#store)
  }

  /**
   * Puts a product's images in the order of `mediaIds`, which lists each of them (its variants'
   * included) exactly once; `VALIDATION` naming `mediaIds` otherwise, nothing changed.
   *
   * @example
   * ```ts
   * const [first, second] = await commerce.media.list('trail-runner')
   * await commerce.media.reorder('trail-runner', [second!.id, first!.id])
   * ```
   */
  async reorder(productId: string, mediaIds: string[]): Promise<Media[]> {
    const productKey = parseArg(idOrHandle, productId, 'productId')
    const { mediaIds: order } = parseInput(reorderSchema, { mediaIds }, 'media order')
    const rt = this.#rt
    const now = rt.now().toISOString()
    const product = await transact(
      rt,
      async (tx) => {
        const product = await this.#target(tx, productKey, undefined, now)
        const db = tx
        const held = new Set((await db.selectFrom('cw_media').select('id').where('product_id', '=', product).execute()).map((r) => r.id as string))
        const unknown = order.filter((m) => !held.has(m))
        const missing = [...held].filter((m) => !order.includes(m))
        if (unknown.length || missing.length) {
          const problems = [
            ...(unknown.length ? [`not images of this product: ${unknown.join(', ')}`] : []),
            ...(missing.length ? [`missing: ${missing.join(', ')}`] : []),
          ]
          throw validationError('media order', [{ path: 'mediaIds', message: `must list each of the product's ${held.size} images once (${problems.join('; ')})` }])
        }
        for (const [position, id] of order.entries()) {
          await db.updateTable('cw_media').set({ position, updated_at: now }).where('id', '=', id).execute()
        }
        return product
      },
      { idempotent: true },
    )
    return this.list(product)
  }

  /**
   * Removes an image; a file the engine stored is deleted through the `MediaStore` once the
   * reference is gone. `NOT_FOUND` for an unknown image; `CONFIGURATION`, nothing removed, for a
   * stored file without a `MediaStore`. Should the store fail to delete the file, the reference
   * is still removed and a `PROVIDER` error names the key (`details.key`), for the host to delete.
   *
   * @example
   * ```ts
   * const [cover] = await commerce.media.list('trail-runner')
   * await commerce.media.remove(cover!.id)
   * ```
   */
  async remove(mediaId: string): Promise<void> {
    const id = parseArg(fields.id, mediaId, 'mediaId')
    const rt = this.#rt
    const store = this.#store
    const removed = await transact(rt, async (tx, emit) => {
      const db = tx
      const row = (await db.selectFrom('cw_media').selectAll().where('id', '=', id).executeTakeFirst()) as MediaTable | undefined
      if (!row) throw notFound('Media', id)
      if (row.storage_key !== null && !store) {
        throw new CommerceError('CONFIGURATION', `Media ${JSON.stringify(id)} is a stored file: removing it needs the MediaStore it is in (CommerceOptions.media)`, {
          details: { mediaId: id, key: row.storage_key },
        })
      }
      // Lock the product's row first, as add does, so positions are renumbered one change at a time.
      await this.#target(tx, row.product_id, undefined, rt.now().toISOString())
      await db.deleteFrom('cw_media').where('id', '=', id).execute()
      await db.updateTable('cw_media').set((eb) => ({ position: eb('position', '-', 1) })).where('product_id', '=', row.product_id).where('position', '>', row.position).execute()
      emit('media.removed', { mediaId: id, productId: row.product_id, variantId: row.variant_id })
      return row
    })
    if (removed.storage_key !== null && store) {
      try {
        await store.delete(removed.storage_key)
      } catch (error) {
        throw new CommerceError('PROVIDER', `The reference to media ${JSON.stringify(id)} was removed, but ${store.id} could not delete its file ${removed.storage_key}`, {
          cause: error,
          details: { provider: store.id, mediaId: id, key: removed.storage_key, referenceRemoved: true },
        })
      }
    }
  }

  /** Stores a file through the store; a failure that is not already a `CommerceError` is `PROVIDER`. */
  async #put(key: string, bytes: Uint8Array, contentType: string): Promise<{ size: number }> {
    const store = this.#store!
    try {
      const stored = await store.put(key, bytes, { contentType })
      return { size: stored.size }
    } catch (error) {
      if (isCommerceError(error)) throw error
      throw new CommerceError('PROVIDER', `${store.id} could not store the file: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
        details: { provider: store.id, key },
      })
    }
  }

  /**
   * The product's id for an id or handle (`NOT_FOUND` when none), checking that `variantId` is one
   * of its variants (`VALIDATION` naming `variantId`). Given `touch`, sets the product's
   * `updated_at` to it, which in a transaction locks its row.
   */
  async #target(db: Executor | Tx, key: string, variantId: string | undefined, touch?: string): Promise<string> {
    const row = touch
      ? await db.updateTable('cw_products').set({ updated_at: touch }).where((eb) => eb.or([eb('id', '=', key), eb('handle', '=', key)])).returning('id').executeTakeFirst()
      : await db.selectFrom('cw_products').select('id').where((eb) => eb.or([eb('id', '=', key), eb('handle', '=', key)])).executeTakeFirst()
    if (!row) throw notFound('Product', key)
    if (variantId !== undefined) {
      const variant = await db.selectFrom('cw_variants').select('product_id').where('id', '=', variantId).executeTakeFirst()
      if (variant?.product_id !== row.id) {
        throw validationError('media', [{ path: 'variantId', message: `is not a variant of product ${row.id}` }])
      }
    }
    return row.id
  }
}
