import { CATEGORIES, COLOURS, SHOES, SIZES, pictureOf } from './catalog.js'
import { PICKUP_LOCATION_CODE, type ShopCommerce } from './shop.js'

/** The shop's currency. */
export const CURRENCY = 'EUR'
/** The coupon every shopper may use: 10 % off. */
export const COUPON_CODE = 'WELCOME10'
/** The coupon's discount, in percent. */
export const COUPON_PERCENT = 10
/** The Trail Runner's price, in cents, before tax. */
export const TRAIL_RUNNER_PRICE = SHOES.find((s) => s.handle === 'trail-runner')!.price
/** The seeded gift card's value, in cents. Its code is random: read it with {@link giftCardCode}. */
export const GIFT_CARD_AMOUNT = 5000
/** The demo customer (verified), with one saved address. */
export const DEMO_CUSTOMER = { email: 'ada@example.com', password: 'correct horse battery staple', firstName: 'Ada', lastName: 'Lovelace' }
/** The wholesale buyer of Acme Running GmbH: may spend up to 300.00 per order without approval. */
export const WHOLESALE_BUYER = { email: 'buyer@acme.example', password: 'wholesale buyer password', firstName: 'Bea', lastName: 'Buyer' }
/** The approver of Acme Running GmbH. */
export const WHOLESALE_APPROVER = { email: 'approver@acme.example', password: 'wholesale approver password', firstName: 'Alan', lastName: 'Approver' }
/** The wholesale buyer's spending limit, in cents. */
export const WHOLESALE_SPENDING_LIMIT = 30000
/** The units of Trail Runner, red, size 43 at each warehouse and at the pickup point. */
export const TRAIL_RUNNER_RED_43_STOCK = { berlin: 6, hamburg: 4, pickup: 2 }

/** The seeded gift card's code (made at random when the shop was seeded), or null before. */
export function giftCardCode(commerce: ShopCommerce): Promise<string | null> {
  return commerce.storefront.fact('gift-card-code')
}

/** Stock of one variant at one location: most sizes in stock, a few sold out, for the pickers to show. */
function stockFor(handle: string, colour: string, size: string, location: 'berlin' | 'hamburg' | 'pickup'): number {
  if (handle === 'trail-runner' && colour === 'Red' && size === '43') return TRAIL_RUNNER_RED_43_STOCK[location]
  // Size 46 of every red shoe and size 38 of the Summit Boot are sold out.
  if ((colour === 'Red' && size === '46') || (handle === 'summit-boot' && size === '38')) return 0
  const base = (handle.length * 7 + colour.length * 3 + Number(size)) % 9
  return location === 'pickup' ? base % 3 : base + 2
}

/**
 * Seeds the demo store: shoes in sizes 38–46 and several colours with a picture per colour,
 * categories, stock at two warehouses and a pickup point, a coupon, a gift card, a demo customer,
 * a wholesale company with a buyer and an approver, two channels and German texts. Prints a line
 * per step to `log`; does nothing when the shop was seeded already.
 *
 * @example
 * ```ts
 * const { commerce } = await createShop({ filename: ':memory:' })
 * await seed(commerce)
 * ```
 */
