import { isCompilable, type Kysely, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely'
import type { z } from 'zod'
import { CommerceError, validationError, type CommerceErrorCode } from './errors.js'
import type { EventMap } from './events.js'
import { insideTransactionalHook, type HookTransaction, type TransactionalHookName } from './hooks.js'
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
  'actorResolvers',
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

/** Root statements a plugin's handle may run; any other kind (views, schemas, types) belongs in its migrations. */
const KNOWN_ROOTS: ReadonlySet<string> = new Set([
  'SelectQueryNode',
  'InsertQueryNode',
  'UpdateQueryNode',
  'DeleteQueryNode',
  'MergeQueryNode',
  'RawNode',
  'CreateTableNode',
  'DropTableNode',
  'AlterTableNode',
  'CreateIndexNode',
])

type AnyNode = Record<string, any> & { kind: string }
const isNode = (value: unknown): value is AnyNode => typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string'

/**
 * The names of the tables a query writes to, as far as its syntax tree tells: every insert, update,
 * delete and merge anywhere in it (a data-modifying `with` included), the table of a DDL statement,
 * and what a scan of each raw SQL piece finds. A write whose target cannot be read is reported as
 * `<kind>`, so it is refused rather than let through.
 */
function writtenTables(root: RootOperationNode): string[] {
  const found: string[] = []
  if (!KNOWN_ROOTS.has(root.kind)) found.push(`<${root.kind}>`)
  const seen = new Set<object>()
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return
    seen.add(value)
    if (Array.isArray(value)) {
      for (const item of value) visit(item)
      return
    }
    if (isNode(value)) {
      switch (value.kind) {
        case 'InsertQueryNode':
        case 'MergeQueryNode':
          found.push(...targets(value.into))
          break
        case 'UpdateQueryNode':
        case 'CreateTableNode':
        case 'DropTableNode':
        case 'AlterTableNode':
        case 'CreateIndexNode':
          found.push(...targets(value.table))
          break
        case 'DeleteQueryNode':
          found.push(...((value.from?.froms ?? []) as unknown[]).flatMap(targets))
          break
        case 'RawNode':
          found.push(...rawWrittenTables(renderRaw(value)))
          break
      }
    }
    for (const child of Object.values(value)) visit(child)
  }
  visit(root)
  return found
}

/** The last part (the table's own name) of each table a write target names. */
function targets(node: unknown): string[] {
  if (node === undefined || node === null) return []
  if (!isNode(node)) return ['<unknown>']
  switch (node.kind) {
    case 'AliasNode':
      return targets(node.node)
    case 'TableNode':
      return targets(node.table)
    case 'SchemableIdentifierNode':
      return targets(node.identifier)
    case 'IdentifierNode':
      return [String(node.name)]
    case 'ListNode':
      return ((node.items ?? []) as unknown[]).flatMap(targets)
    case 'RawNode': {
      const name = new RegExp(`^\\s*${QUALIFIED}`).exec(normalizeSql(renderRaw(node)))
      return [name ? name[1]! : '<RawNode>']
    }
    default:
      return [`<${node.kind}>`]
  }
}

/**
 * A raw node's SQL as the database will read it, as far as names go: identifiers and tables
 * interpolated with `sql.table`, `sql.id`, `sql.ref` and nested `sql.raw` pieces are written out;
 * values (bound parameters) are `?`.
 */
function renderRaw(node: AnyNode): string {
  const fragments = (node.sqlFragments ?? []) as readonly string[]
  const parameters = (node.parameters ?? []) as readonly unknown[]
  let text = fragments[0] ?? ''
  for (let i = 0; i < parameters.length; i++) text += renderPart(parameters[i]) + (fragments[i + 1] ?? '')
  return text
}

