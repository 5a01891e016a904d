/**
 * An app process that dies in the middle of a payment operation (test/core/payment-crash.test.ts):
 * `capture` opens an engine on the shared SQLite file with a test gateway whose ledger lives in a
 * file, and captures an order's payment. Once the gateway has answered, and before the engine has
 * recorded the answer, the worker tells the parent (`{ answered: operationId }`) and waits there
 * to be killed.
 */
import { testGateway } from '@cartwright/testkit'
import { openEngine, type Place } from '../shop.js'
import { serveRequests, type WorkerRequest } from '../worker.js'

serveRequests(async (message: WorkerRequest) => {
  if (message.type !== 'capture') throw new Error(`unknown request ${message.type}`)
  const { place, ledgerFile, orderId } = message as unknown as { place: Place; ledgerFile: string; orderId: string }
  const gateway = testGateway({ id: 'gateway', ledgerFile })
  const commerce = await openEngine(place, {
    migrate: false,
    payments: [gateway],
    testPoints: {
      'payment.operation.answered': async ({ operationId }) => {
        process.send!({ answered: operationId })
        await new Promise(() => undefined)
      },
    },
  })
  return commerce.orders.capturePayment(orderId, { idempotencyKey: 'capture-before-the-crash' })
})
