import { z } from 'zod'
import { CommerceError, defineEndpoint, definePlugin, validationError, type EventsOf, type PluginContext } from '@cartwright/core'

/**
 * Longest message a card holds, in characters.
 *
 * @example
 * ```ts
 * const fits = (text: string) => text.trim().length <= MAX_GIFT_MESSAGE
 * ```
 */
export const MAX_GIFT_MESSAGE = 200

/**
 * A gift message as the shopper wrote it, on a cart and later on its order.
 *
 * @example
 * ```ts
 * const slip: GiftMessage | null = await commerce['gift-messages'].forOrder(order.id)
 * ```
 */
export interface GiftMessage {
  cartId: string
  /** Set when the cart's order is placed. */
  orderId: string | null
  message: string
  from: string | null
  updatedAt: string
}

/**
 * What a shopper sends: the message, and who it is from.
 *
 * @example
 * ```ts
 * const input: GiftMessageInput = { message: 'Happy birthday, Ada!', from: 'Charles' }
 * ```
 */
export interface GiftMessageInput {
  message: string
  from?: string | null
}

/**
 * The plugin's table, as its `db` handle sees it.
 *
 * @example
 * ```ts
 * type Row = GiftMessageTables['gift_messages_messages'] // { cart_id, order_id, message, from_name, updated_at }
 * ```
 */
export interface GiftMessageTables {
  gift_messages_messages: { cart_id: string; order_id: string | null; message: string; from_name: string | null; updated_at: string }
}

const events = {
  /** A message was written or replaced on a cart (the text itself stays in the plugin's table). */
  'gift_messages.added': z.object({ cartId: z.string(), length: z.number().int(), replaced: z.boolean() }),
}

// Printable text only: a card printer chokes on control characters.
const text = (max: number) => z.string().trim().min(1).max(max).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
const inputSchema = z.strictObject({ message: text(MAX_GIFT_MESSAGE), from: text(60).nullable().optional() })

const giftMessageSchema = z.object({ cartId: z.string(), orderId: z.string().nullable(), message: z.string(), from: z.string().nullable(), updatedAt: z.string() })

const toMessage = (row: GiftMessageTables['gift_messages_messages']): GiftMessage => ({
  cartId: row.cart_id,
  orderId: row.order_id,
  message: row.message,
  from: row.from_name,
  updatedAt: row.updated_at,
})

/**
 * The service at `commerce['gift-messages']`.
 *
 * @example
 * ```ts
 * const service: GiftMessagesService = commerce['gift-messages']
 * await service.set(cart.id, { message: 'Happy birthday, Ada!' })
 * ```
 */
export interface GiftMessagesService {
  /** Writes or replaces the cart's message. `VALIDATION` naming the field for an empty or too long text; `NOT_FOUND` for a missing cart; `INVALID_STATE` once it is checked out. */
  set(cartId: string, input: GiftMessageInput): Promise<GiftMessage>
  /** The cart's message, or null. */
  get(cartId: string): Promise<GiftMessage | null>
  /** The message of an order, for the packing slip; null when the shopper wrote none. */
  forOrder(orderId: string): Promise<GiftMessage | null>
}

const setMessage = defineEndpoint({
  surface: 'store',
  method: 'PUT',
  path: '/carts/:cartId/gift-message',
  summary: "Write or replace the gift message printed on a card in the cart's parcel",
  access: 'cart',
  rateLimit: { windowMs: 60_000, max: 30 },
  input: z.strictObject({ cartId: z.string().min(1).max(64), message: z.string().max(MAX_GIFT_MESSAGE * 2), from: z.string().max(120).nullable().optional() }),
  output: giftMessageSchema,
  handler: ({ input: { cartId, ...message }, commerce }) => (commerce as { 'gift-messages': GiftMessagesService })['gift-messages'].set(cartId, message),
})

/**
 * Gift messages: a shopper writes a short message for a card in the parcel. The plugin keeps it in
 * its own table (keyed by cart id, linked to the order when the order is placed), announces each
 * message with the `gift_messages.added` event through the outbox, serves `commerce['gift-messages']`
 * and adds `PUT /carts/:cartId/gift-message` to the Store API (the cart's token opens it).
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: ':memory:' }), plugins: [giftMessages()] })
 * const cart = await commerce.carts.create({ currency: 'EUR' })
 * await commerce['gift-messages'].set(cart.id, { message: 'Happy birthday, Ada!', from: 'Charles' })
 * commerce.events.on('gift_messages.added', ({ cartId }) => console.log('a card to print for', cartId))
 * ```
 */
export function giftMessages() {
  return definePlugin({
    id: 'gift-messages',
    events,
    endpoints: [setMessage],
    migrations: {
      '0001_messages': {
        async up(db, { types }) {
          await db.schema
            .createTable('gift_messages_messages')
            .addColumn('cart_id', 'text', (c) => c.primaryKey())
            .addColumn('order_id', 'text')
            .addColumn('message', 'text', (c) => c.notNull())
            .addColumn('from_name', 'text')
            .addColumn('updated_at', types.timestamp, (c) => c.notNull())
            .execute()
          await db.schema.createIndex('gift_messages_messages_order').on('gift_messages_messages').column('order_id').execute()
        },
      },
    },
    init(ctx: PluginContext<GiftMessageTables, EventsOf<typeof events>>): GiftMessagesService {
      // The order is written in this transaction: the message follows it there, or not at all.
      ctx.hooks.hook('checkout.place', async ({ order, cart }, tx) => {
        await tx.db.updateTable('gift_messages_messages').set({ order_id: order.id }).where('cart_id', '=', cart.id).execute()
      })

      return {
        async set(cartId, input) {
          const parsed = inputSchema.safeParse(input)
          if (!parsed.success) throw validationError('gift message', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })))
          const cart = await ctx.commerce.carts.get(cartId) // NOT_FOUND for a missing cart
          if (cart.status !== 'open') throw new CommerceError('INVALID_STATE', `Cart ${cartId} is ${cart.status}: its gift message can no longer change`, { details: { cartId, status: cart.status } })
          const row = { cart_id: cartId, order_id: null, message: parsed.data.message, from_name: parsed.data.from ?? null, updated_at: ctx.now().toISOString() }
          return ctx.transaction(async (tx) => {
            const before = await tx.db.selectFrom('gift_messages_messages').select('cart_id').where('cart_id', '=', cartId).executeTakeFirst()
            await tx.db
              .insertInto('gift_messages_messages')
              .values(row)
              .onConflict((oc) => oc.column('cart_id').doUpdateSet({ message: row.message, from_name: row.from_name, updated_at: row.updated_at }))
              .execute()
            tx.emit('gift_messages.added', { cartId, length: row.message.length, replaced: before !== undefined })
            return toMessage(row)
          })
        },
        async get(cartId) {
          const row = await ctx.db.selectFrom('gift_messages_messages').selectAll().where('cart_id', '=', cartId).executeTakeFirst()
          return row ? toMessage(row) : null
        },
        async forOrder(orderId) {
          const row = await ctx.db.selectFrom('gift_messages_messages').selectAll().where('order_id', '=', orderId).executeTakeFirst()
          return row ? toMessage(row) : null
        },
      }
    },
  })
}
