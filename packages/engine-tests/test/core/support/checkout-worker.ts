/**
 * One process of the multi-process oversell test (test/oversell.test.ts). It opens the shared
 * SQLite file, prepares its carts, prints `ready`, waits for `go` on stdin so that every
 * process races at once, completes all its carts concurrently and prints a JSON summary.
 *
 * Run from packages/engine-tests: node --import tsx --conditions=cartwright-source test/core/support/checkout-worker.ts
 * Input: the JSON of {@link WorkerInput} in argv[2].
 */
import { createInterface } from 'node:readline'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { createCommerce, fixedRateTax, flatRateShipping, isCommerceError, testPayments } from '@cartwright/core'
import { key, readyCart } from './shop.js'

export interface WorkerInput {
  filename: string
  variantId: string
  carts: number
  quantity: number
  busyTimeoutMs: number
  /** How long the test gateway takes to answer each authorization. */
  gatewayDelayMs: number
}

export interface WorkerSummary {
  pid: number
  placed: number
  outOfStock: number
  /** `code: message` of every other failure. */
  otherErrors: string[]
  /** Authorizations that reached this process's test gateway ledger. */
  authorizations: number
  orderIds: string[]
  elapsedMs: number
}

const input = JSON.parse(process.argv[2]!) as WorkerInput
const payments = testPayments()
const commerce = await createCommerce({
  storage: sqliteStorage({ filename: input.filename, busyTimeoutMs: input.busyTimeoutMs }),
  payments: [payments],
  shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
  tax: fixedRateTax({ rate: '8' }),
  outbox: { enabled: false },
  onListenerError: () => undefined,
})

const carts = []
for (let i = 0; i < input.carts; i++) carts.push(await readyCart(commerce, input.variantId, input.quantity))

const lines = createInterface({ input: process.stdin })
process.stdout.write('ready\n')
await new Promise<void>((resolve) => lines.once('line', () => resolve()))
lines.close()
payments.setDefault({ delayMs: input.gatewayDelayMs })

const started = performance.now()
const results = await Promise.allSettled(carts.map((cart) => commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() })))
const summary: WorkerSummary = {
  pid: process.pid,
  placed: 0,
  outOfStock: 0,
  otherErrors: [],
  authorizations: payments.authorizations(),
  orderIds: [],
  elapsedMs: Math.round(performance.now() - started),
}
for (const result of results) {
  if (result.status === 'fulfilled') {
    summary.placed++
    summary.orderIds.push(result.value.id)
  } else if (isCommerceError(result.reason, 'OUT_OF_STOCK')) {
    summary.outOfStock++
  } else {
    const error = result.reason as { code?: string; message?: string }
    summary.otherErrors.push(`${error?.code ?? 'ERROR'}: ${error?.message ?? String(error)}`)
  }
}
await commerce.close()
process.stdout.write(`${JSON.stringify(summary)}\n`)
