import type { Address } from './validation.js'

/** A price tier: `amount` applies from `minQuantity` units per line upward. */
export interface Price {
  currency: string
  amount: number
  minQuantity: number
}

/** An option axis of a product, e.g. `{ name: 'Size', values: ['41', '42'] }`. */
export interface ProductOption {
  name: string
  values: string[]
}

/** A sellable variant of a product: one combination of option values, with its own SKU and prices. */
export interface Variant {
  id: string
  productId: string
  sku: string
  title: string
  options: Record<string, string>
  weightGrams: number | null
  manageInventory: boolean
  prices: Price[]
  createdAt: string
  updatedAt: string
}

export type ProductStatus = 'draft' | 'active' | 'archived'

/** A product with its option axes and variants. */
export interface Product {
  id: string
  handle: string
  title: string
  description: string | null
  status: ProductStatus
  options: ProductOption[]
  variants: Variant[]
  metadata: Record<string, unknown>
  createdAt: string
  updatedAt: string
}

/**
 * A warehouse or store that holds stock. For each variant, the first location by `priority`
 * (lowest first) that holds the whole quantity ships it; otherwise the quantity is split over
 * locations in priority order.
 */
export interface StockLocation {
  id: string
  name: string
  code: string
  priority: number
  createdAt: string
}

/** Stock of one variant at one location. `available = onHand - reserved`, never negative. */
export interface InventoryLevel {
  variantId: string
  locationId: string
  onHand: number
  reserved: number
  available: number
  lowStockThreshold: number | null
}

/**
 * Units of a variant set aside at one location: `held` from checkout until the order is fulfilled
 * (`committed`: the goods left) or canceled, or the checkout declined (`released`). A level's
 * `reserved` is the sum of its held reservations.
 */
export interface Reservation {
  id: string
  variantId: string
  locationId: string
  quantity: number
  cartId: string
  orderId: string | null
  status: 'held' | 'committed' | 'released'
  createdAt: string
}

export type CartStatus = 'open' | 'completing' | 'completed'

/**
 * A priced line, in minor units: `total = subtotal - discountTotal + taxTotal`, with
 * `subtotal = unitPrice × quantity`.
 */
export interface LineItem {
  id: string
  variantId: string
  productId: string
  sku: string
  title: string
  variantTitle: string
  quantity: number
  unitPrice: number
  subtotal: number
  discountTotal: number
  taxTotal: number
  total: number
}

/** A cart line with its current price, computed on the server. */
export type CartLine = LineItem

/** A discount or surcharge applied to a cart by a `cart.adjust` hook. */
export interface Adjustment {
  /** Who applied it, e.g. a promotion code. */
  code: string
  label: string
  /** Amount taken off, in minor units (positive). */
  amount: number
  /** Lines it applies to; all lines when omitted. Split across them by subtotal. */
  lineIds?: string[]
}

/** Cart or order totals, in minor units. `total = subtotal - discountTotal + shippingTotal + taxTotal`. */
export interface Totals {
  subtotal: number
  discountTotal: number
  shippingTotal: number
  taxTotal: number
  total: number
}

/** The shipping option chosen for a cart or order. */
export interface ShippingMethod {
  id: string
  provider: string
  name: string
  amount: number
  estimate?: string
}

/** A shopper's cart. Totals are always computed by the server from current prices. */
export interface Cart {
  id: string
  currency: string
  status: CartStatus
  email: string | null
  customerId: string | null
  shippingAddress: Address | null
  billingAddress: Address | null
  shippingMethod: ShippingMethod | null
  lines: CartLine[]
  adjustments: Adjustment[]
  totals: Totals
  /**
   * Null when the cart's amounts were computed. Otherwise why they could not be: they would pass
   * 2^53 − 1 minor units, the largest exact amount, which a stored cart reaches only when a price
   * or tax rate rises under lines already in it. Such a cart is still returned, with its lines'
   * quantities and unit prices, every amount 0 and no shipping method; it accepts only changes that
   * lower or remove lines, and `checkout.complete` refuses it with `INVALID_STATE`.
   */
  pricingProblem: string | null
  orderId: string | null
  createdAt: string
  updatedAt: string
  /**
   * The cart's access token: the shopper's bearer secret for it, apart from its id. Present only
   * on the response of `carts.create` and `carts.rotateToken`: only its hash is stored, so it cannot
   * be read back. Give it to the shopper (a cookie) and open the cart with `carts.findByToken`.
   *
   * @example
   * ```ts
   * const cart = await commerce.carts.create({ currency: 'USD' })
   * setCookie('cart', cart.accessToken!) // the id is not a secret; the token is
   * // on the next request:
   * const same = await commerce.carts.findByToken(cookie('cart'))
   * ```
   */
  accessToken?: string
}

