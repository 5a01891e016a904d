import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  allocate,
  applyRate,
  computeTotals,
  fixedRateTax,
  formatAmount,
  itemTaxes,
  lineDiscounts,
  parseAmount,
  percent,
  type Adjustment,
  type PricedLine,
} from '@cartwright/core'
import { assertTotalsViews, failure, key, openShop, placed, readyCart, shownTotals, type Shop } from '../support/index.js'

/**
 * Acceptance: allocation parts sum to the whole and stay within one minor unit of their
 * share; totals = Σ lines − discounts + shipping + tax, for 0-, 2- and 3-decimal currencies.
 * Expectations are computed here with BigInt rationals, independently of the code under test.
 */

const MAX = Number.MAX_SAFE_INTEGER
const big = (n: number) => BigInt(n)
const sum = (values: readonly bigint[]) => values.reduce((a, b) => a + b, 0n)
const abs = (n: bigint) => (n < 0n ? -n : n)
/** Normalises -0 to 0 so that deep equality compares amounts, not signs of zero. */
const plain = (n: number) => (n === 0 ? 0 : n)

/** An exact percentage `text` as numerator / denominator, parsed here rather than by `percent`. */
function rational(text: string): { n: bigint; d: bigint } {
  const [whole, fraction = ''] = text.split('.')
  return { n: BigInt(`${whole}${fraction}`), d: 100n * 10n ** BigInt(fraction.length) }
}

/** `x · n / d` rounded half away from zero, for x ≥ 0. */
function roundHalfUp(x: bigint, r: { n: bigint; d: bigint }): bigint {
  const q = (x * r.n) / r.d
  const rem = (x * r.n) % r.d
  return 2n * rem >= r.d ? q + 1n : q
}

/** Percentages as shops write them: '8', '20', '8.875', '0.5', '19.00'. */
const percentText = fc
  .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 999 }))
  .map(([whole, digits, fraction]) => (digits === 0 ? `${whole}` : `${whole}.${String(fraction % 10 ** digits).padStart(digits, '0')}`))

const CURRENCIES = [
  { currency: 'JPY', exponent: 0 },
  { currency: 'USD', exponent: 2 },
  { currency: 'KWD', exponent: 3 },
] as const

describe('allocate', () => {
  const total = fc.oneof(
    fc.integer({ min: -100_000, max: 100_000 }),
    fc.maxSafeInteger(),
    // Near 2^53, where a float share would already be wrong.
    fc.bigInt({ min: 2n ** 52n, max: 2n ** 53n - 1n }).map((n) => Number(n)),
    fc.bigInt({ min: 2n ** 52n, max: 2n ** 53n - 1n }).map((n) => -Number(n)),
  )
  const weights = fc.oneof(
    fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 12 }),
    fc.array(fc.maxSafeNat(), { minLength: 1, maxLength: 8 }),
    fc.array(fc.constant(0), { minLength: 1, maxLength: 6 }),
    fc.array(fc.oneof(fc.constant(0), fc.nat({ max: 3 })), { minLength: 1, maxLength: 10 }),
  )

  it('returns parts that sum exactly to the total, each within one minor unit of its exact share', () => {
    fc.assert(
      fc.property(total, weights, (t, ws) => {
        const parts = allocate(t, ws)
        expect(parts).toHaveLength(ws.length)
        for (const p of parts) expect(Number.isSafeInteger(p)).toBe(true)
        expect(sum(parts.map(big))).toBe(big(t))
        // All-zero weights split evenly: every part weighs 1.
        const effective = ws.every((w) => w === 0) ? ws.map(() => 1n) : ws.map(big)
        const W = sum(effective)
        parts.forEach((p, i) => {
          // |part − t·wᵢ/W| < 1  ⇔  |part·W − t·wᵢ| < W
          expect(abs(big(p) * W - big(t) * effective[i]!) < W).toBe(true)
          // No part takes the opposite sign of the total.
          expect(p === 0 || Math.sign(p) === Math.sign(t)).toBe(true)
        })
      }),
      { numRuns: 500 },
    )
  })

  it('gives the leftover units to the largest remainders, earlier parts winning ties', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), weights, (t, ws) => {
        const parts = allocate(t, ws)
        const effective = ws.every((w) => w === 0) ? ws.map(() => 1n) : ws.map(big)
        const W = sum(effective)
        const floor = effective.map((w) => (big(t) * w) / W)
        const rem = effective.map((w) => (big(t) * w) % W)
        const extra = parts.map((p, i) => big(p) - floor[i]!)
        for (const e of extra) expect(e === 0n || e === 1n).toBe(true)
        for (let i = 0; i < parts.length; i++) {
          for (let j = 0; j < parts.length; j++) {
            if (extra[i] === 1n && extra[j] === 0n) expect(rem[i]! > rem[j]! || (rem[i] === rem[j] && i < j)).toBe(true)
          }
        }
      }),
      { numRuns: 300 },
    )
  })

  it('is deterministic, and splits a negative total as the negated split of its absolute value', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), weights, (t, ws) => {
        const first = allocate(t, ws)
        expect(allocate(t, ws)).toEqual(first)
        expect(allocate(-t, ws).map(plain)).toEqual(first.map((p) => plain(-p)))
      }),
      { numRuns: 300 },
    )
  })

  it('splits the largest safe amount exactly', () => {
    // 2^53 − 1 over two equal weights: 4503599627370495.5 each; the tie goes to the first part.
    expect(allocate(MAX, [1, 1])).toEqual([4503599627370496, 4503599627370495])
    expect(allocate(MAX, [MAX, MAX, MAX]).reduce((a, b) => a + b, 0)).toBe(MAX)
    expect(allocate(100, [1, 1, 1])).toEqual([34, 33, 33])
    expect(allocate(-100, [1, 1, 1])).toEqual([-34, -33, -33])
    expect(allocate(7, [0, 0])).toEqual([4, 3])
  })

  it('splits nothing over no parts, and refuses anything else that cannot be split', () => {
    expect(allocate(0, [])).toEqual([])
    for (const [t, ws] of [
      [1, []],
      [10, [1, -1]],
      [10, [0.5, 1]],
      [10, [Number.NaN]],
      [10, [MAX + 1]],
      [1.5, [1]],
      [Number.NaN, [1]],
      [Number.POSITIVE_INFINITY, [1]],
      [MAX + 1, [1]],
    ] as Array<[number, number[]]>) {
      failure(() => allocate(t, ws), 'VALIDATION', `allocate(${t}, [${ws}])`)
    }
  })
})

