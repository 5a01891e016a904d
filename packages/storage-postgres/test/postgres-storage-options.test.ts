import { describe, expect, it } from 'vitest'
import { postgresStorage, type PostgresStorageOptions } from '../src/index.js'

const attempt = (options: unknown) => () => postgresStorage(options as PostgresStorageOptions)

describe('postgresStorage options', () => {
  it('accept a connection string, with pool settings and a statement timeout', () => {
    expect(() =>
      postgresStorage({
        connectionString: 'postgres://localhost/shop',
        pool: { max: 4, idleTimeoutMillis: 0, connectionTimeoutMillis: 2_000 },
        statementTimeoutMs: 5_000,
      }),
    ).not.toThrow()
  })

  it('accept a pool-like object (the host owns the pool)', () => {
    const pool = { connect: async () => ({}) as never, end: async () => {} }
    expect(() => postgresStorage({ pool })).not.toThrow()
  })

  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', undefined, /options must be an object/],
    ['neither connectionString nor pool', {}, /missing connectionString/],
    ['an empty connectionString', { connectionString: '' }, /connectionString: must be a non-empty/],
    ['a non-string connectionString', { connectionString: 5432 }, /connectionString: /],
    ['pool.max of zero', { connectionString: 'postgres://x', pool: { max: 0 } }, /pool\.max: /],
    ['a fractional pool.max', { connectionString: 'postgres://x', pool: { max: 2.5 } }, /pool\.max: /],
    ['a negative idle timeout', { connectionString: 'postgres://x', pool: { idleTimeoutMillis: -1 } }, /pool\.idleTimeoutMillis: /],
    ['a zero statement timeout', { connectionString: 'postgres://x', statementTimeoutMs: 0 }, /statementTimeoutMs: /],
    ['a misspelt option', { connectionString: 'postgres://x', statementTimeout: 10 }, /unknown option "statementTimeout"/],
    ['pool settings without a connectionString', { pool: { max: 5 } }, /pool: must be a pg.Pool instance/],
    ['a host pool with connection settings', { pool: { connect() {}, end() {} }, statementTimeoutMs: 10 }, /unknown option "statementTimeoutMs" \(with a pool you built/],
  ]
  it.each(bad)('reject %s with a prefixed message naming the option', (_name, options, message) => {
    expect(attempt(options)).toThrow(message)
    expect(attempt(options)).toThrow(/^\[cartwright:storage-postgres\] /)
  })
})