/**
 * `placed` until it is either `canceled`, or `completed`: fulfilled in full with its payment
 * captured (refunds may still follow).
 */
export type OrderStatus = 'placed' | 'canceled' | 'completed'
/**
 * Where a payment stands, from what the gateway confirmed:
 * - `pending`: being authorized (a checkout in flight);
 * - `authorized`: money held, nothing captured yet;
 * - `partially_captured`: part of the authorization captured. With a provider that captures once
 *   (most gateways), the rest was released and no further capture is possible; with a
 *   `multiCapture` provider more can be captured, up to the authorized amount;
 * - `captured`: the whole authorization captured;
 * - `partially_refunded` / `refunded`: part or all of the captured amount given back;
 * - `voided`: the authorization released without capturing;
 * - `declined`: the gateway refused the authorization.
 *
 * Money in flight (a capture, void or refund sent but not yet confirmed) does not change the
 * status: see the payment's operations (`commerce.payments.get`).
 */
export type PaymentStatus =
  | 'pending'
  | 'authorized'
  | 'partially_captured'
  | 'captured'
  | 'partially_refunded'
  | 'refunded'
  | 'voided'
  | 'declined'
export type FulfillmentStatus = 'unfulfilled' | 'fulfilled'

/** An order line: a snapshot of what was bought, at the price paid. */
export type OrderLine = LineItem

/** A payment attempt on a cart, and later its order. */
export interface Payment {
  id: string
  cartId: string
  orderId: string | null
  provider: string
  status: PaymentStatus
  currency: string
  amount: number
  authorizedAmount: number
  capturedAmount: number
  refundedAmount: number
  reference: string | null
  failure: string | null
  createdAt: string
  updatedAt: string
}

/** What a payment operation does at the gateway. */
export type PaymentOperationKind = 'capture' | 'void' | 'refund'

/**
 * `pending`: sent, or about to be, and not yet answered (a lost response stays pending until the
 * operation is retried or recovered); `succeeded`: the gateway moved the money; `failed`: the
 * gateway refused, and nothing moved.
 */
export type PaymentOperationStatus = 'pending' | 'succeeded' | 'failed'

/** One capture, void or refund of a payment, as sent to the gateway. */
export interface PaymentOperation {
  id: string
  paymentId: string
  orderId: string | null
  kind: PaymentOperationKind
  /** Minor units; for a void, the amount released. */
  amount: number
  status: PaymentOperationStatus
  /** The caller's idempotency key (the operation's id when none was given). */
  idempotencyKey: string
  /** The key sent to the gateway, the same on every retry of this operation. */
  gatewayKey: string
  reason: string | null
  /** The gateway's reference for the operation, once it succeeded. */
  reference: string | null
  /** Why the gateway refused, for a failed operation. */
  failure: string | null
  createdAt: string
  updatedAt: string
}

/** A payment with every capture, void and refund sent for it, oldest first. */
export interface PaymentDetails extends Payment {
  operations: PaymentOperation[]
}

/** A placed order. Its `totals` have the same shape as a cart's. */
export interface Order {
  id: string
  /** Human-facing, sequential order number. */
  number: number
  cartId: string
  currency: string
  status: OrderStatus
  paymentStatus: PaymentStatus
  fulfillmentStatus: FulfillmentStatus
  email: string
  customerId: string | null
  shippingAddress: Address | null
  billingAddress: Address | null
  shippingMethod: ShippingMethod | null
  lines: OrderLine[]
  /** What the order cost when it was placed, in minor units. */
  totals: Totals
  payments: Payment[]
  metadata: Record<string, unknown>
  createdAt: string
  updatedAt: string
  canceledAt: string | null
  /**
   * The order's access token, for the shopper's order page or an email link. Present only on the
   * response of the `checkout.complete` call that placed the order and of
   * `orders.issueAccessToken`: only its hash is stored. A replayed `complete` (after a lost
   * response) returns the order without it; the cart's token opens the order too
   * (`orders.findByToken`).
   *
   * @example
   * ```ts
   * const order = await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey })
   * if (order.accessToken) setCookie('order', order.accessToken)
   * ```
   */
  accessToken?: string
}

/** A page of results and the cursor of the next page (null on the last page). */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}