describe('lineDiscounts, fixedRateTax and computeTotals', () => {
  for (const { currency, exponent } of CURRENCIES) {
    const scale = 10 ** exponent
    const lines = fc
      .array(fc.record({ unitPrice: fc.integer({ min: 0, max: 10_000 * scale }), quantity: fc.integer({ min: 1, max: 100 }) }), { minLength: 0, maxLength: 6 })
      .map((ls) => ls.map((l, i): PricedLine => ({ id: `l${i}`, ...l })))
    const adjustments = fc.array(
      fc.record({
        amount: fc.oneof(fc.integer({ min: 0, max: 100 * scale }), fc.integer({ min: 0, max: 20_000_000 * scale })),
        // Some target a subset of lines, including ids of lines that do not exist.
        lineIds: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 4 }), { nil: undefined }),
      }),
      { maxLength: 4 },
    )
    const shipping = fc.integer({ min: 0, max: 10_000 * scale })

    it(`${currency} (${exponent} decimals): discounts are capped per adjustment, taxes add up, total = subtotal − discounts + shipping + tax`, async () => {
      await fc.assert(
        fc.asyncProperty(lines, adjustments, shipping, percentText, async (ls, adjs, ship, rate) => {
          const adjustmentList: Adjustment[] = adjs.map((a, k) => ({
            code: `A${k}`,
            label: `Adjustment ${k}`,
            amount: a.amount,
            ...(a.lineIds ? { lineIds: a.lineIds.map((i) => `l${i}`) } : {}),
          }))
          const subtotals = new Map(ls.map((l) => [l.id, big(l.unitPrice) * big(l.quantity)]))

          // Each adjustment, replayed in order against what is left of each line.
          const remaining = new Map(subtotals)
          let previous = lineDiscounts(ls, [])
          let applied = 0n
          for (let k = 0; k < adjustmentList.length; k++) {
            const adjustment = adjustmentList[k]!
            const current = lineDiscounts(ls, adjustmentList.slice(0, k + 1))
            const targets = ls.filter((l) => !adjustment.lineIds || adjustment.lineIds.includes(l.id))
            const room = sum(targets.map((l) => remaining.get(l.id)!))
            const want = big(adjustment.amount) < room ? big(adjustment.amount) : room
            let given = 0n
            for (const l of ls) {
              const part = big(current.get(l.id)! - previous.get(l.id)!)
              if (!targets.includes(l)) expect(part).toBe(0n)
              expect(part >= 0n && part <= remaining.get(l.id)!).toBe(true)
              // Split in proportion to what is left of each targeted line, within one unit.
              if (room > 0n && targets.includes(l)) expect(abs(part * room - want * remaining.get(l.id)!) < room).toBe(true)
              given += part
            }
            expect(given, `adjustment ${k}`).toBe(want)
            for (const l of ls) remaining.set(l.id, remaining.get(l.id)! - big(current.get(l.id)! - previous.get(l.id)!))
            applied += want
            previous = current
          }
          const discounts = lineDiscounts(ls, adjustmentList)
          for (const l of ls) {
            const d = discounts.get(l.id)!
            expect(Number.isSafeInteger(d) && d >= 0 && big(d) <= subtotals.get(l.id)!).toBe(true)
          }

          // fixedRateTax answers the rate; core rounds it, per line by default.
          const answer = await fixedRateTax({ rate }).calculate(
            {
              currency,
              address: null,
              billingAddress: null,
              cartId: 'cart_x',
              customerId: null,
              channelId: null,
              taxInclusive: false,
              at: new Date(0).toISOString(),
              shipping: { amount: ship, taxClass: null, taxInclusive: false },
              lines: ls.map((l) => ({ id: l.id, variantId: 'var_x', productId: 'prod_x', sku: 'SKU', quantity: l.quantity, taxClass: null, taxInclusive: false, amount: Number(subtotals.get(l.id)! - big(discounts.get(l.id)!)) })),
            },
            undefined as never,
          )
          expect(answer.lines.map((l) => l.rates.map((x) => x.rate))).toEqual(ls.map(() => [rate]))
          const r = rational(rate)
          const items = [...ls.map((l) => ({ amount: Number(subtotals.get(l.id)! - big(discounts.get(l.id)!)), quantity: l.quantity, taxInclusive: false, rates: [percent(rate)] })), { amount: ship, quantity: 1, taxInclusive: false, rates: [percent(rate)] }]
          const taxes = itemTaxes(items, { level: 'line', mode: 'half-up' })
          const lineTaxes = taxes.slice(0, ls.length).map((t) => t.tax)
          ls.forEach((l, i) => expect(big(lineTaxes[i]!)).toBe(roundHalfUp(subtotals.get(l.id)! - big(discounts.get(l.id)!), r)))
          const shippingTax = taxes.at(-1)!.tax
          expect(big(shippingTax)).toBe(roundHalfUp(big(ship), r))

          const totals = computeTotals({
            taxInclusive: false,
            lines: ls.map((l, i) => {
              const subtotal = Number(subtotals.get(l.id)!)
              const discount = discounts.get(l.id)!
              return { net: { subtotal, discountTotal: discount }, gross: { subtotal: subtotal + lineTaxes[i]!, discountTotal: discount }, taxTotal: lineTaxes[i]! }
            }),
            shipping: { net: { amount: ship, discount: 0 }, gross: { amount: ship + shippingTax, discount: 0 }, taxTotal: shippingTax },
          })
          for (const amount of Object.values(shownTotals(totals))) expect(Number.isSafeInteger(amount)).toBe(true)
          expect(big(totals.subtotal)).toBe(sum([...subtotals.values()]))
          expect(big(totals.discountTotal)).toBe(applied)
          expect(totals.shippingTotal).toBe(ship)
          expect(big(totals.taxTotal)).toBe(sum(lineTaxes.map(big)) + big(shippingTax))
          expect(big(totals.total)).toBe(big(totals.subtotal) - big(totals.discountTotal) + big(totals.shippingTotal) + big(totals.taxTotal))
          assertTotalsViews(totals)
        }),
        { numRuns: 200 },
      )
    })
  }
})

