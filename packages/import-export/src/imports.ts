import { createHash } from 'node:crypto'
import { z } from 'zod'
import { sql } from 'kysely'
import { definePlugin, isCommerceError, MAX_BULK_PRODUCTS, validationError, type BulkProductInput, type Commerce, type PluginContext } from '@cartwright/core'
import { MAX_FILE_CHARS, parseCsv } from './csv.js'
import { importExportEndpoints } from './endpoints.js'
import { exportCsvChunks, exportJsonChunks } from './export.js'
import { readCsvRows, type ParsedProduct, type RejectedRow } from './layout.js'

/**
 * The plugin's tables: `imports_jobs`, one row per batched import, and `imports_batches`, one row
 * per batch of it (the products each committed batch created), so that an interrupted or failed
 * import resumes.
 *
 * @example
 * ```ts
 * import type { Kysely } from 'kysely'
 *
 * declare const db: Kysely<ImportTables>
 * const unfinished = await db.selectFrom('imports_jobs').selectAll().where('status', '=', 'running').execute()
 * ```
 */
export interface ImportTables {
  imports_jobs: {
    id: string
    /** SHA-256 of the file's text. */
    file_hash: string
    /** Products per batch. */
    batch_size: number
    batches: number
    /** The last batch written (0-based); -1 before the first. */
    last_batch: number
    /** `failed`: the batch after `last_batch` was refused; a corrected file resumes there. */
    status: 'running' | 'done' | 'failed'
    created_at: string | Date
    updated_at: string | Date
  }
  imports_batches: {
    job_id: string
    /** The batch's index in the file (0-based). */
    batch: number
    /** SHA-256 of the batch's products as read from the file. */
    input_hash: string
    /** `pending` from just before its write until it is recorded `committed`. */
    status: 'pending' | 'committed'
    /** JSON: the ids of the products the batch created (empty while pending). */
    product_ids: string
    started_at: string | Date
  }
}

/**
 * Progress of an import, given to `onProgress`: rows (CSV data rows, or JSON products) done of
 * the file's total, and the batch just written (1-based) of how many.
 *
 * @example
 * ```ts
 * const onProgress = (p: ImportProgress) => console.log(`${p.rowsDone}/${p.rowsTotal} rows, batch ${p.batch}/${p.batches}`)
 * ```
 */
export interface ImportProgress {
  rowsDone: number
  rowsTotal: number
  batch: number
  batches: number
}

/**
 * Options of `importCsv` and `importJson`. Without `batchSize` the file is one transaction, all or
 * nothing. With it, every `batchSize` products commit on their own, and importing the same file
 * again with the same `batchSize` after an interruption resumes after the last committed batch.
 * `defaultCurrency` and `defaultLocation` (a stock location's code) stand in for empty `Currency`
 * and `Location` cells.
 *
 * @example
 * ```ts
 * const options: ImportOptions = { batchSize: 500, defaultCurrency: 'EUR', onProgress: (p) => console.log(p.rowsDone) }
 * ```
 */
export interface ImportOptions {
  batchSize?: number
  defaultCurrency?: string
  defaultLocation?: string
  onProgress?: (progress: ImportProgress) => void | Promise<void>
}

/**
 * What an import did. `status: 'rejected'`: nothing of the rejected batch was written, and
 * `rejected` lists every row at fault with its column and reason. `warnings` lists what was
 * ignored (unknown columns). `resumedAfterBatch` is the batch a resumed import continued after.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithImports
 * declare const file: string
 * const report: ImportReport = await shop.imports.importCsv(file)
 * if (report.status === 'rejected') for (const r of report.rejected) console.log(`row ${r.row} ${r.column}: ${r.reason}`)
 * ```
 */
export interface ImportReport {
  status: 'imported' | 'rejected'
  products: number
  variants: number
  rowsTotal: number
  rejected: RejectedRow[]
  warnings: string[]
  jobId: string | null
  resumedAfterBatch: number | null
}

/**
 * Options of `exportCsv` and `exportJson`: the CSV's price currency (else each variant's first
 * price with a minimum quantity of 1) and how many products are read per page.
 *
 * @example
 * ```ts
 * const options: ExportOptions = { currency: 'USD', pageSize: 100 }
 * ```
 */
