export { bankTransfer, normalizeReference, signNotification, type BankTransferOptions, type BankTransferProvider, type OutgoingTransfer, type TransferInstructions, type TransferNotification } from './bank-transfer.js'
export { localCourier, type LocalCourierOptions } from './local-courier.js'
export { giftMessages, MAX_GIFT_MESSAGE, type GiftMessage, type GiftMessageInput, type GiftMessagesService, type GiftMessageTables } from './gift-messages.js'
