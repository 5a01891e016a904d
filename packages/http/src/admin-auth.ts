import { z } from 'zod'
import { CommerceError, defineEndpoint, type Actor, type Endpoint } from '@cartwright/core'
import type { HttpService } from './plugin.js'
import { hasScope } from './scopes.js'

type Engine = { http: HttpService }
const engine = (commerce: unknown) => commerce as Engine

const staffSchema = z.object({ id: z.string(), email: z.string(), name: z.string(), active: z.boolean(), createdAt: z.string(), updatedAt: z.string() })
const apiKeySchema = z.object({
  id: z.string(),
  staffId: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
})
const id = z.string().min(1).max(64)

function scopesOf(actor: Actor): readonly string[] {
  return actor.kind === 'staff' ? actor.permissions : []
}

const listStaff = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/staff',
  summary: 'List staff members',
  access: 'staff',
  input: z.strictObject({}),
  output: z.object({ staff: z.array(staffSchema) }),
  handler: async ({ commerce }) => ({ staff: await engine(commerce).http.staff.list() }),
})

const createStaff = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/staff',
  summary: 'Add a staff member',
  access: 'staff',
  input: z.strictObject({ email: z.string().max(320), name: z.string().max(200) }),
  output: staffSchema,
  handler: ({ input, commerce }) => engine(commerce).http.staff.create(input),
})

const updateStaff = defineEndpoint({
  surface: 'admin',
  method: 'PATCH',
  path: '/staff/:staffId',
  summary: "Rename or deactivate a staff member (an inactive member's keys stop working)",
  access: 'staff',
  input: z.strictObject({ staffId: id, name: z.string().max(200).optional(), active: z.boolean().optional() }),
  output: staffSchema,
  handler: ({ input: { staffId, ...change }, commerce }) => engine(commerce).http.staff.update(staffId, change),
})

const listKeys = defineEndpoint({
  surface: 'admin',
  method: 'GET',
  path: '/api-keys',
  summary: 'List API keys (never their secrets)',
  access: 'staff',
  input: z.strictObject({ staffId: id.optional() }),
  output: z.object({ apiKeys: z.array(apiKeySchema) }),
  handler: async ({ input, commerce }) => ({ apiKeys: await engine(commerce).http.apiKeys.list(input) }),
})

const createKey = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/api-keys',
  summary: 'Create an API key: its secret is in this response only',
  description: 'A key can only hand out scopes its creator holds.',
  access: 'staff',
  input: z.strictObject({ staffId: id, name: z.string().max(200), scopes: z.array(z.string().max(80)).min(1).max(100) }),
  output: z.object({ apiKey: apiKeySchema, secret: z.string() }),
  handler: ({ input, actor, commerce }) => {
    const held = scopesOf(actor)
    const beyond = input.scopes.filter((scope) => !(scope === '*' ? held.includes('*') : scope.endsWith(':*') ? held.includes('*') || held.includes(scope) : hasScope(held, scope)))
    if (beyond.length > 0) {
      throw new CommerceError('VALIDATION', `A key cannot grant scopes its creator lacks: ${beyond.join(', ')}`, {
        details: { issues: [{ path: 'scopes', message: 'beyond the creating key' }], fields: ['scopes'], scopes: beyond },
      })
    }
    return engine(commerce).http.apiKeys.create(input)
  },
})

const revokeKey = defineEndpoint({
  surface: 'admin',
  method: 'POST',
  path: '/api-keys/:keyId/revoke',
  summary: 'Revoke an API key',
  access: 'staff',
  input: z.strictObject({ keyId: id }),
  output: apiKeySchema,
  handler: ({ input, commerce }) => engine(commerce).http.apiKeys.revoke(input.keyId),
})

/**
 * The Admin routes that manage staff and API keys (scopes `staff:read|write`,
 * `api-keys:read|write`), mounted by the `http()` plugin.
 *
 * @example
 * ```ts
 * const paths = adminAuthEndpoints.map((e) => `${e.method} ${e.path}`)
 * ```
 */
export const adminAuthEndpoints: readonly Endpoint[] = [listStaff, createStaff, updateStaff, listKeys, createKey, revokeKey] as unknown as readonly Endpoint[]
