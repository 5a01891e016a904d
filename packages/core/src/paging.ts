import { z } from 'zod'
import { CommerceError } from './errors.js'

/** Paging input shared by list methods: `limit` (1–100, default 20) and an opaque `cursor`. */
export const pageSchema = z.strictObject({
  limit: z.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
})

export interface Keyset {
  createdAt: string
  id: string
}

export function encodeCursor(key: Keyset): string {
  return Buffer.from(JSON.stringify([key.createdAt, key.id])).toString('base64url')
}

export function decodeCursor(cursor: string | undefined): Keyset | null {
  if (cursor === undefined) return null
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown]
    if (typeof createdAt === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(createdAt))) return { createdAt, id }
  } catch {
    // fall through to the validation error
  }
  throw new CommerceError('VALIDATION', 'Invalid cursor: pass back the nextCursor of a previous page', {
    details: { issues: [{ path: 'cursor', message: 'invalid cursor' }], fields: ['cursor'] },
  })
}
