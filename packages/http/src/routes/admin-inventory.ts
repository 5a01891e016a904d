import { z } from 'zod'
import { defineEndpoint, type Endpoint } from '@cartwright/core'
import { channelSchema, inventoryLevelSchema, okSchema, pageOf, productSchema, reservationSchema, stockLocationSchema } from './schemas.js'
import { core, defined, id, idOrHandle, locale, paging, queryBool, queryInt } from './fields.js'

const stock = z.number().int().min(0).max(1_000_000_000)

const listLocations = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/stock-locations',
  summary: 'Stock locations, by priority',
  access: 'staff',
  scope: 'inventory:read',
  output: z.array(stockLocationSchema),
  handler: ({ commerce }) => core(commerce).inventory.listLocations(),
})

const createLocation = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/stock-locations',
  summary: 'Create a stock location (the lowest priority ships first)',
  access: 'staff',
  scope: 'inventory:write',
  input: z.strictObject({ name: z.string().max(255), code: z.string().max(64).optional(), priority: z.number().int().min(0).max(1_000_000).optional() }),
  output: stockLocationSchema,
  handler: ({ input, commerce }) => core(commerce).inventory.createLocation(defined(input)),
})

const levels = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/variants/:variantId/inventory-levels',
  summary: "A variant's stock at each location: on hand, reserved, available",
  access: 'staff',
  scope: 'inventory:read',
  input: z.strictObject({ variantId: id }),
  output: z.array(inventoryLevelSchema),
  handler: ({ input, commerce }) => core(commerce).inventory.levels(input.variantId),
})

const setStock = defineEndpoint({
  surface: 'admin',
  method: 'PUT',
  path: '/inventory/levels',
  summary: 'Set the stock on hand of a variant at a location (a count)',
  access: 'staff',
  scope: 'inventory:write',
  input: z.strictObject({ variantId: id, locationId: id, onHand: stock, lowStockThreshold: stock.nullable().optional() }),
  output: inventoryLevelSchema,
  handler: ({ input, commerce }) => core(commerce).inventory.setStock(defined(input)),
})

const adjust = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/inventory/adjustments',
  summary: 'Add or take units on hand (a delivery, a breakage), relative to what is there',
  access: 'staff',
  scope: 'inventory:write',
  input: z.strictObject({ variantId: id, locationId: id, delta: z.number().int().min(-1_000_000_000).max(1_000_000_000) }),
  output: inventoryLevelSchema,
  handler: ({ input, commerce }) => core(commerce).inventory.adjust(input),
})

const reservations = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/inventory/reservations',
  summary: 'Units set aside for a cart, an order or of a variant',
  access: 'staff',
  scope: 'inventory:read',
  input: z.strictObject({
    cartId: id.optional(),
    orderId: id.optional(),
    variantId: id.optional(),
    status: z.enum(['held', 'committed', 'released']).optional(),
    limit: queryInt(1, 1000).optional(),
  }),
  output: z.array(reservationSchema),
  handler: ({ input, commerce }) => core(commerce).inventory.reservations(defined(input)),
})

const code = z.string().max(64)
const currencies = z.array(z.string().length(3)).min(1).max(50)
const locales = z.array(locale).max(50)
const locations = z.array(id).max(100)

const listChannels = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/channels',
  summary: 'Sales channels, a page at a time',
  access: 'staff',
  scope: 'channels:read',
  input: z.strictObject({ active: queryBool.optional(), ...paging }),
  output: pageOf(channelSchema),
  handler: ({ input, commerce }) => core(commerce).channels.list(defined(input)),
})

const createChannel = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/channels',
  summary: 'Create a sales channel: its currencies, locales and stock locations',
  access: 'staff',
  scope: 'channels:write',
  input: z.strictObject({
    code,
    name: z.string().max(255),
    currencies,
    locales: locales.optional(),
    taxInclusive: z.boolean().optional(),
    stockLocationIds: locations.optional(),
    active: z.boolean().optional(),
  }),
  output: channelSchema,
  handler: ({ input, commerce }) => core(commerce).channels.create(defined(input)),
})

const getChannel = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/channels/:channelId',
  summary: 'A sales channel by id or code',
  access: 'staff',
  scope: 'channels:read',
  input: z.strictObject({ channelId: idOrHandle }),
  output: channelSchema,
  handler: ({ input, commerce }) => core(commerce).channels.get(input.channelId),
})

const updateChannel = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/channels/:channelId',
  summary: 'Change a sales channel (the fields given)',
  access: 'staff',
  scope: 'channels:write',
  input: z.strictObject({
    channelId: id,
    code: code.optional(),
    name: z.string().max(255).optional(),
    currencies: currencies.optional(),
    locales: locales.optional(),
    taxInclusive: z.boolean().optional(),
    stockLocationIds: locations.optional(),
    active: z.boolean().optional(),
  }),
  output: channelSchema,
  handler: ({ input, commerce }) => {
    const { channelId, ...fields } = input
    return core(commerce).channels.update(channelId, defined(fields))
  },
})

const productIds = z.array(id).min(1).max(250)

const publish = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/channels/:channelId/products',
  summary: 'Publish products to a channel',
  access: 'staff',
  scope: 'channels:write',
  input: z.strictObject({ channelId: id, productIds }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).channels.publish(input.channelId, input.productIds)
    return { ok: true as const }
  },
})

const unpublish = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/channels/:channelId/products/remove',
  summary: 'Unpublish products from a channel',
  access: 'staff',
  scope: 'channels:write',
  input: z.strictObject({ channelId: id, productIds }),
  output: okSchema,
  handler: async ({ input, commerce }) => {
    await core(commerce).channels.unpublish(input.channelId, input.productIds)
    return { ok: true as const }
  },
})

const channelProducts = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/channels/:channelId/products',
  summary: 'The products published to a channel, a page at a time',
  access: 'staff',
  scope: 'channels:read',
  input: z.strictObject({ channelId: id, locale: locale.optional(), ...paging }),
  output: pageOf(productSchema),
  handler: ({ input, commerce }) => {
    const { channelId, ...page } = input
    return core(commerce).channels.products(channelId, defined(page))
  },
})

/** The Admin API's inventory and channel routes. */
export const adminInventoryRoutes: readonly Endpoint[] = [
  listLocations,
  createLocation,
  levels,
  setStock,
  adjust,
  reservations,
  listChannels,
  createChannel,
  getChannel,
  updateChannel,
  publish,
  unpublish,
  channelProducts,
] as readonly Endpoint[]
