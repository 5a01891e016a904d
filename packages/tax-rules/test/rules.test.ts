import { describe, expect, it } from 'vitest'
import { isCommerceError, type Address, type TaxInput } from '@cartwright/core'
import { REVERSE_CHARGE_NOTE, type TaxRulesOptions } from '../src/index.js'
import { compileRules, resolveRates, type Buyer } from '../src/rules.js'

const NOBODY: Buyer = { vatCountry: null, exemption: null }

const options: TaxRulesOptions = {
  origin: 'FR',
  jurisdictions: [
    { id: 'FR', name: 'TVA', country: 'FR', rates: { standard: '20', reduced: '5.5' } },
    {
      id: 'DE',
      name: 'MwSt',
      country: 'DE',
      rates: {
        standard: [
          { rate: '19', until: '2020-07-01' },
          { rate: '16', from: '2020-07-01', until: '2021-01-01' },
          { rate: '19', from: '2021-01-01' },
        ],
        reduced: '7',
      },
    },
    // Heligoland is outside the EU VAT area: a postal area replacing Germany's rates.
    { id: 'DE-HELGOLAND', name: 'No VAT', country: 'DE', postalPrefixes: ['27498'], rates: { standard: '0' } },
    { id: 'US-NY', name: 'NY State sales tax', country: 'US', region: ['NY', 'New York'], rates: { standard: '4', clothing: '0' }, shipping: false },
    { id: 'US-NY-NYC', name: 'NYC sales tax', country: 'US', region: 'NY', postalPrefixes: ['100', '101', '102'], stack: true, rates: { standard: '4.5' } },
    { id: 'US-NY-MCTD', name: 'MCTD surcharge', country: 'US', region: 'NY', postalPrefixes: ['10'], stack: true, rates: { standard: '0.375' } },
    { id: 'ES', name: 'IVA', country: 'ES', rates: { standard: '21' } },
    { id: 'ES-CANARIAS', name: 'IGIC', country: 'ES', postalPrefixes: ['35', '38'], rates: { standard: '7' } },
    { id: 'ES-TENERIFE-X', name: 'Test', country: 'ES', postalPrefixes: ['380'], rates: { standard: '3' } },
  ],
}

