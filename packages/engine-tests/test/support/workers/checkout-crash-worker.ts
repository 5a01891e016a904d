/**
 * An app process that dies between the gateway's answer to a checkout's authorization and the
 * engine recording it (test/core/payment-recovery.test.ts): `checkout` opens an engine on the
 * shared database with a test gateway whose ledger lives in a file, and completes a cart. Once the
 * gateway has answered, and before the engine has stored the answer, the worker tells the parent
 * (`{ answered: paymentId }`) and waits there to be killed.
 */
import { testGateway } from '@cartwright/testkit'
import { openEngine, type Place } from '../shop.js'
import { serveRequests, type WorkerRequest } from '../worker.js'

serveRequests(async (message: WorkerRequest) => {
  if (message.type !== 'checkout') throw new Error(`unknown request ${message.type}`)
  const { place, ledgerFile, cartId, idempotencyKey } = message as unknown as { place: Place; ledgerFile: string; cartId: string; idempotencyKey: string }
  const gateway = testGateway({ id: 'gateway', ledgerFile })
  const commerce = await openEngine(place, {
    migrate: false,
    payments: [gateway],
    testPoints: {
      'checkout.authorize.answered': async ({ paymentId }) => {
        process.send!({ answered: paymentId })
        await new Promise(() => undefined)
      },
    },
  })
  return commerce.checkout.complete(cartId, { payment: { provider: 'gateway' }, idempotencyKey })
})
