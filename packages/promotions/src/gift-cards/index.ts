export {
  giftCards,
  GIFT_CARD_PROVIDER,
  type GiftCardsService,
  type CommerceWithGiftCards,
  type GiftCardErrorCode,
} from './gift-cards.js'
export { giftCardEndpoints } from './endpoints.js'
export { giftCardEvents, MAX_GIFT_CARD_NOTE, MAX_GIFT_CARDS_PER_CART } from './schemas.js'
export type {
  GiftCard,
  IssuedGiftCard,
  GiftCardLedgerEntry,
  AppliedGiftCard,
  AppliedGiftCards,
  GiftCardBalance,
  IssueGiftCardInput,
  ApplyGiftCardOptions,
  AdjustGiftCardInput,
  SellAsGiftCardOptions,
  ListGiftCardsInput,
} from './schemas.js'
export { GIFT_CARD_CODE_ALPHABET, GIFT_CARD_CODE_LENGTH } from './codes.js'
export type { GiftCardTables } from './tables.js'
