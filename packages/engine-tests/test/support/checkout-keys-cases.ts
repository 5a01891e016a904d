import { afterEach, describe, expect, it } from 'vitest'
import { isCommerceError, testPayments, type CheckoutResult, type Commerce, type Order } from '@cartwright/core'
import { gate, key, openShop, placed, readyCart, sleep, type Shop, type ShopOptions, type StorageKind } from './index.js'

/**
 * The idempotency-key cases of `checkout.complete`, run on a SQLite file
 * (test/core/checkout-keys.test.ts) and on PostgreSQL (test/postgres/checkout-keys.test.ts).
 * Interleavings are forced: a `checkout.beforeComplete` hook holds a call after it checked its
 * key and before it claims it, and test points hold or crash a checkout at a named step.
 */

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown }

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )
}

/** The answer every use of a key for a cart other than its owner must get. */
function expectKeyConflict(outcome: Settled<CheckoutResult>): void {
  if (outcome.ok) throw new Error(`expected CONFLICT, the call resolved with ${JSON.stringify(outcome.value.status)} for cart ${outcome.value.cartId}`)
  expect(isCommerceError(outcome.error, 'CONFLICT'), String(outcome.error)).toBe(true)
  expect((outcome.error as Error).message).toMatch(/already used for another cart/)
}

/**
 * Holds `checkout.beforeComplete` for the carts in `held` until released: the call has checked
 * its key and priced the cart, and has not yet claimed the key.
 */
function holdBeforeComplete(commerce: Commerce, held: string[]) {
  const entered = new Map(held.map((id) => [id, gate()]))
  const released = new Map(held.map((id) => [id, gate()]))
  const remove = commerce.hooks.hook('checkout.beforeComplete', async ({ cart }) => {
    const arrived = entered.get(cart.id)
    if (!arrived) return
    arrived.open()
    await released.get(cart.id)!.promise
  })
  return {
    entered: (cartId: string) => entered.get(cartId)!.promise,
    /** Releases the given carts, or all. */
    release: (cartIds: string[] = held) => {
      for (const id of cartIds) released.get(id)!.open()
    },
    remove,
  }
}

/** Persisted state of a key: every payment recorded under it, and the orders of the carts involved. */
async function keyState(commerce: Commerce, idempotencyKey: string, cartIds: string[]) {
  const payments = await commerce.db.selectFrom('cw_payments').select(['cart_id', 'status']).where('idempotency_key', '=', idempotencyKey).execute()
  const orders = await commerce.db.selectFrom('cw_orders').select('cart_id').where('cart_id', 'in', cartIds).execute()
  const carts = await commerce.db.selectFrom('cw_carts').select(['id', 'status', 'order_id']).where('id', 'in', cartIds).execute()
  return { payments, orderCarts: orders.map((o) => o.cart_id), carts: new Map(carts.map((c) => [c.id, c])) }
}

const payment = { provider: 'test' }

