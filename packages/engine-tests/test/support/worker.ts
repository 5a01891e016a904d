import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * One harness for the tests that run the engine in other processes: the parent starts a worker
 * script (test/support/workers/*.ts) and drives it with requests over the IPC channel; the worker
 * answers each with {@link serveRequests}. Closing the channel stops a worker; SIGKILL kills it.
 */

const packageRoot = fileURLToPath(new URL('../..', import.meta.url))

/** A request: `type` names what to do; the rest is its input. */
export interface WorkerRequest {
  type: string
  [field: string]: unknown
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string }

export interface WorkerProcess {
  readonly pid: number
  readonly child: ChildProcess
  /** Settles when the process has exited, however. */
  readonly exited: Promise<void>
  readonly hasExited: boolean
  /** The last 4,000 characters the worker wrote to stderr. */
  stderr(): string
  /** Sends a request; resolves with the worker's answer, rejects with its error or when it exits first. */
  request<T = unknown>(message: WorkerRequest): Promise<T>
  /** SIGKILL, as a crash would: no cleanup runs in the worker. Resolves once it has exited. */
  kill(): Promise<void>
  /** Closes the channel so the worker shuts down cleanly; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>
}

/**
 * Starts `test/support/workers/<name>.ts` under tsx, with `@cartwright/*` resolved to source.
 *
 * @example
 * ```ts
 * const worker = startWorker('checkout-worker')
 * const cartIds = await worker.request<string[]>({ type: 'prepare', input })
 * ```
 */
export function startWorker(name: string): WorkerProcess {
  const script = fileURLToPath(new URL(`./workers/${name}.ts`, import.meta.url))
  const child = fork(script, [], {
    cwd: packageRoot,
    // No 'import' condition here: it would make require('pg-pool') load an ESM build.
    execArgv: ['--import', 'tsx', '--conditions=cartwright-source'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  })
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  let nextId = 0
  let stderr = ''
  let exitError: Error | null = null
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  child.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id)
    pending.delete(reply.id)
    if (!waiter) return
    if (reply.ok) waiter.resolve(reply.value)
    else waiter.reject(new Error(`worker ${child.pid} failed:\n${reply.error}`))
  })
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitError = new Error(`worker ${child.pid} exited (${code ?? signal})\n${stderr}`)
      for (const waiter of pending.values()) waiter.reject(exitError)
      pending.clear()
      resolve()
    })
  })
  const worker: WorkerProcess = {
    pid: child.pid!,
    child,
    exited,
    get hasExited() {
      return exitError !== null
    },
    stderr: () => stderr,
    request<T>(message: WorkerRequest): Promise<T> {
      if (exitError) return Promise.reject(exitError)
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
        child.send({ ...message, id })
      })
    },
    async kill() {
      if (exitError) return
      child.kill('SIGKILL')
      await exited
    },
    async stop(timeoutMs = 10_000) {
      if (exitError) return
      if (child.connected) child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      await exited
      clearTimeout(timer)
    },
  }
  return worker
}

/**
 * The worker's side: answers each request with what `handle` resolves to (or its error), and
 * exits once the parent closes the channel (or dies), after `onStop`.
 */
export function serveRequests(handle: (message: WorkerRequest) => Promise<unknown>, onStop: () => Promise<void> = async () => {}): void {
  process.on('message', (message: WorkerRequest & { id: number }) => {
    handle(message).then(
      (value) => process.send!({ id: message.id, ok: true, value } satisfies Reply),
      (error: unknown) => process.send!({ id: message.id, ok: false, error: (error as Error)?.stack ?? String(error) } satisfies Reply),
    )
  })
  process.on('disconnect', () => {
    onStop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`)
        process.exit(1)
      },
    )
  })
}
