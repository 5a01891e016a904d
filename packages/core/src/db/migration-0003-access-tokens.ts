import type { CommerceMigration } from './migrations.js'

/**
 * Carts and orders get access tokens of their own, apart from their ids: `access_token_hash`
 * holds the SHA-256 (hex) of the token, never the token (see `access-tokens.ts`).
 *
 * Rows written before this migration keep `null`: they have no token, and no token opens them
 * until one is issued (`carts.rotateToken`, `orders.issueAccessToken`). A hash of a fresh token
 * nobody was given would behave the same, but `null` says so plainly. Such a cart or order is
 * still read and changed by id through the trusted API (`carts.get`, `carts.addItem`,
 * `checkout.complete`, `orders.get`), as before.
 *
 * No index: a token names the id of its row, so it is looked up by primary key and then compared
 * by hash. An index on random hashes would cost a B-tree insert at a random page for every cart
 * and order.
 */
export const accessTokens: CommerceMigration = {
  async up(db) {
    await db.schema.alterTable('cw_carts').addColumn('access_token_hash', 'text').execute()
    await db.schema.alterTable('cw_orders').addColumn('access_token_hash', 'text').execute()
  },
}
