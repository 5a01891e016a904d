import type { Commerce, GatewayEvent } from '@cartwright/core'
import type { GatewayBehaviour, TestGateway } from '../payments/test-gateway.js'
import type { SimulationCatalog, SimulationContext, SimulationOperation } from './types.js'

/** Which gateway notifications have reached the engine (acknowledged): the gateway sends the rest again. */
export interface Mailbox {
  delivered: Set<string>
}

/** Sends `events` to the engine in one signed webhook; they count as delivered once it accepted them. */
export async function deliverNotifications(commerce: Commerce, gateway: TestGateway, mailbox: Mailbox, events: readonly GatewayEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 25) {
    const batch = events.slice(i, i + 25)
    const request = gateway.webhook(batch)
    await commerce.payments.handleWebhook(gateway.id, request.rawBody, request.headers)
    for (const event of batch) mailbox.delivered.add(event.id)
  }
}

const ADDRESS = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

type Context = SimulationContext

async function ready(commerce: Commerce, cartId: string, catalog: SimulationCatalog): Promise<void> {
  await commerce.carts.update(cartId, { email: 'ada@example.com', shippingAddress: ADDRESS })
  await commerce.carts.setShippingOption(cartId, catalog.shippingOptionId)
}

/** Ids of rows, in a stable order, for a seeded pick. */
async function pickId(ctx: Context, rows: Promise<Array<{ id: string }>>): Promise<string | null> {
  const ids = (await rows).map((r) => r.id).sort()
  return ids.length === 0 ? null : ctx.random.pick(ids)
}

function openCarts(ctx: Context, withLines: boolean) {
  let query = ctx.commerce.db.selectFrom('cw_carts').select('cw_carts.id').where('cw_carts.status', '=', 'open')
  if (withLines) query = query.where((eb) => eb.exists(eb.selectFrom('cw_cart_lines').select('cw_cart_lines.id').whereRef('cw_cart_lines.cart_id', '=', 'cw_carts.id')))
  return query.execute()
}

/**
 * An order to act on: mostly one still placed — for a refund mostly one with money captured, for a
 * capture or a void one with money only held — sometimes any (a canceled one must refuse).
 */
async function pickOrder(ctx: Context, prefer?: 'captured' | 'held'): Promise<{ id: string; total: number } | null> {
  const placed = ctx.random.chance(0.85)
  const preferred = prefer !== undefined && ctx.random.chance(0.7)
  let query = ctx.commerce.db.selectFrom('cw_orders').select(['id', 'total'])
  if (placed) query = query.where('status', '=', 'placed')
  if (preferred) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('cw_payments as p')
          .select('p.id')
          .whereRef('p.order_id', '=', 'cw_orders.id')
          .where((p) => (prefer === 'captured' ? p('p.captured_amount', '>', p.ref('p.refunded_amount')) : p('p.status', '=', 'authorized'))),
      ),
    )
  }
  const rows = (await query.execute()).sort((a, b) => (a.id < b.id ? -1 : 1))
  if (rows.length === 0) return null
  const row = ctx.random.pick(rows)
  return { id: row.id, total: Number(row.total) }
}

function describe(behaviour: GatewayBehaviour): string {
  if (typeof behaviour === 'string') return behaviour
  if ('refuse' in behaviour) return 'refuse'
  if ('until' in behaviour) return 'until'
  const then = behaviour.then ? `+${describe(behaviour.then)}` : ''
  return 'delayMs' in behaviour ? `late${behaviour.delayMs}ms${then}` : `answer-late${behaviour.answerDelayMs}ms${then}`
}

const keyed = (key: string | undefined) => (key === undefined ? {} : { idempotencyKey: key })
const keyText = (key: string | undefined) => (key === undefined ? 'none' : key)

/**
 * The harness's own operations: what shoppers, staff, the gateway and time do to an order's life.
 * @internal
 */
