// Entry of the memory check: records RSS first, then loads TypeScript through tsx's
// CommonJS hook (same thread; `tsx` or `--import tsx` would add a loader worker thread
// and ~35 MiB of RSS that a built app does not have).
process.env.BENCH_START_RSS = String(process.memoryUsage().rss / (1024 * 1024))
require('tsx/cjs')
require('./memory-check.ts')
