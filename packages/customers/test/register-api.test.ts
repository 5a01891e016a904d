import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Plugin } from '@cartwright/core'
// The HTTP layer from its source: @cartwright/http already depends on this package for its own
// tests, so it is not declared here (a dependency cycle in the workspace).
import { http, storeApi, type HttpCommerce } from '../../http/src/index.js'
import { openShop, STORAGES, type CustomerShop } from './support.js'

// Every password hash and verification is counted: a taken email must cost the same work as a new one.
const hashes = vi.hoisted(() => ({ count: 0, verified: 0 }))
vi.mock('@node-rs/argon2', async (original) => {
  const argon2 = await original<typeof import('@node-rs/argon2')>()
  return {
    ...argon2,
    hash: (...args: Parameters<typeof argon2.hash>) => (hashes.count++, argon2.hash(...args)),
    verify: (...args: Parameters<typeof argon2.verify>) => (hashes.verified++, argon2.verify(...args)),
  }
})

const PASSWORD = 'correct horse battery'

describe.each(STORAGES)('registering over the Store API on %s', (storage) => {
  let shop: CustomerShop
  let store: ReturnType<typeof storeApi>
  beforeEach(async () => {
    shop = await openShop(storage, undefined, { plugins: [http() as unknown as Plugin] })
    store = storeApi(shop.commerce as unknown as HttpCommerce, { validateOutput: true, logger: { error: () => undefined } })
  })
  afterEach(() => shop.close())

  /** `POST /store/account/register`: the status, the body as text, and the headers a client sees. */
  async function register(email: string, password = PASSWORD) {
    const before = hashes.count
    const response = await store.request('http://shop.test/account/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, firstName: 'Eve' }),
    })
    const headers = [...response.headers.entries()].filter(([name]) => name !== 'x-request-id' && name !== 'date')
    return { status: response.status, body: await response.text(), headers, hashed: hashes.count - before }
  }

  /** `POST /store/account/login`: the status, the error's code and message, and how many hashes were verified. */
  async function login(email: string, password: string) {
    const before = hashes.verified
    const response = await store.request('http://shop.test/account/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
    const body = (await response.json()) as { code?: string; message?: string; customer?: { email: string } }
    return { status: response.status, code: body.code ?? null, message: body.message ?? null, email: body.customer?.email ?? null, verified: hashes.verified - before }
  }

  /** The plugin's tables, row by row. */
  const customersTables = async () => Object.entries(await shop.allRows()).filter(([table]) => table.startsWith('customers_'))

  it('answers a taken email exactly as a new one, creates and changes nothing for it, and tells its owner', async () => {
    const { commerce } = shop
    const ada = await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const attempted: string[] = []
    const verifications: string[] = []
    commerce.events.on('customers.registration_attempted', (p) => void attempted.push(p.customerId))
    commerce.events.on('customers.verification_requested', (p) => void verifications.push(p.customerId))

    const fresh = await register('grace@example.com')
    const before = await customersTables()
    const taken = await register('ADA@example.com', 'the intruder’s password')

    expect(taken).toEqual(fresh)
    expect([fresh.status, JSON.parse(fresh.body)]).toEqual([200, { ok: true }])
    // The same work: the password was hashed for the taken email too.
    expect([fresh.hashed, taken.hashed]).toEqual([1, 1])
    // Nothing created or changed for the taken email: every table of the plugin as it was.
    expect(await customersTables()).toEqual(before)
    expect((await commerce.customers.list()).items.map((c) => c.email).sort()).toEqual(['ada@example.com', 'grace@example.com'])
    // Its owner is told; no verification mail goes out for it.
    const grace = (await commerce.customers.list({ email: 'grace@example.com' })).items[0]!
    expect(attempted).toEqual([ada.id])
    expect(verifications).toEqual([grace.id])
    // Ada's password is hers still.
    await commerce.customers.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'c' })
  })

  it('two registrations of one email at once: one account, and the other attempt is told to its owner', async () => {
    const { commerce } = shop
    const attempted: string[] = []
    commerce.events.on('customers.registration_attempted', (p) => void attempted.push(p.customerId))
    const answers = await Promise.all([register('lin@example.com'), register('LIN@example.com')])
    expect(answers.map((a) => [a.status, a.body])).toEqual([
      [200, '{"ok":true}'],
      [200, '{"ok":true}'],
    ])
    const { items } = await commerce.customers.list()
    expect(items).toHaveLength(1)
    expect(attempted).toEqual([items[0]!.id])
  })

  it('registering then logging in answers a new email as a taken one: the new password is in force only once the email is verified', async () => {
    const { commerce } = shop
    await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const probe = 'the prober’s password'
    expect((await register('ada@example.com', probe)).status).toBe(200)
    expect((await register('grace@example.com', probe)).status).toBe(200)

    const taken = await login('ada@example.com', probe)
    const fresh = await login('grace@example.com', probe)
    // The same answer after the same work (a hash verified for each), as for any wrong password.
    expect(fresh).toEqual(taken)
    expect(fresh).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS', verified: 1 })
    expect(await login('grace@example.com', 'a wrong password')).toEqual(fresh)
    const grace = (await commerce.customers.findByEmail('grace@example.com'))!
    expect([grace.hasAccount, grace.emailVerified]).toEqual([false, false])
    expect(await commerce.customers.accounts.listSessions(grace.id)).toEqual([])

    // Registering the email again chooses no password: the first one waits, unchanged.
    expect((await register('grace@example.com', 'a second password')).status).toBe(200)
    // The link mailed to the address proves it: the password chosen at registration is in force.
    await commerce.customers.accounts.verifyEmail({ token: await commerce.customers.accounts.mintVerificationToken(grace.id) })
    expect((await login('grace@example.com', 'a second password')).status).toBe(401)
    expect(await login('grace@example.com', probe)).toMatchObject({ status: 200, email: 'grace@example.com' })
    expect((await commerce.customers.get(grace.id)).hasAccount).toBe(true)
    // Ada's password is hers still.
    expect(await login('ada@example.com', PASSWORD)).toMatchObject({ status: 200, email: 'ada@example.com' })
  })
})