export interface ExportOptions {
  currency?: string
  pageSize?: number
}

const importOptionsSchema = z.strictObject({
  batchSize: z.number().int().min(1).max(MAX_BULK_PRODUCTS).optional(),
  defaultCurrency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD').optional(),
  defaultLocation: z.string().trim().min(1).max(120).optional(),
  onProgress: z.custom<ImportOptions['onProgress']>((v) => typeof v === 'function', { message: 'must be a function' }).optional(),
})
const exportOptionsSchema = z.strictObject({
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD').optional(),
  pageSize: z.number().int().min(1).max(100).default(100),
})

function parse<S extends z.ZodType>(schema: S, value: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw validationError(subject, result.error.issues.map((i) => ({ path: i.path.length ? i.path.join('.') : subject, message: i.message })))
}

function text(file: unknown): string {
  if (typeof file === 'string') {
    if (file.length > MAX_FILE_CHARS) throw validationError('file', [{ path: 'file', message: `is larger than ${MAX_FILE_CHARS} characters` }])
    return file
  }
  if (file instanceof Uint8Array) {
    if (file.length > MAX_FILE_CHARS) throw validationError('file', [{ path: 'file', message: `is larger than ${MAX_FILE_CHARS} bytes` }])
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(file)
    } catch {
      throw validationError('file', [{ path: 'file', message: 'is not UTF-8 text' }])
    }
  }
  throw validationError('file', [{ path: 'file', message: 'must be a string or bytes (Uint8Array)' }])
}

/**
 * The import and export service, `commerce.imports`.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithImports
 * declare const csvText: string
 * const report = await shop.imports.importCsv(csvText, { defaultLocation: 'main' })
 * for await (const chunk of shop.imports.exportCsv()) process.stdout.write(chunk)
 * ```
 */
export interface ImportsService {
  /** Imports a CSV file in the documented layout (see the package README). */
  importCsv(file: string | Uint8Array, options?: ImportOptions): Promise<ImportReport>
  /** Imports a JSON array of products in the shape `exportJson` writes (core's `BulkProductInput`). */
  importJson(file: string | Uint8Array, options?: ImportOptions): Promise<ImportReport>
  /** The catalog as CSV, in chunks, a page of products at a time: `Readable.from(...)` makes a Node stream of it. */
  exportCsv(options?: ExportOptions): AsyncIterable<string>
  /** The catalog as a JSON array, in chunks, a page of products at a time. */
  exportJson(options?: ExportOptions): AsyncIterable<string>
}

/**
 * An engine with the import and export plugin.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const shop: CommerceWithImports = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), plugins: [importExport()] })
 * ```
 */
export type CommerceWithImports = Commerce<[ReturnType<typeof importExport>]>

type Ctx = PluginContext<ImportTables>

/** Which column a field of core's bulk input comes from. */
function columnOf(path: string[]): string | null {
  const [head, , field] = path
  if (head === 'variants') {
    if (field === 'sku') return 'Variant SKU'
    if (field === 'weightGrams') return 'Variant Grams'
    if (field === 'options') return 'Option1 Value'
    if (field === 'prices') return path.includes('compareAtAmount') ? 'Variant Compare At Price' : path.includes('currency') ? 'Currency' : 'Variant Price'
    return null
  }
  const columns: Record<string, string> = { handle: 'Handle', title: 'Title', description: 'Body (HTML)', tags: 'Tags', productType: 'Type', categories: 'Category', status: 'Status', metadata: 'Vendor', options: 'Option1 Name', images: 'Image Src', stock: 'Location' }
  return head === undefined ? null : (columns[head] ?? null)
}

const policySchema = z.discriminatedUnion('policy', [
  z.object({ policy: z.literal('deny'), backorderLimit: z.null().optional(), availableAt: z.null().optional() }),
  z.object({ policy: z.literal('backorder'), backorderLimit: z.number().int().min(1).max(1_000_000), availableAt: z.null().optional() }),
  z.object({ policy: z.literal('preorder'), backorderLimit: z.number().int().min(1).max(1_000_000).nullable().optional(), availableAt: z.string().datetime({ offset: true }).max(40) }),
])

