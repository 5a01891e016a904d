import { describe, expect, it } from 'vitest'
import { seededIds, virtualClock } from '@cartwright/testkit'
import { sleep } from '../support/index.js'

const START = '2030-01-01T00:00:00.000Z'
const at = (ms: number) => new Date(Date.parse(START) + ms).toISOString()

describe('virtualClock', () => {
  it('wakes sleepers in deadline order, each at its deadline, without waiting for real time', async () => {
    const clock = virtualClock({ start: START })
    const woke: Array<[string, string]> = []
    const realStart = performance.now()
    await Promise.all(
      [['c', 30_000], ['a', 5], ['b', 200], ['d', 30_000]].map(async ([name, ms]) => {
        await clock.sleep(ms as number)
        woke.push([name as string, clock.now().toISOString()])
      }),
    )
    expect(woke).toEqual([
      ['a', at(5)],
      ['b', at(200)],
      ['c', at(30_000)],
      ['d', at(30_000)],
    ])
    expect(performance.now() - realStart).toBeLessThan(1_000)
  })

  it('lets a sleeper that sleeps again run before a later timer fires', async () => {
    const clock = virtualClock({ start: START })
    const log: string[] = []
    const looping = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100)
        log.push(`loop ${clock.now().toISOString()}`)
      }
    })()
    const late = clock.sleep(250).then(() => log.push(`late ${clock.now().toISOString()}`))
    await Promise.all([looping, late])
    expect(log).toEqual([`loop ${at(100)}`, `loop ${at(200)}`, `late ${at(250)}`, `loop ${at(300)}`])
  })

  it('does not move time for background sleeps alone, and fires them when time passes them', async () => {
    const clock = virtualClock({ start: START })
    const fired: string[] = []
    void clock.sleep(250, { background: true }).then(() => fired.push(clock.now().toISOString()))
    await sleep(50)
    expect(clock.now().toISOString()).toBe(START)
    expect(fired).toEqual([])
    expect(clock.pending).toBe(1)
    await clock.sleep(1_000)
    expect(fired).toEqual([at(250)])
    expect(clock.now().toISOString()).toBe(at(1_000))
  })

  it('ends an aborted sleep at once and forgets its timer', async () => {
    const clock = virtualClock({ start: START, autoAdvance: false })
    const controller = new AbortController()
    const sleeping = clock.sleep(60_000, { signal: controller.signal })
    expect(clock.pending).toBe(1)
    controller.abort()
    await sleeping
    expect(clock.pending).toBe(0)
    expect(clock.now().toISOString()).toBe(START)
  })

  it('with autoAdvance off, moves only by advance(), firing what falls due in order and stopping at the target', async () => {
    const clock = virtualClock({ start: START, autoAdvance: false })
    const fired: string[] = []
    for (const ms of [3_000, 1_000, 2_000]) void clock.sleep(ms).then(() => fired.push(`${ms}@${clock.now().toISOString()}`))
    await sleep(20)
    expect(fired).toEqual([])
    await clock.advance(2_500)
    expect(fired).toEqual([`1000@${at(1_000)}`, `2000@${at(2_000)}`])
    expect(clock.now().toISOString()).toBe(at(2_500))
    expect(clock.pending).toBe(1)
    await expect(clock.advance(-1)).rejects.toThrow(RangeError)
  })

  it('draws the same jitter for the same seed, in [0, 1)', () => {
    const draw = (seed: number) => {
      const clock = virtualClock({ seed })
      return Array.from({ length: 100 }, () => clock.random())
    }
    expect(draw(3)).toEqual(draw(3))
    expect(draw(4)).not.toEqual(draw(3))
    for (const value of draw(3)) expect(value >= 0 && value < 1).toBe(true)
  })
})

describe('seededIds', () => {
  it('makes ids of the real shape, all distinct, the same sequence for the same seed and another for another seed', () => {
    const take = (seed: string | number, n: number) => {
      const ids = seededIds(seed)
      return Array.from({ length: n }, () => ids('cart'))
    }
    const first = take('shop', 5_000)
    for (const id of first.slice(0, 200)) expect(id).toMatch(/^cart_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$/)
    expect(new Set(first).size).toBe(first.length)
    expect(take('shop', 5_000)).toEqual(first)
    expect(take('shop2', 20)).not.toEqual(first.slice(0, 20))
    expect(take(7, 5)).not.toEqual(take('7', 5))
  })

  it('counts each prefix on its own, so ids of one kind do not shift those of another', () => {
    const a = seededIds(1)
    const b = seededIds(1)
    const fromA = [a('cart'), a('evt'), a('evt'), a('cart')]
    const fromB = [b('cart'), b('cart')]
    expect([fromA[0], fromA[3]]).toEqual(fromB)
  })

  it('refuses a seed that is neither a string nor a finite number', () => {
    expect(() => seededIds(Number.NaN)).toThrow(/seed/)
    expect(() => seededIds({} as unknown as string)).toThrow(/seed/)
  })
})
