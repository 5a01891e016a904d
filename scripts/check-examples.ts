/**
 * Type-checks the TypeScript in the documentation, so an example cannot rot:
 *
 * - every ```ts block under an `@example` tag in the JSDoc of the published packages' `src`
 *   (every package under `packages/` that is not private), and
 * - every ```ts block in README.md, docs/*.md, packages/*\/README.md and examples/*\/README.md.
 *
 * Each block becomes one module in a temporary directory and the whole set is checked in one
 * TypeScript program with the root tsconfig's options, against the workspace sources
 * (`@cartwright/*` resolve to `src` through the `cartwright-source` condition). Only errors in
 * the blocks are reported, at their line in the file they came from; the packages' own errors
 * are their `typecheck` script's business.
 *
 * What a block may assume without writing it:
 * - the names declared in PREAMBLE below (an engine `commerce`, a `cart`, …): keep it short, and
 *   add a name only when many examples need the same stand-in;
 * - in a JSDoc example only, every name its own package exports (a reader of the package's API
 *   docs has that package in hand). Markdown blocks are copied into apps: they import what they use.
 *
 * A block that is not meant to compile on its own (an excerpt of a config object, a shape shown
 * for reading, code from outside the published API) is marked by adding `fragment` to its fence
 * info string, "```ts fragment"; it is counted and skipped. Prefer a complete example.
 *
 *   tsx scripts/check-examples.ts            # check; exits 1 on any error
 *   tsx scripts/check-examples.ts --list     # also list every block found
 *   tsx scripts/check-examples.ts --keep     # keep the generated files (path printed)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Stand-ins that examples may use without defining them: the objects every guide talks about. */
const PREAMBLE = `
/** An engine, as \`createCommerce\` returns it. */
declare const commerce: import('@cartwright/core').Commerce
/** A cart, as \`commerce.carts\` methods return it. */
declare const cart: import('@cartwright/core').Cart
/** A placed order, and an order's id. */
declare const order: import('@cartwright/core').Order
declare const orderId: string
/** The id of a sellable variant. */
declare const variantId: string
/** A shipping address. */
declare const shippingAddress: import('@cartwright/core').Address
/** The host app's logger. */
declare const logger: Pick<Console, 'info' | 'warn' | 'error'>
/** A better-sqlite3 handle, as the SQLite adapter's docs call it. */
declare const database: import('@cartwright/storage-sqlite').SqliteDatabase
/** A storage adapter's \`setup\` for the conformance suites: a fresh, empty database per case. */
declare function freshTarget(): Promise<import('@cartwright/testkit').StorageTarget>
/** Stands for a payment gateway's SDK in the adapter guides; its calls are the gateway's, untyped here. */
declare function createClient(apiKey: string): any
`

interface Block {
  /** Repository-relative path of the file it came from. */
  source: string
  /** 1-based line, in that file, of the block's first code line. */
  line: number
  kind: 'jsdoc' | 'markdown'
  /** For a JSDoc example: the package whose exports are in scope. */
  packageName?: string
  code: string
  fragment: boolean
}

