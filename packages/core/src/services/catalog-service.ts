import { z } from 'zod'
import { CommerceError, notFound, validationError, type FieldIssue } from '../errors.js'
import type { PriceTable, ProductTable, Tx, VariantTable, Executor } from '../db/database.js'
import { iso, json, parseJson } from '../db/rows.js'
import type { IdGenerator } from '../ids.js'
import { keysetPage, pageSchema } from '../paging.js'
import { read, transact, type Runtime } from '../runtime.js'
import type { Page, Price, Product, ProductOption, ProductStatus, Variant } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { inventoryPolicyOf } from './inventory-service.js'
import { explainPriceSchema, explainVariantPrice, type ExplainPriceInput, type PriceExplanation } from './price-resolution.js'

const priceSchema = z.strictObject({
  currency: fields.currency,
  amount: fields.amount,
  minQuantity: z.number().int().min(1).max(10_000).default(1),
})

const variantSchema = z.strictObject({
  sku: fields.sku,
  title: fields.shortText.optional(),
  options: fields.optionValues.default({}),
  weightGrams: z.number().int().min(0).max(10_000_000).nullable().optional(),
  manageInventory: z.boolean().default(true),
  prices: z.array(priceSchema).max(100).default([]),
})

const statusSchema = z.enum(['draft', 'active', 'archived'])

const createProductSchema = z.strictObject({
  title: fields.shortText,
  handle: fields.handle.optional(),
  description: fields.longText.nullable().optional(),
  status: statusSchema.default('active'),
  options: z
    .array(z.strictObject({ name: fields.optionName, values: z.array(z.string().trim().min(1).max(64)).min(1).max(100) }))
    .max(5)
    .default([]),
  variants: z.array(variantSchema).min(1).max(250),
  metadata: fields.metadata.optional(),
})

const updateProductSchema = z.strictObject({
  title: fields.shortText.optional(),
  description: fields.longText.nullable().optional(),
  status: statusSchema.optional(),
  metadata: fields.metadata.optional(),
})

const updateVariantSchema = z.strictObject({
  title: fields.shortText.optional(),
  weightGrams: z.number().int().min(0).max(10_000_000).nullable().optional(),
  manageInventory: z.boolean().optional(),
})

// Lists are parsed under a key so that field paths read `variants.0.sku`, as in createProduct.
const addVariantsSchema = z.strictObject({ variants: z.array(variantSchema).min(1).max(250) })
const setPricesSchema = z.strictObject({ prices: z.array(priceSchema).max(100) })
const idOrHandleSchema = z.string().min(1).max(120)
const listProductsSchema = pageSchema.extend({ status: statusSchema.optional() })

/** Input of `catalog.createProduct`. */
export type CreateProductInput = z.input<typeof createProductSchema>
/** One variant in {@link CreateProductInput}. */
export type VariantInput = z.input<typeof variantSchema>
/** Input of `catalog.updateProduct`. */
export type UpdateProductInput = z.input<typeof updateProductSchema>
/** A price tier in input form. */
export type PriceInput = z.input<typeof priceSchema>
/**
 * Input of `catalog.listProducts`: paging, and optionally one status.
 *
 * @example
 * ```ts
 * const input: ListProductsInput = { status: 'active', limit: 50 }
 * const page = await commerce.catalog.listProducts(input)
 * ```
 */
export type ListProductsInput = z.input<typeof listProductsSchema>
/**
 * Input of `catalog.updateVariant`.
 *
 * @example
 * ```ts
 * const input: UpdateVariantInput = { title: 'Blue / 42', weightGrams: 600 }
 * await commerce.catalog.updateVariant(variantId, input)
 * ```
 */
export type UpdateVariantInput = z.input<typeof updateVariantSchema>

function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100)
  return slug || 'product'
}

