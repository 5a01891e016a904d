import { afterEach, describe, expect, it, vi } from 'vitest'
import { failure, openShop, type Shop } from '../support/index.js'
import { retentionCases } from '../support/retention-cases.js'

// The same cases run on PostgreSQL in test/postgres/retention.test.ts.
describe('retention.prune on a SQLite file', () => {
  retentionCases('sqlite-file')
})

describe('the automatic retention run', () => {
  const DAY = 86_400_000
  let shop: Shop | undefined
  afterEach(async () => {
    await shop?.close()
    shop = undefined
    vi.useRealTimers()
  })

  /** A shop with one empty cart made at day 0, on a clock that has moved to day 100, and fake timers. */
  async function abandonedCart(retention: { intervalMs?: number; onError?: (error: unknown) => void }) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    let clock = Date.parse('2026-01-01T00:00:00.000Z')
    shop = await openShop({ now: () => new Date(clock), outbox: { enabled: false }, retention })
    await shop.commerce.carts.create({ currency: 'USD' })
    clock += 100 * DAY
    const carts = () => shop!.commerce.db.selectFrom('cw_carts').select('id').execute()
    return { commerce: shop.commerce, carts }
  }

  /** Lets timers due within `ms` fire, and the database work they start finish. */
  async function elapse(ms: number) {
    await vi.advanceTimersByTimeAsync(ms)
    for (let i = 0; i < 50; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  }

  it('prunes every intervalMs when configured', async () => {
    const { carts } = await abandonedCart({ intervalMs: 60_000 })
    await elapse(59_000)
    expect(await carts()).toHaveLength(1)
    await elapse(1_000)
    expect(await carts()).toHaveLength(0)
  })

  it('is off by default', async () => {
    const { carts } = await abandonedCart({})
    await elapse(7 * DAY)
    expect(await carts()).toHaveLength(1)
  })

  it('stops when the engine closes', async () => {
    // A run after close() would fail on the closed database and be reported here.
    const onError = vi.fn()
    const { commerce } = await abandonedCart({ intervalMs: 60_000, onError })
    await commerce.close()
    await elapse(120_000)
    expect(onError).not.toHaveBeenCalled()
  })

  it('refuses an interval under a minute with CONFIGURATION', async () => {
    const error = await failure(openShop({ retention: { intervalMs: 1000 } }), 'CONFIGURATION')
    expect(error.message).toContain('retention.intervalMs')
  })
})
