import { currencyExponent, type Channel, type InventoryLevel, type Product, type Variant } from '@cartwright/core'

/**
 * Whether a variant can be bought through the channel now: `in_stock` (stock at the channel's
 * locations, or stock not tracked), `preorder` (a preorder allowance left, before its date),
 * `backorder` (a backorder allowance left), else `out_of_stock`. The words are Google's; the Meta
 * catalog has its own (see `metaCatalogCsv`).
 */
export type FeedAvailability = 'in_stock' | 'out_of_stock' | 'preorder' | 'backorder'

/** An amount in a currency's minor units, as a feed writes it: `129.00 USD`. */
export interface FeedPrice {
  amount: number
  currency: string
}

/**
 * One item of a feed: one variant of a product published to the channel, with what the channel's
 * feeds need. `itemGroupId` is the product's id: every variant of a product shares it.
 *
 * @example
 * ```ts
 * const item: FeedItem = {
 *   id: 'TR-42-RED', itemGroupId: 'prod_1', variantId: 'var_1', title: 'Trail Runner – Red / 42', description: 'A light shoe.',
 *   link: 'https://shop.example/products/trail-runner?variant=var_1', imageLink: 'https://cdn.example/tr-red.jpg', additionalImageLinks: [],
 *   availability: 'in_stock', availabilityDate: null, price: { amount: 12900, currency: 'EUR' }, salePrice: null,
 *   brand: 'Cartwright', mpn: 'TR-42-RED', condition: 'new', color: 'Red', size: '42', material: null, productType: 'Shoes', shippingWeightGrams: 600,
 * }
 * ```
 */
export interface FeedItem {
  /** The variant's SKU: stable, and what the shop's people know it by. */
  id: string
  itemGroupId: string
  variantId: string
  /** The product's title, with the variant's title when the product has several variants. */
  title: string
  description: string
  link: string
  /** The first image: the variant's own first, then the product's; null when it has none with a URL. */
  imageLink: string | null
  additionalImageLinks: string[]
  availability: FeedAvailability
  /** When a preorder's units arrive (ISO-8601); null otherwise. */
  availabilityDate: string | null
  /** The regular price: the compare-at price when the variant has one, else its price. */
  price: FeedPrice
  /** The price charged, when a compare-at price makes it a sale; null otherwise. */
  salePrice: FeedPrice | null
  brand: string | null
  /** The manufacturer part number: the SKU. */
  mpn: string
  condition: 'new'
  color: string | null
  size: string | null
  material: string | null
  productType: string | null
  shippingWeightGrams: number | null
}

/** Why a variant of a published product is not in the feed. */
export interface SkippedVariant {
  productId: string
  variantId: string
  reason: 'no_price_in_currency' | 'no_link'
}

/** How the shop's own facts map to a feed's. */
export interface FeedItemOptions {
  /** The product page of a variant on the shop's site (absolute URL). Required: the engine does not know the site. */
  link: (product: Product, variant: Variant) => string
  /** The brand of every product, or per product; default: the product's `metadata.brand` when it is a string. */
  brand?: string | ((product: Product) => string | null)
  /** Option names that mean colour and size (case-insensitive). Default: `color`/`colour`, `size`. */
  colorOptions?: string[]
  sizeOptions?: string[]
}

/**
 * The feed item of one variant of a product, or why it has none: its price in `currency` (one
 * unit, core's base price), availability from `levels` (the variant's stock at the channel's
 * locations) and its inventory policy at `now`, its images, and the option values that are colour
 * and size.
 */
export function feedItem(
  product: Product,
  variant: Variant,
  input: { currency: string; levels: readonly InventoryLevel[]; now: Date; options: FeedItemOptions },
): FeedItem | SkippedVariant {
  const { currency, levels, now, options } = input
  const price = variant.prices.find((p) => p.currency === currency && p.minQuantity === 1)
  if (!price) return { productId: product.id, variantId: variant.id, reason: 'no_price_in_currency' }
  const link = options.link(product, variant)
  if (!link) return { productId: product.id, variantId: variant.id, reason: 'no_link' }
  const images = [...product.media.filter((m) => m.variantId === variant.id), ...product.media.filter((m) => m.variantId !== variant.id && m.variantId === null)]
    .map((m) => m.url)
    .filter((url): url is string => url !== null)
  const pick = (names: string[]) => {
    const wanted = names.map((n) => n.toLowerCase())
    const entry = Object.entries(variant.options).find(([name]) => wanted.includes(name.toLowerCase()))
    return entry ? entry[1] : null
  }
  const brand = typeof options.brand === 'function' ? options.brand(product) : (options.brand ?? (typeof product.metadata.brand === 'string' ? product.metadata.brand : null))
  const sale = price.compareAtAmount !== undefined && price.compareAtAmount > price.amount
  const { availability, availabilityDate } = availabilityOf(variant, levels, now)
  return {
    id: variant.sku,
    itemGroupId: product.id,
    variantId: variant.id,
    title: product.variants.length > 1 ? `${product.title} – ${variant.title}` : product.title,
    description: product.description ?? product.title,
    link,
    imageLink: images[0] ?? null,
    additionalImageLinks: images.slice(1, 11),
    availability,
    availabilityDate,
    price: { amount: sale ? price.compareAtAmount! : price.amount, currency },
    salePrice: sale ? { amount: price.amount, currency } : null,
    brand: brand ?? null,
    mpn: variant.sku,
    condition: 'new',
    color: pick(options.colorOptions ?? ['color', 'colour']),
    size: pick(options.sizeOptions ?? ['size']),
    material: product.material,
    productType: product.productType,
    shippingWeightGrams: variant.weightGrams,
  }
}

/** Availability from the variant's levels at the channel's locations and its policy. */
export function availabilityOf(variant: Variant, levels: readonly InventoryLevel[], now: Date): { availability: FeedAvailability; availabilityDate: string | null } {
  if (!variant.manageInventory) return { availability: 'in_stock', availabilityDate: null }
  const inStock = levels.reduce((n, l) => n + Math.max(0, l.available), 0)
  if (inStock > 0) return { availability: 'in_stock', availabilityDate: null }
  // What an allowance still lets the channel sell: available may go down to −allowance.
  const beyond = levels.reduce((n, l) => n + Math.max(0, l.available + l.backorderAllowance), 0)
  const { policy, availableAt } = variant.inventoryPolicy
  if (beyond > 0 && policy === 'preorder' && availableAt !== null && Date.parse(availableAt) > now.getTime()) {
    return { availability: 'preorder', availabilityDate: availableAt }
  }
  if (beyond > 0 && policy === 'backorder') return { availability: 'backorder', availabilityDate: null }
  return { availability: 'out_of_stock', availabilityDate: null }
}

/** `12900` in EUR → `129.00 EUR`; `1900` in JPY → `1900 JPY`: integer arithmetic on the minor units. */
export function formatPrice(price: FeedPrice): string {
  const exponent = currencyExponent(price.currency)
  const digits = String(Math.abs(price.amount)).padStart(exponent + 1, '0')
  const whole = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`
  return `${price.amount < 0 ? '-' : ''}${whole} ${price.currency}`
}

/** The channel's default currency: the one its feeds price in. */
export function feedCurrency(channel: Channel): string {
  return channel.currencies[0]!
}
