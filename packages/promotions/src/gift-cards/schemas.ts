import { z } from 'zod'
import { validationError } from '@cartwright/core'

/** Text every storage keeps as sent: no NUL and no unpaired surrogate (PostgreSQL refuses one, SQLite mangles the other). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const storable = (s: string) => !UNSTORABLE.test(s)
const storableMessage = 'must not contain a NUL character or an unpaired surrogate'

const text = (max: number) => z.string().trim().min(1).max(max).refine(storable, storableMessage)
const money = z.number().int().positive().max(Number.MAX_SAFE_INTEGER)
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code in upper case, such as USD')

/**
 * Longest note or reason staff can write on a card or a balance change, in characters.
 *
 * @example
 * ```ts
 * const textarea = `<textarea name="reason" maxlength="${MAX_GIFT_CARD_NOTE}"></textarea>`
 * ```
 */
export const MAX_GIFT_CARD_NOTE = 500
/**
 * The most gift cards one cart can carry; applying one more is `INVALID_STATE`.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithGiftCards
 * const { cards } = await shop['gift-cards'].applied(cart.id)
 * const canAddAnother = cards.length < MAX_GIFT_CARDS_PER_CART
 * ```
 */
export const MAX_GIFT_CARDS_PER_CART = 5

export const idSchema = z.string().min(1).max(64).refine(storable, storableMessage)
/** A code as a shopper may type it: spaces and dashes allowed, checked only for length and storability. */
export const codeSchema = z.string().min(1).max(64).refine(storable, storableMessage)
export const keySchema = z.string().min(1).max(200).refine(storable, storableMessage)

export const issueSchema = z.strictObject({
  currency,
  amount: money,
  note: text(MAX_GIFT_CARD_NOTE).optional(),
  email: z.string().trim().max(320).pipe(z.email()).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  idempotencyKey: keySchema,
})

export const applySchema = z.strictObject({ amount: money.optional() })

export const adjustSchema = z.strictObject({
  amount: z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).refine((n) => n !== 0, 'must not be 0'),
  reason: text(MAX_GIFT_CARD_NOTE),
  idempotencyKey: keySchema,
})

export const disableSchema = z.strictObject({ reason: text(MAX_GIFT_CARD_NOTE).optional() })

export const sellAsSchema = z.strictObject({
  amounts: z.record(currency, money).optional(),
  expiresInDays: z.number().int().min(1).max(36_600).optional(),
})

export const listSchema = z.strictObject({
  status: z.enum(['active', 'disabled']).optional(),
  source: z.enum(['staff', 'order']).optional(),
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
})

/** Parses `input`, or throws `VALIDATION` naming each bad field (under `prefix` when given). */
export function parse<S extends z.ZodType>(schema: S, input: unknown, subject: string, prefix?: string): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw validationError(
    subject,
    result.error.issues.map((issue) => ({ path: [...(prefix ? [prefix] : []), ...issue.path.map(String)].join('.'), message: issue.message })),
  )
}

/**
 * Input of `issue`: a card staff give out. `amount` is in minor units of `currency`;
 * `idempotencyKey` makes a retry answer the card of the first call instead of issuing another.
 *
 * @example
 * ```ts
 * const input: IssueGiftCardInput = { currency: 'EUR', amount: 5000, note: 'Apology for order 1042', email: 'ada@example.com', idempotencyKey: 'goodwill-1042' }
 * ```
 */
export type IssueGiftCardInput = z.input<typeof issueSchema>
/**
 * Options of `apply`: `amount` caps what the card pays of this cart (minor units); without it the
 * card pays as much as it holds, up to what is left of the total.
 *
 * @example
 * ```ts
 * const options: ApplyGiftCardOptions = { amount: 1000 } // 10.00 from this card, the rest by another means
 * ```
 */
export type ApplyGiftCardOptions = z.input<typeof applySchema>
/**
 * Input of `adjust`: a signed change of the balance, with the reason kept in the ledger.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithGiftCards
 * const input: AdjustGiftCardInput = { amount: -500, reason: 'Card partly used in the shop', idempotencyKey: 'pos-7781' }
 * ```
 */
export type AdjustGiftCardInput = z.input<typeof adjustSchema>
/**
 * Options of `sellAs`: a fixed value per currency (otherwise the card is worth the line's unit
 * price), and how long a sold card is valid.
 *
 * @example
 * ```ts
 * const options: SellAsGiftCardOptions = { amounts: { EUR: 5000, USD: 5500 }, expiresInDays: 365 }
 * ```
 */
export type SellAsGiftCardOptions = z.input<typeof sellAsSchema>
/**
 * Input of `list` (staff): by status or source, newest last, a page at a time.
 *
 * @example
 * ```ts
 * const input: ListGiftCardsInput = { status: 'active', limit: 50 }
 * ```
 */
export type ListGiftCardsInput = z.input<typeof listSchema>

/**
 * A gift card as staff see it: never its code, only the last four characters of it.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithGiftCards
 * const card: GiftCard = await shop['gift-cards'].get('gc_1')
 * console.log(`${card.maskedCode}: ${card.balance} ${card.currency}`)
 * ```
 */
