import { defineConfig } from 'tsup'

export default defineConfig([
  // The command `npm create cartwright` runs (an ES module with its shebang).
  { entry: { index: 'src/bin.ts' }, format: ['esm'], sourcemap: true, target: 'node20' },
  // The same steps as a library, for tools that scaffold a store themselves.
  { entry: { api: 'src/index.ts' }, format: ['esm', 'cjs'], dts: true, shims: true, sourcemap: true, target: 'node20' },
])
