import { z } from 'zod'
import { CommerceError, validationError, type FieldIssue } from '../errors.js'
import type { CoreDatabase, InventoryLevelTable, PriceTable, ProductTable, ProductTagTable, VariantOptionValueTable, VariantTable, Tx } from '../db/database.js'
import type { MediaTable } from '../db/migration-0010-media.js'
import { transact, type Runtime } from '../runtime.js'
import { fields, parseInput } from '../validation.js'
import { checkVariantOptions, createProductSchema, productRow, slugify, tagRows, variantRows, type CreateProductInput } from './catalog-service.js'
import { MAX_MEDIA_PER_PRODUCT } from './media-service.js'

/** The most products one `catalog.createProducts` call writes. */
export const MAX_BULK_PRODUCTS = 10_000
const MAX_ON_HAND = 1_000_000_000
/** Rows per multi-row insert: well under PostgreSQL's 65,535 bound parameters for the widest table. */
const CHUNK = 400

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.username === '' && url.password === ''
  } catch {
    return false
  }
}

const extras = {
  /** Categories the product is listed in, by id or handle; it goes last in each. */
  categories: z.array(z.string().trim().min(1).max(120)).max(50).optional(),
  /** On-hand counts of its variants, by SKU and stock location (code or id). */
  stock: z
    .array(z.strictObject({ sku: fields.sku, location: z.string().trim().min(1).max(120), onHand: z.number().int().min(0).max(MAX_ON_HAND) }))
    .max(2_500)
    .optional(),
  /** Images by URL, in order; with `sku`, the image is that variant's. */
  images: z
    .array(
      z.strictObject({
        url: z.string().max(2048).refine(isHttpUrl, 'must be an http(s) URL without credentials'),
        alt: z.string().trim().max(512).optional(),
        sku: fields.sku.optional(),
      }),
    )
    .max(MAX_MEDIA_PER_PRODUCT)
    .optional(),
}

// Built on first use: catalog-service.ts imports this module, so its schema is not ready while this one loads.
let schema: z.ZodType<{ products: Array<BulkProduct> }, { products: BulkProductInput[] }> | undefined
function bulkSchema() {
  return (schema ??= z.strictObject({ products: z.array(createProductSchema.extend(extras)).min(1).max(MAX_BULK_PRODUCTS) }) as never)
}

type BulkProduct = z.output<typeof createProductSchema> & {
  categories?: string[]
  stock?: Array<{ sku: string; location: string; onHand: number }>
  images?: Array<{ url: string; alt?: string; sku?: string }>
}

/**
 * One product of `catalog.createProducts`: a {@link CreateProductInput} with, written in the same
 * transaction, the categories it is listed in (`categories`: ids or handles), its variants' stock
 * (`stock`: SKU, stock location code or id, on-hand) and images by URL (`images`, a variant's by `sku`).
 *
 * @example
 * ```ts
 * const input: BulkProductInput = {
 *   title: 'Wool Sock',
 *   handle: 'wool-sock',
 *   variants: [{ sku: 'WS-1', prices: [{ currency: 'USD', amount: 900 }] }],
 *   categories: ['socks'],
 *   stock: [{ sku: 'WS-1', location: 'main', onHand: 40 }],
 *   images: [{ url: 'https://cdn.example.com/ws-1.jpg', alt: 'A grey wool sock' }],
 * }
 * await commerce.catalog.createProducts([input])
 * ```
 */
export type BulkProductInput = CreateProductInput & {
  categories?: string[]
  stock?: Array<{ sku: string; location: string; onHand: number }>
  images?: Array<{ url: string; alt?: string; sku?: string }>
}

/**
 * What `catalog.createProducts` wrote: each product's id and handle, in the order of the inputs.
 *
 * @example
 * ```ts
 * const result: CreateProductsResult = await commerce.catalog.createProducts([{ title: 'Cap', variants: [{ sku: 'CAP-1' }] }])
 * result.products[0]!.handle // 'cap'
 * ```
 */
