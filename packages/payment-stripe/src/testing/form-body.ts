/** A decoded form value: what Stripe's API reads from `a[b][0]=c` pairs. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue }

const KEY = /^([^[\]]+)((?:\[[^[\]]*\])*)$/

function decode(part: string): string {
  return decodeURIComponent(part.replace(/\+/g, ' '))
}

/**
 * Decodes an `application/x-www-form-urlencoded` body (or query string) the way Stripe's API reads
 * it: bracketed keys nest (`metadata[order]=1`), numeric indexes make arrays (`expand[0]=x`).
 * Throws on a key it cannot read.
 */
export function decodeForm(body: string): Record<string, FormValue> {
  const root: Record<string, FormValue> = {}
  if (body === '') return root
  for (const pair of body.split('&')) {
    if (pair === '') continue
    const at = pair.indexOf('=')
    const rawKey = decode(at < 0 ? pair : pair.slice(0, at))
    const value = at < 0 ? '' : decode(pair.slice(at + 1))
    const match = KEY.exec(rawKey)
    if (!match) throw new Error(`cannot read the parameter ${JSON.stringify(rawKey)}`)
    const path = [match[1]!, ...[...match[2]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!)]
    let node: Record<string, FormValue> = root
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i] === '' ? String(Object.keys(node).length) : path[i]!
      const next = node[key]
      if (next === undefined || typeof next === 'string') node[key] = {}
      node = node[key] as Record<string, FormValue>
    }
    const last = path[path.length - 1]!
    node[last === '' ? String(Object.keys(node).length) : last] = value
  }
  return arrays(root) as Record<string, FormValue>
}

/** Objects whose keys are exactly 0..n-1 become arrays. */
function arrays(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value
  const keys = Object.keys(value)
  const mapped: Record<string, FormValue> = {}
  for (const key of keys) mapped[key] = arrays(value[key]!)
  if (keys.length > 0 && keys.every((key, i) => key === String(i))) return keys.map((key) => mapped[key]!)
  return mapped
}

/** A stable text form of decoded parameters (keys sorted), to compare two requests' parameters. */
export function canonical(value: FormValue | undefined): string {
  if (value === undefined) return ''
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
    .join(',')}}`
}
