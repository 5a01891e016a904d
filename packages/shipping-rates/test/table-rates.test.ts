import { describe, expect, it } from 'vitest'
import { isCommerceError, type Address, type ShippingQuoteInput } from '@cartwright/core'
import { estimateText, tableRates, type TableRatesOptions } from '../src/index.js'

// quote() reads no table: any value stands for the database handle.
const noDb = undefined as never

const berlin: Address = { line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' }

function input(over: Partial<ShippingQuoteInput> = {}): ShippingQuoteInput {
  return {
    currency: 'EUR',
    address: berlin,
    subtotal: 2000,
    taxInclusive: false,
    weightGrams: 500,
    items: [{ variantId: 'var_1', productId: 'prod_1', sku: 'A', quantity: 1, weightGrams: 500 }],
    cartId: 'cart_1',
    customerId: null,
    channelId: null,
    ...over,
  }
}

const quote = async (options: TableRatesOptions, over: Partial<ShippingQuoteInput> = {}) => tableRates(options).quote(input(over), noDb)
const amounts = async (options: TableRatesOptions, over: Partial<ShippingQuoteInput> = {}) => Object.fromEntries((await quote(options, over)).map((q) => [q.id, q.amount]))

const germany = (methods: NonNullable<TableRatesOptions['zones']>[number]['methods']): TableRatesOptions => ({ zones: [{ id: 'de', name: 'Germany', countries: ['DE'], methods }] })

describe('tableRates: weight tiers', () => {
  const rates = germany([
    { id: 'parcel', name: 'Parcel', rates: { EUR: { type: 'weight', tiers: [{ maxGrams: 1000, amount: 490 }, { maxGrams: 5000, amount: 690 }, { maxGrams: 31500, amount: 1690 }] } } },
  ])

  it.each([
    [0, 490],
    [999, 490],
    [1000, 490], // the bound is inclusive: exactly 1 kg is the first tier
    [1001, 690],
    [4999, 690],
    [5000, 690],
    [5001, 1690],
    [31500, 1690],
  ])('a cart of %i g pays %i', async (weightGrams, expected) => {
    expect(await amounts(rates, { weightGrams })).toEqual({ parcel: expected })
  })

  it('a cart heavier than the last bounded tier is not offered the method', async () => {
    expect(await quote(rates, { weightGrams: 31501 })).toEqual([])
  })

  it('a last tier without maxGrams takes any weight above the others', async () => {
    const open = germany([{ id: 'parcel', name: 'Parcel', rates: { EUR: { type: 'weight', tiers: [{ maxGrams: 1000, amount: 490 }, { amount: 2500 }] } } }])
    expect(await amounts(open, { weightGrams: 1000 })).toEqual({ parcel: 490 })
    expect(await amounts(open, { weightGrams: 1001 })).toEqual({ parcel: 2500 })
    expect(await amounts(open, { weightGrams: 900_000 })).toEqual({ parcel: 2500 })
  })
})

describe('tableRates: subtotal tiers and free over a threshold', () => {
  const rates = germany([
    { id: 'tiered', name: 'Tiered', rates: { EUR: { type: 'subtotal', tiers: [{ minSubtotal: 1000, amount: 700 }, { minSubtotal: 5000, amount: 400 }, { minSubtotal: 10000, amount: 0 }] } } },
  ])

  it.each([
    [1000, 700], // from the tier's minSubtotal, inclusive
    [4999, 700],
    [5000, 400],
    [5001, 400],
    [9999, 400],
    [10000, 0],
  ])('a subtotal of %i pays %i', async (subtotal, expected) => {
    expect(await amounts(rates, { subtotal })).toEqual({ tiered: expected })
  })

  it('a subtotal below the first tier is not offered the method (a minimum order)', async () => {
    expect(await quote(rates, { subtotal: 999 })).toEqual([])
  })

  it.each([
    [4999, 490],
    [5000, 0], // free from the threshold, inclusive
    [5001, 0],
  ])('free from 50.00: a subtotal of %i pays %i', async (subtotal, expected) => {
    const free = germany([{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'flat', amount: 490, freeFrom: 5000 } } }])
    expect(await amounts(free, { subtotal })).toEqual({ standard: expected })
  })

  it('freeFrom on a weight rate is free whatever the weight tier', async () => {
    const heavy = germany([{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'weight', tiers: [{ maxGrams: 1000, amount: 490 }, { maxGrams: 5000, amount: 990 }], freeFrom: 5000 } } }])
    expect(await amounts(heavy, { subtotal: 5000, weightGrams: 4000 })).toEqual({ standard: 0 })
    expect(await amounts(heavy, { subtotal: 4999, weightGrams: 4000 })).toEqual({ standard: 990 })
  })

  it('a currency without a rate is not offered the method', async () => {
    const eurOnly = germany([{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'flat', amount: 490 } } }])
    expect(await quote(eurOnly, { currency: 'USD' })).toEqual([])
  })
})

