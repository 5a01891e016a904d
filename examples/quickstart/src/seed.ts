import type { Commerce } from '@cartwright/core'

/**
 * The demo catalog: a "Trail Runner" in two sizes and two colours, with 10 pairs of
 * size 42 blue in one warehouse.
 */
export async function seed(commerce: Commerce) {
  const shoe = await commerce.catalog.createProduct({
    title: 'Trail Runner',
    handle: 'trail-runner',
    description: 'A light shoe for rough ground.',
    options: [
      { name: 'Size', values: ['42', '43'] },
      { name: 'Color', values: ['Blue', 'Black'] },
    ],
    variants: [
      { sku: 'TRAIL-42-BLUE', options: { Size: '42', Color: 'Blue' }, weightGrams: 610, prices: [{ currency: 'USD', amount: 12900 }] },
      { sku: 'TRAIL-43-BLUE', options: { Size: '43', Color: 'Blue' }, weightGrams: 630, prices: [{ currency: 'USD', amount: 12900 }] },
      { sku: 'TRAIL-42-BLACK', options: { Size: '42', Color: 'Black' }, weightGrams: 610, prices: [{ currency: 'USD', amount: 13900 }] },
      { sku: 'TRAIL-43-BLACK', options: { Size: '43', Color: 'Black' }, weightGrams: 630, prices: [{ currency: 'USD', amount: 13900 }] },
    ],
  })
  const warehouse = await commerce.inventory.createLocation({ name: 'Portland warehouse', code: 'pdx' })
  for (const variant of shoe.variants) {
    await commerce.inventory.setStock({ variantId: variant.id, locationId: warehouse.id, onHand: variant.sku === 'TRAIL-42-BLUE' ? 10 : 25 })
  }
  return { shoe, warehouse }
}
