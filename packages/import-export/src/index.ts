export {
  importExport,
  MAX_FILE_CHARS,
  type CommerceWithImports,
  type ImportsService,
  type ImportOptions,
  type ImportProgress,
  type ImportReport,
  type ExportOptions,
  type ImportTables,
} from './imports.js'
export { CSV_COLUMNS, type CsvColumn, type RejectedRow } from './layout.js'
export { parseCsv, csvCell, MAX_CELL, MAX_COLUMNS, MAX_ROWS } from './csv.js'
