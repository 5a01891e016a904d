import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'

/** Why a URL is refused, or null when it may be used. */
export function urlProblem(raw: string, allowPrivateHosts: boolean): string | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'must be an absolute http or https URL'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http or https'
  // Credentials in the URL would be stored and shown in the admin like any other field.
  if (url.username || url.password) return 'must not carry a user name or password'
  if (url.hash) return 'must not have a fragment'
  if (!allowPrivateHosts && privateHost(url.hostname)) return 'must not point at this machine or a private network'
  return null
}

/** One address a host name resolves to, as `dns.lookup` with `all: true` answers. */
export interface ResolvedAddress {
  address: string
  family: number
}

/**
 * Resolves a host name to all its addresses. The default is the system resolver
 * (`dns.lookup`, as `fetch` and `http.request` use); tests pass their own.
 */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true })

/**
 * Resolves `hostname` and refuses the answer when one of its addresses is on this machine or a
 * private network (unless `allowPrivateHosts`). The addresses it answers are the ones the request
 * then connects to: there is no second lookup that could answer differently. Rejects with an
 * `Error` whose message says why; gives up when `signal` aborts.
 */
export async function resolveAllowed(hostname: string, allowPrivateHosts: boolean, resolver: Resolver, signal?: AbortSignal): Promise<ResolvedAddress[]> {
  signal?.throwIfAborted()
  let addresses: ResolvedAddress[]
  try {
    addresses = await (signal ? abortable(resolver(hostname), signal) : resolver(hostname))
  } catch (error) {
    if (signal?.aborted) throw signal.reason
    throw new Error(`not sent: the host name does not resolve (${(error as { code?: string }).code ?? 'lookup failed'})`)
  }
  if (addresses.length === 0) throw new Error('not sent: the host name does not resolve (no address)')
  if (!allowPrivateHosts) {
    const inside = addresses.find((a) => privateHost(a.address))
    if (inside) throw new Error(`not sent: the host name resolves to ${inside.address}, on this machine or a private network`)
  }
  return addresses
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/**
 * True for a host written as a loopback, private, link-local, site-local, multicast or unspecified
 * address (IPv4, or IPv6 including an IPv4 address embedded in it: mapped, compatible, NAT64,
 * 6to4), a Teredo, documentation or discard-only IPv6 address, or a name for this machine. Host names are checked again, by the addresses they resolve
 * to, when a request connects (see {@link resolveAllowed}).
 */
export function privateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '')
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true
  const family = isIP(host)
  if (family === 4) return privateV4(host.split('.').map(Number) as V4)
  if (family === 6) return privateV6(hextets(host))
  return false
}

type V4 = [number, number, number, number]

function privateV4([a, b, c]: V4): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 0 && c === 0) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  )
}

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted IPv4 part is two groups). */
function hextets(host: string): number[] {
  let text = host.replace(/%.*$/, '')
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as V4
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [left, right] = text.split('::') as [string, string | undefined]
  const head = left ? left.split(':') : []
  const tail = right ? right.split(':') : []
  const groups = right === undefined ? head : [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail]
  return groups.map((g) => parseInt(g, 16))
}

function v4At(groups: number[], index: number): V4 {
  const high = groups[index]!
  const low = groups[index + 1]!
  return [high >> 8, high & 0xff, low >> 8, low & 0xff]
}

function privateV6(g: number[]): boolean {
  const zeroes = (from: number, to: number) => g.slice(from, to).every((x) => x === 0)
  // ::/96 (unspecified, loopback, IPv4-compatible) and ::ffff:0:0/96 (IPv4-mapped): the IPv4 address decides.
  if (zeroes(0, 6)) return g[6] === 0 && g[7]! <= 1 ? true : privateV4(v4At(g, 6))
  if (zeroes(0, 5) && g[5] === 0xffff) return privateV4(v4At(g, 6))
  // ::ffff:0:a.b.c.d (IPv4-translated) and 64:ff9b::/96 (NAT64): the IPv4 address decides.
  if (zeroes(0, 4) && g[4] === 0xffff && g[5] === 0) return privateV4(v4At(g, 6))
  if (g[0] === 0x64 && g[1] === 0xff9b && zeroes(2, 6)) return privateV4(v4At(g, 6))
  // 64:ff9b:1::/48: NAT64 for local use only.
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return true
  // 2002::/16 (6to4): the IPv4 address in the next 32 bits decides.
  if (g[0] === 0x2002) return privateV4(v4At(g, 1))
  // 2001::/32 (Teredo): a tunnel whose client address is hidden (inverted) in the last 32 bits and
  // reached through a relay; no webhook receiver lives there, so none is allowed.
  if (g[0] === 0x2001 && g[1] === 0) return true
  // 2001:db8::/32 (documentation) and 100::/64 (discard only): never a real receiver.
  if (g[0] === 0x2001 && g[1] === 0xdb8) return true
  if (g[0] === 0x100 && zeroes(1, 4)) return true
  const first = g[0]!
  return (
    (first & 0xfe00) === 0xfc00 || // fc00::/7 unique local
    (first & 0xffc0) === 0xfe80 || // fe80::/10 link-local
    (first & 0xffc0) === 0xfec0 || // fec0::/10 site-local (deprecated, still routed inside some networks)
    (first & 0xff00) === 0xff00 // ff00::/8 multicast
  )
}
