/**
 * The store seeds its catalog and serves it: the home page lists the products, and a product's
 * page opens from its link. Runs on a SQLite file in a temporary directory (or on DATABASE_URL
 * when the shop is on PostgreSQL).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { SHOES } from '../src/catalog.js'
import { startServer } from '../src/server.js'

let dir: string
let server: { url: string; close(): Promise<void> }

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'store-test-'))
  server = await startServer({ port: 0, filename: join(dir, 'shop.db'), quiet: true })
})

afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

it('seeds the catalog and lists its products on the home page', async () => {
  const response = await fetch(server.url)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toContain('text/html')
  const html = await response.text()
  const listed = SHOES.filter((shoe) => html.includes(`/products/${shoe.handle}`) && html.includes(shoe.title))
  expect(listed.length).toBeGreaterThan(0)

  const product = await fetch(new URL(`/products/${listed[0]!.handle}`, server.url))
  expect(product.status).toBe(200)
  expect(await product.text()).toContain(listed[0]!.title)
})