function checkVariantOptions(options: ProductOption[], variants: Array<z.output<typeof variantSchema>>, offset = 0): FieldIssue[] {
  const issues: FieldIssue[] = []
  const seen = new Map<string, number>()
  const names = options.map((o) => o.name)
  variants.forEach((variant, i) => {
    const path = `variants.${i + offset}`
    for (const name of names) {
      const value = variant.options[name]
      const option = options.find((o) => o.name === name)!
      if (value === undefined) issues.push({ path: `${path}.options.${name}`, message: `missing a value for ${name}` })
      else if (!option.values.includes(value)) issues.push({ path: `${path}.options.${name}`, message: `${JSON.stringify(value)} is not one of ${option.values.join(', ')}` })
    }
    for (const key of Object.keys(variant.options)) {
      if (!names.includes(key)) issues.push({ path: `${path}.options.${key}`, message: 'the product has no such option' })
    }
    const combo = names.map((n) => variant.options[n]).join('\u0000')
    const earlier = seen.get(combo)
    if (earlier !== undefined) issues.push({ path: `${path}.options`, message: `same option values as ${earlier < 0 ? 'an existing variant' : `variants.${earlier}`}` })
    else seen.set(combo, i + offset)
    const tiers = new Set<string>()
    variant.prices.forEach((p, j) => {
      const key = `${p.currency}:${p.minQuantity}`
      if (tiers.has(key)) issues.push({ path: `${path}.prices.${j}`, message: `duplicate price for ${p.currency} from ${p.minQuantity}` })
      tiers.add(key)
    })
  })
  const skus = new Map<string, number>()
  variants.forEach((v, i) => {
    if (skus.has(v.sku)) issues.push({ path: `variants.${i + offset}.sku`, message: `duplicate SKU ${v.sku}` })
    skus.set(v.sku, i)
  })
  return issues
}

