import { CommerceError } from './errors.js'
import type { PaymentStatus } from './types.js'

/**
 * The payment state machine, as data: every status a payment can have, every change of status
 * core makes (with what causes it), and the guards every change must pass. Core checks each change
 * of a payment's status against it before writing, and writes it conditionally on the status it
 * read, so a change that is not listed here never reaches storage, under concurrency too.
 */

/**
 * What moves a payment from one status to another.
 *
 * @example
 * ```ts
 * const byRefund = paymentStateMachine.transitions.filter((t) => t.on.includes('refund.partial')) // captured, partially_captured, partially_refunded → partially_refunded
 * ```
 */
export type PaymentTransitionCause =
  /** The gateway authorized the checkout's payment. */
  | 'authorize.authorized'
  /** The gateway authorized and captured at once (or the order is free). */
  | 'authorize.captured'
  /** The gateway refused the authorization. */
  | 'authorize.declined'
  /** The shopper must confirm with their bank or wallet (3-D Secure, a redirect). */
  | 'authorize.requires_action'
  /** The shopper confirmed and the gateway authorized. */
  | 'action.authorized'
  /** The shopper confirmed and the gateway captured at once. */
  | 'action.captured'
  /** The confirmation failed, or the gateway canceled the attempt. */
  | 'action.declined'
  /** The confirmation's deadline passed, or an authorization without an order was released. */
  | 'action.expired'
  /** A capture of what is left of the authorization. */
  | 'capture'
  /** A capture of part of what is left of the authorization. */
  | 'capture.partial'
  /** The authorization released without capturing. */
  | 'void'
  /** A refund of everything captured that was not refunded yet. */
  | 'refund'
  /** A refund of part of what was captured. */
  | 'refund.partial'
  /** A tender (a gift card, store credit) captured when its order is placed. */
  | 'tender.placed'
  /** A tender given back because its checkout was declined. */
  | 'tender.released'

/**
 * One allowed change of a payment's status.
 *
 * @example
 * ```ts
 * const t: PaymentTransition = paymentStateMachine.transitions.find((x) => x.from === 'partially_captured' && x.to === 'captured')!
 * t.requires // 'multiCapture': only a provider that captures an authorization several times
 * ```
 */
export interface PaymentTransition {
  readonly from: PaymentStatus
  readonly to: PaymentStatus
  /** What makes it happen. */
  readonly on: readonly PaymentTransitionCause[]
  /**
   * `'multiCapture'`: only for a provider that declares the capability (without it, a partial
   * capture releases the rest of the authorization and nothing more can be captured).
   */
  readonly requires?: 'multiCapture'
}

/**
 * A payment as the guards see it: its status and confirmed amounts, in minor units.
 *
 * @example
 * ```ts
 * declare const paymentId: string
 *
 * const payment = await commerce.payments.get(paymentId)
 * const snapshot: PaymentStateSnapshot = payment // a Payment has these four fields
 * ```
 */
export interface PaymentStateSnapshot {
  status: PaymentStatus
  authorizedAmount: number
  capturedAmount: number
  refundedAmount: number
}

/**
 * A rule every change of a payment must keep; `holds` is false when the change breaks it.
 *
 * @example
 * ```ts
 * const bound = paymentStateMachine.guards.find((g) => g.name === 'refunded_within_captured')!
 * const captured = { status: 'captured', authorizedAmount: 1000, capturedAmount: 1000, refundedAmount: 0 } as const
 * bound.holds(captured, { ...captured, status: 'refunded', refundedAmount: 1200 }) // false
 * ```
 */
export interface PaymentGuard {
  readonly name: 'never_backwards' | 'captured_within_authorized' | 'refunded_within_captured' | 'amounts_never_shrink'
  readonly description: string
  holds(before: PaymentStateSnapshot, after: PaymentStateSnapshot): boolean
}

/**
 * How far along a payment is. A change never lowers it: `voided` and `declined` are ends, and a
 * status keeps its rank only through the listed self-transitions (another partial capture or refund).
 */
const RANK: Readonly<Record<PaymentStatus, number>> = {
  pending: 0,
  requires_action: 1,
  authorized: 2,
  partially_captured: 3,
  captured: 4,
  partially_refunded: 5,
  refunded: 6,
  voided: 7,
  declined: 7,
}

