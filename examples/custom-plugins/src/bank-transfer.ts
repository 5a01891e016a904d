import { createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { CommerceError, type AuthorizeInput, type GatewayEvent, type PaymentProvider, type WebhookRequest } from '@cartwright/core'

/**
 * Money the shop sends back to a shopper by transfer (a refund): what your bank needs, and the key it must dedupe on.
 *
 * @example
 * ```ts
 * const sendRefund = async (transfer: OutgoingTransfer) => bank.payOut(transfer.reference, transfer.amount, { idempotencyKey: transfer.idempotencyKey })
 * ```
 */
export interface OutgoingTransfer {
  reference: string
  amount: number
  currency: string
  /** Repeated when the engine retries the same refund: send the money once per key. */
  idempotencyKey: string
}

const optionsSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]{1,64}$/).default('bank-transfer'),
  /** Shared with the bank's notification service: it signs every notification with it. */
  secret: z.string().min(16),
  /** The account the shopper pays into, shown on the confirmation next to the reference. */
  account: z.strictObject({ holder: z.string().min(1).max(70), iban: z.string().min(15).max(34), bic: z.string().min(8).max(11) }),
  /** How old a notification's signature may be, in seconds (default 300). */
  toleranceSeconds: z.number().int().positive().default(300),
  /** The clock signatures are checked against (default the system's). */
  now: z.custom<() => Date>((v) => typeof v === 'function').optional(),
  /** A reason not to take this checkout by transfer (over a limit, say), or nothing to take it. */
  refuse: z.custom<(input: AuthorizeInput) => string | null | undefined>((v) => typeof v === 'function').optional(),
  /** Sends money back (your bank's payment API, or a task for staff). Without it, refunds are done at the bank by hand. */
  sendRefund: z.custom<(transfer: OutgoingTransfer) => Promise<void>>((v) => typeof v === 'function').optional(),
})

/**
 * Options of {@link bankTransfer}.
 *
 * @example
 * ```ts
 * const options: BankTransferOptions = { secret: 'a-long-secret-shared-with-the-bank', account: { holder: 'Cartwright Shoes BV', iban: 'NL91ABNA0417164300', bic: 'ABNANL2A' } }
 * ```
 */
export type BankTransferOptions = z.input<typeof optionsSchema>

/**
 * What the confirmation page shows the shopper: where to send the money, and the reference to send it with.
 *
 * @example
 * ```ts
 * const { holder, iban, bic, reference, amount, currency }: TransferInstructions = transfer.instructions(order.payments[0]!)
 * ```
 */
export interface TransferInstructions {
  holder: string
  iban: string
  bic: string
  reference: string
  amount: number
  currency: string
}

/**
 * The bank-transfer provider, plus the instructions a confirmation page shows.
 *
 * @example
 * ```ts
 * const transfer: BankTransferProvider = bankTransfer(options)
 * const instructions = transfer.instructions({ reference: 'CW-7K2M-Q9XD-4TPA', amount: 15900, currency: 'EUR' })
 * ```
 */
export interface BankTransferProvider extends PaymentProvider {
  instructions(payment: { reference: string | null; amount: number; currency: string }): TransferInstructions
}

// The bank's notification: one incoming transfer, matched by the reference the shopper wrote.
const notificationSchema = z.object({
  id: z.string().min(1).max(255),
  type: z.literal('transfer.received'),
  reference: z.string().min(1).max(140),
  amount: z.number().int().positive(),
  currency: z.string().length(3),
  bookedAt: z.string().max(40).optional(),
})

/**
 * The body the bank posts for one incoming transfer.
 *
 * @example
 * ```ts
 * const note: TransferNotification = { id: 'ntf_1', type: 'transfer.received', reference: 'CW-7K2M-Q9XD-4TPA', amount: 15900, currency: 'EUR' }
 * ```
 */
export type TransferNotification = z.infer<typeof notificationSchema>

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ' // Crockford's base 32: no I, L, O, U to misread

/**
 * `CW-XXXX-XXXX-XXXX` from a mistyped `cw xxxx xxxx xxxx`: case, spaces and look-alike letters forgiven.
 *
 * @example
 * ```ts
 * normalizeReference('cw 7k2m q9xd 4tpa') // 'CW-7K2M-Q9XD-4TPA'
 * ```
 */