export interface GiftCard {
  id: string
  /** The code's last four characters. */
  last4: string
  /** The code with all but its last four characters hidden (`••••-••••-••••-WH3D`). */
  maskedCode: string
  currency: string
  /** What it was issued with, in minor units. */
  initialAmount: number
  /** What it holds now, in minor units: never negative, always the sum of its ledger. */
  balance: number
  /** `disabled` cards pay nothing and are not found by their code; refunds still return to them. */
  status: 'active' | 'disabled'
  /** `staff`: issued with `issue`; `order`: sold as a product and issued when its order was paid. */
  source: 'staff' | 'order'
  note: string | null
  /** Whom it was given or sent to. */
  email: string | null
  /** The order that bought it, for a sold card. */
  orderId: string | null
  expiresAt: string | null
  disabledReason: string | null
  createdAt: string
  updatedAt: string
}

/**
 * A newly issued card, with its code: the only time the code is shown (only its hash is stored).
 * A replay of the same `idempotencyKey` answers the card without `code`.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithGiftCards
 * const card: IssuedGiftCard = await shop['gift-cards'].issue({ currency: 'EUR', amount: 2500, idempotencyKey: 'k1' })
 * if (card.code) console.log(card.code)
 * ```
 */
export interface IssuedGiftCard extends GiftCard {
  code?: string
}

/**
 * One movement of a card's balance. `amount` is signed (a redemption is negative); a card's
 * entries add up to its balance.
 * - `issue`: the card was issued with this value;
 * - `redeem`: a checkout took this much (its `paymentId` is the checkout's payment);
 * - `release`: a declined checkout gave it back;
 * - `refund`: a refund of the order returned it (`paymentId` is the card's tender payment);
 * - `adjust`: staff changed the balance, with `reason`.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithGiftCards
 * const entries: GiftCardLedgerEntry[] = await shop['gift-cards'].ledger('gc_1')
 * const balance = entries.reduce((sum, e) => sum + e.amount, 0)
 * ```
 */
export interface GiftCardLedgerEntry {
  id: string
  cardId: string
  kind: 'issue' | 'redeem' | 'release' | 'refund' | 'adjust'
  amount: number
  paymentId: string | null
  orderId: string | null
  reason: string | null
  createdAt: string
}

/**
 * A card applied to a cart, with what it would pay if the cart were checked out now. Cards pay
 * in the order they were applied, each up to its `requested` amount (or its balance), until the
 * total is covered; `dueAtGateway` on {@link AppliedGiftCards} is the rest.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithGiftCards
 * const { cards } = await shop['gift-cards'].applied(cart.id)
 * for (const c of cards) console.log(`card ${c.maskedCode}: -${c.amount}`)
 * ```
 */
export interface AppliedGiftCard {
  cardId: string
  last4: string
  maskedCode: string
  /** What the shopper asked this card to pay, or null for "as much as it holds". */
  requested: number | null
  /** What it would pay now, in minor units. */
  amount: number
  /** Its balance now. */
  balance: number
  /** False when it can no longer pay (disabled or expired since it was applied): checkout would refuse it. */
  usable: boolean
}

/**
 * The cards applied to a cart, in the order they pay, and what is left for the gateway.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithGiftCards
 * const applied: AppliedGiftCards = await shop['gift-cards'].apply(cart.id, 'K7QM-2XRB-9TFA-WH3D')
 * console.log(`pay ${applied.dueAtGateway} by card`)
 * ```
 */
export interface AppliedGiftCards {
  cartId: string
  currency: string
  total: number
  cards: AppliedGiftCard[]
  /** The cart's total minus what the cards would pay. */
  dueAtGateway: number
}

/**
 * What the public balance check answers for a card found by its full code.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithGiftCards
 * const { balance, currency }: GiftCardBalance = await shop['gift-cards'].balance('K7QM-2XRB-9TFA-WH3D')
 * ```
 */
export interface GiftCardBalance {
  last4: string
  currency: string
  balance: number
  expiresAt: string | null
}

/**
 * The plugin's events. `gift-cards.issued` carries the code, for the email that delivers the card
 * (the outbox row holds it until the outbox's retention removes delivered events);
 * `gift-cards.redeemed` is written with the order that a card paid part of.
 *
 * @example
 * ```ts
 * declare const shop: CommerceWithGiftCards
 * shop.events.on('gift-cards.issued', ({ email, code, amount, currency }) => {
 *   if (email) console.log(`send ${code} (${amount} ${currency}) to ${email}`)
 * })
 * ```
 */
export const giftCardEvents = {
  'gift-cards.issued': z.strictObject({
    cardId: z.string(),
    code: z.string(),
    last4: z.string(),
    currency: z.string(),
    amount: z.number().int(),
    email: z.string().nullable(),
    orderId: z.string().nullable(),
    expiresAt: z.string().nullable(),
  }),
  'gift-cards.redeemed': z.strictObject({ cardId: z.string(), orderId: z.string(), paymentId: z.string(), amount: z.number().int() }),
}
