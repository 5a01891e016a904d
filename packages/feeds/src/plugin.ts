import { definePlugin, type Channel, type InventoryLevel, type PluginContext } from '@cartwright/core'
import { googleMerchantXml, metaCatalogCsv, type FeedHeader } from './formats.js'
import { feedCurrency, feedItem, type FeedItem, type FeedItemOptions, type SkippedVariant } from './items.js'

/** Options of the {@link feeds} plugin: how the shop's products map to feed items, and the feed's header. */
export interface FeedsOptions extends FeedItemOptions {
  /** The shop's home page, for the Google feed's header. */
  shopLink: string
  /** The shop's name: the Google feed's title is `<shopName> – <channel name>`. */
  shopName: string
}

/** What `commerce.feeds` offers. */
export interface FeedsService {
  /**
   * The items of a channel's feed: one per variant of each active product published to the channel
   * (`channel`: its id or code), priced in the channel's default currency, available from the
   * channel's stock locations. A variant that cannot be listed (no price in that currency) is left
   * out and passed to `onSkipped`.
   */
  items(channel: string, options?: { onSkipped?: (skipped: SkippedVariant) => void }): AsyncGenerator<FeedItem>
  /** The channel's Google Merchant Center feed (XML), chunk by chunk. */
  googleMerchant(channel: string): AsyncGenerator<string>
  /** The channel's Meta catalog feed (CSV), chunk by chunk. */
  metaCatalog(channel: string): AsyncGenerator<string>
}

/**
 * Product feeds for the channels a shop sells through elsewhere: Google Merchant Center (Shopping
 * ads, free listings) and the Meta catalog (Facebook and Instagram shops). A feed is made from a
 * core sales channel: the products published to it, its default currency, its stock locations.
 * The plugin has no tables; it reads through core's public services.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs'
 * import { createCommerce } from '@cartwright/core'
 * import { feeds } from '@cartwright/feeds'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({
 *   storage: sqliteStorage({ filename: 'shop.db' }),
 *   plugins: [feeds({ shopName: 'Trail Shop', shopLink: 'https://shop.example', brand: 'Trail Co', link: (p, v) => `https://shop.example/products/${p.handle}?variant=${v.id}` })],
 * })
 * const out = createWriteStream('google.xml')
 * for await (const chunk of commerce.feeds.googleMerchant('google')) out.write(chunk)
 * out.end()
 * ```
 */
export function feeds(options: FeedsOptions) {
  if (typeof options?.link !== 'function') throw new TypeError('[cartwright:feeds] options.link must be a function (product, variant) => URL')
  return definePlugin({
    id: 'feeds',
    init(ctx: PluginContext): FeedsService {
      const levelsAt = async (channel: Channel, variantId: string): Promise<InventoryLevel[]> => {
        const levels = await ctx.commerce.inventory.levels(variantId)
        return channel.stockLocationIds.length ? levels.filter((l) => channel.stockLocationIds.includes(l.locationId)) : levels
      }
      async function* items(code: string, more: { onSkipped?: (skipped: SkippedVariant) => void } = {}): AsyncGenerator<FeedItem> {
        const channel = await ctx.commerce.channels.get(code)
        const currency = feedCurrency(channel)
        const now = ctx.now()
        for (let cursor: string | undefined; ; ) {
          const page = await ctx.commerce.channels.products(channel.id, { limit: 100, ...(cursor === undefined ? {} : { cursor }) })
          for (const product of page.items) {
            if (product.status !== 'active') continue
            for (const variant of product.variants) {
              const item = feedItem(product, variant, { currency, levels: variant.manageInventory ? await levelsAt(channel, variant.id) : [], now, options })
              if ('reason' in item) more.onSkipped?.(item)
              else yield item
            }
          }
          if (!page.nextCursor) return
          cursor = page.nextCursor
        }
      }
      return {
        items,
        async *googleMerchant(code) {
          const channel = await ctx.commerce.channels.get(code)
          const header: FeedHeader = { title: `${options.shopName} – ${channel.name}`, link: options.shopLink }
          yield* googleMerchantXml(items(channel.id), header)
        },
        metaCatalog: (code) => metaCatalogCsv(items(code)),
      }
    },
  })
}
