import {
  createCommerce,
  fixedRateTax,
  flatRateShipping,
  isCommerceError,
  type AnyPlugin,
  type Commerce,
  type DurableSubscriber,
  type PaymentProvider,
  type TestPointName,
  type TestPoints,
} from '@cartwright/core'
import { seededBytes } from '../deterministic/seeded-bytes.js'
import { seededIds } from '../deterministic/seeded-ids.js'
import { seededRandom } from '../deterministic/random.js'
import { virtualClock, type VirtualClock } from '../deterministic/virtual-clock.js'
import { testGateway, type GatewayBehaviour, type TestGateway } from '../payments/test-gateway.js'
import { interceptStatements } from './intercept.js'
import { AUDIT_SUBSCRIBER, coreInvariants, type Audit } from './invariants.js'
import { coreOperations, deliverNotifications, type Mailbox } from './operations.js'
import type {
  CoreOperationName,
  SimulationCatalog,
  SimulationContext,
  SimulationInvariant,
  SimulationOperation,
  SimulationOptions,
  SimulationRandom,
  SimulationResult,
  SimulationViolation,
} from './types.js'

/**
 * Codes no operation may end with: a storage failure the engine did not absorb, a configuration
 * problem, a provider the engine found misbehaving (the test gateway never does). Any other code,
 * core's or a plugin's, is an outcome; an error that is not a `CommerceError` is a defect.
 */
const UNEXPECTED_CODES = new Set(['STORAGE', 'CONFIGURATION', 'PROVIDER'])

/** Every named point of the engine, where a crash can be planted. */
const POINTS: Record<TestPointName, 'tx' | 'outside'> = {
  'checkout.claim.planned': 'tx',
  'cart.change.priced': 'outside',
  'checkout.authorize.before': 'outside',
  'checkout.authorize.answered': 'outside',
  'payment.event.recorded': 'tx',
  'recovery.round': 'outside',
  'checkout.place.before': 'tx',
  'order.cancel.locking': 'tx',
  'payment.operation.locking': 'tx',
  'payment.operation.before': 'outside',
  'payment.operation.answered': 'outside',
  'payment.operation.settling': 'tx',
  'retention.batch.found': 'outside',
}
const POINT_NAMES = Object.keys(POINTS) as TestPointName[]

/** Operations that pass the engine's named points, where a crash does the most harm. */
const MONEY_PATHS = new Set(['checkout', 'checkout.return', 'webhook', 'capture', 'void', 'refund', 'cancel', 'recover', 'time.pass'])

/** Thrown into a crashed engine: whatever it still tries to do goes nowhere. */
class ProcessCrashed extends Error {
  constructor() {
    super('simulation: this engine was crashed')
  }
}

/** One engine's life, from its start to its crash. */
interface Incarnation<P extends readonly AnyPlugin[]> {
  commerce: Commerce<P>
  dead: boolean
  /** How many more named points it passes before it crashes at the next one; null: none armed. */
  armed: number | null
  /** The named point where it crashed. */
  crashedAt: TestPointName | null
  /** Resolves when it crashed. */
  crashed: Promise<void>
  crash(): void
}

const never = new Promise<never>(() => undefined)

