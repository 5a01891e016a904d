import type { Address } from './validation.js'
import type { CustomerAction, GatewayEvent } from './ports/payment-provider.js'

/** A price tier: `amount` applies from `minQuantity` units per line upward. */
export interface Price {
  currency: string
  amount: number
  minQuantity: number
  /**
   * The price shown struck through ("was 129.00"), greater than `amount`; present only when set.
   * Display only: carts and orders always charge `amount`.
   */
  compareAtAmount?: number
  /** Whether `amount` includes tax; absent: the cart's convention (its channel's, else the store's). */
  taxInclusive?: boolean
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
  /** Package dimensions in millimetres, for shipping rates and customs; null when not given. */
  lengthMm: number | null
  widthMm: number | null
  heightMm: number | null
  manageInventory: boolean
  /** Whether the variant sells beyond stock: see {@link InventoryPolicy} and `inventory.setPolicy`. */
  inventoryPolicy: InventoryPolicy
  /** The variant's tax class (`'standard'`, `'reduced'`, `'books'`…), or null: the tax provider's default. */
  taxClass: string | null
  prices: Price[]
  createdAt: string
  updatedAt: string
}

/**
 * What a variant does when its stock runs out:
 * - `deny` (the default): nothing is sold beyond stock, `backorderLimit` and `availableAt` are null;
 * - `backorder`: up to `backorderLimit` units of the variant may be sold beyond stock (in all, not
 *   per location), to ship when stock arrives;
 * - `preorder`: until `availableAt`, units may be sold beyond stock, up to `backorderLimit` when
 *   it is set (null: no limit). From `availableAt` on, the variant sells only what is in stock, as
 *   `deny` does; the preorders already taken stay.
 *
 * @example
 * ```ts
 * const policy: InventoryPolicy = { policy: 'preorder', backorderLimit: null, availableAt: '2027-03-01T00:00:00.000Z' }
 * ```
 */
