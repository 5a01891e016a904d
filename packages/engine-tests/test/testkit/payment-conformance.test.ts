import { describe, expect, it } from 'vitest'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { paymentConformance, testGateway, type PaymentConformanceTarget } from '@cartwright/testkit'

/**
 * The payment conformance suite and its chaos harness run against the one scriptable test gateway
 * of @cartwright/testkit, on a real engine on SQLite in memory (issue 8, done-means 9).
 */
const target: PaymentConformanceTarget = {
  name: 'testGateway',
  storage: () => sqliteStorage({ filename: ':memory:' }),
  setup({ clock, capture }) {
    const gateway = testGateway({ id: 'gateway', clock, autoCapture: capture === 'automatic' })
    return {
      provider: gateway,
      driver: {
        prepare: (outcome) => gateway.script('authorize', outcome === 'approve' ? 'ok' : outcome === 'decline' ? 'refuse' : 'action'),
        completeAction: (reference) => gateway.confirmAction(reference),
      },
      webhook: (events) => gateway.webhook(events),
      ledger: () => gateway.charges(),
    }
  },
}

paymentConformance(target).register({ describe, it: (name, fn) => it(name, fn, 30_000) })

describe('paymentConformance', () => {
  it('lists its cases in two groups, each titled "group > name"', () => {
    const suite = paymentConformance(target)
    expect([...new Set(suite.cases.map((c) => c.group))]).toEqual(['contract', 'chaos'])
    for (const c of suite.cases) expect(c.title).toBe(`${c.group} > ${c.name}`)
    expect(new Set(suite.cases.map((c) => c.title)).size).toBe(suite.cases.length)
  })

  it('checks its target when called and says what is wrong', () => {
    expect(() => paymentConformance({ ...target, name: '' })).toThrow(/name/)
    expect(() => paymentConformance({ ...target, storage: undefined } as never)).toThrow(/storage/)
    expect(() => paymentConformance({ ...target, setup: undefined } as never)).toThrow(/setup/)
    expect(() => paymentConformance({ ...target, skip: [{ reason: 'r', tests: ['contract > no such case'] }] })).toThrow(/no test or group/)
  })
})
