import type { Generated, Kysely, Transaction } from 'kysely'

/** Timestamps are written as ISO-8601 UTC strings; PostgreSQL returns them as `Date`. */
export type Timestamp = string | Date

export interface ProductTable {
  id: string
  handle: string
  title: string
  description: string | null
  status: string
  options: string
  metadata: string | null
  product_type: string | null
  material: string | null
  hs_code: string | null
  country_of_origin: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface VariantTable {
  id: string
  product_id: string
  sku: string
  title: string
  options: string
  weight_grams: number | null
  length_mm: number | null
  width_mm: number | null
  height_mm: number | null
  manage_inventory: number
  position: number
  created_at: Timestamp
  updated_at: Timestamp
  /** `deny` (default), `backorder` or `preorder` (migration 0009). */
  inventory_policy?: string
  backorder_limit?: number | null
  available_at?: Timestamp | null
  /** The variant's tax class; null: the tax provider's default (migration 0016). */
  tax_class?: string | null
}

export interface PriceTable {
  id: string
  variant_id: string
  currency: string
  amount: number
  min_quantity: number
  compare_at_amount: number | null
  /** 1: entered with tax, 0: without, null: the cart's convention (migration 0016). */
  tax_inclusive?: number | null
}

export interface StockLocationTable {
  id: string
  name: string
  code: string
  priority: number
  created_at: Timestamp
}

export interface InventoryLevelTable {
  id: string
  variant_id: string
  location_id: string
  on_hand: number
  reserved: number
  low_stock_threshold: number | null
  updated_at: Timestamp
  /** How far `on_hand - reserved` may go below zero here; the variant's policy, copied (migration 0009). */
  backorder_allowance?: number
  /** When the allowance stops applying to new reservations (a preorder's date); null: never. */
  allowance_until?: Timestamp | null
}

export interface ReservationTable {
  id: string
  variant_id: string
  location_id: string
  level_id: string
  quantity: number
  cart_id: string
  order_id: string | null
  status: string
  created_at: Timestamp
  /** Units of this reservation that were not on hand when it was made (migration 0009). */
  beyond_stock?: number
}

export interface CartTable {
  id: string
  currency: string
  status: string
  email: string | null
  customer_id: string | null
  shipping_address: string | null
  billing_address: string | null
  shipping_option_id: string | null
  checkout: string | null
  order_id: string | null
  version: number
  metadata: string | null
  created_at: Timestamp
  updated_at: Timestamp
  /** SHA-256 (hex) of the cart's access token; null for a cart written before tokens existed, until one is issued. */
  access_token_hash: string | null
  /** The sales channel the cart is in; null: none (migration 0014). */
  channel_id?: string | null
  /** The channel's tax-inclusive setting when the cart was opened (1 or 0); null without a channel. */
  tax_inclusive?: number | null
  /** `draft`: made by staff (`commerce.drafts`); null: a shopper's cart (migration 0015). */
  kind?: string | null
  /** The staff member who made the draft; null for a shopper's cart. */
  created_by?: string | null
  /** A draft's `open`, `expired` or `discarded`; null for a shopper's cart. */
  draft_status?: string | null
  /** Until when a draft's stock is held; null for a shopper's cart. */
  expires_at?: Timestamp | null
}

export interface CartLineTable {
  id: string
  cart_id: string
  variant_id: string
  quantity: number
  created_at: Timestamp
  /** JSON: the price staff set for a draft's line, with what it was, who and why (migration 0015). */
  price_override?: string | null
}

export interface PaymentTable {
  id: string
  cart_id: string
  order_id: string | null
  /** `gateway`: the checkout's payment; `tender`: a part paid from a plugin's source (a gift card). */
  kind: 'gateway' | 'tender'
  provider: string
  idempotency_key: string
  status: string
  currency: string
  amount: number
  authorized_amount: number
  captured_amount: number
  refunded_amount: number
  reference: string | null
  failure: string | null
  lease_until: Timestamp | null
  data: string | null
  /** Plugins' events announced at claim (JSON), written to the outbox when the order is placed. */
  claim_events: string | null
  created_at: Timestamp
  updated_at: Timestamp
  /** What the shopper must do to confirm (a `CustomerAction`, JSON), while the payment is `requires_action`. */
  action?: string | null
  /** When a `requires_action` payment is given up if the shopper has not confirmed. */
  action_until?: Timestamp | null
  /** The payment's latest dispute (a `PaymentDispute`, JSON), as the gateway reported it. */
  dispute?: string | null
  /** SHA-256 of what the checkout asked for (provider and payment data): the same key with another body is a `CONFLICT`. Null before 0007. */
  request_digest?: string | null
}

/** A gateway notification, recorded once under (provider, event id) in the transaction that applied it. */
export interface PaymentEventTable {
  provider: string
  event_id: string
  type: string
  reference: string
  payment_id: string | null
  /** The capture, void or refund this event confirmed or recorded. */
  operation_id: string | null
  amount: number | null
  currency: string | null
  reason: string | null
  occurred_at: string | null
  /** `applied`, `ignored`, or `unmatched` (no payment had its reference yet). */
  outcome: string
  received_at: Timestamp
  applied_at: Timestamp | null
}

/** A named lease: work one process at a time does (scheduled recovery). */
export interface LeaseTable {
  name: string
  holder: string
  lease_until: Timestamp
}

export interface PaymentOperationTable {
  id: string
  payment_id: string
  order_id: string | null
  kind: string
  amount: number
  status: string
  idempotency_key: string
  gateway_key: string
  reason: string | null
  reference: string | null
  failure: string | null
  lease_until: Timestamp | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface OrderTable {
  id: string
  number: number
  cart_id: string
  currency: string
  status: string
  payment_status: string
  fulfillment_status: string
  email: string
  customer_id: string | null
  shipping_address: string | null
  billing_address: string | null
  shipping_method: string | null
  subtotal: number
  discount_total: number
  shipping_total: number
  tax_total: number
  total: number
  metadata: string | null
  created_at: Timestamp
  updated_at: Timestamp
  canceled_at: Timestamp | null
  /** SHA-256 (hex) of the order's access token; null for an order placed before tokens existed, until one is issued. */
  access_token_hash: string | null
  /** Why the order is held for review, while it is (and after a cancel while held); null otherwise. */
  hold_reason?: string | null
  /** When the order was held for review; null when it is not held. */
  held_at?: Timestamp | null
  /**
   * The rounding adjustment to the charge step (signed minor units; 0 when none, and for orders placed
   * before it existed). The order's total, as charged, is `total + rounding_total`: `total` keeps the
   * sum of its parts that the table's check constraint requires.
   */
  rounding_total?: number
  /** The sales channel of the cart the order was placed from; null: none (migration 0014). */
  channel_id?: string | null
  /**
   * Migration 0016: `subtotal`, `discount_total` and `shipping_total` are without tax; these are the
   * convention the order was priced in, the amounts with tax, and the shipping charge's tax lines (JSON).
   */
  tax_inclusive?: number
  gross_subtotal?: number | null
  gross_discount_total?: number | null
  gross_shipping_total?: number | null
  shipping_tax_lines?: string | null
}

export interface OrderLineTable {
  id: string
  order_id: string
  variant_id: string
  product_id: string
  sku: string
  title: string
  variant_title: string
  quantity: number
  unit_price: number
  subtotal: number
  discount_total: number
  tax_total: number
  total: number
  position: number
  /** Units of the line sold beyond stock, the policy that allowed it and the preorder's date (migration 0009). */
  beyond_stock?: number
  stock_policy?: string | null
  available_at?: Timestamp | null
  /** JSON: the price staff set for the draft line this line came from (migration 0015); null: none. */
  price_override?: string | null
  /** Migration 0016: the line's convention, its amounts without and with tax, its class and tax lines (JSON). */
  tax_inclusive?: number
  tax_class?: string | null
  tax_lines?: string | null
  net_subtotal?: number | null
  net_discount_total?: number | null
  gross_subtotal?: number | null
  gross_discount_total?: number | null
}

/** One adjustment as applied to one order line (`line_id`), or to the order's shipping (`line_id` null). */
export interface OrderAdjustmentTable {
  id: string
  order_id: string
  line_id: string | null
  /** `'lines'` or `'shipping'`. */
  target: string
  code: string
  label: string
  source: string
  amount: number
  /** The adjustment's place among the cart's adjustments; the rows of one adjustment share it. */
  position: number
}

export interface OutboxTable {
  id: string
  type: string
  payload: string
  created_at: Timestamp
}

export interface OutboxDeliveryTable {
  id: Generated<number>
  event_id: string
  subscriber: string
  status: string
  attempts: number
  next_attempt_at: Timestamp
  locked_until: Timestamp | null
  locked_by: string | null
  last_error: string | null
  delivered_at: Timestamp | null
}

export interface CounterTable {
  name: string
  value: number
}

/** The tables core owns. Plugins that keep their own tables extend this with their own interface. */
export interface CoreDatabase {
  cw_products: ProductTable
  cw_variants: VariantTable
  cw_prices: PriceTable
  cw_stock_locations: StockLocationTable
  cw_inventory_levels: InventoryLevelTable
  cw_reservations: ReservationTable
  cw_carts: CartTable
  cw_cart_lines: CartLineTable
  cw_payments: PaymentTable
  cw_payment_operations: PaymentOperationTable
  cw_payment_events: PaymentEventTable
  cw_leases: LeaseTable
  cw_orders: OrderTable
  cw_order_lines: OrderLineTable
  cw_order_adjustments: OrderAdjustmentTable
  cw_outbox: OutboxTable
  cw_outbox_deliveries: OutboxDeliveryTable
  cw_counters: CounterTable
  cw_media: import('./migration-0010-media.js').MediaTable
  cw_product_tags: ProductTagTable
  cw_variant_option_values: VariantOptionValueTable
  cw_categories: CategoryTable
  cw_category_products: ListedProductTable & { category_id: string }
  cw_collections: CollectionTable
  cw_collection_products: ListedProductTable & { collection_id: string }
  cw_collection_rules: CollectionRuleTable
  cw_handle_redirects: HandleRedirectTable
  cw_translations: TranslationTable
  cw_search_documents: import('./migration-0012-search.js').SearchDocumentTable
  cw_search_products: import('./migration-0013-search-summaries.js').SearchProductTable
  cw_channels: import('./migration-0014-channels.js').ChannelTable
  cw_channel_products: import('./migration-0014-channels.js').ChannelProductTable
}

export interface ProductTagTable {
  product_id: string
  tag: string
  name: string
  position: number
}

export interface VariantOptionValueTable {
  variant_id: string
  product_id: string
  option: string
  value: string
}

export interface CategoryTable {
  id: string
  handle: string
  title: string
  description: string | null
  parent_id: string | null
  position: number
  created_at: Timestamp
  updated_at: Timestamp
}

export interface ListedProductTable {
  product_id: string
  position: number
}

export interface CollectionTable {
  id: string
  handle: string
  title: string
  description: string | null
  kind: string
  match_mode: string
  created_at: Timestamp
  updated_at: Timestamp
}

export interface CollectionRuleTable {
  collection_id: string
  position: number
  field: string
  option: string | null
  value: string | null
  currency: string | null
  min_amount: number | null
  max_amount: number | null
}

export interface HandleRedirectTable {
  entity_type: string
  handle: string
  entity_id: string
  created_at: Timestamp
}

export interface TranslationTable {
  entity_type: string
  entity_id: string
  locale: string
  field: string
  value: string
}

export type Db = Kysely<CoreDatabase>
export type Tx = Transaction<CoreDatabase>
export type Executor = Db | Tx
