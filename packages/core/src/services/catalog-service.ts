import { z } from 'zod'
import { CommerceError, notFound, validationError, type FieldIssue } from '../errors.js'
import type { PriceTable, ProductTable, ProductTagTable, Tx, VariantOptionValueTable, VariantTable, Executor } from '../db/database.js'
import { iso, json, parseJson } from '../db/rows.js'
import type { IdGenerator } from '../ids.js'
import { keysetPage, pageSchema } from '../paging.js'
import { read, transact, type Runtime } from '../runtime.js'
import type { Page, Price, Product, ProductOption, ProductStatus, Variant } from '../types.js'
import { fields, parseArg, parseInput } from '../validation.js'
import { inventoryPolicyOf } from './inventory-service.js'
import { withMedia } from './media-service.js'
import { explainPriceSchema, explainVariantPrice, type ExplainPriceInput, type PriceExplanation } from './price-resolution.js'
import type { DeleteProductResult } from '../types.js'
import { createProductsInBulk, type BulkProductInput, type CreateProductsResult } from './catalog-bulk.js'
import { catalogSettings, claimHandle, keepRedirect, loadTexts, localeSchema, optionField, rowByIdOrHandle, translateProduct, visibleIds } from './catalog-texts.js'
import { coreChannelId } from './channel-service.js'

const priceSchema = z
  .strictObject({
    currency: fields.currency,
    amount: fields.amount,
    minQuantity: z.number().int().min(1).max(10_000).default(1),
    compareAtAmount: fields.amount.nullable().optional(),
    /** Entered with tax included (true) or without (false); absent or null: the cart's convention. */
    taxInclusive: z.boolean().nullable().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.compareAtAmount != null && p.compareAtAmount <= p.amount) ctx.addIssue({ code: 'custom', path: ['compareAtAmount'], message: 'must be greater than amount' })
  })

const millimetres = z.number().int().min(0).max(100_000).nullable().optional()
/** A tag: trimmed, inner whitespace collapsed, 1–64 characters. */
const tagSchema = z
  .string()
  .transform((t) => t.trim().replace(/\s+/g, ' '))
  .pipe(z.string().min(1).max(64))
const tagsSchema = z.array(tagSchema).max(50)
/** Product attributes beyond options, for customs and storefronts. */
const attributeFields = {
  productType: z.string().trim().min(1).max(64).nullable().optional(),
  tags: tagsSchema.optional(),
  material: z.string().trim().min(1).max(255).nullable().optional(),
  hsCode: z.string().regex(/^\d{6,10}$/, 'an HS code is 6 to 10 digits').nullable().optional(),
  countryOfOrigin: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'an ISO 3166-1 alpha-2 code such as PT')
    .transform((c) => c.toUpperCase())
    .refine(isRegion, 'not an ISO 3166-1 alpha-2 country')
    .nullable()
    .optional(),
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' })
/** True for an assigned ISO 3166-1 alpha-2 code (Intl knows its name). */
function isRegion(code: string): boolean {
  return regionNames.of(code) !== code
}

/** Tags unique ignoring case, the first spelling kept. */
function uniqueTags(tags: readonly string[]): Array<{ tag: string; name: string }> {
  const seen = new Map<string, string>()
  for (const name of tags) if (!seen.has(name.toLowerCase())) seen.set(name.toLowerCase(), name)
  return [...seen].map(([tag, name]) => ({ tag, name }))
}

/** A tax class name such as `standard`, `reduced` or `books`; null: the tax provider's default. */
const taxClassField = z.string().trim().min(1).max(64).nullable().optional()

const variantSchema = z.strictObject({
  sku: fields.sku,
  title: fields.shortText.optional(),
  options: fields.optionValues.default({}),
  weightGrams: z.number().int().min(0).max(10_000_000).nullable().optional(),
  lengthMm: millimetres,
  widthMm: millimetres,
  heightMm: millimetres,
  manageInventory: z.boolean().default(true),
  prices: z.array(priceSchema).max(100).default([]),
  taxClass: taxClassField,
})

const statusSchema = z.enum(['draft', 'active', 'archived'])

/** @internal Shared with the bulk write (catalog-bulk.ts). */
export const createProductSchema = z.strictObject({
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
  ...attributeFields,
})

const updateProductSchema = z.strictObject({
  title: fields.shortText.optional(),
  handle: fields.handle.optional(),
  description: fields.longText.nullable().optional(),
  status: statusSchema.optional(),
  metadata: fields.metadata.optional(),
  ...attributeFields,
})

