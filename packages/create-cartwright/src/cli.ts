import { createInterface } from 'node:readline/promises'
import { relative } from 'node:path'
import { checkTarget, UsageError, type PaymentsChoice, type StorageChoice } from './project.js'
import { monorepoReferences, readTemplate, renderProject, writeProject } from './scaffold.js'

/** The command line, parsed: what was given, nothing defaulted yet. */
export interface CliArguments {
  dir?: string
  storage?: StorageChoice
  payments?: PaymentsChoice
  /** `--yes`: take the defaults for anything not given, without asking. */
  yes: boolean
  help: boolean
}

const STORAGE = ['sqlite', 'postgres'] as const
const PAYMENTS = ['test', 'stripe'] as const

/** The text `--help` prints. */
export const USAGE = `Usage: npm create cartwright@latest <dir> [-- --storage sqlite|postgres --payments test|stripe --yes]
       create-cartwright <dir> [--storage sqlite|postgres] [--payments test|stripe] [--yes]

Makes a new Cartwright store in <dir> (missing or empty), started from the example shoe store.

  --storage   sqlite (default: an embedded file) or postgres (DATABASE_URL)
  --payments  test (default: the test gateway) or stripe (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET)
  --yes, -y   take the defaults for anything not given, without asking
  --help, -h  print this text`

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T {
  if (value === undefined || value.startsWith('-')) throw new UsageError(`${flag} needs a value: ${allowed.join(' or ')}`)
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be ${allowed.join(' or ')} (got "${value}")`)
  return value as T
}

/**
 * Parses the command's arguments (`--flag value` and `--flag=value`). Throws {@link UsageError}
 * on an unknown flag, a bad value or a second directory.
 *
 * @example
 * ```ts
 * parseArguments(['my-shop', '--storage', 'postgres', '--yes']) // { dir: 'my-shop', storage: 'postgres', yes: true, help: false }
 * ```
 */
export function parseArguments(argv: readonly string[]): CliArguments {
  const parsed: CliArguments = { yes: false, help: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const value = () => inline ?? argv[++i]
    if (flag === '--storage') parsed.storage = choice('--storage', value(), STORAGE)
    else if (flag === '--payments') parsed.payments = choice('--payments', value(), PAYMENTS)
    else if (flag === '--yes' || flag === '-y') parsed.yes = true
    else if (flag === '--help' || flag === '-h') parsed.help = true
    else if (flag.startsWith('-')) throw new UsageError(`Unknown option ${flag}\n\n${USAGE}`)
    else if (parsed.dir !== undefined) throw new UsageError(`One directory only (got "${parsed.dir}" and "${arg}")`)
    else parsed.dir = arg
  }
  return parsed
}

/** Where the command reads and writes: the process's streams, or a test's. */
export interface CliIo {
  cwd: string
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  /** The template directory (default: `template/` next to the command's `dist/`). */
  template?: string | URL
}

async function ask<T extends string>(rl: ReturnType<typeof createInterface>, question: string, allowed: readonly T[]): Promise<T> {
  for (;;) {
    const answer = (await rl.question(`${question} (${allowed.join('/')}, default ${allowed[0]}): `)).trim().toLowerCase()
    if (answer === '') return allowed[0]!
    const match = allowed.find((option) => option === answer || option.startsWith(answer))
    if (match) return match
  }
}

/**
 * Runs the command: parses `argv`, asks for what is missing when stdin is a terminal (else takes
 * the defaults, SQLite and the test gateway), checks the directory and writes the project.
 * Returns the exit code: 0, or 1 with the reason on stderr.
 *
 * @example
 * ```ts
 * const code = await main(['my-shop', '--yes'], { cwd: process.cwd(), stdin: process.stdin, stdout: process.stdout, stderr: process.stderr })
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const args = parseArguments(argv)
    if (args.help) {
      io.stdout.write(`${USAGE}\n`)
      return 0
    }
    const interactive = !args.yes && io.stdin.isTTY === true && (args.dir === undefined || !args.storage || !args.payments)
    let { dir, storage, payments } = args
    if (interactive) {
      const rl = createInterface({ input: io.stdin, output: io.stdout })
      try {
        if (dir === undefined) dir = (await rl.question('Directory of the new store (my-shop): ')).trim() || 'my-shop'
        checkTarget(dir, io.cwd)
        storage ??= await ask(rl, 'Storage', STORAGE)
        payments ??= await ask(rl, 'Payments', PAYMENTS)
      } finally {
        rl.close()
      }
    }
    if (dir === undefined) throw new UsageError(`Name the directory to create.\n\n${USAGE}`)
    const target = checkTarget(dir, io.cwd)
    const choices = { name: target.name, storage: storage ?? 'sqlite', payments: payments ?? 'test' } as const
    const files = renderProject(readTemplate(io.template ?? new URL('../template/', import.meta.url)), choices)
    const references = monorepoReferences(files)
    if (references.length) throw new Error(`The template still points into the Cartwright repository:\n${references.join('\n')}`)
    writeProject(target.path, files)
    const shown = relative(io.cwd, target.path) || '.'
    io.stdout.write(
      [
        `Made ${choices.name} in ${target.path}: storage ${choices.storage}, payments ${choices.payments}.`,
        '',
        'Next:',
        `  cd ${shown}`,
        ...(choices.storage === 'postgres' || choices.payments === 'stripe' ? ['  cp .env.example .env   # then fill it in'] : []),
        '  npm install',
        '  npm run dev          # http://localhost:3000',
        '',
      ].join('\n'),
    )
    return 0
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n`)
      return 1
    }
    io.stderr.write(`create-cartwright failed: ${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }
}
