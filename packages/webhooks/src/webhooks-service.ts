import type { Kysely } from 'kysely'
import type { z } from 'zod'
import { CommerceError, notFound, validationError, type PluginContext } from '@cartwright/core'
import type { ResolvedOptions } from './options.js'
import {
  createSchema,
  deliverDueSchema,
  idSchema,
  listAttemptsSchema,
  listDeliveriesSchema,
  listEndpointsSchema,
  pruneSchema,
  rotateSchema,
  updateSchema,
  type CreateWebhookEndpointInput,
  type DeliverDueInput,
  type ListWebhookAttemptsInput,
  type ListWebhookDeliveriesInput,
  type ListWebhookEndpointsInput,
  type PruneWebhooksInput,
  type RotateWebhookSecretInput,
  type UpdateWebhookEndpointInput,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEndpointWithSecret,
} from './schemas.js'
import { send, type SendOutcome } from './send.js'
import { newSecret } from './signature.js'
import type { WebhookTables } from './tables.js'
import { urlProblem } from './url.js'

type Ctx = PluginContext<WebhookTables>
type EndpointRow = WebhookTables['webhooks_endpoints']
type DeliveryRow = WebhookTables['webhooks_deliveries']
type AttemptRow = WebhookTables['webhooks_attempts']

/**
 * A page of a list, newest first unless said otherwise; `nextCursor` is null on the last page.
 *
 * @example
 * ```ts
 * const count = (page: WebhookPage<WebhookDelivery>) => page.items.length
 * ```
 */
export interface WebhookPage<T> {
  items: T[]
  nextCursor: string | null
}

/**
 * What one `deliverDue` round did: deliveries attempted, and how many of them were delivered,
 * will be retried, or failed for good.
 *
 * @example
 * ```ts
 * const line = (r: DeliverDueResult) => `${r.attempted} sent: ${r.delivered} ok, ${r.retrying} to retry, ${r.failed} failed`
 * ```
 */
export interface DeliverDueResult {
  attempted: number
  delivered: number
  retrying: number
  failed: number
}

/**
 * `commerce.webhooks`: endpoints, their deliveries and attempts, replay, and the delivery round.
 * Every method validates its input (`VALIDATION`, naming the field) and answers `NOT_FOUND` for an
 * unknown id.
 */
