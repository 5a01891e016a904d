export {
  promotions,
  customerKey,
  CODE_REFUSED_MESSAGE,
  type PromotionsOptions,
  type CommerceWithPromotions,
  type PromotionsService,
  type PromotionTables,
  type PromotionErrorCode,
  type AppliedCodes,
} from './promotions.js'
export { promotionEndpoints } from './endpoints.js'
export { normalizeCode, CODE_ALPHABET, CODE_RANDOM_LENGTH } from './codes.js'
export {
  buyXGetYUnits,
  matchingLines,
  qualifies,
  selectPromotions,
  selectShippingPromotions,
  discountClass,
  promotionAdjustments,
  byPriority,
  Remaining,
  type Discount,
  type Conditions,
  type RulePromotion,
  type RuleLine,
  type RuleCart,
  type Selection,
} from './rules.js'
export {
  promotionEvents,
  promotionSchema,
  usageSchema,
  MAX_CODES_PER_CART,
  MAX_GENERATED_CODES,
  MAX_NAME,
  type Promotion,
  type PromotionUsage,
  type CreatePromotionInput,
  type UpdatePromotionInput,
  type GenerateCodesInput,
  type ListPromotionsInput,
} from './schemas.js'
export * from './gift-cards/index.js'
