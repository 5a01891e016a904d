// Classifies errors from pg by SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html)
// or, for failures below the protocol, by Node's error code or pg's message.
// kysely and callers may wrap the driver's error, so the whole `cause` chain is checked.

const UNIQUE_VIOLATION = '23505'
const CHECK_VIOLATION = '23514'

const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout, NOWAIT)
  '57P01', // admin_shutdown (also pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '53300', // too_many_connections
])

// Class 08: connection_exception and its subclasses.
const CONNECTION_EXCEPTION_CLASS = '08'

const NODE_CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'])

// pg raises these as plain Errors without a code.
const CONNECTION_LOST_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
]

/** True for a unique-constraint violation (SQLSTATE 23505) anywhere in the cause chain. */
export function isUniqueViolation(error: unknown): boolean {
  return someInChain(error, (e) => codeOf(e) === UNIQUE_VIOLATION)
}

/** True for a check-constraint violation (SQLSTATE 23514) anywhere in the cause chain. */
export function isCheckViolation(error: unknown): boolean {
  return someInChain(error, (e) => codeOf(e) === CHECK_VIOLATION)
}

/**
 * True when retrying may succeed: serialisation failure, deadlock, lock timeout,
 * the backend terminated or restarting, a connection exception, or a lost socket.
 */
export function isRetryable(error: unknown): boolean {
  return someInChain(error, (e) => {
    const code = codeOf(e)
    return (code !== undefined && RETRYABLE_SQLSTATES.has(code)) || isConnectionFailure(e)
  })
}

/**
 * True when the connection that raised `error` is unusable: the server ended
 * the session (a FATAL or PANIC error, e.g. pg_terminate_backend) or the socket
 * failed. Such a connection must not go back to the pool.
 */
export function endsSession(error: unknown): boolean {
  return someInChain(error, (e) => {
    const severity = (e as { severity?: unknown }).severity
    return severity === 'FATAL' || severity === 'PANIC' || isConnectionFailure(e)
  })
}

function isConnectionFailure(error: object): boolean {
  const code = codeOf(error)
  if (code !== undefined) {
    if (NODE_CONNECTION_CODES.has(code)) return true
    if (code.length === 5 && code.startsWith(CONNECTION_EXCEPTION_CLASS)) return true
  }
  const message = (error as { message?: unknown }).message
  return typeof message === 'string' && CONNECTION_LOST_MESSAGES.some((m) => message.includes(m))
}

function codeOf(error: object): string | undefined {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

/** Walks `error`, its `cause`s and an AggregateError's `errors` (Node's multi-address connect). */
function someInChain(error: unknown, test: (error: object) => boolean): boolean {
  const pending: unknown[] = [error]
  const seen = new Set<object>()
  while (pending.length > 0) {
    const current = pending.pop()
    if (typeof current !== 'object' || current === null || seen.has(current)) continue
    seen.add(current)
    if (test(current)) return true
    pending.push((current as { cause?: unknown }).cause)
    const nested = (current as { errors?: unknown }).errors
    if (Array.isArray(nested)) pending.push(...nested)
  }
  return false
}