function renderPart(node: unknown): string {
  if (!isNode(node)) return ' ? '
  switch (node.kind) {
    case 'RawNode':
      return renderRaw(node)
    case 'IdentifierNode':
      return `"${String(node.name)}"`
    case 'TableNode':
      return renderPart(node.table)
    case 'SchemableIdentifierNode':
      return node.schema ? `${renderPart(node.schema)}.${renderPart(node.identifier)}` : renderPart(node.identifier)
    case 'ReferenceNode':
      return node.table ? `${renderPart(node.table)}.${renderPart(node.column)}` : renderPart(node.column)
    case 'ColumnNode':
      return renderPart(node.column)
    case 'AliasNode':
      return renderPart(node.node)
    default:
      return ' ? '
  }
}

/** Comments out, so `delete/**\/from` reads as `delete from`. */
function normalizeSql(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ')
}

/** A name as SQLite or PostgreSQL may write it: bare, or quoted with `"`, `` ` ``, `'` or `[ ]`. */
const NAME = `["'\`\\[]?[A-Za-z_][\\w$]*["'\`\\]]?`
/** A name, optionally qualified by a schema (`main.`, `public.`); the table's own name is captured. */
const QUALIFIED = `(?:${NAME}\\s*\\.\\s*)*["'\`\\[]?([A-Za-z_][\\w$]*)["'\`\\]]?`

/** Statements that write, each with the object it writes captured last. */
const RAW_WRITES: readonly RegExp[] = [
  `\\binsert\\s+(?:or\\s+\\w+\\s+)?into\\s+${QUALIFIED}`,
  `\\breplace\\s+into\\s+${QUALIFIED}`,
  `\\bupdate\\s+(?:or\\s+\\w+\\s+)?(?:only\\s+)?${QUALIFIED}`,
  `\\bdelete\\s+from\\s+(?:only\\s+)?${QUALIFIED}`,
  `\\bmerge\\s+into\\s+(?:only\\s+)?${QUALIFIED}`,
  `\\btruncate\\s+(?:table\\s+)?(?:only\\s+)?${QUALIFIED}`,
  `\\btruncate\\s+(?:table\\s+)?(?:only\\s+)?${NAME}(?:\\s*\\.\\s*${NAME})?\\s*,\\s*${QUALIFIED}`,
  `\\bdrop\\s+(?:table|view|index|trigger|sequence|materialized\\s+view)\\s+(?:if\\s+exists\\s+)?${QUALIFIED}`,
  `\\balter\\s+(?:table|sequence|index|view)\\s+(?:if\\s+exists\\s+)?(?:only\\s+)?${QUALIFIED}`,
  `\\bcreate\\s+(?:temp(?:orary)?\\s+|unlogged\\s+)?(?:table|view|materialized\\s+view|sequence)\\s+(?:if\\s+not\\s+exists\\s+)?${QUALIFIED}`,
  `\\bcreate\\s+(?:unique\\s+)?index\\s+(?:concurrently\\s+)?(?:if\\s+not\\s+exists\\s+)?${QUALIFIED}\\s+on\\b`,
  `\\bcreate\\s+(?:unique\\s+)?index\\s+[^;]*?\\bon\\s+(?:only\\s+)?${QUALIFIED}`,
  `\\bcreate\\s+(?:temp(?:orary)?\\s+)?trigger\\s+[^;]*?\\bon\\s+${QUALIFIED}`,
  `\\bsetval\\s*\\(\\s*'(?:[A-Za-z_][\\w$]*\\.)?([A-Za-z_][\\w$]*)'`,
  `\\bcopy\\s+${QUALIFIED}(?:\\s*\\([^)]*\\))?\\s+from\\b`,
].map((source) => new RegExp(source, 'gi'))

/** Tables a raw SQL statement writes to, as far as a scan of its text can tell. */
function rawWrittenTables(text: string): string[] {
  const sqlText = normalizeSql(text)
  return RAW_WRITES.flatMap((pattern) => [...sqlText.matchAll(pattern)].map((m) => m[m.length - 1]!))
}

/**
 * A kysely plugin that refuses writes to tables outside `prefix`: the guard on a plugin's database
 * handle. Reads are not restricted (the handle's types already hide core's tables). With
 * `outsideHooks`, it also refuses every query made while a transactional hook runs: that handle is
 * not the hook's transaction, and waiting for a connection of its own would wait for the hook.
 */
