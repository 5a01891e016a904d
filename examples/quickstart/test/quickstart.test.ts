import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'

const run = promisify(execFile)

async function quickstart(env: Record<string, string> = {}) {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--conditions=cartwright-source', 'src/index.ts'], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, ...env },
  })
  return stdout
}

describe('quickstart', () => {
  it('prints a placed order with correct totals and 9 pairs left', async () => {
    const out = await quickstart()
    expect(out).toMatch(/order #\d+ placed for ada@example\.com/)
    // 129.00 + 5.00 shipping; 8.25% tax on 129.00 = 10.6425 → 10.64, on 5.00 = 0.4125 → 0.41
    expect(out).toContain('subtotal  129.00 USD')
    expect(out).toContain('shipping  5.00 USD')
    expect(out).toContain('tax       11.05 USD')
    expect(out).toContain('total     145.05 USD')
    expect(out).toContain('payment: authorized')
    expect(out).toContain('stock left for TRAIL-42-BLUE: 9')
    expect(out).toMatch(/event: order\.placed #\d+/)
  }, 60_000)

  it('persists the order in a SQLite file when QUICKSTART_DB is set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quickstart-'))
    try {
      const file = join(dir, 'shop.db')
      await quickstart({ QUICKSTART_DB: file })
      const db = new Database(file, { readonly: true })
      const orders = db.prepare('select total, subtotal, tax_total, shipping_total from cw_orders').all()
      const level = db.prepare("select l.on_hand - l.reserved as available from cw_inventory_levels l join cw_variants v on v.id = l.variant_id where v.sku = 'TRAIL-42-BLUE'").get() as { available: number }
      db.close()
      expect(orders).toEqual([{ total: 14505, subtotal: 12900, tax_total: 1105, shipping_total: 500 }])
      expect(level.available).toBe(9)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