const paris: Address = { line1: '1 rue de Rivoli', city: 'Paris', postalCode: '75001', country: 'FR' }
const berlin: Address = { line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' }
const manhattan: Address = { line1: '350 Fifth Avenue', city: 'New York', region: 'ny', postalCode: '10118', country: 'US' }

function input(address: Address | null, overrides: Partial<TaxInput> = {}): TaxInput {
  return {
    currency: 'EUR',
    address,
    billingAddress: address,
    cartId: 'cart_1',
    customerId: null,
    channelId: null,
    taxInclusive: false,
    at: '2026-03-01T00:00:00.000Z',
    lines: [
      { id: 'l1', variantId: 'v1', productId: 'p1', sku: 'A', quantity: 1, taxClass: null, amount: 10000, taxInclusive: false },
      { id: 'l2', variantId: 'v2', productId: 'p2', sku: 'B', quantity: 2, taxClass: 'reduced', amount: 2000, taxInclusive: false },
    ],
    shipping: { amount: 500, taxClass: null, taxInclusive: false },
    ...overrides,
  }
}

const rates = (answer: ReturnType<typeof resolveRates>) => ({
  l1: answer.lines.find((l) => l.id === 'l1')!.rates.map((r) => `${r.jurisdiction}:${r.rate}`),
  l2: answer.lines.find((l) => l.id === 'l2')!.rates.map((r) => `${r.jurisdiction}:${r.rate}`),
  shipping: answer.shipping.map((r) => `${r.jurisdiction}:${r.rate}`),
})

describe('resolveRates', () => {
  const rules = compileRules(options)

  it('taxes an EU consumer at the destination country\'s rates, per class, shipping at the default class', () => {
    expect(rates(resolveRates(rules, input(berlin), NOBODY))).toEqual({ l1: ['DE:19'], l2: ['DE:7'], shipping: ['DE:19'] })
    expect(rates(resolveRates(rules, input(paris), NOBODY))).toEqual({ l1: ['FR:20'], l2: ['FR:5.5'], shipping: ['FR:20'] })
  })

  it('taxes an EU consumer at the origin\'s rates when distance sales are origin-based', () => {
    const origin = compileRules({ ...options, distanceSales: 'origin' })
    expect(rates(resolveRates(origin, input(berlin), NOBODY))).toEqual({ l1: ['FR:20'], l2: ['FR:5.5'], shipping: ['FR:20'] })
  })

  it('picks the dated rate in force at the moment of pricing (from inclusive, until exclusive)', () => {
    const at = (when: string) => rates(resolveRates(rules, input(berlin, { at: when }), NOBODY)).l1
    expect(at('2020-06-30T23:59:59.999Z')).toEqual(['DE:19'])
    expect(at('2020-07-01T00:00:00.000Z')).toEqual(['DE:16'])
    expect(at('2020-12-31T23:59:59.999Z')).toEqual(['DE:16'])
    expect(at('2021-01-01T00:00:00.000Z')).toEqual(['DE:19'])
  })

  it('stacks a city rate and a district surcharge on a state rate, and leaves shipping untaxed where the state says so', () => {
    expect(rates(resolveRates(rules, input(manhattan), NOBODY))).toEqual({
      l1: ['US-NY:4', 'US-NY-MCTD:0.375', 'US-NY-NYC:4.5'],
      // A class the stacked places do not name is taxed at their default class; the state exempts it.
      l2: ['US-NY:4', 'US-NY-MCTD:0.375', 'US-NY-NYC:4.5'],
      shipping: ['US-NY-MCTD:0.375', 'US-NY-NYC:4.5'],
    })
    const clothing = input(manhattan, { lines: [{ id: 'l1', variantId: 'v', productId: 'p', sku: 'S', quantity: 1, taxClass: 'clothing', amount: 5000, taxInclusive: false }], shipping: null })
    expect(resolveRates(rules, clothing, NOBODY).lines[0]!.rates.map((r) => `${r.jurisdiction}:${r.rate}`)).toEqual(['US-NY:0', 'US-NY-MCTD:0.375', 'US-NY-NYC:4.5'])
    const upstate = { ...manhattan, postalCode: '12207', city: 'Albany', region: 'New York' }
    expect(rates(resolveRates(rules, input(upstate), NOBODY)).l1).toEqual(['US-NY:4'])
  })

  it('lets the most specific place win: a postal area over its country, the longer prefix over the shorter', () => {
    expect(rates(resolveRates(rules, input({ ...berlin, postalCode: '27498', city: 'Helgoland' }), NOBODY)).l1).toEqual(['DE-HELGOLAND:0'])
    expect(rates(resolveRates(rules, input({ line1: 'Calle 1', city: 'Las Palmas', postalCode: '35001', country: 'ES' }), NOBODY)).l1).toEqual(['ES-CANARIAS:7'])
    expect(rates(resolveRates(rules, input({ line1: 'Calle 1', city: 'Santa Cruz', postalCode: '38 001', country: 'ES' }), NOBODY)).l1).toEqual(['ES-TENERIFE-X:3'])
    expect(rates(resolveRates(rules, input({ line1: 'Calle 1', city: 'Madrid', postalCode: '28001', country: 'ES' }), NOBODY)).l1).toEqual(['ES:21'])
  })

  it('reverse-charges a buyer with another EU state\'s VAT number, goods going to another EU state', () => {
    const answer = resolveRates(rules, input(berlin), { vatCountry: 'DE', exemption: null })
    for (const item of [...answer.lines.map((l) => l.rates), answer.shipping]) {
      expect(item).toEqual([{ rate: '0', jurisdiction: 'DE', name: 'VAT', note: REVERSE_CHARGE_NOTE }])
    }
  })

  it('charges VAT to a buyer with the shop\'s own country\'s VAT number, or whose goods stay in the shop\'s country', () => {
    expect(rates(resolveRates(rules, input(paris), { vatCountry: 'FR', exemption: null })).l1).toEqual(['FR:20'])
    expect(rates(resolveRates(rules, input(paris), { vatCountry: 'DE', exemption: null })).l1).toEqual(['FR:20'])
  })

  it('charges no reverse charge without an EU origin', () => {
    const us = compileRules({ ...options, origin: 'US' })
    expect(rates(resolveRates(us, input(berlin), { vatCountry: 'IT', exemption: null })).l1).toEqual(['DE:19'])
  })

  it('exempts a buyer with a reason, on every line and on shipping', () => {
    const answer = resolveRates(rules, input(manhattan), { vatCountry: null, exemption: 'Resale certificate NY-1' })
    expect(answer.lines[0]!.rates).toEqual([{ rate: '0', jurisdiction: 'US-NY', name: 'Tax exempt', note: 'Tax exempt: Resale certificate NY-1' }])
    expect(answer.shipping).toEqual([{ rate: '0', jurisdiction: 'US-NY', name: 'Tax exempt', note: 'Tax exempt: Resale certificate NY-1' }])
  })

  it('shows the origin\'s rates without an address, or none when told so, and none where no place matches', () => {
    expect(rates(resolveRates(rules, input(null), NOBODY))).toEqual({ l1: ['FR:20'], l2: ['FR:5.5'], shipping: ['FR:20'] })
    expect(rates(resolveRates(compileRules({ ...options, withoutAddress: 'none' }), input(null), NOBODY))).toEqual({ l1: [], l2: [], shipping: [] })
    expect(rates(resolveRates(rules, input({ line1: '1-1', city: 'Tokyo', country: 'JP' }), NOBODY))).toEqual({ l1: [], l2: [], shipping: [] })
  })

  it('taxes shipping by its class, else the plugin\'s shipping class, else the default class', () => {
    expect(rates(resolveRates(rules, input(paris, { shipping: { amount: 500, taxClass: 'reduced', taxInclusive: false } }), NOBODY)).shipping).toEqual(['FR:5.5'])
    const reducedShipping = compileRules({ ...options, shippingClass: 'reduced' })
    expect(rates(resolveRates(reducedShipping, input(paris), NOBODY)).shipping).toEqual(['FR:5.5'])
  })

  it('refuses a moment of pricing that is not one, rather than tax nothing', () => {
    expect(() => resolveRates(rules, input(berlin, { at: 'yesterday' }), NOBODY)).toThrow(/not an ISO 8601 instant/)
  })

  it('refuses options with a bad rate, overlapping dates or a duplicate id, naming the field', () => {
    const problems = (bad: unknown) => {
      try {
        compileRules(bad)
      } catch (error) {
        if (isCommerceError(error, 'VALIDATION')) return error.details.fields
        throw error
      }
      return null
    }
    expect(problems({ jurisdictions: [{ id: 'X', country: 'FR', rates: { standard: '-5' } }] })).toEqual(['jurisdictions.0.rates.standard'])
    expect(problems({ jurisdictions: [{ id: 'X', country: 'FR', rates: { standard: [{ rate: '20', until: '2025-01-01' }, { rate: '21', from: '2024-12-01' }] } }] })).toEqual(['jurisdictions.0.rates.standard'])
    expect(problems({ jurisdictions: [{ id: 'X', country: 'FR', rates: { standard: '20' } }, { id: 'X', country: 'DE', rates: { standard: '19' } }] })).toEqual(['jurisdictions.1.id'])
    expect(problems({ origin: 'FRA', jurisdictions: [] })).toEqual(['origin'])
  })
})