/**
 * On `commerce.db`: a query from inside a transactional hook would wait for the hook's own
 * transaction on SQLite's one connection (or read around it on PostgreSQL); it is refused instead.
 */
export class RefuseInsideHook implements KyselyPlugin {
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    const hook = insideTransactionalHook.getStore()
    if (hook !== undefined) {
      throw new CommerceError('INVALID_STATE', `commerce.db was used inside the transactional hook ${hook}: use the hook's tx instead`, { details: { hook } })
    }
    return node
  }

  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return result
  }
}

export class OwnTablesGuard implements KyselyPlugin {
  readonly #pluginId: string
  readonly #prefix: string
  readonly #ownTables: boolean
  readonly #outsideHooks: boolean
  constructor(pluginId: string, options: { ownTables?: boolean; outsideHooks?: boolean } = {}) {
    this.#pluginId = pluginId
    this.#prefix = tablePrefix(pluginId)
    this.#ownTables = options.ownTables ?? true
    this.#outsideHooks = options.outsideHooks ?? false
  }

  /** Throws when the query may not run through this handle. */
  check(node: RootOperationNode | undefined): void {
    if (this.#outsideHooks) {
      const hook = insideTransactionalHook.getStore()
      if (hook !== undefined) {
        throw new CommerceError(
          'INVALID_STATE',
          `Plugin ${this.#pluginId} used its own database handle (ctx.db) inside the transactional hook ${hook}: use the hook's tx.db, which is that transaction`,
          { details: { plugin: this.#pluginId, hook } },
        )
      }
    }
    if (!this.#ownTables || !node) return
    const foreign = writtenTables(node).filter((t) => !t.toLowerCase().startsWith(this.#prefix))
    if (foreign.length) {
      throw new CommerceError(
        'INVALID_STATE',
        `Plugin ${this.#pluginId} may write only its own tables (${this.#prefix}*), not ${[...new Set(foreign)].join(', ')}: change core's data through the engine's services and hooks`,
        { details: { plugin: this.#pluginId, tables: [...new Set(foreign)] } },
      )
    }
  }

  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    this.check(node)
    return node
  }

  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return result
  }
}

const isHandle = (value: unknown): value is Kysely<any> =>
  typeof (value as Kysely<any>)?.getExecutor === 'function' && typeof (value as Kysely<any>)?.withoutPlugins === 'function'
/** A transaction or connection builder, or a controlled transaction's command: runs a callback or returns a handle. */
const isRunner = (value: unknown): value is { execute: (...args: any[]) => unknown } =>
  typeof (value as { execute?: unknown })?.execute === 'function' && typeof (value as { compile?: unknown })?.compile !== 'function'

/**
 * A plugin's handle with `guard` that stays guarded: kysely plugins see only the queries kysely
 * compiles, so the ways to run SQL past them (`executeQuery` with a compiled query, `getExecutor()`,
 * `withoutPlugins()`, the schema module's, transactions and connections opened from the handle)
 * are checked here too.
 */
function guardedHandle<T extends object>(db: T, guard: OwnTablesGuard): T {
  const wrap = (value: unknown): unknown => (isHandle(value) ? guardedHandle(value, guard) : isRunner(value) ? guardedRunner(value, guard) : value)
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (prop === 'schema') return guardedModule(value as object, guard)
      if (typeof value !== 'function') return value
      switch (prop) {
        case 'executeQuery':
          return (query: { query?: RootOperationNode }, ...rest: unknown[]) => {
            if (!isCompilable(query)) guard.check(query?.query ?? RAW_UNKNOWN)
            return value.call(target, query, ...rest)
          }
        case 'withoutPlugins':
          return () => guardedHandle(value.call(target).withPlugin(guard), guard)
        case 'getExecutor':
          return () => guardedExecutor(value.call(target), guard)
        default:
          return (...args: unknown[]) => wrap(value.apply(target, args))
      }
    },
  })
}

/** A node that stands for SQL the guard cannot read: refused as a write of `<unknown>`. */
const RAW_UNKNOWN = { kind: 'UnknownNode' } as unknown as RootOperationNode

function guardedRunner<T extends object>(runner: T, guard: OwnTablesGuard): T {
  const wrap = (value: unknown): unknown => (isHandle(value) ? guardedHandle(value, guard) : isRunner(value) ? guardedRunner(value, guard) : value)
  return new Proxy(runner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const wrapped = args.map((arg) => (typeof arg === 'function' ? (...inner: unknown[]) => arg(...inner.map(wrap)) : arg))
        const result = value.apply(target, wrapped)
        return result instanceof Promise ? result.then(wrap) : wrap(result)
      }
    },
  })
}

