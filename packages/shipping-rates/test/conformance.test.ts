import { existsSync } from 'node:fs'
import { describe, it } from 'vitest'
import { flatRateShipping } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { carrierConformance, shippingConformance } from '@cartwright/testkit'
import { manualCarrier, signTrackingCallback, tableRates } from '../src/index.js'

const storage = () => sqliteStorage({ filename: ':memory:' })

shippingConformance({
  name: 'tableRates',
  provider: () =>
    tableRates({
      zones: [
        {
          id: 'us',
          name: 'United States',
          countries: ['US'],
          methods: [
            { id: 'ground', name: 'Ground', rates: { USD: { type: 'weight', tiers: [{ maxGrams: 1000, amount: 799 }, { maxGrams: 30000, amount: 1899 }], freeFrom: 100000 } }, minDays: 3, maxDays: 6 },
            { id: 'express', name: 'Express', rates: { USD: { type: 'flat', amount: 2500 } }, maxWeightGrams: 5000, excludeRegions: ['AK', 'HI'] },
          ],
        },
        { id: 'ca', name: 'California', countries: ['US'], regions: ['CA'], methods: [{ id: 'ground', name: 'Ground', rates: { USD: { type: 'flat', amount: 599 } }, minDays: 1, maxDays: 2 }] },
        {
          id: 'europe',
          name: 'Europe',
          countries: ['DE', 'FR', 'GB'],
          methods: [{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'subtotal', tiers: [{ minSubtotal: 0, amount: 690 }, { minSubtotal: 5000, amount: 0 }] }, GBP: { type: 'flat', amount: 450 } } }],
        },
        { id: 'jp', name: 'Japan', countries: ['JP'], methods: [{ id: 'ems', name: 'EMS', rates: { JPY: { type: 'flat', amount: 2000 } } }] },
      ],
      pickup: [{ id: 'store', name: 'Collect in store', locationId: 'loc_store' }],
    }),
  storage,
}).register({ describe, it })

shippingConformance({
  name: 'flatRateShipping (core)',
  provider: () =>
    flatRateShipping({
      rates: [
        { id: 'standard', name: 'Standard', amounts: { USD: 500, EUR: 450, GBP: 400, JPY: 800 }, freeAbove: { USD: 10000 } },
        { id: 'express', name: 'Express', amounts: { USD: 1500 }, countries: ['US'] },
      ],
    }),
  storage,
}).register({ describe, it })

const SECRET = 'conformance-secret-0123456789'
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'

carrierConformance({
  name: 'manualCarrier',
  carrier: manualCarrier({ secret: SECRET, trackingUrl: 'https://shop.example.com/track/{trackingNumber}' }),
  trackingCallback(updates) {
    const body = JSON.stringify({ events: updates })
    return { body, headers: signTrackingCallback(SECRET, body) }
  },
}).register({ describe, it })

carrierConformance({
  name: 'manualCarrier with an embedded font and no tracking callbacks',
  carrier: () => manualCarrier({ font: DEJAVU, size: 'A6' }),
  skip: existsSync(DEJAVU) ? [] : [{ reason: `no ${DEJAVU} here (Debian's fonts-dejavu-core)`, tests: ['labels'] }],
}).register({ describe, it })
