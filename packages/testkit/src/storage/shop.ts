import { randomUUID } from 'node:crypto'
import type { Cart, CheckoutResult, Commerce, CommerceEventName, CoreDatabase, DurableSubscriber, Order, Product, StoredEvent } from '@cartwright/core'

/** A valid shipping address. */
export const ADDRESS = { firstName: 'Ada', lastName: 'Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 9GU', country: 'GB' }

/** A fresh idempotency key. */
export const key = (): string => randomUUID()

/** The stock location cases use: `main`, created on first use. */
export async function mainLocation(commerce: Commerce): Promise<string> {
  const existing = (await commerce.inventory.listLocations()).find((l) => l.code === 'main')
  return existing?.id ?? (await commerce.inventory.createLocation({ name: 'Main warehouse', code: 'main' })).id
}

export interface SeedOptions {
  title?: string
  handle?: string
  sku?: string
  /** Unit price in USD minor units (default 1250). */
  amount?: number
  /** On-hand at the main location; no level is created when omitted. */
  stock?: number
}

/** A one-variant product priced in USD, optionally stocked at the main location. */
export async function seedVariant(
  commerce: Commerce,
  options: SeedOptions = {},
): Promise<{ product: Product; variantId: string; locationId: string }> {
  const tag = randomUUID().slice(0, 8)
  const product = await commerce.catalog.createProduct({
    title: options.title ?? `Mug ${tag}`,
    handle: options.handle ?? `mug-${tag}`,
    variants: [{ sku: options.sku ?? `MUG-${tag}`, prices: [{ currency: 'USD', amount: options.amount ?? 1250 }] }],
  })
  const variantId = product.variants[0]!.id
  const locationId = await mainLocation(commerce)
  if (options.stock !== undefined) await commerce.inventory.setStock({ variantId, locationId, onHand: options.stock })
  return { product, variantId, locationId }
}

export interface ReadyCartOptions {
  /** `flat:standard` (5.00 USD, the default) or `flat:pickup` (free). */
  shipping?: string
  address?: Record<string, string>
}

/** A cart ready to check out: its lines, an email, an address and a shipping option. */
export async function readyCart(commerce: Commerce, lines: Array<[variantId: string, quantity: number]>, options: ReadyCartOptions = {}): Promise<Cart> {
  const cart = await commerce.carts.create({ currency: 'USD' })
  for (const [variantId, quantity] of lines) await commerce.carts.addItem(cart.id, { variantId, quantity })
  await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: (options.address ?? ADDRESS) as never })
  return commerce.carts.setShippingOption(cart.id, options.shipping ?? 'flat:standard')
}

/** The order a checkout placed; throws when it answered `requires_action` instead (a gateway that approves at once places it). */
export function placed(result: CheckoutResult): Order {
  if (result.status === 'requires_action') throw new Error(`checkout of cart ${result.cartId} answered requires_action, not an order`)
  return result
}

/** Completes checkout with the test gateway; the placed order. */
export async function checkout(commerce: Commerce, cartId: string, idempotencyKey: string = key()): Promise<Order> {
  return placed(await commerce.checkout.complete(cartId, { payment: { provider: 'test' }, idempotencyKey }))
}

/** What a {@link Probe} saw: one entry per delivery attempt. */
export interface ProbeCall {
  eventId: string
  type: string
  attempt: number
  payload: unknown
}

/** A durable subscriber that records its calls and does what the case tells it to. */
export interface Probe {
  subscriber: DurableSubscriber
  calls: ProbeCall[]
  /** Replaces what the subscriber does after recording a call (default: succeed). */
  behave(fn: (call: ProbeCall) => void | Promise<void>): void
}

export function probe(id = 'probe', events: readonly CommerceEventName[] | '*' = '*'): Probe {
  const calls: ProbeCall[] = []
  let behaviour: (call: ProbeCall) => void | Promise<void> = () => undefined
  return {
    calls,
    behave(fn) {
      behaviour = fn
    },
    subscriber: {
      id,
      events,
      async handle(event: StoredEvent, context) {
        const call = { eventId: event.id, type: event.type, attempt: context.attempt, payload: event.payload }
        calls.push(call)
        await behaviour(call)
      },
    },
  }
}

/** A raw `cw_orders` row with zero totals, for cases that write orders behind the engine's back. */
export function orderRow(fields: { id: string; number: number; cart_id: string; email: string; at: string }): CoreDatabase['cw_orders'] {
  return {
    id: fields.id,
    number: fields.number,
    cart_id: fields.cart_id,
    currency: 'USD',
    status: 'placed',
    payment_status: 'authorized',
    fulfillment_status: 'unfulfilled',
    email: fields.email,
    customer_id: null,
    shipping_address: null,
    billing_address: null,
    shipping_method: null,
    subtotal: 0,
    discount_total: 0,
    shipping_total: 0,
    tax_total: 0,
    total: 0,
    metadata: null,
    created_at: fields.at,
    updated_at: fields.at,
    canceled_at: null,
    access_token_hash: null,
  }
}
