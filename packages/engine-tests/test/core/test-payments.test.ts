import { describe, expect, it } from 'vitest'
import { testPayments, type AuthorizeInput } from '@cartwright/core'

const attempt = (key: string): AuthorizeInput => ({ paymentId: key, idempotencyKey: key, amount: 14472, currency: 'USD', cartId: 'cart_1', email: null, data: {} })

describe('testPayments', () => {
  it('keeps only the last keepCalls calls, yet replays a trimmed key’s first result without charging again', async () => {
    const gateway = testPayments({ keepCalls: 3 })
    const first = await gateway.authorize(attempt('k1'))
    for (const key of ['k2', 'k3', 'k4', 'k5']) await gateway.authorize(attempt(key))
    expect(gateway.calls.map((c) => c.idempotencyKey)).toEqual(['k3', 'k4', 'k5'])

    expect(await gateway.authorize(attempt('k1'))).toEqual(first)
    expect(gateway.calls.at(-1)).toMatchObject({ operation: 'authorize', idempotencyKey: 'k1', charged: false })
    expect(gateway.calls).toHaveLength(3)
    expect(gateway.authorizations()).toBe(5)
  })

  it('keeps the last 1000 calls by default, and every call with keepCalls: Infinity', async () => {
    const bounded = testPayments()
    const unbounded = testPayments({ keepCalls: Number.POSITIVE_INFINITY })
    for (let i = 0; i < 1005; i++) {
      await bounded.authorize(attempt(`k${i}`))
      await unbounded.authorize(attempt(`k${i}`))
    }
    expect(bounded.calls).toHaveLength(1000)
    expect(bounded.calls[0]!.idempotencyKey).toBe('k5')
    expect(unbounded.calls).toHaveLength(1005)
    expect([bounded.authorizations(), unbounded.authorizations()]).toEqual([1005, 1005])
  })

  it('forgets a failed call, so the same key can try again and is charged once', async () => {
    const gateway = testPayments()
    gateway.script('error')
    await expect(gateway.authorize(attempt('k1'))).rejects.toThrow('connection reset')
    expect(gateway.authorizations()).toBe(0)
    await expect(gateway.authorize(attempt('k1'))).resolves.toMatchObject({ status: 'authorized' })
    expect(gateway.calls.map((c) => c.charged)).toEqual([false, true])
    expect(gateway.authorizations()).toBe(1)
  })

  it('refuses a keepCalls that is not a whole number', () => {
    expect(() => testPayments({ keepCalls: 1.5 })).toThrow(/^\[cartwright:test-payments\] invalid options: keepCalls/)
    expect(() => testPayments({ keepCalls: -1 })).toThrow(/keepCalls/)
  })
})
