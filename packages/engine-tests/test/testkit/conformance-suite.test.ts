import { describe, expect, it } from 'vitest'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { numberedParameters, storageConformance, type ConformanceSuite, type TestRunner } from '@cartwright/testkit'

const target = () => ({ adapter: sqliteStorage(), backdoor: { query: async () => [] } })

/** A fake runner that records what the suite registers. */
function recorder(options: { describe?: boolean; skip?: boolean } = {}) {
  const events: string[] = []
  const lines: string[] = []
  const stack: string[] = []
  const it = Object.assign((name: string) => void events.push(`it ${[...stack, name].join(' / ')}`), options.skip === false ? {} : { skip: (name: string) => void events.push(`skip ${[...stack, name].join(' / ')}`) })
  const runner: TestRunner = {
    it,
    log: (line) => lines.push(line),
    ...(options.describe === false
      ? {}
      : {
          describe: (name: string, body: () => void) => {
            stack.push(name)
            body()
            stack.pop()
          },
        }),
  }
  return { runner, events, lines }
}

const someTitle = (suite: ConformanceSuite) => suite.cases[0]!.title

describe('storageConformance', () => {
  it('lists every case with a group, a name and a "group > name" title', () => {
    const suite = storageConformance({ name: 'fake', setup: target })
    expect(suite.cases.length).toBeGreaterThan(40)
    for (const c of suite.cases) {
      expect(c.title).toBe(`${c.group} > ${c.name}`)
      expect(c.skip).toBeNull()
    }
    expect(new Set(suite.cases.map((c) => c.title)).size).toBe(suite.cases.length)
    expect([...new Set(suite.cases.map((c) => c.group))]).toEqual([
      'adapter',
      'crud',
      'transactions',
      'idempotency keys',
      'one order per cart',
      'money',
      'UTC timestamps',
      'unicode',
      'concurrency',
      'payments',
      'outbox claiming',
    ])
  })

  it('registers suite > group > case with describe, and prints one line per skip with its reason', () => {
    const probe = storageConformance({ name: 'fake', setup: target })
    const title = someTitle(probe)
    const suite = storageConformance({ name: 'fake', setup: target, skip: [{ reason: 'no reason to run it', tests: [title] }] })
    const { runner, events, lines } = recorder()
    suite.register(runner)
    expect(events).toHaveLength(suite.cases.length)
    expect(events[0]).toBe(`skip fake / ${suite.cases[0]!.group} / ${suite.cases[0]!.name}`)
    expect(events[1]).toBe(`it fake / ${suite.cases[1]!.group} / ${suite.cases[1]!.name}`)
    expect(lines).toEqual([`[cartwright:testkit] fake: skipping "${title}": no reason to run it`])
  })

  it('skips a whole group by its name', () => {
    const suite = storageConformance({ name: 'fake', setup: target, skip: [{ reason: 'one engine only', tests: ['outbox claiming'] }] })
    const skipped = suite.cases.filter((c) => c.skip !== null)
    expect(skipped.length).toBeGreaterThan(1)
    expect(skipped.every((c) => c.group === 'outbox claiming' && c.skip === 'one engine only')).toBe(true)
  })

  it('without describe, titles carry the suite and group; without it.skip, skipped cases are only printed', () => {
    const suite = storageConformance({ name: 'fake', setup: target, skip: [{ reason: 'r', tests: ['money'] }] })
    const { runner, events, lines } = recorder({ describe: false, skip: false })
    suite.register(runner)
    const money = suite.cases.filter((c) => c.group === 'money').length
    expect(events).toHaveLength(suite.cases.length - money)
    expect(events[0]).toBe(`it fake > ${suite.cases[0]!.title}`)
    expect(lines).toHaveLength(money)
  })

  it('refuses a skip naming no known test, so a renamed test cannot silently stop being skipped', () => {
    expect(() => storageConformance({ name: 'fake', setup: target, skip: [{ reason: 'r', tests: ['crud > no such test'] }] })).toThrow(
      /\[cartwright:testkit\] skip\[0\]: no test or group is called "crud > no such test"/,
    )
    expect(() => storageConformance({ name: 'fake', setup: target, skip: [{ reason: ' ', tests: ['crud'] }] })).toThrow(/reason/)
    expect(() => storageConformance({ name: 'fake', setup: target, skip: [{ reason: 'r', tests: [] }] })).toThrow(/tests/)
  })

  it('checks its options when called and says what is wrong', () => {
    expect(() => storageConformance({ name: '', setup: target })).toThrow(/name/)
    expect(() => storageConformance({ name: 'x' } as never)).toThrow(/setup/)
    expect(() => storageConformance({ name: 'x', setup: target, concurrency: { writers: 0 } })).toThrow(/writers/)
    expect(() => storageConformance({ name: 'x', setup: target }).register({} as never)).toThrow(/\{ it \}/)
  })

  it('fails a case clearly when setup returns something that is not a target', async () => {
    const suite = storageConformance({ name: 'broken', setup: () => ({ adapter: {}, backdoor: {} }) as never })
    await expect(suite.cases[0]!.run()).rejects.toThrow(/adapter is not a storage adapter/)
  })
})

describe('numberedParameters', () => {
  it('numbers ? placeholders in order, leaving quoted ones alone', () => {
    expect(numberedParameters('select * from t where a = ? and b > ?')).toBe('select * from t where a = $1 and b > $2')
    expect(numberedParameters(`select '?' as q, "a?" from t where x = ?`)).toBe(`select '?' as q, "a?" from t where x = $1`)
    expect(numberedParameters('select 1')).toBe('select 1')
  })
})
