import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { catalogRows, collect, csv, openShop, rejection, snapshot, STORAGES, type Shop } from './support.js'
import type { ImportProgress } from '../src/index.js'

describe.each(STORAGES)('import and export on %s', (storage) => {
  const shops: Shop[] = []
  const open = async () => {
    const shop = await openShop(storage)
    shops.push(shop)
    return shop
  }
  afterEach(async () => {
    while (shops.length) await shops.pop()!.close()
  })

  it('imports a 10,000-variant CSV with progress', async () => {
    const shop = await open()
    const progress: ImportProgress[] = []
    const report = await shop.commerce.imports.importCsv(csv(catalogRows(2500)), { batchSize: 500, onProgress: (p) => void progress.push(p) })
    expect(report).toMatchObject({ status: 'imported', products: 2500, variants: 10_000, rowsTotal: 10_000, rejected: [] })
    expect(progress.map((p) => p.rowsDone)).toEqual([2000, 4000, 6000, 8000, 10_000])
    expect(progress.at(-1)).toMatchObject({ rowsTotal: 10_000, batch: 5, batches: 5 })
    expect(await shop.counts()).toMatchObject({ cw_products: 2500, cw_variants: 10_000, cw_prices: 10_000, cw_inventory_levels: 10_000, cw_category_products: 2500 })
    const v = await shop.commerce.catalog.getVariantBySku('P-7-M')
    expect(v.prices).toEqual([{ currency: 'USD', amount: 10705, minQuantity: 1, compareAtAmount: 19900 }])
    expect(await shop.commerce.inventory.available(v.id)).toBe(1)
  })

  it('a file with 3 bad rows imports nothing and names exactly those rows; the fixed file imports', async () => {
    const shop = await open()
    const rows = catalogRows(5)
    rows[3] = { ...rows[3], Currency: 'XYZ' } // row 5
    rows[9] = { ...rows[9], 'Variant Price': '-4.00' } // row 11
    rows[14] = { ...rows[14], 'Variant SKU': 'P-1-M' } // row 16, P-1-M is on row 7
    const before = await shop.counts()
    const report = await shop.commerce.imports.importCsv(csv(rows))
    expect(report.status).toBe('rejected')
    expect(report.rejected).toEqual([
      { row: 5, column: 'Currency', reason: 'unknown currency "XYZ"' },
      { row: 11, column: 'Variant Price', reason: 'negative price -4.00' },
      { row: 16, column: 'Variant SKU', reason: 'duplicate SKU "P-1-M": also on row 7' },
    ])
    expect(await shop.counts()).toEqual(before)

    const fixed = catalogRows(5)
    expect(await shop.commerce.imports.importCsv(csv(fixed))).toMatchObject({ status: 'imported', products: 5, variants: 20 })
  })

  it('a SKU already in the catalog rejects the file, naming its row, and writes nothing', async () => {
    const shop = await open()
    await shop.commerce.catalog.createProduct({ title: 'Old', variants: [{ sku: 'P-2-L' }] })
    const before = await shop.counts()
    const report = await shop.commerce.imports.importCsv(csv(catalogRows(4)))
    expect(report.rejected).toEqual([{ row: 12, column: 'Variant SKU', reason: 'SKU "P-2-L" is already in the catalog' }])
    expect(await shop.counts()).toEqual(before)
  })

  it('export then import round-trips the catalog, in CSV and in JSON', async () => {
    const shop = await open()
    const rows = catalogRows(30)
    rows[0] = { ...rows[0], 'Image Src': 'https://cdn.example.com/p0.jpg', 'Image Alt Text': 'Red, front', Category: 'shoes, socks', Title: '=cmd|calc' }
    rows.splice(4, 0, { Handle: 'p-0', 'Image Src': 'https://cdn.example.com/p0-side.jpg' }, { Handle: 'p-0', 'Image Src': 'https://cdn.example.com/p0-back.jpg' }, { Handle: 'p-0', 'Image Src': 'https://cdn.example.com/p0-top.jpg' }, { Handle: 'p-0', 'Image Src': 'https://cdn.example.com/p0-sole.jpg' })
    rows.push({ Handle: 'plain', Title: 'Gift card', 'Option1 Name': 'Title', 'Option1 Value': 'Default Title', 'Variant SKU': 'GIFT', 'Variant Price': '1.500', Currency: 'KWD', Status: 'draft' })
    expect(await shop.commerce.imports.importCsv(csv(rows))).toMatchObject({ status: 'imported', products: 31 })
    const original = await snapshot(shop)
    expect((original['p-0'] as { images: unknown[] }).images).toHaveLength(5)

    const exported = await collect(shop.commerce.imports.exportCsv({ pageSize: 7 }))
    expect(exported).toContain(",'=cmd|calc,")
    const copy = await open()
    expect(await copy.commerce.imports.importCsv(exported)).toMatchObject({ status: 'imported', products: 31, variants: 121, warnings: [] })
    expect(await snapshot(copy)).toEqual(original)

    const json = await collect(shop.commerce.imports.exportJson())
    const third = await open()
    expect(await third.commerce.imports.importJson(json)).toMatchObject({ status: 'imported', products: 31 })
    expect(await snapshot(third)).toEqual(original)
  })

  it('an interrupted batched import resumes after the last committed batch', async () => {
    const shop = await open()
    const file = csv(catalogRows(50))
    const interrupt = new Error('power cut')
    await expect(
      shop.commerce.imports.importCsv(file, {
        batchSize: 10,
        onProgress: (p) => {
          if (p.batch === 3) throw interrupt
        },
      }),
    ).rejects.toBe(interrupt)
    expect((await shop.counts()).cw_products).toBe(30)

    // A cut between a batch's commit and the job recording it: batch 2 (0-based) is still pending.
    await sql`update imports_jobs set last_batch = 1`.execute(shop.commerce.db)
    await sql`update imports_batches set status = 'pending', product_ids = '[]' where batch = 2`.execute(shop.commerce.db)
    const progress: number[] = []
    const report = await shop.commerce.imports.importCsv(file, { batchSize: 10, onProgress: (p) => void progress.push(p.batch) })
    expect(report).toMatchObject({ status: 'imported', resumedAfterBatch: 1 })
    expect(progress).toEqual([3, 4, 5])
    expect(await shop.counts()).toMatchObject({ cw_products: 50, cw_variants: 200 })
    const job = await sql<{ status: string; last_batch: number }>`select status, last_batch from imports_jobs`.execute(shop.commerce.db)
    expect(job.rows).toEqual([{ status: 'done', last_batch: 4 }])
  })

  it('hostile CSV: unbalanced quotes, huge cells and unknown columns', async () => {
    const shop = await open()
    const before = await shop.counts()
    const header = 'Handle,Title,Variant SKU,Variant Price,Currency\r\n'
    expect(await rejection(shop.commerce.imports.importCsv(`${header}cap,"Cap,CAP-1,1.00,USD\r\n`))).toMatchObject({ code: 'VALIDATION', fields: ['file'], message: expect.stringContaining('row 2') })
    expect(await rejection(shop.commerce.imports.importCsv(`${header}cap,Ca"p,CAP-1,1.00,USD\r\n`))).toMatchObject({ code: 'VALIDATION', fields: ['file'] })
    expect(await rejection(shop.commerce.imports.importCsv(`${header}cap,"${'x'.repeat(70_000)}",CAP-1,1.00,USD\r\n`))).toMatchObject({ code: 'VALIDATION', fields: ['file'] })
    expect(await rejection(shop.commerce.imports.importCsv(`${header}cap,${'x,'.repeat(300)}\r\n`))).toMatchObject({ code: 'VALIDATION', fields: ['file'] })
    expect(await shop.counts()).toEqual(before)

    const report = await shop.commerce.imports.importCsv(`\uFEFFHandle,Title,Variant SKU,Variant Price,Currency,Colour\nhat,"Hat, ""wool""",HAT-1,9.5,EUR,red\n`)
    expect(report).toMatchObject({ status: 'imported', warnings: ['unknown column "Colour" is ignored'] })
    expect((await shop.commerce.catalog.getProduct('hat')).title).toBe('Hat, "wool"')
    expect((await shop.commerce.catalog.getVariantBySku('HAT-1')).prices[0]!.amount).toBe(950)
  })

  it('bad input to every method: a typed error naming the field, storage unchanged', async () => {
    const shop = await open()
    const imports = shop.commerce.imports
    const before = await shop.counts()
    const file = csv(catalogRows(1))
    expect(await rejection(imports.importCsv(42 as never))).toMatchObject({ code: 'VALIDATION', fields: ['file'] })
    expect(await rejection(imports.importCsv(file, { batchSize: 0 }))).toMatchObject({ code: 'VALIDATION', fields: ['batchSize'] })
    expect(await rejection(imports.importCsv(file, { defaultCurrency: 'usd' }))).toMatchObject({ code: 'VALIDATION', fields: ['defaultCurrency'] })
    expect(await rejection(imports.importCsv(file, { onProgress: 'yes' as never }))).toMatchObject({ code: 'VALIDATION', fields: ['onProgress'] })
    expect(await rejection(imports.importJson('{"not":"an array"}'))).toMatchObject({ code: 'VALIDATION', fields: ['file'] })
    expect(await rejection(imports.importJson('[{"title":'))).toMatchObject({ code: 'VALIDATION', fields: ['file'] })
    expect(await rejection(collect(imports.exportCsv({ pageSize: 0 })))).toMatchObject({ code: 'VALIDATION', fields: ['pageSize'] })
    expect(await rejection(collect(imports.exportJson({ currency: 'dollars' })))).toMatchObject({ code: 'VALIDATION', fields: ['currency'] })
    const json = await imports.importJson(JSON.stringify([{ title: 'Cap', variants: [{ sku: 'CAP-1', prices: [{ currency: 'USD', amount: -1 }] }] }]))
    expect(json).toMatchObject({ status: 'rejected', rejected: [{ row: 1, column: 'variants.0.prices.0.amount' }] })
    expect(await rejection(shop.commerce.catalog.createProducts([{ title: 'Cap', variants: [{ sku: 'C-1' }], categories: ['nope'] }]))).toMatchObject({ code: 'VALIDATION', fields: ['products.0.categories.0'] })
    expect(await rejection(shop.commerce.catalog.createProducts([{ title: 'Cap', variants: [{ sku: 'C-1' }] }, { title: 'Cap 2', variants: [{ sku: 'C-1' }] }]))).toMatchObject({ code: 'VALIDATION', fields: ['products.1.variants.0.sku'] })
    expect(await rejection(shop.commerce.catalog.createProducts('x' as never))).toMatchObject({ code: 'VALIDATION', fields: ['products'] })
    expect(await shop.counts()).toEqual(before)
  })
})
