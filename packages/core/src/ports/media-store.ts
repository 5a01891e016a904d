/**
 * The bytes of a file: whole, or a stream of chunks (a Node `Readable`, a web `ReadableStream`
 * and an async generator are all async iterables of chunks).
 */
export type MediaBody = Uint8Array | AsyncIterable<Uint8Array>

/** What `MediaStore.put` is told about a file besides its bytes. */
export interface MediaPutOptions {
  /** The file's media type, e.g. `image/webp`: to be served back with it (`Content-Type`). */
  contentType: string
}

/** What `MediaStore.put` answers: where the file now lives. */
export interface StoredMedia {
  /** The key it was stored under: the one it was given. */
  key: string
  /** Where the host serves it, when the store knows at once (as `url(key)` would answer). */
  url?: string
  /** Its size in bytes, as written. */
  size: number
}

/**
 * Where media files live: a directory, a bucket. The engine keeps only references (a row in
 * `cw_media` with the key); the host serves the files. Core's default for an embedded shop is
 * {@link fileSystemMedia}; an object-storage adapter (S3, R2, GCS) implements the same four
 * methods. The contract, which `docs/media.md` spells out for adapter authors:
 *
 * - **Keys are the engine's.** The engine derives every key from ids it made
 *   (`products/<productId>/<mediaId>.<ext>`), never from a file name or any other user text. A key
 *   is one to 512 characters of `/`-separated segments, each starting with a letter or digit and
 *   made of letters, digits, `.`, `_` and `-` ({@link isMediaKey}): no `..` segment, no leading `/`,
 *   no backslash, no NUL. A store must still refuse any other key (a host may route a request's
 *   path to `get`) with a `VALIDATION` {@link CommerceError} naming `key`, before touching storage.
 * - **`put` is atomic and replaces.** A reader sees the previous file or the whole new one, never
 *   a part (write to a temporary name and rename; object stores are atomic per object). A body
 *   that fails midway leaves the previous file (or none) and no stray object under the key.
 * - **`get` answers `null`** for a key with no file, and the bytes or a stream of them otherwise.
 * - **`delete` is idempotent**: deleting a missing key succeeds.
 * - **`url` is pure**: computed from the key alone (a public base URL, a CDN, a path the host
 *   routes), without a network call, so listing media never waits on the store. A store that needs
 *   signed URLs signs them in the host's route instead.
 * - Failures of the backing storage are thrown as `PROVIDER` {@link CommerceError}s with the
 *   original error as `cause`.
 *
 * @example
 * ```ts
 * // A store in memory, for tests: the whole contract in a few lines.
 * function memoryMedia(): MediaStore {
 *   const files = new Map<string, { bytes: Uint8Array; contentType: string }>()
 *   const check = (key: string) => {
 *     if (!isMediaKey(key)) throw new CommerceError('VALIDATION', `Invalid key: ${JSON.stringify(key)}`, { details: { fields: ['key'] } })
 *   }
 *   return {
 *     id: 'memory',
 *     async put(key, body, { contentType }) {
 *       check(key)
 *       const chunks: Uint8Array[] = []
 *       if (body instanceof Uint8Array) chunks.push(body)
 *       else for await (const chunk of body) chunks.push(chunk)
 *       const bytes = Buffer.concat(chunks)
 *       files.set(key, { bytes, contentType })
 *       return { key, size: bytes.length, url: `/media/${key}` }
 *     },
 *     async get(key) {
 *       check(key)
 *       return files.get(key)?.bytes ?? null
 *     },
 *     async delete(key) {
 *       check(key)
 *       files.delete(key)
 *     },
 *     url: (key) => `/media/${key}`,
 *   }
 * }
 * ```
 */
export interface MediaStore {
  /** Names the store in errors and logs. */
  readonly id: string
  /** Stores `body` under `key`, replacing any file there, atomically. */
  put(key: string, body: MediaBody, options: MediaPutOptions): Promise<StoredMedia>
  /** The file under `key`, or null when there is none. */
  get(key: string): Promise<MediaBody | null>
  /** Removes the file under `key`; a missing file is not an error. */
  delete(key: string): Promise<void>
  /** Where the host serves the file under `key` (an absolute URL or a path), computed from the key alone. */
  url(key: string): string
}

/** Longest key a store is given. */
export const MAX_MEDIA_KEY_LENGTH = 512

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * True for a key of the shape the engine makes (see {@link MediaStore}): `/`-separated segments of
 * letters, digits, `.`, `_` and `-`, each starting with a letter or digit, at most 512 characters
 * in all. So never `..`, a leading or doubled `/`, a backslash, a NUL or any other control
 * character. Stores call it on every key before touching storage.
 *
 * @example
 * ```ts
 * isMediaKey('products/prod_1/med_1.webp') // true
 * isMediaKey('../etc/passwd') // false
 * ```
 */
export function isMediaKey(key: unknown): key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_MEDIA_KEY_LENGTH) return false
  // Named on their own so that a reader (and a test) sees each refusal; the pattern refuses them too.
  if (key.includes('\u0000') || key.includes('\\') || key.startsWith('/')) return false
  return key.split('/').every((segment) => segment !== '..' && SEGMENT.test(segment))
}