/**
 * A JSON product without its variants' `inventoryPolicy` (core's `createProducts` does not take
 * one: it is restored by `inventory.setPolicy` once the product is written), the policies to set
 * (`deny`, the default, is not), and what is wrong with them.
 */
function withoutPolicies(raw: unknown): { input: BulkProductInput; policies: NonNullable<ParsedProduct['policies']>; issues: Array<{ path: string; message: string }> } {
  const policies: NonNullable<ParsedProduct['policies']> = []
  const issues: Array<{ path: string; message: string }> = []
  const product = raw as BulkProductInput
  if (typeof raw !== 'object' || raw === null || !Array.isArray(product.variants)) return { input: product, policies, issues }
  const variants = product.variants.map((variant, j) => {
    if (typeof variant !== 'object' || variant === null || !('inventoryPolicy' in variant)) return variant
    const { inventoryPolicy, ...rest } = variant as typeof variant & { inventoryPolicy: unknown }
    const parsed = policySchema.safeParse(inventoryPolicy)
    if (!parsed.success) for (const i of parsed.error.issues) issues.push({ path: ['variants', j, 'inventoryPolicy', ...i.path].join('.'), message: i.message })
    else if (parsed.data.policy !== 'deny' && rest.manageInventory === false) issues.push({ path: `variants.${j}.inventoryPolicy.policy`, message: 'a variant that does not manage stock never runs out: its policy is deny' })
    else if (parsed.data.policy === 'backorder') policies.push({ sku: rest.sku, policy: { policy: 'backorder', backorderLimit: parsed.data.backorderLimit } })
    else if (parsed.data.policy === 'preorder') policies.push({ sku: rest.sku, policy: { policy: 'preorder', availableAt: parsed.data.availableAt, backorderLimit: parsed.data.backorderLimit ?? null } })
    return rest
  })
  return { input: { ...product, variants }, policies, issues }
}

/** Core's error about a batch, as rejected rows of the file. */
function rowsOf(error: unknown, batch: ParsedProduct[], json: boolean): RejectedRow[] | null {
  if (!isCommerceError(error) || (error.code !== 'VALIDATION' && error.code !== 'CONFLICT')) return null
  const issues = (error.details.issues as Array<{ path: string; message: string }> | undefined) ??
    ((error.details.conflicts as Array<{ field: string; value: string }> | undefined) ?? []).map((c) => ({ path: c.field, message: `${c.field.endsWith('sku') ? 'SKU' : 'handle'} ${JSON.stringify(c.value)} is already in the catalog` }))
  const rows: RejectedRow[] = []
  for (const issue of issues) {
    const match = /^products\.(\d+)\.?(.*)$/.exec(issue.path)
    const product = match ? batch[Number(match[1])] : undefined
    if (!product) {
      rows.push({ row: batch[0]?.row ?? 1, column: null, reason: issue.message })
      continue
    }
    const path = match![2] ? match![2].split('.') : []
    let row = product.row
    if (path[0] === 'variants' && path[1] !== undefined) row = product.variantRows[Number(path[1])] ?? row
    if (path[0] === 'stock' && path[1] !== undefined) {
      const sku = product.input.stock?.[Number(path[1])]?.sku
      const at = product.input.variants.findIndex((v) => v.sku === sku)
      row = product.variantRows[at] ?? row
    }
    rows.push({ row, column: json ? path.join('.') || null : columnOf(path), reason: issue.message })
  }
  return rows.length ? rows.sort((a, b) => a.row - b.row) : [{ row: batch[0]?.row ?? 1, column: null, reason: error.message }]
}

/**
 * The import and export plugin: `commerce.imports`, with its job table (`imports_jobs`) for
 * resuming batched imports.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const shop = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), plugins: [importExport()] })
 * const report = await shop.imports.importCsv('Handle,Title,Variant SKU,Variant Price,Currency\r\ncap,Cap,CAP-1,19.00,USD\r\n')
 * report.status // 'imported'
 * ```
 */
