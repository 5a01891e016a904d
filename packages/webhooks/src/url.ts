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

/**
 * Why a URL may not be called now, or null: {@link urlProblem}, then the addresses its host name
 * resolves to, so that a public name pointing at a private address is refused at delivery time.
 * (A name that changes its answer between this lookup and the connection is not caught: filter
 * outgoing traffic at the network where that matters.)
 */
export async function sendProblem(raw: string, allowPrivateHosts: boolean): Promise<string | null> {
  const problem = urlProblem(raw, allowPrivateHosts)
  if (problem || allowPrivateHosts) return problem
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '')
  if (isIP(host)) return null
  let addresses: Array<{ address: string }>
  try {
    addresses = await lookup(host, { all: true, verbatim: true })
  } catch (error) {
    return `the host name does not resolve (${(error as { code?: string }).code ?? 'lookup failed'})`
  }
  const inside = addresses.find((a) => privateHost(a.address))
  return inside ? `the host name resolves to ${inside.address}, on this machine or a private network` : null
}

/**
 * True for a host written as a loopback, private, link-local or unspecified address, or a name
 * for this machine. Names that resolve to such addresses are not caught here: a shop that lets
 * untrusted staff register endpoints should also filter outgoing traffic at the network.
 */
function privateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '')
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true
  const family = isIP(host)
  if (family === 4) return privateV4(host)
  if (family === 6) {
    if (host === '::' || host === '::1') return true
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)
    if (mapped) return privateV4(mapped[1]!)
    if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(host)) return true
    return /^f[cd]/.test(host) || /^fe[89ab]/.test(host)
  }
  return false
}

function privateV4(host: string): boolean {
  const [a, b] = host.split('.').map(Number) as [number, number]
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224
  )
}
