import { afterAll, beforeAll, describe, it } from 'vitest'
import { chunks, expectHeld, postgresRunner } from './support.js'

/**
 * The seeded fault simulation on PostgreSQL (issue 9, done-means 1): 100 seeds in CI
 * (`SIMULATION_PG_SEEDS` for more). Connections
 * run truly at once here, so a failing seed prints its trace, which may not replay byte for byte.
 */

const SEEDS = Number(process.env.SIMULATION_PG_SEEDS ?? 100)

describe.skipIf(process.env.CARTWRIGHT_SKIP_POSTGRES === '1')('simulation on PostgreSQL', () => {
  let runner: Awaited<ReturnType<typeof postgresRunner>>
  beforeAll(async () => {
    runner = await postgresRunner()
  })
  afterAll(async () => {
    await runner?.close()
  })

  it.each(chunks(1, SEEDS, 25))('seeds $first–$last: every invariant holds', async ({ first, last }) => {
    for (let seed = first; seed <= last; seed++) expectHeld(await runner.run(seed))
  }, 600_000)
})
