import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { send, type SendInput } from '../src/send.js'
import { urlProblem, type Resolver } from '../src/url.js'
import { HEADER_ID, verifyWebhookSignature } from '../src/index.js'
import { receiver } from './support.js'

const secret = 'whsec_send-test'

function input(url: string, allowPrivateHosts: boolean, timeoutMs = 5000): SendInput {
  return { url, body: '{"id":"evt_1"}', deliveryId: 'whd_1', replayOf: null, secrets: [secret], at: Date.now(), timeoutMs, userAgent: 'test', allowPrivateHosts }
}

/** A name server that gives the answers in turn, the last one from then on, and counts the questions. */
function answers(...addresses: string[]): Resolver & { asked: string[] } {
  const asked: string[] = []
  const resolver = async (hostname: string) => {
    const address = addresses[Math.min(asked.length, addresses.length - 1)]!
    asked.push(hostname)
    return [{ address, family: address.includes(':') ? 6 : 4 }]
  }
  return Object.assign(resolver, { asked })
}

describe('send connects only to the addresses it checked', () => {
  it('refuses a host name that resolves to 127.0.0.1 without allowPrivateHosts, and sends nothing', async () => {
    const sink = await receiver([204])
    try {
      const port = new URL(sink.url).port
      const result = await send(input(`http://localhost:${port}/hooks`, false))
      expect(result).toMatchObject({ outcome: 'error', statusCode: null })
      expect(result.error).toMatch(/resolves to (127\.0\.0\.1|::1), on this machine or a private network/)
      expect(sink.received).toHaveLength(0)
    } finally {
      await sink.close()
    }
  })

  it('refuses a name that answered a public address when the endpoint was checked and a private one when connecting', async () => {
    const sink = await receiver([204])
    try {
      const url = `http://hooks.example.com:${new URL(sink.url).port}/hooks`
      expect(urlProblem(url, false)).toBeNull()
      const rebinding = answers('93.184.216.34', '127.0.0.1')
      // The creation-time view of the name: public.
      expect(await rebinding('hooks.example.com')).toEqual([{ address: '93.184.216.34', family: 4 }])
      const result = await send(input(url, false), rebinding)
      expect(result.outcome).toBe('error')
      expect(result.error).toContain('resolves to 127.0.0.1, on this machine or a private network')
      expect(rebinding.asked).toEqual(['hooks.example.com', 'hooks.example.com'])
      expect(sink.received).toHaveLength(0)
    } finally {
      await sink.close()
    }
  })

  it('connects to the address it resolved, keeping the URL\u2019s host name in Host, when private hosts are allowed', async () => {
    const sink = await receiver([200])
    try {
      const port = new URL(sink.url).port
      const resolver = answers('127.0.0.1')
      const result = await send(input(`http://hooks.example.com:${port}/hooks`, true), resolver)
      expect(result).toMatchObject({ outcome: 'delivered', statusCode: 200, responseBody: 'ok' })
      expect(resolver.asked).toEqual(['hooks.example.com'])
      expect(sink.received).toHaveLength(1)
      const got = sink.received[0]!
      expect(got.headers.host).toBe(`hooks.example.com:${port}`)
      expect(got.headers[HEADER_ID.toLowerCase()]).toBe('whd_1')
      expect(verifyWebhookSignature({ body: got.body, headers: got.headers, secret }).ok).toBe(true)
    } finally {
      await sink.close()
    }
  })

  it('keeps 1 KB of a long answer and does not follow a redirect', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/long') {
        res.statusCode = 200
        res.end('x'.repeat(200_000))
      } else {
        res.statusCode = 302
        res.setHeader('location', '/long')
        res.end()
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const long = await send(input(`http://127.0.0.1:${port}/long`, true))
      expect(long).toMatchObject({ outcome: 'delivered', statusCode: 200 })
      expect(long.responseBody).toBe('x'.repeat(1024))
      expect(await send(input(`http://127.0.0.1:${port}/moved`, true))).toMatchObject({ outcome: 'failed', statusCode: 302, error: 'the endpoint answered 302' })
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('counts a slow lookup against the timeout', async () => {
    const never: Resolver = () => new Promise(() => undefined)
    const started = Date.now()
    const result = await send(input('http://hooks.example.com/hooks', false, 200), never)
    expect(result).toMatchObject({ outcome: 'error', error: 'no answer within 200 ms' })
    expect(Date.now() - started).toBeLessThan(2000)
  })
})

describe('urlProblem', () => {
  it.each([
    'http://127.0.0.1/', 'http://0.0.0.0/', 'http://10.1.2.3/', 'http://100.64.0.1/', 'http://169.254.169.254/', 'http://172.16.0.1/', 'http://192.168.1.1/',
    'http://192.0.0.8/', // 192.0.0.0/24
    'http://198.18.0.1/', 'http://198.19.255.254/', // 198.18.0.0/15
    'http://224.0.0.1/',
    'http://[::]/', 'http://[::1]/',
    'http://[::127.0.0.1]/', // IPv4-compatible: ::7f00:1
    'http://[::ffff:127.0.0.1]/', 'http://[::ffff:10.0.0.1]/', // IPv4-mapped
    'http://[::ffff:0:127.0.0.1]/', // IPv4-translated
    'http://[64:ff9b::127.0.0.1]/', 'http://[64:ff9b::a9fe:a9fe]/', // NAT64 of 127.0.0.1, 169.254.169.254
    'http://[64:ff9b:1::1]/', // local-use NAT64
    'http://[2002:7f00:1::1]/', 'http://[2002:c0a8:101::]/', // 6to4 of 127.0.0.1, 192.168.1.1
    'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', // Teredo, client 127.0.0.1 (inverted in the last 32 bits)
    'http://[2001::1]/', 'http://[2001:db8::1]/', 'http://[100::1]/', // Teredo, documentation, discard-only
    'http://[fec0::1]/', 'http://[fefe::1]/', // site-local fec0::/10
    'http://[fc00::1]/', 'http://[fd12::1]/', 'http://[fe80::1]/', 'http://[ff02::1]/',
    'http://localhost/', 'http://db.internal/',
  ])('refuses %s', (url) => {
    expect(urlProblem(url, false)).toBe('must not point at this machine or a private network')
    expect(urlProblem(url, true)).toBeNull()
  })

  it.each(['https://93.184.216.34/', 'http://198.20.0.1/', 'http://192.0.1.1/', 'http://[2606:4700::1111]/', 'http://[64:ff9b::808:808]/', 'http://[2002:808:808::1]/', 'http://[2001:4860:4860::8888]/', 'http://[100:0:0:1::1]/', 'http://[::ffff:8.8.8.8]/', 'https://hooks.example.com/in'])(
    'accepts %s',
    (url) => expect(urlProblem(url, false)).toBeNull(),
  )
})
