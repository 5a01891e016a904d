import { currencyExponent, isCurrency, parseAmount, type BulkProductInput, type SetInventoryPolicyInput } from '@cartwright/core'
import { fromCell } from './csv.js'

/**
 * The CSV columns, in the order export writes them: Shopify's product export columns, then
 * Cartwright's (`Currency`, `Category`, `Location`, and `Cartwright Export`, whose presence in the
 * header marks a file written by Cartwright's export). See the package README for each.
 *
 * @example
 * ```ts
 * CSV_COLUMNS.includes('Variant Price') // true
 * ```
 */
export const CSV_COLUMNS = [
  'Handle',
  'Title',
  'Body (HTML)',
  'Vendor',
  'Type',
  'Tags',
  'Published',
  'Option1 Name',
  'Option1 Value',
  'Option2 Name',
  'Option2 Value',
  'Option3 Name',
  'Option3 Value',
  'Variant SKU',
  'Variant Grams',
  'Variant Inventory Qty',
  'Variant Price',
  'Variant Compare At Price',
  'Variant Requires Shipping',
  'Variant Barcode',
  'Image Src',
  'Image Alt Text',
  'Status',
  'Currency',
  'Category',
  'Location',
  'Cartwright Export',
] as const

/** A CSV column name. */
export type CsvColumn = (typeof CSV_COLUMNS)[number]

/**
 * A row the import refused, and why: `row` is the line as a spreadsheet numbers it (1 is the
 * header), `column` the column at fault (or `null` for the row as a whole).
 *
 * @example
 * ```ts
 * const problem: RejectedRow = { row: 7, column: 'Currency', reason: 'unknown currency "XYZ"' }
 * ```
 */
export interface RejectedRow {
  row: number
  column: string | null
  reason: string
}

/** A product read from a file: core's bulk input, and for each part of it the row it came from. */
export interface ParsedProduct {
  input: BulkProductInput
  /** The row of the product (its first row). */
  row: number
  /** The row of each variant, by index. */
  variantRows: number[]
  /** Rows of the file this product spans. */
  rows: number
  /** Inventory policies to set once the product is written (JSON's `inventoryPolicy`), by SKU. */
  policies?: Array<{ sku: string; policy: SetInventoryPolicyInput }>
}

const OPTION_COLUMNS = [1, 2, 3].map((n) => ({ name: `Option${n} Name` as CsvColumn, value: `Option${n} Value` as CsvColumn }))

export interface CsvReadOptions {
  defaultCurrency: string | undefined
  defaultLocation: string | undefined
}

