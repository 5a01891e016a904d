import { createShop } from './shop.js'
import { seed } from './seed.js'

// `pnpm seed`: seeds the store (SQLite `shoe-store.db`, or DATABASE_URL) and exits.
const { commerce } = await createShop()
await seed(commerce)
await commerce.close()
