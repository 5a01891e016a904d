import { afterAll, describe, it } from 'vitest'
import { fixedRateTax, noTax, type TaxInput } from '@cartwright/core'
import { taxConformance } from '@cartwright/testkit'
import type { TaxRulesOptions } from '../src/index.js'
import { ADDRESSES, openShop, SHOP_RULES, type TaxShop } from './support.js'

// Core's built-in providers.
taxConformance({ name: 'fixedRateTax', provider: () => fixedRateTax({ rate: '20', countries: { DE: '19', US: '8.875' }, classes: { reduced: '5.5' } }) }).register({ describe, it })
taxConformance({ name: 'noTax', provider: () => noTax() }).register({ describe, it })

/** Inputs that make the provider read its tables: customers with a VAT number and with an exemption. */
function profiled(customerId: string, address: TaxInput['address']): TaxInput {
  return {
    currency: 'EUR',
    address,
    billingAddress: address,
    cartId: 'cart_profiled',
    customerId,
    channelId: null,
    taxInclusive: false,
    at: '2026-03-01T10:00:00.000Z',
    lines: [
      { id: 'l1', variantId: 'v1', productId: 'p1', sku: 'A', quantity: 2, taxClass: null, amount: 4000, taxInclusive: false },
      { id: 'l2', variantId: 'v2', productId: 'p2', sku: 'B', quantity: 1, taxClass: 'reduced', amount: 999, taxInclusive: true },
    ],
    shipping: { amount: 500, taxClass: null, taxInclusive: false },
  }
}

const CONFIGURATIONS: Array<[string, TaxRulesOptions]> = [
  ['EU and New York rules', SHOP_RULES],
  ['origin-based distance sales, no tax without an address', { ...SHOP_RULES, distanceSales: 'origin', withoutAddress: 'none', shippingClass: 'reduced' }],
  ['no origin, no jurisdictions', { jurisdictions: [] }],
]

const shops: TaxShop[] = []
afterAll(async () => {
  for (const shop of shops) await shop.close()
})

for (const [name, rules] of CONFIGURATIONS) {
  // One engine per configuration, opened by the first case that needs it (on SQLite: the suite
  // checks the provider, not the storage), with the profiles the extra cases read.
  let opening: Promise<TaxShop> | null = null
  const shop = () =>
    (opening ??= (async () => {
      const s = await openShop('sqlite', { rules })
      shops.push(s)
      await s.commerce['tax-rules'].setCustomerProfile('cus_vat', { vatNumber: 'IT00743110157' })
      await s.commerce['tax-rules'].setCustomerProfile('cus_exempt', { exempt: true, exemptReason: 'Registered charity' })
      return s
    })())
  taxConformance({
    name: `taxRules: ${name}`,
    provider: async () => (await shop()).plugin.tax!,
    db: async () => (await shop()).commerce.db,
    cases: [profiled('cus_vat', ADDRESSES.berlin), profiled('cus_vat', ADDRESSES.paris), profiled('cus_exempt', ADDRESSES.manhattan), profiled('cus_exempt', null), profiled('cus_none', ADDRESSES.helgoland)],
  }).register({ describe, it })
}
