import { createQueryId, type Compilable, type CompiledQuery, type DialectAdapter, type Kysely, type QueryResult } from 'kysely'
import type { CoreDatabase } from './database.js'

/** A parameter's place in the parameters object: a key, then an index and a field inside a list. */
type Path = readonly [string] | readonly [string, number] | readonly [string, number, string]

/** Stands in for a parameter while the query is built; compiling turns it into one placeholder (`?` or `$n`). */
class Placeholder {
  constructor(readonly path: Path) {}
}

/** Where each parameter of the compiled SQL comes from: the caller's parameters, or a constant of the query. */
type Slot = { readonly path: Path } | { readonly constant: unknown }

interface Template {
  readonly sql: string
  readonly query: CompiledQuery['query']
  readonly slots: readonly Slot[]
}

/** Beyond this many shapes (lengths of list parameters) per database, a query is built on each call instead of cached. */
const MAX_SHAPES = 32

/**
 * A query that is built and compiled once per database (per `Kysely` instance and its
 * transactions), then executed with new parameter values.
 *
 * kysely builds an operation tree and compiles it to SQL on every call; for the short
 * statements of a checkout that costs more than SQLite takes to run them. A compiled query
 * skips both, and hands the driver the very same SQL string each time, so the SQLite
 * adapter's prepared-statement cache finds its statement at once.
 *
 * Rules for `build`:
 * - use each parameter as a value only (a comparison, a `set`, an inserted column, a value in
 *   `sql`...), never to decide the query's shape: during the build it is a placeholder object.
 *   Every parameter must end up in the SQL; compiling checks this.
 * - a parameter may be a list (for `in (...)`, or rows of a multi-row insert whose rows all have the
 *   same fields): the query is then compiled once per list length. Lists must not be empty.
 * - no parameter may be `undefined` when executed (kysely would leave such a column out; the
 *   compiled SQL cannot).
 *
 * When the executor has kysely plugins, the query is built and compiled on every call as usual:
 * plugins expect to see each query.
 *
 * @example
 * ```ts fragment
 * const cartById = compiledQuery((db, $: { cartId: string }) => db.selectFrom('cw_carts').selectAll().where('id', '=', $.cartId))
 * const row = await cartById.first(tx, { cartId })
 * ```
 */
export function compiledQuery<P extends object, R>(build: (db: Kysely<CoreDatabase>, $: P) => Compilable<R>): ReusableQuery<P, R> {
  return new ReusableQuery(build)
}

/** A query made by {@link compiledQuery}. */
export class ReusableQuery<P extends object, R> {
  readonly #build: (db: Kysely<CoreDatabase>, $: P) => Compilable<R>
  /** Templates per dialect adapter (kysely makes one per `Kysely` instance), then per shape. */
  readonly #templates = new WeakMap<DialectAdapter, Map<string, Template>>()
  /** Keys of the parameters that are lists; known after the first call. */
  #listKeys: string[] | undefined

  constructor(build: (db: Kysely<CoreDatabase>, $: P) => Compilable<R>) {
    this.#build = build
  }

  /** Runs the query and returns kysely's raw result (rows, affected row count). */
  execute(db: Kysely<CoreDatabase>, params: P): Promise<QueryResult<R>> {
    let query: CompiledQuery<R>
    try {
      query = this.#compiled(db, params)
    } catch (error) {
      return Promise.reject(error)
    }
    return db.executeQuery(query)
  }

  /** Runs the query and returns its rows. */
  async rows(db: Kysely<CoreDatabase>, params: P): Promise<R[]> {
    return (await this.execute(db, params)).rows
  }

  /** Runs the query and returns its first row, if any. */
  async first(db: Kysely<CoreDatabase>, params: P): Promise<R | undefined> {
    return (await this.execute(db, params)).rows[0]
  }

