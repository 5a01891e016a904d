import { CommerceError, createCommerce, defineEndpoint, definePlugin, fixedRateTax, flatRateShipping, testPayments, type AnyPlugin, type Endpoint } from '@cartwright/core'
import { customers } from '@cartwright/customers'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { z } from 'zod'
// The PostgreSQL test harness is the adapter's own: a fresh database per shop on the server the
// vitest globalSetup started.
import { freshDatabase, type FreshDatabase } from '../../storage-postgres/test/support/fresh-database.js'
import { http } from '../src/index.js'

/** The storages every test runs on (PostgreSQL skipped only when CARTWRIGHT_SKIP_POSTGRES=1). */
export const STORAGES: ReadonlyArray<'sqlite' | 'postgres'> = process.env.CARTWRIGHT_SKIP_POSTGRES === '1' ? ['sqlite'] : ['sqlite', 'postgres']

export const ORIGIN = 'http://localhost'

type Engine = Awaited<ReturnType<typeof build>>

const cartSchema = z.object({ id: z.string(), currency: z.string(), email: z.string().nullable(), customerId: z.string().nullable(), lines: z.array(z.object({ variantId: z.string(), quantity: z.number() })) })
const view = (cart: { id: string; currency: string; email: string | null; customerId: string | null; lines: Array<{ variantId: string; quantity: number }> }) => ({
  id: cart.id,
  currency: cart.currency,
  email: cart.email,
  customerId: cart.customerId,
  lines: cart.lines.map((l) => ({ variantId: l.variantId, quantity: l.quantity })),
})

/**
 * Store endpoints of the test shop, standing in for core's routes: carts and orders by token or
 * session, checkout with an idempotency key, a rate-limited coupon guess.
 */
export function testEndpoints(): Endpoint[] {
  const createCart = defineEndpoint({
    surface: 'store',
    method: 'POST',
    path: '/t/carts',
    summary: 'Create a cart',
    access: 'public',
    credential: 'cart',
    input: z.strictObject({ currency: z.string().length(3) }),
    output: z.object({ id: z.string(), accessToken: z.string(), customerId: z.string().nullable() }),
    handler: async ({ input, actor, commerce }) => {
      const cart = await (commerce as Engine).carts.create({ currency: input.currency, ...(actor.kind === 'customer' ? { customerId: actor.customerId } : {}) })
      return { id: cart.id, accessToken: cart.accessToken!, customerId: cart.customerId ?? null }
    },
  })
  const getCart = defineEndpoint({
    surface: 'store',
    method: 'GET',
    path: '/t/carts/:cartId',
    summary: 'A cart',
    access: 'cart',
    input: z.strictObject({ cartId: z.string().max(100) }),
    output: cartSchema,
    handler: async ({ input, commerce }) => view(await (commerce as Engine).carts.get(input.cartId)),
  })
  const addLine = defineEndpoint({
    surface: 'store',
    method: 'POST',
    path: '/t/carts/:cartId/lines',
    summary: 'Add a line',
    access: 'cart',
    input: z.strictObject({ cartId: z.string().max(100), variantId: z.string().max(100), quantity: z.number().int().min(1).max(1000) }),
    output: cartSchema,
    handler: async ({ input: { cartId, ...line }, commerce }) => view(await (commerce as Engine).carts.addItem(cartId, line)),
  })
  const setEmail = defineEndpoint({
    surface: 'store',
    method: 'PATCH',
    path: '/t/carts/:cartId',
    summary: 'Set the email',
    access: 'cart',
    input: z.strictObject({ cartId: z.string().max(100), email: z.string().email().max(320) }),
    output: cartSchema,
    handler: async ({ input: { cartId, email }, commerce }) => view(await (commerce as Engine).carts.update(cartId, { email })),
  })
  const checkout = defineEndpoint({
    surface: 'store',
    method: 'POST',
    path: '/t/carts/:cartId/checkout',
    summary: 'Echo the idempotency key',
    access: 'cart',
    idempotent: true,
    rateLimit: { windowMs: 60_000, max: 1000 },
    input: z.strictObject({ cartId: z.string(), idempotencyKey: z.string() }),
    output: z.object({ key: z.string() }),
    handler: ({ input }) => ({ key: input.idempotencyKey }),
  })
  const guess = defineEndpoint({
    surface: 'store',
    method: 'POST',
    path: '/t/guess',
    summary: 'A rate-limited guess',
    access: 'public',
    rateLimit: { windowMs: 60_000, max: 3 },
    input: z.strictObject({ code: z.string().max(40) }),
    output: z.object({ ok: z.boolean() }),
    handler: () => ({ ok: false }),
  })
  const search = defineEndpoint({
    surface: 'store',
    method: 'GET',
    path: '/t/echo',
    summary: 'Echo the query',
    access: 'public',
    input: z.strictObject({ q: z.string().max(100), tag: z.union([z.string(), z.array(z.string())]).optional(), limit: z.coerce.number().int().min(1).max(50).optional() }),
    output: z.object({ q: z.string(), tag: z.union([z.string(), z.array(z.string())]).optional(), limit: z.number().optional(), actor: z.string() }),
    handler: ({ input, actor }) => ({ ...input, actor: actor.kind }),
  })
  const fail = defineEndpoint({
    surface: 'store',
    method: 'POST',
    path: '/t/fail/:how',
    summary: 'Throws what it is asked to',
    access: 'public',
    input: z.strictObject({ how: z.string() }),
    output: z.object({ ok: z.boolean() }),
    handler: ({ input }) => {
      if (input.how === 'crash') throw new Error('database password is hunter2')
      if (input.how === 'drift') return { ok: 'yes' } as unknown as { ok: boolean }
      if (input.how === 'storage') throw new CommerceError('STORAGE', 'postgres storage failed: duplicate key value violates unique constraint "secret_table_pkey"', { retryable: true, details: { sql: 'insert into secret_table' } })
      if (input.how === 'provider') throw new CommerceError('PROVIDER', 'gateway said: api key sk_live_hunter2 is invalid', { details: { raw: 'sk_live_hunter2' } })
      throw Object.assign(new (class extends Error {})('x'), {})
    },
  })
  const getOrder = defineEndpoint({
    surface: 'store',
    method: 'GET',
    path: '/t/orders/:orderId',
    summary: 'An order',
    access: 'order',
    input: z.strictObject({ orderId: z.string().max(100) }),
    output: z.object({ id: z.string(), customerId: z.string().nullable() }),
    handler: async ({ input, commerce }) => {
      const order = await (commerce as Engine).orders.get(input.orderId)
      return { id: order.id, customerId: order.customerId ?? null }
    },
  })
  return [createCart, getCart, addLine, setEmail, checkout, guess, search, fail, getOrder] as unknown as Endpoint[]
}