export function coreOperations(mailbox: Mailbox): SimulationOperation[] {
  return [
    {
      name: 'cart.create',
      weight: 3,
      async run(ctx) {
        const { commerce, random, catalog } = ctx
        const cart = await commerce.carts.create({ currency: catalog.currency })
        const variantId = random.pick(catalog.variantIds)
        const quantity = random.int(1, 2)
        ctx.note(`cart=${cart.id} ${variantId}×${quantity}`)
        await commerce.carts.addItem(cart.id, { variantId, quantity })
        if (random.chance(0.85)) await ready(commerce, cart.id, catalog)
        return `cart=${cart.id} ${variantId}×${quantity}`
      },
    },
    {
      name: 'cart.add',
      weight: 2,
      async run(ctx) {
        const cartId = await pickId(ctx, openCarts(ctx, false))
        if (!cartId) return null
        const variantId = ctx.random.pick(ctx.catalog.variantIds)
        const quantity = ctx.random.int(1, 3)
        ctx.note(`cart=${cartId} ${variantId}×${quantity}`)
        await ctx.commerce.carts.addItem(cartId, { variantId, quantity })
        return `cart=${cartId} ${variantId}×${quantity}`
      },
    },
    {
      name: 'cart.change',
      weight: 1,
      async run(ctx) {
        const lines = await ctx.commerce.db
          .selectFrom('cw_cart_lines as l')
          .innerJoin('cw_carts as c', 'c.id', 'l.cart_id')
          .select(['l.id', 'l.cart_id'])
          .where('c.status', 'in', ctx.random.chance(0.9) ? ['open'] : ['open', 'completing', 'completed'])
          .execute()
        if (lines.length === 0) return null
        const line = ctx.random.pick(lines.sort((a, b) => (a.id < b.id ? -1 : 1)))
        const quantity = ctx.random.int(0, 3)
        ctx.note(`cart=${line.cart_id} line=${line.id} quantity=${quantity}`)
        await ctx.commerce.carts.updateItem(line.cart_id, line.id, { quantity })
        return `cart=${line.cart_id} line=${line.id} quantity=${quantity}`
      },
    },
    {
      name: 'cart.remove',
      weight: 1,
      async run(ctx) {
        const lines = await ctx.commerce.db
          .selectFrom('cw_cart_lines as l')
          .innerJoin('cw_carts as c', 'c.id', 'l.cart_id')
          .select(['l.id', 'l.cart_id'])
          .where('c.status', '=', 'open')
          .execute()
        if (lines.length === 0) return null
        const line = ctx.random.pick(lines.sort((a, b) => (a.id < b.id ? -1 : 1)))
        ctx.note(`cart=${line.cart_id} line=${line.id}`)
        await ctx.commerce.carts.removeItem(line.cart_id, line.id)
        return `cart=${line.cart_id} line=${line.id}`
      },
    },
    {
      name: 'checkout',
      weight: 5,
      async run(ctx) {
        const { commerce, random, gateway } = ctx
        // Mostly a cart ready to buy; sometimes one whose checkout is in flight (a double click, a second tab).
        const racing = random.chance(0.15)
        const cartId = racing
          ? await pickId(ctx, commerce.db.selectFrom('cw_carts').select('id').where('status', 'in', ['completing', 'completed']).execute())
          : await pickId(ctx, openCarts(ctx, true))
        if (!cartId) return null
        const cart = await commerce.db.selectFrom('cw_carts').select(['email', 'shipping_option_id', 'status']).where('id', '=', cartId).executeTakeFirstOrThrow()
        if (cart.status === 'open' && (!cart.email || !cart.shipping_option_id) && random.chance(0.9)) await ready(commerce, cartId, ctx.catalog)
        const behaviour = random.pick<GatewayBehaviour>(['ok', 'ok', 'ok', 'action', 'action', 'refuse', random.behaviour()])
        gateway.script('authorize', behaviour)
        const key = ctx.key(`checkout:${cartId}`)!
        ctx.note(`cart=${cartId} key=${key} gateway=${describe(behaviour)}`)
        const result = await commerce.checkout.complete(cartId, { payment: { provider: gateway.id }, idempotencyKey: key })
        const outcome = result.status === 'requires_action' ? `requires_action payment=${result.paymentId}` : `order=${result.id}`
        return `cart=${cartId} key=${key} gateway=${describe(behaviour)}: ${outcome}`
      },
    },
    {
      name: 'checkout.return',
      weight: 3,
      async run(ctx) {
        const { commerce, random, gateway } = ctx
        const paymentId = await pickId(ctx, commerce.db.selectFrom('cw_payments').select('id').where('status', '=', 'requires_action').execute())
        if (!paymentId) return null
        const charge = gateway.chargeFor(paymentId)
        // At the bank: the shopper confirms, fails, or walks away; then comes back to the shop, or not.
        const bank = random.pick(['approve', 'approve', 'approve', 'fail', 'away'] as const)
        if (charge && bank !== 'away') gateway.confirmAction(charge.reference, bank)
        const back = random.chance(0.7)
        ctx.note(`payment=${paymentId} bank=${bank} back=${back}`)
        if (!back) return `payment=${paymentId} bank=${bank} back=false`
        const result = await commerce.checkout.confirm(paymentId)
        const outcome = result.status === 'requires_action' ? 'still requires_action' : `order=${result.id}`
        return `payment=${paymentId} bank=${bank} back=true: ${outcome}`
      },
    },
    {
      name: 'webhook',
      weight: 4,
      async run(ctx) {
        const { commerce, random, gateway } = ctx
        const all = gateway.notifications()
        const waiting = all.filter((n) => !mailbox.delivered.has(n.id))
        const old = all.filter((n) => mailbox.delivered.has(n.id))
        // Late and out of order: any few of the waiting ones; and now and then one delivered before, again.
        const batch = random.shuffle(waiting).slice(0, random.int(1, 3))
        if (old.length > 0 && (batch.length === 0 || random.chance(0.4))) batch.push(...random.shuffle(old).slice(0, random.int(1, 2)))
        if (batch.length === 0) return null
        const ids = batch.map((n) => `${n.id}:${n.type}`).join(',')
        ctx.note(`events=${ids}`)
        await deliverNotifications(commerce, gateway, mailbox, random.shuffle(batch))
        return `events=${ids}`
      },
    },
    {
      name: 'capture',
      weight: 3,
      async run(ctx) {
        const order = await pickOrder(ctx, 'held')
        if (!order) return null
        const amount = ctx.random.chance(0.5) ? undefined : ctx.random.int(1, Math.max(1, order.total))
        const behaviour = ctx.random.behaviour()
        ctx.gateway.script('capture', behaviour)
        const key = ctx.key(`capture:${order.id}`, { optional: true })
        ctx.note(`order=${order.id} amount=${amount ?? 'all'} key=${keyText(key)} gateway=${describe(behaviour)}`)
        await ctx.commerce.orders.capturePayment(order.id, { ...(amount === undefined ? {} : { amount }), ...keyed(key) })
      },
    },
    {
      name: 'void',
      weight: 1,
      async run(ctx) {
        const order = await pickOrder(ctx, 'held')
        if (!order) return null
        const behaviour = ctx.random.behaviour()
        ctx.gateway.script('void', behaviour)
        const key = ctx.key(`void:${order.id}`, { optional: true })
        ctx.note(`order=${order.id} key=${keyText(key)} gateway=${describe(behaviour)}`)
        await ctx.commerce.orders.voidPayment(order.id, keyed(key))
      },
    },
    {
      name: 'refund',
      weight: 3,
      async run(ctx) {
        const order = await pickOrder(ctx, 'captured')
        if (!order) return null
        const amount = ctx.random.chance(0.3) ? Math.max(1, order.total) : ctx.random.int(1, Math.max(1, Math.ceil(order.total / 2)))
        const behaviour = ctx.random.behaviour()
        ctx.gateway.script('refund', behaviour)
        const key = ctx.key(`refund:${order.id}`, { optional: true })
        ctx.note(`order=${order.id} amount=${amount} key=${keyText(key)} gateway=${describe(behaviour)}`)
        await ctx.commerce.orders.refund(order.id, { amount, ...keyed(key) })
      },
    },
    {
      name: 'cancel',
      weight: 2,
      async run(ctx) {
        const order = await pickOrder(ctx)
        if (!order) return null
        const behaviour = ctx.random.behaviour()
        ctx.gateway.script('void', behaviour)
        ctx.gateway.script('refund', behaviour)
        const key = ctx.key(`cancel:${order.id}`, { optional: true })
        ctx.note(`order=${order.id} key=${keyText(key)} gateway=${describe(behaviour)}`)
        await ctx.commerce.orders.cancel(order.id, keyed(key))
      },
    },
    {
      name: 'fulfill',
      weight: 1,
      async run(ctx) {
        const order = await pickOrder(ctx)
        if (!order) return null
        ctx.note(`order=${order.id}`)
        await ctx.commerce.orders.fulfill(order.id)
      },
    },
    {
      name: 'stock.adjust',
      weight: 1,
      async run(ctx) {
        const { random, catalog } = ctx
        const variantId = random.pick(catalog.variantIds)
        const locationId = random.pick(catalog.locationIds)
        if (random.chance(0.5)) {
          const delta = random.pick([-2, -1, 1, 2, 3])
          ctx.note(`variant=${variantId} location=${locationId} delta=${delta}`)
          await ctx.commerce.inventory.adjust({ variantId, locationId, delta })
          return `variant=${variantId} location=${locationId} delta=${delta}`
        }
        const onHand = random.int(0, 5)
        ctx.note(`variant=${variantId} location=${locationId} onHand=${onHand}`)
        await ctx.commerce.inventory.setStock({ variantId, locationId, onHand })
        return `variant=${variantId} location=${locationId} onHand=${onHand}`
      },
    },
    {
      name: 'time.pass',
      weight: 1,
      async run(ctx) {
        // Past a lease, or past the deadline of a shopper who never came back: their stock is released.
        const ms = ctx.random.pick([2_000, 31_000, 16 * 60_000])
        ctx.note(`${ms}ms`)
        // Waiting in virtual time: the clock jumps ahead once nothing else is running.
        await ctx.clock.sleep(ms)
        const { placed, declined, failed } = await ctx.commerce.checkout.recover()
        return `${ms}ms, then checkouts placed=${placed} declined=${declined} failed=${failed}`
      },
    },
    {
      name: 'recover',
      weight: 2,
      async run(ctx) {
        const checkouts = await ctx.commerce.checkout.recover()
        const operations = await ctx.commerce.payments.recover()
        return `checkouts placed=${checkouts.placed} declined=${checkouts.declined} failed=${checkouts.failed}; operations succeeded=${operations.succeeded} failed=${operations.failed} unanswered=${operations.unanswered}`
      },
    },
    {
      name: 'outbox.drain',
      weight: 1,
      async run(ctx) {
        const delivered = await ctx.commerce.outbox.drain({ timeoutMs: 600_000 })
        return `delivered=${delivered}`
      },
    },
  ]
}
