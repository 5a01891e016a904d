import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openShop, type Shop } from '../support/index.js'

let shop: Shop
beforeAll(async () => {
  shop = await openShop()
})
afterAll(async () => {
  await shop.close()
})

describe('cart ids', () => {
  it('carry 128 random bits in 26 base32 characters, so they cannot be guessed', async () => {
    const ids = await Promise.all(Array.from({ length: 200 }, async () => (await shop.commerce.carts.create({ currency: 'USD' })).id))
    for (const id of ids) expect(id).toMatch(/^cart_[0-9a-hjkmnp-tv-z]{26}$/)
    expect(new Set(ids).size).toBe(ids.length)
    // 26 symbols of 5 bits hold the 128 random bits (the last symbol carries 3 bits and 2 zero bits).
    const last = new Set(ids.map((id) => id.at(-1)))
    for (const symbol of last) expect('048cgmrw').toContain(symbol)
    // Every other position uses the whole alphabet: no fixed prefix such as a timestamp.
    const second = new Set(ids.map((id) => id.charAt(5)))
    expect(second.size).toBeGreaterThan(16)
  })
})