/** A key belongs to one cart from its first use, however the calls interleave. */
export function checkoutKeyCases(storage: StorageKind): void {
  const opened: Shop[] = []
  afterEach(async () => {
    for (const shop of opened.splice(0)) await shop.close()
  })
  const open = async (options: ShopOptions = {}) => {
    const shop = await openShop({ ...options, storage })
    opened.push(shop)
    return shop
  }

  describe('checkout.complete with a key another cart uses', () => {
    it('answers CONFLICT to cart B when cart A completes with B\'s key while B\'s beforeComplete hook runs, and leaves B open', async () => {
      const shop = await open()
      const { commerce, variantId } = shop
      const a = await readyCart(commerce, variantId, 1)
      const b = await readyCart(commerce, variantId, 2)
      const idempotencyKey = key()
      const hold = holdBeforeComplete(commerce, [b.id])
      const callB = settle(commerce.checkout.complete(b.id, { payment, idempotencyKey }))
      await hold.entered(b.id)
      // B has checked the key (unused then) and is in its slow hook; A completes with the same key.
      const orderA = placed(await commerce.checkout.complete(a.id, { payment, idempotencyKey }))
      hold.release()
      expectKeyConflict(await callB)

      const state = await keyState(commerce, idempotencyKey, [a.id, b.id])
      expect(state.payments).toEqual([{ cart_id: a.id, status: 'authorized' }])
      expect(state.orderCarts).toEqual([a.id])
      expect(state.carts.get(b.id)).toMatchObject({ status: 'open', order_id: null })
      expect((await commerce.carts.get(b.id)).status).toBe('open')
      expect(orderA.cartId).toBe(a.id)
      expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ reserved: 1 })
      expect(shop.payments.calls.filter((c) => c.operation === 'authorize').map((c) => c.amount)).toEqual([orderA.totals.total])
      // B can still check out with a key of its own.
      const orderB = placed(await commerce.checkout.complete(b.id, { payment, idempotencyKey: key() }))
      expect(orderB.cartId).toBe(b.id)
    })

    it('answers CONFLICT at once when the key\'s checkout for another cart is still authorizing', async () => {
      let holdCart: string | undefined
      const authorizing = gate()
      const authorizeRelease = gate()
      const shop = await open({
        testPoints: {
          'checkout.authorize.before': async ({ cartId }) => {
            if (cartId !== holdCart) return
            authorizing.open()
            await authorizeRelease.promise
          },
        },
      })
      const { commerce, variantId } = shop
      const a = await readyCart(commerce, variantId, 1)
      const b = await readyCart(commerce, variantId, 1)
      holdCart = a.id
      const idempotencyKey = key()
      const hold = holdBeforeComplete(commerce, [b.id])
      const callB = settle(commerce.checkout.complete(b.id, { payment, idempotencyKey }))
      await hold.entered(b.id)
      const callA = commerce.checkout.complete(a.id, { payment, idempotencyKey })
      await authorizing.promise
      // A holds the key with a live lease; B now claims.
      hold.release()
      // B must not wait for A. The timer only lets a B that does wait finish, so the test ends.
      const outcomeB = await Promise.race([callB, sleep(2_000).then(() => null)])
      authorizeRelease.open()
      expectKeyConflict(outcomeB ?? (await callB))
      const orderA = await callA
      expect(orderA.cartId).toBe(a.id)
      const state = await keyState(commerce, idempotencyKey, [a.id, b.id])
      expect(state.payments).toEqual([{ cart_id: a.id, status: 'authorized' }])
      expect(state.orderCarts).toEqual([a.id])
      expect(state.carts.get(b.id)!.status).toBe('open')
    })

    it('does not take over another cart\'s checkout whose lease ran out: CONFLICT, and the owner recovers it', async () => {
      let clock = Date.parse('2026-01-01T00:00:00Z')
      let crashCart: string | undefined
      const shop = await open({
        now: () => new Date(clock),
        checkoutLeaseMs: 5_000,
        testPoints: {
          'checkout.authorize.before': ({ cartId }) => {
            if (cartId === crashCart) throw new Error('process died before the gateway was asked')
          },
        },
      })
      const { commerce, variantId } = shop
      const a = await readyCart(commerce, variantId, 1)
      const b = await readyCart(commerce, variantId, 3)
      crashCart = a.id
      const idempotencyKey = key()
      const hold = holdBeforeComplete(commerce, [b.id])
      const callB = settle(commerce.checkout.complete(b.id, { payment, idempotencyKey }))
      await hold.entered(b.id)
      await expect(commerce.checkout.complete(a.id, { payment, idempotencyKey })).rejects.toThrow(/process died/)
      crashCart = undefined
      clock += 5_001 // A's lease has run out: its checkout may be resumed, by A's cart only.
      hold.release()
      expectKeyConflict(await callB)
      expect(shop.payments.calls).toHaveLength(0)
      expect((await keyState(commerce, idempotencyKey, [a.id, b.id])).payments).toEqual([{ cart_id: a.id, status: 'pending' }])

      expect(await commerce.checkout.recover()).toEqual({ placed: 1, declined: 0, failed: 0 })
      const state = await keyState(commerce, idempotencyKey, [a.id, b.id])
      expect(state.orderCarts).toEqual([a.id])
      expect(state.carts.get(a.id)!.status).toBe('completed')
      expect(state.carts.get(b.id)).toMatchObject({ status: 'open', order_id: null })
      expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ reserved: 1 })
    })

    it('answers CONFLICT, not the other cart\'s decline, when the key\'s checkout for another cart was declined', async () => {
      const shop = await open()
      const { commerce, variantId } = shop
      const a = await readyCart(commerce, variantId, 1)
      const b = await readyCart(commerce, variantId, 1)
      const idempotencyKey = key()
      const hold = holdBeforeComplete(commerce, [b.id])
      const callB = settle(commerce.checkout.complete(b.id, { payment, idempotencyKey }))
      await hold.entered(b.id)
      shop.payments.script('decline')
      await expect(commerce.checkout.complete(a.id, { payment, idempotencyKey })).rejects.toSatisfy((e) => isCommerceError(e, 'PAYMENT_DECLINED'))
      hold.release()
      expectKeyConflict(await callB)
      const state = await keyState(commerce, idempotencyKey, [a.id, b.id])
      expect(state.payments).toEqual([{ cart_id: a.id, status: 'declined' }])
      expect(state.carts.get(b.id)!.status).toBe('open')
    })

    it('in the reverse order, answers CONFLICT to the second cart before running its hooks', async () => {
      const shop = await open()
      const { commerce, variantId } = shop
      const a = await readyCart(commerce, variantId, 1)
      const b = await readyCart(commerce, variantId, 1)
      const idempotencyKey = key()
      const orderA = placed(await commerce.checkout.complete(a.id, { payment, idempotencyKey }))
      const hooked: string[] = []
      commerce.hooks.hook('checkout.beforeComplete', ({ cart }) => void hooked.push(cart.id))
      expectKeyConflict(await settle(commerce.checkout.complete(b.id, { payment, idempotencyKey })))
      expect(hooked).toEqual([])
      // The owner's retries still answer with its order.
      expect((placed(await commerce.checkout.complete(a.id, { payment, idempotencyKey }))).id).toBe(orderA.id)
      const state = await keyState(commerce, idempotencyKey, [a.id, b.id])
      expect(state.payments).toEqual([{ cart_id: a.id, status: 'authorized' }])
      expect(state.carts.get(b.id)!.status).toBe('open')
    })

    it('in a burst of six carts with one key, answers CONFLICT to the five that claim after the first one placed its order', async () => {
      const shop = await open()
      const { commerce, variantId } = shop
      const carts = []
      for (let i = 0; i < 6; i++) carts.push(await readyCart(commerce, variantId, 1))
      const ids = carts.map((c) => c.id)
      const [first, ...rest] = ids as [string, ...string[]]
      const idempotencyKey = key()
      const hold = holdBeforeComplete(commerce, ids)
      const calls = ids.map((id) => settle(commerce.checkout.complete(id, { payment, idempotencyKey })))
      // Every call has checked the key (unused) and priced its cart before any of them claims.
      await Promise.all(ids.map((id) => hold.entered(id)))
      hold.release([first])
      const firstOutcome = await calls[0]!
      expect(firstOutcome.ok && firstOutcome.value.cartId).toBe(first)
      // The five others claim together, finding the key's payment already settled.
      hold.release(rest)
      const outcomes = await Promise.all(calls.slice(1))
      for (const outcome of outcomes) expectKeyConflict(outcome)

      const state = await keyState(commerce, idempotencyKey, ids)
      expect(state.payments).toEqual([{ cart_id: first, status: 'authorized' }])
      expect(state.orderCarts).toEqual([first])
      for (const id of rest) expect(state.carts.get(id)).toMatchObject({ status: 'open', order_id: null })
      expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ reserved: 1 })
      expect(shop.payments.authorizations()).toBe(1)
    })

    it('in a burst of six carts with one key released together, places one order and answers CONFLICT to the five others', async () => {
      const N = 6
      let winner: string | undefined
      const othersSettled = gate()
      const shop = await open({
        testPoints: {
          // The first claimer holds the key, still authorizing, until every other call has answered
          // (the timer only lets a test of a build whose losers wait come to an end).
          'checkout.authorize.before': async ({ cartId }) => {
            winner ??= cartId
            if (cartId === winner) await Promise.race([othersSettled.promise, sleep(3_000)])
          },
        },
      })
      const { commerce, variantId } = shop
      const carts = []
      for (let i = 0; i < N; i++) carts.push(await readyCart(commerce, variantId, 1))
      const ids = carts.map((c) => c.id)
      const idempotencyKey = key()
      const hold = holdBeforeComplete(commerce, ids)
      const calls = ids.map((id) => settle(commerce.checkout.complete(id, { payment, idempotencyKey })))
      await Promise.all(ids.map((id) => hold.entered(id)))
      // All six claim at once: on PostgreSQL on separate connections, on SQLite one after another.
      hold.release()
      const answered = calls.map((call, i) => call.then((outcome) => ({ cartId: ids[i]!, outcome })))
      let settledCount = 0
      for (const call of answered) {
        void call.then(() => {
          if (++settledCount === N - 1) othersSettled.open()
        })
      }
      const outcomes = await Promise.all(answered)
      const placed = outcomes.filter((o) => o.outcome.ok)
      expect(placed.map((o) => o.cartId)).toEqual([winner])
      expect((placed[0]!.outcome as { value: Order }).value.cartId).toBe(winner)
      for (const loser of outcomes.filter((o) => !o.outcome.ok)) expectKeyConflict(loser.outcome)

      const state = await keyState(commerce, idempotencyKey, ids)
      expect(state.payments).toEqual([{ cart_id: winner, status: 'authorized' }])
      expect(state.orderCarts).toEqual([winner])
      for (const id of ids) expect(state.carts.get(id)!.status).toBe(id === winner ? 'completed' : 'open')
      expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ reserved: 1 })
      expect(shop.payments.authorizations()).toBe(1)
    })
  })

  describe('checkout.complete with a key used with another payment provider', () => {
    it('answers CONFLICT for the same cart and key with another provider, and authorizes nothing there', async () => {
      const card = testPayments()
      const wallet = testPayments({ id: 'wallet' })
      const shop = await open({ payments: [card, wallet] })
      const { commerce, variantId } = shop
      const cart = await readyCart(commerce, variantId, 1)
      const idempotencyKey = key()
      const order = placed(await commerce.checkout.complete(cart.id, { payment, idempotencyKey }))
      const error = await commerce.checkout.complete(cart.id, { payment: { provider: 'wallet' }, idempotencyKey }).catch((e: unknown) => e)
      expect(isCommerceError(error, 'CONFLICT'), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/provider test/)
      expect(wallet.calls).toHaveLength(0)
      // With its own provider the key still answers with the order.
      expect((placed(await commerce.checkout.complete(cart.id, { payment, idempotencyKey }))).id).toBe(order.id)
    })

    it('refuses to resume a checkout whose provider is no longer configured, instead of charging through another', async () => {
      let clock = Date.parse('2026-01-01T00:00:00Z')
      let crash = true
      const card = testPayments()
      const wallet = testPayments({ id: 'wallet' })
      const shop = await open({
        payments: [card, wallet],
        now: () => new Date(clock),
        checkoutLeaseMs: 5_000,
        testPoints: {
          'checkout.authorize.before': () => {
            if (crash) throw new Error('process died before the gateway was asked')
          },
        },
      })
      const cart = await readyCart(shop.commerce, shop.variantId, 1)
      await expect(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'wallet' }, idempotencyKey: key() })).rejects.toThrow(/process died/)
      crash = false
      clock += 5_001
      // A process started without the wallet: another tab tries again with the card and a key of its own.
      const restarted = await shop.engine({ payments: [card], now: () => new Date(clock), checkoutLeaseMs: 5_000 })
      const error = await restarted.checkout.complete(cart.id, { payment, idempotencyKey: key() }).catch((e: unknown) => e)
      expect(isCommerceError(error, 'INVALID_STATE'), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/wallet/)
      expect(card.calls).toHaveLength(0)
      expect(await restarted.db.selectFrom('cw_payments').select(['provider', 'status']).execute()).toEqual([{ provider: 'wallet', status: 'pending' }])
      expect(await restarted.db.selectFrom('cw_orders').select('id').execute()).toEqual([])
      // Recovery there leaves it for a process that has the wallet, instead of failing on it every run.
      expect(await restarted.checkout.recover()).toEqual({ placed: 0, declined: 0, failed: 0 })
      expect(await shop.commerce.checkout.recover()).toEqual({ placed: 1, declined: 0, failed: 0 })
      expect(wallet.authorizations()).toBe(1)
    })
  })
}
