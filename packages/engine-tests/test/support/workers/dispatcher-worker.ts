/**
 * One app process of the multi-process outbox tests (test/postgres/outbox-kill.test.ts): it composes an
 * engine on the shared database with the same durable subscriber as the publishing engine, and
 * lets the engine's own dispatcher deliver. The subscriber's side effect is deduplicated on the
 * event id, the way the DurableSubscriber docs tell hosts to:
 *
 * 1. `handled_calls` gets a row as soon as the handler is called (autocommit), so calls cut short
 *    by a SIGKILL are counted too, with the lease the delivery was claimed under;
 * 2. after a pause, one transaction inserts into `side_effects` (`on conflict do nothing`) and
 *    records on the call whether the effect was `applied` or absorbed as a `duplicate`;
 * 3. after another pause the handler returns and the dispatcher marks the delivery delivered.
 *
 * The pauses make a kill likely to land inside a delivery: before the effect (the call is lost
 * and redone) or between the effect and the delivered-mark (the redelivery is a duplicate).
 *
 * Driven over IPC (test/support/worker.ts): `start` with a {@link DispatcherWorkerInput} answers
 * once the dispatcher runs; closing the channel stops it cleanly; SIGKILL is the crash under test.
 */
import pg from 'pg'
import { createCommerce, type Commerce, type DurableSubscriber } from '@cartwright/core'
import { postgresStorage } from '@cartwright/storage-postgres'
import { sleep } from '../util.js'
import { serveRequests } from '../worker.js'

export interface DispatcherWorkerInput {
  url: string
  subscriberId: string
  /** Total pause inside each handler call, half before the side effect and half after it. */
  handlerDelayMs: number
  outbox: { leaseMs: number; pollIntervalMs: number; batchSize: number; maxAttempts: number }
}

let commerce: Commerce | null = null
let effects: pg.Pool | null = null

const subscriber = (input: DispatcherWorkerInput, pool: pg.Pool): DurableSubscriber => ({
  id: input.subscriberId,
  events: ['cart.created'],
  async handle(event, context) {
    const startedAt = new Date()
    // The lease this dispatcher claimed the delivery under (the claim has committed).
    const call = await pool.query<{ id: string }>(
      `insert into handled_calls (event_id, pid, attempt, lease_until, started_at)
       select $1, $2, $3, d.locked_until, $4
         from cw_outbox_deliveries d where d.event_id = $1 and d.subscriber = $5
       returning id`,
      [event.id, process.pid, context.attempt, startedAt, input.subscriberId],
    )
    await sleep(input.handlerDelayMs / 2)
    const client = await pool.connect()
    try {
      await client.query('begin')
      const applied = await client.query('insert into side_effects (event_id, pid) values ($1, $2) on conflict do nothing', [event.id, process.pid])
      await client.query('update handled_calls set outcome = $1 where id = $2', [applied.rowCount === 1 ? 'applied' : 'duplicate', call.rows[0]!.id])
      await client.query('commit')
    } catch (error) {
      await client.query('rollback').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
    await sleep(input.handlerDelayMs / 2)
  },
})

async function start(input: DispatcherWorkerInput): Promise<number> {
  effects = new pg.Pool({ connectionString: input.url, max: 2 })
  effects.on('error', () => undefined)
  commerce = await createCommerce({
    storage: postgresStorage({ connectionString: input.url, pool: { max: 3 } }),
    subscribers: [subscriber(input, effects)],
    outbox: { enabled: true, ...input.outbox },
    migrate: false,
    onListenerError: (error) => process.stderr.write(`listener error: ${String(error)}\n`),
  })
  return process.pid
}

serveRequests(
  async (message) => {
    if (message.type === 'start') return start(message.input as DispatcherWorkerInput)
    throw new Error(`unknown request ${message.type}`)
  },
  async () => {
    await commerce?.close()
    await effects?.end()
  },
)