/**
 * Runs a seeded, deterministic simulation of the order life against a real engine on a real
 * database, in virtual time, and checks the invariants of money and stock after every step.
 *
 * A run makes a small catalog with scarce stock, then takes `steps` steps. Each step runs one to
 * `concurrency` operations at once, drawn by weight: shoppers make and change carts and check out
 * (approved, declined, asked to confirm with their bank), return from the bank or abandon it; the
 * gateway answers late, refuses, fails before it is reached or loses its answer, and its webhooks
 * arrive late, twice and out of order; staff capture (in full or in part), void, refund, cancel,
 * fulfil and adjust stock; time passes past leases and deadlines; recovery runs; the outbox
 * drains; and the process crashes, at one of the engine's named points or between operations, and
 * a new engine opens on the same database. Every few steps, and at the end, the run settles (every
 * notification delivered, time past every deadline, recovery, the outbox drained) and the
 * `settled` invariants are checked: the engine's books equal the gateway's ledger, no money is
 * held without an order, no stock is reserved for nothing, every event was delivered.
 *
 * The first broken invariant stops the run; the result names it, with its problems and the trace
 * that led there. On SQLite, the same seed runs the same trace byte for byte. On PostgreSQL, where
 * connections run truly at once, a failing seed still prints its trace, which may not replay
 * exactly.
 *
 * Plugins add their own operations and invariants (`operations`, `invariants`) and their set-up
 * (`setup`); see the guide in `docs/simulation.md`.
 *
 * @example
 * ```ts
 * import { mkdtempSync } from 'node:fs'
 * import { tmpdir } from 'node:os'
 * import { join } from 'node:path'
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 * import { formatSimulation, simulate } from '@cartwright/testkit'
 *
 * const file = join(mkdtempSync(join(tmpdir(), 'sim-')), 'shop.db')
 * const result = await simulate({ seed: 7, steps: 40, storage: () => sqliteStorage({ filename: file }) })
 * if (result.violation) throw new Error(formatSimulation(result))
 * ```
 */
