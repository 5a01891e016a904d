/**
 * 0.1.0 kept a canceled order whose void or refund had not reached the gateway yet as a payment
 * `canceling`. The fixture holds none (its cancel succeeded), so this test makes two from it, as
 * 0.1.0 would have left them after a gateway failure, and checks that the upgrade turns each into
 * a pending operation sent with 0.1.0's gateway key: the gateway, which already knows that key,
 * replays instead of moving money twice.
 */
import { copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommerce } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { checkPaymentBooks, testGateway } from '@cartwright/testkit'
import { tempDir } from '../support/index.js'
import { FIXTURE_V0_1_0, fixtureComposition } from '../support/upgrade-checks.js'

interface Row {
  id: string
  order_id: string
  reference: string
  currency: string
  authorized_amount: number
  captured_amount: number
  refunded_amount: number
}

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The fixture with its authorized order canceled mid-void, and its captured order canceled mid-refund (refund not yet made). */
function fixtureWithCancelsInFlight(): { filename: string; voiding: Row; refunding: Row } {
  const dir = tempDir()
  cleanups.push(dir.remove)
  const filename = join(dir.dir, 'shop.db')
  copyFileSync(FIXTURE_V0_1_0, filename)
  const db = new Database(filename)
  try {
    const payments = db.prepare('select p.* from cw_payments p join cw_orders o on o.id = p.order_id order by o.number').all() as Row[]
    const voiding = payments.find((p) => p.captured_amount === 0)!
    const refunding = payments.find((p) => p.captured_amount > 0 && p.refunded_amount === p.captured_amount)!
    db.prepare("update cw_payments set status = 'canceling', failure = 'void' where id = ?").run(voiding.id)
    db.prepare("update cw_orders set status = 'canceled', payment_status = 'canceling' where id = ?").run(voiding.order_id)
    db.prepare("update cw_payments set status = 'canceling', failure = 'refund', refunded_amount = 0 where id = ?").run(refunding.id)
    db.prepare("update cw_orders set payment_status = 'canceling' where id = ?").run(refunding.order_id)
    return { filename, voiding, refunding: { ...refunding, refunded_amount: 0 } }
  } finally {
    db.close()
  }
}

describe('a 0.1.0 database with cancels whose payment step had not finished', () => {
  it('becomes pending operations under 0.1.0 keys, which cancel then finishes once at the gateway', async () => {
    const { filename, voiding, refunding } = fixtureWithCancelsInFlight()
    // The gateway as 0.1.0 left it: both charges, the first void already done under its key.
    const ledgerFile = `${filename}.gateway.json`
    const charge = (p: Row, voided: boolean) => ({
      reference: p.reference,
      paymentId: p.id,
      currency: p.currency,
      authorized: p.authorized_amount,
      captured: p.captured_amount,
      refunded: 0,
      voided,
      captures: p.captured_amount > 0 ? 1 : 0,
    })
    writeFileSync(
      ledgerFile,
      JSON.stringify({
        sequence: 100,
        charges: { [voiding.reference]: charge(voiding, true), [refunding.reference]: charge(refunding, false) },
        answers: { authorize: {}, capture: {}, void: { [`${voiding.id}:cancel`]: { status: 'succeeded', reference: 'void_1' } }, refund: {} },
      }),
    )
    const gateway = testGateway({ id: 'test', ledgerFile })
    const commerce = await createCommerce({ storage: sqliteStorage({ filename }), ...fixtureComposition(), payments: [gateway] })
    cleanups.push(() => commerce.close())

    for (const p of [voiding, refunding]) {
      const payment = await commerce.payments.get(p.id)
      expect(payment.status).toBe(p === voiding ? 'authorized' : 'captured')
      expect(payment.operations.filter((o) => o.status === 'pending')).toEqual([
        expect.objectContaining({ kind: p === voiding ? 'void' : 'refund', status: 'pending', gatewayKey: `${p.id}:cancel`, amount: p === voiding ? p.authorized_amount : p.captured_amount }),
      ])
    }

    const voided = await commerce.orders.cancel(voiding.order_id)
    expect(voided).toMatchObject({ status: 'canceled', paymentStatus: 'voided' })
    const refunded = await commerce.orders.cancel(refunding.order_id)
    expect(refunded).toMatchObject({ status: 'canceled', paymentStatus: 'refunded' })
    expect(gateway.calls.map((c) => [c.operation, c.idempotencyKey, c.outcome])).toEqual([
      ['void', `${voiding.id}:cancel`, 'replayed'],
      ['refund', `${refunding.id}:cancel`, 'done'],
    ])
    // 0.1.0's capture is recorded as a succeeded operation under its key, so the sums explain the amounts.
    expect((await commerce.payments.get(refunding.id)).operations.map((o) => [o.kind, o.status, o.gatewayKey])).toEqual([
      ['capture', 'succeeded', `${refunding.id}:capture`],
      ['refund', 'succeeded', `${refunding.id}:cancel`],
    ])
    expect(await checkPaymentBooks(commerce, gateway, voiding.order_id)).toEqual([])
    expect(await checkPaymentBooks(commerce, gateway, refunding.order_id)).toEqual([])
  })
})