function guardedModule<T extends object>(module: T, guard: OwnTablesGuard): T {
  return new Proxy(module, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      if (prop === 'withoutPlugins') return () => guardedModule(value.call(target).withPlugin(guard), guard)
      if (prop === 'withPlugin' || prop === 'withSchema') return (...args: unknown[]) => guardedModule(value.apply(target, args), guard)
      return value.bind(target)
    },
  })
}

function guardedExecutor<T extends object>(executor: T, guard: OwnTablesGuard): T {
  return new Proxy(executor, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      switch (prop) {
        case 'executeQuery':
        case 'stream':
          return (query: { query?: RootOperationNode }, ...rest: unknown[]) => {
            guard.check(query?.query ?? RAW_UNKNOWN)
            return value.call(target, query, ...rest)
          }
        case 'withoutPlugins':
          return () => guardedExecutor(value.call(target).withPlugin(guard), guard)
        case 'withPlugin':
        case 'withPlugins':
        case 'withPluginAtFront':
        case 'withConnectionProvider':
          return (...args: unknown[]) => guardedExecutor(value.apply(target, args), guard)
        case 'provideConnection':
          return (consumer: (connection: object) => unknown) => value.call(target, (connection: object) => consumer(guardedConnection(connection, guard)))
        default:
          return value.bind(target)
      }
    },
  })
}

function guardedConnection<T extends object>(connection: T, guard: OwnTablesGuard): T {
  return new Proxy(connection, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      if (prop === 'executeQuery' || prop === 'streamQuery') {
        return (query: { query?: RootOperationNode }, ...rest: unknown[]) => {
          guard.check(query?.query ?? RAW_UNKNOWN)
          return value.call(target, query, ...rest)
        }
      }
      return value.bind(target)
    },
  })
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
  // A plugin owns the tables under its prefix: two prefixes may not nest (gift_ holds gift_cards_*).
  const ids = [...byId.keys()]
  for (const a of ids) {
    for (const b of ids) {
      if (a !== b && tablePrefix(b).startsWith(tablePrefix(a))) {
        problems.push(`plugin ${JSON.stringify(a)} owns the tables ${tablePrefix(a)}*, which include those of ${JSON.stringify(b)} (${tablePrefix(b)}*): rename one`)
      }
    }
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
  // Core's namespaces (order., payment.…) stay core's: a name there could be core's next event.
  const coreNamespaces = new Set([...coreEvents].map((type) => type.split('.')[0]!))
  for (const plugin of plugins) {
    for (const [type, schema] of Object.entries((plugin.events ?? {}) as Record<string, z.ZodType>)) {
      if (coreEvents.has(type)) problems.push(`${plugin.id}: event ${type} is one of core's`)
      else if (coreNamespaces.has(type.split('.')[0]!)) problems.push(`${plugin.id}: event ${type} is in core's namespace ${type.split('.')[0]}.`)
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
  const narrow = <T extends Kysely<any>>(db: T): T => (guardPlugin ? guardedHandle(db.withPlugin(guardPlugin) as T, guardPlugin) : db)
  // The handle outside transactions is refused inside a transactional hook, guard or not: it would
  // wait for a connection the hook's transaction holds (SQLite's only one), or write apart from it.
  const outside = new OwnTablesGuard(plugin.id, { ownTables: guard, outsideHooks: true })
  const outsideDb = guard ? guardedHandle(rt.db.withPlugin(outside) as Kysely<any>, outside) : (rt.db.withPlugin(outside) as Kysely<any>)
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
    db: outsideDb,
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