export interface WebhooksService {
  /**
   * Registers an endpoint for some event types (`order.placed`, a prefix such as `order.*`, or
   * `'*'`). The answer carries the endpoint's signing secret: the only time it is shown, with
   * {@link WebhooksService.rotateSecret}'s. A URL on this machine or a private network is refused
   * (`VALIDATION` on `url`) unless the plugin was given `allowPrivateHosts`.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const endpoint = await commerce.webhooks.createEndpoint({ url: 'https://erp.example.com/hooks', eventTypes: ['order.placed'] })
   * console.log('give the receiver this secret:', endpoint.secret)
   * ```
   */
  createEndpoint(input: CreateWebhookEndpointInput): Promise<WebhookEndpointWithSecret>
  /**
   * Endpoints, newest first, a page at a time; never their secrets.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const { items } = await commerce.webhooks.listEndpoints({ limit: 20 })
   * ```
   */
  listEndpoints(input?: ListWebhookEndpointsInput): Promise<WebhookPage<WebhookEndpoint>>
  /**
   * One endpoint, without its secret.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const endpoint = await commerce.webhooks.getEndpoint('whe_1')
   * ```
   */
  getEndpoint(endpointId: string): Promise<WebhookEndpoint>
  /**
   * Changes an endpoint's URL, event types, description or whether it is active. An inactive
   * endpoint gets no new deliveries, and its pending ones wait until it is active again.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * await commerce.webhooks.updateEndpoint('whe_1', { active: false })
   * ```
   */
  updateEndpoint(endpointId: string, input: UpdateWebhookEndpointInput): Promise<WebhookEndpoint>
  /**
   * Deletes an endpoint with its deliveries and their attempts.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * await commerce.webhooks.deleteEndpoint('whe_1')
   * ```
   */
  deleteEndpoint(endpointId: string): Promise<{ id: string; deleted: true }>
  /**
   * Gives an endpoint a new secret, returned here once. With `keepPreviousSeconds`, the old secret
   * keeps signing alongside the new one (two `v1=` signatures) for that long, so the receiver can
   * switch without refusing a delivery.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const { secret } = await commerce.webhooks.rotateSecret('whe_1', { keepPreviousSeconds: 3600 })
   * ```
   */
  rotateSecret(endpointId: string, input?: RotateWebhookSecretInput): Promise<WebhookEndpointWithSecret>
  /**
   * Deliveries, newest first, filtered by endpoint, event or status.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const failed = await commerce.webhooks.listDeliveries({ status: 'failed' })
   * ```
   */
  listDeliveries(input?: ListWebhookDeliveriesInput): Promise<WebhookPage<WebhookDelivery>>
  /**
   * One delivery.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const delivery = await commerce.webhooks.getDelivery('whd_1')
   * ```
   */
  getDelivery(deliveryId: string): Promise<WebhookDelivery>
  /**
   * The delivery log. With `deliveryId`: the attempts of that delivery and of its replays, in the
   * order they were made. With `endpointId`: the endpoint's attempts, newest first.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const { items } = await commerce.webhooks.listAttempts({ deliveryId: 'whd_1' })
   * for (const a of items) console.log(a.attempt, a.statusCode ?? a.error, `${a.durationMs} ms`)
   * ```
   */
  listAttempts(input: ListWebhookAttemptsInput): Promise<WebhookPage<WebhookAttempt>>
  /**
   * Sends a delivered or failed delivery again, now: the same body, as a new delivery (a new id
   * header, `replayOf` naming the original, the `Cartwright-Webhook-Replay` header on the request),
   * attempted at once and retried like any other if that attempt fails. A pending delivery is
   * refused with `INVALID_STATE`: it is still being sent.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const replay = await commerce.webhooks.replay('whd_1')
   * console.log(replay.status, replay.lastStatusCode)
   * ```
   */
  replay(deliveryId: string): Promise<WebhookDelivery>
  /**
   * One delivery round: claims the deliveries due now (of active endpoints), POSTs them, and records
   * each attempt. The background loop calls it; call it yourself from a scheduler when the plugin
   * runs with `background: false`. Safe in any number of processes at once: a delivery is claimed
   * by one round for `leaseMs`.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const round = await commerce.webhooks.deliverDue({ batchSize: 50 })
   * ```
   */
  deliverDue(input?: DeliverDueInput): Promise<DeliverDueResult>
  /**
   * Deletes delivered deliveries (and, with `includeFailed`, failed ones) created more than `days`
   * days ago, with their attempts. Returns how many deliveries were deleted.
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService }
   * const { deleted } = await commerce.webhooks.prune({ days: 30 })
   * ```
   */
  prune(input: PruneWebhooksInput): Promise<{ deleted: number }>
  /**
   * Stops the background loop and waits for its round in flight. Call it before
   * `commerce.close()` for a clean shutdown (a round cut short is sent again later: at least once).
   *
   * @example
   * ```ts
   * declare const commerce: { webhooks: WebhooksService; close(): Promise<void> }
   * await commerce.webhooks.stop()
   * await commerce.close()
   * ```
   */
  stop(): Promise<void>
}

function parse<S extends z.ZodType>(schema: S, value: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw validationError(
    subject,
    result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  )
}

const iso = (value: string | Date) => new Date(value).toISOString()
const isoOrNull = (value: string | Date | null) => (value === null ? null : iso(value))