export async function seed(commerce: ShopCommerce, log: (line: string) => void = console.log): Promise<{ seeded: boolean }> {
  if ((await commerce.storefront.fact('seeded')) === 'yes') {
    log('The shop is seeded already.')
    return { seeded: false }
  }
  const started = Date.now()
  log('Seeding the shoe store…')

  const berlin = await commerce.inventory.createLocation({ name: 'Berlin warehouse', code: 'berlin', priority: 0 })
  const hamburg = await commerce.inventory.createLocation({ name: 'Hamburg warehouse', code: 'hamburg', priority: 1 })
  const pickup = await commerce.inventory.createLocation({ name: 'Cartwright Berlin (pickup point)', code: PICKUP_LOCATION_CODE, priority: 2 })
  log('  3 stock locations: Berlin, Hamburg, the Berlin pickup point')

  const categories = new Map<string, string>()
  for (const [position, c] of CATEGORIES.entries()) {
    const category = await commerce.categories.create({ handle: c.handle, title: c.title, description: c.description, position })
    await commerce.catalog.setTranslations({ type: 'category', id: category.id }, 'de', { title: c.de })
    categories.set(c.handle, category.id)
  }
  log(`  ${CATEGORIES.length} categories`)

  const productIds: string[] = []
  let variants = 0
  for (const shoe of SHOES) {
    const product = await commerce.catalog.createProduct({
      title: shoe.title,
      handle: shoe.handle,
      description: shoe.description,
      productType: 'Shoes',
      tags: shoe.tags,
      options: [
        { name: 'Colour', values: shoe.colours.map(String) },
        { name: 'Size', values: [...SIZES] },
      ],
      variants: shoe.colours.flatMap((colour) =>
        SIZES.map((size) => ({
          sku: `${shoe.handle.toUpperCase()}-${String(colour).toUpperCase()}-${size}`,
          options: { Colour: String(colour), Size: size },
          weightGrams: shoe.weightGrams,
          prices: [{ currency: CURRENCY, amount: shoe.price }],
        })),
      ),
    })
    productIds.push(product.id)
    await commerce.catalog.setTranslations({ type: 'product', id: product.id }, 'de', { title: shoe.de.title, description: shoe.de.description })
    await commerce.catalog.setTranslations({ type: 'option', productId: product.id, name: 'Colour' }, 'de', {
      name: 'Farbe',
      values: Object.fromEntries(shoe.colours.map((c) => [c, COLOURS[c]!.de])),
    })
    await commerce.catalog.setTranslations({ type: 'option', productId: product.id, name: 'Size' }, 'de', { name: 'Größe' })
    for (const colour of shoe.colours) {
      // Each colour's picture belongs to that colour's variants (the first size stands for them).
      const first = product.variants.find((v) => v.options.Colour === colour)!
      await commerce.media.add(product.id, { url: `http://localhost/assets/${pictureOf(shoe.handle, String(colour))}`, variantId: first.id, alt: `${shoe.title} in ${String(colour).toLowerCase()}`, width: 320, height: 200 })
    }
    for (const variant of product.variants) {
      const colour = variant.options.Colour!
      const size = variant.options.Size!
      await commerce.inventory.setStock({ variantId: variant.id, locationId: berlin.id, onHand: stockFor(shoe.handle, colour, size, 'berlin') })
      await commerce.inventory.setStock({ variantId: variant.id, locationId: hamburg.id, onHand: stockFor(shoe.handle, colour, size, 'hamburg') })
      await commerce.inventory.setStock({ variantId: variant.id, locationId: pickup.id, onHand: stockFor(shoe.handle, colour, size, 'pickup') })
    }
    for (const handle of shoe.categories) await commerce.categories.addProducts(categories.get(handle)!, [product.id])
    variants += product.variants.length
    log(`  ${shoe.title}: ${shoe.colours.length} colours × ${SIZES.length} sizes, stocked at 3 locations`)
  }
  log(`  ${SHOES.length} products, ${variants} variants`)

  const web = await commerce.channels.create({ code: 'web', name: 'Web shop', currencies: [CURRENCY], locales: ['en', 'de'] })
  const wholesale = await commerce.channels.create({ code: 'wholesale', name: 'Wholesale', currencies: [CURRENCY], locales: ['en', 'de'], stockLocationIds: [berlin.id, hamburg.id] })
  await commerce.channels.publish(web.id, productIds)
  await commerce.channels.publish(wholesale.id, productIds)
  log('  2 channels: web, wholesale; locales en and de')

  await commerce.promotions.create({ name: 'Welcome 10 %', code: COUPON_CODE, discount: { type: 'percentage', percent: String(COUPON_PERCENT) } })
  const card = await commerce['gift-cards'].issue({ currency: CURRENCY, amount: GIFT_CARD_AMOUNT, note: 'Demo gift card', idempotencyKey: 'seed-demo-gift-card' })
  await commerce.storefront.remember('gift-card-code', card.code!)
  log(`  coupon ${COUPON_CODE} (${COUPON_PERCENT} % off) and a gift card worth 50.00 EUR: ${card.code}`)

  const ada = await commerce.customers.accounts.register({ email: DEMO_CUSTOMER.email, password: DEMO_CUSTOMER.password, firstName: DEMO_CUSTOMER.firstName, lastName: DEMO_CUSTOMER.lastName, locale: 'en' })
  await commerce.customers.accounts.verifyEmail({ token: await commerce.customers.accounts.mintVerificationToken(ada.id) })
  await commerce.customers.addresses.add(ada.id, { address: { firstName: 'Ada', lastName: 'Lovelace', line1: 'Invalidenstraße 43', city: 'Berlin', postalCode: '10115', country: 'DE' }, defaultShipping: true })
  log(`  demo customer ${DEMO_CUSTOMER.email}`)

  const trailRunner = productIds[SHOES.findIndex((s) => s.handle === 'trail-runner')]!
  for (const review of [
    // Ada's email is her verified account's: her review is vouched for. Charles's is only typed.
    { email: DEMO_CUSTOMER.email, emailVerified: true, name: 'Ada', rating: 5, title: 'Light and grippy', body: 'Ran a wet half marathon in them without a slip.' },
    { email: 'charles@example.com', emailVerified: false, name: 'Charles', rating: 4, title: 'Good on rocks', body: 'Stiff enough for scree; a half size small.' },
  ]) {
    const submitted = await commerce.reviews.submit({ productId: trailRunner, ...review })
    await commerce.reviews.approve(submitted.id)
  }
  log('  2 reviews of the Trail Runner')

  const group = await commerce.customers.groups.create({ code: 'wholesale', name: 'Wholesale' })
  const acme = await commerce.b2b.createCompany({ name: 'Acme Running GmbH', currency: CURRENCY, creditLimit: 500000, netDays: 30 })
  const people = []
  for (const person of [WHOLESALE_BUYER, WHOLESALE_APPROVER]) {
    const customer = await commerce.customers.accounts.register({ email: person.email, password: person.password, firstName: person.firstName, lastName: person.lastName, locale: 'en' })
    await commerce.customers.accounts.verifyEmail({ token: await commerce.customers.accounts.mintVerificationToken(customer.id) })
    await commerce.customers.groups.addMember('wholesale', customer.id)
    people.push(customer)
  }
  await commerce.b2b.addMember({ companyId: acme.id, customerId: people[0]!.id, role: 'buyer', spendingLimit: WHOLESALE_SPENDING_LIMIT })
  await commerce.b2b.addMember({ companyId: acme.id, customerId: people[1]!.id, role: 'approver' })
  const trail = await commerce.catalog.getProduct('trail-runner')
  await commerce.b2b.createPriceList({
    name: 'Wholesale 2026',
    groupId: group.id,
    currency: CURRENCY,
    prices: trail.variants.flatMap((v) => [
      { variantId: v.id, amount: Math.round(TRAIL_RUNNER_PRICE * 0.7) },
      { variantId: v.id, amount: Math.round(TRAIL_RUNNER_PRICE * 0.6), minQuantity: 10 },
    ]),
  })
  const blue42 = trail.variants.find((v) => v.options.Colour === 'Blue' && v.options.Size === '42')!
  const quote = await commerce.b2b.createQuote({ companyId: acme.id, buyerId: people[0]!.id, currency: CURRENCY, expiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString(), lines: [{ variantId: blue42.id, quantity: 8, unitPrice: 7000 }] })
  await commerce.b2b.sendQuote(quote.id)
  log(`  wholesale company Acme Running GmbH: buyer ${WHOLESALE_BUYER.email}, approver ${WHOLESALE_APPROVER.email}, a price list and a quote`)

  await commerce.storefront.remember('seeded', 'yes')
  log(`Seeded in ${((Date.now() - started) / 1000).toFixed(1)} s.`)
  return { seeded: true }
}
