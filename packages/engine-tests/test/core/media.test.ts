import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { fileSystemMedia, isCommerceError, type Commerce, type MediaBody, type MediaStore, type Product } from '@cartwright/core'
import { failure, gate, GUARDED_STORAGES, openShop, type Shop, type StorageKind } from '../support/index.js'

/**
 * Images of products and variants: the catalog keeps references (`cw_media`), files live in the
 * `MediaStore` (here the file-system adapter on a real temporary directory). The red variant lists
 * its own pictures first; bad input is a typed error that leaves the rows and the files as they were.
 */

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 5, 6, 7, 8])
const WEBP = Uint8Array.from([...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WEBP'), 9, 9])

const dirs: string[] = []
function directory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cw-media-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** Every file under `dir`, as paths relative to it. */
function files(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ isFile(): boolean; parentPath?: string; path?: string; name: string }>)
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path ?? '', e.name).slice(dir.length + 1))
    .sort()
}

async function bytesOf(body: MediaBody | null): Promise<Buffer | null> {
  if (body === null) return null
  if (body instanceof Uint8Array) return Buffer.from(body)
  const chunks: Uint8Array[] = []
  for await (const chunk of body) chunks.push(chunk)
  return Buffer.concat(chunks)
}

interface MediaShop extends Shop {
  dir: string
  boot: Product
  red: string
  blue: string
  /** The rows of cw_media, the outbox's media events and the files: what bad input must leave alone. */
  state(): Promise<unknown>
}

function shops(storage: StorageKind) {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })
  return async (): Promise<MediaShop> => {
    const dir = directory()
    const shop = await openShop({ storage, media: fileSystemMedia({ directory: dir, baseUrl: 'https://shop.example/media/' }) })
    open.push(shop)
    const boot = await shop.commerce.catalog.createProduct({
      title: 'Canvas Boot',
      options: [{ name: 'Color', values: ['Red', 'Blue'] }],
      variants: [
        { sku: 'CB-RED', options: { Color: 'Red' }, prices: [{ currency: 'USD', amount: 9900 }] },
        { sku: 'CB-BLU', options: { Color: 'Blue' }, prices: [{ currency: 'USD', amount: 9900 }] },
      ],
    })
    const db = shop.commerce.db
    return Object.assign(shop, {
      dir,
      boot,
      red: boot.variants[0]!.id,
      blue: boot.variants[1]!.id,
      async state() {
        return {
          media: await db.selectFrom('cw_media').selectAll().orderBy('id').execute(),
          events: (await db.selectFrom('cw_outbox').select(['type', 'payload']).where('type', 'like', 'media.%').orderBy('id').execute()).length,
          files: files(dir).map((f) => [f, readFileSync(join(dir, f)).toString('hex')]),
        }
      },
    })
  }
}

