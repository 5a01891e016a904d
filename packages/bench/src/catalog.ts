/**
 * The catalog at size: 10,000 products × 10 variants (5 sizes × 2 colours) = 100,000 variants, in
 * 100 categories of about 1% of the products each, with titles whose "family" word matches about
 * 1% of them. Times, as p50 and p99 over `BENCH_N` calls each:
 *
 * - a category listing with an option filter and facets (`search.products({ categoryId, options })`);
 * - a text search matching about 1%, with facets (`search.products({ query })`);
 * - a product by handle (`catalog.getProduct(handle)`).
 *
 *   cd packages/bench && pnpm bench:catalog                        # SQLite file
 *   BENCH_STORAGE=postgres pnpm bench:catalog                      # PostgreSQL (CARTWRIGHT_PG_URL, or an embedded server)
 *   BENCH_PRODUCTS=2000 BENCH_N=100 pnpm bench:catalog             # smaller
 *   BENCH_DB=/tmp/catalog.db pnpm bench:catalog                    # seed this file (SQLite) or database (PostgreSQL) once, reuse it after
 *
 * Targets: p99 < 5 ms on SQLite, < 10 ms on PostgreSQL.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { sql } from 'kysely'
import { createCommerce, type Commerce, type StorageAdapter } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sqliteStorage } from '@cartwright/storage-sqlite'

const PRODUCTS = Number(process.env['BENCH_PRODUCTS'] ?? 10_000)
const N = Number(process.env['BENCH_N'] ?? 300)
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 200)
const POSTGRES = process.env['BENCH_STORAGE'] === 'postgres'
const SIZES = ['40', '41', '42', '43', '44']
const COLORS = ['Red', 'Blue']
const CATEGORIES = 100
const FAMILIES = 100
/** Words that name a family: each appears in about 1% of the titles. */
const family = (i: number) => `fam${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`

async function storage(): Promise<{ adapter: () => StorageAdapter; done: () => Promise<void>; seeded: boolean }> {
  const keep = process.env['BENCH_DB']
  if (!POSTGRES && keep) {
    // A file kept between runs: seeded by the first, reused (migrated) by the next.
    return { adapter: () => sqliteStorage({ filename: keep }), done: async () => {}, seeded: existsSync(keep) }
  }
  if (!POSTGRES) {
    const dir = mkdtempSync(join(tmpdir(), 'cartwright-catalog-'))
    return { adapter: () => sqliteStorage({ filename: join(dir, 'catalog.db') }), done: async () => rmSync(dir, { recursive: true, force: true }), seeded: false }
  }
  let url = process.env['CARTWRIGHT_PG_URL']
  let stop = async () => {}
  if (!url) {
    const { startEmbeddedPostgres } = await import('../../storage-postgres/test/support/embedded-server.js')
    const server = await startEmbeddedPostgres()
    url = server.url
    stop = () => server.stop()
  }
  // BENCH_DB names a database kept between runs (seeded by the first); else a new one, dropped after.
  const kept = process.env['BENCH_DB']
  const name = kept ?? `cartwright_catalog_${Date.now().toString(36)}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  const exists = (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1
  if (!exists) await admin.query(`create database ${admin.escapeIdentifier(name)}`)
  await admin.end()
  const database = new URL(url)
  database.pathname = `/${name}`
  return {
    seeded: exists,
    adapter: () => postgresStorage({ connectionString: database.toString() }),
    done: async () => {
      if (kept) return stop()
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`)
      await client.end()
      await stop()
    },
  }
}

