import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm, unlink } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import { CommerceError, isCommerceError } from '../errors.js'
import { isMediaKey, type MediaBody, type MediaStore } from '../ports/media-store.js'
import { parseOptions } from '../validation.js'

const optionsSchema = z.strictObject({
  id: z.string().min(1).max(64).default('file-system'),
  /** The directory files are written under (made when missing). */
  directory: z.string().min(1),
  /** Where the host serves that directory: `https://shop.example/media` or `/media`. */
  baseUrl: z
    .string()
    .min(1)
    .max(2048)
    .refine((url) => url.startsWith('/') || /^https?:\/\/[^/]/i.test(url), 'an http(s) URL or a path starting with /'),
})

/** Options of {@link fileSystemMedia}. */
export type FileSystemMediaOptions = z.input<typeof optionsSchema>

function refuseKey(key: unknown): never {
  throw new CommerceError(
    'VALIDATION',
    `Invalid key: ${JSON.stringify(String(key)).slice(0, 200)} is not a media key (segments of letters, digits, ".", "_" and "-", separated by "/"; no "..", leading "/", backslash or NUL)`,
    { details: { issues: [{ path: 'key', message: 'is not a media key' }], fields: ['key'] } },
  )
}

/**
 * A {@link MediaStore} on a local directory, the embedded default: the host serves the directory
 * at `baseUrl` (a static route). Keys are checked before any file is touched ({@link isMediaKey}:
 * no `..`, leading `/`, backslash or NUL), so no key reaches outside the directory. A `put` writes
 * a temporary file next to the target (a name no key can have: it starts with `.`), flushes it and
 * renames it over the target, so a reader sees the old file or the whole new one; a body that fails
 * midway leaves the old file and no temporary one.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({
 *   storage: sqliteStorage({ filename: 'shop.db' }),
 *   media: fileSystemMedia({ directory: './public/media', baseUrl: '/media' }),
 * })
 * ```
 */
export function fileSystemMedia(options: FileSystemMediaOptions): MediaStore {
  const config = parseOptions(optionsSchema, options, 'cartwright:file-system-media')
  const root = resolve(config.directory)
  const base = config.baseUrl.replace(/\/+$/, '')
  const pathOf = (key: string): string => {
    if (!isMediaKey(key)) refuseKey(key)
    return join(root, ...key.split('/'))
  }
  const failed = (action: string, key: string, error: unknown): CommerceError =>
    isCommerceError(error)
      ? error
      : new CommerceError('PROVIDER', `[cartwright:file-system-media] could not ${action} ${key}: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
          details: { provider: config.id, key },
        })

  return {
    id: config.id,
    async put(key, body: MediaBody) {
      const target = pathOf(key)
      const dir = dirname(target)
      const temp = join(dir, `.${basename(target)}.${randomBytes(8).toString('hex')}.tmp`)
      let size = 0
      try {
        await mkdir(dir, { recursive: true })
        const file = await open(temp, 'wx')
        try {
          if (body instanceof Uint8Array) {
            await file.write(body)
            size = body.length
          } else {
            for await (const chunk of body) {
              await file.write(chunk)
              size += chunk.length
            }
          }
          await file.sync()
        } finally {
          await file.close()
        }
        await rename(temp, target)
      } catch (error) {
        await rm(temp, { force: true }).catch(() => undefined)
        throw failed('store', key, error)
      }
      return { key, size, url: `${base}/${key}` }
    },
    async get(key) {
      const path = pathOf(key)
      try {
        // Opened first, so a missing file is null here rather than an error in the reader's loop.
        const file = await open(path, 'r')
        return file.createReadStream() as AsyncIterable<Uint8Array>
      } catch (error) {
        if ((error as NodeJS.ErrnoException)?.code === 'ENOENT') return null
        throw failed('read', key, error)
      }
    },
    async delete(key) {
      const path = pathOf(key)
      try {
        await unlink(path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException)?.code !== 'ENOENT') throw failed('delete', key, error)
      }
    },
    url(key) {
      pathOf(key)
      return `${base}/${key}`
    },
  }
}