const fence = /^(`{3,}|~{3,})\s*([\w+-]*)(.*)$/
const tsLanguages = new Set(['ts', 'typescript', 'mts', 'cts'])

/** ```ts blocks in a list of lines; `firstLine` is the 1-based file line of lines[0]. */
function fencedBlocks(lines: string[], firstLine: number): Array<{ line: number; code: string; fragment: boolean }> {
  const blocks: Array<{ line: number; code: string; fragment: boolean }> = []
  for (let i = 0; i < lines.length; i++) {
    const indent = lines[i]!.length - lines[i]!.trimStart().length
    const open = fence.exec(lines[i]!.trim())
    if (!open) continue
    const [, marks, language = '', info = ''] = open
    let end = i + 1
    while (end < lines.length && !(lines[end]!.trim().startsWith(marks!) && lines[end]!.trim().replace(/[`~]/g, '') === '')) end++
    if (tsLanguages.has(language.toLowerCase())) {
      const body = lines.slice(i + 1, end).map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      blocks.push({ line: firstLine + i + 1, code: body.join('\n'), fragment: /\bfragment\b/.test(info) })
    }
    i = end
  }
  return blocks
}

function markdownBlocks(file: string): Block[] {
  const source = relative(root, file)
  return fencedBlocks(readFileSync(file, 'utf8').split('\n'), 1).map((b) => ({ source, kind: 'markdown', ...b }))
}

/** `@example` sections of every JSDoc comment in a file; examples without a ```ts fence are counted apart. */
function jsdocBlocks(file: string, packageName: string, inline: string[]): Block[] {
  const text = readFileSync(file, 'utf8')
  const source = relative(root, file)
  const blocks: Block[] = []
  for (const match of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const startLine = text.slice(0, match.index).split('\n').length
    const lines = match[0]
      .split('\n')
      .map((l, i) => (i === 0 ? l.replace(/^\s*\/\*\*\s?/, '') : l.replace(/^\s*\* ?/, '')).replace(/\s*\*\/\s*$/, ''))
    let inFence = false
    let section: number | null = null
    const sections: Array<[number, number]> = []
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!
      if (fence.test(line.trim())) inFence = !inFence
      if (inFence) continue
      const tag = /(?:^|\s)@(\w+)/.exec(line)
      if (!tag) continue
      if (section !== null) sections.push([section, i])
      section = tag[1] === 'example' ? i : null
      if (section !== null && !/^\s*@example\s*$/.test(line)) {
        // `@example` followed by text on the same line: a value, not a code block.
        const rest = line.slice(line.indexOf('@example') + '@example'.length).trim()
        if (rest && !fence.test(rest)) inline.push(`${source}:${startLine + i}: ${rest}`)
      }
    }
    if (section !== null) sections.push([section, lines.length])
    for (const [from, to] of sections) {
      const found = fencedBlocks(lines.slice(from + 1, to), startLine + from + 1)
      for (const b of found) blocks.push({ source, kind: 'jsdoc', packageName, ...b })
    }
  }
  return blocks
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : listTs(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'))
}

const workspaceDirs = ['packages', 'examples'].flatMap((group) =>
  readdirSync(join(root, group))
    .map((name) => join(root, group, name))
    .filter((dir) => existsSync(join(dir, 'package.json'))),
)
const published = workspaceDirs
  .filter((dir) => dir.startsWith(join(root, 'packages')))
  .map((dir) => ({ dir, pkg: readJson(join(dir, 'package.json')) }))
  .filter(({ pkg }) => !pkg.private)

const inline: string[] = []
const blocks: Block[] = []
/** Markdown files under `dir`, its subfolders included (docs/guides/…); not the generated API docs. */
function listMarkdown(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'api' || entry.name === 'node_modules' ? [] : listMarkdown(path)
    return entry.name.endsWith('.md') ? [path] : []
  })
}
for (const file of [join(root, 'README.md'), ...listMarkdown(join(root, 'docs')).sort()]) {
  blocks.push(...markdownBlocks(file))
}
for (const dir of workspaceDirs) {
  if (existsSync(join(dir, 'README.md'))) blocks.push(...markdownBlocks(join(dir, 'README.md')))
}
for (const { dir, pkg } of published) {
  for (const file of listTs(join(dir, 'src')).sort()) blocks.push(...jsdocBlocks(file, pkg.name, inline))
}

// The temporary project: one module per block, node_modules links to the workspace packages and
// to the third-party modules the blocks import.
const work = mkdtempSync(join(tmpdir(), 'cartwright-examples-'))
const link = (target: string, name: string) => {
  const path = join(work, 'node_modules', name)
  if (existsSync(path)) return
  mkdirSync(dirname(path), { recursive: true })
  symlinkSync(realpathSync(target), path, 'dir')
}
for (const { dir, pkg } of published) link(dir, pkg.name)
const moduleDirs = [join(root, 'node_modules'), ...workspaceDirs.map((dir) => join(dir, 'node_modules'))]
const bareImports = new Set<string>(['@types/node'])
for (const block of blocks) {
  for (const [, specifier] of block.code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"./][^'"]*)['"]/g)) {
    if (specifier!.startsWith('node:') || specifier!.startsWith('@cartwright/')) continue
    const name = specifier!.split('/').slice(0, specifier!.startsWith('@') ? 2 : 1).join('/')
    bareImports.add(name)
    if (!name.startsWith('@')) bareImports.add(`@types/${name}`)
  }
}
for (const name of bareImports) {
  const dir = moduleDirs.map((d) => join(d, name)).find((d) => existsSync(d))
  if (dir) link(dir, name)
}

const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile)
const { options } = ts.convertCompilerOptionsFromJson(configFile.config.compilerOptions, root)
Object.assign(options, { noEmit: true, typeRoots: [join(work, 'node_modules', '@types')], types: ['node'] })
const host = ts.createCompilerHost(options)

// Every published package's exports, split into values and types, for JSDoc examples.
const exportsProgram = ts.createProgram(
  published.map(({ dir }) => join(dir, 'src', 'index.ts')),
  options,
  host,
)
const checker = exportsProgram.getTypeChecker()
const packageExports = new Map<string, { values: Set<string>; types: Set<string> }>()
for (const { dir, pkg } of published) {
  const file = exportsProgram.getSourceFile(join(dir, 'src', 'index.ts'))!
  const values = new Set<string>()
  const types = new Set<string>()
  for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(file)!)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
    const typeOnly = symbol.declarations?.some((d) => ts.isTypeOnlyExportDeclaration(d as ts.TypeOnlyExportDeclaration)) ?? false
    if (target.flags & ts.SymbolFlags.Value && !typeOnly) values.add(symbol.name)
    else types.add(symbol.name)
  }
  packageExports.set(pkg.name, { values, types })
}

/**
 * Names a block refers to, names it binds at top level (declarations and imports), and whether
 * it is a `key: value` excerpt of an object: that parses as a labeled statement and would pass
 * without checking anything.
 */
function names(code: string): { used: Set<string>; bound: Set<string>; excerpt: boolean } {
  const file = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, true)
  const used = new Set<string>()
  const bound = new Set<string>()
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      const parent = node.parent
      const isName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isQualifiedName(parent) && parent.right === node) ||
        ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isPropertyDeclaration(parent) ||
          ts.isMethodDeclaration(parent) || ts.isMethodSignature(parent)) && parent.name === node) ||
        (ts.isBindingElement(parent) && parent.propertyName === node)
      if (!isName) used.add(node.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  const bind = (name: ts.BindingName | undefined) => {
    if (!name) return
    if (ts.isIdentifier(name)) bound.add(name.text)
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name)
  }
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      if (clause?.name) bound.add(clause.name.text)
      const named = clause?.namedBindings
      if (named && ts.isNamespaceImport(named)) bound.add(named.name.text)
      if (named && ts.isNamedImports(named)) for (const e of named.elements) bound.add(e.name.text)
    } else if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) bind(d.name)
    } else if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      bound.add(statement.name.text)
    }
  }
  return { used, bound, excerpt: file.statements.some((s) => ts.isLabeledStatement(s)) }
}