describe.each(GUARDED_STORAGES)('commerce.media, on %s', (storage) => {
  const open = shops(storage)

  it('lists the red variant\'s own images first, then the product\'s, and the blue variant only the product\'s', async () => {
    const s = await open()
    const { media } = s.commerce
    const front = await media.add(s.boot.id, { url: 'https://cdn.example.com/boot-front.jpg', alt: 'Canvas Boot, front', width: 1600, height: 1200 })
    const side = await media.add(s.boot.handle, { file: { bytes: PNG, contentType: 'image/png' }, alt: 'Canvas Boot, side' })
    const redSide = await media.add(s.boot.id, { variantId: s.red, file: { bytes: WEBP, contentType: 'image/webp' }, alt: 'In red, side' })
    // Placed first in the product's order, but still among the red variant's own.
    const redFront = await media.add(s.boot.id, { variantId: s.red, url: 'http://cdn.example.com/red-front.jpg', position: 0 })

    const ids = (list: Array<{ id: string }>) => list.map((m) => m.id)
    expect(ids(await media.list(s.boot.id, { variantId: s.red }))).toEqual([redFront.id, redSide.id, front.id, side.id])
    expect(ids(await media.list(s.boot.handle, { variantId: s.blue }))).toEqual([front.id, side.id])
    const all = await media.list(s.boot.id)
    expect(ids(all)).toEqual([redFront.id, front.id, side.id, redSide.id])
    expect(all.map((m) => m.position)).toEqual([0, 1, 2, 3])
    // The catalog's product carries them too, in the same order, with the store's URLs.
    expect((await s.commerce.catalog.getProduct(s.boot.handle)).media).toEqual(all)
    expect((await s.commerce.catalog.listProducts()).items.find((p) => p.id === s.boot.id)?.media).toEqual(all)

    // A stored file: under a key made from ids, served at the store's URL; an external one by its URL.
    expect(side).toMatchObject({ productId: s.boot.id, variantId: null, contentType: 'image/png', size: PNG.length, alt: 'Canvas Boot, side' })
    expect(side.key).toBe(`products/${s.boot.id}/${side.id}.png`)
    expect(side.url).toBe(`https://shop.example/media/products/${s.boot.id}/${side.id}.png`)
    expect(readFileSync(join(s.dir, 'products', s.boot.id, `${side.id}.png`))).toEqual(Buffer.from(PNG))
    expect(front).toMatchObject({ key: null, url: 'https://cdn.example.com/boot-front.jpg', width: 1600, height: 1200 })
    expect(files(s.dir)).toEqual([`products/${s.boot.id}/${redSide.id}.webp`, `products/${s.boot.id}/${side.id}.png`].sort())

    const rows = await s.commerce.db.selectFrom('cw_media').select(['id', 'variant_id', 'position', 'storage_key', 'url']).orderBy('position').execute()
    expect(rows).toEqual([
      { id: redFront.id, variant_id: s.red, position: 0, storage_key: null, url: 'http://cdn.example.com/red-front.jpg' },
      { id: front.id, variant_id: null, position: 1, storage_key: null, url: 'https://cdn.example.com/boot-front.jpg' },
      { id: side.id, variant_id: null, position: 2, storage_key: side.key, url: null },
      { id: redSide.id, variant_id: s.red, position: 3, storage_key: redSide.key, url: null },
    ])
    const events = await s.commerce.db.selectFrom('cw_outbox').select(['type', 'payload']).where('type', 'like', 'media.%').execute()
    expect(events.map((e) => JSON.parse(e.payload)).sort((a, b) => (a.mediaId < b.mediaId ? -1 : 1))).toEqual(
      [front, side, redSide, redFront].map((m) => ({ mediaId: m.id, productId: s.boot.id, variantId: m.variantId })).sort((a, b) => (a.mediaId < b.mediaId ? -1 : 1)),
    )
    expect(events.every((e) => e.type === 'media.added')).toBe(true)
  })

  it('reorders a product\'s images, updates alt text, and removes an image with its stored file', async () => {
    const s = await open()
    const { media } = s.commerce
    const a = await media.add(s.boot.id, { file: { bytes: JPEG, contentType: 'image/jpeg' } })
    const b = await media.add(s.boot.id, { variantId: s.red, url: 'https://cdn.example.com/b.jpg' })
    const c = await media.add(s.boot.id, { url: 'https://cdn.example.com/c.jpg' })

    expect((await media.reorder(s.boot.id, [c.id, a.id, b.id])).map((m) => [m.id, m.position])).toEqual([
      [c.id, 0],
      [a.id, 1],
      [b.id, 2],
    ])
    expect(await media.update(a.id, { alt: '  Canvas Boot, top  ' })).toMatchObject({ id: a.id, alt: 'Canvas Boot, top', position: 1 })
    expect(await media.update(a.id, { alt: null, width: 800 })).toMatchObject({ alt: null, width: 800 })

    expect(existsSync(join(s.dir, a.key!))).toBe(true)
    await media.remove(a.id)
    expect(existsSync(join(s.dir, a.key!))).toBe(false)
    expect(files(s.dir)).toEqual([])
    expect((await media.list(s.boot.id)).map((m) => [m.id, m.position])).toEqual([
      [c.id, 0],
      [b.id, 1],
    ])
    const removed = await s.commerce.db.selectFrom('cw_outbox').select('payload').where('type', '=', 'media.removed').execute()
    expect(removed.map((e) => JSON.parse(e.payload))).toEqual([{ mediaId: a.id, productId: s.boot.id, variantId: null }])
    // An external image goes without touching the store.
    await media.remove(b.id)
    expect((await media.list(s.boot.id)).map((m) => m.id)).toEqual([c.id])
    await failure(media.remove(a.id), 'NOT_FOUND')
  })

  it('refuses bad input with VALIDATION naming the field, leaving the rows, the outbox and the files unchanged', async () => {
    const s = await open()
    const { media } = s.commerce
    const kept = await media.add(s.boot.id, { file: { bytes: PNG, contentType: 'image/png' }, alt: 'kept' })
    const other = await s.commerce.catalog.createProduct({ title: 'Other', variants: [{ sku: 'OTHER-1' }] })
    const before = await s.state()

    const tooBig = new Uint8Array(20 * 1024 * 1024 + 1)
    tooBig.set(PNG)
    const html = Buffer.from('<html><script>alert(1)</script></html>')
    const cases: Array<[string, unknown, string]> = [
      ['a javascript: URL', { url: 'javascript:alert(1)' }, 'url'],
      ['an ftp URL', { url: 'ftp://cdn.example.com/a.jpg' }, 'url'],
      ['a URL with credentials', { url: 'https://user:secret@cdn.example.com/a.jpg' }, 'url'],
      ['an over-long URL', { url: `https://cdn.example.com/${'a'.repeat(2100)}` }, 'url'],
      ['neither a file nor a URL', { alt: 'nothing' }, 'file'],
      ['both a file and a URL', { url: 'https://cdn.example.com/a.jpg', file: { bytes: PNG, contentType: 'image/png' } }, 'url'],
      ['bytes that are not of their type', { file: { bytes: html, contentType: 'image/png' } }, 'file.bytes'],
      ['an SVG', { file: { bytes: Buffer.from('<svg/>'), contentType: 'image/svg+xml' } }, 'file.contentType'],
      ['an empty file', { file: { bytes: new Uint8Array(0), contentType: 'image/png' } }, 'file.bytes'],
      ['a file over 20 MiB', { file: { bytes: tooBig, contentType: 'image/png' } }, 'file.bytes'],
      ['bytes given as text', { file: { bytes: 'iVBORw0KGgo=', contentType: 'image/png' } }, 'file.bytes'],
      ['a width of 0', { url: 'https://cdn.example.com/a.jpg', width: 0 }, 'width'],
      ['a height over 20 000', { url: 'https://cdn.example.com/a.jpg', height: 20_001 }, 'height'],
      ['a fractional width', { url: 'https://cdn.example.com/a.jpg', width: 10.5 }, 'width'],
      ['alt text over 512 characters', { url: 'https://cdn.example.com/a.jpg', alt: 'a'.repeat(513) }, 'alt'],
      ['alt text with a NUL', { url: 'https://cdn.example.com/a.jpg', alt: 'a\u0000b' }, 'alt'],
      ['a negative position', { url: 'https://cdn.example.com/a.jpg', position: -1 }, 'position'],
      ['a variant of another product', { url: 'https://cdn.example.com/a.jpg', variantId: other.variants[0]!.id }, 'variantId'],
      ['an unknown variant', { url: 'https://cdn.example.com/a.jpg', variantId: 'var_00000000000000000000000000' }, 'variantId'],
      ['a field that is not one', { url: 'https://cdn.example.com/a.jpg', key: '../../etc/passwd' }, 'key'],
    ]
    for (const [what, input, field] of cases) {
      const error = await failure(media.add(s.boot.id, input as never), 'VALIDATION', what)
      expect(error.details.fields, what).toContain(field)
    }
    expect((await failure(media.add('', { url: 'https://cdn.example.com/a.jpg' }), 'VALIDATION')).details.fields).toContain('productId')
    expect((await failure(media.update(kept.id, { alt: 'a'.repeat(513) }), 'VALIDATION')).details.fields).toContain('alt')
    expect((await failure(media.update(kept.id, { width: -5 }), 'VALIDATION')).details.fields).toContain('width')
    expect((await failure(media.update(kept.id, { key: 'x' } as never), 'VALIDATION')).details.fields).toContain('key')
    expect((await failure(media.reorder(s.boot.id, []), 'VALIDATION')).details.fields).toContain('mediaIds')
    expect((await failure(media.reorder(s.boot.id, [kept.id, kept.id]), 'VALIDATION')).details.fields).toContain('mediaIds')
    expect((await failure(media.reorder(s.boot.id, ['media_00000000000000000000000000']), 'VALIDATION')).details.fields).toContain('mediaIds')
    expect((await failure(media.list(s.boot.id, { variantId: other.variants[0]!.id }), 'VALIDATION')).details.fields).toContain('variantId')
    await failure(media.add('no-such-product', { url: 'https://cdn.example.com/a.jpg' }), 'NOT_FOUND')
    await failure(media.update('media_00000000000000000000000000', { alt: 'x' }), 'NOT_FOUND')
    await failure(media.list('no-such-product'), 'NOT_FOUND')

    expect(await s.state()).toEqual(before)
  })

  it('deletes the file it stored when the reference cannot be written', async () => {
    const s = await open()
    const { media } = s.commerce
    for (let i = 0; i < 250; i++) await media.add(s.boot.id, { url: `https://cdn.example.com/${i}.jpg` })
    const before = await s.state()
    await failure(media.add(s.boot.id, { file: { bytes: PNG, contentType: 'image/png' } }), 'INVALID_STATE')
    expect(await s.state()).toEqual(before)
    expect(files(s.dir)).toEqual([])
  })
})