/** Reads parsed CSV rows into products, collecting every rejected row and unknown column. */
export function readCsvRows(rows: string[][], settings: CsvReadOptions): { products: ParsedProduct[]; rejected: RejectedRow[]; warnings: string[]; dataRows: number } {
  const rejected: RejectedRow[] = []
  const warnings: string[] = []
  const header = (rows[0] ?? []).map((h) => h.trim())
  const index = new Map<string, number>()
  header.forEach((h, i) => {
    if ((CSV_COLUMNS as readonly string[]).includes(h)) {
      if (index.has(h)) warnings.push(`column ${JSON.stringify(h)} appears twice; the first is read`)
      else index.set(h, i)
    } else warnings.push(`unknown column ${JSON.stringify(h)} is ignored`)
  })
  if (rows.length === 0) return { products: [], rejected: [{ row: 1, column: null, reason: 'the file is empty: a header row is expected' }], warnings, dataRows: 0 }
  for (const needed of ['Handle', 'Variant SKU', 'Variant Price'] as const) {
    if (!index.has(needed)) rejected.push({ row: 1, column: needed, reason: `the header has no ${needed} column` })
  }
  if (rejected.length) return { products: [], rejected, warnings, dataRows: rows.length - 1 }

  // Only Cartwright's own export guards cells with a `'`: only in its files is one taken off.
  const exported = index.has('Cartwright Export')
  const cell = (r: string[], c: CsvColumn) => {
    const i = index.get(c)
    return i === undefined ? '' : fromCell((r[i] ?? '').trim(), exported)
  }
  const products: ParsedProduct[] = []
  const byHandle = new Map<string, ParsedProduct & { optionNames: string[]; values: Array<Set<string>> }>()
  const skus = new Map<string, number>()
  for (let r = 1; r < rows.length; r++) {
    const raw = rows[r]!
    const rowNumber = r + 1
    const reject = (column: CsvColumn | null, reason: string) => rejected.push({ row: rowNumber, column, reason })
    const before = rejected.length
    const handle = cell(raw, 'Handle')
    if (!handle) {
      reject('Handle', 'missing handle')
      continue
    }
    let product = byHandle.get(handle)
    if (!product) {
      const title = cell(raw, 'Title')
      if (!title) reject('Title', "missing title on the product's first row")
      const optionNames: string[] = []
      for (const [n, col] of OPTION_COLUMNS.entries()) {
        const name = cell(raw, col.name)
        if (!name) continue
        if (optionNames.length !== n) reject(col.name, `Option${n + 1} Name without Option${n} Name`)
        // Shopify writes a product without options as the one option Title = Default Title.
        if (n === 0 && name === 'Title' && cell(raw, col.value) === 'Default Title') break
        optionNames.push(name)
      }
      const status = cell(raw, 'Status').toLowerCase()
      const published = cell(raw, 'Published').toLowerCase()
      let productStatus: 'active' | 'draft' | 'archived' = 'active'
      if (status) {
        if (status === 'active' || status === 'draft' || status === 'archived') productStatus = status
        else reject('Status', `status ${JSON.stringify(status)} is not active, draft or archived`)
      } else if (published === 'false') productStatus = 'draft'
      const vendor = cell(raw, 'Vendor')
      const list = (text: string) => text.split(',').map((t) => t.trim()).filter(Boolean)
      product = {
        input: {
          title,
          handle,
          description: cell(raw, 'Body (HTML)') || null,
          status: productStatus,
          productType: cell(raw, 'Type') || null,
          tags: list(cell(raw, 'Tags')),
          options: optionNames.map((name) => ({ name, values: [] as string[] })),
          variants: [],
          ...(vendor ? { metadata: { vendor } } : {}),
          categories: list(cell(raw, 'Category')),
          stock: [],
          images: [],
        },
        row: rowNumber,
        variantRows: [],
        rows: 0,
        optionNames,
        values: optionNames.map(() => new Set<string>()),
      }
      if (rejected.length === before) {
        byHandle.set(handle, product)
        products.push(product)
      } else continue
    }
    product.rows++
    const input = product.input
    const image = cell(raw, 'Image Src')
    if (image) input.images!.push({ url: image, ...(cell(raw, 'Image Alt Text') ? { alt: cell(raw, 'Image Alt Text') } : {}) })
    const sku = cell(raw, 'Variant SKU')
    const hasVariantData = ['Variant Price', 'Option1 Value', 'Option2 Value', 'Option3 Value', 'Variant Inventory Qty'].some((c) => cell(raw, c as CsvColumn) !== '')
    if (!sku) {
      // A row with only a handle and an image adds an image.
      if (hasVariantData || !image) reject('Variant SKU', 'missing SKU')
      continue
    }
    const earlier = skus.get(sku)
    if (earlier !== undefined) reject('Variant SKU', `duplicate SKU ${JSON.stringify(sku)}: also on row ${earlier}`)
    else skus.set(sku, rowNumber)

    const options: Record<string, string> = {}
    OPTION_COLUMNS.forEach((col, n) => {
      const value = cell(raw, col.value)
      const name = product.optionNames[n]
      if (name === undefined) {
        if (value && !(n === 0 && value === 'Default Title')) reject(col.value, `a value for Option${n + 1}, which the product does not name`)
      } else if (!value) reject(col.value, `missing a value for ${name}`)
      else {
        options[name] = value
        product.values[n]!.add(value)
      }
    })

    let amount: number | undefined
    let compareAt: number | undefined
    const priceText = cell(raw, 'Variant Price')
    const cur = cell(raw, 'Currency').toUpperCase() || settings.defaultCurrency
    if (!cur) reject('Currency', 'no currency: give a Currency column or a default currency')
    else if (!isCurrency(cur)) reject('Currency', `unknown currency ${JSON.stringify(cell(raw, 'Currency'))}`)
    else {
      amount = money(priceText, cur, 'Variant Price', reject, true)
      const compareText = cell(raw, 'Variant Compare At Price')
      if (compareText) {
        compareAt = money(compareText, cur, 'Variant Compare At Price', reject, false)
        if (amount !== undefined && compareAt !== undefined && compareAt <= amount) reject('Variant Compare At Price', 'a compare-at price must be greater than the price')
      }
    }
    let grams: number | undefined
    const gramsText = cell(raw, 'Variant Grams')
    if (gramsText) {
      const g = Number(gramsText)
      if (!/^\d+(\.0+)?$/.test(gramsText) || !Number.isSafeInteger(g) || g > 10_000_000) reject('Variant Grams', `${JSON.stringify(gramsText)} is not a whole number of grams`)
      else grams = g
    }
    const qtyText = cell(raw, 'Variant Inventory Qty')
    let stock: { sku: string; location: string; onHand: number } | undefined
    if (qtyText) {
      const q = Number(qtyText)
      const location = cell(raw, 'Location') || settings.defaultLocation
      if (!/^\d+$/.test(qtyText) || !Number.isSafeInteger(q)) reject('Variant Inventory Qty', `${JSON.stringify(qtyText)} is not a whole, non-negative quantity`)
      else if (!location) reject('Location', 'a quantity without a location: give a Location column or a default location')
      else stock = { sku, location, onHand: q }
    }
    if (rejected.length !== before) continue
    product.variantRows.push(rowNumber)
    input.variants.push({
      sku,
      options,
      ...(grams !== undefined ? { weightGrams: grams } : {}),
      prices: [{ currency: cur!, amount: amount!, ...(compareAt !== undefined ? { compareAtAmount: compareAt } : {}) }],
    })
    if (stock) input.stock!.push(stock)
  }
  for (const p of byHandle.values()) {
    p.input.options = p.optionNames.map((name, n) => ({ name, values: [...p.values[n]!] }))
    if (p.input.variants.length === 0 && !rejected.some((x) => x.row === p.row)) rejected.push({ row: p.row, column: 'Variant SKU', reason: 'a product without a variant row' })
  }
  return { products, rejected, warnings, dataRows: rows.length - 1 }

  function money(text: string, currency: string, column: CsvColumn, reject: (c: CsvColumn, r: string) => void, required: boolean): number | undefined {
    if (!text) {
      if (required) reject(column, 'missing price')
      return undefined
    }
    if (text.startsWith('-')) {
      reject(column, `negative price ${text}`)
      return undefined
    }
    // Shopify writes every price with two decimals (JPY as 1500.00): zeros beyond the currency's
    // exponent are dropped, exactly; any other digit there is refused, never rounded.
    const exponent = currencyExponent(currency)
    const match = /^(\d+)(?:\.(\d+))?$/.exec(text)
    const fraction = match?.[2] ?? ''
    const extra = fraction.slice(exponent)
    if (!match || !/^0*$/.test(extra)) {
      reject(column, `${JSON.stringify(text)} is not an amount in ${currency} (${exponent} decimals)`)
      return undefined
    }
    try {
      return parseAmount(fraction.length > exponent ? `${match[1]}${exponent ? `.${fraction.slice(0, exponent)}` : ''}` : text, currency)
    } catch {
      reject(column, `${JSON.stringify(text)} is not an amount in ${currency}`)
      return undefined
    }
  }
}