const updateVariantSchema = z.strictObject({
  title: fields.shortText.optional(),
  weightGrams: z.number().int().min(0).max(10_000_000).nullable().optional(),
  lengthMm: millimetres,
  widthMm: millimetres,
  heightMm: millimetres,
  manageInventory: z.boolean().optional(),
  taxClass: taxClassField,
})

// Lists are parsed under a key so that field paths read `variants.0.sku`, as in createProduct.
const addVariantsSchema = z.strictObject({ variants: z.array(variantSchema).min(1).max(250) })
const setPricesSchema = z.strictObject({ prices: z.array(priceSchema).max(100) })
const idOrHandleSchema = z.string().min(1).max(120)
const listProductsSchema = pageSchema.extend({
  status: statusSchema.optional(),
  visibleOnly: z.boolean().default(false),
  locale: localeSchema.optional(),
  channel: z.string().trim().min(1).max(64).optional(),
})
const getProductSchema = z.strictObject({ locale: localeSchema.optional() })
const translationFieldsSchema = z.record(z.string().max(200), z.string().trim().min(1).max(5000).nullable())
const translationSchema = z.strictObject({
  entity: z.discriminatedUnion('type', [
    z.strictObject({ type: z.enum(['product', 'variant', 'category', 'collection']), id: fields.id }),
    z.strictObject({ type: z.literal('option'), productId: fields.id, name: fields.optionName }),
  ]),
  locale: localeSchema,
  // Which of these an entity has is checked against its type (product: title and description…).
  fields: z.strictObject({
    title: z.string().trim().min(1).max(255).nullable().optional(),
    description: fields.longText.nullable().optional(),
    name: z.string().trim().min(1).max(64).nullable().optional(),
    values: translationFieldsSchema.optional(),
  }),
})

/** Input of `catalog.createProduct`. */
export type CreateProductInput = z.input<typeof createProductSchema>
/** One variant in {@link CreateProductInput}. */
export type VariantInput = z.input<typeof variantSchema>
/**
 * Input of `catalog.updateProduct`. A new `handle` keeps the old one as a redirect: `getProduct`
 * with it still finds the product. `tags` replaces every tag.
 *
 * @example
 * ```ts
 * const { id: productId } = await commerce.catalog.getProduct('trail-runner')
 * const input: UpdateProductInput = { handle: 'trail-runner-2', tags: ['Running', 'Trail'], hsCode: '640411' }
 * await commerce.catalog.updateProduct(productId, input)
 * ```
 */
export type UpdateProductInput = z.input<typeof updateProductSchema>
/**
 * Options of `catalog.getProduct`: `locale` (BCP 47) gives its texts in that locale, each
 * falling back to the default locale's.
 *
 * @example
 * ```ts
 * const options: GetProductOptions = { locale: 'de-CH' }
 * const product = await commerce.catalog.getProduct('trail-runner', options)
 * ```
 */
export type GetProductOptions = z.input<typeof getProductSchema>
/**
 * Input of `catalog.setTranslations`: the entity, the locale and its texts. A text of `null`
 * removes that translation. Product, category and collection: `title`, `description`; variant:
 * `title`; option: `name` and `values` (by the option's own value).
 *
 * @example
 * ```ts
 * const { id: productId } = await commerce.catalog.getProduct('trail-runner')
 * const input: TranslationInput = { entity: { type: 'option', productId, name: 'Color' }, locale: 'de', fields: { name: 'Farbe', values: { Red: 'Rot' } } }
 * ```
 */
export type TranslationInput = z.input<typeof translationSchema>
/** A price tier in input form. */
export type PriceInput = z.input<typeof priceSchema>
/**
 * Input of `catalog.listProducts`: paging, and optionally one status. Shoppers' listings pass
 * `visibleOnly: true`: active products only (never drafts or archived ones), filtered by the
 * catalog's visibility source for `channel`. A `channel` that is a core sales channel (its code
 * or id, see `commerce.channels`) lists only the products published to it, visible only or not.
 * `locale` gives the texts in that locale.
 *
 * @example
 * ```ts
 * const input: ListProductsInput = { visibleOnly: true, locale: 'de', limit: 50 }
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

/** @internal */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100)
  return slug || 'product'
}

