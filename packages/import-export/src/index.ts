export {
  importExport,
  type CommerceWithImports,
  type ImportsService,
  type ImportOptions,
  type ImportProgress,
  type ImportReport,
  type ExportOptions,
  type ImportTables,
} from './imports.js'
export { CSV_COLUMNS, type CsvColumn, type RejectedRow } from './layout.js'
export { parseCsv, csvCell, MAX_CELL, MAX_COLUMNS, MAX_ROWS, MAX_FILE_CHARS } from './csv.js'
export { importExportEndpoints, importReportSchema } from './endpoints.js'