const checked = blocks.filter((b) => !b.fragment)
const files = new Map<string, Block>()
const failures = new Map<Block, string[]>()
let errors = 0
checked.forEach((block, index) => {
  const { used, bound, excerpt } = names(block.code)
  if (excerpt) {
    failures.set(block, [`${block.source}:${block.line}: a \`key: value\` excerpt checks nothing: write a complete call, or mark the block \`ts fragment\``])
    errors++
  }
  // Imports and `export {}` go after the code, so the block's lines keep their numbers.
  let tail = '\nexport {}\n'
  if (block.kind === 'jsdoc' && block.packageName) {
    const available = packageExports.get(block.packageName)!
    const wanted = [...used].filter((n) => !bound.has(n))
    const values = wanted.filter((n) => available.values.has(n))
    const types = wanted.filter((n) => available.types.has(n))
    if (values.length) tail += `import { ${values.join(', ')} } from '${block.packageName}'\n`
    if (types.length) tail += `import type { ${types.join(', ')} } from '${block.packageName}'\n`
  }
  const name = join(work, `${String(index).padStart(3, '0')}-${block.source.replace(/[^\w]+/g, '-')}-${block.line}.ts`)
  writeFileSync(name, `${block.code}\n${tail}`)
  files.set(name, block)
})
writeFileSync(join(work, 'preamble.d.ts'), PREAMBLE)

const program = ts.createProgram([join(work, 'preamble.d.ts'), ...files.keys()], options, host)
for (const diagnostic of [...program.getGlobalDiagnostics(), ...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()]) {
  const block = diagnostic.file ? files.get(diagnostic.file.fileName) : undefined
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ')
  if (diagnostic.file && !block) {
    if (diagnostic.file.fileName.startsWith(work)) {
      // An error in the preamble is an error of this script.
      console.error(`preamble: TS${diagnostic.code} ${message}`)
      errors++
    }
    continue
  }
  if (!block) {
    console.error(`TS${diagnostic.code} ${message}`)
    errors++
    continue
  }
  const { line, character } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
  const list = failures.get(block) ?? []
  list.push(`${block.source}:${block.line + line}:${character + 1} TS${diagnostic.code}: ${message}`)
  failures.set(block, list)
  errors++
}

const args = new Set(process.argv.slice(2))
if (args.has('--list')) {
  for (const block of blocks) console.log(`${block.fragment ? 'fragment' : failures.has(block) ? 'FAIL    ' : 'ok      '} ${block.source}:${block.line}`)
  for (const value of inline) console.log(`inline   ${value}`)
}
for (const lines of failures.values()) for (const line of lines) console.error(line)
const jsdoc = checked.filter((b) => b.kind === 'jsdoc').length
const fragments = blocks.filter((b) => b.fragment)
console.log(
  `examples: ${checked.length} checked (${jsdoc} JSDoc @example, ${checked.length - jsdoc} markdown), ` +
    `${fragments.length} fragments skipped, ${inline.length} inline @example values not code; ` +
    `${failures.size} failed with ${errors} errors`,
)
if (args.has('--keep')) console.log(`generated files kept in ${work}`)
else rmSync(work, { recursive: true, force: true })
process.exit(errors > 0 ? 1 : 0)
