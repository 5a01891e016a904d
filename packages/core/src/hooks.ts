import { AsyncLocalStorage } from 'node:async_hooks'
import { CommerceError, isCommerceError } from './errors.js'
import type { EventMap } from './events.js'
import type { PluginTx } from './ports/plugin.js'
import type { Adjustment, Cart, Order, ShippingMethod, Totals } from './types.js'
import type { CheckoutRiskAnswer, CheckoutRiskContext } from './services/order-holds.js'

/**
 * Interceptors run, in registration order and awaited, inside an operation. A hook
 * vetoes by throwing; a thrown {@link CommerceError} reaches the caller unchanged, any
 * other error becomes `VETOED`.
 */
export interface CommerceHooks {
  /**
   * Before a line is added or its quantity raised. `quantity` is the number of units being
   * added, not the line's new quantity: that is `quantity` plus what the cart's line for
   * `variantId` already holds, if there is one.
   */
  'cart.beforeAddItem': (context: { cart: Cart; variantId: string; quantity: number }) => void | Promise<void>
  /** Lets discounts add adjustments while totals are computed. Push onto `adjustments`. */
  'cart.adjust': (context: { cart: Cart; adjustments: Adjustment[] }) => void | Promise<void>
  /**
   * Lets discounts on shipping see the shipping charge: runs after line discounts are applied and the
   * chosen option is quoted on the discounted subtotal (the pricing order, docs/pricing.md), only when
   * the cart has a shipping method. `cart.lines` carry their discounts and `shipping` is the option
   * with its amount before discounts. `applied` holds the shipping adjustments `cart.adjust` hooks
   * already pushed (read-only), so a shipping discount can stay within what is left of the charge.
   * Push adjustments with `target: 'shipping'` only.
   *
   * @example
   * ```ts
   * commerce.hooks.hook('cart.adjustShipping', ({ shipping, applied, adjustments }) => {
   *   const left = shipping.amount - applied.reduce((sum, a) => sum + a.amount, 0)
   *   if (left > 0) adjustments.push({ code: 'HALF-SHIP', label: 'Half-price shipping', amount: Math.floor(left / 2), target: 'shipping' })
   * })
   * ```
   */
  'cart.adjustShipping': (context: { cart: Cart; shipping: ShippingMethod; applied: readonly Adjustment[]; adjustments: Adjustment[] }) => void | Promise<void>
  /** Last check before stock is reserved and payment authorized. */
  'checkout.beforeComplete': (context: { cart: Cart; totals: Totals }) => void | Promise<void>
  /** Before an order is canceled. */
  'order.beforeCancel': (context: { orderId: string; reason: string | null }) => void | Promise<void>
  /**
   * After the gateway authorized a checkout's payment, before its order is written: answer
   * `{ hold: true, reason }` to place the order held for review (suspected card testing,
   * mismatched addresses). A held order's payment is not captured, nor the order fulfilled, until
   * staff call `orders.release`; `orders.cancel` voids the authorization and releases the stock. It
   * may call a fraud service. A hook that throws holds the order too (`risk check failed: …`).
   *
   * @example
   * ```ts
   * commerce.hooks.hook('checkout.risk', ({ shippingAddress, billingAddress, totals }) => {
   *   if (shippingAddress && billingAddress && shippingAddress.country !== billingAddress.country && totals.total > 50_000) {
   *     return { hold: true, reason: 'billing and shipping countries differ on a large order' }
   *   }
   * })
   * ```
   */
  'checkout.risk': (context: CheckoutRiskContext) => CheckoutRiskAnswer | Promise<CheckoutRiskAnswer>
}

export type CommerceHookName = keyof CommerceHooks

/**
 * Part of an order's total paid from a source other than the checkout's gateway: a gift card,
 * store credit. Pushed by a `checkout.claim` hook after the plugin took the money from its own
 * tables in the claim's transaction; the gateway is then asked for the total minus every tender.
 * `provider` is a payment provider the plugin contributes (`Plugin.payments`): refunds of the
 * tender go back through its `refund`.
 */
export interface Tender {
  /** The id of a configured payment provider that can refund this tender. */
  provider: string
  /** The source's own reference (the gift card's id): the payment's `reference`. */
  reference: string
  /** Minor units, positive. */
  amount: number
}

/**
 * Hooks that run inside core's write transactions, for plugins that must act atomically with core.
 * Each receives its context and the running transaction narrowed to the plugin's tables
 * ({@link PluginTx}); a thrown error rolls the whole transaction back. Register them through the
 * `hooks` of a plugin's `init` context. Inside them: no network calls, and no calls back into the
 * engine (refused with `INVALID_STATE`); the transaction may be retried, so keep every effect in `tx`.
 */