const t = (from: PaymentStatus, to: PaymentStatus, on: PaymentTransitionCause[], requires?: 'multiCapture'): PaymentTransition =>
  Object.freeze({ from, to, on: Object.freeze(on), ...(requires ? { requires } : {}) })

const transitions: readonly PaymentTransition[] = Object.freeze([
  t('pending', 'authorized', ['authorize.authorized']),
  t('pending', 'captured', ['authorize.captured']),
  t('pending', 'declined', ['authorize.declined']),
  t('pending', 'requires_action', ['authorize.requires_action']),
  t('pending', 'voided', ['action.expired']),
  t('requires_action', 'authorized', ['action.authorized']),
  t('requires_action', 'captured', ['action.captured']),
  t('requires_action', 'declined', ['action.declined']),
  t('requires_action', 'voided', ['action.expired']),
  t('authorized', 'partially_captured', ['capture.partial']),
  t('authorized', 'captured', ['capture', 'tender.placed']),
  t('authorized', 'voided', ['void', 'tender.released']),
  t('partially_captured', 'partially_captured', ['capture.partial'], 'multiCapture'),
  t('partially_captured', 'captured', ['capture'], 'multiCapture'),
  t('partially_captured', 'partially_refunded', ['refund.partial']),
  t('partially_captured', 'refunded', ['refund']),
  t('captured', 'partially_refunded', ['refund.partial']),
  t('captured', 'refunded', ['refund']),
  t('partially_refunded', 'partially_refunded', ['refund.partial']),
  t('partially_refunded', 'refunded', ['refund']),
])

const guards: readonly PaymentGuard[] = Object.freeze([
  {
    name: 'never_backwards',
    description: 'a status never moves back: voided, declined and refunded are ends, and a captured payment is never authorized again',
    holds: (before, after) => after.status === before.status || RANK[after.status] > RANK[before.status],
  },
  {
    name: 'captured_within_authorized',
    description: 'captured ≤ authorized',
    holds: (_before, after) => after.capturedAmount <= after.authorizedAmount,
  },
  {
    name: 'refunded_within_captured',
    description: 'refunded ≤ captured',
    holds: (_before, after) => after.refundedAmount <= after.capturedAmount,
  },
  {
    name: 'amounts_never_shrink',
    description: 'captured and refunded amounts only grow, and an authorized amount is fixed once authorized',
    holds: (before, after) =>
      after.capturedAmount >= before.capturedAmount &&
      after.refundedAmount >= before.refundedAmount &&
      (before.status === 'pending' || before.status === 'requires_action' || after.authorizedAmount === before.authorizedAmount),
  },
] satisfies PaymentGuard[])

const states = Object.freeze(Object.keys(RANK) as PaymentStatus[])

/**
 * The payment state machine as data: `states` (every {@link PaymentStatus}), `initial`, `final`
 * (no change leads out of them), `transitions` (each allowed change of status with its causes) and
 * `guards` (what every change of a payment must keep, amounts included). Core enforces it on every
 * change of a payment it makes, and in storage (each write is conditional on the status it read).
 *
 * @example
 * ```ts
 * import { paymentStateMachine } from '@cartwright/core'
 *
 * // Draw it (Mermaid):
 * const lines = paymentStateMachine.transitions.map((t) => `  ${t.from} --> ${t.to}: ${t.on.join(', ')}`)
 * console.log(['stateDiagram-v2', ...lines].join('\n'))
 * // What can follow a capture?
 * paymentStateMachine.transitions.filter((t) => t.from === 'captured').map((t) => t.to) // ['partially_refunded', 'refunded']
 * ```
 */
export const paymentStateMachine = Object.freeze({
  states,
  initial: 'pending' as const,
  final: Object.freeze(states.filter((s) => !transitions.some((x) => x.from === s))),
  transitions,
  guards,
})

/**
 * Options of {@link canTransition} and {@link assertTransition}.
 *
 * @example
 * ```ts
 * declare const gateway: PaymentProvider // one of the providers you compose
 * canTransition('partially_captured', 'captured', { multiCapture: gateway.capabilities.multiCapture })
 * ```
 */
export interface TransitionOptions {
  /** The payment's provider captures an authorization several times (`capabilities.multiCapture`). */
  multiCapture?: boolean
}