describe('tableRates: zones', () => {
  const method = (id: string, amount: number) => ({ id, name: id, rates: { EUR: { type: 'flat' as const, amount } } })
  const zones: TableRatesOptions = {
    zones: [
      { id: 'de', name: 'Germany', countries: ['DE'], methods: [method('country', 500)] },
      { id: 'bavaria', name: 'Bavaria', countries: ['DE'], regions: ['BY'], methods: [method('region', 600)] },
      { id: 'munich', name: 'Munich', countries: ['DE'], postalPrefixes: ['80'], methods: [method('prefix-2', 700)] },
      { id: 'munich-centre', name: 'Munich centre', countries: ['DE'], postalPrefixes: ['803'], methods: [method('prefix-3', 800)] },
      { id: 'eu', name: 'EU', countries: ['FR', 'NL'], methods: [method('eu', 900)] },
    ],
  }
  const to = (address: Partial<Address>) => amounts(zones, { address: { ...berlin, ...address } })

  it('the most specific zone wins, alone: a longer postal prefix, then a shorter one, then a region, then the country', async () => {
    expect(await to({ postalCode: '80331', region: 'BY' })).toEqual({ 'prefix-3': 800 })
    expect(await to({ postalCode: '80995', region: 'BY' })).toEqual({ 'prefix-2': 700 })
    expect(await to({ postalCode: '90402', region: 'by ' })).toEqual({ region: 600 }) // regions compare case-insensitively
    expect(await to({ postalCode: '10117' })).toEqual({ country: 500 })
    expect(await to({ country: 'NL', postalCode: '1011 AB' })).toEqual({ eu: 900 })
  })

  it('an address in no zone gets no method', async () => {
    expect(await to({ country: 'US', postalCode: '94105' })).toEqual({})
  })

  it('postal prefixes ignore case, spaces and dashes', async () => {
    const uk: TableRatesOptions = { zones: [{ id: 'london', name: 'London', countries: ['GB'], postalPrefixes: ['sw1a'], methods: [method('courier', 1000)] }] }
    expect(await amounts(uk, { currency: 'EUR', address: { ...berlin, country: 'GB', postalCode: 'SW1A 2AA' } })).toEqual({ courier: 1000 })
    expect(await amounts(uk, { currency: 'EUR', address: { ...berlin, country: 'GB', postalCode: 'SW2 1AA' } })).toEqual({})
  })

  it('on a tie, the zone declared first wins', async () => {
    const tie: TableRatesOptions = { zones: [{ id: 'a', name: 'A', countries: ['DE'], methods: [method('first', 1)] }, { id: 'b', name: 'B', countries: ['DE'], methods: [method('second', 2)] }] }
    expect(await amounts(tie)).toEqual({ first: 1 })
  })
})

describe('tableRates: eligibility', () => {
  const rates = germany([
    { id: 'standard', name: 'Standard', rates: { EUR: { type: 'flat', amount: 490 } } },
    { id: 'express', name: 'Express', rates: { EUR: { type: 'flat', amount: 1200 } }, maxWeightGrams: 2000, excludeRegions: ['SH'], excludePostalPrefixes: ['27498'] },
  ])

  it('a method is not offered to a cart heavier than its maximum weight (inclusive bound)', async () => {
    expect(await amounts(rates, { weightGrams: 2000 })).toEqual({ standard: 490, express: 1200 })
    expect(await amounts(rates, { weightGrams: 2001 })).toEqual({ standard: 490 })
  })

  it('a method is not offered to an excluded region or postal prefix', async () => {
    expect(await amounts(rates, { address: { ...berlin, region: 'sh' } })).toEqual({ standard: 490 })
    expect(await amounts(rates, { address: { ...berlin, postalCode: '27498' } })).toEqual({ standard: 490 })
  })
})

