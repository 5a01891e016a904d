export { feeds, type FeedsOptions, type FeedsService } from './plugin.js'
export { googleMerchantXml, metaCatalogCsv, META_COLUMNS, type FeedHeader } from './formats.js'
export { availabilityOf, feedItem, formatPrice, type FeedAvailability, type FeedItem, type FeedItemOptions, type FeedPrice, type SkippedVariant } from './items.js'
