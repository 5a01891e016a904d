import { z } from 'zod'
import { defineEndpoint, MAX_BULK_PRODUCTS, MAX_MEDIA_PER_PRODUCT, type Endpoint } from '@cartwright/core'
import { categoryNodeSchema, categorySchema, collectionSchema, inventoryPolicySchema, mediaSchema, okSchema, pageOf, productSchema, variantSchema } from './schemas.js'
import { core, defined, id, idOrHandle, locale, paging, queryBool } from './fields.js'

// Staff routes over the catalog. Bodies are strict objects with core's fields; core checks each
// value again (its limits, handles, option combinations) and names the field it refuses.

const read = 'catalog:read'
const write = 'catalog:write'

const metadata = z.record(z.string().max(64), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]))
const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const millimetres = z.number().int().min(0).max(100_000).nullable().optional()
const price = z.strictObject({
  currency: z.string().length(3),
  amount,
  minQuantity: z.number().int().min(1).max(10_000).optional(),
  compareAtAmount: amount.nullable().optional(),
  taxInclusive: z.boolean().nullable().optional(),
})
const variant = z.strictObject({
  sku: z.string().min(1).max(64),
  title: z.string().max(255).optional(),
  options: z.record(z.string().min(1).max(64), z.string().min(1).max(64)).optional(),
  weightGrams: z.number().int().min(0).max(10_000_000).nullable().optional(),
  lengthMm: millimetres,
  widthMm: millimetres,
  heightMm: millimetres,
  manageInventory: z.boolean().optional(),
  prices: z.array(price).max(100).optional(),
  taxClass: z.string().max(64).nullable().optional(),
})
const status = z.enum(['draft', 'active', 'archived'])
const attributes = {
  productType: z.string().max(64).nullable().optional(),
  tags: z.array(z.string().max(200)).max(50).optional(),
  material: z.string().max(255).nullable().optional(),
  hsCode: z.string().max(10).nullable().optional(),
  countryOfOrigin: z.string().max(2).nullable().optional(),
}
const productFields = {
  title: z.string().max(255),
  handle: z.string().max(120).optional(),
  description: z.string().max(5000).nullable().optional(),
  status: status.optional(),
  metadata: metadata.optional(),
  ...attributes,
}
const createProductBody = {
  ...productFields,
  options: z.array(z.strictObject({ name: z.string().max(64), values: z.array(z.string().max(64)).min(1).max(100) })).max(5).optional(),
  variants: z.array(variant).min(1).max(250),
}

const listProducts = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/products',
  summary: 'Every product, newest first, of one status or all, a page at a time',
  access: 'staff',
  scope: read,
  input: z.strictObject({ status: status.optional(), locale: locale.optional(), channel: z.string().min(1).max(64).optional(), ...paging }),
  output: pageOf(productSchema),
  handler: ({ input, commerce }) => core(commerce).catalog.listProducts(defined(input)),
})

const createProduct = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/products',
  summary: 'Create a product with its options and variants (and their prices)',
  access: 'staff',
  scope: write,
  input: z.strictObject(createProductBody),
  output: productSchema,
  handler: ({ input, commerce }) => core(commerce).catalog.createProduct(input),
})

const importProducts = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/products/batch',
  summary: 'Create many products in one transaction, with their categories, stock and images by URL, or none',
  description: `Every input is checked first and every problem reported at once, each path starting with the input's index (\`products.3.variants.0.sku\`). At most ${MAX_BULK_PRODUCTS} products; the body size limit of the app applies.`,
  access: 'staff',
  scope: write,
  input: z.strictObject({
    products: z
      .array(
        z.strictObject({
          ...createProductBody,
          categories: z.array(z.string().max(120)).max(50).optional(),
          stock: z.array(z.strictObject({ sku: z.string().max(64), location: z.string().max(64), onHand: z.number().int().min(0) })).max(250).optional(),
          images: z.array(z.strictObject({ url: z.string().max(2048), alt: z.string().max(512).optional(), sku: z.string().max(64).optional() })).max(MAX_MEDIA_PER_PRODUCT).optional(),
        }),
      )
      .min(1)
      .max(MAX_BULK_PRODUCTS),
  }),
  output: z.object({ products: z.array(z.object({ id: z.string(), handle: z.string() })) }),
  handler: ({ input, commerce }) => core(commerce).catalog.createProducts(input.products),
})

