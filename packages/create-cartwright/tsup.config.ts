import { defineConfig } from 'tsup'

export default defineConfig([
  // The command `npm create cartwright` runs (an ES module with its shebang).
  { entry: { index: 'src/bin.ts' }, format: ['esm'], sourcemap: true, target: 'node20' },
  // The same steps as a library, for tools that scaffold a store themselves.
  // Declarations against the workspace dependencies' built types (dist), not their sources
  // through the 'cartwright-source' condition: the same files, in a fraction of the time.
  { entry: { api: 'src/index.ts' }, format: ['esm', 'cjs'], dts: { compilerOptions: { customConditions: [] } }, shims: true, sourcemap: true, target: 'node20' },
])