export function toVariant(row: VariantTable, prices: PriceTable[]): Variant {
  return {
    id: row.id,
    productId: row.product_id,
    sku: row.sku,
    title: row.title,
    options: parseJson<Record<string, string>>(row.options, {}),
    weightGrams: row.weight_grams,
    manageInventory: row.manage_inventory === 1,
    inventoryPolicy: inventoryPolicyOf(row),
    prices: prices
      .filter((p) => p.variant_id === row.id)
      .map((p) => ({ currency: p.currency, amount: p.amount, minQuantity: p.min_quantity }))
      .sort((a, b) => (a.currency === b.currency ? a.minQuantity - b.minQuantity : a.currency < b.currency ? -1 : 1)),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

function toProduct(row: ProductTable, variants: VariantTable[], prices: PriceTable[]): Product {
  return {
    id: row.id,
    handle: row.handle,
    title: row.title,
    description: row.description,
    status: row.status as ProductStatus,
    options: parseJson<ProductOption[]>(row.options, []),
    variants: variants
      .filter((v) => v.product_id === row.id)
      .sort((a, b) => a.position - b.position)
      .map((v) => toVariant(v, prices)),
    metadata: parseJson<Record<string, unknown>>(row.metadata, {}),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

/** The unit price for `quantity` units: the tier with the largest `minQuantity` not above it. */
export function unitPriceFor(prices: readonly Price[], currency: string, quantity: number): number | null {
  let best: Price | null = null
  for (const price of prices) {
    if (price.currency !== currency || price.minQuantity > quantity) continue
    if (!best || price.minQuantity > best.minQuantity) best = price
  }
  return best ? best.amount : null
}

async function loadProducts(db: Executor, rows: ProductTable[]): Promise<Product[]> {
  if (rows.length === 0) return []
  const variants = await db.selectFrom('cw_variants').selectAll().where('product_id', 'in', rows.map((r) => r.id)).execute()
  const prices = variants.length
    ? await db.selectFrom('cw_prices').selectAll().where('variant_id', 'in', variants.map((v) => v.id)).execute()
    : []
  return rows.map((row) => toProduct(row, variants, prices))
}

function variantRows(ids: IdGenerator, productId: string, variants: Array<z.output<typeof variantSchema>>, options: ProductOption[], now: string, position = 0) {
  const variantValues: VariantTable[] = []
  const priceValues: PriceTable[] = []
  variants.forEach((v, i) => {
    const id = ids('var')
    const title = v.title ?? (options.length ? options.map((o) => v.options[o.name]).join(' / ') : 'Default')
    variantValues.push({
      id,
      product_id: productId,
      sku: v.sku,
      title,
      options: JSON.stringify(v.options),
      weight_grams: v.weightGrams ?? null,
      manage_inventory: v.manageInventory ? 1 : 0,
      position: position + i,
      created_at: now,
      updated_at: now,
    })
    for (const p of v.prices) {
      priceValues.push({ id: ids('price'), variant_id: id, currency: p.currency, amount: p.amount, min_quantity: p.minQuantity })
    }
  })
  return { variantValues, priceValues }
}

/**
 * Products, their option axes, variants and prices.
 *
 * @example
 * ```ts
 * const shoe = await commerce.catalog.createProduct({
 *   title: 'Trail Runner',
 *   options: [{ name: 'Size', values: ['42', '43'] }, { name: 'Color', values: ['Blue'] }],
 *   variants: [
 *     { sku: 'TR-42-BLU', options: { Size: '42', Color: 'Blue' }, prices: [{ currency: 'USD', amount: 12900 }] },
 *     { sku: 'TR-43-BLU', options: { Size: '43', Color: 'Blue' }, prices: [{ currency: 'USD', amount: 12900 }] },
 *   ],
 * })
 * ```
 */
export class CatalogService {
  readonly #rt: Runtime
  /** @internal Services are made by `createCommerce`. */
  constructor(rt: Runtime) {
    this.#rt = rt
  }

  /** Creates a product with its variants and prices. SKUs and handles are unique (`CONFLICT`). */
  async createProduct(input: CreateProductInput): Promise<Product> {
    const data = parseInput(createProductSchema, input, 'product')
    const issues = checkVariantOptions(data.options, data.variants)
    if (issues.length) throw validationError('product', issues)
    const rt = this.#rt
    const now = rt.now().toISOString()
    const id = rt.ids('prod')
    const handle = data.handle ?? slugify(data.title)
    try {
      await transact(rt, async (tx, emit) => {
        await tx
          .insertInto('cw_products')
          .values({
            id,
            handle,
            title: data.title,
            description: data.description ?? null,
            status: data.status,
            options: JSON.stringify(data.options),
            metadata: json(data.metadata),
            created_at: now,
            updated_at: now,
          })
          .execute()
        const { variantValues, priceValues } = variantRows(rt.ids, id, data.variants, data.options, now)
        await tx.insertInto('cw_variants').values(variantValues).execute()
        if (priceValues.length) await tx.insertInto('cw_prices').values(priceValues).execute()
        emit('product.created', { productId: id, handle })
      })
    } catch (error) {
      throw await this.#conflict(error, { handle, skus: data.variants.map((v) => v.sku) })
    }
    return this.getProduct(id)
  }

  /**
   * A unique violation while writing a product or variants, as a `CONFLICT` naming each taken
   * value and its input field (`handle`, `variants.1.sku`). The driver's error does not say which
   * value clashed in a form every storage shares, so the taken values are read back.
   */
  async #conflict(error: unknown, written: { handle?: string; skus: string[] }): Promise<unknown> {
    const cause = (error as { cause?: unknown })?.cause ?? error
    if (!this.#rt.storage.isUniqueViolation(cause)) return error
    const taken = await read(this.#rt, async (db) => ({
      handle: written.handle === undefined ? undefined : await db.selectFrom('cw_products').select('id').where('handle', '=', written.handle).executeTakeFirst(),
      skus: new Set((await db.selectFrom('cw_variants').select('sku').where('sku', 'in', written.skus).execute()).map((r) => r.sku)),
    })).catch(() => ({ handle: undefined, skus: new Set<string>() }))
    const conflicts: Array<{ field: string; value: string }> = []
    if (taken.handle && written.handle !== undefined) conflicts.push({ field: 'handle', value: written.handle })
    written.skus.forEach((sku, i) => {
      if (taken.skus.has(sku)) conflicts.push({ field: `variants.${i}.sku`, value: sku })
    })
    const described = conflicts.map((c) =>
      c.field === 'handle' ? `handle ${JSON.stringify(c.value)} is already used by another product` : `SKU ${JSON.stringify(c.value)} (${c.field}) is already used by another variant`,
    )
    // Nothing found: the clashing row went away since; say what may have clashed.
    const message = described.length ? `The ${described.join('; the ')}` : `The handle or one of the SKUs is already used: ${[written.handle, ...written.skus].filter(Boolean).join(', ')}`
    return new CommerceError('CONFLICT', message, {
      cause,
      details: { conflicts, fields: conflicts.map((c) => c.field) },
    })
  }

  /** Adds variants to an existing product. */
  async addVariants(productId: string, variants: VariantInput[]): Promise<Product> {
    const productKey = parseArg(fields.id, productId, 'productId')
    const parsed = parseInput(addVariantsSchema, { variants }, 'variants').variants
    const product = await this.getProduct(productKey)
    // getProduct also finds a product by handle: write under its id.
    const id = product.id
    const existing = product.variants.map((v) => ({ ...v, prices: v.prices, title: v.title, manageInventory: v.manageInventory }))
    // Offset so that paths index the caller's array, not the existing variants before it.
    const issues = checkVariantOptions(product.options, [...existing, ...parsed] as Array<z.output<typeof variantSchema>>, -existing.length)
    if (issues.length) throw validationError('variants', issues)
    const rt = this.#rt
    const now = rt.now().toISOString()
    try {
      await transact(rt, async (tx, emit) => {
        const { variantValues, priceValues } = variantRows(rt.ids, id, parsed, product.options, now, product.variants.length)
        await tx.insertInto('cw_variants').values(variantValues).execute()
        if (priceValues.length) await tx.insertInto('cw_prices').values(priceValues).execute()
        await tx.updateTable('cw_products').set({ updated_at: now }).where('id', '=', id).execute()
        emit('product.updated', { productId: id })
      })
    } catch (error) {
      throw await this.#conflict(error, { skus: parsed.map((v) => v.sku) })
    }
    return this.getProduct(id)
  }

  /**
   * The product with this id or handle; `NOT_FOUND` when there is none.
   *
   * @example
   * ```ts
   * const product = await commerce.catalog.getProduct('trail-runner')
   * ```
   */
  async getProduct(idOrHandle: string): Promise<Product> {
    const key = parseArg(idOrHandleSchema, idOrHandle, 'idOrHandle')
    const product = await read(this.#rt, async (db) => {
      const row = await db.selectFrom('cw_products').selectAll().where((eb) => eb.or([eb('id', '=', key), eb('handle', '=', key)])).executeTakeFirst()
      return row ? ((await loadProducts(db, [row]))[0] ?? null) : null
    })
    if (!product) throw notFound('Product', key)
    return product
  }

  /** Lists products, newest first, a page at a time. */
  async listProducts(input: ListProductsInput = {}): Promise<Page<Product>> {
    const { status, ...pageInput } = parseInput(listProductsSchema, input, 'page')
    return read(this.#rt, (db) => {
      let q = db.selectFrom('cw_products').selectAll()
      if (status) q = q.where('status', '=', status)
      return keysetPage(q, pageInput, (rows) => loadProducts(db, rows))
    })
  }

  /** Updates a product's title, description, status or metadata. */
  async updateProduct(productId: string, input: UpdateProductInput): Promise<Product> {
    const id = parseArg(fields.id, productId, 'productId')
    const data = parseInput(updateProductSchema, input, 'product')
    const rt = this.#rt
    await transact(rt, async (tx, emit) => {
      const result = await tx
        .updateTable('cw_products')
        .set({
          ...(data.title !== undefined ? { title: data.title } : {}),
          ...(data.description !== undefined ? { description: data.description } : {}),
          ...(data.status !== undefined ? { status: data.status } : {}),
          ...(data.metadata !== undefined ? { metadata: json(data.metadata) } : {}),
          updated_at: rt.now().toISOString(),
        })
        .where('id', '=', id)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) === 0) throw notFound('Product', id)
      emit('product.updated', { productId: id })
    }, { idempotent: true })
    return this.getProduct(id)
  }

  /**
   * The variant with this id; `NOT_FOUND` when there is none.
   *
   * @example
   * ```ts
   * const variant = await commerce.catalog.getVariant(variantId)
   * ```
   */
  async getVariant(variantId: string): Promise<Variant> {
    const id = parseArg(fields.id, variantId, 'variantId')
    const variant = await read(this.#rt, (db) => findVariant(db, 'id', id))
    if (!variant) throw notFound('Variant', id)
    return variant
  }

  /**
   * The variant with this SKU; `NOT_FOUND` when there is none.
   *
   * @example
   * ```ts
   * const variant = await commerce.catalog.getVariantBySku('TR-42-BLU')
   * ```
   */
  async getVariantBySku(sku: string): Promise<Variant> {
    const key = parseArg(fields.sku, sku, 'sku')
    const variant = await read(this.#rt, (db) => findVariant(db, 'sku', key))
    if (!variant) throw notFound('Variant', key)
    return variant
  }

  /** Updates a variant's title, weight or inventory tracking. */
  async updateVariant(variantId: string, input: UpdateVariantInput): Promise<Variant> {
    const id = parseArg(fields.id, variantId, 'variantId')
    const data = parseInput(updateVariantSchema, input, 'variant')
    const rt = this.#rt
    await transact(rt, async (tx, emit) => {
      const row = await tx
        .updateTable('cw_variants')
        .set({
          ...(data.title !== undefined ? { title: data.title } : {}),
          ...(data.weightGrams !== undefined ? { weight_grams: data.weightGrams } : {}),
          ...(data.manageInventory !== undefined ? { manage_inventory: data.manageInventory ? 1 : 0 } : {}),
          updated_at: rt.now().toISOString(),
        })
        .where('id', '=', id)
        .returning('product_id')
        .executeTakeFirst()
      if (!row) throw notFound('Variant', id)
      emit('product.updated', { productId: row.product_id })
    }, { idempotent: true })
    return this.getVariant(id)
  }

  /** Replaces every price of a variant with `prices`. */
  async setPrices(variantId: string, prices: PriceInput[]): Promise<Variant> {
    const id = parseArg(fields.id, variantId, 'variantId')
    const parsed = parseInput(setPricesSchema, { prices }, 'prices').prices
    const tiers = new Set(parsed.map((p) => `${p.currency}:${p.minQuantity}`))
    if (tiers.size !== parsed.length) throw validationError('prices', [{ path: 'prices', message: 'two prices for the same currency and minimum quantity' }])
    const rt = this.#rt
    await transact(rt, async (tx, emit) => {
      const variant = await tx.selectFrom('cw_variants').select(['id', 'product_id']).where('id', '=', id).executeTakeFirst()
      if (!variant) throw notFound('Variant', id)
      await tx.deleteFrom('cw_prices').where('variant_id', '=', id).execute()
      if (parsed.length) {
        await tx
          .insertInto('cw_prices')
          .values(parsed.map((p) => ({ id: rt.ids('price'), variant_id: id, currency: p.currency, amount: p.amount, min_quantity: p.minQuantity })))
          .execute()
      }
      await tx.updateTable('cw_variants').set({ updated_at: rt.now().toISOString() }).where('id', '=', id).execute()
      emit('product.updated', { productId: variant.product_id })
    }, { idempotent: true })
    return this.getVariant(id)
  }

  /**
   * What one unit of a variant costs in a cart line of `quantity` units (default 1) in `currency`,
   * for a customer and channel, and why: core's base price, core's tier for the quantity when it
   * is not the base price, and each price source's answer, weakest first, the one that applies
   * marked `applied` and the others `overriddenBy` it. The same resolution prices cart lines (the
   * precedence is in `docs/pricing.md`). `amount` is null, with `problem` saying why, when nothing
   * prices the variant in that currency. `NOT_FOUND` for an unknown variant; `VALIDATION` naming
   * the field for bad input; `PROVIDER` naming a source that fails or answers a bad amount.
   *
   * @example
   * ```ts
   * const explained = await commerce.catalog.explainPrice(variantId, { currency: 'USD', quantity: 10, customerId: 'cus_1' })
   * // { amount: 9500, source: 'price-list', chain: [
   * //   { source: 'base', kind: 'base', amount: 10000, minQuantity: 1, applied: false, overriddenBy: 'price-list' },
   * //   { source: 'tier', kind: 'tier', amount: 9000, minQuantity: 10, applied: false, overriddenBy: 'price-list' },
   * //   { source: 'price-list', kind: 'source', amount: 9500, applied: true, label: 'wholesale-2026' } ], … }
   * ```
   */
  async explainPrice(variantId: string, input: ExplainPriceInput): Promise<PriceExplanation> {
    const id = parseArg(fields.id, variantId, 'variantId')
    const query = parseInput(explainPriceSchema, input, 'price query')
    const rt = this.#rt
    return read(rt, async (db) => {
      const variant = await findVariant(db, 'id', id)
      if (!variant) throw notFound('Variant', id)
      return explainVariantPrice(rt, db, variant, query)
    })
  }
}

/** @internal Loads one variant with its prices. */
export async function findVariant(db: Executor | Tx, by: 'id' | 'sku', value: string): Promise<Variant | null> {
  const row = await db.selectFrom('cw_variants').selectAll().where(by, '=', value).executeTakeFirst()
  if (!row) return null
  const prices = await db.selectFrom('cw_prices').selectAll().where('variant_id', '=', row.id).execute()
  return toVariant(row, prices)
}