const getProduct = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/products/:productId',
  summary: 'A product by id or handle, whatever its status',
  access: 'staff',
  scope: read,
  input: z.strictObject({ productId: idOrHandle, locale: locale.optional() }),
  output: productSchema,
  handler: ({ input, commerce }) => core(commerce).catalog.getProduct(input.productId, defined({ locale: input.locale })),
})

const updateProduct = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/products/:productId',
  summary: 'Change a product (the fields given); a new handle keeps the old one as a redirect',
  access: 'staff',
  scope: write,
  input: z.strictObject({ productId: id, ...productFields, title: productFields.title.optional() }),
  output: productSchema,
  handler: ({ input, commerce }) => {
    const { productId, ...fields } = input
    return core(commerce).catalog.updateProduct(productId, defined(fields))
  },
})

const deleteProduct = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/products/:productId',
  summary: 'Delete a product, or archive it when orders or carts refer to it',
  access: 'staff',
  scope: write,
  input: z.strictObject({ productId: id }),
  output: z.union([
    z.object({ deleted: z.literal(true), archived: z.literal(false) }),
    z.object({ deleted: z.literal(false), archived: z.literal(true), reason: z.enum(['orders', 'carts']) }),
  ]),
  handler: ({ input, commerce }) => core(commerce).catalog.deleteProduct(input.productId),
})

const addVariants = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/products/:productId/variants',
  summary: 'Add variants to a product',
  access: 'staff',
  scope: write,
  input: z.strictObject({ productId: id, variants: z.array(variant).min(1).max(250) }),
  output: productSchema,
  handler: ({ input, commerce }) => core(commerce).catalog.addVariants(input.productId, input.variants),
})

const getVariant = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/variants/:variantId',
  summary: 'A variant with its prices',
  access: 'staff',
  scope: read,
  input: z.strictObject({ variantId: id }),
  output: variantSchema,
  handler: ({ input, commerce }) => core(commerce).catalog.getVariant(input.variantId),
})

const updateVariant = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/variants/:variantId',
  summary: 'Change a variant (title, dimensions, inventory tracking, tax class)',
  access: 'staff',
  scope: write,
  input: z.strictObject({
    variantId: id,
    title: z.string().max(255).optional(),
    weightGrams: z.number().int().min(0).max(10_000_000).nullable().optional(),
    lengthMm: millimetres,
    widthMm: millimetres,
    heightMm: millimetres,
    manageInventory: z.boolean().optional(),
    taxClass: z.string().max(64).nullable().optional(),
  }),
  output: variantSchema,
  handler: ({ input, commerce }) => {
    const { variantId, ...fields } = input
    return core(commerce).catalog.updateVariant(variantId, defined(fields))
  },
})

const setPrices = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/variants/:variantId/prices',
  summary: "Replace a variant's prices (every currency and quantity tier)",
  access: 'staff',
  scope: write,
  input: z.strictObject({ variantId: id, prices: z.array(price).max(100) }),
  output: variantSchema,
  handler: ({ input, commerce }) => core(commerce).catalog.setPrices(input.variantId, input.prices),
})

