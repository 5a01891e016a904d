import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommerce } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { customers } from '../src/index.js'
import { FAST, openShop, rejection, STORAGES, type CustomerShop } from './support.js'

const PASSWORD = 'correct horse battery'
const FAST_HASHING = { memoryCost: 1024, timeCost: 1 }

describe.each(STORAGES)('customers security on %s', (storage) => {
  let shop: CustomerShop
  afterEach(async () => {
    await shop?.close()
  })

  const attempts = async (key: string) => {
    const { rows } = await sql<{ failures: number; locked_until: string | Date | null }>`select failures, locked_until from customers_attempts where key = ${key}`.execute(shop.commerce.db)
    return rows[0] ? { failures: Number(rows[0].failures), lockedUntil: rows[0].locked_until === null ? null : new Date(rows[0].locked_until).toISOString() } : null
  }

  it('logging into one’s own account does not reset the client’s count of failures', async () => {
    shop = await openShop(storage, { hashing: FAST_HASHING, maxClientFailures: 5 })
    const accounts = shop.commerce.customers.accounts
    await accounts.register({ email: 'mallory@example.com', password: PASSWORD })
    const client = '198.51.100.66'
    for (let i = 0; i < 4; i++) await rejection(accounts.login({ email: `victim${i}@example.com`, password: 'guess', clientId: client }))
    // A success in between: the client's count goes on.
    await accounts.login({ email: 'mallory@example.com', password: PASSWORD, clientId: client })
    expect((await attempts(`client:${client}`))?.failures).toBe(4)
    await rejection(accounts.login({ email: 'victim4@example.com', password: 'guess', clientId: client }))
    // Five failures from the client: it is locked, its owner's own account included.
    expect((await rejection(accounts.login({ email: 'mallory@example.com', password: PASSWORD, clientId: client }))).code).toBe('INVALID_CREDENTIALS')
  })

  it('40 wrong passwords at once lock the account, counted exactly', async () => {
    shop = await openShop(storage)
    const accounts = shop.commerce.customers.accounts
    const ada = await accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => accounts.login({ email: 'ada@example.com', password: `guess ${i}`, clientId: `client-${i}` })))
    expect(results.every((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'INVALID_CREDENTIALS')).toBe(true)
    // 20 counted (the limit), the 20 later attempts refused while the lock held, without counting.
    expect((await attempts(`account:${ada.id}`))?.failures).toBe(20)
    expect((await rejection(accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'fresh' }))).code).toBe('INVALID_CREDENTIALS')
  })

  it('failures during a lock neither count nor extend it: the lock ends on its own', async () => {
    shop = await openShop(storage, { hashing: FAST_HASHING, maxAccountFailures: 3, lockoutMs: 1_500 })
    const accounts = shop.commerce.customers.accounts
    const ada = await accounts.register({ email: 'ada@example.com', password: PASSWORD })
    for (let i = 0; i < 3; i++) await rejection(accounts.login({ email: 'ada@example.com', password: 'guess', clientId: `c${i}` }))
    const locked = await attempts(`account:${ada.id}`)
    expect(locked?.lockedUntil).not.toBeNull()
    await new Promise((r) => setTimeout(r, 20))
    for (let i = 0; i < 3; i++) await rejection(accounts.login({ email: 'ada@example.com', password: 'guess', clientId: `d${i}` }))
    expect(await attempts(`account:${ada.id}`)).toEqual(locked)
    await new Promise((r) => setTimeout(r, Math.max(0, new Date(locked!.lockedUntil!).getTime() - Date.now()) + 50))
    await accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'e' })
  })

  it('registering the email of a profile staff made sets nothing: its owner is mailed a link to set their own password, and the registrant never signs in', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const accounts = commerce.customers.accounts
    const owner = await commerce.customers.create({ email: 'owner@example.com', firstName: 'Owner' })
    const resets: string[] = []
    const verifications: string[] = []
    commerce.events.on('customers.password_reset_requested', (p) => void resets.push(p.customerId))
    commerce.events.on('customers.verification_requested', (p) => void verifications.push(p.customerId))
    const tables = async () => Object.entries(await shop.allRows()).filter(([table]) => table.startsWith('customers_'))
    const before = await tables()

    const attempt = await accounts.registerOrNotify({ email: 'Owner@example.com', password: 'attacker-password-1' })
    expect([attempt.outcome, attempt.customer.id, attempt.customer.hasAccount]).toEqual(['profile', owner.id, false])
    // The shop's own register gives the profile no password either.
    expect(await accounts.register({ email: 'owner@example.com', password: 'attacker-password-2' })).toMatchObject({ id: owner.id, hasAccount: false })
    // Nothing created or set; the owner is mailed the link that sets a password, no verification mail.
    expect(await tables()).toEqual(before)
    expect(resets).toEqual([owner.id, owner.id])
    expect(verifications).toEqual([])

    // The owner opens a verification mail (one they asked for, or one sent for any other reason):
    // the email is theirs, and no typed password comes with it.
    await accounts.verifyEmail({ token: await accounts.mintVerificationToken(owner.id) })
    for (const password of ['attacker-password-1', 'attacker-password-2']) {
      expect((await rejection(accounts.login({ email: 'owner@example.com', password, clientId: 'attacker' }))).code).toBe('INVALID_CREDENTIALS')
    }
    // The owner sets a password of their own by the mailed link, and signs in with it.
    await accounts.resetPassword({ token: await accounts.mintResetToken(owner.id), password: 'the owner’s own secret' })
    const { customer } = await accounts.login({ email: 'owner@example.com', password: 'the owner’s own secret', clientId: 'owner' })
    expect(customer).toMatchObject({ id: owner.id, hasAccount: true, emailVerified: true, firstName: 'Owner' })
    expect((await rejection(accounts.login({ email: 'owner@example.com', password: 'attacker-password-1', clientId: 'attacker' }))).code).toBe('INVALID_CREDENTIALS')
    expect((await accounts.listSessions(owner.id)).map((s) => s.id)).toHaveLength(1)
  })

  it('a password change ends the other sessions and voids reset links; an email change voids them too', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const accounts = commerce.customers.accounts
    const ada = await accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const here = await accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'c' })
    const elsewhere = await accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'd' })
    const link = await accounts.mintResetToken(ada.id)
    await accounts.changePassword(ada.id, { currentPassword: PASSWORD, newPassword: 'a brand new secret', keepSessionId: here.session.id })
    expect((await accounts.authenticate(here.sessionToken)).id).toBe(ada.id)
    expect((await rejection(accounts.authenticate(elsewhere.sessionToken))).code).toBe('SESSION_INVALID')
    expect((await rejection(accounts.resetPassword({ token: link, password: 'the thief’s secret' }))).code).toBe('TOKEN_INVALID')

    const second = await accounts.mintResetToken(ada.id)
    await commerce.customers.update(ada.id, { email: 'ada.new@example.com' })
    expect((await rejection(accounts.resetPassword({ token: second, password: 'the thief’s secret' }))).code).toBe('TOKEN_INVALID')
    await accounts.login({ email: 'ada.new@example.com', password: 'a brand new secret', clientId: 'c' })
  })

  it('two logins at once with one guest cart copy its lines once', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const ada = await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const own = await commerce.carts.create({ currency: 'USD', customerId: ada.id })
    await commerce.carts.addItem(own.id, { variantId: shop.variant(shop.c), quantity: 1 })
    const guest = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.b), quantity: 2 })
    const logins = await Promise.all([0, 1].map((i) => commerce.customers.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: `tab-${i}`, guestCartId: guest.id })))
    expect(logins.every((l) => l.merge!.cart.id === own.id)).toBe(true)
    const merged = await commerce.carts.get(own.id)
    expect(Object.fromEntries(merged.lines.map((l) => [l.variantId, l.quantity]))).toEqual({ [shop.variant(shop.b)]: 2, [shop.variant(shop.c)]: 1 })
    expect((await commerce.carts.get(guest.id)).lines).toEqual([])
    // And two merges called at once (a retry), the guest cart filled again meanwhile.
    await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.b), quantity: 1 })
    await Promise.all([0, 1].map(() => commerce.customers.mergeCarts({ customerId: ada.id, guestCartId: guest.id })))
    expect((await commerce.carts.get(own.id)).lines.map((l) => l.quantity)).toEqual([1, 3])
  })

  it('two customers taking over one guest cart at once: one gets it, the other is refused', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const ada = await commerce.customers.create({ email: 'ada@example.com' })
    const bob = await commerce.customers.create({ email: 'bob@example.com' })
    const guest = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.b), quantity: 1 })
    const results = await Promise.allSettled([ada, bob].map((c) => commerce.customers.mergeCarts({ customerId: c.id, guestCartId: guest.id })))
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(lost.reason.code).toBe('INVALID_STATE')
    expect((await commerce.carts.get(guest.id)).customerId).toBe((won[0] as PromiseFulfilledResult<{ cart: { customerId: string } }>).value.cart.customerId)
    // The core condition on its own: a cart that has a customer is not given to another.
    expect((await rejection(commerce.carts.update(guest.id, { customerId: 'cus_other', ifCustomerId: null }))).fields).toContain('ifCustomerId')
  })

  it('an order event still in the outbox adds nothing to an erased customer’s timeline', async () => {
    shop = await openShop(storage, undefined, { outbox: { enabled: false } })
    const { commerce } = shop
    const ada = await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
    const cart = await commerce.carts.create({ currency: 'USD', customerId: ada.id })
    await commerce.carts.addItem(cart.id, { variantId: shop.variant(shop.b), quantity: 1 })
    await shop.checkout(cart.id, 'ada@example.com')
    // Erased by email: the order.placed waiting in the outbox still names the customer's id.
    await commerce.privacy.erase({ email: 'ada@example.com' })
    await commerce.outbox.drain({ timeoutMs: 5_000 })
    const { rows } = await sql<{ kind: string }>`select kind from customers_timeline where customer_id = ${ada.id}`.execute(commerce.db)
    expect(rows.map((r) => r.kind)).toEqual(['privacy_erase'])
  })

  it('two concurrent assignCustomer calls never both report an order', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const guest = await commerce.carts.create({ currency: 'USD' })
    await commerce.carts.addItem(guest.id, { variantId: shop.variant(shop.b), quantity: 1 })
    const order = await shop.checkout(guest.id, 'ada@example.com')
    const assign = (customerId: string) => commerce.orders.assignCustomer({ email: 'ada@example.com', customerId })
    let results: Array<{ orderIds: string[] }>
    if (storage === 'postgres') {
      // Both calls read the order before either writes: the row is locked until both have read it.
      let release!: () => void
      const released = new Promise<void>((r) => (release = r))
      let locked!: () => void
      const isLocked = new Promise<void>((r) => (locked = r))
      const locker = commerce.db.transaction().execute(async (trx) => {
        await sql`select id from cw_orders where id = ${order.id} for update`.execute(trx)
        locked()
        await released
      })
      await isLocked
      const calls = [assign('cus_first'), assign('cus_second')]
      await new Promise((r) => setTimeout(r, 500))
      release()
      await locker
      results = await Promise.all(calls)
    } else {
      results = await Promise.all([assign('cus_first'), assign('cus_second')])
    }
    const reported = results.flatMap((r) => r.orderIds)
    expect(reported).toEqual([order.id])
    const winner = results[0]!.orderIds.length ? 'cus_first' : 'cus_second'
    expect((await commerce.orders.get(order.id)).customerId).toBe(winner)
  })
})

