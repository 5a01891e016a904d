import assert from 'node:assert/strict'
import { sameBytes } from '../check.js'
import { json, text } from '../raw.js'
import { ADDRESS, checkout, readyCart } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'

/** Texts that break encodings, normalisation or quoting. No NUL, no lone surrogates. */
const TEXTS = {
  emoji: 'Cart 👩🏽‍💻🛒 🇯🇵 ❤️‍🔥 done',
  combining: 'Ze\u0301\u0301bra Z\u0324\u0354\u0367\u0311\u0313alg\u0308o',
  rtl: 'שָׁלוֹם \u200Fمرحبا بالعالم\u200E end',
  cjk: '漢字・かな・カナ・한국어・中文',
  astral: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱𠝹 𓀀 🀄',
  invisible: 'zero\u200Bwidth\u200Cnon\u200Djoiner\u00A0nbsp\u2028line\uFEFFbom',
  quoting: `Robert'); DROP TABLE cw_products;-- 100% _off_ \\ "quoted" ?`,
}

/** NFC and NFD spellings of the same word: equal to the eye, different bytes. */
const NFC = 'CAF\u00C9-1'
const NFD = 'CAFE\u0301-1'

export const unicodeCases: StorageGroup = {
  group: 'unicode',
  cases: [
    {
      name: 'product, variant, option and metadata texts round-trip byte for byte',
      async run(t) {
        const { commerce } = await t.engine()
        const entries = Object.entries(TEXTS)
        for (const [i, [kind, value]] of entries.entries()) {
          const optionValue = [...value].slice(0, 24).join('').trim() // option values are trimmed and at most 64 units
          const product = await commerce.catalog.createProduct({
            title: value,
            handle: `p-${i}`,
            description: `\u2003${value}\n`,
            options: [{ name: `${kind} ✂`, values: [optionValue] }],
            variants: [{ sku: `SKU-${i}-${TEXTS.cjk.slice(0, 4)}`, title: value, options: { [`${kind} ✂`]: optionValue } }],
            metadata: { [kind]: value },
          })
          const p = await t.raw.one('select title, description, options, metadata from cw_products where id = ?', [product.id])
          sameBytes(p['title'], value, `${kind}: cw_products.title`)
          sameBytes(p['description'], `\u2003${value}\n`, `${kind}: cw_products.description`)
          const options = json(p['options']) as Array<{ name: string; values: string[] }>
          sameBytes(options[0]!.name, `${kind} ✂`, `${kind}: option name`)
          sameBytes(options[0]!.values[0], optionValue, `${kind}: option value`)
          sameBytes((json(p['metadata']) as Record<string, string>)[kind], value, `${kind}: metadata`)
          const v = await t.raw.one('select sku, title, options from cw_variants where product_id = ?', [product.id])
          sameBytes(v['sku'], `SKU-${i}-${TEXTS.cjk.slice(0, 4)}`, `${kind}: sku`)
          sameBytes(v['title'], value, `${kind}: variant title`)
          const again = await commerce.catalog.getProduct(product.id)
          sameBytes(again!.title, value, `${kind}: title read through the engine`)
          sameBytes(again!.variants[0]!.title, value, `${kind}: variant title read through the engine`)
        }
      },
    },
    {
      name: 'texts keep their exact form: NFC and NFD spellings are distinct keys and each lookup finds its own',
      async run(t) {
        const { commerce } = await t.engine()
        const nfc = await commerce.catalog.createProduct({ title: 'Café NFC', handle: 'cafe-nfc', variants: [{ sku: NFC }] })
        const nfd = await commerce.catalog.createProduct({ title: 'Café NFD', handle: 'cafe-nfd', variants: [{ sku: NFD }] })
        assert.equal((await commerce.catalog.getVariantBySku(NFC))!.id, nfc.variants[0]!.id)
        assert.equal((await commerce.catalog.getVariantBySku(NFD))!.id, nfd.variants[0]!.id)
        sameBytes(text((await t.raw.one('select sku from cw_variants where id = ?', [nfc.variants[0]!.id]))['sku']), NFC, 'NFC sku')
        sameBytes(text((await t.raw.one('select sku from cw_variants where id = ?', [nfd.variants[0]!.id]))['sku']), NFD, 'NFD sku')
        assert.equal(await t.raw.count('cw_variants where sku = ?', [NFC]), 1)
        assert.equal(await t.raw.count('cw_variants where sku = ?', [NFD]), 1)
      },
    },
    {
      name: 'order snapshots, addresses and outbox payloads keep their texts byte for byte',
      async run(t) {
        const { commerce } = await t.engine({ subscribers: [{ id: 'sink', events: ['order.placed'], handle: () => undefined }] })
        const title = `${TEXTS.emoji} ${TEXTS.cjk}`
        const product = await commerce.catalog.createProduct({ title, handle: 'gift', variants: [{ sku: 'GIFT-1', title: TEXTS.rtl, prices: [{ currency: 'USD', amount: 999 }] }] })
        const variantId = product.variants[0]!.id
        const location = await commerce.inventory.createLocation({ name: TEXTS.astral, code: 'astral' })
        await commerce.inventory.setStock({ variantId, locationId: location.id, onHand: 1 })
        const address = { ...ADDRESS, firstName: 'Zoë', lastName: TEXTS.combining, line1: TEXTS.cjk, city: TEXTS.rtl }
        const cart = await readyCart(commerce, [[variantId, 1]], { address })
        const order = await checkout(commerce, cart.id)

        sameBytes((await t.raw.one('select name from cw_stock_locations where id = ?', [location.id]))['name'], TEXTS.astral, 'location name')
        const line = await t.raw.one('select title, variant_title from cw_order_lines where order_id = ?', [order.id])
        sameBytes(line['title'], title, 'order line title')
        sameBytes(line['variant_title'], TEXTS.rtl, 'order line variant title')
        const stored = json((await t.raw.one('select shipping_address from cw_orders where id = ?', [order.id]))['shipping_address']) as Record<string, string>
        for (const field of ['firstName', 'lastName', 'line1', 'city'] as const) sameBytes(stored[field], address[field], `shipping_address.${field}`)
        const payload = json((await t.raw.one("select payload from cw_outbox where type = 'order.placed'"))['payload']) as { order: { lines: Array<{ title: string }> } }
        sameBytes(payload.order.lines[0]!.title, title, 'order.placed payload')
        sameBytes((await commerce.orders.get(order.id)).lines[0]!.title, title, 'order read through the engine')
      },
    },
    {
      name: 'the longest title the engine accepts, in astral characters, is stored whole',
      async run(t) {
        const { commerce } = await t.engine()
        const title = `${'𠜎'.repeat(126)}👍` // 254 UTF-16 units, 508 bytes of UTF-8
        const product = await commerce.catalog.createProduct({ title, handle: 'long', variants: [{ sku: 'LONG-1' }] })
        sameBytes((await t.raw.one('select title from cw_products where id = ?', [product.id]))['title'], title, 'title')
        assert.equal([...(await commerce.catalog.getProduct('long'))!.title].length, 127)
      },
    },
  ],
}