const setPolicy = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/variants/:variantId/inventory-policy',
  summary: 'Whether a variant sells beyond stock: deny, backorder (up to a limit) or preorder (until a date)',
  access: 'staff',
  scope: 'inventory:write',
  input: z.strictObject({
    variantId: id,
    policy: z.enum(['deny', 'backorder', 'preorder']),
    backorderLimit: z.number().int().min(1).max(1_000_000).nullable().optional(),
    availableAt: z.string().max(40).optional(),
  }),
  output: inventoryPolicySchema,
  handler: ({ input, commerce }) => {
    const { variantId, ...policy } = input
    // Core's input is a union by policy; it names any field the policy does not take.
    return core(commerce).inventory.setPolicy(variantId, defined(policy) as Parameters<ReturnType<typeof core>['inventory']['setPolicy']>[1])
  },
})

const setTranslations = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/translations',
  summary: "Set an entity's texts in a locale (null removes one): product, variant, category, collection, option",
  access: 'staff',
  scope: write,
  input: z.strictObject({
    entity: z.union([
      z.strictObject({ type: z.enum(['product', 'variant', 'category', 'collection']), id }),
      z.strictObject({ type: z.literal('option'), productId: id, name: z.string().max(64) }),
    ]),
    locale,
    fields: z.strictObject({
      title: z.string().max(255).nullable().optional(),
      description: z.string().max(5000).nullable().optional(),
      name: z.string().max(64).nullable().optional(),
      values: z.record(z.string().max(200), z.string().max(5000).nullable()).optional(),
    }),
  }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).catalog.setTranslations(input.entity, input.locale, defined(input.fields))
    return { ok: true as const }
  },
})

// Media: an image by URL, or a file sent as base64 in the JSON body (the app's body limit applies).
const imageType = z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif'])

const listMedia = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/products/:productId/media',
  summary: "A product's images in order (or one variant's)",
  access: 'staff',
  scope: read,
  input: z.strictObject({ productId: id, variantId: id.optional() }),
  output: z.array(mediaSchema),
  handler: ({ input, commerce }) => core(commerce).media.list(input.productId, defined({ variantId: input.variantId })),
})

const addMedia = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/products/:productId/media',
  summary: 'Add an image to a product or a variant: by URL, or a file as base64',
  access: 'staff',
  scope: write,
  input: z.strictObject({
    productId: id,
    variantId: id.optional(),
    url: z.string().max(2048).optional(),
    file: z.strictObject({ base64: z.string().max(28_000_000), contentType: imageType }).optional(),
    contentType: imageType.optional(),
    alt: z.string().max(512).optional(),
    width: z.number().int().min(1).max(20_000).optional(),
    height: z.number().int().min(1).max(20_000).optional(),
    position: z.number().int().min(0).max(MAX_MEDIA_PER_PRODUCT).optional(),
  }),
  output: mediaSchema,
  handler: ({ input, commerce }) => {
    const { productId, file, ...rest } = input
    const bytes = file ? { file: { bytes: new Uint8Array(Buffer.from(file.base64, 'base64')), contentType: file.contentType } } : {}
    return core(commerce).media.add(productId, { ...defined(rest), ...bytes })
  },
})

const updateMedia = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/media/:mediaId',
  summary: "Change an image's alt text or dimensions",
  access: 'staff',
  scope: write,
  input: z.strictObject({
    mediaId: id,
    alt: z.string().max(512).nullable().optional(),
    width: z.number().int().min(1).max(20_000).nullable().optional(),
    height: z.number().int().min(1).max(20_000).nullable().optional(),
  }),
  output: mediaSchema,
  handler: ({ input, commerce }) => {
    const { mediaId, ...fields } = input
    return core(commerce).media.update(mediaId, defined(fields))
  },
})

const reorderMedia = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/products/:productId/media/order',
  summary: "Put a product's images in this order",
  access: 'staff',
  scope: write,
  input: z.strictObject({ productId: id, mediaIds: z.array(id).min(1).max(MAX_MEDIA_PER_PRODUCT) }),
  output: z.array(mediaSchema),
  handler: ({ input, commerce }) => core(commerce).media.reorder(input.productId, input.mediaIds),
})

const removeMedia = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/media/:mediaId',
  summary: 'Remove an image (and its stored file)',
  access: 'staff',
  scope: write,
  input: z.strictObject({ mediaId: id }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).media.remove(input.mediaId)
    return { ok: true as const }
  },
})

