/**
 * A small seeded PRNG (mulberry32 over a 32-bit FNV-1a hash of the seed): numbers in [0, 1), the
 * same sequence for the same seed on every machine.
 *
 * @internal Shared by the virtual clock's jitter and the simulation's scheduler.
 */
export function seededRandom(seed: string | number): () => number {
  let state = 0x811c9dc5
  for (const ch of String(seed)) state = Math.imul(state ^ ch.charCodeAt(0), 0x01000193) >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