export interface InventoryPolicy {
  policy: 'deny' | 'backorder' | 'preorder'
  backorderLimit: number | null
  availableAt: string | null
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
  /** The merchant's product type (`Shoes`), or null. */
  productType: string | null
  /** Tags as the merchant spelled them, in order; unique per product ignoring case. */
  tags: string[]
  material: string | null
  /** Harmonized System code for customs: 6 to 10 digits. */
  hsCode: string | null
  /** ISO 3166-1 alpha-2 country of origin, upper case. */
  countryOfOrigin: string | null
  /** Its images in order, its variants' included (see `commerce.media`; `media.list` gives a variant's first). */
  media: Media[]
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

/** Stock of one variant at one location. `available = onHand - reserved`, never below `-backorderAllowance`. */
export interface InventoryLevel {
  variantId: string
  locationId: string
  onHand: number
  reserved: number
  available: number
  lowStockThreshold: number | null
  /**
   * How far `available` may go below zero at this level: the variant's backorder or preorder
   * allowance is held by one of its levels (see `inventory.setPolicy`); 0 elsewhere.
   */
  backorderAllowance: number
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
 * One tax on a line or on shipping, explaining itself: where (`jurisdiction`), which class, at
 * what rate, on what base, how much. A line's tax lines add up to its `taxTotal`.
 *
 * @example
 * ```ts
 * const vat: TaxLine = { jurisdiction: 'FR', name: 'TVA', taxClass: 'standard', rate: '20', taxableBase: 8333, amount: 1667, note: null }
 * ```
 */
export interface TaxLine {
  jurisdiction: string
  name: string | null
  /** The line's tax class (or the shipping option's), null: the provider's default. */
  taxClass: string | null
  /** The rate in percent, as the tax provider gave it, e.g. `'20'`, `'8.875'`. */
  rate: string
  /** What the rate applies to, without tax: the line's (or shipping's) net amount after discounts, in minor units. */
  taxableBase: number
  /** The tax, in minor units. */
  amount: number
  /** A legal note (reverse charge, exemption), or null. */
  note: string | null
}

/** A line's amounts without tax (`net`) or with it (`gross`): `subtotal - discountTotal = total`. */
export interface LineAmounts {
  subtotal: number
  discountTotal: number
  total: number
}

/**
 * A priced line, in minor units. `unitPrice`, `subtotal = unitPrice × quantity` and `discountTotal`
 * are in the line's price convention: with tax included when `taxInclusive`, without it otherwise.
 * `total` is what the shopper pays for the line, tax included: `total = subtotal - discountTotal`
 * when tax-inclusive, `subtotal - discountTotal + taxTotal` when not. `net` and `gross` give the
 * same amounts without and with tax, so that `net.total + taxTotal = gross.total = total`.
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
  /** Whether `unitPrice` includes tax: the price's own setting, else the cart's. */
  taxInclusive: boolean
  /** The variant's tax class when priced, or null: the tax provider's default. */
  taxClass: string | null
  /** The taxes on the line, adding up to `taxTotal`. */
  taxLines: TaxLine[]
  net: LineAmounts
  gross: LineAmounts
  /** The price staff set for this line of a draft (`drafts.overridePrice`); absent when none was. */
  priceOverride?: PriceOverride
}

/**
 * A price staff set for a line of a staff-made order (`drafts.overridePrice`): it wins over every
 * price source, and the order line it becomes keeps it.
 *
 * @example
 * ```ts
 * const order = await commerce.orders.get(orderId)
 * for (const line of order.lines) {
 *   const o: PriceOverride | undefined = line.priceOverride
 *   if (o) console.log(`${line.sku}: ${o.from} → ${o.unitPrice} by ${o.by} (${o.reason})`)
 * }
 * ```
 */
export interface PriceOverride {
  /** The unit price charged, in minor units. */
  unitPrice: number
  /** The unit price the line had when it was overridden (minor units), or null when it had none. */
  from: number | null
  /** Why (shown to staff, kept with the order). */
  reason: string
  /** Who overrode it: a staff member's name or id. */
  by: string
  /** When (ISO-8601). */
  at: string
}

/** A cart line with its current price, computed on the server. */
export type CartLine = LineItem

/** What an adjustment takes money off: the cart's lines, or its shipping amount. */
export type AdjustmentTarget = 'lines' | 'shipping'

/**
 * A discount applied to a cart by a `cart.adjust` hook. Adjustments are applied in the order they
 * were pushed, each to what the earlier ones left:
 * - on `lines` (the default), split over its lines (`lineIds`, or every line) in proportion to
 *   what is left of their subtotals, largest remainder first, never taking a line below 0;
 * - on `shipping`, off the chosen shipping option's amount, never below 0 (nothing while no option
 *   is chosen). Tax on shipping is computed on what is left.
 *
 * An amount larger than what is left is clamped, not refused: the cart's `adjustments` report each
 * one with the amount it actually took off, so that they add up to `totals.discountTotal`. A hook
 * that pushes a negative or fractional amount, an unknown `target`, or `lineIds` on a shipping
 * adjustment makes the operation fail with `VETOED`, naming the field.
 *
 * @example
 * ```ts
 * commerce.hooks.hook('cart.adjust', ({ cart, adjustments }) => {
 *   const shoes = cart.lines.filter((l) => l.sku.startsWith('TR-')).map((l) => l.id)
 *   if (shoes.length) adjustments.push({ code: 'SHOES10', label: '10.00 off shoes', amount: 1000, lineIds: shoes })
 *   if (cart.totals.subtotal >= 10000) adjustments.push({ code: 'FREESHIP', label: 'Free shipping', amount: Number.MAX_SAFE_INTEGER, target: 'shipping' })
 * })
 * ```
 */
export interface Adjustment {
  /** What applied it, e.g. a promotion code. */
  code: string
  label: string
  /**
   * Amount taken off, in minor units (a non-negative integer). A hook pushes what it wants taken
   * off; a cart reports what was taken off.
   */
  amount: number
  /** What it takes money off: `'lines'` (the default) or `'shipping'`. */
  target?: AdjustmentTarget
  /** For `target: 'lines'`: the lines it applies to; all lines when omitted. Split across them by subtotal. */
  lineIds?: string[]
  /**
   * Who contributed it, e.g. the id of the plugin whose hook pushed it; `code` when omitted. Kept
   * on the order with the adjustment.
   */
  source?: string
}

/**
 * One adjustment as it was applied to one line of an order, or to its shipping: what the shopper
 * was charged less, kept with the order when it was placed (`cw_order_adjustments`). An adjustment
 * on several lines has one entry per line it took money off, sharing its `position`; their
 * amounts add up to what the adjustment took off. The amounts of all of an order's adjustments add
 * up to its `totals.discountTotal`; an adjustment that took nothing off is not kept. Orders placed
 * before adjustments were kept (0.1.0) have none, though their lines may carry discounts.
 *
 * @example
 * ```ts
 * const order = await commerce.orders.get(orderId)
 * for (const line of order.lines) {
 *   const discounts = order.adjustments.filter((a) => a.lineId === line.id) // their amounts add up to line.discountTotal
 *   console.log(line.sku, discounts.map((a) => `${a.label}: -${a.amount}`))
 * }
 * const shippingDiscount = order.adjustments.filter((a) => a.target === 'shipping').reduce((sum, a) => sum + a.amount, 0)
 * ```
 */
export interface OrderAdjustment {
  id: string
  /** The order line it took money off; null for an adjustment on shipping. */
  lineId: string | null
  target: AdjustmentTarget
  code: string
  label: string
  /** Who contributed it (a plugin id, or the code when its hook named none). */
  source: string
  /** Minor units taken off this line, or off shipping (positive). */
  amount: number
  /** The adjustment's place among the cart's adjustments, in the order they were applied; the entries of one adjustment share it. */
  position: number
}

/**
 * Cart or order totals, in minor units. `subtotal`, `discountTotal` and `shippingTotal` are in the
 * cart's price convention (`taxInclusive`); `net` and `gross` give them without and with tax, so
 * that `total = net.subtotal - net.discountTotal + net.shippingTotal + taxTotal + rounding
 * = gross.subtotal - gross.discountTotal + gross.shippingTotal + rounding`. Tax-exclusive, the
 * familiar `total = subtotal - discountTotal + shippingTotal + taxTotal + rounding` holds.
 * `discountTotal` counts every discount, on lines and on shipping; `shippingTotal` is the shipping
 * option's amount before any discount on it. Tax on shipping is computed on the shipping amount
 * less its discounts. `rounding` is the visible rounding adjustment to the payment provider's
 * charge step (`PaymentProvider.chargeStep`): always 0 on a cart, and on an order the
 * signed amount checkout added so that what the gateway charges equals the order's total.
 * The order of pricing is documented in docs/pricing.md.
 *
 * @example
 * ```ts
 * // A KWD order of 1.234 charged by a provider that charges KWD in steps of 10 (0.010):
 * const view = { subtotal: 1234, discountTotal: 0, shippingTotal: 0 }
 * const totals: Totals = { ...view, taxTotal: 0, rounding: -4, total: 1230, taxInclusive: false, net: view, gross: view }
 * ```
 */
export interface Totals {
  subtotal: number
  discountTotal: number
  shippingTotal: number
  taxTotal: number
  /** The rounding adjustment to the charge step, signed minor units; 0 when none (always 0 on a cart). */
  rounding: number
  total: number
  /**
   * Whether `subtotal`, `discountTotal` and `shippingTotal` include tax (the cart's price convention):
   * then `total = subtotal - discountTotal + shippingTotal + rounding`, and tax is inside them.
   */
  taxInclusive: boolean
  /** The same amounts without tax: `total = net.subtotal - net.discountTotal + net.shippingTotal + taxTotal + rounding`. */
  net: TotalsView
  /** The same amounts with tax: `total = gross.subtotal - gross.discountTotal + gross.shippingTotal + rounding`. */
  gross: TotalsView
}

/** Subtotal, discounts and shipping without tax or with it (see {@link Totals}). */
export interface TotalsView {
  subtotal: number
  discountTotal: number
  shippingTotal: number
}

/** The shipping option chosen for a cart or order. `amount` is in the cart's price convention. */
export interface ShippingMethod {
  id: string
  provider: string
  name: string
  amount: number
  estimate?: string
  minDays?: number
  maxDays?: number
  /** The charge's tax class, when the option named one. */
  taxClass?: string
  /** Click and collect: the stock location the order is collected from (and reserved at). */
  pickupLocationId?: string
}

/** A shopper's cart. Totals are always computed by the server from current prices. */
export interface Cart {
  id: string
  currency: string
  status: CartStatus
  email: string | null
  customerId: string | null
  /** The sales channel the cart was opened in (`carts.create({ channelId })`), or null. */
  channelId: string | null
  /**
   * Whether prices are shown and charged tax-inclusive for this cart: its channel's setting when
   * the cart was opened, else the store's (`CommerceOptions.pricesIncludeTax`). Prices without a
   * convention of their own, and shipping charges, are read in it; `totals` are shown in it.
   */
  taxInclusive: boolean
  shippingAddress: Address | null
  billingAddress: Address | null
  shippingMethod: ShippingMethod | null
  /** The taxes on the shipping charge, adding up to the shipping tax. */
  shippingTaxLines: TaxLine[]
  lines: CartLine[]
  /** The adjustments `cart.adjust` hooks applied, in order, each with the amount it took off, its `target` and `source`. */
  adjustments: Adjustment[]
  totals: Totals
  /**
   * Counts the changes made to the cart: it moves with every change to its lines, email, addresses,
   * shipping choice or metadata, and with nothing else. Bind an approval or a quote to it (with the
   * `total` it was given for, since prices, tax and shipping rates can change under an unchanged
   * cart): when it moved, the cart is not the one approved.
   *
   * @example
   * ```ts
   * const quoted = { cartId: cart.id, version: cart.version, total: cart.totals.total }
   * // later, before checkout:
   * const now = await commerce.carts.get(quoted.cartId)
   * if (now.version !== quoted.version || now.totals.total !== quoted.total) throw new Error('the cart changed since it was quoted')
   * ```
   */
  version: number
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
   * // The host framework's cookie functions:
   * declare function setCookie(name: string, value: string): void
   * declare function cookie(name: string): string
   *
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
 * - `requires_action`: the gateway waits for the shopper to confirm with their bank or wallet
 *   (3-D Secure, a redirect); the stock stays reserved until the gateway reports the outcome, or
 *   the deadline (`customerActionTimeoutMs`) passes and recovery gives the attempt up;
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
  | 'requires_action'
  | 'authorized'
  | 'partially_captured'
  | 'captured'
  | 'partially_refunded'
  | 'refunded'
  | 'voided'
  | 'declined'
export type FulfillmentStatus = 'unfulfilled' | 'fulfilled'

/**
 * Units of an order line sold beyond stock: `quantity` of the line's units were not on hand when
 * the order was placed, under the variant's `backorder` or `preorder` policy; `availableAt` is the
 * preorder's date (null for a backorder).
 *
 * @example
 * ```ts
 * const order = await commerce.orders.get(orderId)
 * for (const line of order.lines) if (line.beyondStock) console.log(line.sku, line.beyondStock.quantity, line.beyondStock.availableAt)
 * ```
 */
export interface BeyondStock {
  policy: 'backorder' | 'preorder'
  quantity: number
  availableAt: string | null
}

/** An order line: a snapshot of what was bought, at the price paid, and how much of it was sold beyond stock. */
export interface OrderLine extends LineItem {
  /** Null when every unit was in stock. */
  beyondStock: BeyondStock | null
}

/** A payment attempt on a cart, and later its order. */
export interface Payment {
  id: string
  cartId: string
  orderId: string | null
  /**
   * `gateway`: the checkout's payment at the provider it named; `tender`: part of the total paid
   * from a source a plugin contributed at claim (a gift card, store credit), captured when the
   * order is placed. An order's payments add up to its total.
   */
  kind: 'gateway' | 'tender'
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
  /** The payment's latest dispute (chargeback), or null when the gateway reported none. */
  dispute: PaymentDispute | null
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
  /** The sales channel of the cart it was placed from, or null. */
  channelId: string | null
  shippingAddress: Address | null
  billingAddress: Address | null
  shippingMethod: ShippingMethod | null
  /** The taxes on the shipping charge, as computed when the order was placed. */
  shippingTaxLines: TaxLine[]
  lines: OrderLine[]
  /** The discounts applied when it was placed, per line and on shipping (see {@link OrderAdjustment}). */
  adjustments: OrderAdjustment[]
  /** What the order cost when it was placed, in minor units. */
  totals: Totals
  payments: Payment[]
  /**
   * Set while the order is held for review (by a `checkout.risk` hook when it was placed, or by
   * staff with `orders.hold`): its payment cannot be captured nor the order fulfilled until
   * `orders.release`. Null otherwise; an order canceled while held keeps it.
   *
   * @example
   * ```ts
   * const { items } = await commerce.orders.list({ held: true, status: 'placed' }) // the review queue
   * for (const order of items) console.log(order.number, order.hold!.reason, order.hold!.at)
   * ```
   */
  hold: OrderHold | null
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
   * // The host framework's cookie setter, and the key of this checkout attempt (reused on retry):
   * declare function setCookie(name: string, value: string): void
   * declare const idempotencyKey: string
   *
   * const result = await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey })
   * if (result.status !== 'requires_action' && result.accessToken) setCookie('order', result.accessToken)
   * ```
   */
  accessToken?: string
}

/**
 * The answer of `checkout.complete` or `checkout.confirm` while the shopper must confirm the
 * payment with their bank or wallet (3-D Secure, a redirect, a wallet sheet): send them to
 * `action`, then call `checkout.confirm` when they come back (the gateway's webhook may finish
 * the checkout first). Until `expiresAt` the stock stays reserved; after it, recovery gives the
 * attempt up, voiding anything the gateway holds. Asking again answers the same action: the
 * payment is never authorized twice.
 *
 * @example
 * ```ts
 * declare function redirect(url: string): void
 * declare function renderPaymentSheet(clientSecret: string): void
 * declare const data: Record<string, unknown> // from the gateway's script in the browser
 * declare const idempotencyKey: string
 *
 * const result: CheckoutResult = await commerce.checkout.complete(cart.id, { payment: { provider: 'stripe', data }, idempotencyKey })
 * if (result.status === 'requires_action') {
 *   const pending: ActionRequired = result
 *   if (pending.action.type === 'redirect') redirect(pending.action.url)
 *   else renderPaymentSheet(pending.action.clientSecret)
 * }
 * ```
 */
export interface ActionRequired {
  status: 'requires_action'
  cartId: string
  /** The gateway payment waiting for the shopper: `checkout.confirm(paymentId)` finishes it. */
  paymentId: string
  action: CustomerAction
  /** When the attempt is given up if the shopper has not confirmed (ISO 8601). */
  expiresAt: string
}

/**
 * What `checkout.complete` and `checkout.confirm` answer: the placed {@link Order}, or
 * {@link ActionRequired} while the shopper must confirm. An order's `status` is never
 * `requires_action`, so that field tells them apart.
 *
 * @example
 * ```ts
 * async function shopperReturned(cartId: string) {
 *   const result: CheckoutResult = await commerce.checkout.confirm(cartId)
 *   if (result.status === 'requires_action') return { retryAfter: result.expiresAt }
 *   return { orderNumber: result.number }
 * }
 * ```
 */
export type CheckoutResult = Order | ActionRequired

/**
 * A chargeback as the gateway reported it: `open` from `dispute.opened` until `dispute.closed`.
 *
 * @example
 * ```ts
 * declare const paymentId: string
 * declare function flagForReview(orderId: string | null, reason: string | null): void
 *
 * const payment = await commerce.payments.get(paymentId)
 * if (payment.dispute?.status === 'open') flagForReview(payment.orderId, payment.dispute.reason)
 * ```
 */
export interface PaymentDispute {
  status: 'open' | 'closed'
  /** The gateway's reason when opened; its outcome when closed (when it says). */
  reason: string | null
  /** Minor units disputed, when the gateway says. */
  amount: number | null
  /** The gateway's event id of the latest change. */
  eventId: string
  openedAt: string
  closedAt: string | null
}

/**
 * A gateway notification as `payments.handleWebhook` recorded it, once per (provider, event id).
 * `outcome`: `applied` (it changed a payment, or confirmed what the engine had recorded),
 * `ignored` (nothing to do: an intermediate status, or news already known), or `unmatched` (no
 * payment had its reference yet; it is applied when the payment appears).
 *
 * @example
 * ```ts
 * for (const event of await commerce.payments.listUnmatchedEvents()) {
 *   logger.warn('gateway event for an unknown payment', event.provider, event.eventId, event.reference)
 * }
 * ```
 */
export interface PaymentEventRecord {
  provider: string
  eventId: string
  type: GatewayEvent['type']
  reference: string
  paymentId: string | null
  operationId: string | null
  amount: number | null
  currency: string | null
  reason: string | null
  occurredAt: string | null
  outcome: 'applied' | 'ignored' | 'unmatched'
  receivedAt: string
  appliedAt: string | null
}

/**
 * Why an order is held for review, and since when (ISO 8601).
 *
 * @example
 * ```ts
 * const order = await commerce.orders.get(orderId)
 * if (order.hold) console.log(`held since ${order.hold.at}: ${order.hold.reason}`)
 * ```
 */
export interface OrderHold {
  reason: string
  at: string
}

/** A page of results and the cursor of the next page (null on the last page). */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

/** A category of the catalog tree: products in several categories, ordered within each. */
export interface Category {
  id: string
  handle: string
  title: string
  description: string | null
  /** null for a top-level category. */
  parentId: string | null
  /** Order among its siblings, from 0. */
  position: number
  createdAt: string
  updatedAt: string
}

/** A category with its sub-categories, as `categories.tree()` returns it. */
export interface CategoryNode extends Category {
  children: CategoryNode[]
}

/**
 * A rule of a rule-based collection: products with a tag, of a product type, with a variant
 * priced (base price, one unit) within a range in a currency, or with a variant of an option value.
 */
export type CollectionRule =
  | { field: 'tag'; value: string }
  | { field: 'type'; value: string }
  | { field: 'price'; currency: string; min?: number; max?: number }
  | { field: 'option'; option: string; value: string }

/** A collection: hand-picked (`manual`, an ordered product list) or `rules` (resolved when read). */
export interface Collection {
  id: string
  handle: string
  title: string
  description: string | null
  kind: 'manual' | 'rules'
  /** How rules combine: every rule (`all`) or at least one (`any`). */
  match: 'all' | 'any'
  rules: CollectionRule[]
  createdAt: string
  updatedAt: string
}

/** What `catalog.deleteProduct` did: deleted the product, or archived it because orders or carts refer to it. */
export type DeleteProductResult = { deleted: true; archived: false } | { deleted: false; archived: true; reason: 'orders' | 'carts' }

/**
 * One image of a product, or of one of its variants (`variantId`), as `commerce.media` returns it:
 * a reference to a file the engine stored through the `MediaStore` (`key`), or to an image hosted
 * elsewhere (`key` null). `position` is its place in the product's one order (0 first).
 */
export interface Media {
  id: string
  productId: string
  /** The variant it shows (the red shoe's pictures), or null for the whole product. */
  variantId: string | null
  position: number
  /** Text for people who cannot see the image; null when none was given. */
  alt: string | null
  width: number | null
  height: number | null
  contentType: string | null
  /** Bytes of the stored file; null for an external URL. */
  size: number | null
  /** The store's key of a file the engine stored; null for an external URL. */
  key: string | null
  /** Where to load it: the store's `url(key)`, or the external URL; null for a stored file when no store is configured. */
  url: string | null
  createdAt: string
  updatedAt: string
}
