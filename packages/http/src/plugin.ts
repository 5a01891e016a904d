import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import { z } from 'zod'
import { CommerceError, definePlugin, notFound, validationError, type PluginContext } from '@cartwright/core'
import { adminAuthEndpoints } from './admin-auth.js'

/** The tables this plugin owns (`http_*`). */
export interface HttpTables {
  http_rate_limits: { endpoint: string; client: string; window_start: number; count: number; expires_at: number }
  http_staff: { id: string; email: string; name: string; active: number; created_at: string; updated_at: string }
  http_api_keys: {
    id: string
    staff_id: string
    name: string
    scopes: string
    secret_hash: string
    created_at: string
    last_used_at: string | null
    revoked_at: string | null
  }
}

/** A member of staff: whom API keys belong to. */
export interface Staff {
  id: string
  email: string
  name: string
  /** An inactive member's keys are refused. */
  active: boolean
  createdAt: string
  updatedAt: string
}

/** An API key as listed: never its secret, which `apiKeys.create` returns once. */
export interface ApiKey {
  id: string
  staffId: string
  name: string
  scopes: string[]
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
}

/** What a valid API key lets its holder do. */
export interface ApiKeyGrant {
  keyId: string
  staffId: string
  scopes: string[]
}

/** The outcome of counting one request against a limit. */
export interface RateLimitHit {
  allowed: boolean
  /** Requests counted in this window, this one included. */
  count: number
  /** Seconds until the window ends (for `Retry-After`). */
  retryAfterSeconds: number
}

/**
 * A scope: `*`, `<resource>:*`, `<resource>:read` or `<resource>:write`, where a resource is the
 * first segment of an Admin path (`orders`, `api-keys`).
 */
export const scopeSchema = z.string().regex(/^(\*|[a-z0-9][a-z0-9-]{0,63}:(\*|read|write))$/, 'a scope is *, <resource>:*, <resource>:read or <resource>:write')

const staffInputSchema = z.strictObject({ email: z.string().trim().toLowerCase().email().max(320), name: z.string().trim().min(1).max(200) })
const staffUpdateSchema = z.strictObject({ name: z.string().trim().min(1).max(200).optional(), active: z.boolean().optional() })
const keyInputSchema = z.strictObject({ staffId: z.string().min(1).max(64), name: z.string().trim().min(1).max(200), scopes: z.array(scopeSchema).min(1).max(100) })
const hitSchema = z.strictObject({
  endpoint: z.string().min(1).max(300),
  client: z.string().min(1).max(300),
  windowMs: z.number().int().min(1000).max(86_400_000),
  max: z.number().int().min(1).max(1_000_000),
})

/** Input of `http.staff.create`. */
export type CreateStaffInput = z.input<typeof staffInputSchema>
/** Input of `http.staff.update`. */
export type UpdateStaffInput = z.input<typeof staffUpdateSchema>
/** Input of `http.apiKeys.create`. */
export type CreateApiKeyInput = z.input<typeof keyInputSchema>
/** Input of `http.rateLimits.hit`. */
export type RateLimitInput = z.input<typeof hitSchema>

/**
 * `commerce.http`: staff, their API keys and the rate-limit counters the HTTP layer keeps in
 * storage.
 */