export interface CreateProductsResult {
  products: Array<{ id: string; handle: string }>
}

/**
 * Writes many products in one transaction (with their events, search documents, category
 * listings, stock levels and images), or nothing. Every input is checked before anything is
 * written, and every problem is reported at once: a `VALIDATION` error whose issue paths start
 * with the input's index (`products.3.variants.0.sku`, `products.7.categories.0`); a handle or
 * SKU already in the catalog is a `CONFLICT` naming each such field the same way. Its
 * `details.inputs` lists the indexes of the inputs that failed.
 * @internal Called by `CatalogService.createProducts`.
 */
export async function createProductsInBulk(rt: Runtime, inputs: BulkProductInput[]): Promise<CreateProductsResult> {
  if (!Array.isArray(inputs)) throw validationError('products', [{ path: 'products', message: 'must be an array of products' }])
  const { products } = parseInput(bulkSchema(), { products: inputs }, 'products')
  const issues: FieldIssue[] = []
  const handles = new Map<string, number>()
  const skus = new Map<string, number>()
  const planned = products.map((p, i) => {
    const at = `products.${i}`
    for (const issue of checkVariantOptions(p.options, p.variants)) issues.push({ ...issue, path: `${at}.${issue.path}` })
    const handle = p.handle ?? slugify(p.title)
    const earlier = handles.get(handle)
    if (earlier !== undefined) issues.push({ path: `${at}.handle`, message: `handle ${JSON.stringify(handle)} is also products.${earlier}'s` })
    else handles.set(handle, i)
    const own = new Set(p.variants.map((v) => v.sku))
    p.variants.forEach((v, j) => {
      const other = skus.get(v.sku)
      if (other !== undefined && other !== i) issues.push({ path: `${at}.variants.${j}.sku`, message: `SKU ${JSON.stringify(v.sku)} is also a variant of products.${other}` })
      else skus.set(v.sku, i)
    })
    const stocked = new Set<string>()
    p.stock?.forEach((s, j) => {
      if (!own.has(s.sku)) issues.push({ path: `${at}.stock.${j}.sku`, message: `${JSON.stringify(s.sku)} is not one of this product's SKUs` })
      const key = `${s.sku}\u0000${s.location}`
      if (stocked.has(key)) issues.push({ path: `${at}.stock.${j}`, message: `a second count for ${s.sku} at ${s.location}` })
      stocked.add(key)
    })
    p.images?.forEach((m, j) => {
      if (m.sku !== undefined && !own.has(m.sku)) issues.push({ path: `${at}.images.${j}.sku`, message: `${JSON.stringify(m.sku)} is not one of this product's SKUs` })
    })
    return { data: p, handle, id: rt.ids('prod') }
  })
  if (issues.length) throw withInputs(validationError('products', issues))

  const now = rt.now().toISOString()
  try {
    await transact(rt, async (tx, emit) => {
      await refuseTaken(tx, planned)
      const categories = await resolve(tx, 'cw_categories', planned, (p) => p.data.categories ?? [], 'categories')
      const locations = await resolve(tx, 'cw_stock_locations', planned, (p) => (p.data.stock ?? []).map((s) => s.location), 'stock', 'location')

      const productRows: ProductTable[] = []
      const variantValues: VariantTable[] = []
      const priceValues: PriceTable[] = []
      const optionValues: VariantOptionValueTable[] = []
      const tags: ProductTagTable[] = []
      const levels: InventoryLevelTable[] = []
      const media: MediaTable[] = []
      const listed = new Map<string, string[]>()
      // The same location named by its code and by its id is one location: a second count for it is
      // refused like a second count under one name (before the insert would say CONFLICT).
      const counted = new Set<string>()
      const recounted: FieldIssue[] = []
      for (const [i, { data, handle, id }] of planned.entries()) {
        productRows.push(productRow(id, handle, data, now))
        const rows = variantRows(rt.ids, id, data.variants, data.options, now)
        variantValues.push(...rows.variantValues)
        priceValues.push(...rows.priceValues)
        optionValues.push(...rows.optionValues)
        tags.push(...tagRows(id, data.tags ?? []))
        const variantOf = new Map(rows.variantValues.map((v) => [v.sku, v.id]))
        for (const [j, s] of (data.stock ?? []).entries()) {
          const key = `${s.sku}\u0000${locations.get(s.location)!}`
          if (counted.has(key)) recounted.push({ path: `products.${i}.stock.${j}`, message: `a second count for ${s.sku} at ${s.location} (the same location as an earlier count)` })
          counted.add(key)
          levels.push({ id: rt.ids('lvl'), variant_id: variantOf.get(s.sku)!, location_id: locations.get(s.location)!, on_hand: s.onHand, reserved: 0, low_stock_threshold: null, updated_at: now })
        }
        data.images?.forEach((m, position) => {
          media.push({
            id: rt.ids('media'),
            product_id: id,
            variant_id: m.sku === undefined ? null : variantOf.get(m.sku)!,
            position,
            alt: m.alt ?? null,
            width: null,
            height: null,
            content_type: null,
            size: null,
            storage_key: null,
            url: m.url,
            created_at: now,
            updated_at: now,
          })
        })
        for (const key of new Set(data.categories ?? [])) {
          const category = categories.get(key)!
          listed.set(category, [...(listed.get(category) ?? []), id])
        }
      }
      if (recounted.length) throw withInputs(validationError('products', recounted))
      await insertChunked(tx, 'cw_products', productRows)
      await insertChunked(tx, 'cw_variants', variantValues)
      await insertChunked(tx, 'cw_prices', priceValues)
      await insertChunked(tx, 'cw_variant_option_values', optionValues)
      await insertChunked(tx, 'cw_product_tags', tags)
      await insertChunked(tx, 'cw_inventory_levels', levels)
      await insertChunked(tx, 'cw_media', media)
      for (const [categoryId, ids] of listed) {
        const last = await tx.selectFrom('cw_category_products').select((eb) => eb.fn.max('position').as('max')).where('category_id', '=', categoryId).executeTakeFirst()
        let next = last?.max == null ? 0 : Number(last.max) + 1
        const rows: Array<CoreDatabase['cw_category_products']> = [...new Set(ids)].map((product_id) => ({ category_id: categoryId, product_id, position: next++ }))
        await insertChunked(tx, 'cw_category_products', rows)
        emit('category.updated', { categoryId })
      }
      for (const p of planned) emit('product.created', { productId: p.id, handle: p.handle })
      for (const l of levels) emit('inventory.adjusted', { variantId: l.variant_id, locationId: l.location_id, onHand: l.on_hand, available: l.on_hand })
      for (const m of media) emit('media.added', { mediaId: m.id, productId: m.product_id, variantId: m.variant_id })
    })
  } catch (error) {
    const cause = (error as { cause?: unknown })?.cause ?? error
    if (!(error instanceof CommerceError) && rt.storage.isUniqueViolation(cause)) {
      // Taken by a concurrent writer after the check above: nothing was written.
      throw new CommerceError('CONFLICT', 'A handle or SKU of these products was taken while they were written; nothing was written', { cause, details: { fields: ['products'] } })
    }
    throw error
  }
  return { products: planned.map((p) => ({ id: p.id, handle: p.handle })) }
}