describe('tableRates: pickup and delivery estimates', () => {
  const rates: TableRatesOptions = {
    ...germany([{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'flat', amount: 490 } }, minDays: 2, maxDays: 4, taxClass: 'shipping-reduced' }]),
    pickup: [
      { id: 'berlin', name: 'Collect in Berlin', locationId: 'loc_berlin', minDays: 0, maxDays: 1 },
      { id: 'paid', name: 'Collect at the depot', locationId: 'loc_depot', amounts: { EUR: 100 } },
    ],
  }

  it('without an address only pickups are offered, each naming its stock location', async () => {
    expect(await quote(rates, { address: null })).toEqual([
      { id: 'berlin', name: 'Collect in Berlin', amount: 0, pickupLocationId: 'loc_berlin', minDays: 0, maxDays: 1, estimate: '0–1 business days' },
      { id: 'paid', name: 'Collect at the depot', amount: 100, pickupLocationId: 'loc_depot' },
    ])
  })

  it('with an address, pickups come first, then the zone methods with their days, estimate and tax class', async () => {
    const quotes = await quote(rates)
    expect(quotes.map((q) => q.id)).toEqual(['berlin', 'paid', 'standard'])
    expect(quotes[2]).toEqual({ id: 'standard', name: 'Standard', amount: 490, minDays: 2, maxDays: 4, estimate: '2–4 business days', taxClass: 'shipping-reduced' })
  })

  it('a priced pickup is not offered in a currency it has no price for', async () => {
    expect((await quote(rates, { address: null, currency: 'USD' })).map((q) => q.id)).toEqual(['berlin'])
  })

  it('estimates read as words', () => {
    expect([estimateText(2, 4), estimateText(1, 1), estimateText(0, 0), estimateText(undefined, 5), estimateText(3, undefined), estimateText(undefined, undefined)]).toEqual([
      '2–4 business days',
      '1 business day',
      'same business day',
      'up to 5 business days',
      'at least 3 business days',
      undefined,
    ])
  })
})

describe('tableRates: options', () => {
  const fieldsOf = (options: unknown): string[] => {
    try {
      tableRates(options as TableRatesOptions)
    } catch (error) {
      if (isCommerceError(error, 'CONFIGURATION')) return error.details.fields as string[]
      throw error
    }
    throw new Error('the options were accepted')
  }

  it('refuses bad options at once with CONFIGURATION naming the field', () => {
    expect(fieldsOf({ zones: [{ id: 'de', name: 'DE', countries: ['DE'], methods: [{ id: 'x', name: 'X', rates: { EUR: { type: 'flat', amount: -1 } } }] }] })).toEqual(['zones.0.methods.0.rates.EUR.amount'])
    expect(fieldsOf({ zones: [{ id: 'de', name: 'DE', countries: ['DE'], methods: [{ id: 'x', name: 'X', rates: { EUR: { type: 'weight', tiers: [{ maxGrams: 5000, amount: 1 }, { maxGrams: 1000, amount: 2 }] } } }] }] })).toEqual([
      'zones.0.methods.0.rates.EUR.tiers.1.maxGrams',
    ])
    expect(fieldsOf({ zones: [{ id: 'de', name: 'DE', countries: ['DE'], methods: [{ id: 'x', name: 'X', rates: { EUR: { type: 'flat', amount: 1.5 } } }] }] })).toEqual(['zones.0.methods.0.rates.EUR.amount'])
    expect(fieldsOf({ pickup: [{ id: 'a', name: 'A', locationId: 'l' }, { id: 'a', name: 'B', locationId: 'm' }] })).toEqual(['pickup.1.id'])
    expect(fieldsOf({})).toEqual(['zones'])
  })
})