export function importExport() {
  return definePlugin({
    id: 'imports',
    endpoints: importExportEndpoints,
    migrations: {
      '0001_import_jobs': {
        async up(db) {
          await db.schema
            .createTable('imports_jobs')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('file_hash', 'text', (c) => c.notNull())
            .addColumn('batch_size', 'integer', (c) => c.notNull())
            .addColumn('batches', 'integer', (c) => c.notNull())
            .addColumn('last_batch', 'integer', (c) => c.notNull())
            .addColumn('status', 'text', (c) => c.notNull())
            .addColumn('created_at', 'text', (c) => c.notNull())
            .addColumn('updated_at', 'text', (c) => c.notNull())
            .execute()
          await db.schema.createIndex('imports_jobs_file').on('imports_jobs').columns(['file_hash', 'batch_size', 'status']).execute()
        },
      },
      '0002_import_batches': {
        async up(db) {
          await db.schema
            .createTable('imports_batches')
            .addColumn('job_id', 'text', (c) => c.notNull())
            .addColumn('batch', 'integer', (c) => c.notNull())
            .addColumn('input_hash', 'text', (c) => c.notNull())
            .addColumn('status', 'text', (c) => c.notNull())
            .addColumn('product_ids', 'text', (c) => c.notNull())
            .addColumn('started_at', 'text', (c) => c.notNull())
            .addPrimaryKeyConstraint('imports_batches_pk', ['job_id', 'batch'])
            .execute()
        },
      },
    },
    init(ctx: Ctx): ImportsService {
      const run = async (source: string, parsed: { products: ParsedProduct[]; rejected: RejectedRow[]; warnings: string[]; rowsTotal: number }, options: z.output<typeof importOptionsSchema>, json: boolean): Promise<ImportReport> => {
        const report = (status: ImportReport['status'], rejected: RejectedRow[], jobId: string | null = null, resumedAfterBatch: number | null = null, written = parsed.products): ImportReport => ({
          status,
          products: status === 'imported' ? written.length : 0,
          variants: status === 'imported' ? written.reduce((n, p) => n + p.input.variants.length, 0) : 0,
          rowsTotal: parsed.rowsTotal,
          rejected,
          warnings: parsed.warnings,
          jobId,
          resumedAfterBatch,
        })
        if (parsed.rejected.length) return report('rejected', parsed.rejected.sort((a, b) => a.row - b.row))
        const all = parsed.products
        const size = options.batchSize
        if (size === undefined) {
          if (all.length > MAX_BULK_PRODUCTS) throw validationError('options', [{ path: 'batchSize', message: `the file holds ${all.length} products, more than ${MAX_BULK_PRODUCTS} in one transaction: set a batch size` }])
          if (all.length === 0) return report('imported', [])
          try {
            await ctx.commerce.catalog.createProducts(all.map((p) => p.input))
          } catch (error) {
            const rows = rowsOf(error, all, json)
            if (rows) return report('rejected', rows)
            throw error
          }
          await applyPolicies(all)
          await options.onProgress?.({ rowsDone: parsed.rowsTotal, rowsTotal: parsed.rowsTotal, batch: 1, batches: 1 })
          return report('imported', [])
        }

        const batches: ParsedProduct[][] = []
        for (let i = 0; i < all.length; i += size) batches.push(all.slice(i, i + size))
        const hash = createHash('sha256').update(source).digest('hex')
        const hashes = batches.map((b) => createHash('sha256').update(JSON.stringify(b.map((p) => [p.input, p.policies ?? []]))).digest('hex'))
        const now = () => ctx.now().toISOString()
        const found = await resumable(batches, hashes, size)
        let jobId: string
        let start = 0
        let adopted: string[] | null = null
        const resumedAfterBatch = found ? found.start - 1 : null
        if (found) {
          ;({ start, adopted } = found)
          jobId = found.job.id
          const at = start
          await ctx.transaction(async (tx) => {
            await tx.db.updateTable('imports_jobs').set({ file_hash: hash, batches: batches.length, last_batch: at - 1, status: 'running', updated_at: now() }).where('id', '=', jobId).execute()
            await tx.db.deleteFrom('imports_batches').where('job_id', '=', jobId).where('batch', adopted ? '>' : '>=', at).execute()
          })
        } else {
          jobId = ctx.newId('imp')
          const row = { id: jobId, file_hash: hash, batch_size: size, batches: batches.length, last_batch: -1, status: 'running' as const, created_at: now(), updated_at: now() }
          await ctx.transaction((tx) => tx.db.insertInto('imports_jobs').values(row).execute())
        }
        const rowsUpTo = (k: number) => batches.slice(0, k + 1).reduce((n, b) => n + b.reduce((m, p) => m + p.rows, 0), 0)
        for (let k = start; k < batches.length; k++) {
          const batch = batches[k]!
          let ids: string[]
          if (k === start && adopted) ids = adopted
          else {
            // Marked pending before the write: a cut between the write's commit and the record
            // below leaves a pending batch, which resuming adopts only if its products are there,
            // made after this mark, with exactly the batch's SKUs.
            await ctx.transaction((tx) => tx.db.insertInto('imports_batches').values({ job_id: jobId, batch: k, input_hash: hashes[k]!, status: 'pending', product_ids: '[]', started_at: now() }).execute())
            try {
              ids = (await ctx.commerce.catalog.createProducts(batch.map((p) => p.input))).products.map((p) => p.id)
            } catch (error) {
              const rows = rowsOf(error, batch, json)
              if (!rows) throw error
              // Refused: nothing of it was written. The job keeps its committed batches, and the
              // corrected file (same batch size) resumes at this batch.
              await ctx.transaction(async (tx) => {
                await tx.db.deleteFrom('imports_batches').where('job_id', '=', jobId).where('batch', '=', k).execute()
                await tx.db.updateTable('imports_jobs').set({ status: 'failed', last_batch: k - 1, updated_at: now() }).where('id', '=', jobId).execute()
              })
              return report('rejected', rows, jobId, resumedAfterBatch, batches.slice(0, k).flat())
            }
          }
          await applyPolicies(batch)
          const recorded = ids
          await ctx.transaction(async (tx) => {
            await tx.db.updateTable('imports_batches').set({ status: 'committed', product_ids: JSON.stringify(recorded) }).where('job_id', '=', jobId).where('batch', '=', k).execute()
            await tx.db
              .updateTable('imports_jobs')
              .set({ last_batch: k, status: k === batches.length - 1 ? 'done' : 'running', updated_at: now() })
              .where('id', '=', jobId)
              .execute()
          })
          await options.onProgress?.({ rowsDone: rowsUpTo(k), rowsTotal: parsed.rowsTotal, batch: k + 1, batches: batches.length })
        }
        if (batches.length === 0) await ctx.transaction((tx) => tx.db.updateTable('imports_jobs').set({ status: 'done', updated_at: now() }).where('id', '=', jobId).execute())
        return report('imported', [], jobId, resumedAfterBatch)
      }

      /** Restores each variant's inventory policy (JSON's `inventoryPolicy`) once its product is written. */
      const applyPolicies = async (batch: ParsedProduct[]) => {
        for (const p of batch) {
          for (const { sku, policy } of p.policies ?? []) {
            const variant = await ctx.commerce.catalog.getVariantBySku(sku)
            await ctx.commerce.inventory.setPolicy(variant.id, policy)
          }
        }
      }

      /** Which of the ids are products in the catalog. */
      const existing = async (ids: string[]): Promise<Set<string>> => {
        const out = new Set<string>()
        for (let i = 0; i < ids.length; i += 500) {
          const part = ids.slice(i, i + 500)
          const rows = await sql<{ id: string }>`select id from cw_products where id in (${sql.join(part)})`.execute(ctx.db)
          for (const r of rows.rows) out.add(r.id)
        }
        return out
      }

      /**
       * A job to resume for this file: the newest running or failed job of the same batch size
       * whose first batches are exactly this file's (same products read, same hash) and whose
       * products, by the ids it recorded, are all still in the catalog. `start` is the first batch
       * to write; `adopted`, the ids of a pending batch found written (its products carry the
       * batch's handles and exactly its SKUs, and were created after the batch was marked).
       */
      const resumable = async (batches: ParsedProduct[][], hashes: string[], size: number) => {
        const jobs = await ctx.db.selectFrom('imports_jobs').selectAll().where('batch_size', '=', size).where('status', 'in', ['running', 'failed']).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(20).execute()
        for (const job of jobs) {
          const records = await ctx.db.selectFrom('imports_batches').selectAll().where('job_id', '=', job.id).orderBy('batch').execute()
          let k = 0
          for (; k < batches.length; k++) {
            const r = records[k]
            if (!r || r.batch !== k || r.status !== 'committed' || r.input_hash !== hashes[k]) break
            const ids = JSON.parse(r.product_ids) as string[]
            if ((await existing(ids)).size !== ids.length) break
          }
          const pending = records[k]
          let adopted: string[] | null = null
          if (pending && pending.batch === k && pending.status === 'pending' && pending.input_hash === hashes[k]) adopted = await written(batches[k]!, new Date(pending.started_at).getTime())
          if (k > 0 || adopted) return { job, start: k, adopted }
        }
        return null
      }

      /** The ids of a batch's products if all of them are in the catalog, made at or after `since`, each with exactly its SKUs. */
      const written = async (batch: ParsedProduct[], since: number): Promise<string[] | null> => {
        const handles = batch.map((p) => p.input.handle)
        if (handles.some((h) => h === undefined)) return null
        const products = (await sql<{ id: string; handle: string; created_at: string | Date }>`select id, handle, created_at from cw_products where handle in (${sql.join(handles)})`.execute(ctx.db)).rows
        const byHandle = new Map(products.map((p) => [p.handle, p]))
        const ids: string[] = []
        for (const p of batch) {
          const row = byHandle.get(p.input.handle!)
          if (!row || new Date(row.created_at).getTime() < since) return null
          const skus = (await sql<{ sku: string }>`select sku from cw_variants where product_id = ${row.id}`.execute(ctx.db)).rows.map((v) => v.sku).sort()
          if (JSON.stringify(skus) !== JSON.stringify(p.input.variants.map((v) => v.sku).sort())) return null
          ids.push(row.id)
        }
        return ids
      }

      return {
        async importCsv(file, options = {}) {
          const source = text(file)
          const settings = parse(importOptionsSchema, options, 'options')
          const rows = parseCsv(source)
          const read = readCsvRows(rows, { defaultCurrency: settings.defaultCurrency, defaultLocation: settings.defaultLocation })
          return run(source, { ...read, rowsTotal: read.dataRows }, settings, false)
        },
        async importJson(file, options = {}) {
          const source = text(file)
          const settings = parse(importOptionsSchema, options, 'options')
          let value: unknown
          try {
            value = JSON.parse(source)
          } catch (error) {
            throw validationError('file', [{ path: 'file', message: `is not JSON: ${(error as Error).message}` }])
          }
          if (!Array.isArray(value)) throw validationError('file', [{ path: 'file', message: 'must be a JSON array of products' }])
          const rejected: RejectedRow[] = []
          const products: ParsedProduct[] = value.map((raw, i) => {
            const { input, policies, issues } = withoutPolicies(raw)
            for (const issue of issues) rejected.push({ row: i + 1, column: issue.path, reason: issue.message })
            return {
              input,
              row: i + 1,
              variantRows: Array.isArray(input?.variants) ? input.variants.map(() => i + 1) : [],
              rows: 1,
              ...(policies.length ? { policies } : {}),
            }
          })
          return run(source, { products, rejected, warnings: [], rowsTotal: products.length }, settings, true)
        },
        async *exportCsv(options = {}) {
          const settings = parse(exportOptionsSchema, options, 'options')
          yield* exportCsvChunks(ctx.commerce, { currency: settings.currency, pageSize: settings.pageSize })
        },
        async *exportJson(options = {}) {
          const settings = parse(exportOptionsSchema, options, 'options')
          yield* exportJsonChunks(ctx.commerce, { currency: settings.currency, pageSize: settings.pageSize })
        },
      }
    },
  })
}