/** A plugin carrying the test endpoints. */
export const testRoutes = () => definePlugin({ id: 'test-routes', endpoints: testEndpoints() })

async function build(storage: 'sqlite' | 'postgres', database: FreshDatabase | undefined, file: string | undefined, plugins: AnyPlugin[], now?: () => Date) {
  return createCommerce({
    ...(now ? { now } : {}),
    storage: storage === 'sqlite' ? sqliteStorage({ filename: file ?? ':memory:' }) : postgresStorage({ connectionString: database!.url, pool: { max: 5 } }),
    payments: [testPayments()],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
    tax: fixedRateTax({ rate: '0' }),
    plugins: [http(), customers(), testRoutes(), ...plugins] as unknown as [ReturnType<typeof http>, ReturnType<typeof customers>],
    onListenerError: () => undefined,
  })
}

/** A shop with the http, customers and test-routes plugins, and one product in stock. */
export async function openShop(storage: 'sqlite' | 'postgres', options: { file?: string; plugins?: AnyPlugin[]; database?: FreshDatabase; now?: () => Date } = {}) {
  const database = storage === 'postgres' ? (options.database ?? (await freshDatabase())) : undefined
  const commerce = await build(storage, database, options.file, options.plugins ?? [], options.now)
  const location = await commerce.inventory.createLocation({ name: 'Main', code: 'main' })
  const product = await commerce.catalog.createProduct({ title: 'Sock', variants: [{ sku: 'SOCK', prices: [{ currency: 'USD', amount: 1500 }] }] })
  const variantId = product.variants[0]!.id
  await commerce.inventory.setStock({ variantId, locationId: location.id, onHand: 1000 })
  return {
    commerce,
    variantId,
    database,
    async close() {
      await commerce.close()
      if (!options.database) await database?.drop()
    },
  }
}

/** JSON request init. */
export function json(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }
}

/** The `Set-Cookie` headers of a response, by cookie name. */
export function cookiesOf(response: Response): Map<string, string> {
  const map = new Map<string, string>()
  for (const line of response.headers.getSetCookie()) map.set(line.slice(0, line.indexOf('=')), line)
  return map
}

/** Registers a customer and logs in: the customer's id and a session token. */
export async function signIn(commerce: Awaited<ReturnType<typeof openShop>>['commerce'], email: string): Promise<{ customerId: string; sessionToken: string }> {
  const customer = await commerce.customers.accounts.register({ email, password: 'correct horse battery staple' })
  const login = await commerce.customers.accounts.login({ email, password: 'correct horse battery staple', clientId: 'test' })
  return { customerId: customer.id, sessionToken: login.sessionToken }
}
