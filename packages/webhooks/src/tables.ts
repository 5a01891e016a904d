import type { CommerceMigration } from '@cartwright/core'

type Timestamp = string | Date

/**
 * The plugin's tables (prefix `webhooks_`).
 *
 * An endpoint's `secret` is stored as given, not hashed: every delivery is signed with it (an
 * HMAC needs the key itself), so a hash could verify a secret shown to us but could never sign.
 * Protect the database as you protect the secrets, and rotate a secret that may have leaked
 * (`webhooks.rotateSecret`). A delivery row holds the exact body sent (the event as JSON), so
 * that retries and replays send the same bytes: it is personal data as much as the event is, and
 * `webhooks.prune({ days })` deletes delivered (and optionally failed) rows after N days.
 *
 * @example
 * ```ts
 * import type { Kysely } from 'kysely'
 *
 * declare const db: Kysely<WebhookTables>
 * const stuck = await db.selectFrom('webhooks_deliveries').select(['id', 'endpoint_id', 'attempts']).where('status', '=', 'failed').execute()
 * ```
 */
export interface WebhookTables {
  webhooks_endpoints: {
    id: string
    url: string
    /** The current secret, `whsec_…`. */
    secret: string
    /** The secret before the last rotation, still signing until `previous_secret_expires_at`. */
    previous_secret: string | null
    previous_secret_expires_at: Timestamp | null
    /** JSON array of event types, or `["*"]`. */
    event_types: string
    active: number
    description: string | null
    created_at: Timestamp
    updated_at: Timestamp
  }
  webhooks_deliveries: {
    id: string
    endpoint_id: string
    event_id: string
    event_type: string
    /** The exact body sent. */
    body: string
    /** `pending`, `delivered` or `failed`. */
    status: string
    attempts: number
    next_attempt_at: Timestamp
    /** A claim by a `deliverDue` round: no other round takes the delivery before this instant. */
    locked_until: Timestamp | null
    /** `<event id>:<endpoint id>` for a delivery made from the outbox (unique); null for a replay. */
    dedup_key: string | null
    /** The delivery a replay repeats. */
    replay_of: string | null
    last_status_code: number | null
    last_error: string | null
    created_at: Timestamp
    delivered_at: Timestamp | null
  }
  webhooks_attempts: {
    id: string
    delivery_id: string
    endpoint_id: string
    attempt: number
    started_at: Timestamp
    duration_ms: number
    status_code: number | null
    /** `delivered`, `failed` (a non-2xx answer) or `error` (no answer: refused, reset, timed out). */
    outcome: string
    error: string | null
    /** At most 1 KB of the answer. */
    response_body: string | null
  }
}

/** The plugin's migrations, for SQLite and PostgreSQL alike. */
export const webhookMigrations: Record<string, CommerceMigration> = {
  '0001_webhooks': {
    async up(db, { types }) {
      await db.schema
        .createTable('webhooks_endpoints')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('previous_secret', 'text')
        .addColumn('previous_secret_expires_at', types.timestamp)
        .addColumn('event_types', 'text', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('webhooks_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', types.timestamp, (c) => c.notNull())
        .addColumn('locked_until', types.timestamp)
        .addColumn('dedup_key', 'text', (c) => c.unique())
        .addColumn('replay_of', 'text')
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('delivered_at', types.timestamp)
        .execute()
      await db.schema.createIndex('webhooks_deliveries_due').on('webhooks_deliveries').columns(['status', 'next_attempt_at']).execute()
      await db.schema.createIndex('webhooks_deliveries_endpoint').on('webhooks_deliveries').columns(['endpoint_id', 'id']).execute()
      await db.schema.createIndex('webhooks_deliveries_event').on('webhooks_deliveries').column('event_id').execute()
      await db.schema
        .createTable('webhooks_attempts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('started_at', types.timestamp, (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('response_body', 'text')
        .execute()
      await db.schema.createIndex('webhooks_attempts_delivery').on('webhooks_attempts').columns(['delivery_id', 'attempt']).execute()
      await db.schema.createIndex('webhooks_attempts_endpoint').on('webhooks_attempts').columns(['endpoint_id', 'started_at']).execute()
    },
  },
}
