export {
  createCommerce,
  type Commerce,
  type CoreCommerce,
  type CommerceOptions,
  type ErrorCodeOf,
  type PluginServices,
  type PluginEvents,
} from './engine.js'
export { definePlugin } from './ports/plugin.js'
export { defineEndpoint, type Endpoint, type DefinedEndpoint, type EndpointMethod, type EndpointAccess, type EndpointCredential, type ActorResolver, type Actor, type EndpointRequest } from './ports/endpoint.js'
export { tablePrefix } from './plugins.js'
export * from './errors.js'
export { systemClock, type Clock, type SleepOptions } from './clock.js'
export type { IdGenerator } from './ids.js'
export type { TestPoints, TestPointName } from './test-points.js'
export * from './money.js'
export { catalogFacts, type ProductFacts } from './catalog-facts.js'
export type * from './types.js'
export { addressSchema, type Address } from './validation.js'
export {
  paymentStateMachine,
  canTransition,
  assertTransition,
  paymentChangeProblems,
  type PaymentTransition,
  type PaymentTransitionCause,
  type PaymentGuard,
  type PaymentStateSnapshot,
  type PaymentChangeProblem,
  type TransitionOptions,
} from './payment-state.js'
export type { CheckoutRiskContext, CheckoutRiskAnswer } from './services/order-holds.js'
export { EventBus, type CommerceEvents, type CommerceEventName, type StoredEvent, type EventEnvelope, type EventMap, type ListenerErrorHandler } from './events.js'
export {
  HookRegistry,
  type CommerceHooks,
  type CommerceHookName,
  type PluginHooks,
  type Tender,
  type TransactionalHookContexts,
  type TransactionalHookName,
} from './hooks.js'
export { Outbox, type OutboxOptions, type Delivery, type ListDeliveriesInput, type DrainInput } from './outbox.js'
export type { PageInput } from './paging.js'
export { allocateStock, type LevelSnapshot, type LevelAllocation, type Shortage } from './allocation.js'
export { computeTotals, lineDiscounts, type PricedLine } from './totals.js'
export { itemTaxes, roundFraction, taxRate, type TaxItem, type ItemTax, type TaxRounding, type TaxRoundingLevel, type TaxRoundingMode } from './tax.js'
export type * from './db/database.js'
export type { CommerceMigration, ColumnTypes } from './db/migrations.js'
export type * from './ports/storage-adapter.js'
export type * from './ports/payment-provider.js'
export type * from './ports/tax-provider.js'
export type * from './ports/shipping-provider.js'
export type * from './ports/carrier.js'
export type * from './ports/plugin.js'
export { isMediaKey, MAX_MEDIA_KEY_LENGTH, type MediaStore, type MediaBody, type MediaPutOptions, type StoredMedia } from './ports/media-store.js'
export { fileSystemMedia, type FileSystemMediaOptions } from './providers/file-system-media.js'
export { MediaService, MAX_MEDIA_BYTES, MAX_MEDIA_PER_PRODUCT, type AddMediaInput, type ListMediaInput, type UpdateMediaInput } from './services/media-service.js'
export { testPayments, type TestPayments, type TestPaymentsOptions, type TestOutcome, type TestGatewayCall } from './providers/test-payments.js'
export { flatRateShipping, type FlatRateShippingOptions } from './providers/flat-rate-shipping.js'
export { fixedRateTax, noTax, type FixedRateTaxOptions } from './providers/fixed-rate-tax.js'
export {
  CatalogService,
  type CreateProductInput,
  type UpdateProductInput,
  type VariantInput,
  type PriceInput,
  type ListProductsInput,
  type UpdateVariantInput,
  type GetProductOptions,
  type TranslationInput,
} from './services/catalog-service.js'
export { MAX_BULK_PRODUCTS, type BulkProductInput, type CreateProductsResult } from './services/catalog-bulk.js'
export { CategoryService, type CreateCategoryInput, type UpdateCategoryInput, type MoveCategoryInput, type ListedProductsInput } from './services/category-service.js'
export { SearchService, type SearchInput, type SearchResult, type SearchHit, type SearchFacets } from './services/search-service.js'
export { CollectionService, type CreateCollectionInput, type UpdateCollectionInput } from './services/collection-service.js'
export {
  DraftService,
  type Draft,
  type DraftStatus,
  type DraftPaymentLink,
  type CreateDraftInput,
  type OverridePriceInput,
  type ReserveDraftInput,
  type MarkDraftPaidInput,
  type ExpireDraftsInput,
} from './services/draft-service.js'
export { ChannelService, type Channel, type CreateChannelInput, type UpdateChannelInput, type ListChannelsInput, type ChannelProductsInput } from './services/channel-service.js'
export type { CatalogOptions, VisibilitySource, VisibilityContext } from './services/catalog-texts.js'
export type { PriceSource, PriceQuery, PriceAnswer, PriceStep, PriceExplanation, ExplainPriceInput } from './services/price-resolution.js'
export { InventoryService, type CreateLocationInput, type SetStockInput, type AdjustStockInput, type ReservationsInput, type SetInventoryPolicyInput, type ProductAvailability, type ProductAvailabilityOptions } from './services/inventory-service.js'
export {
  CartService,
  type CreateCartInput,
  type UpdateCartInput,
  type AddItemInput,
  type UpdateItemInput,
} from './services/cart-service.js'
export type { ShippingOption } from './services/cart-pricing.js'
export { CheckoutService, type CompleteCheckoutInput, type RecoverCheckoutsInput } from './services/checkout-service.js'
export {
  OrderService,
  type ListOrdersInput,
  type CaptureInput,
  type VoidInput,
  type RefundInput,
  type CancelInput,
  type HoldInput,
  type AssignCustomerInput,
} from './services/order-service.js'
export { PrivacyService, ERASED_EMAIL, type PrivacySubjectInput, type PrivacyExport, type EraseResult } from './services/privacy-service.js'
export { PaymentService, type ListPaymentsInput, type RecoverPaymentsInput, type ListUnmatchedEventsInput, type WebhookResult } from './services/payment-service.js'
export type { RecoveryOptions } from './services/recovery-service.js'
export {
  RetentionService,
  defaultRetentionPolicy,
  type RetentionPolicy,
  type RetentionOptions,
  type PruneResult,
} from './services/retention-service.js'
