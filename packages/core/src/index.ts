export * from './errors.js'
export type * from './ports/storage-adapter.js'