export async function simulate<const P extends readonly AnyPlugin[] = []>(options: SimulationOptions<P>): Promise<SimulationResult> {
  const seed = options.seed
  const steps = options.steps ?? 40
  const concurrency = Math.max(1, options.concurrency ?? 3)
  const draw = seededRandom(`simulation:${seed}`)
  const random = randomOf(draw)
  // Deliveries fail on a stream of their own, so that when the outbox drains does not shift the operations' draws.
  const deliveryRandom = seededRandom(`deliveries:${seed}`)
  const clock = virtualClock({ seed })
  const ids = seededIds(seed)
  const bytes = seededBytes(seed)
  const gateway = testGateway({ id: 'gateway', clock, capabilities: { multiCapture: options.multiCapture ?? random.chance(0.3) } })
  const trace: string[] = []
  const counts: Record<string, number> = {}
  const memory = new Map<string, unknown>()
  const usedKeys = new Map<string, string[]>()
  const mailbox: Mailbox = { delivered: new Set() }
  const audit: Audit = { deliveries: new Map(), effects: new Map() }
  const write = (line: string) => {
    trace.push(line)
    options.onTrace?.(line)
  }
  const count = (name: string) => {
    counts[name] = (counts[name] ?? 0) + 1
  }

  const incarnations: Array<Incarnation<P>> = []
  let current: Incarnation<P>
  let keyCounter = 0
  let step = 0
  let catalog: SimulationCatalog = { currency: 'USD', variantIds: [], locationIds: [], shippingOptionId: 'flat:standard' }

  const auditor: DurableSubscriber = {
    id: AUDIT_SUBSCRIBER,
    events: '*',
    handle(event) {
      // A subscriber of an outside system: it fails now and then before doing its work, or after
      // (its acknowledgement lost, so the event comes again); it dedups on the event id.
      if (deliveryRandom() < 0.1) throw new Error('audit subscriber: unavailable')
      audit.deliveries.set(event.id, (audit.deliveries.get(event.id) ?? 0) + 1)
      if (!audit.effects.has(event.id)) audit.effects.set(event.id, { type: event.type, payload: event.payload as unknown })
      if (deliveryRandom() < 0.05) throw new Error('audit subscriber: acknowledgement lost')
    },
  }

  async function open(): Promise<Incarnation<P>> {
    let signal!: () => void
    const incarnation: Incarnation<P> = {
      commerce: undefined as unknown as Commerce<P>,
      dead: false,
      armed: null,
      crashedAt: null,
      crashed: new Promise<void>((resolve) => (signal = resolve)),
      crash() {
        if (incarnation.dead) return
        incarnation.dead = true
        signal()
      },
    }
    const fenced = interceptStatements(options.storage(), {
      statement() {
        if (incarnation.dead) throw new ProcessCrashed()
      },
      transaction() {
        if (incarnation.dead) throw new ProcessCrashed()
      },
    })
    const points: Partial<Record<TestPointName, (context: { tx?: unknown }) => Promise<void>>> = {}
    for (const name of POINT_NAMES) {
      // Inside a transaction a crash rolls it back, as the database does for a dead process (a
      // transaction left open would hold its locks against the next engine); outside one, the
      // operation simply never goes on.
      const die = (): Promise<void> => (POINTS[name] === 'tx' ? Promise.reject(new ProcessCrashed()) : never)
      points[name] = async () => {
        if (incarnation.dead) return die()
        if (incarnation.armed === null || incarnation.armed-- > 0) return
        incarnation.armed = null
        incarnation.crashedAt = name
        incarnation.crash()
        return die()
      }
    }
    const engineOptions = options.engine ?? {}
    const commerce = await createCommerce({
      shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500 } }] })],
      tax: fixedRateTax({ rate: '8' }),
      onListenerError: () => undefined,
      ...engineOptions,
      storage: fenced,
      plugins: options.plugins ?? ([] as unknown as P),
      payments: [fencedProvider(options.provider ? options.provider(gateway) : gateway, incarnation), ...(engineOptions.payments ?? [])],
      subscribers: [auditor, ...(engineOptions.subscribers ?? [])],
      clock,
      ids,
      secretBytes: bytes,
      outbox: { enabled: false, maxAttempts: 100, backoffBaseMs: 100, backoffMaxMs: 1000 },
      recovery: { enabled: false },
      testPoints: points as Partial<TestPoints>,
    })
    incarnation.commerce = commerce as unknown as Commerce<P>
    incarnations.push(incarnation)
    return incarnation
  }

  const context = (): SimulationContext<P> => ({
    note: () => undefined,
    commerce: current.commerce,
    gateway,
    clock,
    random,
    catalog,
    step,
    memory,
    key(scope, keyOptions = {}) {
      const used = usedKeys.get(scope) ?? []
      const roll = draw()
      if (keyOptions.optional && roll < 0.15) return undefined
      if (used.length > 0 && roll > 0.8) return random.pick(used)
      const key = `k${++keyCounter}-${scope}`.slice(0, 120)
      used.push(key)
      usedKeys.set(scope, used)
      return key
    },
  })

  const operations: Array<SimulationOperation<P> & { weight: number }> = []
  for (const op of [...(coreOperations(mailbox) as unknown as Array<SimulationOperation<P>>), ...(options.operations ?? [])]) {
    const weight = (options.weights as Record<string, number | undefined> | undefined)?.[op.name] ?? op.weight ?? 1
    if (weight > 0) operations.push({ ...op, weight })
  }
  const settleWeight = options.weights?.settle ?? 0.6
  const crashWeight = options.weights?.crash ?? 0.8
  const invariants: Array<SimulationInvariant<P>> = [...(coreInvariants(audit) as unknown as Array<SimulationInvariant<P>>), ...(options.invariants ?? [])]
  const totalWeight = operations.reduce((s, o) => s + o.weight, 0) + settleWeight + crashWeight

  const pickOperation = (): SimulationOperation<P> | 'settle' | 'crash' => {
    let roll = draw() * totalWeight
    for (const op of operations) {
      roll -= op.weight
      if (roll < 0) return op
    }
    roll -= settleWeight
    return roll < 0 ? 'settle' : 'crash'
  }

  async function check(when: 'step' | 'settled'): Promise<SimulationViolation | null> {
    const ctx = context()
    // Step invariants hold at every step, so once settled too. They only read: all are checked at
    // once (on PostgreSQL over several connections), and the first broken, in list order, is named.
    const due = invariants.filter((invariant) => when === 'settled' || (invariant.when ?? 'step') === 'step')
    const found = await Promise.all(due.map((invariant) => invariant.check(ctx)))
    const broken = found.findIndex((problems) => problems.length > 0)
    return broken < 0 ? null : { invariant: due[broken]!.name, step, problems: found[broken]! }
  }

  /**
   * Runs one operation; one that finds nothing to do (no order to refund yet) gives its turn to
   * another, up to three times.
   */
  async function runSlot(op: SimulationOperation<P>, incarnation: Incarnation<P>): Promise<{ line: string; violation: string | null }> {
    for (let attempt = 0; ; attempt++) {
      const result = await runOne(op, incarnation)
      if (!result.idle || attempt === 2) return result
      let next = pickOperation()
      while (typeof next !== 'object') next = pickOperation()
      op = next
    }
  }

  /** Runs one operation; its outcome is data, unless it is an error the engine must never throw. */
  async function runOne(op: SimulationOperation<P>, incarnation: Incarnation<P>): Promise<{ line: string; violation: string | null; idle?: boolean }> {
    let detail: string | null | void = null
    let noted = ''
    const ctx = { ...context(), note: (text: string) => void (noted = text) }
    try {
      const returned = await op.run(ctx)
      detail = returned ?? noted
      const outcome = returned === null ? 'nothing to do' : 'ok'
      count(`${op.name} → ${outcome}`)
      return { line: `${op.name}${detail ? ` ${detail}` : ''} → ${outcome}`, violation: null, idle: returned === null }
    } catch (error) {
      const dead = incarnation.dead
      const code = isCommerceError(error) ? error.code : null
      const outcome = dead ? 'lost in the crash' : (code ?? `threw ${(error as Error)?.name ?? typeof error}`)
      count(`${op.name} → ${outcome}`)
      const at = noted
      const line = `${op.name}${at ? ` ${at}` : ''} → ${outcome}`
      if (dead) return { line, violation: null }
      if (code && !UNEXPECTED_CODES.has(code)) return { line, violation: null }
      return { line, violation: `${op.name} failed with ${code ?? 'an error that is not a CommerceError'}: ${(error as Error)?.message ?? String(error)}` }
    }
  }

  /** Brings everything in flight to an end: the state the `settled` invariants speak of. */
  async function settle(): Promise<void> {
    gateway.unscript()
    for (const operation of ['authorize', 'capture', 'void', 'refund'] as const) gateway.setDefault(operation, 'ok')
    for (let round = 0; round < 8; round++) {
      const commerce = current.commerce
      await deliverNotifications(commerce, gateway, mailbox, gateway.notifications().filter((n) => !mailbox.delivered.has(n.id)))
      await clock.advance(20 * 60_000)
      await commerce.checkout.recover({ limit: 1000 })
      await commerce.payments.recover({ limit: 1000 })
      // Staff retry what the engine reported as not done: a canceled order whose money the gateway
      // refused to give back is canceled again (the documented way to resume it).
      const owing = await commerce.db
        .selectFrom('cw_orders as o')
        .innerJoin('cw_payments as p', 'p.order_id', 'o.id')
        .select('o.id')
        .distinct()
        .where('o.status', '=', 'canceled')
        .where('p.status', 'in', ['authorized', 'partially_captured', 'captured', 'partially_refunded'])
        .orderBy('o.id')
        .execute()
      for (const order of owing) await commerce.orders.cancel(order.id).catch(() => undefined)
      await commerce.outbox.drain({ timeoutMs: 3_600_000 })
      const busy = await commerce.db
        .selectFrom('cw_payments')
        .select('id')
        .where('status', 'in', ['pending', 'requires_action'])
        .union(commerce.db.selectFrom('cw_payment_operations').select('id').where('status', '=', 'pending'))
        .union(commerce.db.selectFrom('cw_carts').select('id').where('status', '=', 'completing'))
        .union(commerce.db.selectFrom('cw_outbox_deliveries').select('event_id as id').where('status', '=', 'pending'))
        .limit(1)
        .execute()
      const undelivered = gateway.notifications().some((n) => !mailbox.delivered.has(n.id))
      if (busy.length === 0 && !undelivered) break
    }
  }

  let violation: SimulationViolation | null = null
  try {
    current = await open()
    catalog = await seedCatalog(current.commerce as unknown as Commerce, random)
    if (options.setup) await options.setup(context())
    write(`seed ${seed}: ${catalog.variantIds.length} variants at ${catalog.locationIds.length} locations; gateway multiCapture=${gateway.capabilities.multiCapture}`)
    violation = await check('step')

    for (step = 1; step <= steps && !violation; step++) {
      // The gateway's weather for this step: calls nothing is scripted for mostly succeed.
      const weather: GatewayBehaviour = random.chance(0.8) ? 'ok' : random.behaviour()
      for (const operation of ['authorize', 'capture', 'void', 'refund'] as const) gateway.setDefault(operation, weather)

      const size = random.int(1, concurrency)
      const picked = Array.from({ length: size }, pickOperation)
      if (picked.includes('settle')) {
        count('settle')
        write(`${step}: settle`)
        await settle()
        violation = await check('settled')
        continue
      }
      const incarnation = current
      const crashing = picked.includes('crash')
      if (crashing) {
        count('crash')
        // Mostly at the first, second or third named point the step's operations pass; else between operations.
        incarnation.armed = random.chance(0.85) ? random.int(0, 2) : null
      }
      const ops = picked.filter((p): p is SimulationOperation<P> => typeof p === 'object')
      // A crash comes while money moves: the step runs at least one operation on a money path.
      if (crashing) {
        const moving = operations.filter((o) => MONEY_PATHS.has(o.name))
        if (moving.length > 0) ops.push(random.pick(moving))
      }
      const runs = ops.map((op) => runSlot(op, incarnation))
      const lines: string[] = []
      let failure: string | null = null
      if (crashing) {
        const outcome = await Promise.race([Promise.all(runs).then((r) => ({ done: r })), incarnation.crashed.then(() => null)])
        const where = incarnation.crashedAt ? `at ${incarnation.crashedAt}` : 'between operations'
        incarnation.crash()
        // Let whatever the crash interrupted fail against the fence, then start afresh.
        for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
        const settled = outcome?.done ?? (await settledSoFar(runs))
        settled.forEach((r, i) => lines.push(r ? r.line : `${ops[i]!.name} → lost in the crash`))
        lines.push(`crash ${where}; restart`)
        current = await open()
      } else {
        for (const r of await Promise.all(runs)) {
          lines.push(r.line)
          failure ??= r.violation
        }
      }
      lines.forEach((line, i) => write(`${step}${lines.length > 1 ? `.${i + 1}` : ''}: ${line}`))
      gateway.unscript()
      if (failure) violation = { invariant: 'typed errors', step, problems: [failure] }
      else violation = await check('step')
    }
    if (!violation) {
      step = steps + 1
      write(`${step}: final settle`)
      await settle()
      violation = await check('settled')
    }
  } catch (error) {
    write(`harness error: ${(error as Error)?.stack ?? String(error)}`)
    throw Object.assign(new Error(`simulation seed ${seed} failed in the harness: ${(error as Error)?.message}\n${trace.join('\n')}`), { cause: error })
  } finally {
    for (const incarnation of incarnations) {
      incarnation.dead = true
      await incarnation.commerce?.close().catch(() => undefined)
    }
  }
  if (violation) write(`violated: ${violation.invariant} after step ${violation.step}`)
  return { seed, steps: Math.min(step, steps), trace, violation, counts }
}