type Planned = { data: BulkProduct; handle: string; id: string }

/** Adds `details.inputs`: the indexes of the inputs an error's fields name. */
function withInputs(error: CommerceError): CommerceError {
  const fieldList = (error.details.fields as string[] | undefined) ?? []
  const inputs = [...new Set(fieldList.map((f) => /^products\.(\d+)/.exec(f)?.[1]).filter((i): i is string => i !== undefined).map(Number))].sort((a, b) => a - b)
  ;(error.details as Record<string, unknown>).inputs = inputs
  return error
}

/** `CONFLICT` naming every handle and SKU the catalog already has (or keeps as a redirect). */
async function refuseTaken(tx: Tx, planned: Planned[]): Promise<void> {
  const conflicts: Array<{ field: string; value: string }> = []
  const handles = planned.map((p) => p.handle)
  const takenHandles = new Set<string>()
  for (let i = 0; i < handles.length; i += CHUNK) {
    const chunk = handles.slice(i, i + CHUNK)
    for (const r of await tx.selectFrom('cw_products').select('handle').where('handle', 'in', chunk).execute()) takenHandles.add(r.handle)
    for (const r of await tx.selectFrom('cw_handle_redirects').select('handle').where('entity_type', '=', 'product').where('handle', 'in', chunk).execute()) takenHandles.add(r.handle)
  }
  const skus = planned.flatMap((p) => p.data.variants.map((v) => v.sku))
  const takenSkus = new Set<string>()
  for (let i = 0; i < skus.length; i += CHUNK) {
    for (const r of await tx.selectFrom('cw_variants').select('sku').where('sku', 'in', skus.slice(i, i + CHUNK)).execute()) takenSkus.add(r.sku)
  }
  planned.forEach((p, i) => {
    if (takenHandles.has(p.handle)) conflicts.push({ field: `products.${i}.handle`, value: p.handle })
    p.data.variants.forEach((v, j) => {
      if (takenSkus.has(v.sku)) conflicts.push({ field: `products.${i}.variants.${j}.sku`, value: v.sku })
    })
  })
  if (conflicts.length === 0) return
  const said = conflicts.map((c) => `${c.field} ${JSON.stringify(c.value)}`)
  throw withInputs(
    new CommerceError('CONFLICT', `Already in the catalog: ${said.slice(0, 20).join(', ')}${said.length > 20 ? ` and ${said.length - 20} more` : ''}`, {
      details: { conflicts, fields: conflicts.map((c) => c.field) },
    }),
  )
}

