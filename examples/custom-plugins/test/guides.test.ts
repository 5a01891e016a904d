import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..', '..')

describe('the guides in docs/guides', () => {
  it.each([
    ['payment-provider.md', 'bank-transfer.ts'],
    ['shipping-provider.md', 'local-courier.ts'],
    ['feature-plugin.md', 'gift-messages.ts'],
  ])('%s shows src/%s as it is, whole', (guide, file) => {
    const text = readFileSync(join(root, 'docs', 'guides', guide), 'utf8')
    const code = readFileSync(join(import.meta.dirname, '..', 'src', file), 'utf8').trimEnd()
    expect(text).toContain('```ts\n' + code + '\n```\n')
  })
})