/** Results of the runs that have finished, `null` for those the crash left hanging. */
async function settledSoFar<T>(runs: Array<Promise<T>>): Promise<Array<T | null>> {
  const marker = Symbol('pending')
  return Promise.all(runs.map((run) => Promise.race([run, Promise.resolve(marker)]).then((r) => (r === marker ? null : (r as T)))))
}

/** The gateway as one engine sees it: after that engine crashed, its calls never return. */
function fencedProvider(gateway: PaymentProvider, incarnation: { dead: boolean }): PaymentProvider {
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      incarnation.dead ? never : call(...args)
  return {
    id: gateway.id,
    capabilities: gateway.capabilities,
    authorize: guard((input) => gateway.authorize(input)),
    capture: guard((input) => gateway.capture!(input)),
    void: guard((input) => gateway.void!(input)),
    refund: guard((input) => gateway.refund!(input)),
    retrieve: guard((input) => gateway.retrieve!(input)),
    webhooks: gateway.webhooks!,
  }
}

function randomOf(draw: () => number): SimulationRandom {
  const random: SimulationRandom = {
    next: draw,
    int: (min, max) => min + Math.floor(draw() * (max - min + 1)),
    chance: (p) => draw() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('simulation: pick from an empty list')
      return items[Math.floor(draw() * items.length)]!
    },
    shuffle: (items) => {
      const out = [...items]
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(draw() * (i + 1))
        ;[out[i], out[j]] = [out[j]!, out[i]!]
      }
      return out
    },
    behaviour: () =>
      random.pick<GatewayBehaviour>([
        'ok',
        'ok',
        'ok',
        'refuse',
        'error',
        'lost',
        { delayMs: 2_000 },
        { delayMs: 45_000 },
        { delayMs: 5_000, then: 'lost' },
        { answerDelayMs: 3_000 },
      ]),
  }
  return random
}

