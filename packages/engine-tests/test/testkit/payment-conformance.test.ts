import { describe, expect, it } from 'vitest'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import type { PaymentProvider } from '@cartwright/core'
import { paymentConformance, testGateway, virtualClock, withChaos, type PaymentConformanceTarget, type PaymentHarness } from '@cartwright/testkit'

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
      webhook: (event) => gateway.webhook(event),
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

/** The target above with one thing about its harness broken. */
function broken(change: (harness: PaymentHarness) => Partial<PaymentHarness>): PaymentConformanceTarget {
  return {
    ...target,
    name: 'broken',
    async setup(context) {
      const harness = await target.setup(context)
      return { ...harness, ...change(harness) }
    },
  }
}

async function runCase(of: PaymentConformanceTarget, title: string): Promise<unknown> {
  const found = paymentConformance(of).cases.find((c) => c.title === title)
  if (!found) throw new Error(`no case ${title}`)
  return found.run().then(
    () => null,
    (error: unknown) => error,
  )
}

// The suite is only worth something if it fails broken providers: each test breaks one property
// of the working target and checks that the case guarding it fails.
describe('paymentConformance fails broken providers', () => {
  it('a gateway that forgets its idempotency keys charges twice after a lost answer', async () => {
    const forgetful = broken(({ provider }) => ({
      provider: { ...provider, authorize: (input) => provider.authorize({ ...input, idempotencyKey: `${input.idempotencyKey}:${Math.random()}` }) } as PaymentProvider,
    }))
    expect(await runCase(forgetful, 'chaos > an authorization answer lost after the gateway charged: exactly one charge after recovery')).toMatchObject({
      message: expect.stringMatching(/exactly one charge at the gateway/),
    })
  })

  it('a provider whose captures do not reach the gateway disagrees with the ledger', async () => {
    const liar = broken(({ provider }) => ({ provider: { ...provider, capture: async () => ({ status: 'succeeded' as const }) } as PaymentProvider }))
    expect(await runCase(liar, 'contract > authorize, capture in full, refund in part: the books equal the ledger after each')).toMatchObject({ message: expect.stringMatching(/captured in full at the gateway/) })
  })

  it('a provider that gives each delivery a new event id (not the gateway\'s) cannot be deduplicated', async () => {
    const renamed = broken(({ provider }) => ({
      provider: {
        ...provider,
        webhooks: { verify: async (request) => (await provider.webhooks!.verify(request)).map((e) => ({ ...e, id: `${e.id}:${Math.random()}` })) },
      } as PaymentProvider,
    }))
    expect(await runCase(renamed, 'chaos > duplicate webhooks, 5 at once and 3 more later, are applied once')).toMatchObject({ message: expect.stringMatching(/is in every delivery|every delivery but one is a duplicate/) })
  })
})

describe('paymentConformance on a gateway without partial capture', () => {
  const whole: PaymentConformanceTarget = {
    ...target,
    name: 'testGateway without partial capture',
    setup: (context) => {
      const harness = target.setup(context) as PaymentHarness
      const gateway = harness.provider
      return { ...harness, provider: { ...gateway, capabilities: { ...gateway.capabilities, partialCapture: false } } as PaymentProvider }
    },
  }
  const [partial] = paymentConformance(whole).cases.filter((c) => c.name.startsWith('a partial capture'))
  it('refuses the partial capture with VALIDATION and sends nothing', () => partial!.run())
})

describe('withChaos', () => {
  const input = (n: number) => ({ paymentId: `pay_${n}`, idempotencyKey: `key_${n}`, amount: 1000, currency: 'USD', cartId: `cart_${n}`, email: null, data: {} })

  it('keeps the provider\'s id, capabilities and webhooks; passes calls through when nothing is scripted', async () => {
    const gateway = testGateway({ id: 'gw' })
    const chaotic = withChaos(gateway)
    expect(chaotic.id).toBe('gw')
    expect(chaotic.capabilities).toBe(gateway.capabilities)
    expect(chaotic.webhooks).toBe(gateway.webhooks)
    expect(await chaotic.authorize(input(1))).toMatchObject({ status: 'authorized' })
    expect(chaotic.chaos.calls).toEqual([{ operation: 'authorize', idempotencyKey: 'key_1', fault: 'none' }])
  })

  it('throw-before never reaches the gateway; lose-response reaches it, then throws, and a retry under the key is answered as the first', async () => {
    const gateway = testGateway()
    const chaotic = withChaos(gateway, { authorize: ['throw-before', 'lose-response'] })
    await expect(chaotic.authorize(input(1))).rejects.toThrow(/before reaching the gateway/)
    expect(gateway.charges()).toEqual([])
    await expect(chaotic.authorize(input(2))).rejects.toThrow(/answer was lost/)
    expect(gateway.charges()).toHaveLength(1)
    expect(await chaotic.authorize(input(2))).toMatchObject({ status: 'authorized', reference: gateway.charges()[0]!.reference })
    expect(gateway.charges()).toHaveLength(1)
  })

  it('a delay sleeps on the script\'s clock before the call reaches the gateway', async () => {
    const clock = virtualClock({ autoAdvance: false })
    const gateway = testGateway()
    const chaotic = withChaos(gateway, { clock })
    chaotic.chaos.next('authorize', { delayMs: 60_000 })
    const answer = chaotic.authorize(input(1))
    await clock.advance(59_999)
    expect(gateway.calls).toEqual([])
    await clock.advance(1)
    expect(await answer).toMatchObject({ status: 'authorized' })
    expect(chaotic.chaos.calls[0]!.fault).toBe('delayed')
  })

  it('duplicate delivers at once, then one after another', async () => {
    const chaotic = withChaos(testGateway())
    let running = 0
    let most = 0
    const answers = await chaotic.chaos.duplicate(async () => {
      most = Math.max(most, ++running)
      await new Promise((resolve) => setTimeout(resolve, 5))
      running--
      return most
    })
    expect(answers).toHaveLength(8)
    expect(most).toBe(5)
  })
})