/** Ids of categories or stock locations named by id, handle or code; `VALIDATION` naming each unknown one. */
async function resolve(
  tx: Tx,
  table: 'cw_categories' | 'cw_stock_locations',
  planned: Planned[],
  keysOf: (p: Planned) => string[],
  list: string,
  field?: string,
): Promise<Map<string, string>> {
  const keys = [...new Set(planned.flatMap(keysOf))]
  const found = new Map<string, string>()
  for (let i = 0; i < keys.length; i += CHUNK) {
    const chunk = keys.slice(i, i + CHUNK)
    const rows =
      table === 'cw_categories'
        ? (await tx.selectFrom('cw_categories').select(['id', 'handle as key']).where((eb) => eb.or([eb('id', 'in', chunk), eb('handle', 'in', chunk)])).execute())
        : (await tx.selectFrom('cw_stock_locations').select(['id', 'code as key']).where((eb) => eb.or([eb('id', 'in', chunk), eb('code', 'in', chunk)])).execute())
    for (const r of rows) {
      found.set(r.id, r.id)
      found.set(r.key, r.id)
    }
  }
  const issues: FieldIssue[] = []
  planned.forEach((p, i) =>
    keysOf(p).forEach((key, j) => {
      if (!found.has(key)) issues.push({ path: `products.${i}.${list}.${j}${field ? `.${field}` : ''}`, message: `no ${table === 'cw_categories' ? 'category' : 'stock location'} ${JSON.stringify(key)}` })
    }),
  )
  if (issues.length) throw withInputs(validationError('products', issues))
  return found
}

async function insertChunked<T extends 'cw_products' | 'cw_variants' | 'cw_prices' | 'cw_variant_option_values' | 'cw_product_tags' | 'cw_inventory_levels' | 'cw_media' | 'cw_category_products'>(
  tx: Tx,
  table: T,
  rows: unknown[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await tx.insertInto(table).values(rows.slice(i, i + CHUNK) as never).execute()
}