describe('cart and order totals through the engine', () => {
  const seeded = {
    JPY: { price: 19_000, shipping: 800 },
    USD: { price: 12_900, shipping: 500 },
    KWD: { price: 39_500, shipping: 2_500 },
  } as const
  const EIGHT_PERCENT = rational('8') // openShop's fixedRateTax({ rate: '8' })

  for (const { currency, exponent } of CURRENCIES) {
    describe(`${currency} (${exponent} decimals)`, () => {
      let shop: Shop
      beforeAll(async () => {
        shop = await openShop({ stock: 1_000 })
      })
      afterAll(async () => {
        await shop.close()
      })

      it('totals add up in the cart, the persisted order and the amount asked of the gateway', async () => {
        const { price, shipping } = seeded[currency]
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 5 }),
            fc.array(fc.oneof(fc.integer({ min: 0, max: 10 ** exponent * 10 }), fc.integer({ min: 0, max: price * 8 })), { minLength: 1, maxLength: 2 }),
            async (quantity, discounts) => {
              const { commerce, payments } = shop
              const off = commerce.hooks.hook('cart.adjust', ({ adjustments }) => {
                discounts.forEach((amount, i) => adjustments.push({ code: `PROMO${i}`, label: 'Promotion', amount }))
              })
              try {
                const cart = await readyCart(commerce, shop.variantId, quantity, currency)

                const subtotal = big(price) * big(quantity)
                const requested = sum(discounts.map(big))
                const discount = requested < subtotal ? requested : subtotal
                const tax = roundHalfUp(subtotal - discount, EIGHT_PERCENT) + roundHalfUp(big(shipping), EIGHT_PERCENT)
                const expected = {
                  subtotal: Number(subtotal),
                  discountTotal: Number(discount),
                  shippingTotal: shipping,
                  taxTotal: Number(tax),
                  rounding: 0,
                  total: Number(subtotal - discount + big(shipping) + tax),
                }
                expect(cart.currency).toBe(currency)
                expect(shownTotals(cart.totals)).toEqual(expected)
                assertTotalsViews(cart.totals)
                const line = cart.lines[0]!
                for (const amount of [...Object.values(shownTotals(cart.totals)), line.unitPrice, line.subtotal, line.discountTotal, line.taxTotal, line.total]) {
                  expect(Number.isSafeInteger(amount)).toBe(true)
                }
                expect(line.total).toBe(line.subtotal - line.discountTotal + line.taxTotal)

                const order = placed(await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
                expect(order.totals).toEqual(cart.totals)
                const row = await commerce.db.selectFrom('cw_orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow()
                expect({
                  subtotal: Number(row.subtotal),
                  discountTotal: Number(row.discount_total),
                  shippingTotal: Number(row.shipping_total),
                  taxTotal: Number(row.tax_total),
                  rounding: Number(row.rounding_total),
                  total: Number(row.total),
                  currency: row.currency,
                }).toEqual({ ...expected, currency })
                const lineRows = await commerce.db.selectFrom('cw_order_lines').selectAll().where('order_id', '=', order.id).execute()
                expect(sum(lineRows.map((l) => big(Number(l.total)))) + big(shipping) + roundHalfUp(big(shipping), EIGHT_PERCENT)).toBe(big(expected.total))
                // The gateway was asked for exactly the persisted total, once.
                const asked = payments.calls.filter((c) => c.operation === 'authorize' && c.idempotencyKey === order.payments[0]!.id)
                expect(asked.map((c) => ({ amount: c.amount, currency: c.currency }))).toEqual([{ amount: Number(row.total), currency }])
              } finally {
                off()
              }
            },
          ),
          { numRuns: 25 },
        )
      })
    })
  }
})

