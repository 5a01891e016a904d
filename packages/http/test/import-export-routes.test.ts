import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importExport } from '@cartwright/import-export'
import { adminApi } from '../src/index.js'
import { call, dump } from './routes-support.js'
import { openShop, STORAGES } from './support.js'

type Shop = Awaited<ReturnType<typeof openShop>>

const HEADER = 'Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,Currency,Variant Inventory Qty,Location'
const file = (...rows: string[]) => [HEADER, ...rows].join('\r\n') + '\r\n'
const CAPS = file('cap,Cap,Size,S,CAP-S,19.00,USD,5,main', 'cap,,,M,CAP-M,19.50,USD,7,main', 'scarf,Scarf,,,SCARF-1,25.00,USD,3,main')

describe.each(STORAGES)('import-export routes on %s', (storage) => {
  let shop: Shop
  let admin: ReturnType<typeof adminApi>
  let staff: Record<string, string>
  let reader: Record<string, string>
  const snapshot = () => dump(shop.commerce as never, storage)

  beforeAll(async () => {
    shop = await openShop(storage, { plugins: [importExport()] })
    admin = adminApi(shop.commerce, { validateOutput: true, logger: { error: () => undefined } })
    const owner = await shop.commerce.http.staff.create({ email: 'owner@example.com', name: 'Owner' })
    staff = { authorization: `Bearer ${(await shop.commerce.http.apiKeys.create({ staffId: owner.id, name: 'all', scopes: ['*'] })).secret}` }
    reader = { authorization: `Bearer ${(await shop.commerce.http.apiKeys.create({ staffId: owner.id, name: 'read', scopes: ['catalog:read'] })).secret}` }
  })
  afterAll(() => shop?.close())

  // The document depends on the composition, not on storage: checked once.
  it.runIf(storage === 'sqlite')('lists the routes in the Admin OpenAPI document, which validates as 3.1', async () => {
    const document = (await call(admin, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> }
    expect(Object.keys(document.paths['/imports/products/csv'] ?? {})).toEqual(['post'])
    expect(Object.keys(document.paths['/imports/products/json'] ?? {})).toEqual(['post'])
    expect(Object.keys(document.paths['/exports/products'] ?? {})).toEqual(['get'])
    const result = await new Validator().validate(document as never)
    expect(result.errors ?? []).toEqual([])
  })

  it('imports products from CSV: variants, prices in minor units and stock written', async () => {
    const answer = await call(admin, 'POST', '/imports/products/csv', { body: { csv: CAPS }, headers: staff })
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ status: 'imported', products: 2, variants: 3, rowsTotal: 3, jobId: null })
    const variant = await shop.commerce.catalog.getVariantBySku('CAP-M')
    expect(variant.prices).toEqual([expect.objectContaining({ currency: 'USD', amount: 1950 })])
    expect((await shop.commerce.inventory.levels(variant.id)).map((l) => l.onHand)).toEqual([7])
  })

  it('imports JSON products in batches, with a job to resume', async () => {
    const products = ['a', 'b', 'c'].map((x) => ({
      title: `Glove ${x}`,
      handle: `glove-${x}`,
      variants: [{ sku: `GLOVE-${x.toUpperCase()}`, prices: [{ currency: 'USD', amount: 900 }], inventoryPolicy: { policy: 'backorder', backorderLimit: 10 } }],
    }))
    const answer = await call(admin, 'POST', '/imports/products/json', { body: { products, batchSize: 2 }, headers: staff })
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ status: 'imported', products: 3, variants: 3, jobId: expect.any(String) })
    const glove = await shop.commerce.catalog.getVariantBySku('GLOVE-C')
    expect(glove.inventoryPolicy).toMatchObject({ policy: 'backorder', backorderLimit: 10 })
  })

  it('exports the catalog as CSV and as JSON that carries what was imported', async () => {
    const csv = await call(admin, 'GET', '/exports/products?format=csv', { headers: reader })
    expect(csv.status).toBe(200)
    expect(csv.body.format).toBe('csv')
    const lines = (csv.body.csv as string).trim().split(/\r?\n/)
    expect(lines[0]).toContain('Handle')
    expect(lines.filter((l) => l.startsWith('cap,'))).toHaveLength(2)
    expect(csv.body.csv).toContain('19.50')

    const json = await call(admin, 'GET', '/exports/products?format=json&currency=USD', { headers: reader })
    expect(json.status).toBe(200)
    const handles = (json.body.products as Array<{ handle: string }>).map((p) => p.handle).sort()
    const catalog = await shop.commerce.catalog.listProducts({ limit: 100 })
    expect(handles).toEqual(catalog.items.map((p) => p.handle).sort())
    expect(handles).toEqual(expect.arrayContaining(['cap', 'glove-a', 'glove-b', 'glove-c', 'scarf']))
    const cap = (json.body.products as Array<{ handle: string; variants: Array<{ sku: string; prices: Array<{ amount: number }> }> }>).find((p) => p.handle === 'cap')!
    expect(cap.variants.map((v) => [v.sku, v.prices[0]!.amount])).toEqual([
      ['CAP-S', 1900],
      ['CAP-M', 1950],
    ])
  })

  it('refuses a file with rows at fault (400 naming each row and column), writing nothing', async () => {
    const before = await snapshot()
    const bad = file('hat,Hat,,,HAT-1,12.345,USD,1,main', 'boot,Boot,,,BOOT-1,80.00,XYZ,1,main', 'cap,Again,,,CAP-S,1.00,USD,1,main')
    const answer = await call(admin, 'POST', '/imports/products/csv', { body: { csv: bad }, headers: staff })
    expect([answer.status, answer.body.code]).toEqual([400, 'VALIDATION'])
    const rows = answer.body.details.rejected as Array<{ row: number; column: string | null }>
    expect(rows.map((r) => r.row)).toEqual(expect.arrayContaining([2]))
    expect(rows.every((r) => r.row >= 2 && r.row <= 4)).toBe(true)
    expect(answer.body.details.fields.length).toBe(rows.length)
    expect(answer.body.details.report).toMatchObject({ status: 'rejected', products: 0 })

    const json = await call(admin, 'POST', '/imports/products/json', { body: { products: [{ title: 'No variants' }] }, headers: staff })
    expect([json.status, json.body.code]).toEqual([400, 'VALIDATION'])
    expect(json.body.details.rejected[0]).toMatchObject({ row: 1 })
    expect(await snapshot()).toEqual(before)
  })

  it('refuses bad requests with 400 (unknown fields, a missing file, bad options), 403 without the scope, 413 over the body limit: nothing written', async () => {
    const before = await snapshot()
    const bad: Array<{ method: string; path: string; body?: unknown }> = [
      { method: 'POST', path: '/imports/products/csv', body: { csv: CAPS.replace(/cap/g, 'cup').replace(/CAP/g, 'CUP'), dryRun: true } },
      { method: 'POST', path: '/imports/products/csv', body: {} },
      { method: 'POST', path: '/imports/products/csv', body: { csv: '' } },
      { method: 'POST', path: '/imports/products/csv', body: { csv: file('mug,Mug,,,MUG-1,5.00,,1,main'), defaultCurrency: 'usd' } },
      { method: 'POST', path: '/imports/products/csv', body: { csv: file('mug,Mug,,,MUG-1,5.00,USD,1,main'), batchSize: 0 } },
      { method: 'POST', path: '/imports/products/json', body: { products: 'not an array' } },
      { method: 'POST', path: '/imports/products/json', body: { products: [1, 2] } },
      { method: 'GET', path: '/exports/products' },
      { method: 'GET', path: '/exports/products?format=xml' },
    ]
    for (const request of bad) {
      const answer = await call(admin, request.method, request.path, { ...(request.body !== undefined ? { body: request.body } : {}), headers: staff })
      expect([request.path, JSON.stringify(request.body), answer.status, answer.body.code]).toEqual([request.path, JSON.stringify(request.body), 400, 'VALIDATION'])
    }
    const forbidden = await call(admin, 'POST', '/imports/products/csv', { body: { csv: file('mug,Mug,,,MUG-1,5.00,USD,1,main') }, headers: reader })
    expect([forbidden.status, forbidden.body.code]).toEqual([403, 'FORBIDDEN'])
    // 101 KiB of rows: over the app's default body limit (100 KiB).
    const rows = Array.from({ length: 2600 }, (_, i) => `big-${i},Big ${i},,,BIG-${i},1.00,USD,1,main`)
    const big = file(...rows)
    expect(big.length).toBeGreaterThan(100 * 1024)
    const tooLarge = await call(admin, 'POST', '/imports/products/csv', { body: { csv: big }, headers: staff })
    expect([tooLarge.status, tooLarge.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    expect(await snapshot()).toEqual(before)
  })
})
