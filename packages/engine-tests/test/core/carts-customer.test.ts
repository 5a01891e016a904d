import { describe, expect, it } from 'vitest'
import { GUARDED_STORAGES, shopPerTest } from '../support/index.js'

/**
 * A customer's open cart (`carts.openForCustomer`), the one a login merges a guest cart into: the
 * customer's own shopping cart, never a draft staff are building for them.
 */
describe.each(GUARDED_STORAGES)('a customer’s open cart, on %s', (storage) => {
  const open = shopPerTest({ storage })

  it('is their newest shopper cart; a draft made for them later is not it', async () => {
    const { commerce, variantId } = await open()
    const own = await commerce.carts.create({ currency: 'USD', customerId: 'cus_ada' })
    await commerce.carts.addItem(own.id, { variantId, quantity: 1 })
    const draft = await commerce.drafts.create({ currency: 'USD', createdBy: 'staff-grace', customerId: 'cus_ada' })
    // The draft is the newest open cart of the customer.
    await commerce.carts.addItem(draft.id, { variantId, quantity: 2 })
    expect((await commerce.carts.openForCustomer('cus_ada'))?.id).toBe(own.id)
    // With no shopper cart of their own, they have none (the draft stays the staff's).
    await commerce.carts.update(own.id, { customerId: null })
    expect(await commerce.carts.openForCustomer('cus_ada')).toBeNull()
  })
})