describe('formatAmount and parseAmount', () => {
  const exponents = [...CURRENCIES, { currency: 'CLF', exponent: 4 }] as const

  for (const { currency, exponent } of exponents) {
    it(`${currency}: formats any safe amount with exactly ${exponent} decimals and parses it back`, () => {
      const shape = exponent === 0 ? /^-?\d+$/ : new RegExp(`^-?\\d+\\.\\d{${exponent}}$`)
      fc.assert(
        fc.property(fc.maxSafeInteger(), (amount) => {
          const text = formatAmount(amount, currency)
          expect(text).toMatch(shape)
          // Dropping the decimal point leaves the minor units.
          expect(BigInt(text.replace('.', ''))).toBe(big(amount))
          expect(parseAmount(text, currency)).toBe(amount)
        }),
        { numRuns: 300 },
      )
    })

    it(`${currency}: parses decimals with up to ${exponent} fraction digits exactly, and rejects more`, () => {
      const decimal = fc.tuple(
        fc.boolean(),
        fc.bigInt({ min: 0n, max: 10n ** 11n }),
        fc.integer({ min: 0, max: exponent }),
        fc.bigInt({ min: 0n, max: 10n ** 4n - 1n }),
      )
      fc.assert(
        fc.property(decimal, ([negative, whole, digits, fractionSeed]) => {
          const fraction = digits === 0 ? '' : String(fractionSeed % 10n ** BigInt(digits)).padStart(digits, '0')
          const text = `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`
          const minor = (whole * 10n ** BigInt(exponent) + BigInt(fraction.padEnd(exponent, '0') || '0')) * (negative ? -1n : 1n)
          expect(big(parseAmount(text, currency))).toBe(minor)
          expect(parseAmount(formatAmount(parseAmount(text, currency), currency), currency)).toBe(Number(minor))
          failure(() => parseAmount(`${whole}.${'5'.repeat(exponent + 1)}`, currency), 'VALIDATION')
        }),
        { numRuns: 200 },
      )
    })
  }

  it('writes amounts the way people read them', () => {
    expect(formatAmount(1999, 'USD')).toBe('19.99')
    expect(formatAmount(5, 'USD')).toBe('0.05')
    expect(formatAmount(-5, 'KWD')).toBe('-0.005')
    expect(formatAmount(1500, 'KWD')).toBe('1.500')
    expect(formatAmount(19000, 'JPY')).toBe('19000')
    expect(parseAmount('1.5', 'KWD')).toBe(1500)
    expect(parseAmount(' 19.99 ', 'USD')).toBe(1999)
  })

  it('refuses unknown currencies, non-integer amounts and amounts beyond the safe range', () => {
    const attempts: Array<[string, () => unknown, string]> = [
      ['formatAmount in XYZ', () => formatAmount(100, 'XYZ'), 'currency'],
      ['parseAmount in XYZ', () => parseAmount('1.00', 'XYZ'), 'currency'],
      ['formatAmount of 1.5', () => formatAmount(1.5, 'USD'), 'amount'],
      ['formatAmount of NaN', () => formatAmount(Number.NaN, 'USD'), 'amount'],
      ['formatAmount of 2^53', () => formatAmount(MAX + 1, 'USD'), 'amount'],
      ['parseAmount of 2^53 yen', () => parseAmount('9007199254740992', 'JPY'), 'amount'],
      ['parseAmount of 1.0 yen', () => parseAmount('1.0', 'JPY'), 'amount'],
      ['parseAmount of 1.234 dollars', () => parseAmount('1.234', 'USD'), 'amount'],
      ['parseAmount of 1e3', () => parseAmount('1e3', 'USD'), 'amount'],
      ['parseAmount of 1,000', () => parseAmount('1,000', 'USD'), 'amount'],
      ['parseAmount of empty', () => parseAmount('', 'USD'), 'amount'],
    ]
    for (const [name, attempt, field] of attempts) {
      const error = failure(attempt, 'VALIDATION', name)
      expect(error.details.fields, name).toContain(field)
    }
  })
})