export interface HttpService {
  staff: {
    /**
     * Adds a member of staff (emails are unique, compared in lower case).
     *
     * @example
     * ```ts
     * declare const commerce: { http: HttpService }
     * const ada = await commerce.http.staff.create({ email: 'ada@example.com', name: 'Ada' })
     * ```
     */
    create(input: CreateStaffInput): Promise<Staff>
    /**
     * One member of staff, or `NOT_FOUND`.
     *
     * @example
     * ```ts
     * declare const commerce: { http: HttpService }
     * const member = await commerce.http.staff.get('stf_1')
     * ```
     */
    get(id: string): Promise<Staff>
    /**
     * Renames or deactivates a member (an inactive member's keys stop working at once).
     *
     * @example
     * ```ts
     * declare const commerce: { http: HttpService }
     * await commerce.http.staff.update('stf_1', { active: false })
     * ```
     */
    update(id: string, input: UpdateStaffInput): Promise<Staff>
    /**
     * Every member of staff, by email.
     *
     * @example
     * ```ts
     * declare const commerce: { http: HttpService }
     * const everyone = await commerce.http.staff.list()
     * ```
     */
    list(): Promise<Staff[]>
  }
  apiKeys: {
    /**
     * A new key for a member of staff. The `secret` (`cwk_<id>.<random>`) is returned here only:
     * storage keeps its SHA-256.
     *
     * @example
     * ```ts
     * declare const commerce: { http: HttpService }
     * const { secret } = await commerce.http.apiKeys.create({ staffId: 'stf_1', name: 'ERP sync', scopes: ['orders:read', 'catalog:*'] })
     * // Authorization: Bearer ${secret}
     * ```
     */
    create(input: CreateApiKeyInput): Promise<{ apiKey: ApiKey; secret: string }>
    /**
     * Revokes a key; it is refused from then on. Revoking twice changes nothing.
     *
     * @example
     * ```ts
     * declare const commerce: { http: HttpService }
     * await commerce.http.apiKeys.revoke('key_1')
     * ```
     */
    revoke(id: string): Promise<ApiKey>
    /**
     * Keys, of one member or all, newest first; never a secret.
     *
     * @example
     * ```ts
     * declare const commerce: { http: HttpService }
     * const keys = await commerce.http.apiKeys.list({ staffId: 'stf_1' })
     * ```
     */
    list(filter?: { staffId?: string }): Promise<ApiKey[]>
    /**
     * What a presented secret grants, or `null` for a malformed, unknown or revoked key or an
     * inactive member. The hashes are compared in constant time.
     *
     * @example
     * ```ts
     * declare const commerce: { http: HttpService }
     * const grant = await commerce.http.apiKeys.verify('cwk_key_1.secret')
     * ```
     */
    verify(secret: string): Promise<ApiKeyGrant | null>
  }
  rateLimits: {
    /**
     * Counts one request of `client` to `endpoint` in the current fixed window, atomically in one
     * statement, so processes sharing the database share the limit.
     *
     * @example
     * ```ts
     * declare const commerce: { http: HttpService }
     * const hit = await commerce.http.rateLimits.hit({ endpoint: 'POST /account/login', client: '203.0.113.9', windowMs: 60_000, max: 10 })
     * if (!hit.allowed) console.log(`retry in ${hit.retryAfterSeconds}s`)
     * ```
     */
    hit(input: RateLimitInput): Promise<RateLimitHit>
  }
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')
const SECRET_PREFIX = 'cwk_'

function parseInput<S extends z.ZodType>(schema: S, value: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw validationError(subject, result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })))
}

const staffOf = (row: HttpTables['http_staff']): Staff => ({
  id: row.id,
  email: row.email,
  name: row.name,
  active: Number(row.active) === 1,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
})
const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString())
const keyOf = (row: HttpTables['http_api_keys']): ApiKey => ({
  id: row.id,
  staffId: row.staff_id,
  name: row.name,
  scopes: JSON.parse(row.scopes) as string[],
  createdAt: new Date(row.created_at).toISOString(),
  lastUsedAt: iso(row.last_used_at),
  revokedAt: iso(row.revoked_at),
})

/** How often one process removes ended rate-limit windows, at most. */
const SWEEP_INTERVAL_MS = 60_000

