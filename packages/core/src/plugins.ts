import type { Kysely, KyselyPlugin, OperationNode, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'
import type { z } from 'zod'
import { CommerceError, validationError, type CommerceErrorCode } from './errors.js'
import type { EventMap } from './events.js'
import type { HookTransaction, TransactionalHookName } from './hooks.js'
import type { AnyPlugin, PluginContext, PluginPriceSource, PluginTx, PrivacyContribution } from './ports/plugin.js'
import { transact, type Runtime } from './runtime.js'
import { priceSourcesSchema, type PriceQuery } from './services/price-resolution.js'

/**
 * The plugin runner: orders plugins by their dependencies, gives each its context (hooks, a
 * database handle narrowed to its tables, a transaction runner, its events, clock and ids) and
 * collects what their `init` returns.
 */

/** Keys of the engine object a plugin id may not take. */
export const CORE_KEYS: ReadonlySet<string> = new Set([
  'catalog',
  'inventory',
  'carts',
  'checkout',
  'orders',
  'payments',
  'privacy',
  'events',
  'hooks',
  'outbox',
  'retention',
  'db',
  'endpoints',
  'errorCodes',
  'close',
  'then',
  'constructor',
  '__proto__',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
])

const CORE_CODES: readonly CommerceErrorCode[] = [
  'VALIDATION',
  'NOT_FOUND',
  'OUT_OF_STOCK',
  'PAYMENT_DECLINED',
  'PAYMENT_FAILED',
  'INVALID_STATE',
  'CONFLICT',
  'VETOED',
  'CONFIGURATION',
  'STORAGE',
  'PROVIDER',
]

/**
 * The table prefix a plugin owns: its id in lower case with every character outside `a-z0-9` as
 * `_`, then `_`. `gift-cards` owns `gift_cards_*`.
 *
 * @example
 * ```ts
 * tablePrefix('gift-cards') // 'gift_cards_'
 * ```
 */
export function tablePrefix(pluginId: string): string {
  return `${pluginId.toLowerCase().replace(/[^a-z0-9]/g, '_')}_`
}

/** Names of the tables a query writes to (empty for a read). */
function writtenTables(node: RootOperationNode): string[] | 'raw' {
  const name = (n: OperationNode | undefined): string | null => {
    if (!n) return null
    const any = n as unknown as Record<string, any>
    if (n.kind === 'AliasNode') return name(any.node)
    if (n.kind === 'TableNode') return String(any.table?.identifier?.name ?? '')
    if (n.kind === 'SchemableIdentifierNode') return String(any.identifier?.name ?? '')
    return null
  }
  const any = node as unknown as Record<string, any>
  switch (node.kind) {
    case 'SelectQueryNode':
      return []
    case 'InsertQueryNode':
    case 'MergeQueryNode':
      return [name(any.into)].filter((t): t is string => t !== null)
    case 'UpdateQueryNode':
      return [name(any.table)].filter((t): t is string => t !== null)
    case 'DeleteQueryNode':
      return ((any.from?.froms ?? []) as OperationNode[]).map(name).filter((t): t is string => t !== null)
    case 'CreateTableNode':
    case 'DropTableNode':
    case 'AlterTableNode':
    case 'CreateIndexNode':
      return [name(any.table)].filter((t): t is string => t !== null)
    case 'RawNode':
      return 'raw'
    default:
      // Schema and type statements, views, sequences: a plugin creates those in migrations.
      return [`<${node.kind}>`]
  }
}

const RAW_WRITE = /\b(?:insert\s+(?:or\s+\w+\s+)?into|update|delete\s+from|replace\s+into|truncate(?:\s+table)?|drop\s+(?:table|index|view)(?:\s+if\s+exists)?|alter\s+table|create\s+(?:unique\s+)?(?:table|index|view)(?:\s+if\s+not\s+exists)?)\s+"?([A-Za-z_][\w$]*)"?/gi

/** Tables a raw SQL statement writes to, as far as a scan of its text can tell. */
function rawWrittenTables(node: RootOperationNode): string[] {
  const fragments = ((node as unknown as { sqlFragments?: readonly string[] }).sqlFragments ?? []).join(' ? ')
  return [...fragments.matchAll(RAW_WRITE)].map((m) => m[1]!)
}

/**
 * A kysely plugin that refuses writes to tables outside `prefix`: the guard on a plugin's database
 * handle. Reads are not restricted (the handle's types already hide core's tables).
 */
export class OwnTablesGuard implements KyselyPlugin {
  readonly #pluginId: string
  readonly #prefix: string
  constructor(pluginId: string) {
    this.#pluginId = pluginId
    this.#prefix = tablePrefix(pluginId)
  }

  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    const written = writtenTables(node)
    const tables = written === 'raw' ? rawWrittenTables(node) : written
    const foreign = tables.filter((t) => !t.toLowerCase().startsWith(this.#prefix))
    if (foreign.length) {
      throw new CommerceError(
        'INVALID_STATE',
        `Plugin ${this.#pluginId} may write only its own tables (${this.#prefix}*), not ${foreign.join(', ')}: change core's data through the engine's services and hooks`,
        { details: { plugin: this.#pluginId, tables: foreign } },
      )
    }
    return node
  }

  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return result
  }
}

/** @internal What the engine keeps of each plugin once it is set up. */
export interface PluginRecord {
  plugin: AnyPlugin
  /** The plugin's database handle (narrowed and, with the guard on, guarded). */
  narrow<T extends Kysely<any>>(db: T): T
  /** Turns core's transaction into the plugin's {@link PluginTx}. */
  tx(scope: HookTransaction): PluginTx<any, any>
  privacy: PrivacyContribution<any>[]
}

/** Validates composition: ids, collisions with core, error codes, dependencies. Returns plugins in set-up order. */
export function orderPlugins(plugins: readonly AnyPlugin[]): AnyPlugin[] {
  const byId = new Map<string, AnyPlugin>()
  const problems: string[] = []
  for (const plugin of plugins) {
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(plugin.id)) problems.push(`plugin id ${JSON.stringify(plugin.id)} must be 1–40 lower-case letters, digits or "-", starting with a letter`)
    else if (CORE_KEYS.has(plugin.id) || plugin.id === 'cw' || plugin.id.startsWith('cw-')) problems.push(`plugin id ${JSON.stringify(plugin.id)} collides with a key of the engine`)
    if (byId.has(plugin.id)) problems.push(`two plugins share the id ${JSON.stringify(plugin.id)}`)
    byId.set(plugin.id, plugin)
  }
  const codes = new Map<string, string>()
  for (const plugin of plugins) {
    for (const code of Object.keys(plugin.errorCodes ?? {})) {
      if (!/^[A-Z][A-Z0-9_]{1,63}$/.test(code)) problems.push(`${plugin.id}: error code ${JSON.stringify(code)} must be UPPER_SNAKE`)
      else if ((CORE_CODES as readonly string[]).includes(code)) problems.push(`${plugin.id}: error code ${code} is one of core's`)
      else if (codes.has(code)) problems.push(`${plugin.id}: error code ${code} is also declared by ${codes.get(code)}`)
      codes.set(code, plugin.id)
    }
    for (const dep of plugin.dependsOn ?? []) {
      if (!byId.has(dep)) problems.push(`${plugin.id} needs plugin ${JSON.stringify(dep)}, which is not composed`)
    }
  }
  if (problems.length) {
    throw new CommerceError('CONFIGURATION', `[cartwright] these plugins cannot be composed: ${problems.join('; ')}`, { details: { problems } })
  }
  // Depth-first, keeping the given order where dependencies allow.
  const ordered: AnyPlugin[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (plugin: AnyPlugin, path: string[]) => {
    const s = state.get(plugin.id)
    if (s === 'done') return
    if (s === 'visiting') {
      throw new CommerceError('CONFIGURATION', `[cartwright] plugins depend on each other in a cycle: ${[...path, plugin.id].join(' → ')}`, {
        details: { cycle: [...path, plugin.id] },
      })
    }
    state.set(plugin.id, 'visiting')
    for (const dep of plugin.dependsOn ?? []) visit(byId.get(dep)!, [...path, plugin.id])
    state.set(plugin.id, 'done')
    ordered.push(plugin)
  }
  for (const plugin of plugins) visit(plugin, [])
  return ordered
}

/** Every error code a composition can throw: core's, then each plugin's. */
export function errorCodesOf(plugins: readonly AnyPlugin[]): string[] {
  return [...CORE_CODES, ...plugins.flatMap((p) => Object.keys(p.errorCodes ?? {}))]
}

/** Event schemas of every plugin, by event name; an event name may belong to one plugin only and not to core. */
export function eventSchemasOf(plugins: readonly AnyPlugin[], coreEvents: ReadonlySet<string>): Map<string, { plugin: string; schema: z.ZodType }> {
  const schemas = new Map<string, { plugin: string; schema: z.ZodType }>()
  const problems: string[] = []
  for (const plugin of plugins) {
    for (const [type, schema] of Object.entries((plugin.events ?? {}) as Record<string, z.ZodType>)) {
      if (coreEvents.has(type)) problems.push(`${plugin.id}: event ${type} is one of core's`)
      else if (schemas.has(type)) problems.push(`${plugin.id}: event ${type} is also declared by ${schemas.get(type)!.plugin}`)
      else if (!type.startsWith(`${plugin.id}.`) && !type.startsWith(`${plugin.id.replace(/-/g, '_')}.`)) {
        problems.push(`${plugin.id}: event ${type} must be named "${plugin.id}.<something>"`)
      } else if (typeof (schema as { safeParse?: unknown })?.safeParse !== 'function') problems.push(`${plugin.id}: event ${type} needs a zod schema`)
      schemas.set(type, { plugin: plugin.id, schema })
    }
  }
  if (problems.length) throw new CommerceError('CONFIGURATION', `[cartwright] plugin events: ${problems.join('; ')}`, { details: { problems } })
  return schemas
}

/** Validates one of a plugin's events before it is written to the outbox; returns the parsed payload. */
export function checkedPayload(rt: Runtime, pluginId: string, type: string, payload: unknown): unknown {
  const entry = rt.eventSchemas.get(type)
  if (!entry || entry.plugin !== pluginId) {
    throw new CommerceError('INVALID_STATE', `Plugin ${pluginId} emitted ${JSON.stringify(type)}, which is not one of its declared events`, {
      details: { plugin: pluginId, event: type },
    })
  }
  const parsed = entry.schema.safeParse(payload)
  if (!parsed.success) {
    throw validationError(
      `${type} event`,
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    )
  }
  return parsed.data
}

/** Builds the record and the `init` context of one plugin. */
export function pluginContext(
  rt: Runtime,
  plugin: AnyPlugin,
  commerce: unknown,
  guard: boolean,
): { record: PluginRecord; context: PluginContext<any, EventMap, string> } {
  const guardPlugin = guard ? new OwnTablesGuard(plugin.id) : null
  const narrow = <T extends Kysely<any>>(db: T): T => (guardPlugin ? (db.withPlugin(guardPlugin) as T) : db)
  const privacy: PrivacyContribution<any>[] = []
  const makeTx = (scope: HookTransaction): PluginTx<any, any> => ({
    db: narrow(scope.tx),
    emit: (type: string, payload: unknown) => scope.emit(type, checkedPayload(rt, plugin.id, type, payload)),
    async touchCart(cartId: string) {
      await scope.tx
        .updateTable('cw_carts')
        .set((eb: any) => ({ version: eb('version', '+', 1), updated_at: rt.now().toISOString() }))
        .where('id', '=', cartId)
        .execute()
    },
  })
  const record: PluginRecord = { plugin, narrow, tx: makeTx, privacy }
  const hooks = {
    hook(name: string, fn: (context: any, tx?: PluginTx<any, any>) => unknown): () => void {
      if (TRANSACTIONAL.has(name)) {
        return rt.hooks.hookTransactional(name as TransactionalHookName, (context, scope) => fn(context, makeTx(scope)))
      }
      if (name === 'cart.adjust') {
        // What this plugin pushes is marked as its own, so orders keep where each adjustment came from.
        return rt.hooks.hook('cart.adjust', async (context) => {
          const before = context.adjustments.length
          await fn(context)
          for (const a of context.adjustments.slice(before)) (a as { source?: string }).source ??= plugin.id
        })
      }
      return rt.hooks.hook(name as 'cart.beforeAddItem', fn as never)
    },
  }
  const context: PluginContext<any, EventMap, string> = {
    id: plugin.id,
    commerce: commerce as PluginContext['commerce'],
    hooks: hooks as PluginContext<any, EventMap, string>['hooks'],
    events: rt.events as PluginContext<any, EventMap, string>['events'],
    db: narrow(rt.db as Kysely<any>),
    transaction: (work) => transact(rt, (tx, emit) => work(makeTx({ tx, emit: emit as HookTransaction['emit'], retryable: (e) => rt.storage.isRetryable(e) }))),
    clock: rt.clock,
    now: () => rt.now(),
    newId: (prefix) => rt.ids(prefix),
    error: (code, message, options = {}) => new CommerceError<string>(code, message, options),
    priceSource(source: PluginPriceSource<any>) {
      const entry = { id: source?.id, priority: source?.priority, resolve: (query: PriceQuery, db: unknown) => source.resolve(query, narrow(db as Kysely<any>)) }
      // Checked as the option's sources are: an id of its own (not core's), a finite priority.
      const checked = priceSourcesSchema.safeParse([...rt.priceSources, typeof source?.resolve === 'function' ? entry : source])
      if (!checked.success) {
        const issues = checked.error.issues.map((i) => i.message).join('; ')
        throw new CommerceError('CONFIGURATION', `[cartwright] plugin ${plugin.id}: price source refused: ${issues}`, { details: { plugin: plugin.id } })
      }
      rt.priceSources.push(entry as never)
    },
    privacy(contribution) {
      privacy.push(contribution)
    },
  }
  return { record, context }
}

const TRANSACTIONAL: ReadonlySet<string> = new Set<TransactionalHookName>(['checkout.claim', 'checkout.place', 'checkout.release', 'cart.changed'])