describe('percent and applyRate', () => {
  const rateText = fc
    .tuple(fc.integer({ min: 0, max: 250 }), fc.integer({ min: 0, max: 9 }), fc.bigInt({ min: 0n, max: 10n ** 9n - 1n }))
    .map(([whole, digits, fraction]) => (digits === 0 ? `${whole}` : `${whole}.${String(fraction % 10n ** BigInt(digits)).padStart(digits, '0')}`))

  it('rounds to the nearest minor unit, halves away from zero', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), rateText, (amount, text) => {
        const r = rational(text)
        const result = big(applyRate(amount, percent(text)))
        const exact2 = big(amount) * r.n // exact value is exact2 / d
        // Within half a unit: |result − exact| ≤ 1/2
        expect(2n * abs(result * r.d - exact2) <= r.d).toBe(true)
        // On an exact half, away from zero.
        if (2n * abs(exact2 % r.d) === r.d) expect(abs(result) * r.d > abs(exact2)).toBe(true)
        expect(plain(applyRate(-amount, percent(text)))).toBe(plain(-Number(result)))
      }),
      { numRuns: 500 },
    )
  })

  it('rounds the examples half up by hand', () => {
    expect(applyRate(1000, percent('8.875'))).toBe(89) // 88.75
    expect(applyRate(1999, percent('20'))).toBe(400) // 399.8
    expect(applyRate(50, percent('1'))).toBe(1) // 0.5
    expect(applyRate(250, percent('1'))).toBe(3) // 2.5: half up, not to even
    expect(applyRate(49, percent('1'))).toBe(0) // 0.49
    expect(applyRate(-50, percent('1'))).toBe(-1) // −0.5
    expect(applyRate(-149, percent('1'))).toBe(-1) // −1.49
    expect(applyRate(12345, percent(0))).toBe(0)
    expect(percent(7.5)).toEqual(percent('7.5'))
    expect(percent(' 20 ')).toEqual(percent('20'))
  })

  it('refuses percentages it cannot read exactly, and results beyond the safe range', () => {
    for (const bad of ['-5', 'abc', '', '1e3', '8.', '.5', '8.1234567890', '1234567', '8,5', 0.1 + 0.2, Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      const error = failure(() => percent(bad), 'VALIDATION', `percent(${JSON.stringify(String(bad))})`)
      expect(error.details.fields).toContain('rate')
    }
    failure(() => applyRate(MAX, percent('200')), 'VALIDATION')
    expect(() => applyRate(1.5, percent('10'))).toThrow(/integer/)
  })
})
