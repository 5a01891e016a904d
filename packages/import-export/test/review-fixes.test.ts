import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { catalogRows, collect, csv, fullSnapshot, openShop, STORAGES, type Shop } from './support.js'
import { CSV_COLUMNS, importExportEndpoints } from '../src/index.js'

describe.each(STORAGES)('import and export, resuming and round trips on %s', (storage) => {
  const shops: Shop[] = []
  const open = async () => {
    const shop = await openShop(storage)
    shops.push(shop)
    return shop
  }
  afterEach(async () => {
    while (shops.length) await shops.pop()!.close()
  })
  const jobs = (shop: Shop) => sql<{ status: string; last_batch: number }>`select status, last_batch from imports_jobs order by created_at`.execute(shop.commerce.db).then((r) => r.rows)

  it('a batch the catalog refuses marks the job failed; the corrected file resumes at that batch', async () => {
    const shop = await open()
    await shop.commerce.catalog.createProduct({ title: 'Old', variants: [{ sku: 'P-25-M' }] })
    const rows = catalogRows(50)
    const report = await shop.commerce.imports.importCsv(csv(rows), { batchSize: 10 })
    expect(report).toMatchObject({ status: 'rejected', rejected: [{ row: 103, column: 'Variant SKU', reason: 'SKU "P-25-M" is already in the catalog' }] })
    expect((await shop.counts()).cw_products).toBe(21)
    expect(await jobs(shop)).toEqual([{ status: 'failed', last_batch: 1 }])

    rows[101] = { ...rows[101], 'Variant SKU': 'P-25-MM' }
    const progress: number[] = []
    const fixed = await shop.commerce.imports.importCsv(csv(rows), { batchSize: 10, onProgress: (p) => void progress.push(p.batch) })
    expect(fixed).toMatchObject({ status: 'imported', resumedAfterBatch: 1, jobId: report.jobId })
    expect(progress).toEqual([3, 4, 5])
    expect(await shop.counts()).toMatchObject({ cw_products: 51, cw_variants: 201 })
    expect(await jobs(shop)).toEqual([{ status: 'done', last_batch: 4 }])
    expect((await shop.commerce.catalog.getVariantBySku('P-25-MM')).prices[0]!.amount).toBe(12505)
  })

  it('a batch is skipped on resume only when this job recorded writing it, not because its handles are taken', async () => {
    const shop = await open()
    const file = csv(catalogRows(30))
    const cut = new Error('power cut')
    await expect(shop.commerce.imports.importCsv(file, { batchSize: 10, onProgress: (p) => { if (p.batch === 2) throw cut } })).rejects.toBe(cut)
    expect((await shop.counts()).cw_products).toBe(20)
    // Meanwhile someone else makes the products of batch 2's handles, with other SKUs.
    await shop.commerce.catalog.createProducts(Array.from({ length: 10 }, (_, i) => ({ title: `Other ${i}`, handle: `p-${20 + i}`, variants: [{ sku: `OTHER-${i}` }] })))
    const report = await shop.commerce.imports.importCsv(file, { batchSize: 10 })
    expect(report.status).toBe('rejected')
    expect(report.rejected).toHaveLength(10)
    expect(report.rejected[0]).toEqual({ row: 82, column: 'Handle', reason: 'handle "p-20" is already in the catalog' })
    expect(await shop.commerce.catalog.getVariantBySku('P-20-S').catch((e: { code: string }) => e.code)).toBe('NOT_FOUND')

  })

  it('a pending batch is adopted on resume only when its products were made after it was marked', async () => {
    const shop = await open()
    const file = csv(catalogRows(40))
    const cut = new Error('power cut')
    await expect(shop.commerce.imports.importCsv(file, { batchSize: 10, onProgress: (p) => { if (p.batch === 3) throw cut } })).rejects.toBe(cut)
    // Batch 2 looks cut before its record, but its mark is later than its products: they are not its.
    await sql`update imports_jobs set last_batch = 1`.execute(shop.commerce.db)
    await sql`update imports_batches set status = 'pending', product_ids = '[]', started_at = ${new Date(Date.now() + 3_600_000).toISOString()} where batch = 2`.execute(shop.commerce.db)
    const report = await shop.commerce.imports.importCsv(file, { batchSize: 10 })
    expect(report.status).toBe('rejected')
    expect(report.rejected[0]).toMatchObject({ row: 82, column: 'Handle' })
  })

  it('a recorded batch counts as written on resume only while its recorded products exist', async () => {
    const shop = await open()
    const file = csv(catalogRows(40))
    const cut = new Error('power cut')
    await expect(shop.commerce.imports.importCsv(file, { batchSize: 10, onProgress: (p) => { if (p.batch === 2) throw cut } })).rejects.toBe(cut)
    // A product of batch 1 was deleted since: batch 1 is no longer the job's work, and it is written again.
    await shop.commerce.catalog.deleteProduct((await shop.commerce.catalog.getProduct('p-15')).id)
    const report = await shop.commerce.imports.importCsv(file, { batchSize: 10 })
    expect(report).toMatchObject({ status: 'rejected', resumedAfterBatch: 0 })
    expect(report.rejected[0]).toMatchObject({ row: 42, column: 'Handle' })
  })

  it('JSON export carries the whole catalog: every price, stock level, variant image and field, and inventory policies', async () => {
    const shop = await open()
    const { commerce } = shop
    await commerce.catalog.createProducts([
      {
        title: 'Trail Runner',
        handle: 'trail-runner',
        material: 'Leather',
        hsCode: '640399',
        countryOfOrigin: 'PT',
        metadata: { vendor: 'Acme', season: 'AW' },
        options: [{ name: 'Colour', values: ['Red', 'Blue'] }],
        variants: [
          { sku: 'TR-RED', title: 'Red runner', options: { Colour: 'Red' }, weightGrams: 900, lengthMm: 320, widthMm: 120, heightMm: 110, prices: [{ currency: 'EUR', amount: 12900, compareAtAmount: 15900 }, { currency: 'EUR', amount: 11900, minQuantity: 10 }, { currency: 'JPY', amount: 21000 }] },
          { sku: 'TR-BLUE', options: { Colour: 'Blue' }, prices: [{ currency: 'KWD', amount: 40500 }] },
        ],
        categories: ['shoes'],
        stock: [{ sku: 'TR-RED', location: 'main', onHand: 3 }, { sku: 'TR-RED', location: 'back', onHand: 7 }, { sku: 'TR-BLUE', location: 'back', onHand: 0 }],
        images: [{ url: 'https://cdn.example.com/tr.jpg', alt: 'Side' }, { url: 'https://cdn.example.com/tr-red.jpg', alt: 'Red', sku: 'TR-RED' }, { url: 'https://cdn.example.com/tr-blue.jpg', sku: 'TR-BLUE' }],
      },
      { title: 'Gift card', handle: 'gift-card', status: 'draft', variants: [{ sku: 'GIFT', manageInventory: false, prices: [{ currency: 'USD', amount: 5000 }] }] },
    ])
    await commerce.inventory.setPolicy((await commerce.catalog.getVariantBySku('TR-RED')).id, { policy: 'backorder', backorderLimit: 5 })
    await commerce.inventory.setPolicy((await commerce.catalog.getVariantBySku('TR-BLUE')).id, { policy: 'preorder', availableAt: '2031-03-01T00:00:00Z' })
    const original = await fullSnapshot(shop)
    expect(original['trail-runner']).toMatchObject({ variants: [{ inventoryPolicy: { policy: 'backorder', backorderLimit: 5 } }, { inventoryPolicy: { policy: 'preorder' } }] })

    const json = await collect(commerce.imports.exportJson())
    const copy = await open()
    expect(await copy.commerce.imports.importJson(json)).toMatchObject({ status: 'imported', products: 2, variants: 3 })
    expect(await fullSnapshot(copy)).toEqual(original)
    // And in batches.
    const third = await open()
    expect(await third.commerce.imports.importJson(json, { batchSize: 1 })).toMatchObject({ status: 'imported', products: 2 })
    expect(await fullSnapshot(third)).toEqual(original)

    // A policy the engine would refuse is a rejected product, and nothing is written.
    const bad = JSON.parse(json) as Array<{ variants: Array<Record<string, unknown>> }>
    bad[0]!.variants[0]!.inventoryPolicy = { policy: 'backorder', backorderLimit: 0 }
    const fourth = await open()
    const before = await fourth.counts()
    const report = await fourth.commerce.imports.importJson(JSON.stringify(bad))
    expect(report).toMatchObject({ status: 'rejected', rejected: [{ row: 1, column: 'variants.0.inventoryPolicy.backorderLimit' }] })
    expect(await fourth.counts()).toEqual(before)
  })

  it('over the Admin API, a JSON file that sets inventory policies needs inventory:write besides catalog:write', async () => {
    const endpoint = importExportEndpoints.find((e) => e.path === '/imports/products/json')!
    const products = [
      { title: 'Runner', handle: 'runner', variants: [{ sku: 'RUN-1', prices: [{ currency: 'EUR', amount: 9900 }], inventoryPolicy: { policy: 'backorder', backorderLimit: 50 } }] },
    ]
    const shop = await open()
    const run = (permissions: string[], list: Array<Record<string, unknown>>) =>
      endpoint.handler({ input: { products: list }, actor: { kind: 'staff', staffId: 'staff_1', permissions }, commerce: shop.commerce, request: { client: '127.0.0.1' } })
    const before = await shop.counts()
    await expect(run(['catalog:write'], products)).rejects.toMatchObject({ code: 'FORBIDDEN', details: { scope: 'inventory:write' } })
    expect(await shop.counts()).toEqual(before)
    // Without policies catalog:write is enough; with inventory:write (or a wildcard) policies are set.
    await expect(run(['catalog:write'], [{ ...products[0], handle: 'plain', variants: [{ sku: 'PLAIN-1', prices: [{ currency: 'EUR', amount: 100 }] }] }])).resolves.toMatchObject({ status: 'imported', products: 1 })
    await expect(run(['catalog:write', 'inventory:*'], products)).resolves.toMatchObject({ status: 'imported', products: 1 })
    expect((await shop.commerce.catalog.getVariantBySku('RUN-1')).inventoryPolicy).toMatchObject({ policy: 'backorder', backorderLimit: 50 })
  })

  it('prices with zeros beyond the currency exponent, as Shopify writes them, import exactly; other digits there are refused', async () => {
    const shop = await open()
    const row = (sku: string, price: string, currency: string) => ({ Handle: sku.toLowerCase(), Title: sku, 'Variant SKU': sku, 'Variant Price': price, Currency: currency })
    const good = await shop.commerce.imports.importCsv(csv([row('YEN', '1500.00', 'JPY'), row('DINAR', '1.5000', 'KWD'), row('YEN2', '1500', 'JPY')]))
    expect(good.status).toBe('imported')
    expect((await shop.commerce.catalog.getVariantBySku('YEN')).prices[0]).toMatchObject({ currency: 'JPY', amount: 1500 })
    expect((await shop.commerce.catalog.getVariantBySku('DINAR')).prices[0]).toMatchObject({ currency: 'KWD', amount: 1500 })
    const before = await shop.counts()
    const bad = await shop.commerce.imports.importCsv(csv([row('Y3', '1500.50', 'JPY'), row('K3', '1.5001', 'KWD'), row('Y4', '1500.', 'JPY')]))
    expect(bad.rejected).toEqual([
      { row: 2, column: 'Variant Price', reason: '"1500.50" is not an amount in JPY (0 decimals)' },
      { row: 3, column: 'Variant Price', reason: '"1.5001" is not an amount in KWD (3 decimals)' },
      { row: 4, column: 'Variant Price', reason: '"1500." is not an amount in JPY (0 decimals)' },
    ])
    expect(await shop.counts()).toEqual(before)
  })

  it("a merchant's leading apostrophe is kept; Cartwright's formula guard round-trips byte for byte", async () => {
    const shop = await open()
    const merchantColumns = CSV_COLUMNS.filter((c) => c !== 'Cartwright Export')
    const titles = ["'-Sale", "'=x", "''+y", '=SUM(A1)', '@home', "it's"]
    const rows = titles.map((title, i) => ({ Handle: `t-${i}`, Title: title, 'Variant SKU': `T-${i}`, 'Variant Price': '1.00', Currency: 'USD' }))
    expect(await shop.commerce.imports.importCsv(csv(rows, merchantColumns))).toMatchObject({ status: 'imported' })
    for (const [i, title] of titles.entries()) expect((await shop.commerce.catalog.getProduct(`t-${i}`)).title).toBe(title)

    const exported = await collect(shop.commerce.imports.exportCsv())
    const copy = await open()
    expect(await copy.commerce.imports.importCsv(exported)).toMatchObject({ status: 'imported', warnings: [] })
    for (const [i, title] of titles.entries()) expect((await copy.commerce.catalog.getProduct(`t-${i}`)).title).toBe(title)
    // Byte for byte, line by line (products made in one transaction share a creation time, so their order may differ).
    const lines = (text: string) => text.split('\r\n').sort()
    expect(lines(await collect(copy.commerce.imports.exportCsv()))).toEqual(lines(exported))
    expect(exported).toContain("\r\nt-0,''-Sale,")
  })
})
