import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // Declarations are built against the workspace dependencies' built types (dist), not their
  // sources through the 'cartwright-source' condition: the same files, in a fraction of the time.
  dts: { compilerOptions: { customConditions: [] } },
  sourcemap: true,
  clean: true,
  target: 'node20',
})