/** The demo catalog: three variants with a few units each at two warehouses, one with stock at one only. */
async function seedCatalog(commerce: Commerce, random: SimulationRandom): Promise<SimulationCatalog> {
  const product = await commerce.catalog.createProduct({
    title: 'Trail Runner',
    options: [{ name: 'Size', values: ['41', '42', '43'] }],
    variants: ['41', '42', '43'].map((size) => ({
      sku: `TR-${size}`,
      options: { Size: size },
      prices: [{ currency: 'USD', amount: 4_000 + 1_000 * random.int(0, 8) + random.int(0, 99) }],
    })),
  })
  const north = await commerce.inventory.createLocation({ name: 'North', code: 'north', priority: 1 })
  const south = await commerce.inventory.createLocation({ name: 'South', code: 'south' })
  for (const [i, variant] of product.variants.entries()) {
    await commerce.inventory.setStock({ variantId: variant.id, locationId: north.id, onHand: random.int(1, 4) })
    if (i > 0) await commerce.inventory.setStock({ variantId: variant.id, locationId: south.id, onHand: random.int(0, 3) })
  }
  return { currency: 'USD', variantIds: product.variants.map((v) => v.id), locationIds: [north.id, south.id], shippingOptionId: 'flat:standard' }
}

/** The run as text: the trace, then the violation with its problems. */
export function formatSimulation(result: SimulationResult): string {
  const head = result.violation
    ? `simulation seed ${result.seed}: invariant "${result.violation.invariant}" broken after step ${result.violation.step}`
    : `simulation seed ${result.seed}: ${result.steps} steps, every invariant held`
  const problems = result.violation ? result.violation.problems.map((p) => `  - ${p}`).join('\n') : ''
  return [head, problems, 'trace:', ...result.trace.map((l) => `  ${l}`)].filter(Boolean).join('\n')
}

