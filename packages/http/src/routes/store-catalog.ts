import { z } from 'zod'
import { defineEndpoint, notFound, type Endpoint } from '@cartwright/core'
import { categoryNodeSchema, categorySchema, collectionSchema, pageOf, productAvailabilitySchema, productSchema, searchResultSchema } from './schemas.js'
import { core, cursor, defined, id, idOrHandle, locale, paging, queryBool, queryInt, queryList } from './fields.js'

const sort = z.enum(['relevance', 'price_asc', 'price_desc', 'newest', 'best_selling'])
const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const tag = z.string().trim().min(1).max(64)

/** Filters a shopper's listing takes, by query string or by body. */
const listing = {
  query: z.string().max(200).optional(),
  locale: locale.optional(),
  channel: z.string().min(1).max(64).optional(),
  categoryId: id.optional(),
  collectionId: id.optional(),
  productType: z.string().trim().min(1).max(100).optional(),
  currency: z.string().length(3).optional(),
  sort: sort.optional(),
  cursor: cursor.optional(),
}

const listProducts = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/products',
  summary: 'Products for shoppers: text search, filters, facets, a channel, a page at a time',
  description:
    'Active products only. `tags` is comma-separated (every tag required); `minPrice`/`maxPrice` are minor units of `currency`; `inStock=true` keeps products a shopper can buy now. Filter by option values with `POST /products/search`.',
  access: 'public',
  input: z.strictObject({
    ...listing,
    tags: queryList(tag, 20).optional(),
    minPrice: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    maxPrice: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    inStock: queryBool.optional(),
    facets: queryBool.optional(),
    limit: queryInt(1, 100).optional(),
  }),
  output: searchResultSchema,
  handler: ({ input, commerce }) => {
    const { minPrice, maxPrice, ...rest } = input
    const price = minPrice !== undefined || maxPrice !== undefined ? { price: defined({ min: minPrice, max: maxPrice }) } : {}
    return core(commerce).search.products({ ...defined(rest), ...price })
  },
})

const searchProducts = defineEndpoint({
  surface: 'store',
  method: 'POST',
  path: '/products/search',
  summary: 'Products for shoppers, with every filter: option values, price ranges of the facets',
  description: 'The same search as `GET /products`, its filters in a JSON body: `options` (`{ "Size": ["42", "43"] }`), `price`, `priceRanges` (the lower bounds of the price facet). Reads only.',
  access: 'public',
  input: z.strictObject({
    ...listing,
    tags: z.array(tag).max(20).optional(),
    options: z.record(z.string().min(1).max(64), z.array(z.string().min(1).max(64)).min(1).max(50)).optional(),
    price: z.strictObject({ min: amount.optional(), max: amount.optional() }).optional(),
    priceRanges: z.array(amount).min(1).max(20).optional(),
    inStock: z.boolean().optional(),
    facets: z.boolean().optional(),
    limit: z.number().int().min(1).max(100).optional(),
  }),
  output: searchResultSchema,
  handler: ({ input, commerce }) => core(commerce).search.products(defined(input)),
})

const product = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/products/:handle',
  summary: 'A product by its handle (or a handle it used to have), texts in a locale',
  description: 'Only an active product: a draft or archived one is answered 404, like a missing one.',
  access: 'public',
  input: z.strictObject({ handle: idOrHandle, locale: locale.optional() }),
  output: productSchema,
  handler: async ({ input, commerce }) => {
    const found = await core(commerce).catalog.getProduct(input.handle, defined({ locale: input.locale }))
    if (found.status !== 'active') throw notFound('Product', input.handle)
    return found
  },
})

const availability = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/products/:handle/availability',
  summary: 'Units a shopper can buy now, per variant of a product, in a channel',
  description:
    'Counted as a cart counts them: stock not reserved, plus what a backorder or preorder still allows; `available` and `inStock` are null for a variant that does not track stock. `channel` (a sales channel’s code or id) counts only its stock locations, and answers 404 for a product not published to it. Only an active product: a draft or archived one is answered 404, like a missing one.',
  access: 'public',
  input: z.strictObject({ handle: idOrHandle, channel: z.string().trim().min(1).max(64).optional() }),
  output: productAvailabilitySchema,
  handler: ({ input, commerce }) => core(commerce).inventory.productAvailability(input.handle, defined({ channel: input.channel })),
})

const categoryTree = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/categories',
  summary: 'The category tree, texts in a locale',
  access: 'public',
  input: z.strictObject({ locale: locale.optional() }),
  output: z.array(categoryNodeSchema),
  handler: ({ input, commerce }) => core(commerce).categories.tree(defined(input)),
})

const category = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/categories/:handle',
  summary: 'A category by its handle or id',
  access: 'public',
  input: z.strictObject({ handle: idOrHandle, locale: locale.optional() }),
  output: categorySchema,
  handler: ({ input, commerce }) => core(commerce).categories.get(input.handle, defined({ locale: input.locale })),
})

const listed = z.strictObject({ handle: idOrHandle, locale: locale.optional(), channel: z.string().trim().min(1).max(64).optional(), ...paging })

const categoryProducts = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/categories/:handle/products',
  summary: "A category's visible products, in their order, a page at a time",
  access: 'public',
  input: listed,
  output: pageOf(productSchema),
  handler: async ({ input, commerce }) => {
    const { handle, ...page } = input
    const found = await core(commerce).categories.get(handle)
    return core(commerce).categories.products(found.id, { ...defined(page), visibleOnly: true })
  },
})

const collection = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/collections/:handle',
  summary: 'A collection by its handle or id',
  access: 'public',
  input: z.strictObject({ handle: idOrHandle, locale: locale.optional() }),
  output: collectionSchema,
  handler: ({ input, commerce }) => core(commerce).collections.get(input.handle, defined({ locale: input.locale })),
})

const collectionProducts = defineEndpoint({
  surface: 'store',
  method: 'GET',
  path: '/collections/:handle/products',
  summary: "A collection's visible products, a page at a time",
  access: 'public',
  input: listed,
  output: pageOf(productSchema),
  handler: async ({ input, commerce }) => {
    const { handle, ...page } = input
    const found = await core(commerce).collections.get(handle)
    return core(commerce).collections.products(found.id, { ...defined(page), visibleOnly: true })
  },
})

/**
 * The Store API's catalog routes, each with its schemas and its method and path as types, for a
 * typed client (`typeof storeCatalogEndpoints`).
 */
export const storeCatalogEndpoints = [listProducts, searchProducts, product, availability, categoryTree, category, categoryProducts, collection, collectionProducts] as const

/** The Store API's catalog routes: search and listing, product by handle and its availability, categories, collections. */
export const storeCatalogRoutes: readonly Endpoint[] = storeCatalogEndpoints
