import { describe, expect, it } from 'vitest'
import { checkVatNumber } from '../src/index.js'

/**
 * Numbers whose check digits are right: published examples of each country's algorithm and
 * numbers of well-known companies. Each is also checked with one digit changed (the checksum must
 * catch it) and with the country's shape broken.
 */
const VALID: Record<string, string[]> = {
  DE: ['DE136695976', 'DE123456788', 'DE 129 273 398'],
  FR: ['FR40303265045', 'FR32123456789', 'fr 03 552 081 317'],
  IT: ['IT00743110157', 'IT12345670017', 'IT01114601006'],
  ES: ['ESA12345674', 'ESP1234567D', 'ESK1234567L', 'ESR9600075G', 'ESW4003922D', 'ESV99218067', 'ESJ99216582', 'ES12345678Z', 'ESX5277343Q', 'ESY5277343F', 'ESZ5277343K'],
  NL: ['NL004495445B01', 'NL123456782B90', 'NL000099998B57'],
  BE: ['BE0403170701', 'BE0123456749', 'BE 0403.170.701'],
  AT: ['ATU13585627', 'ATU12345675'],
  PL: ['PL5260250274', 'PL1234567883', 'PL 526-025-02-74'],
}

/**
 * Changes one digit of the check part, keeping the shape: the last digit, except for the
 * Netherlands, whose last two digits number the branch (`B01`): the digit before the `B` there.
 */
function mutate(vat: string): string {
  const compact = vat.replace(/[\s.\-]/g, '').toUpperCase()
  const end = compact.startsWith('NL') ? compact.indexOf('B') - 1 : compact.length - 1
  for (let i = end; i >= 2; i--) {
    const c = compact[i]!
    if (/\d/.test(c)) return `${compact.slice(0, i)}${(Number(c) + 1) % 10}${compact.slice(i + 1)}`
  }
  throw new Error(`no digit in ${vat}`)
}

describe('checkVatNumber', () => {
  for (const [country, numbers] of Object.entries(VALID)) {
    describe(country, () => {
      it.each(numbers)('accepts %s with its checksum', (vat) => {
        const check = checkVatNumber(vat)
        expect(check).toEqual({ valid: true, vatNumber: vat.replace(/[\s.\-]/g, '').toUpperCase(), country, checksum: true })
      })
      it.each(numbers)('refuses %s with one digit changed (checksum)', (vat) => {
        expect(checkVatNumber(mutate(vat))).toEqual({ valid: false, reason: 'checksum' })
      })
      it.each(numbers)('refuses %s with a digit too many (format)', (vat) => {
        expect(checkVatNumber(`${vat.replace(/[\s.\-]/g, '')}12`)).toEqual({ valid: false, reason: 'format' })
      })
    })
  }

  it('catches every single-digit change of a German number', () => {
    const base = '136695976'
    for (let i = 0; i < base.length; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === base[i]) continue
        const changed = `DE${base.slice(0, i)}${d}${base.slice(i + 1)}`
        expect(checkVatNumber(changed).valid, changed).toBe(false)
      }
    }
  })

  it('accepts a Belgian number of the old 9-digit form as the same number with a leading 0', () => {
    expect(checkVatNumber('BE403170701')).toEqual({ valid: true, vatNumber: 'BE0403170701', country: 'BE', checksum: true })
  })

  it('checks only the format of the other member states, and maps EL to Greece', () => {
    expect(checkVatNumber('EL123456783')).toEqual({ valid: true, vatNumber: 'EL123456783', country: 'GR', checksum: false })
    expect(checkVatNumber('SE556703748501')).toEqual({ valid: true, vatNumber: 'SE556703748501', country: 'SE', checksum: false })
    expect(checkVatNumber('IE6388047V')).toMatchObject({ valid: true, country: 'IE' })
    expect(checkVatNumber('DK1234567')).toEqual({ valid: false, reason: 'format' })
    expect(checkVatNumber('SE55670374850')).toEqual({ valid: false, reason: 'format' })
  })

  it('refuses numbers without an EU prefix, of another country, or of the wrong shape', () => {
    for (const bad of ['136695976', 'GB123456789', 'GR123456783', 'CHE-123.456.788', 'DE12345678', 'ATU1234567', 'NL123456782X90', 'FRIO123456789', '', 'DE'.padEnd(60, '1')]) {
      expect(checkVatNumber(bad), bad).toEqual({ valid: false, reason: 'format' })
    }
  })

  it('accepts a French key with letters on its shape only', () => {
    expect(checkVatNumber('FR2H123456789')).toEqual({ valid: true, vatNumber: 'FR2H123456789', country: 'FR', checksum: false })
  })
})
