import { CommerceError, isCommerceError } from './errors.js'
import type { Adjustment, Cart, Totals } from './types.js'

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
  /** Last check before stock is reserved and payment authorized. */
  'checkout.beforeComplete': (context: { cart: Cart; totals: Totals }) => void | Promise<void>
  /** Before an order is canceled. */
  'order.beforeCancel': (context: { orderId: string; reason: string | null }) => void | Promise<void>
}

export type CommerceHookName = keyof CommerceHooks

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
  has(name: CommerceHookName): boolean {
    return (this.#hooks.get(name)?.length ?? 0) > 0
  }

  /** @internal Runs every hook under `name` in order. */
  async run<K extends CommerceHookName>(name: K, context: Parameters<CommerceHooks[K]>[0]): Promise<void> {
    const list = this.#hooks.get(name)
    if (!list) return
    for (const fn of [...list]) {
      try {
        await fn(context)
      } catch (error) {
        if (isCommerceError(error)) throw error
        throw new CommerceError('VETOED', `${name} hook refused: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
          details: { hook: name },
        })
      }
    }
  }
}