function service(ctx: PluginContext<HttpTables>): HttpService {
  /** When this process last removed ended rate-limit windows (engine clock, ms). */
  let sweptAt = Number.NEGATIVE_INFINITY
  const db: Kysely<HttpTables> = ctx.db
  const getStaff = async (id: string) => {
    const row = await db.selectFrom('http_staff').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw notFound('Staff', id)
    return row
  }
  return {
    staff: {
      async create(input) {
        const data = parseInput(staffInputSchema, input, 'staff member')
        const now = ctx.now().toISOString()
        const row = { id: ctx.newId('stf'), email: data.email, name: data.name, active: 1, created_at: now, updated_at: now }
        const taken = await db.selectFrom('http_staff').select('id').where('email', '=', data.email).executeTakeFirst()
        if (taken) throw new CommerceError('CONFLICT', 'A member of staff has this email', { details: { field: 'email' } })
        try {
          await db.insertInto('http_staff').values(row).execute()
        } catch (error) {
          // Two creates racing past the check: the unique index decides.
          if (await db.selectFrom('http_staff').select('id').where('email', '=', data.email).executeTakeFirst()) {
            throw new CommerceError('CONFLICT', 'A member of staff has this email', { details: { field: 'email' }, cause: error })
          }
          throw error
        }
        return staffOf(row)
      },
      async get(id) {
        return staffOf(await getStaff(String(id)))
      },
      async update(id, input) {
        const data = parseInput(staffUpdateSchema, input, 'staff update')
        await getStaff(String(id))
        await db
          .updateTable('http_staff')
          .set({
            ...(data.name !== undefined ? { name: data.name } : {}),
            ...(data.active !== undefined ? { active: data.active ? 1 : 0 } : {}),
            updated_at: ctx.now().toISOString(),
          })
          .where('id', '=', String(id))
          .execute()
        return staffOf(await getStaff(String(id)))
      },
      async list() {
        return (await db.selectFrom('http_staff').selectAll().orderBy('email').execute()).map(staffOf)
      },
    },
    apiKeys: {
      async create(input) {
        const data = parseInput(keyInputSchema, input, 'API key')
        const member = await getStaff(data.staffId)
        if (Number(member.active) !== 1) throw new CommerceError('INVALID_STATE', 'This member of staff is inactive', { details: { field: 'staffId' } })
        const id = ctx.newId('key')
        const secret = `${SECRET_PREFIX}${id}.${randomBytes(32).toString('base64url')}`
        const row = {
          id,
          staff_id: member.id,
          name: data.name,
          scopes: JSON.stringify([...new Set(data.scopes)]),
          secret_hash: sha256(secret),
          created_at: ctx.now().toISOString(),
          last_used_at: null,
          revoked_at: null,
        }
        await db.insertInto('http_api_keys').values(row).execute()
        return { apiKey: keyOf(row), secret }
      },
      async revoke(id) {
        const keyId = String(id)
        await db.updateTable('http_api_keys').set({ revoked_at: ctx.now().toISOString() }).where('id', '=', keyId).where('revoked_at', 'is', null).execute()
        const row = await db.selectFrom('http_api_keys').selectAll().where('id', '=', keyId).executeTakeFirst()
        if (!row) throw notFound('ApiKey', keyId)
        return keyOf(row)
      },
      async list(filter = {}) {
        let query = db.selectFrom('http_api_keys').selectAll()
        if (filter.staffId !== undefined) query = query.where('staff_id', '=', String(filter.staffId))
        return (await query.orderBy('created_at', 'desc').orderBy('id', 'desc').execute()).map(keyOf)
      },
      async verify(secret) {
        if (typeof secret !== 'string' || secret.length > 200 || !secret.startsWith(SECRET_PREFIX)) return null
        const digest = sha256(secret)
        const dot = secret.lastIndexOf('.')
        const id = secret.slice(SECRET_PREFIX.length, dot)
        if (dot < 0 || !/^[A-Za-z0-9_-]{1,100}$/.test(id)) return null
        const row = await db
          .selectFrom('http_api_keys')
          .innerJoin('http_staff', 'http_staff.id', 'http_api_keys.staff_id')
          .select(['http_api_keys.id', 'http_api_keys.staff_id', 'http_api_keys.scopes', 'http_api_keys.secret_hash', 'http_api_keys.revoked_at', 'http_api_keys.last_used_at', 'http_staff.active'])
          .where('http_api_keys.id', '=', id)
          .executeTakeFirst()
        const a = Buffer.from(row?.secret_hash ?? '')
        const b = Buffer.from(digest)
        if (!row || a.length !== b.length || !timingSafeEqual(a, b) || row.revoked_at !== null || Number(row.active) !== 1) return null
        const now = ctx.now()
        // At most one write a minute per key: last use is for people, not for an audit trail.
        if (row.last_used_at === null || now.getTime() - new Date(row.last_used_at).getTime() > 60_000) {
          await db.updateTable('http_api_keys').set({ last_used_at: now.toISOString() }).where('id', '=', row.id).execute()
        }
        return { keyId: row.id, staffId: row.staff_id, scopes: JSON.parse(row.scopes) as string[] }
      },
    },
    rateLimits: {
      async hit(input) {
        const data = parseInput(hitSchema, input, 'rate limit')
        const now = ctx.now().getTime()
        const windowStart = Math.floor(now / data.windowMs) * data.windowMs
        const expiresAt = windowStart + data.windowMs
        const row = await db
          .insertInto('http_rate_limits')
          .values({ endpoint: data.endpoint, client: data.client, window_start: windowStart, count: 1, expires_at: expiresAt })
          .onConflict((oc) => oc.columns(['endpoint', 'client', 'window_start']).doUpdateSet({ count: sql<number>`http_rate_limits.count + 1` }))
          .returning('count')
          .executeTakeFirstOrThrow()
        const count = Number(row.count)
        // Old windows go lazily: when a client opens a new one, every ended window is removed, at most
        // once a minute per process (a busy shop opens a window with nearly every shopper).
        if (count === 1 && now - sweptAt >= SWEEP_INTERVAL_MS) {
          sweptAt = now
          await db.deleteFrom('http_rate_limits').where('expires_at', '<=', now).execute()
        }
        return { allowed: count <= data.max, count, retryAfterSeconds: Math.max(1, Math.ceil((expiresAt - now) / 1000)) }
      },
    },
  }
}

