import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Commerce } from '@cartwright/core'
import { address, checkout, GUARDED_STORAGES, openShop, type Shop } from '../support/index.js'

/**
 * Guards of allocation.ts that allocation.test.ts leaves open (each found alive by a mutation run,
 * see docs/mutation-testing.md):
 * - a variant's units come from that variant's own levels, and only from levels with units
 *   available (the candidate filter);
 * - a split stops once the quantity is met (no zero-unit reservations);
 * - priority orders the locations whatever order their levels were read in (level ids are
 *   random, so each test makes the order that would expose a wrong sort);
 * - between locations of equal priority the lower location id comes first.
 */

let tag = 0

/** A new single-variant product, one line of stock per `[priority, onHand]` at new locations, in that order. */
async function stocked(commerce: Commerce, holds: Array<[priority: number, onHand: number]>) {
  const n = ++tag
  const product = await commerce.catalog.createProduct({ title: `Wool Cap ${n}`, variants: [{ sku: `CAP-${n}`, prices: [{ currency: 'USD', amount: 1500 }] }] })
  const variantId = product.variants[0]!.id
  const locations: string[] = []
  for (const [i, [priority, onHand]] of holds.entries()) {
    const location = await commerce.inventory.createLocation({ name: `Depot ${n}.${i}`, code: `depot-${n}-${i}`, priority })
    await commerce.inventory.setStock({ variantId, locationId: location.id, onHand })
    locations.push(location.id)
  }
  return { variantId, locations }
}

/** The level ids of a variant, by location. */
async function levelIds(commerce: Commerce, variantId: string): Promise<Record<string, string>> {
  const rows = await commerce.db.selectFrom('cw_inventory_levels').select(['id', 'location_id']).where('variant_id', '=', variantId).execute()
  return Object.fromEntries(rows.map((r) => [r.location_id, r.id]))
}

/**
 * Like {@link stocked} with two locations, made again until `order` holds for the two levels'
 * ids (the order a checkout reads them in) and the two locations' ids.
 */
async function stockedTwo(
  commerce: Commerce,
  holds: [[number, number], [number, number]],
  order: (ids: { firstLevel: string; secondLevel: string; firstLocation: string; secondLocation: string }) => boolean,
) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const made = await stocked(commerce, holds)
    const levels = await levelIds(commerce, made.variantId)
    const [firstLocation, secondLocation] = made.locations as [string, string]
    if (order({ firstLevel: levels[firstLocation]!, secondLevel: levels[secondLocation]!, firstLocation, secondLocation })) return { ...made, first: firstLocation, second: secondLocation }
  }
  throw new Error('no stock levels in the wanted order after 200 attempts')
}

/** Checks out a cart of `lines` and returns its held units by `variant@location`. */
async function placeAndRead(commerce: Commerce, lines: Array<{ variantId: string; quantity: number }>) {
  let cart = await commerce.carts.create({ currency: 'USD' })
  for (const line of lines) cart = await commerce.carts.addItem(cart.id, line)
  await commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
  await commerce.carts.setShippingOption(cart.id, 'flat:standard')
  await checkout(commerce, cart.id)
  const held = await commerce.inventory.reservations({ cartId: cart.id })
  return held.map((r) => ({ at: `${r.variantId}@${r.locationId}`, quantity: r.quantity, status: r.status }))
}

/** Reserved units of a variant by location, as the inventory reports them. */
async function reservedAt(commerce: Commerce, variantId: string): Promise<Record<string, number>> {
  return Object.fromEntries((await commerce.inventory.levels(variantId)).map((l) => [l.locationId, l.reserved]))
}

const byAt = (a: { at: string }, b: { at: string }) => (a.at < b.at ? -1 : 1)

describe.each(GUARDED_STORAGES)('where a checkout takes its units from, on %s', (storage) => {
  let shop: Shop
  beforeAll(async () => {
    shop = await openShop({ storage })
  })
  afterAll(async () => {
    await shop?.close()
  })

  it("takes each variant's units from that variant's own level when two variants share a location", async () => {
    const { commerce } = shop
    const location = await commerce.inventory.createLocation({ name: 'Shared shelf', code: `shared-${++tag}`, priority: 0 })
    const variants: string[] = []
    for (let i = 0; i < 2; i++) {
      const product = await commerce.catalog.createProduct({ title: `Scarf ${tag}.${i}`, variants: [{ sku: `SCARF-${tag}-${i}`, prices: [{ currency: 'USD', amount: 2500 }] }] })
      variants.push(product.variants[0]!.id)
      await commerce.inventory.setStock({ variantId: product.variants[0]!.id, locationId: location.id, onHand: 5 })
    }
    const [a, b] = variants as [string, string]

    const held = await placeAndRead(commerce, [
      { variantId: a, quantity: 1 },
      { variantId: b, quantity: 2 },
    ])

    expect(held.sort(byAt)).toEqual(
      [
        { at: `${a}@${location.id}`, quantity: 1, status: 'held' },
        { at: `${b}@${location.id}`, quantity: 2, status: 'held' },
      ].sort(byAt),
    )
    expect(await reservedAt(commerce, a)).toEqual({ [location.id]: 1 })
    expect(await reservedAt(commerce, b)).toEqual({ [location.id]: 2 })
  })

  it('skips a location with nothing available and stops the split as soon as the quantity is met', async () => {
    const { commerce } = shop
    // Priority 0 has none; 1, 2 and 3 hold 2 each: 3 units are split as 2 + 1, and location 3 is not touched.
    const { variantId, locations } = await stocked(commerce, [
      [0, 0],
      [1, 2],
      [2, 2],
      [3, 2],
    ])
    const [empty, one, two, three] = locations as [string, string, string, string]

    const held = await placeAndRead(commerce, [{ variantId, quantity: 3 }])

    expect(held.sort(byAt)).toEqual(
      [
        { at: `${variantId}@${one}`, quantity: 2, status: 'held' },
        { at: `${variantId}@${two}`, quantity: 1, status: 'held' },
      ].sort(byAt),
    )
    expect(await reservedAt(commerce, variantId)).toEqual({ [empty]: 0, [one]: 2, [two]: 1, [three]: 0 })
  })

  it('takes the whole quantity from the location of lowest priority even when its level was read last', async () => {
    const { commerce } = shop
    // Both can ship it all; the priority-1 level's id sorts first, so it is read first.
    const { variantId, first, second } = await stockedTwo(commerce, [
      [0, 4],
      [1, 4],
    ], (ids) => ids.secondLevel < ids.firstLevel)

    const held = await placeAndRead(commerce, [{ variantId, quantity: 2 }])

    expect(held).toEqual([{ at: `${variantId}@${first}`, quantity: 2, status: 'held' }])
    expect(await reservedAt(commerce, variantId)).toEqual({ [first]: 2, [second]: 0 })
  })

  it.each([
    ['read in location order', true],
    ['read against location order', false],
  ])('takes the whole quantity from the lower location id between two of equal priority (levels %s)', async (_, levelsInLocationOrder) => {
    const { commerce } = shop
    const { variantId, first, second } = await stockedTwo(commerce, [
      [0, 4],
      [0, 4],
    ], (ids) => ids.firstLocation < ids.secondLocation && ids.firstLevel < ids.secondLevel === levelsInLocationOrder)

    const held = await placeAndRead(commerce, [{ variantId, quantity: 3 }])

    expect(held).toEqual([{ at: `${variantId}@${first}`, quantity: 3, status: 'held' }])
    expect(await reservedAt(commerce, variantId)).toEqual({ [first]: 3, [second]: 0 })
  })
})
