import { createHash } from 'node:crypto'
import { CommerceError } from '../errors.js'
import type { PaymentTable } from '../db/database.js'

/**
 * What a `checkout.complete` call asked for, as a fingerprint kept with its payment
 * (`cw_payments.request_digest`): an idempotency key answers only the request it was first sent
 * with. The same key with another payment provider or other payment data is a `CONFLICT`, never the
 * answer to a request that was not made.
 */

/** JSON with every object's keys sorted, so that the same data always reads the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** @internal The fingerprint of a checkout request: SHA-256 (hex) of its provider and payment data. */
export function requestDigest(provider: string, data: Record<string, unknown>): string {
  // Most checkouts send no payment data: their fingerprint depends on the provider alone.
  if (Object.keys(data).length === 0) {
    let digest = EMPTY_DATA_DIGESTS.get(provider)
    if (digest === undefined) {
      digest = hash(provider, data)
      if (EMPTY_DATA_DIGESTS.size < 64) EMPTY_DATA_DIGESTS.set(provider, digest)
    }
    return digest
  }
  return hash(provider, data)
}

function hash(provider: string, data: Record<string, unknown>): string {
  return createHash('sha256').update(canonical({ provider, data })).digest('hex')
}

/** The fingerprints of requests without payment data, by provider id (a handful of providers per engine). */
const EMPTY_DATA_DIGESTS = new Map<string, string>()

/**
 * @internal Throws `CONFLICT` when the payment recorded under a key was asked for with other
 * payment data than this call's. Payments recorded before fingerprints were kept have none, and
 * are not checked.
 */
export function assertSameRequest(payment: Pick<PaymentTable, 'cart_id' | 'provider' | 'request_digest'>, provider: string, data: Record<string, unknown>): void {
  if (!payment.request_digest || payment.request_digest === requestDigest(provider, data)) return
  throw new CommerceError('CONFLICT', 'This idempotency key was already used with other payment data; use a new key for a new payment attempt', {
    details: { cartId: payment.cart_id, field: 'payment.data' },
  })
}
