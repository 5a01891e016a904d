import type { Hono } from 'hono'

/** Bytes of every HTML page any shopper was served, by path (the largest seen). */
export const pageSizes = new Map<string, number>()

/** A shopper with a cookie jar, calling the app in process as a browser with JavaScript off would. */
export function browserless(app: Hono) {
  const jar = new Map<string, string>()
  const send = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers)
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '))
    const response = await app.request(path, { ...init, headers })
    if (response.headers.get('content-type')?.startsWith('text/html')) {
      const bytes = (await response.clone().arrayBuffer()).byteLength
      const key = path.replace(/\/(order|var|cart)_[a-z0-9]+/g, '/:id').replace(/\?.*$/, '')
      pageSizes.set(`${init.method ?? 'GET'} ${key}`, Math.max(pageSizes.get(`${init.method ?? 'GET'} ${key}`) ?? 0, bytes))
    }
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const at = pair!.indexOf('=')
      const name = pair!.slice(0, at)
      const value = pair!.slice(at + 1)
      if (!value || /max-age=0/i.test(line)) jar.delete(name)
      else jar.set(name, value)
    }
    return response
  }
  return {
    jar,
    get: (path: string) => send(path),
    /** A form post (`application/x-www-form-urlencoded`), as a `<form method="post">` sends it. */
    post: (path: string, fields: Record<string, string | string[]>) => {
      const body = new URLSearchParams()
      for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) body.append(k, one)
      // A browser names the page's origin on every form post; app.request's is http://localhost.
      return send(path, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost' } })
    },
  }
}

/** The page's single `<h1>`'s text. */
export function h1(html: string): string {
  const all = [...html.matchAll(/<h1[^>]*>([\s\S]*?)<\/h1>/g)]
  if (all.length !== 1) throw new Error(`expected one h1, found ${all.length}`)
  return all[0]![1]!.replace(/<[^>]+>/g, '').trim()
}

/** The value of the `<dd>` after the `<dt>` named `term`, in cents. */
export function term(html: string, name: string): number {
  const match = new RegExp(`<dt[^>]*>${name}</dt><dd[^>]*>([^<]*)</dd>`).exec(html)
  if (!match) throw new Error(`no ${name} in the page`)
  const text = match[1]!
  const digits = text.replace(/[^\d]/g, '')
  return (/[-−]/.test(text) ? -1 : 1) * Number(digits)
}

/** The value of a named hidden or radio input. */
export function inputValue(html: string, name: string): string {
  const match = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html) ?? new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`).exec(html)
  if (!match) throw new Error(`no input ${name}`)
  return match[1]!
}
