import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Commerce } from '@cartwright/core'
import { testGateway } from '@cartwright/testkit'
import { failure, GUARDED_STORAGES, key, openShop, placed, readyCart, type Shop } from '../support/index.js'

/**
 * Card data never enters the engine: payment data from the shopper's client that looks like a
 * card number (13–19 digits passing Luhn, grouped or not, anywhere in a value, a key or a number)
 * or a card field (cvc, cvv, card_number, pan, number next to an expiry…) is refused with
 * VALIDATION naming the field, before anything is stored. Afterwards every row of every table,
 * every log line and every outbox payload is scanned: no test card number is anywhere.
 */

/** Published test card numbers (Stripe's), as a shopper would type them. */
const CARDS = [
  '4242 4242 4242 4242',
  '4000 0566 5566 5556',
  '5555 5555 5555 4444',
  '2223 0031 2200 3222',
  '5200 8282 8282 8210',
  '3782 822463 10005',
  '3714 496353 98431',
  '6011 1111 1111 1117',
  '6011 0009 9013 9424',
  '3056 9300 0902 0004',
  '3566 0020 2036 0505',
  '6200 0000 0000 0005',
  '4000 0025 0000 3155',
]
const digits = (card: string) => card.replace(/\D/g, '')

/** The ways a card number or security code can arrive in `payment.data`, and the field the error must name. */
function shapes(card: string): Array<{ name: string; data: Record<string, unknown>; field: string }> {
  const plain = digits(card)
  return [
    { name: 'a number next to an expiry', data: { card: { number: plain, exp_month: 12, exp_year: 2030 } }, field: 'payment.data.card.number' },
    { name: 'spaced, in a value', data: { token: card }, field: 'payment.data.token' },
    { name: 'dashed, inside a text, nested in a list', data: { wallet: { notes: ['ok', `pan ${card.replace(/ /g, '-')} exp 12/30`] } }, field: 'payment.data.wallet.notes.1' },
    { name: 'plain digits', data: { source: plain }, field: 'payment.data.source' },
    ...(Number.isSafeInteger(Number(plain)) ? [{ name: 'a JSON number', data: { meta: { n: Number(plain) } }, field: 'payment.data.meta.n' }] : []),
    { name: 'a key', data: { cards: { [plain]: true } }, field: 'payment.data.cards' },
    { name: 'a cvc field', data: { paymentMethod: 'pm_1', cvc: plain.slice(-3) }, field: 'payment.data.cvc' },
    { name: 'a CVV2 field', data: { card: { CVV2: plain.slice(-4) } }, field: 'payment.data.card.CVV2' },
    { name: 'a security_code field', data: { security_code: '123' }, field: 'payment.data.security_code' },
    { name: 'a card_number field', data: { card_number: 'on file' }, field: 'payment.data.card_number' },
  ]
}

/** Every row of every table, as text: the tables are read from the database's own catalog. */
async function everyRow(commerce: Commerce, storage: string): Promise<string> {
  const tables =
    storage === 'postgres'
      ? (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(commerce.db)).rows
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(commerce.db)).rows
  expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['cw_payments', 'cw_outbox', 'cw_orders', 'cw_carts']))
  const texts: string[] = []
  for (const { name } of tables) {
    const { rows } = await sql`select * from ${sql.table(name)}`.execute(commerce.db)
    texts.push(`${name}: ${JSON.stringify(rows)}`)
  }
  return texts.join('\n')
}

/** The cards found in `text`, written as typed or with separators dropped. */
function cardsIn(text: string): string[] {
  const squeezed = text.replace(/[\s-]/g, '')
  return CARDS.filter((card) => text.includes(card) || squeezed.includes(digits(card)))
}