export interface TransactionalHookContexts {
  /**
   * A checkout claims its cart: after the payment row is written, before stock is reserved. Veto by
   * throwing; use up a limit with a conditional update; push `tenders` to pay part of the total.
   */
  'checkout.claim': { cart: Cart; paymentId: string; tenders: Tender[] }
  /** The order was written, in the transaction that placed it: announce what was redeemed. */
  'checkout.place': { order: Order; cart: Cart; paymentId: string }
  /**
   * What a claim took is given back: its payment was declined, or its order canceled. Runs in
   * the transaction that declines the payment or cancels the order, once per claim.
   */
  'checkout.release': { cartId: string; paymentId: string; orderId: string | null; reason: 'declined' | 'canceled' }
  /** A cart's lines, addresses or shipping choice changed, in the transaction that changed them. */
  'cart.changed': { cartId: string; version: number }
}

export type TransactionalHookName = keyof TransactionalHookContexts

/** @internal What core hands a transactional hook; each plugin narrows it into its own {@link PluginTx}. */
export interface HookTransaction {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  tx: any
  emit(type: string, payload: unknown): void
  /** True for a driver error the transaction retries (busy, deadlock): passed through, not turned into `VETOED`. */
  retryable(error: unknown): boolean
}

type TransactionalHookFn = (context: any, scope: HookTransaction) => unknown

/**
 * Set while a transactional hook runs: a call back into the engine from there is refused instead
 * of waiting forever for the transaction it runs in.
 */
export const insideTransactionalHook = new AsyncLocalStorage<string>()

/**
 * A plugin's view of the hooks: core's interceptors, and the transactional hooks with the
 * transaction narrowed to the plugin's tables.
 *
 * @example
 * ```ts
 * const plugin = definePlugin({
 *   id: 'one-per-customer',
 *   init({ hooks }) {
 *     hooks.hook('checkout.claim', async ({ cart }) => {
 *       if (cart.lines.length > 3) throw new CommerceError('VETOED', 'At most 3 lines per order')
 *     })
 *   },
 * })
 * ```
 */
export interface PluginHooks<DB = {}, Ev extends EventMap = {}> {
  hook<K extends CommerceHookName>(name: K, fn: CommerceHooks[K]): () => void
  hook<K extends TransactionalHookName>(name: K, fn: (context: TransactionalHookContexts[K], tx: PluginTx<DB, Ev>) => void | Promise<void>): () => void
}

/**
 * The ordered, awaited hooks of an engine.
 *
 * @example
 * ```ts
 * const remove = commerce.hooks.hook('cart.beforeAddItem', ({ cart, variantId, quantity }) => {
 *   const line = cart.lines.find((l) => l.variantId === variantId)
 *   if ((line?.quantity ?? 0) + quantity > 5) throw new CommerceError('VETOED', 'At most 5 per line')
 * })
 * remove()
 * ```
 */
export class HookRegistry {
  readonly #hooks = new Map<string, Array<(context: any) => unknown>>()
  readonly #transactional = new Map<string, TransactionalHookFn[]>()

  /** Registers a hook; returns a function that removes it. */
  hook<K extends CommerceHookName>(name: K, fn: CommerceHooks[K]): () => void {
    const list = this.#hooks.get(name) ?? []
    list.push(fn as (context: any) => unknown)
    this.#hooks.set(name, list)
    return () => {
      const current = this.#hooks.get(name)
      if (!current) return
      const index = current.indexOf(fn as (context: any) => unknown)
      if (index >= 0) current.splice(index, 1)
    }
  }

  /** True when at least one hook is registered under `name`. */
  has(name: CommerceHookName | TransactionalHookName): boolean {
    return (this.#hooks.get(name)?.length ?? 0) + (this.#transactional.get(name)?.length ?? 0) > 0
  }

  /** @internal Registers a transactional hook (plugins do it through their `init` context). */
  hookTransactional(name: TransactionalHookName, fn: TransactionalHookFn): () => void {
    const list = this.#transactional.get(name) ?? []
    list.push(fn)
    this.#transactional.set(name, list)
    return () => {
      const index = list.indexOf(fn)
      if (index >= 0) list.splice(index, 1)
    }
  }

  /**
   * @internal Runs the transactional hooks under `name` inside the caller's transaction, in
   * registration order. Errors are handled as for other hooks (a non-`CommerceError` becomes `VETOED`).
   */
  async runTransactional<K extends TransactionalHookName>(name: K, context: TransactionalHookContexts[K], scope: HookTransaction): Promise<void> {
    const list = this.#transactional.get(name)
    if (!list?.length) return
    for (const fn of [...list]) {
      try {
        await insideTransactionalHook.run(name, () => fn(context, scope))
      } catch (error) {
        if (isCommerceError(error) || scope.retryable(error)) throw error
        throw new CommerceError('VETOED', `${name} hook refused: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
          details: { hook: name },
        })
      }
    }
  }

  /** @internal Runs every hook under `name` in order; returns what each answered. */
  async run<K extends CommerceHookName>(name: K, context: Parameters<CommerceHooks[K]>[0]): Promise<unknown[]> {
    const list = this.#hooks.get(name)
    const answers: unknown[] = []
    if (!list) return answers
    for (const fn of [...list]) {
      try {
        answers.push(await fn(context))
      } catch (error) {
        if (isCommerceError(error)) throw error
        throw new CommerceError('VETOED', `${name} hook refused: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
          details: { hook: name },
        })
      }
    }
    return answers
  }
}
