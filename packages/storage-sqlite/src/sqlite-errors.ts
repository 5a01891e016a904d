/**
 * Classifies errors raised by better-sqlite3 (`SqliteError`, whose `code` is the
 * extended SQLite result code name). Matching is by `code`, never `instanceof`,
 * so a duplicate install of better-sqlite3 is recognised too. Wrappers (kysely,
 * CommerceError, the host) keep the driver error as `cause`, so the chain is walked.
 */

/** Deep enough for any real wrapper chain; bounded in case of a cycle. */
const MAX_CAUSE_DEPTH = 8

function someSqliteCode(error: unknown, test: (code: string) => boolean): boolean {
  let current = error
  for (let depth = 0; depth < MAX_CAUSE_DEPTH; depth++) {
    if (typeof current !== 'object' || current === null) return false
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('SQLITE_') && test(code)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

const isUniqueCode = (code: string): boolean =>
  code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'

const isCheckCode = (code: string): boolean => code === 'SQLITE_CONSTRAINT_CHECK'

// BUSY: another connection holds the lock past busy_timeout (or a WAL snapshot went stale).
// LOCKED: a conflict inside this connection or its shared cache; both clear on retry.
const isRetryableCode = (code: string): boolean =>
  code === 'SQLITE_BUSY' ||
  code.startsWith('SQLITE_BUSY_') ||
  code === 'SQLITE_LOCKED' ||
  code.startsWith('SQLITE_LOCKED_')

/** True for a UNIQUE or PRIMARY KEY violation anywhere in the `cause` chain. */
export function isUniqueViolation(error: unknown): boolean {
  return someSqliteCode(error, isUniqueCode)
}

/** True for a CHECK constraint violation anywhere in the `cause` chain. */
export function isCheckViolation(error: unknown): boolean {
  return someSqliteCode(error, isCheckCode)
}

/** True for SQLITE_BUSY* or SQLITE_LOCKED* anywhere in the `cause` chain. */
export function isRetryable(error: unknown): boolean {
  return someSqliteCode(error, isRetryableCode)
}
