import { describe, expect, it } from 'vitest'
import type { Carrier, ShippingProvider } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { carrierConformance, shippingConformance, type ConformanceSuite } from '@cartwright/testkit'
import { manualCarrier, signTrackingCallback } from '../src/index.js'

/** The titles of the cases that fail. */
async function failing(suite: ConformanceSuite): Promise<string[]> {
  const failed: string[] = []
  for (const c of suite.cases) {
    if (c.skip) continue
    try {
      await c.run()
    } catch {
      failed.push(c.title)
    }
  }
  return failed
}

const storage = () => sqliteStorage({ filename: ':memory:' })

describe('the conformance suites catch broken adapters', () => {
  it('shippingConformance fails a provider with repeated ids, negative or fractional amounts, delivery without an address, randomness and a mutated input', async () => {
    const broken: ShippingProvider = {
      id: 'broken',
      quote(input) {
        input.items.reverse()
        return [
          { id: 'a', name: 'A', amount: -1 },
          { id: 'a', name: 'A again', amount: 1.5 + Math.random() },
        ]
      },
    }
    expect(await failing(shippingConformance({ name: 'broken', provider: broken, storage }))).toEqual([
      'quotes > quote ids are unique within an answer and well-formed',
      'quotes > amounts are safe non-negative integers, names are given and delivery days are sane',
      'quotes > answers the same quotes for the same input',
      'quotes > without an address, offers only options that need none (pickup at a stock location)',
      'quotes > leaves its input as it was',
      'quotes > answers a cart without items with well-formed quotes (or none)',
    ])
  })

  it('shippingConformance fails a provider that writes to the database while quoting', async () => {
    let writes = 0
    const writer: ShippingProvider = {
      id: 'writer',
      async quote(_input, db) {
        writes++
        await db.insertInto('cw_stock_locations').values({ id: `loc_${Math.random()}`, name: 'x', code: `c${Math.random()}`, priority: 0, created_at: new Date().toISOString() }).execute()
        return []
      },
    }
    const suite = shippingConformance({ name: 'writer', provider: writer, storage })
    const stored = suite.cases.find((c) => c.title === 'quotes > changes nothing stored')!
    // It fails on the comparison of rows, after every write went through.
    await expect(stored.run()).rejects.toThrow(/quoting changed stored rows/)
    expect(writes).toBe(18)
  })

  it('carrierConformance fails a carrier whose retries make new tracking numbers, whose labels are not PDF, and that accepts any callback', async () => {
    const real = manualCarrier()
    let n = 0
    const broken: Carrier = {
      id: 'broken',
      async createShipment(request) {
        const made = await real.createShipment({ ...request, idempotencyKey: `${request.idempotencyKey}-${n++}` })
        return { ...made, label: { contentType: 'application/pdf', data: new TextEncoder().encode('not a pdf') } }
      },
      async cancelShipment() {
        return { status: n++ % 2 === 0 ? 'canceled' : 'too_late' }
      },
      async parseTracking({ body }) {
        return (JSON.parse(body) as { events: [] }).events
      },
    }
    const failed = await failing(
      carrierConformance({
        name: 'broken',
        carrier: broken,
        trackingCallback: (updates) => {
          const body = JSON.stringify({ events: updates })
          return { body, headers: signTrackingCallback('any-secret-of-16-chars', body) }
        },
      }),
    )
    expect(failed).toEqual([
      'labels > a PDF label is a valid PDF showing the tracking number and the ship-to name and city',
      'idempotency > the same idempotency key answers the same shipment',
      'cancel > canceling a shipment twice answers the same',
      'tracking > a tracking callback whose body was changed is refused',
      'tracking > a tracking callback without its signature headers is refused',
    ])
  })
})