/**
 * True when a payment may go from `from` to `to`: the change is one of
 * `paymentStateMachine.transitions` (and, for one that `requires: 'multiCapture'`, the provider can).
 *
 * @example
 * ```ts
 * canTransition('authorized', 'captured') // true
 * canTransition('captured', 'voided') // false: a captured payment is refunded, never voided
 * canTransition('partially_captured', 'captured') // false: the rest was released
 * canTransition('partially_captured', 'captured', { multiCapture: true }) // true
 * ```
 */
export function canTransition(from: PaymentStatus, to: PaymentStatus, options: TransitionOptions = {}): boolean {
  return transitions.some((x) => x.from === from && x.to === to && (x.requires !== 'multiCapture' || options.multiCapture === true))
}

/**
 * Throws `INVALID_STATE` naming both statuses (`details.from`, `details.to`) unless a payment may
 * go from `from` to `to` ({@link canTransition}).
 *
 * @example
 * ```ts
 * try {
 *   assertTransition('voided', 'captured', { paymentId: 'pay_01J…' })
 * } catch (error) {
 *   if (isCommerceError(error, 'INVALID_STATE')) console.log(error.details) // { paymentId, from: 'voided', to: 'captured' }
 * }
 * ```
 */
export function assertTransition(from: PaymentStatus, to: PaymentStatus, options: TransitionOptions & { paymentId?: string; why?: string } = {}): void {
  if (canTransition(from, to, options)) return
  throw transitionRefused(from, to, options)
}

/** @internal The error for a change the machine refuses. */
export function transitionRefused(
  from: PaymentStatus,
  to: PaymentStatus,
  options: { paymentId?: string; subject?: string; why?: string; details?: Record<string, unknown> } = {},
): CommerceError {
  const subject = options.subject ?? (options.paymentId ? `Payment ${options.paymentId}` : 'A payment')
  const why = options.why ?? defaultWhy(from, to)
  return new CommerceError('INVALID_STATE', `${subject} cannot go from ${from} to ${to}: ${why}`, {
    details: { ...options.details, ...(options.paymentId ? { paymentId: options.paymentId } : {}), from, to },
  })
}

function defaultWhy(from: PaymentStatus, to: PaymentStatus): string {
  if (paymentStateMachine.final.includes(from)) return `${from} is final`
  if (from !== to && RANK[to] <= RANK[from]) return 'a payment never moves back'
  if (transitions.some((x) => x.from === from && x.to === to)) return 'its provider captures an authorization once; the rest was released'
  return `${to} does not follow ${from}`
}

/**
 * What a change of a payment can break: its change of status (`'transition'`), or a guard.
 *
 * @example
 * ```ts
 * declare const before: PaymentStateSnapshot, after: PaymentStateSnapshot
 *
 * const problems: PaymentChangeProblem[] = paymentChangeProblems(before, after)
 * if (problems.includes('transition')) console.warn('not a change the payment state machine allows')
 * ```
 */
export type PaymentChangeProblem = 'transition' | PaymentGuard['name']

/**
 * What a change of a payment breaks (empty when nothing): `'transition'` when its status changes in
 * a way `transitions` does not list (a status that stays the same while amounts move must be a
 * listed self-transition), and the name of every guard it breaks.
 *
 * @example
 * ```ts
 * const before = { status: 'captured', authorizedAmount: 1000, capturedAmount: 1000, refundedAmount: 0 } as const
 * paymentChangeProblems(before, { ...before, status: 'refunded', refundedAmount: 1200 }) // ['refunded_within_captured']
 * paymentChangeProblems(before, { ...before, status: 'voided' }) // ['transition']
 * ```
 */
export function paymentChangeProblems(before: PaymentStateSnapshot, after: PaymentStateSnapshot, options: TransitionOptions = {}): PaymentChangeProblem[] {
  const problems: PaymentChangeProblem[] = []
  const unchanged =
    before.status === after.status &&
    before.authorizedAmount === after.authorizedAmount &&
    before.capturedAmount === after.capturedAmount &&
    before.refundedAmount === after.refundedAmount
  if (!unchanged && !canTransition(before.status, after.status, options)) problems.push('transition')
  for (const guard of guards) if (!guard.holds(before, after)) problems.push(guard.name)
  return problems
}