/**
 * The HTTP layer's plugin: its tables (`http_rate_limits`, `http_staff`, `http_api_keys`), the
 * Admin routes that manage staff and keys, and `commerce.http` ({@link HttpService}). Add it to
 * `createCommerce` when the Store API has rate-limited routes, and always for the Admin API.
 *
 * @example
 * ```ts
 * import { createCommerce } from '@cartwright/core'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 *
 * const commerce = await createCommerce({ storage: sqliteStorage({ filename: 'shop.db' }), plugins: [http()] })
 * const owner = await commerce.http.staff.create({ email: 'owner@example.com', name: 'Owner' })
 * const { secret } = await commerce.http.apiKeys.create({ staffId: owner.id, name: 'bootstrap', scopes: ['*'] })
 * ```
 */
export function http() {
  return definePlugin({
    id: 'http',
    endpoints: adminAuthEndpoints,
    migrations: {
      '0001_http': {
        async up(db, { types }) {
          await db.schema
            .createTable('http_rate_limits')
            .addColumn('endpoint', 'text', (c) => c.notNull())
            .addColumn('client', 'text', (c) => c.notNull())
            .addColumn('window_start', 'bigint', (c) => c.notNull())
            .addColumn('count', 'integer', (c) => c.notNull())
            .addColumn('expires_at', 'bigint', (c) => c.notNull())
            .addPrimaryKeyConstraint('http_rate_limits_pk', ['endpoint', 'client', 'window_start'])
            .execute()
          await db.schema.createIndex('http_rate_limits_expiry').on('http_rate_limits').column('expires_at').execute()
          await db.schema
            .createTable('http_staff')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('email', 'text', (c) => c.notNull().unique())
            .addColumn('name', 'text', (c) => c.notNull())
            .addColumn('active', 'integer', (c) => c.notNull().check(sql`active in (0, 1)`))
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .addColumn('updated_at', types.timestamp, (c) => c.notNull())
            .execute()
          await db.schema
            .createTable('http_api_keys')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('staff_id', 'text', (c) => c.notNull().references('http_staff.id'))
            .addColumn('name', 'text', (c) => c.notNull())
            .addColumn('scopes', 'text', (c) => c.notNull())
            .addColumn('secret_hash', 'text', (c) => c.notNull())
            .addColumn('created_at', types.timestamp, (c) => c.notNull())
            .addColumn('last_used_at', types.timestamp)
            .addColumn('revoked_at', types.timestamp)
            .execute()
          await db.schema.createIndex('http_api_keys_staff').on('http_api_keys').columns(['staff_id', 'created_at']).execute()
        },
      },
    },
    init(ctx: PluginContext<HttpTables>): HttpService {
      return service(ctx)
    },
  })
}