export type { CoreOperationName }

/**
 * The simulation's first scenario, the interleavings of money on placed orders: captures (in full
 * and in part), voids, refunds (in full and in part) and cancels, concurrent and retried, against a
 * gateway that answers late, refuses, fails or loses its answer, with webhooks, recovery and
 * crashes between them; carts only as far as it takes to place orders. Spread it into
 * {@link simulate}'s options.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from '@cartwright/storage-sqlite'
 * import { paymentInterleavings, simulate } from '@cartwright/testkit'
 *
 * const result = await simulate({ ...paymentInterleavings, seed: 1, storage: () => sqliteStorage({ filename: 'money.db' }) })
 * ```
 */
export const paymentInterleavings = {
  concurrency: 3,
  weights: {
    'cart.create': 2,
    'cart.add': 0,
    'cart.change': 0,
    'cart.remove': 0,
    checkout: 3,
    'checkout.return': 1,
    webhook: 2,
    capture: 5,
    void: 2,
    refund: 5,
    cancel: 3,
    fulfill: 0,
    'stock.adjust': 0,
    'time.pass': 1,
    recover: 2,
    'outbox.drain': 1,
    crash: 1,
    settle: 0.5,
  },
} as const satisfies Pick<SimulationOptions, 'concurrency' | 'weights'>