const productIds = z.array(id).min(1).max(250)
const listedPage = { locale: locale.optional(), channel: z.string().min(1).max(64).optional(), visibleOnly: queryBool.optional(), ...paging }

const categoryTree = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/categories',
  summary: 'The category tree',
  access: 'staff',
  scope: read,
  input: z.strictObject({ locale: locale.optional() }),
  output: z.array(categoryNodeSchema),
  handler: ({ input, commerce }) => core(commerce).categories.tree(defined(input)),
})

const createCategory = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/categories',
  summary: 'Create a category (top-level, or under a parent)',
  access: 'staff',
  scope: write,
  input: z.strictObject({
    title: z.string().max(255),
    handle: z.string().max(120),
    description: z.string().max(5000).nullable().optional(),
    parentId: id.nullable().optional(),
    position: z.number().int().min(0).max(100_000).optional(),
  }),
  output: categorySchema,
  handler: ({ input, commerce }) => core(commerce).categories.create(defined(input)),
})

const getCategory = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/categories/:categoryId',
  summary: 'A category by id or handle',
  access: 'staff',
  scope: read,
  input: z.strictObject({ categoryId: idOrHandle, locale: locale.optional() }),
  output: categorySchema,
  handler: ({ input, commerce }) => core(commerce).categories.get(input.categoryId, defined({ locale: input.locale })),
})

const updateCategory = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/categories/:categoryId',
  summary: "Change a category's title, handle or description",
  access: 'staff',
  scope: write,
  input: z.strictObject({ categoryId: id, title: z.string().max(255).optional(), handle: z.string().max(120).optional(), description: z.string().max(5000).nullable().optional() }),
  output: categorySchema,
  handler: ({ input, commerce }) => {
    const { categoryId, ...fields } = input
    return core(commerce).categories.update(categoryId, defined(fields))
  },
})

const moveCategory = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/categories/:categoryId/move',
  summary: 'Move a category under another parent (null: top level) and to a position',
  access: 'staff',
  scope: write,
  input: z.strictObject({ categoryId: id, parentId: id.nullable(), position: z.number().int().min(0).max(100_000).optional() }),
  output: categorySchema,
  handler: ({ input, commerce }) => {
    const { categoryId, ...to } = input
    return core(commerce).categories.move(categoryId, defined(to))
  },
})

const deleteCategory = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/categories/:categoryId',
  summary: 'Delete a category without sub-categories',
  access: 'staff',
  scope: write,
  input: z.strictObject({ categoryId: id }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).categories.delete(input.categoryId)
    return { ok: true as const }
  },
})

const addToCategory = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/categories/:categoryId/products',
  summary: 'List products in a category (at its end)',
  access: 'staff',
  scope: write,
  input: z.strictObject({ categoryId: id, productIds }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).categories.addProducts(input.categoryId, input.productIds)
    return { ok: true as const }
  },
})

const removeFromCategory = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/categories/:categoryId/products/remove',
  summary: 'Take products out of a category',
  access: 'staff',
  scope: write,
  input: z.strictObject({ categoryId: id, productIds }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).categories.removeProducts(input.categoryId, input.productIds)
    return { ok: true as const }
  },
})

const categoryProducts = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/categories/:categoryId/products',
  summary: "A category's products in their order, a page at a time",
  access: 'staff',
  scope: read,
  input: z.strictObject({ categoryId: id, ...listedPage }),
  output: pageOf(productSchema),
  handler: ({ input, commerce }) => {
    const { categoryId, ...page } = input
    return core(commerce).categories.products(categoryId, defined(page))
  },
})

const rule = z.union([
  z.strictObject({ field: z.literal('tag'), value: z.string().max(200) }),
  z.strictObject({ field: z.literal('type'), value: z.string().max(200) }),
  z.strictObject({ field: z.literal('price'), currency: z.string().length(3), min: amount.optional(), max: amount.optional() }),
  z.strictObject({ field: z.literal('option'), option: z.string().max(64), value: z.string().max(200) }),
])

