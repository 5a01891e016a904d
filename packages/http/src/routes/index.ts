import type { Endpoint } from '@cartwright/core'
import { adminCatalogRoutes } from './admin-catalog.js'
import { adminInventoryRoutes } from './admin-inventory.js'
import { adminOrderRoutes } from './admin-orders.js'
import { storeCartEndpoints } from './store-carts.js'
import { storeCatalogEndpoints } from './store-catalog.js'

/**
 * Core's Store API routes, as `Endpoint` data: the catalog (search with filters and facets, a
 * product by handle and what of it can be bought now, categories, collections), carts (lines, addresses, shipping and pickup),
 * checkout with its customer-action round trip, and an order by its access token (view, cancel).
 * Every route under `/carts/:cartId` needs the cart's token or its customer's session; under
 * `/orders/:orderId`, the order's token. Bodies are strict: a shopper never sends a customer, a
 * price, a total, a status or metadata.
 *
 * @example
 * ```ts
 * for (const e of storeRoutes) console.log(e.method, e.path, e.access)
 * ```
 */
export const storeRoutes: readonly Endpoint[] = [...storeCatalogEndpoints, ...storeCartEndpoints]

/**
 * Core's Store API routes as a typed tuple: the same endpoints as `storeRoutes`, each keeping its
 * schemas, method and path in its type. Give `typeof storeEndpoints` to `createStoreClient`, with
 * plugins' tuples after it.
 *
 * @example
 * ```ts
 * const client = createStoreClient<typeof storeEndpoints>({ baseUrl: 'https://shop.example/store' })
 * const categories = await client.call('GET /categories')
 * ```
 */
export const storeEndpoints = [...storeCatalogEndpoints, ...storeCartEndpoints] as const

/**
 * Core's Admin API routes, as `Endpoint` data, each with its API-key scope: the catalog
 * (`catalog:*`), inventory (`inventory:*`), channels (`channels:*`), orders and staff-made orders
 * (`orders:*`), payments (`payments:*`) and the outbox (`outbox:*`). Money-moving routes need an
 * `Idempotency-Key` header.
 *
 * @example
 * ```ts
 * const scopes = new Set(adminRoutes.map((e) => e.scope))
 * ```
 */
export const adminRoutes: readonly Endpoint[] = [...adminCatalogRoutes, ...adminInventoryRoutes, ...adminOrderRoutes]