describe('commerce.media without a MediaStore', () => {
  let commerce: Commerce | undefined
  afterEach(async () => {
    await commerce?.close()
    commerce = undefined
  })

  it('keeps images by URL, and refuses a file with CONFIGURATION, storing nothing', async () => {
    const shop = await openShop({ storage: 'sqlite-memory' })
    commerce = shop.commerce
    const image = await commerce.media.add(shop.shoe.id, { url: 'https://cdn.example.com/tr.jpg', alt: 'Trail Runner' })
    expect(image).toMatchObject({ url: 'https://cdn.example.com/tr.jpg', key: null })
    const error = await failure(commerce.media.add(shop.shoe.id, { file: { bytes: PNG, contentType: 'image/png' } }), 'CONFIGURATION')
    expect(error.details.fields).toEqual(['file'])
    expect(await commerce.db.selectFrom('cw_media').select('id').execute()).toEqual([{ id: image.id }])
  })

  it('refuses a media option that is not a MediaStore at createCommerce', async () => {
    await expect(openShop({ storage: 'sqlite-memory', media: { put: () => undefined } as unknown as MediaStore })).rejects.toMatchObject({ code: 'CONFIGURATION' })
  })
})

describe('fileSystemMedia', () => {
  const store = () => {
    const dir = directory()
    // The store's directory is one level down, so that a key escaping it lands in a directory the test watches.
    return { dir, root: join(dir, 'media'), media: fileSystemMedia({ directory: join(dir, 'media'), baseUrl: '/media' }) }
  }

  it('refuses keys that would reach outside its directory (.., a leading /, backslashes, NUL), touching no file', async () => {
    const { dir, media } = store()
    const keys = ['../outside.png', 'products/../../outside.png', '..', '/outside.png', 'products\\..\\..\\outside.png', 'outside.png\u0000.jpg', '', 'a//b.png', './a.png', '.hidden', 'a'.repeat(513)]
    for (const key of keys) {
      for (const call of [() => media.put(key, PNG, { contentType: 'image/png' }), () => media.get(key), () => media.delete(key), async () => media.url(key)]) {
        const error = await failure(call(), 'VALIDATION', JSON.stringify(key))
        expect(error.details.fields).toEqual(['key'])
      }
    }
    expect(files(dir)).toEqual([])
    expect(existsSync(join(dir, 'outside.png'))).toBe(false)
  })

  it('stores, reads, serves and deletes under a key; a missing key reads null and deletes without error', async () => {
    const { root, media } = store()
    expect(await media.put('products/prod_1/media_1.png', PNG, { contentType: 'image/png' })).toEqual({ key: 'products/prod_1/media_1.png', size: PNG.length, url: '/media/products/prod_1/media_1.png' })
    expect(readFileSync(join(root, 'products', 'prod_1', 'media_1.png'))).toEqual(Buffer.from(PNG))
    expect(await bytesOf(await media.get('products/prod_1/media_1.png'))).toEqual(Buffer.from(PNG))
    expect(media.url('products/prod_1/media_1.png')).toBe('/media/products/prod_1/media_1.png')
    await media.delete('products/prod_1/media_1.png')
    expect(await media.get('products/prod_1/media_1.png')).toBeNull()
    await media.delete('products/prod_1/media_1.png')
    expect(() => fileSystemMedia({ directory: root, baseUrl: 'javascript:alert(1)' })).toThrow(/baseUrl/)
  })

  it('writes atomically: while a new file is written readers see the old one whole, and a body that fails midway leaves the old file and no temporary one', async () => {
    const { root, media } = store()
    const key = 'products/prod_1/media_1.jpg'
    await media.put(key, JPEG, { contentType: 'image/jpeg' })

    const halfway = gate()
    const resume = gate()
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Uint8Array.from([0xff, 0xd8, 0xff, 0x01])
      halfway.open()
      await resume.promise
      throw new Error('the upload was cut off')
    }
    const writing = media.put(key, failing(), { contentType: 'image/jpeg' })
    await halfway.promise
    // Half of the new file is written, under another name.
    expect(await bytesOf(await media.get(key))).toEqual(Buffer.from(JPEG))
    expect(files(root).filter((f) => f !== key)).toHaveLength(1)
    resume.open()
    const error = await failure(writing, 'PROVIDER')
    expect(error.message).toMatch(/cut off/)
    expect(await bytesOf(await media.get(key))).toEqual(Buffer.from(JPEG))
    expect(files(root)).toEqual([key])

    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield PNG.subarray(0, 4)
      yield PNG.subarray(4)
    }
    expect(await media.put(key, chunks(), { contentType: 'image/png' })).toMatchObject({ size: PNG.length })
    expect(await bytesOf(await media.get(key))).toEqual(Buffer.from(PNG))
    expect(files(root)).toEqual([key])
    expect(isCommerceError(error)).toBe(true)
  })
})