async function seed(commerce: Commerce): Promise<{ categoryIds: string[] }> {
  await commerce.inventory.createLocation({ name: 'Main', code: 'main' })
  const categories = []
  for (let c = 0; c < CATEGORIES; c++) categories.push(await commerce.categories.create({ title: `Category ${c}`, handle: `category-${c}` }))
  const started = performance.now()
  // In batches of 500 products, each one transaction (catalog.createProducts).
  for (let first = 0; first < PRODUCTS; first += 500) {
    const batch = []
    for (let p = first; p < Math.min(PRODUCTS, first + 500); p++) {
      const variants = COLORS.flatMap((color) =>
        SIZES.map((size) => ({ sku: `P${p}-${color}-${size}`, options: { Size: size, Color: color }, prices: [{ currency: 'USD', amount: 5_000 + ((p * 37) % 10_000) }] })),
      )
      batch.push({
        title: `Runner ${family(p % FAMILIES)} ${p}`,
        handle: `product-${p}`,
        description: 'A shoe made for the bench: light, quick and cheap to index.',
        status: 'active' as const,
        tags: [`tag${p % 50}`],
        options: [
          { name: 'Size', values: SIZES },
          { name: 'Color', values: COLORS },
        ],
        variants,
        categories: [`category-${p % CATEGORIES}`],
        // Stock for one variant in ten: enough for "in stock" to mean something, cheap to seed.
        stock: [{ sku: variants[p % variants.length]!.sku, location: 'main', onHand: 3 }],
      })
    }
    await commerce.catalog.createProducts(batch)
    if ((first + 500) % 2000 === 0) console.log(`  seeded ${first + 500} products (${((performance.now() - started) / 1000).toFixed(0)} s)`)
  }
  return { categoryIds: categories.map((c) => c.id) }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function time(name: string, call: (i: number) => Promise<unknown>): Promise<{ name: string; p50: number; p99: number; max: number }> {
  // Warm up first (the JIT, the statement caches, the page cache): what a shop that has been up a while sees.
  for (let i = 0; i < WARMUP; i++) await call(i)
  const samples: number[] = []
  for (let i = 0; i < N; i++) {
    const t = performance.now()
    await call(i)
    samples.push(performance.now() - t)
  }
  samples.sort((a, b) => a - b)
  return { name, p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples[samples.length - 1]! }
}

const place = await storage()
try {
  const commerce = await createCommerce({ storage: place.adapter(), outbox: { enabled: false }, recovery: { enabled: false }, onListenerError: () => undefined })
  if (!place.seeded) console.log(`seeding ${PRODUCTS} products × ${SIZES.length * COLORS.length} variants on ${POSTGRES ? 'PostgreSQL' : 'SQLite'}…`)
  const { categoryIds } = place.seeded
    ? { categoryIds: await Promise.all(Array.from({ length: CATEGORIES }, async (_, c) => (await commerce.categories.get(`category-${c}`)).id)) }
    : await seed(commerce)
  // Statistics, as a live database has them (PostgreSQL's autovacuum, SQLite's PRAGMA optimize): without
  // them a planner freshly bulk-loaded may scan whole tables.
  await sql`analyze`.execute(commerce.db)
  const sample = await commerce.search.products({ query: family(7) })
  const listing = await commerce.search.products({ categoryId: categoryIds[3]!, options: { Size: ['42'] } })
  console.log(`a family word finds ${sample.total} products; a category with Size 42 holds ${listing.total}`)
  const rows = [
    await time('category + option filter + facets', (i) => commerce.search.products({ categoryId: categoryIds[i % CATEGORIES]!, options: { Size: ['42'] }, currency: 'USD' })),
    await time('text search (~1%) + facets', (i) => commerce.search.products({ query: `runner ${family(i % FAMILIES)}`, currency: 'USD' })),
    await time('text search, in stock only', (i) => commerce.search.products({ query: family(i % FAMILIES), inStock: true })),
    await time('product by handle', (i) => commerce.catalog.getProduct(`product-${(i * 7919) % PRODUCTS}`)),
  ]
  await commerce.close()
  const target = POSTGRES ? 10 : 5
  console.log(`\n${POSTGRES ? 'PostgreSQL' : 'SQLite'}, ${PRODUCTS * SIZES.length * COLORS.length} variants, ${N} calls each, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`)
  console.log('| call | p50 ms | p99 ms | max ms | p99 target |')
  console.log('| --- | ---: | ---: | ---: | --- |')
  for (const r of rows) console.log(`| ${r.name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} | < ${target} ms ${r.p99 < target ? 'met' : 'missed'} |`)
} finally {
  await place.done()
}
