import { definePlugin, type PluginContext } from '@cartwright/core'

/** The storefront plugin's table: facts of the demo, by key. */
export interface StorefrontTables {
  storefront_demo: { key: string; value: string }
}

/**
 * A plugin with a small table of the demo's facts: whether the shop was seeded, and the seeded gift
 * card's code (random, and shown only once when issued).
 *
 * @example
 * ```ts
 * const commerce = await createCommerce({ storage, plugins: [storefront()] })
 * await commerce.storefront.remember('seeded', 'yes')
 * ```
 */
export const storefront = () =>
  definePlugin({
    id: 'storefront',
    migrations: {
      '0001_demo': {
        async up(db) {
          await db.schema.createTable('storefront_demo').addColumn('key', 'text', (c) => c.primaryKey()).addColumn('value', 'text', (c) => c.notNull()).execute()
        },
      },
    },
    init(ctx: PluginContext<StorefrontTables>) {
      return {
        async fact(key: string): Promise<string | null> {
          return (await ctx.db.selectFrom('storefront_demo').select('value').where('key', '=', key).executeTakeFirst())?.value ?? null
        },
        async remember(key: string, value: string): Promise<void> {
          await ctx.db.insertInto('storefront_demo').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute()
        },
      }
    },
  })
