// The PostgreSQL test harness is the adapter's own (packages/storage-postgres/test/support).
export { freshDatabase, type FreshDatabase } from '../../../storage-postgres/test/support/fresh-database.js'
export { migrateCore } from '../../../storage-postgres/test/support/migrated.js'