function endpointOf(row: EndpointRow): WebhookEndpoint {
  const types = JSON.parse(row.event_types) as string[]
  return {
    id: row.id,
    url: row.url,
    eventTypes: types.length === 1 && types[0] === '*' ? '*' : types,
    active: Number(row.active) === 1,
    description: row.description,
    previousSecretExpiresAt: isoOrNull(row.previous_secret_expires_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

function deliveryOf(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status as WebhookDelivery['status'],
    attempts: Number(row.attempts),
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    replayOf: row.replay_of,
    lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
    lastError: row.last_error,
    createdAt: iso(row.created_at),
    deliveredAt: isoOrNull(row.delivered_at),
  }
}

function attemptOf(row: AttemptRow): WebhookAttempt {
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    endpointId: row.endpoint_id,
    attempt: Number(row.attempt),
    startedAt: iso(row.started_at),
    durationMs: Number(row.duration_ms),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    outcome: row.outcome as WebhookAttempt['outcome'],
    error: row.error,
    responseBody: row.response_body,
  }
}

/** A keyset cursor: the last row's sort key and id. */
const encodeCursor = (key: string, id: string) => Buffer.from(JSON.stringify([key, id])).toString('base64url')
function decodeCursor(cursor: string | undefined): [string, string] | null {
  if (cursor === undefined) return null
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string' && !Number.isNaN(Date.parse(value[0]))) {
      return [iso(value[0]), value[1]]
    }
  } catch {
    // Refused below, like any other malformed cursor.
  }
  throw validationError('cursor', [{ path: 'cursor', message: 'is not a cursor this list returned' }])
}

/** True when an endpoint's event types cover `type`: the name itself, a `prefix.*`, or `*`. */
export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))))
}

/** True for the error of a closed engine (or its destroyed driver): the background loop ends. */
export function isClosedError(error: unknown): boolean {
  if (error instanceof CommerceError && (error.details as { closed?: unknown }).closed === true) return true
  return /destroyed|closed/i.test(String((error as Error)?.message ?? ''))
}

/** @internal The service, with the hooks the plugin's subscriber and background loop use. */
export interface WebhooksInternals {
  service: WebhooksService
  /** Writes a pending delivery for each active endpoint subscribed to the event (once per event and endpoint). */
  enqueue(event: { id: string; type: string; payload: unknown; createdAt: string }): Promise<number>
  /** Set by the background loop: stops it. */
  onStop: (() => Promise<void>) | null
}

interface Claim {
  row: DeliveryRow
  attempts: number
  endpoint: EndpointRow
}

