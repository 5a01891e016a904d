import type { Endpoint } from '@cartwright/core'

/**
 * The API-key scope an Admin endpoint needs: its own `scope`, else the first segment of its path
 * and `read` for `GET`, `write` otherwise (`POST /orders/:orderId/capture` → `orders:write`).
 *
 * @example
 * ```ts
 * import type { Endpoint } from '@cartwright/core'
 *
 * declare const endpoint: Endpoint
 * const needed = requiredScope(endpoint) // e.g. 'catalog:read'
 * ```
 */
export function requiredScope(endpoint: Pick<Endpoint, 'method' | 'path' | 'scope'>): string {
  if (endpoint.scope) return endpoint.scope
  const resource = endpoint.path.split('/').find((segment) => segment.length > 0 && !segment.startsWith(':')) ?? 'root'
  return `${resource}:${endpoint.method === 'GET' ? 'read' : 'write'}`
}

/**
 * True when `granted` covers `needed`: `*` covers everything, `<resource>:*` every scope of the
 * resource, anything else only itself (a `write` scope does not imply `read`).
 *
 * @example
 * ```ts
 * hasScope(['orders:*'], 'orders:write') // true
 * hasScope(['orders:read'], 'orders:write') // false
 * ```
 */
export function hasScope(granted: readonly string[], needed: string): boolean {
  const resource = needed.slice(0, needed.indexOf(':'))
  return granted.some((scope) => scope === '*' || scope === needed || (resource.length > 0 && scope === `${resource}:*`))
}