  /** Runs an insert, update or delete and returns how many rows it changed. */
  async affected(db: Kysely<CoreDatabase>, params: P): Promise<number> {
    return Number((await this.execute(db, params)).numAffectedRows ?? 0)
  }

  /** The query for these parameters: the cached compilation with their values, or a fresh build. */
  #compiled(db: Kysely<CoreDatabase>, params: P): CompiledQuery<R> {
    // getExecutor() is in kysely's public types (its docs call it internal); only its adapter and plugins are read.
    const executor = db.getExecutor()
    const template = executor.plugins.length === 0 ? this.#template(db, executor.adapter, params) : undefined
    if (template === undefined) return this.#build(db, params).compile()
    const { slots } = template
    const parameters: unknown[] = new Array(slots.length)
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!
      if ('constant' in slot) {
        parameters[i] = slot.constant
        continue
      }
      const value = valueAt(params, slot.path)
      if (value === undefined) throw new Error(`[cartwright] compiled query parameter ${describe(slot.path)} is undefined`)
      parameters[i] = value
    }
    return { sql: template.sql, query: template.query, parameters, queryId: createQueryId() }
  }

  #template(db: Kysely<CoreDatabase>, adapter: DialectAdapter, params: P): Template | undefined {
    const listKeys = (this.#listKeys ??= Object.keys(params).filter((key) => Array.isArray(params[key as keyof P])))
    let shape = ''
    for (const key of listKeys) shape += `${(params[key as keyof P] as unknown[]).length},`
    let byShape = this.#templates.get(adapter)
    if (byShape === undefined) this.#templates.set(adapter, (byShape = new Map()))
    let template = byShape.get(shape)
    if (template === undefined) {
      if (byShape.size >= MAX_SHAPES) return undefined
      template = compileTemplate(this.#build, db, params)
      byShape.set(shape, template)
    }
    return template
  }
}

function compileTemplate<P extends object, R>(build: (db: Kysely<CoreDatabase>, $: P) => Compilable<R>, db: Kysely<CoreDatabase>, params: P): Template {
  const placeholders: Placeholder[] = []
  const make = (path: Path) => {
    const placeholder = new Placeholder(path)
    placeholders.push(placeholder)
    return placeholder
  }
  const stand: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(params)) {
    stand[key] = Array.isArray(value)
      ? value.map((item, index) =>
          isRecord(item) ? Object.fromEntries(Object.keys(item).map((field) => [field, make([key, index, field])])) : make([key, index]),
        )
      : make([key])
  }
  const compiled = build(db, stand as P).compile()
  const used = new Set<Placeholder>()
  const slots = compiled.parameters.map((parameter): Slot => {
    if (parameter instanceof Placeholder) {
      used.add(parameter)
      return { path: parameter.path }
    }
    if (containsPlaceholder(parameter)) {
      throw new Error('[cartwright] a compiled query used a list parameter as one value; lists may only be compared with `in` or inserted as rows')
    }
    return { constant: parameter }
  })
  const unused = placeholders.filter((p) => !used.has(p))
  if (unused.length > 0) {
    throw new Error(
      `[cartwright] compiled query parameter ${describe(unused[0]!.path)} is not a value in the SQL; a compiled query must not use its parameters to decide its shape`,
    )
  }
  return { sql: compiled.sql, query: compiled.query, slots }
}

function valueAt(params: object, path: Path): unknown {
  let value = (params as Record<string, unknown>)[path[0]]
  if (path.length > 1) value = (value as unknown[])[path[1]!]
  if (path.length > 2) value = (value as Record<string, unknown>)[path[2]!]
  return value
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}

function containsPlaceholder(value: unknown): boolean {
  if (value instanceof Placeholder) return true
  if (Array.isArray(value)) return value.some(containsPlaceholder)
  return isRecord(value) && Object.values(value).some(containsPlaceholder)
}

function describe(path: Path): string {
  return path.map((part, i) => (i === 0 ? part : typeof part === 'number' ? `[${part}]` : `.${part}`)).join('')
}