export function normalizeReference(text: string): string {
  let code = text.toUpperCase().replace(/[^0-9A-Z]/g, '')
  if (code.length === 14 && code.startsWith('CW')) code = code.slice(2)
  code = code.replace(/O/g, '0').replace(/[IL]/g, '1')
  return code.length === 12 ? `CW-${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}` : text.trim()
}

/**
 * Signs a notification as the bank does: header `bank-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ id: 'ntf_1', type: 'transfer.received', reference: 'CW-7K2M-Q9XD-4TPA', amount: 1890, currency: 'EUR' })
 * const headers = signNotification('a-long-shared-secret', body)
 * await commerce.payments.handleWebhook('bank-transfer', body, headers)
 * ```
 */
export function signNotification(secret: string, rawBody: string, at: Date = new Date()): Record<string, string> {
  const t = Math.floor(at.getTime() / 1000)
  return { 'content-type': 'application/json', 'bank-signature': `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex')}` }
}

/**
 * Payment by bank transfer. Checkout places the order at once with the payment `authorized`: the
 * payment's `reference` is the code the shopper writes on their transfer. When the money arrives the
 * bank posts a signed notification to `POST /webhooks/bank-transfer`; the engine records it as the
 * capture (`captured`), once however often the bank repeats it. Staff can also confirm a transfer
 * by hand (`orders.capturePayment`) or cancel the order before it arrives (a void retires the reference).
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const transfer = bankTransfer({ secret: process.env.BANK_SECRET!, account: { holder: 'Cartwright Shoes BV', iban: 'NL91ABNA0417164300', bic: 'ABNANL2A' } })
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), payments: [transfer] })
 * // at checkout: payment: { provider: 'bank-transfer' }; on the confirmation: transfer.instructions(order.payments[0]!)
 * ```
 */
export function bankTransfer(options: BankTransferOptions): BankTransferProvider {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) throw new CommerceError('CONFIGURATION', `[cartwright:bank-transfer] ${z.prettifyError(parsed.error)}`)
  const config = parsed.data
  const sign = (text: string) => createHmac('sha256', config.secret).update(text).digest()

  // The same payment always gets the same reference: a retried authorization answers as the first did.
  const referenceFor = (paymentId: string) => {
    const bytes = sign(`reference:${paymentId}`)
    const code = Array.from({ length: 12 }, (_, i) => ALPHABET[bytes[i]! % 32]).join('')
    return `CW-${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`
  }

  function verify({ rawBody, headers }: WebhookRequest): GatewayEvent[] {
    const body = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8')
    const header = headers['bank-signature']
    const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(typeof header === 'string' ? header : '')
    if (!match) throw new Error('missing or malformed bank-signature header')
    const age = (config.now?.() ?? new Date()).getTime() / 1000 - Number(match[1])
    if (Math.abs(age) > config.toleranceSeconds) throw new Error('the signature is too old')
    if (!timingSafeEqual(sign(`${match[1]}.${body}`), Buffer.from(match[2]!, 'hex'))) throw new Error('the signature does not match the body')
    const note = notificationSchema.parse(JSON.parse(body))
    return [{ id: note.id, type: 'captured', reference: normalizeReference(note.reference), amount: note.amount, currency: note.currency.toUpperCase(), ...(note.bookedAt ? { occurredAt: note.bookedAt } : {}) }]
  }

  const sendRefund = config.sendRefund
  return {
    id: config.id,
    // A shopper may pay in several transfers: each is a capture of its own, up to the order's total.
    capabilities: { capture: true, partialCapture: true, multiCapture: true, void: true, refund: sendRefund !== undefined, webhooks: true },
    async authorize(input) {
      const refusal = config.refuse?.(input)
      if (refusal) return { status: 'declined', reason: refusal }
      return { status: 'authorized', reference: referenceFor(input.paymentId) }
    },
    // Staff saw the money on the statement but no notification came: they confirm it by hand.
    capture: async () => ({ status: 'succeeded' }),
    // The order was canceled before the money arrived: nothing is held at the bank, the reference is retired.
    void: async () => ({ status: 'succeeded' }),
    ...(sendRefund && {
      async refund(input) {
        await sendRefund({ reference: input.reference, amount: input.amount, currency: input.currency, idempotencyKey: input.idempotencyKey })
        return { status: 'succeeded' }
      },
    }),
    webhooks: { verify },
    instructions: (payment) => ({ ...config.account, reference: payment.reference ?? '', amount: payment.amount, currency: payment.currency }),
  }
}
