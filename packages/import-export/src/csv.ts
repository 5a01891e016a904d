import { CommerceError } from '@cartwright/core'

/** The longest cell a CSV file may hold, in characters (a product description is at most 5,000). */
export const MAX_CELL = 65_536
/** The most columns a CSV file may have. */
export const MAX_COLUMNS = 256
/** The most data rows one CSV file may hold. */
export const MAX_ROWS = 200_000
/** The largest file `importCsv` or `importJson` reads, in characters. */
export const MAX_FILE_CHARS = 64 * 1024 * 1024

function csvError(row: number, message: string): CommerceError {
  return new CommerceError('VALIDATION', `Invalid CSV at row ${row}: ${message}`, { details: { fields: ['file'], row, issues: [{ path: 'file', message: `row ${row}: ${message}` }] } })
}

/**
 * Parses RFC 4180 CSV: fields in double quotes may hold commas, line breaks and `""` (one quote);
 * lines end in CRLF or LF; a leading byte order mark is dropped. Bounded: a cell longer than
 * {@link MAX_CELL}, a row wider than {@link MAX_COLUMNS}, more than {@link MAX_ROWS} rows, a quote
 * left open or text after a closing quote is a `VALIDATION` error naming `file` and the row (1 is
 * the header).
 *
 * @example
 * ```ts
 * parseCsv('Handle,Title\r\ncap,"Cap, ""wool"""\r\n') // [['Handle', 'Title'], ['cap', 'Cap, "wool"']]
 * ```
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  const n = text.length
  let row: string[] = []
  let line = 1
  while (i < n || row.length > 0) {
    let cell: string
    if (text[i] === '"') {
      const startLine = line
      let out = ''
      let from = ++i
      for (;;) {
        const q = text.indexOf('"', i)
        if (q < 0) throw csvError(startLine, 'a quoted field is never closed')
        for (let k = i; k < q; k++) if (text.charCodeAt(k) === 10) line++
        if (q - from + out.length > MAX_CELL) throw csvError(startLine, `a cell is longer than ${MAX_CELL} characters`)
        if (text[q + 1] === '"') {
          out += text.slice(from, q + 1)
          i = from = q + 2
          continue
        }
        out += text.slice(from, q)
        i = q + 1
        break
      }
      if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') throw csvError(startLine, 'text after a closing quote (a quote inside a field is written "")')
      cell = out
    } else {
      let end = i
      while (end < n) {
        const c = text.charCodeAt(end)
        if (c === 44 || c === 10 || c === 13) break
        if (c === 34) throw csvError(line, 'a quote inside an unquoted field (quote the field and write the quote as "")')
        end++
      }
      if (end - i > MAX_CELL) throw csvError(line, `a cell is longer than ${MAX_CELL} characters`)
      cell = text.slice(i, end)
      i = end
    }
    row.push(cell)
    if (row.length > MAX_COLUMNS) throw csvError(line, `more than ${MAX_COLUMNS} columns`)
    if (text[i] === ',') {
      i++
      if (i >= n) row.push('')
      else continue
    }
    if (text[i] === '\r') i++
    if (text[i] === '\n') i++
    // A blank line is not a row.
    if (!(row.length === 1 && row[0] === '')) {
      rows.push(row)
      if (rows.length > MAX_ROWS + 1) throw csvError(line, `more than ${MAX_ROWS} rows`)
    }
    row = []
    line++
    if (i >= n) break
  }
  return rows
}

/** What export guards with a leading `'`: a formula-like value, or one that already starts with `'`. */
const GUARDED = /^[=+\-@\t\r']/

/**
 * One CSV cell: quoted when it holds a comma, quote or line break. A cell that a spreadsheet
 * would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) gets a
 * leading `'`, and so does a value that itself starts with `'`, so that import, in a file marked
 * as Cartwright's export (its `Cartwright Export` column), takes exactly one `'` off and gets the
 * value back byte for byte.
 *
 * @example
 * ```ts
 * csvCell('=HYPERLINK("x")') // `"'=HYPERLINK(""x"")"`
 * csvCell("'-Sale") // `''-Sale`
 * ```
 */
export function csvCell(value: string): string {
  const text = GUARDED.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/**
 * A cell as imported. In a file written by Cartwright's export (`exported`), the one `'` that
 * export put before a guarded value is taken off; in any other file a cell is read as written,
 * so a merchant's own `'-Sale` stays `'-Sale`.
 */
export function fromCell(value: string, exported: boolean): string {
  return exported && value.length > 1 && value[0] === "'" && GUARDED.test(value.slice(1)) ? value.slice(1) : value
}

/** One CSV line, CRLF-terminated. */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`
}