export function createWebhooksService(ctx: Ctx, options: ResolvedOptions): WebhooksInternals {
  const db: Kysely<WebhookTables> = ctx.db
  const stamp = () => ctx.now().toISOString()

  const endpointRow = async (id: string) => {
    const row = await db.selectFrom('webhooks_endpoints').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw notFound('Webhook endpoint', id)
    return row
  }
  const deliveryRow = async (id: string) => {
    const row = await db.selectFrom('webhooks_deliveries').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw notFound('Webhook delivery', id)
    return row
  }
  const checkUrl = (url: string, subject: string) => {
    const problem = urlProblem(url, options.allowPrivateHosts)
    if (problem) throw validationError(subject, [{ path: 'url', message: problem }])
  }
  const eventTypesText = (types: '*' | string[]) => JSON.stringify(types === '*' || types.includes('*') ? ['*'] : [...new Set(types)])

  /** The secrets a request is signed with now: the current one, and the previous one in its grace period. */
  const secretsOf = (endpoint: EndpointRow, at: Date) => {
    const secrets = [endpoint.secret]
    if (endpoint.previous_secret && endpoint.previous_secret_expires_at && new Date(endpoint.previous_secret_expires_at).getTime() > at.getTime()) {
      secrets.push(endpoint.previous_secret)
    }
    return secrets
  }

  /** Takes a delivery for this round: one conditional update, so two rounds never both take it. */
  const claim = async (row: DeliveryRow, endpoint: EndpointRow): Promise<Claim | null> => {
    const now = ctx.now()
    const attempts = Number(row.attempts) + 1
    const taken = await db
      .updateTable('webhooks_deliveries')
      .set({ attempts, locked_until: new Date(now.getTime() + options.leaseMs).toISOString() })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .where('attempts', '=', Number(row.attempts))
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now.toISOString())]))
      .executeTakeFirst()
    return Number(taken.numUpdatedRows) === 1 ? { row, attempts, endpoint } : null
  }

  /**
   * Records an attempt and its outcome. A success is recorded whoever holds the delivery now (the
   * receiver has it), never over a delivered row; a failure only while the claim is still ours.
   */
  const settle = async (claimed: Claim, startedAt: Date, result: SendOutcome): Promise<'delivered' | 'retrying' | 'failed'> => {
    const now = ctx.now()
    const dead = claimed.attempts >= options.maxAttempts
    const delay = Math.min(options.backoffMaxMs, options.backoffBaseMs * 2 ** (claimed.attempts - 1))
    await ctx.transaction(async (tx) => {
      await tx.db
        .insertInto('webhooks_attempts')
        .values({
          id: ctx.newId('wha'),
          delivery_id: claimed.row.id,
          endpoint_id: claimed.row.endpoint_id,
          attempt: claimed.attempts,
          started_at: startedAt.toISOString(),
          duration_ms: result.durationMs,
          status_code: result.statusCode,
          outcome: result.outcome,
          error: result.error,
          response_body: result.responseBody,
        })
        .execute()
      const update = tx.db.updateTable('webhooks_deliveries').where('id', '=', claimed.row.id)
      if (result.outcome === 'delivered') {
        await update
          .set({ status: 'delivered', delivered_at: now.toISOString(), locked_until: null, last_status_code: result.statusCode, last_error: null })
          .where('status', '<>', 'delivered')
          .execute()
      } else {
        await update
          .set({
            status: dead ? 'failed' : 'pending',
            next_attempt_at: new Date(now.getTime() + delay).toISOString(),
            locked_until: null,
            last_status_code: result.statusCode,
            last_error: result.error,
          })
          .where('status', '=', 'pending')
          .where('attempts', '=', claimed.attempts)
          .execute()
      }
    })
    return result.outcome === 'delivered' ? 'delivered' : dead ? 'failed' : 'retrying'
  }

  const attempt = async (claimed: Claim): Promise<'delivered' | 'retrying' | 'failed'> => {
    if (claimed.attempts > options.maxAttempts) {
      // The claim before this one ended without an outcome (its process stopped mid-request) and
      // it was the last allowed: give up rather than claim a delivery that kills its process forever.
      await db
        .updateTable('webhooks_deliveries')
        .set({
          status: 'failed',
          attempts: options.maxAttempts,
          locked_until: null,
          last_error: `gave up after ${options.maxAttempts} attempts: the last ended without an outcome`,
        })
        .where('id', '=', claimed.row.id)
        .where('status', '=', 'pending')
        .where('attempts', '=', claimed.attempts)
        .execute()
      return 'failed'
    }
    const startedAt = ctx.now()
    // Checked again when sending: the option may have changed since. The addresses the host name
    // resolves to are checked by `send`, as it connects to them.
    const refused = urlProblem(claimed.endpoint.url, options.allowPrivateHosts)
    const result: SendOutcome = refused
      ? { outcome: 'error', statusCode: null, error: `not sent: the URL ${refused}`, responseBody: null, durationMs: 0 }
      : await send({
          url: claimed.endpoint.url,
          body: claimed.row.body,
          deliveryId: claimed.row.id,
          replayOf: claimed.row.replay_of,
          secrets: secretsOf(claimed.endpoint, startedAt),
          at: startedAt.getTime(),
          timeoutMs: options.timeoutMs,
          userAgent: options.userAgent,
          allowPrivateHosts: options.allowPrivateHosts,
        })
    return settle(claimed, startedAt, result)
  }

  const internals: WebhooksInternals = {
    onStop: null,
    async enqueue(event) {
      const endpoints = await db.selectFrom('webhooks_endpoints').selectAll().where('active', '=', 1).execute()
      const matching = endpoints.filter((e) => matchesEventType(JSON.parse(e.event_types) as string[], event.type))
      if (matching.length === 0) return 0
      // The body is fixed here, once: every attempt and every replay sends these bytes.
      const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, payload: event.payload })
      const now = stamp()
      await ctx.transaction(async (tx) => {
        await tx.db
          .insertInto('webhooks_deliveries')
          .values(
            matching.map((e) => ({
              id: ctx.newId('whd'),
              endpoint_id: e.id,
              event_id: event.id,
              event_type: event.type,
              body,
              status: 'pending',
              attempts: 0,
              next_attempt_at: now,
              locked_until: null,
              dedup_key: `${event.id}:${e.id}`,
              replay_of: null,
              last_status_code: null,
              last_error: null,
              created_at: now,
              delivered_at: null,
            })),
          )
          // The outbox delivers at least once: a repeated event adds nothing.
          .onConflict((oc) => oc.column('dedup_key').doNothing())
          .execute()
      })
      return matching.length
    },
    service: {
      async createEndpoint(input) {
        const data = parse(createSchema, input, 'webhook endpoint')
        checkUrl(data.url, 'webhook endpoint')
        const now = stamp()
        const row: EndpointRow = {
          id: ctx.newId('whe'),
          url: data.url,
          secret: newSecret(),
          previous_secret: null,
          previous_secret_expires_at: null,
          event_types: eventTypesText(data.eventTypes),
          active: data.active ? 1 : 0,
          description: data.description ?? null,
          created_at: now,
          updated_at: now,
        }
        await db.insertInto('webhooks_endpoints').values(row).execute()
        return { ...endpointOf(row), secret: row.secret }
      },

      async listEndpoints(input = {}) {
        const data = parse(listEndpointsSchema, input, 'webhook endpoint list')
        const after = decodeCursor(data.cursor)
        let q = db.selectFrom('webhooks_endpoints').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(data.limit + 1)
        if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after[0]), eb.and([eb('created_at', '=', after[0]), eb('id', '<', after[1])])]))
        const rows = await q.execute()
        const items = rows.slice(0, data.limit).map(endpointOf)
        const last = items.at(-1)
        return { items, nextCursor: rows.length > data.limit && last ? encodeCursor(last.createdAt, last.id) : null }
      },

      async getEndpoint(endpointId) {
        return endpointOf(await endpointRow(parse(idSchema, endpointId, 'endpointId')))
      },

      async updateEndpoint(endpointId, input) {
        const id = parse(idSchema, endpointId, 'endpointId')
        const data = parse(updateSchema, input, 'webhook endpoint')
        if (data.url !== undefined) checkUrl(data.url, 'webhook endpoint')
        await endpointRow(id)
        const changes: Partial<EndpointRow> = { updated_at: stamp() }
        if (data.url !== undefined) changes.url = data.url
        if (data.eventTypes !== undefined) changes.event_types = eventTypesText(data.eventTypes)
        if (data.description !== undefined) changes.description = data.description
        if (data.active !== undefined) changes.active = data.active ? 1 : 0
        await db.updateTable('webhooks_endpoints').set(changes).where('id', '=', id).execute()
        return endpointOf(await endpointRow(id))
      },

      async deleteEndpoint(endpointId) {
        const id = parse(idSchema, endpointId, 'endpointId')
        await ctx.transaction(async (tx) => {
          const gone = await tx.db.deleteFrom('webhooks_endpoints').where('id', '=', id).executeTakeFirst()
          if (Number(gone.numDeletedRows) === 0) throw notFound('Webhook endpoint', id)
          await tx.db.deleteFrom('webhooks_attempts').where('endpoint_id', '=', id).execute()
          await tx.db.deleteFrom('webhooks_deliveries').where('endpoint_id', '=', id).execute()
        })
        return { id, deleted: true as const }
      },

      async rotateSecret(endpointId, input = {}) {
        const id = parse(idSchema, endpointId, 'endpointId')
        const data = parse(rotateSchema, input, 'secret rotation')
        const row = await endpointRow(id)
        const now = ctx.now()
        const secret = newSecret()
        const keep = data.keepPreviousSeconds > 0
        await db
          .updateTable('webhooks_endpoints')
          .set({
            secret,
            previous_secret: keep ? row.secret : null,
            previous_secret_expires_at: keep ? new Date(now.getTime() + data.keepPreviousSeconds * 1000).toISOString() : null,
            updated_at: now.toISOString(),
          })
          .where('id', '=', id)
          .execute()
        return { ...endpointOf(await endpointRow(id)), secret }
      },

      async listDeliveries(input = {}) {
        const data = parse(listDeliveriesSchema, input, 'webhook delivery list')
        const after = decodeCursor(data.cursor)
        let q = db.selectFrom('webhooks_deliveries').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(data.limit + 1)
        if (data.endpointId) q = q.where('endpoint_id', '=', data.endpointId)
        if (data.eventId) q = q.where('event_id', '=', data.eventId)
        if (data.status) q = q.where('status', '=', data.status)
        if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after[0]), eb.and([eb('created_at', '=', after[0]), eb('id', '<', after[1])])]))
        const rows = await q.execute()
        const items = rows.slice(0, data.limit).map(deliveryOf)
        const last = items.at(-1)
        return { items, nextCursor: rows.length > data.limit && last ? encodeCursor(last.createdAt, last.id) : null }
      },

      async getDelivery(deliveryId) {
        return deliveryOf(await deliveryRow(parse(idSchema, deliveryId, 'deliveryId')))
      },

      async listAttempts(input) {
        const data = parse(listAttemptsSchema, input, 'webhook attempt list')
        const after = decodeCursor(data.cursor)
        let rows: AttemptRow[]
        if (data.deliveryId !== undefined) {
          const root = await deliveryRow(data.deliveryId)
          const replays = await db.selectFrom('webhooks_deliveries').select('id').where('replay_of', '=', root.id).execute()
          let q = db
            .selectFrom('webhooks_attempts')
            .selectAll()
            .where('delivery_id', 'in', [root.id, ...replays.map((r) => r.id)])
            .orderBy('started_at', 'asc')
            .orderBy('id', 'asc')
            .limit(data.limit + 1)
          if (after) q = q.where((eb) => eb.or([eb('started_at', '>', after[0]), eb.and([eb('started_at', '=', after[0]), eb('id', '>', after[1])])]))
          rows = await q.execute()
          // Within one instant (a clock standing still), the delivery's own attempts in their order.
          rows.sort((a, b) => iso(a.started_at).localeCompare(iso(b.started_at)) || Number(a.delivery_id !== root.id) - Number(b.delivery_id !== root.id) || Number(a.attempt) - Number(b.attempt))
        } else {
          await endpointRow(data.endpointId!)
          let q = db
            .selectFrom('webhooks_attempts')
            .selectAll()
            .where('endpoint_id', '=', data.endpointId!)
            .orderBy('started_at', 'desc')
            .orderBy('id', 'desc')
            .limit(data.limit + 1)
          if (after) q = q.where((eb) => eb.or([eb('started_at', '<', after[0]), eb.and([eb('started_at', '=', after[0]), eb('id', '<', after[1])])]))
          rows = await q.execute()
        }
        const page = rows.slice(0, data.limit)
        const last = page.at(-1)
        return { items: page.map(attemptOf), nextCursor: rows.length > data.limit && last ? encodeCursor(iso(last.started_at), last.id) : null }
      },

      async replay(deliveryId) {
        const original = await deliveryRow(parse(idSchema, deliveryId, 'deliveryId'))
        if (original.status === 'pending') {
          throw new CommerceError('INVALID_STATE', `Webhook delivery ${original.id} is still being delivered: replay it once it is delivered or failed`, {
            details: { deliveryId: original.id, status: original.status },
          })
        }
        const endpoint = await endpointRow(original.endpoint_id)
        const now = stamp()
        const row: DeliveryRow = {
          id: ctx.newId('whd'),
          endpoint_id: original.endpoint_id,
          event_id: original.event_id,
          event_type: original.event_type,
          body: original.body,
          status: 'pending',
          attempts: 0,
          next_attempt_at: now,
          locked_until: null,
          dedup_key: null,
          // A replay of a replay names the first delivery: its log shows every attempt of the event.
          replay_of: original.replay_of ?? original.id,
          last_status_code: null,
          last_error: null,
          created_at: now,
          delivered_at: null,
        }
        await db.insertInto('webhooks_deliveries').values(row).execute()
        const claimed = await claim(row, endpoint)
        if (claimed) await attempt(claimed)
        return deliveryOf(await deliveryRow(row.id))
      },

      async deliverDue(input = {}) {
        const data = parse(deliverDueSchema, input, 'delivery round')
        const now = stamp()
        const due = await db
          .selectFrom('webhooks_deliveries as d')
          .innerJoin('webhooks_endpoints as e', 'e.id', 'd.endpoint_id')
          .selectAll('d')
          .select(['e.url as e_url', 'e.secret as e_secret', 'e.previous_secret as e_previous_secret', 'e.previous_secret_expires_at as e_previous_secret_expires_at'])
          .where('d.status', '=', 'pending')
          .where('d.next_attempt_at', '<=', now)
          .where('e.active', '=', 1)
          .where((eb) => eb.or([eb('d.locked_until', 'is', null), eb('d.locked_until', '<=', now)]))
          .orderBy('d.next_attempt_at')
          .orderBy('d.id')
          .limit(data.batchSize)
          .execute()
        const result: DeliverDueResult = { attempted: 0, delivered: 0, retrying: 0, failed: 0 }
        let next = 0
        const worker = async () => {
          while (next < due.length) {
            const r = due[next++]!
            const { e_url, e_secret, e_previous_secret, e_previous_secret_expires_at, ...row } = r
            const endpoint = { url: e_url, secret: e_secret, previous_secret: e_previous_secret, previous_secret_expires_at: e_previous_secret_expires_at } as EndpointRow
            const claimed = await claim(row as DeliveryRow, endpoint)
            if (!claimed) continue
            result.attempted++
            result[await attempt(claimed)]++
          }
        }
        await Promise.all(Array.from({ length: Math.min(options.concurrency, due.length) }, worker))
        return result
      },

      async prune(input) {
        const data = parse(pruneSchema, input, 'prune')
        const before = new Date(ctx.now().getTime() - data.days * 86_400_000).toISOString()
        const statuses = data.includeFailed ? ['delivered', 'failed'] : ['delivered']
        return ctx.transaction(async (tx) => {
          const old = tx.db.selectFrom('webhooks_deliveries').select('id').where('status', 'in', statuses).where('created_at', '<', before)
          await tx.db.deleteFrom('webhooks_attempts').where('delivery_id', 'in', old).execute()
          const gone = await tx.db.deleteFrom('webhooks_deliveries').where('status', 'in', statuses).where('created_at', '<', before).executeTakeFirst()
          return { deleted: Number(gone.numDeletedRows) }
        })
      },

      async stop() {
        await internals.onStop?.()
      },
    },
  }
  return internals
}
