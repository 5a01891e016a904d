import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkPaymentBooks, testGateway } from '@cartwright/testkit'
import { key, openEngine, openShop, placed, readyCart, startWorker, tempDir, type Place, type Shop, type WorkerProcess } from '../support/index.js'

let shop: Shop | undefined
let worker: WorkerProcess | undefined
afterEach(async () => {
  await worker?.kill()
  await shop?.close()
  shop = worker = undefined
})

describe('a process killed between the gateway answering a capture and the engine recording it', () => {
  it('leaves the capture pending; recovery in another process sends it again under its key and the books match the gateway', async () => {
    const dir = tempDir()
    const ledgerFile = join(dir.dir, 'gateway.json')
    const first = testGateway({ id: 'gateway', ledgerFile })
    shop = await openShop({ storage: 'sqlite-file', payments: [first] })
    const cart = await readyCart(shop.commerce, shop.variantId)
    const order = placed(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
    const place = shop.place as Place

    worker = startWorker('payment-worker')
    const answered = new Promise<string>((resolve) => worker!.child.on('message', (m: { answered?: string }) => m.answered && resolve(m.answered)))
    const capturing = worker.request({ type: 'capture', place, ledgerFile, orderId: order.id }).catch((e: unknown) => e)
    const operationId = await answered
    await worker.kill()
    expect(await capturing).toBeInstanceOf(Error)

    // The gateway captured (its ledger survived the kill); the engine still has the capture pending.
    const gateway = testGateway({ id: 'gateway', ledgerFile })
    const paymentId = order.payments[0]!.id
    expect(gateway.chargeFor(paymentId)).toMatchObject({ captured: order.totals.total })
    let clock = Date.now()
    const engine = await openEngine(place, { migrate: false, payments: [gateway], now: () => new Date(clock) })
    try {
      const before = await engine.payments.get(paymentId)
      expect(before).toMatchObject({ status: 'authorized', capturedAmount: 0 })
      expect(before.operations).toEqual([expect.objectContaining({ id: operationId, kind: 'capture', status: 'pending' })])
      // Still leased to the dead process: neither a retry nor recovery takes it over yet.
      expect(await engine.payments.recover()).toEqual({ succeeded: 0, failed: 0, unanswered: 0 })
      clock += 60_000
      expect(await engine.payments.recover()).toEqual({ succeeded: 1, failed: 0, unanswered: 0 })
      expect(gateway.calls.map((c) => [c.operation, c.idempotencyKey, c.outcome])).toEqual([['capture', before.operations[0]!.gatewayKey, 'replayed']])
      expect(await engine.payments.get(paymentId)).toMatchObject({ status: 'captured', capturedAmount: order.totals.total })
      expect(await checkPaymentBooks(engine, gateway, order.id)).toEqual([])
      // The caller's retry with its key now replays the recorded capture.
      expect((await engine.orders.capturePayment(order.id, { idempotencyKey: 'capture-before-the-crash' })).paymentStatus).toBe('captured')
      expect(gateway.calls).toHaveLength(1)
    } finally {
      await engine.close()
      dir.remove()
    }
  })
})