const createCollection = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/collections',
  summary: 'Create a collection: hand-picked, or products matching rules',
  access: 'staff',
  scope: write,
  input: z.strictObject({
    title: z.string().max(255),
    handle: z.string().max(120),
    description: z.string().max(5000).nullable().optional(),
    kind: z.enum(['manual', 'rules']).optional(),
    match: z.enum(['all', 'any']).optional(),
    rules: z.array(rule).max(20).optional(),
  }),
  output: collectionSchema,
  handler: ({ input, commerce }) => core(commerce).collections.create(defined(input)),
})

const getCollection = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/collections/:collectionId',
  summary: 'A collection by id or handle',
  access: 'staff',
  scope: read,
  input: z.strictObject({ collectionId: idOrHandle, locale: locale.optional() }),
  output: collectionSchema,
  handler: ({ input, commerce }) => core(commerce).collections.get(input.collectionId, defined({ locale: input.locale })),
})

const updateCollection = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/collections/:collectionId',
  summary: "Change a collection's texts, handle or rules",
  access: 'staff',
  scope: write,
  input: z.strictObject({
    collectionId: id,
    title: z.string().max(255).optional(),
    handle: z.string().max(120).optional(),
    description: z.string().max(5000).nullable().optional(),
    match: z.enum(['all', 'any']).optional(),
    rules: z.array(rule).min(1).max(20).optional(),
  }),
  output: collectionSchema,
  handler: ({ input, commerce }) => {
    const { collectionId, ...fields } = input
    return core(commerce).collections.update(collectionId, defined(fields))
  },
})

const deleteCollection = defineEndpoint({
  surface: 'admin',
  method: 'DELETE',
  path: '/collections/:collectionId',
  summary: 'Delete a collection',
  access: 'staff',
  scope: write,
  input: z.strictObject({ collectionId: id }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).collections.delete(input.collectionId)
    return { ok: true as const }
  },
})

const addToCollection = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/collections/:collectionId/products',
  summary: 'Add products to a hand-picked collection',
  access: 'staff',
  scope: write,
  input: z.strictObject({ collectionId: id, productIds }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).collections.addProducts(input.collectionId, input.productIds)
    return { ok: true as const }
  },
})

const removeFromCollection = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/collections/:collectionId/products/remove',
  summary: 'Take products out of a hand-picked collection',
  access: 'staff',
  scope: write,
  input: z.strictObject({ collectionId: id, productIds }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).collections.removeProducts(input.collectionId, input.productIds)
    return { ok: true as const }
  },
})

const collectionProducts = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/collections/:collectionId/products',
  summary: "A collection's products, a page at a time",
  access: 'staff',
  scope: read,
  input: z.strictObject({ collectionId: id, ...listedPage }),
  output: pageOf(productSchema),
  handler: ({ input, commerce }) => {
    const { collectionId, ...page } = input
    return core(commerce).collections.products(collectionId, defined(page))
  },
})

/** The Admin API's catalog routes: products, variants, prices, translations, media, categories, collections. */
export const adminCatalogRoutes: readonly Endpoint[] = [
  listProducts,
  createProduct,
  importProducts,
  getProduct,
  updateProduct,
  deleteProduct,
  addVariants,
  getVariant,
  updateVariant,
  setPrices,
  setPolicy,
  setTranslations,
  listMedia,
  addMedia,
  updateMedia,
  reorderMedia,
  removeMedia,
  categoryTree,
  createCategory,
  getCategory,
  updateCategory,
  moveCategory,
  deleteCategory,
  addToCategory,
  removeFromCategory,
  categoryProducts,
  createCollection,
  getCollection,
  updateCollection,
  deleteCollection,
  addToCollection,
  removeFromCollection,
  collectionProducts,
] as readonly Endpoint[]