/** @internal */
export function checkVariantOptions(options: ProductOption[], variants: Array<z.output<typeof variantSchema>>, offset = 0): FieldIssue[] {
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

/** A price's `taxInclusive` as its column: null when the price follows the cart's convention. */
function taxInclusiveColumn(value: boolean | null | undefined): number | null {
  return value === undefined || value === null ? null : value ? 1 : 0
}

export function toVariant(row: VariantTable, prices: PriceTable[]): Variant {
  return {
    id: row.id,
    productId: row.product_id,
    sku: row.sku,
    title: row.title,
    options: parseJson<Record<string, string>>(row.options, {}),
    weightGrams: row.weight_grams,
    lengthMm: row.length_mm ?? null,
    widthMm: row.width_mm ?? null,
    heightMm: row.height_mm ?? null,
    manageInventory: row.manage_inventory === 1,
    inventoryPolicy: inventoryPolicyOf(row),
    taxClass: row.tax_class ?? null,
    prices: prices
      .filter((p) => p.variant_id === row.id)
      .map((p) => ({ currency: p.currency, amount: p.amount, minQuantity: p.min_quantity, ...(p.compare_at_amount == null ? {} : { compareAtAmount: Number(p.compare_at_amount) }), ...(p.tax_inclusive == null ? {} : { taxInclusive: Number(p.tax_inclusive) === 1 }) }))
      .sort((a, b) => (a.currency === b.currency ? a.minQuantity - b.minQuantity : a.currency < b.currency ? -1 : 1)),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

function toProduct(row: ProductTable, variants: VariantTable[], prices: PriceTable[], tags: ProductTagTable[]): Product {
  return productOf(
    row,
    variants
      .filter((v) => v.product_id === row.id)
      .sort((a, b) => a.position - b.position)
      .map((v) => toVariant(v, prices)),
    tags
      .filter((t) => t.product_id === row.id)
      .sort((a, b) => a.position - b.position)
      .map((t) => t.name),
  )
}

/** @internal A product from its row, its variants (in position order) and tag names (in order); no media yet. */
export function productOf(row: ProductTable, variants: Variant[], tags: string[]): Product {
  return {
    id: row.id,
    handle: row.handle,
    title: row.title,
    description: row.description,
    status: row.status as ProductStatus,
    options: parseJson<ProductOption[]>(row.options, []),
    variants,
    metadata: parseJson<Record<string, unknown>>(row.metadata, {}),
    productType: row.product_type ?? null,
    tags,
    material: row.material ?? null,
    hsCode: row.hs_code ?? null,
    countryOfOrigin: row.country_of_origin ?? null,
    media: [],
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

/** The unit price for `quantity` units: the tier with the largest `minQuantity` not above it. */
export function unitPriceFor(prices: readonly Price[], currency: string, quantity: number): number | null {
  return tierFor(prices, currency, quantity)?.amount ?? null
}

/** @internal The price tier core charges `quantity` units at in `currency`: the largest `minQuantity` not above it. */
export function tierFor(prices: readonly Price[], currency: string, quantity: number): Price | null {
  let best: Price | null = null
  for (const price of prices) {
    if (price.currency !== currency || price.minQuantity > quantity) continue
    if (!best || price.minQuantity > best.minQuantity) best = price
  }
  return best
}

/** @internal Products with their variants, prices and tags; in `locale` when given. */
export async function loadProducts(db: Executor, rows: ProductTable[], rt?: Runtime, locale?: string): Promise<Product[]> {
  if (rows.length === 0) return []
  const ids = rows.map((r) => r.id)
  const variants = await db.selectFrom('cw_variants').selectAll().where('product_id', 'in', ids).execute()
  const prices = variants.length
    ? await db.selectFrom('cw_prices').selectAll().where('variant_id', 'in', variants.map((v) => v.id)).execute()
    : []
  const tags = await db.selectFrom('cw_product_tags').selectAll().where('product_id', 'in', ids).execute()
  return finishProducts(db, rows.map((row) => toProduct(row, variants, prices, tags)), rt, locale)
}

/** @internal Products given their variants and tags: with their images, and in `locale` when given. */
export async function finishProducts(db: Executor, built: Product[], rt?: Runtime, locale?: string): Promise<Product[]> {
  return inLocale(db, await withMedia(rt?.media, db, built), rt, locale)
}

/** @internal Products with their texts in `locale` (when given, with the catalog's fallback). */
export async function inLocale(db: Executor, products: Product[], rt?: Runtime, locale?: string): Promise<Product[]> {
  if (!rt || !locale || products.length === 0) return products
  const texts = await loadTexts(rt, db, locale, [
    { type: 'product', ids: products.map((p) => p.id) },
    { type: 'option', ids: products.map((p) => p.id) },
    { type: 'variant', ids: products.flatMap((p) => p.variants.map((v) => v.id)) },
  ])
  return products.map((p) => translateProduct(p, texts))
}

/**
 * The `cw_products` row of a product being created from its parsed input.
 * @internal Shared by `createProduct` and the bulk `createProducts`.
 */
export function productRow(id: string, handle: string, data: z.output<typeof createProductSchema>, now: string): ProductTable {
  return {
    id,
    handle,
    title: data.title,
    description: data.description ?? null,
    status: data.status,
    options: JSON.stringify(data.options),
    metadata: json(data.metadata),
    product_type: data.productType ?? null,
    material: data.material ?? null,
    hs_code: data.hsCode ?? null,
    country_of_origin: data.countryOfOrigin ?? null,
    created_at: now,
    updated_at: now,
  }
}

/** @internal */
export function tagRows(productId: string, tags: readonly string[]): ProductTagTable[] {
  return uniqueTags(tags).map((t, position) => ({ product_id: productId, tag: t.tag, name: t.name, position }))
}

/** @internal */
export function variantRows(ids: IdGenerator, productId: string, variants: Array<z.output<typeof variantSchema>>, options: ProductOption[], now: string, position = 0) {
  const variantValues: VariantTable[] = []
  const priceValues: PriceTable[] = []
  const optionValues: VariantOptionValueTable[] = []
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
      length_mm: v.lengthMm ?? null,
      width_mm: v.widthMm ?? null,
      height_mm: v.heightMm ?? null,
      manage_inventory: v.manageInventory ? 1 : 0,
      tax_class: v.taxClass ?? null,
      position: position + i,
      created_at: now,
      updated_at: now,
    })
    for (const p of v.prices) {
      priceValues.push({ id: ids('price'), variant_id: id, currency: p.currency, amount: p.amount, min_quantity: p.minQuantity, compare_at_amount: p.compareAtAmount ?? null, tax_inclusive: taxInclusiveColumn(p.taxInclusive) })
    }
    for (const [option, value] of Object.entries(v.options)) optionValues.push({ variant_id: id, product_id: productId, option, value })
  })
  return { variantValues, priceValues, optionValues }
}

/** Writes variants with their prices and option value rows. */
async function insertVariants(tx: Tx, rows: ReturnType<typeof variantRows>): Promise<void> {
  await tx.insertInto('cw_variants').values(rows.variantValues).execute()
  if (rows.priceValues.length) await tx.insertInto('cw_prices').values(rows.priceValues).execute()
  if (rows.optionValues.length) await tx.insertInto('cw_variant_option_values').values(rows.optionValues).execute()
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
        await claimHandle(tx, 'product', handle, null)
        await tx.insertInto('cw_products').values(productRow(id, handle, data, now)).execute()
        await insertVariants(tx, variantRows(rt.ids, id, data.variants, data.options, now))
        const tags = tagRows(id, data.tags ?? [])
        if (tags.length) await tx.insertInto('cw_product_tags').values(tags).execute()
        emit('product.created', { productId: id, handle })
      })
    } catch (error) {
      throw await this.#conflict(error, { handle, skus: data.variants.map((v) => v.sku) })
    }
    return this.getProduct(id)
  }

  /**
   * Creates many products in one transaction: every input is validated first, and one bad input
   * writes nothing (see {@link createProductsInBulk}).
   *
   * @example
   * ```ts
   * const { products } = await commerce.catalog.createProducts([
   *   { title: 'Wool Sock', variants: [{ sku: 'WS-1', prices: [{ currency: 'USD', amount: 900 }] }], categories: ['socks'], stock: [{ sku: 'WS-1', location: 'main', onHand: 40 }] },
   *   { title: 'Trail Runner', variants: [{ sku: 'TR-1', prices: [{ currency: 'USD', amount: 12900 }] }] },
   * ])
   * ```
   */
  async createProducts(inputs: BulkProductInput[]): Promise<CreateProductsResult> {
    return createProductsInBulk(this.#rt, inputs)
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
        await insertVariants(tx, variantRows(rt.ids, id, parsed, product.options, now, product.variants.length))
        await tx.updateTable('cw_products').set({ updated_at: now }).where('id', '=', id).execute()
        emit('product.updated', { productId: id })
      })
    } catch (error) {
      throw await this.#conflict(error, { skus: parsed.map((v) => v.sku) })
    }
    return this.getProduct(id)
  }

  /**
   * The product with this id or handle, or a handle it used to have (a redirect kept when its
   * handle changed); `NOT_FOUND` when there is none. Archived products are found too: their
   * orders link to them. With `locale`, texts are in that locale, each falling back to the
   * default locale's.
   *
   * @example
   * ```ts
   * const product = await commerce.catalog.getProduct('trail-runner', { locale: 'de' })
   * ```
   */
  async getProduct(idOrHandle: string, options: GetProductOptions = {}): Promise<Product> {
    const key = parseArg(idOrHandleSchema, idOrHandle, 'idOrHandle')
    const { locale } = parseInput(getProductSchema, options, 'options')
    const rt = this.#rt
    const product = await read(rt, async (db) => {
      const row = await rowByIdOrHandle(db, 'product', key)
      return row ? ((await loadProducts(db, [row], rt, locale))[0] ?? null) : null
    })
    if (!product) throw notFound('Product', key)
    return product
  }

  /**
   * Lists products, newest first, a page at a time. `visibleOnly: true` is the shopper's listing:
   * active products the visibility source shows (see {@link ListProductsInput}).
   *
   * @example
   * ```ts
   * const page = await commerce.catalog.listProducts({ visibleOnly: true, locale: 'de', limit: 24 })
   * ```
   */
  async listProducts(input: ListProductsInput = {}): Promise<Page<Product>> {
    const { status, visibleOnly, locale, channel, ...pageInput } = parseInput(listProductsSchema, input, 'page')
    const rt = this.#rt
    const page = await read(rt, async (db) => {
      let q = db.selectFrom('cw_products').selectAll()
      if (status) q = q.where('status', '=', status)
      if (visibleOnly) q = q.where('status', '=', 'active')
      // A core sales channel: only the products published to it.
      const channelId = await coreChannelId(db, channel)
      if (channelId) q = q.where('id', 'in', (eb) => eb.selectFrom('cw_channel_products').select('product_id').where('channel_id', '=', channelId))
      return keysetPage(q, pageInput, (rows) => loadProducts(db, rows, rt, locale))
    })
    if (!visibleOnly) return page
    const shown = await visibleIds(rt, page.items.map((p) => p.id), { channel: channel ?? null, locale: locale ?? catalogSettings(rt).defaultLocale })
    return { items: page.items.filter((p) => shown.has(p.id)), nextCursor: page.nextCursor }
  }

  /**
   * Updates a product's texts, status, metadata, handle, type, tags or attributes. A new handle
   * keeps the old one as a redirect to this product; a handle that redirects to another product
   * is `CONFLICT` until {@link CatalogService.dropRedirect} frees it.
   *
   * @example
   * ```ts
   * const { id: productId } = await commerce.catalog.getProduct('trail-runner')
   * await commerce.catalog.updateProduct(productId, { handle: 'trail-runner-2', tags: ['Trail'] })
   * ```
   */
  async updateProduct(productId: string, input: UpdateProductInput): Promise<Product> {
    const id = parseArg(fields.id, productId, 'productId')
    const data = parseInput(updateProductSchema, input, 'product')
    const rt = this.#rt
    try {
      await transact(rt, async (tx, emit) => {
        const now = rt.now().toISOString()
        const before = await tx.selectFrom('cw_products').select('handle').where('id', '=', id).executeTakeFirst()
        if (!before) throw notFound('Product', id)
        const newHandle = data.handle !== undefined && data.handle !== before.handle ? data.handle : undefined
        if (newHandle !== undefined) await claimHandle(tx, 'product', newHandle, id)
        await tx
          .updateTable('cw_products')
          .set({
            ...(data.title !== undefined ? { title: data.title } : {}),
            ...(newHandle !== undefined ? { handle: newHandle } : {}),
            ...(data.description !== undefined ? { description: data.description } : {}),
            ...(data.status !== undefined ? { status: data.status } : {}),
            ...(data.metadata !== undefined ? { metadata: json(data.metadata) } : {}),
            ...(data.productType !== undefined ? { product_type: data.productType } : {}),
            ...(data.material !== undefined ? { material: data.material } : {}),
            ...(data.hsCode !== undefined ? { hs_code: data.hsCode } : {}),
            ...(data.countryOfOrigin !== undefined ? { country_of_origin: data.countryOfOrigin } : {}),
            updated_at: now,
          })
          .where('id', '=', id)
          .execute()
        if (newHandle !== undefined) await keepRedirect(tx, 'product', before.handle, id, now)
        if (data.tags !== undefined) {
          await tx.deleteFrom('cw_product_tags').where('product_id', '=', id).execute()
          const tags = tagRows(id, data.tags)
          if (tags.length) await tx.insertInto('cw_product_tags').values(tags).execute()
        }
        emit('product.updated', { productId: id })
      }, { idempotent: true })
    } catch (error) {
      throw data.handle === undefined ? error : await this.#conflict(error, { handle: data.handle, skus: [] })
    }
    return this.getProduct(id)
  }

  /**
   * Deletes a product, or archives it when orders or carts refer to it: an order keeps its lines
   * (their snapshot of title, SKU and price) and the product stays findable by id and handle, but
   * it leaves shopper listings. The result says which (`product.deleted` or `product.archived`).
   * A deleted product's handle redirects are dropped with it.
   *
   * @example
   * ```ts
   * const { id: productId } = await commerce.catalog.getProduct('trail-runner')
   * const result = await commerce.catalog.deleteProduct(productId)
   * if (result.archived) console.log('kept for its orders')
   * ```
   */
  async deleteProduct(productId: string): Promise<DeleteProductResult> {
    const id = parseArg(fields.id, productId, 'productId')
    const rt = this.#rt
    return transact(rt, async (tx, emit) => {
      const product = await tx.selectFrom('cw_products').select(['id', 'handle']).where('id', '=', id).executeTakeFirst()
      if (!product) throw notFound('Product', id)
      const ordered = await tx.selectFrom('cw_order_lines').select('id').where('product_id', '=', id).limit(1).executeTakeFirst()
      const variantIds = tx.selectFrom('cw_variants').select('id').where('product_id', '=', id)
      // A cart line or a reservation (even a released one) refers to the variant's rows.
      const carted =
        !ordered &&
        ((await tx.selectFrom('cw_cart_lines').select('id').where('variant_id', 'in', variantIds).limit(1).executeTakeFirst()) ??
          (await tx.selectFrom('cw_reservations').select('id').where('variant_id', 'in', variantIds).limit(1).executeTakeFirst()))
      if (ordered || carted) {
        const reason = ordered ? 'orders' : 'carts'
        await tx.updateTable('cw_products').set({ status: 'archived', updated_at: rt.now().toISOString() }).where('id', '=', id).execute()
        emit('product.archived', { productId: id, reason })
        return { deleted: false, archived: true, reason } as const
      }
      await tx.deleteFrom('cw_translations').where('entity_type', 'in', ['product', 'option']).where('entity_id', '=', id).execute()
      await tx.deleteFrom('cw_translations').where('entity_type', '=', 'variant').where('entity_id', 'in', variantIds).execute()
      await tx.deleteFrom('cw_handle_redirects').where('entity_type', '=', 'product').where('entity_id', '=', id).execute()
      await tx.deleteFrom('cw_products').where('id', '=', id).execute()
      emit('product.deleted', { productId: id, handle: product.handle })
      return { deleted: true, archived: false } as const
    }, { idempotent: true })
  }

  /**
   * Drops the redirect of an old handle, so that another product can take it; false when there
   * was none.
   *
   * @example
   * ```ts
   * await commerce.catalog.dropRedirect('trail-runner')
   * ```
   */
  async dropRedirect(handle: string): Promise<boolean> {
    const key = parseArg(fields.handle, handle, 'handle')
    return transact(this.#rt, async (tx) => {
      const result = await tx.deleteFrom('cw_handle_redirects').where('entity_type', '=', 'product').where('handle', '=', key).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    }, { idempotent: true })
  }

  /**
   * Sets the texts of a product, variant, option, category or collection in a locale (BCP 47);
   * `null` removes one. Readers asking for that locale (`getProduct(id, { locale })`,
   * `listProducts({ locale })`, the categories' and collections' reads) get these texts, each
   * missing one falling back to a less specific locale (`de-CH` → `de`) and then to the entity's
   * own text, which is in the default locale. `NOT_FOUND` for an unknown entity; `VALIDATION`
   * for an option value the option does not have.
   *
   * @example
   * ```ts
   * const { id: productId } = await commerce.catalog.getProduct('trail-runner')
   * await commerce.catalog.setTranslations({ type: 'product', id: productId }, 'de', { title: 'Trailläufer' })
   * await commerce.catalog.setTranslations({ type: 'option', productId, name: 'Color' }, 'de', { name: 'Farbe', values: { Red: 'Rot' } })
   * ```
   */
  async setTranslations(entity: TranslationInput['entity'], locale: string, texts: TranslationInput['fields']): Promise<void> {
    const data = parseInput(translationSchema, { entity, locale, fields: texts }, 'translation')
    const rt = this.#rt
    const target = data.entity
    const values: Array<{ field: string; value: string | null }> = []
    const given = data.fields
    const allowed: Record<string, readonly string[]> = { product: ['title', 'description'], variant: ['title'], category: ['title', 'description'], collection: ['title', 'description'], option: ['name', 'values'] }
    const wrong = Object.keys(given).filter((k) => given[k as keyof typeof given] !== undefined && !allowed[target.type]!.includes(k))
    if (wrong.length) throw validationError('translation', wrong.map((k) => ({ path: `fields.${k}`, message: `a ${target.type} has no translated ${k}` })))
    await transact(rt, async (tx, emit) => {
      let entityId: string
      let productId: string | null = null
      if (target.type === 'option') {
        const product = await tx.selectFrom('cw_products').select(['id', 'options']).where('id', '=', target.productId).executeTakeFirst()
        if (!product) throw notFound('Product', target.productId)
        const option = parseJson<ProductOption[]>(product.options, []).find((o) => o.name === target.name)
        if (!option) throw validationError('translation', [{ path: 'entity.name', message: 'the product has no such option' }])
        const unknown = Object.keys(given.values ?? {}).filter((v) => !option.values.includes(v))
        if (unknown.length) throw validationError('translation', unknown.map((v) => ({ path: `fields.values.${v}`, message: `not a value of ${option.name}` })))
        if (given.name !== undefined) values.push({ field: optionField(option.name), value: given.name })
        for (const [v, text] of Object.entries(given.values ?? {})) values.push({ field: optionField(option.name, v), value: text })
        entityId = productId = product.id
      } else {
        const table = ({ product: 'cw_products', variant: 'cw_variants', category: 'cw_categories', collection: 'cw_collections' } as const)[target.type]
        const row = await tx.selectFrom(table).select('id').where('id', '=', target.id).executeTakeFirst()
        if (!row) throw notFound(target.type[0]!.toUpperCase() + target.type.slice(1), target.id)
        entityId = row.id
        if (given.title !== undefined) values.push({ field: 'title', value: given.title })
        if (given.description !== undefined) values.push({ field: 'description', value: given.description })
        if (target.type === 'product') productId = row.id
        if (target.type === 'variant') productId = (await tx.selectFrom('cw_variants').select('product_id').where('id', '=', row.id).executeTakeFirstOrThrow()).product_id
      }
      const type = target.type
      for (const { field, value } of values) {
        await tx.deleteFrom('cw_translations').where('entity_type', '=', type).where('entity_id', '=', entityId).where('locale', '=', data.locale).where('field', '=', field).execute()
        if (value !== null) await tx.insertInto('cw_translations').values({ entity_type: type, entity_id: entityId, locale: data.locale, field, value }).execute()
      }
      if (productId) emit('product.updated', { productId })
      else if (type === 'category') emit('category.updated', { categoryId: entityId })
      else emit('collection.updated', { collectionId: entityId })
    }, { idempotent: true })
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
          ...(data.taxClass !== undefined ? { tax_class: data.taxClass } : {}),
          ...(data.lengthMm !== undefined ? { length_mm: data.lengthMm } : {}),
          ...(data.widthMm !== undefined ? { width_mm: data.widthMm } : {}),
          ...(data.heightMm !== undefined ? { height_mm: data.heightMm } : {}),
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
          .values(parsed.map((p) => ({ id: rt.ids('price'), variant_id: id, currency: p.currency, amount: p.amount, min_quantity: p.minQuantity, compare_at_amount: p.compareAtAmount ?? null, tax_inclusive: taxInclusiveColumn(p.taxInclusive) })))
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
