import { z } from 'zod'
import { CommerceError, defineEndpoint, MAX_BULK_PRODUCTS, type Actor, type Endpoint } from '@cartwright/core'
import type { ImportReport, ImportsService } from './imports.js'
import { MAX_FILE_CHARS } from './csv.js'

/** The engine as the endpoints' handlers use it. */
type Engine = { imports: ImportsService }
const engine = (commerce: unknown) => commerce as Engine

const options = {
  batchSize: z.number().int().min(1).max(MAX_BULK_PRODUCTS).optional(),
  defaultCurrency: z.string().max(3).optional(),
  defaultLocation: z.string().max(120).optional(),
}

const rejectedSchema = z.object({ row: z.number().int(), column: z.string().nullable(), reason: z.string() })

/**
 * What an import over the Admin API answers when it wrote its file: the products and variants
 * written, the file's rows, what was ignored, and the job of a batched import.
 *
 * @example
 * ```ts
 * declare const body: unknown // a response of `POST /admin/imports/products/csv`
 * const report = importReportSchema.parse(body)
 * console.log(`${report.products} products, ${report.variants} variants`)
 * ```
 */
export const importReportSchema = z.object({
  status: z.literal('imported'),
  products: z.number().int(),
  variants: z.number().int(),
  rowsTotal: z.number().int(),
  warnings: z.array(z.string()),
  jobId: z.string().nullable(),
  resumedAfterBatch: z.number().int().nullable(),
})

/** Drops `undefined` options: the service's options are strict. */
function defined<T extends Record<string, unknown>>(input: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> }
}

/**
 * The report of an import that wrote its file; a refused file is a `VALIDATION` error naming every
 * row at fault (`details.rejected`, and `details.issues` as `row.<n>.<column>`), with the report
 * (`details.report`): a batched import keeps the batches committed before the refused one, and the
 * corrected file resumes after them.
 */
function answer(report: ImportReport): z.input<typeof importReportSchema> {
  if (report.status === 'rejected') {
    const kept = report.products > 0 ? ` (${report.products} products of the batches before it were kept: import the corrected file with the same batch size to resume)` : ' (nothing was written)'
    const issues = report.rejected.map((r) => ({ path: `row.${r.row}${r.column ? `.${r.column}` : ''}`, message: r.reason }))
    throw new CommerceError('VALIDATION', `The import was refused: ${report.rejected.length} row(s) at fault${kept}`, {
      details: { issues, fields: issues.map((i) => i.path), rejected: report.rejected, report },
    })
  }
  const { rejected: _, ...rest } = report
  return { ...rest, status: 'imported' }
}

const importCsv = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/imports/products/csv',
  summary: 'Import products from a CSV file in the documented layout, all or nothing (or in resumable batches)',
  description:
    'The file is the `csv` field of the JSON body, so the app\'s body size limit bounds it (raise `bodyLimit` for large catalogs, or call `commerce.imports.importCsv` from a host route). A file with rows at fault is refused with `VALIDATION`, every row named in `details.rejected`, and nothing of the refused batch written.',
  access: 'staff',
  scope: 'catalog:write',
  input: z.strictObject({ csv: z.string().min(1).max(MAX_FILE_CHARS), ...options }),
  output: importReportSchema,
  handler: async ({ input: { csv, ...settings }, commerce }) => answer(await engine(commerce).imports.importCsv(csv, defined(settings))),
})

/** The scope that lets a key set inventory policies, as the Admin API's inventory routes require. */
const INVENTORY_SCOPE = 'inventory:write'

/** True when one of the products sets a variant's `inventoryPolicy`. */
const setsInventoryPolicy = (products: ReadonlyArray<Record<string, unknown>>) =>
  products.some((p) => Array.isArray(p['variants']) && p['variants'].some((v: unknown) => typeof v === 'object' && v !== null && 'inventoryPolicy' in v))

/** True when the actor holds `inventory:write` (or `inventory:*`, or `*`). */
const mayWriteInventory = (actor: Actor) =>
  actor.kind === 'staff' && actor.permissions.some((scope) => scope === '*' || scope === 'inventory:*' || scope === INVENTORY_SCOPE)

const importJson = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/imports/products/json',
  summary: 'Import products given as JSON in the shape the JSON export writes, all or nothing (or in resumable batches)',
  description:
    'Each product is checked by the import (core\'s bulk product input, and a variant\'s `inventoryPolicy`); one at fault is refused with `VALIDATION`, named by its position from 1 in `details.rejected`, and nothing of the refused batch written. A file that sets any variant\'s `inventoryPolicy` also needs the scope `inventory:write` (403 `FORBIDDEN` otherwise, nothing written).',
  access: 'staff',
  scope: 'catalog:write',
  input: z.strictObject({ products: z.array(z.record(z.string(), z.unknown())).max(100_000), ...options }),
  output: importReportSchema,
  handler: async ({ input: { products, ...settings }, actor, commerce }) => {
    // Policies decide what may be sold beyond stock: the same scope as the inventory routes.
    if (setsInventoryPolicy(products) && !mayWriteInventory(actor)) {
      throw new CommerceError<'FORBIDDEN'>('FORBIDDEN', `Setting a variant's inventoryPolicy needs the scope ${INVENTORY_SCOPE}; nothing was imported`, {
        details: { scope: INVENTORY_SCOPE, fields: ['products'] },
      })
    }
    return answer(await engine(commerce).imports.importJson(JSON.stringify(products), defined(settings)))
  },
})

const exportProducts = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/exports/products',
  summary: 'Export the catalog as CSV (in the import layout) or as JSON products that import back as they were',
  description:
    'The whole catalog in one answer, read a page of products at a time: for a catalog too large to hold in one response, stream `commerce.imports.exportCsv()` from a host route.',
  access: 'staff',
  scope: 'catalog:read',
  input: z.strictObject({ format: z.enum(['csv', 'json']), currency: z.string().max(3).optional() }),
  output: z.discriminatedUnion('format', [
    z.object({ format: z.literal('csv'), csv: z.string() }),
    z.object({ format: z.literal('json'), products: z.array(z.record(z.string(), z.unknown())) }),
  ]),
  handler: async ({ input, commerce }) => {
    const settings = defined({ currency: input.currency })
    let text = ''
    if (input.format === 'csv') {
      for await (const chunk of engine(commerce).imports.exportCsv(settings)) text += chunk
      return { format: 'csv' as const, csv: text }
    }
    for await (const chunk of engine(commerce).imports.exportJson(settings)) text += chunk
    return { format: 'json' as const, products: JSON.parse(text) as Array<Record<string, unknown>> }
  },
})

/**
 * The plugin's Admin routes, for the HTTP layer to mount: import products from CSV or JSON
 * (`catalog:write`) and export the catalog as either (`catalog:read`).
 *
 * @example
 * ```ts
 * for (const e of importExportEndpoints) console.log(e.method, e.path, e.scope)
 * ```
 */
export const importExportEndpoints = [importCsv, importJson, exportProducts] as const satisfies readonly Endpoint[]