describe.each(GUARDED_STORAGES)('card data in payment data, on %s', (storage) => {
  let shop: Shop | undefined
  let logged: string[] = []
  beforeEach(() => {
    logged = []
    for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack} ${JSON.stringify(a)}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '))
      })
    }
  })
  afterEach(async () => {
    vi.restoreAllMocks()
    await shop?.close()
    shop = undefined
  })

  it('is refused with VALIDATION naming the field, before anything is stored; no table, log line or outbox payload holds a card number afterwards', async () => {
    const gateway = testGateway({ id: 'gateway' })
    // The engine's own console reporting stays on: anything it would log is captured above.
    shop = await openShop({ storage, payments: [gateway], stock: 1000, onListenerError: undefined })
    const { commerce } = shop
    const events: unknown[] = []
    for (const type of ['order.placed', 'payment.authorized', 'payment.captured', 'payment.refunded', 'payment.declined'] as const) {
      commerce.events.on(type, (payload) => void events.push(payload))
    }
    const cart = await readyCart(commerce, shop.variantId, 1)
    const before = await everyRow(commerce, storage)

    let refused = 0
    for (const card of CARDS) {
      for (const shape of shapes(card)) {
        const what = `${shape.name} (${card})`
        const error = await failure(commerce.checkout.complete(cart.id, { payment: { provider: 'gateway', data: shape.data }, idempotencyKey: key() }), 'VALIDATION', what)
        expect(error.details['fields'], what).toContain(shape.field)
        expect(cardsIn(`${error.message} ${JSON.stringify(error)} ${JSON.stringify(error.details)}`), what).toEqual([])
        // A host logs the errors it gets: scanned with the console's lines below.
        logged.push(error.message)
        refused++
      }
    }
    expect(refused).toBeGreaterThanOrEqual(CARDS.length * 9)
    expect(gateway.calls).toEqual([])
    // Nothing was stored: every table as it was.
    expect(await everyRow(commerce, storage)).toBe(before)

    // The same cart checks out with a token, its money moves, and events are written.
    const order = placed(await commerce.checkout.complete(cart.id, { payment: { provider: 'gateway', data: { token: 'tok_visa', wallet: { issuedAt: 1767225600000 } } }, idempotencyKey: key() }))
    await commerce.orders.capturePayment(order.id)
    await commerce.orders.refund(order.id, { amount: 100 })
    await commerce.outbox.drain()

    const stored = await everyRow(commerce, storage)
    expect(stored).toContain('tok_visa')
    expect(stored).toContain('order.placed')
    expect(cardsIn(stored)).toEqual([])
    expect(cardsIn(JSON.stringify(events))).toEqual([])
    const outbox = await commerce.db.selectFrom('cw_outbox').select('payload').execute()
    expect(outbox.length).toBeGreaterThan(0)
    expect(cardsIn(outbox.map((r) => r.payload).join('\n'))).toEqual([])
    expect(logged.length).toBeGreaterThan(0)
    expect(cardsIn(logged.join('\n'))).toEqual([])

    // The scan finds a number where one is stored (cart metadata is not payment data): it can fail.
    const other = await commerce.carts.create({ currency: 'USD', metadata: { note: CARDS[0]! } })
    expect(cardsIn(await everyRow(commerce, storage))).toEqual([CARDS[0]])
    expect(other.id).toBeTruthy()
  })

  it('accepts tokens, wallet payloads with millisecond timestamps, ids and short numbers', async () => {
    shop = await openShop({ storage })
    const { commerce } = shop
    const cart = await readyCart(commerce, shop.variantId, 1)
    const data = {
      paymentMethod: 'pm_1N3xYz2eZvKYlo2C8Jk4',
      wallet: { type: 'apple_pay', issuedAt: 1767225600000, transactionId: 'a1b2c3d4e5f6' },
      billingPhone: '+44 20 7946 0958',
      installments: 3,
      numberOfItems: 2,
    }
    const order = placed(await commerce.checkout.complete(cart.id, { payment: { provider: 'test', data }, idempotencyKey: key() }))
    expect(order.status).toBe('placed')
    expect(shop.payments.calls.find((c) => c.operation === 'authorize')).toBeDefined()
  })
})