describe('upgrading to version 3 of the tables', () => {
  it('drops the passwords registrations left waiting on profiles staff made, and no other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'customers-0003-'))
    const open = () => createCommerce({ storage: sqliteStorage({ filename: join(dir, 'shop.db') }), plugins: [customers(FAST)] })
    try {
      let commerce = await open()
      const claimed = await commerce.customers.create({ email: 'owner@example.com' })
      const ada = await commerce.customers.accounts.register({ email: 'ada@example.com', password: PASSWORD })
      // The shape a claim left before version 3: a stranger's password waiting on the profile.
      await sql`update customers_customers set pending_password_hash = 'a claim' where id = ${claimed.id}`.execute(commerce.db)
      await sql`delete from cw_migrations_customers where name = '0003_no_claims'`.execute(commerce.db)
      await commerce.close()
      commerce = await open()
      const { rows } = await sql<{ id: string; password_hash: string | null; pending_password_hash: string | null }>`select id, password_hash, pending_password_hash from customers_customers order by email`.execute(commerce.db)
      expect(rows.map((r) => [r.id, r.password_hash !== null, r.pending_password_hash])).toEqual([
        [ada.id, true, null],
        [claimed.id, false, null],
      ])
      await commerce.customers.accounts.login({ email: 'ada@example.com', password: PASSWORD, clientId: 'c' })
      await commerce.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
