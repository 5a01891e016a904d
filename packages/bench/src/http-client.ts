/**
 * A client process of the HTTP checkout bench (http-checkout.ts forks it). It does the
 * storefront's checkout through the Store API with `fetch` (keep-alive: undici's global pool),
 * one or more shoppers at a time, and reports when it started and ended (epoch ms, comparable
 * across processes), its CPU time and every checkout's latency. Driven over IPC:
 * `run` does N checkouts with C concurrent shoppers; the parent closing the channel ends it.
 *
 *   node --import tsx --conditions=cartwright-source src/http-client.ts   (with an IPC channel)
 */
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'

/** What a shopper buys and sends; the workload's `SEED` (shop.ts), passed in so this process loads no engine code. */
export interface ClientShop {
  variantId: string
  currency: string
  email: string
  address: Record<string, string>
  shippingOptionId: string
  /** Every order must total this. */
  expectedTotal: number
}

export interface ClientRun {
  /** The Store API's base URL, e.g. `http://127.0.0.1:40123`. */
  baseUrl: string
  shop: ClientShop
  checkouts: number
  concurrency: number
  /** This process's part of the client addresses it sends as `X-Forwarded-For` (hex, 1–4 digits). */
  clientPrefix: string
}

export interface ClientRunResult {
  checkouts: number
  /** Epoch milliseconds (performance.timeOrigin + now), comparable across processes. */
  startedAt: number
  endedAt: number
  /** This process's CPU (user + system) during the run, ms. */
  cpuMs: number
  /** Every checkout's duration, ms. */
  latencies: number[]
  /** HTTP requests made. */
  requests: number
}

export type ClientRequest = { id: number; type: 'run'; run: ClientRun }
export type ClientReply = { id: number; ok: true; result: ClientRunResult } | { id: number; ok: false; error: string }

const epochNow = () => performance.timeOrigin + performance.now()
let requests = 0
let shopperSequence = 0

/** One request; any status but 200 fails the run with the server's answer. */
async function send(baseUrl: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<any> {
  requests++
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`)
  return JSON.parse(text)
}

/**
 * One shopper's checkout over HTTP, the storefront's steps: open a cart (id and token), add the
 * line, set email and address, read the shipping options and choose the flat rate, check out
 * with an Idempotency-Key (and confirm, if the gateway asked for a customer action). Returns
 * the order's total.
 */
export async function httpCheckout(baseUrl: string, shop: ClientShop, client: string): Promise<number> {
  // Every checkout is another shopper, as the proxy in front reports it (the rate limits count per client).
  const shopper = { 'x-forwarded-for': client }
  const cart = await send(baseUrl, 'POST', '/carts', shopper, { currency: shop.currency })
  const path = `/carts/${cart.id as string}`
  const auth = { ...shopper, 'x-cart-token': cart.accessToken as string }
  await send(baseUrl, 'POST', `${path}/lines`, auth, { variantId: shop.variantId, quantity: 1 })
  await send(baseUrl, 'PATCH', path, auth, { email: shop.email, shippingAddress: shop.address })
  const options = (await send(baseUrl, 'GET', `${path}/shipping-options`, auth)) as Array<{ id: string }>
  const option = options.find((o) => o.id === shop.shippingOptionId)
  if (!option) throw new Error(`no ${shop.shippingOptionId} among the shipping options: ${JSON.stringify(options)}`)
  await send(baseUrl, 'PUT', `${path}/shipping-option`, auth, { optionId: option.id })
  let result = await send(baseUrl, 'POST', `${path}/checkout`, { ...auth, 'idempotency-key': randomUUID() }, { payment: { provider: 'test' } })
  if (result.status === 'requires_action') result = await send(baseUrl, 'POST', `${path}/checkout/confirm`, auth, {})
  if (result.status !== 'placed') throw new Error(`checkout answered ${JSON.stringify(result).slice(0, 300)}`)
  return result.totals.total as number
}

/** `count` checkouts, `concurrency` shoppers at a time; each starts the next checkout when one ends. */
async function run(options: ClientRun): Promise<ClientRunResult> {
  const latencies: number[] = []
  const before = requests
  const cpu = process.cpuUsage()
  const startedAt = epochNow()
  let next = 0
  const shopper = async () => {
    while (next < options.checkouts) {
      next++
      const n = ++shopperSequence
      // A distinct (unique local IPv6) client network per checkout: the rate limits count an IPv6 client by its /64.
      const client = `fd00:${options.clientPrefix}:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::1`
      const start = performance.now()
      const total = await httpCheckout(options.baseUrl, options.shop, client)
      latencies.push(performance.now() - start)
      if (total !== options.shop.expectedTotal) throw new Error(`an order totalled ${total}, expected ${options.shop.expectedTotal}`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.checkouts) }, shopper))
  const endedAt = epochNow()
  const used = process.cpuUsage(cpu)
  return { checkouts: options.checkouts, startedAt, endedAt, cpuMs: (used.user + used.system) / 1000, latencies, requests: requests - before }
}

process.on('message', (message: ClientRequest) => {
  const reply = (answer: ClientReply) => process.connected && process.send!(answer)
  run(message.run).then(
    (result) => reply({ id: message.id, ok: true, result }),
    (error: unknown) => reply({ id: message.id, ok: false, error: (error as Error)?.stack ?? String(error) }),
  )
})
process.on('disconnect', () => process.exit(0))
