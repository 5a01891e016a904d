/**
 * Makes `template/` from examples/shoe-store: its `src/` and `assets/`, the project's own test
 * (`overlay/test/`), and `manifest.json` with the published version of every `@cartwright/*`
 * package it uses and the ranges of its other dependencies. Then renders each combination of
 * choices and fails when one still points into this repository, so a shoe-store change that the
 * rewrite no longer fits stops the build instead of the user's project.
 *
 *   tsx scripts/build-template.ts [outDir]   # default: ./template (run by `build` and `prepack`)
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TemplateManifest } from '../src/project.js'
import { monorepoReferences, readTemplate, renderProject } from '../src/scaffold.js'

const here = fileURLToPath(new URL('..', import.meta.url))
const repository = resolve(here, '../..')
const store = join(repository, 'examples/shoe-store')

interface PackageJson {
  name: string
  version: string
  private?: boolean
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
}

const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PackageJson

/** The packages the new project may depend on besides the shoe store's own. */
const CHOSEN = ['@cartwright/storage-sqlite', '@cartwright/storage-postgres', '@cartwright/payment-stripe']

export function buildManifest(): TemplateManifest {
  const published = new Map<string, string>()
  for (const dir of readdirSync(join(repository, 'packages'))) {
    const file = join(repository, 'packages', dir, 'package.json')
    if (!existsSync(file)) continue
    const pkg = read(file)
    if (!pkg.private) published.set(pkg.name, pkg.version)
  }
  const shoeStore = read(join(store, 'package.json'))
  const root = read(join(repository, 'package.json'))
  const cartwright: Record<string, string> = {}
  const dependencies: Record<string, string> = {}
  for (const [name, range] of Object.entries(shoeStore.dependencies ?? {})) {
    if (name.startsWith('@cartwright/')) {
      const version = published.get(name)
      if (!version) throw new Error(`The shoe store depends on ${name}, which is not a published package of this repository`)
      cartwright[name] = version
    } else {
      if (range.startsWith('workspace:')) throw new Error(`The shoe store depends on ${name} through the workspace`)
      dependencies[name] = range
    }
  }
  for (const name of CHOSEN) {
    const version = published.get(name)
    if (!version) throw new Error(`${name} is not a published package of this repository`)
    cartwright[name] = version
  }
  const tooling = (name: string, from: PackageJson) => {
    const range = from.devDependencies?.[name] ?? from.dependencies?.[name]
    if (!range) throw new Error(`No range for ${name} in ${from.name}`)
    return range
  }
  const devDependencies = {
    '@types/better-sqlite3': tooling('@types/better-sqlite3', shoeStore),
    '@types/node': tooling('@types/node', root),
    tsx: tooling('tsx', shoeStore),
    typescript: tooling('typescript', root),
    vitest: tooling('vitest', root),
  }
  return { cartwright, dependencies, devDependencies }
}

export function buildTemplate(out: string): void {
  rmSync(out, { recursive: true, force: true })
  mkdirSync(join(out, 'files'), { recursive: true })
  cpSync(join(store, 'src'), join(out, 'files/src'), { recursive: true })
  cpSync(join(store, 'assets'), join(out, 'files/assets'), { recursive: true })
  cpSync(join(here, 'overlay'), join(out, 'files'), { recursive: true })
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(buildManifest(), null, 2)}\n`)

  const template = readTemplate(out)
  for (const storage of ['sqlite', 'postgres'] as const) {
    for (const payments of ['test', 'stripe'] as const) {
      const files = renderProject(template, { name: 'check', storage, payments })
      const problems = monorepoReferences(files)
      const dropped = storage === 'sqlite' ? ['@cartwright/storage-postgres', "'pg'"] : ['@cartwright/storage-sqlite', "'better-sqlite3'"]
      for (const [path, content] of files) {
        if (typeof content !== 'string' || !path.startsWith('src/')) continue
        for (const name of dropped) if (content.includes(name)) problems.push(`${path}: still uses ${name}`)
      }
      if (problems.length) throw new Error(`The ${storage} + ${payments} project is not self-contained:\n${problems.join('\n')}`)
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = resolve(process.argv[2] ?? join(here, 'template'))
  buildTemplate(out)
  console.log(`template: ${readTemplate(out).files.size} files from examples/shoe-store → ${out}`)
}
