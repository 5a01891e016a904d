/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by package and by
 * function, and inclusive time of Cartwright's own functions.
 *
 *   tsx src/profile-summary.ts .profiles/CPU.*.cpuprofile [--top 25]
 *
 * tsx emits each TypeScript file as one long line, so the profile's positions are columns
 * of that line. When tsx's transform cache is still there (`$TMPDIR/tsx-<uid>`), positions
 * are mapped back to TypeScript lines through the cached source maps.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

const args = process.argv.slice(2)
const topIndex = args.indexOf('--top')
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25
const files = args.filter((a, i) => !a.startsWith('--') && (topIndex < 0 || i !== topIndex + 1))
if (files.length === 0) {
  console.error('usage: tsx src/profile-summary.ts <file.cpuprofile> [--top N]')
  process.exit(1)
}

/** Where a frame's code lives: a Cartwright package, a dependency, node itself, or V8. */
function origin(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)'
  const cw = /packages\/([^/]+)\/src\//.exec(url)
  if (cw) return `@cartwright/${cw[1]}`
  const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dep) return dep[1]!
  if (url.startsWith('node:')) return 'node:internal'
  return url.replace(/^file:\/\//, '')
}

// --- source maps of tsx's transform cache ------------------------------------------------------

const VLQ = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]))

function decodeVlq(segment: string): number[] {
  const out: number[] = []
  let value = 0
  let shift = 0
  for (const c of segment) {
    const digit = VLQ.get(c)!
    value += (digit & 31) << shift
    if (digit & 32) shift += 5
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1)
      value = 0
      shift = 0
    }
  }
  return out
}

interface Cached {
  code: string
  /** Per generated line: [generatedColumn, originalLine] pairs, sorted by column. */
  lines: Array<Array<[number, number]>>
}

function parseMap(code: string, map: { mappings: string }): Cached {
  const lines: Cached['lines'] = []
  let srcLine = 0
  const state = [0, 0, 0, 0, 0]
  for (const text of map.mappings.split(';')) {
    const segments: Array<[number, number]> = []
    state[0] = 0
    for (const seg of text.split(',')) {
      if (!seg) continue
      const v = decodeVlq(seg)
      for (let i = 0; i < v.length; i++) state[i] = state[i]! + v[i]!
      if (v.length >= 4) {
        srcLine = state[2]!
        segments.push([state[0]!, srcLine])
      }
    }
    lines.push(segments)
  }
  return { code, lines }
}

/** Transformed files by source path; several versions of one file may be cached. */
function loadTsxCache(): Map<string, Cached[]> {
  const byPath = new Map<string, Cached[]>()
  let dir: string
  try {
    dir = join(tmpdir(), `tsx-${userInfo().uid}`)
    for (const name of readdirSync(dir)) {
      try {
        const entry = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { code?: string; map?: string | { sources: string[]; mappings: string } }
        const map = typeof entry.map === 'string' ? JSON.parse(entry.map) : entry.map
        if (!entry.code || !map?.sources?.length) continue
        const list = byPath.get(map.sources[0]) ?? []
        list.push(parseMap(entry.code, map))
        byPath.set(map.sources[0], list)
      } catch {
        // not a transform entry
      }
    }
  } catch {
    // no cache
  }
  return byPath
}

const tsxCache = loadTsxCache()
const chosen = new Map<string, Cached | null>()

/** Picks the cached version of a file whose code has the profile's function names at the profile's positions. */
function versionFor(path: string, frames: CallFrame[]): Cached | null {
  if (chosen.has(path)) return chosen.get(path)!
  let best: Cached | null = null
  let bestScore = 0
  for (const candidate of tsxCache.get(path) ?? []) {
    let score = 0
    for (const f of frames) {
      if (!f.functionName) continue
      const line = candidate.code.split('\n')[f.lineNumber] ?? ''
      if (line.slice(Math.max(0, f.columnNumber - 60), f.columnNumber + 60).includes(f.functionName.replace(/^#/, ''))) score++
    }
    if (score > bestScore) {
      best = candidate
      bestScore = score
    }
  }
  chosen.set(path, best)
  return best
}

let framesByPath = new Map<string, CallFrame[]>()

function originalLine(frame: CallFrame): number | null {
  const path = frame.url.replace(/^file:\/\//, '')
  if (!path.endsWith('.ts')) return null
  const version = versionFor(path, framesByPath.get(path) ?? [])
  const segments = version?.lines[frame.lineNumber]
  if (!segments?.length) return null
  let line: number | null = null
  for (const [col, src] of segments) {
    if (col > frame.columnNumber) break
    line = src
  }
  return line === null ? null : line + 1
}

function label(frame: CallFrame): string {
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(packages|node_modules)\//, '$1/').replace(/^.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
  const line = originalLine(frame) ?? frame.lineNumber + 1
  return `${frame.functionName || '(anonymous)'} ${file ? `${file}:${line}` : ''}`.trim()
}

for (const path of files) {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  framesByPath = new Map()
  for (const n of profile.nodes) {
    const path = n.callFrame.url.replace(/^file:\/\//, '')
    if (path.endsWith('.ts')) framesByPath.set(path, [...(framesByPath.get(path) ?? []), n.callFrame])
  }
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const totalUs = profile.endTime - profile.startTime

  const selfByFunction = new Map<string, number>()
  const selfByOrigin = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!
    const key = label(node.callFrame)
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + us)
    const o = origin(node.callFrame.url, node.callFrame.functionName)
    selfByOrigin.set(o, (selfByOrigin.get(o) ?? 0) + us)
    // Inclusive time of Cartwright frames: count each distinct frame once per stack.
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame
      if (!/packages\/(core|storage-sqlite)\/src\//.test(frame.url)) continue
      const k = label(frame)
      if (seen.has(k)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + us)
    }
  }
  const pct = (us: number) => `${((100 * us) / totalUs).toFixed(1).padStart(5)} %`
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`
  const show = (title: string, map: Map<string, number>, n: number) => {
    console.log(`\n${title}`)
    for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`  ${ms(us)} ${pct(us)}  ${k}`)
  }
  console.log(`${path}: ${(totalUs / 1000).toFixed(0)} ms profiled, ${profile.samples.length} samples`)
  show('Self time by origin', selfByOrigin, 20)
  show(`Self time, top ${top} functions`, selfByFunction, top)
  show(`Inclusive time, top ${top} Cartwright functions (core, storage-sqlite)`, inclusive, top)
}
