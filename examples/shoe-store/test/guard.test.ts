import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { fromThisSite, safeBack, shopperAddress, type GuardOptions } from '../src/guard.js'

describe('safeBack', () => {
  it('keeps a path on this site', () => {
    for (const back of ['/', '/cart', '/products/trail-runner?colour=red&size=43', '/search?q=a%2Fb']) expect(safeBack(back)).toBe(back)
  })

  it('refuses every spelling of another site a browser would follow', () => {
    // What a browser makes of each, against this site: none may leave it.
    const hostile = ['//evil.example', '/\\evil.example', '/\t/evil.example', '/\n/evil.example', '\\\\evil.example', 'https://evil.example', 'javascript:alert(1)', '', 'cart', ' /cart', '/\\/evil']
    for (const back of hostile) {
      expect(safeBack(back), JSON.stringify(back)).toBe('/')
      expect(new URL(safeBack(back), 'https://shop.example').origin).toBe('https://shop.example')
    }
  })
})

describe('fromThisSite', () => {
  const probe = (options: GuardOptions) => {
    const app = new Hono()
    app.post('/form', (c) => c.text(fromThisSite(c, options) ? 'yes' : 'no'))
    return async (headers: Record<string, string>, url = 'http://shop.example/form') => (await app.request(url, { method: 'POST', headers })).text()
  }

  it('accepts a post whose Origin, or else Referer, is this site, and nothing else', async () => {
    const post = probe({})
    expect(await post({ origin: 'http://shop.example' })).toBe('yes')
    expect(await post({ origin: 'null', referer: 'http://shop.example/cart' })).toBe('yes')
    expect(await post({ referer: 'http://shop.example/cart' })).toBe('yes')
    expect(await post({ origin: 'https://evil.example' })).toBe('no')
    expect(await post({ origin: 'null' })).toBe('no')
    expect(await post({ origin: 'null', referer: 'https://evil.example/' })).toBe('no')
    expect(await post({})).toBe('no')
    expect(await post({ origin: 'http://shop.example.evil.example' })).toBe('no')
  })

  it('behind a trusted proxy, compares with the forwarded origin; an untrusted proxy header changes nothing', async () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example', origin: 'https://shop.example' }
    expect(await probe({ trustProxy: true })(forwarded, 'http://10.0.0.5:3000/form')).toBe('yes')
    expect(await probe({})(forwarded, 'http://10.0.0.5:3000/form')).toBe('no')
  })
})

describe('shopperAddress', () => {
  it('takes the last X-Forwarded-For entry only behind a trusted proxy', async () => {
    const app = (options: GuardOptions) => {
      const a = new Hono()
      a.get('/', (c) => c.text(shopperAddress(c, options)))
      return a
    }
    const headers = { 'x-forwarded-for': '203.0.113.9, 198.51.100.7' }
    expect(await (await app({ trustProxy: true }).request('/', { headers })).text()).toBe('198.51.100.7')
    // No socket under app.request: without a trusted proxy the header is ignored.
    expect(await (await app({}).request('/', { headers })).text()).toBe('unknown')
  })
})
