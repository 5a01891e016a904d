/** Letters that do not decompose into a Latin-1 letter plus marks. */
const LOOKALIKES: Record<string, string> = {
  Ł: 'L',
  ł: 'l',
  Đ: 'D',
  đ: 'd',
  Ħ: 'H',
  ħ: 'h',
  ı: 'i',
  Œ: 'OE',
  œ: 'oe',
  Ŋ: 'N',
  ŋ: 'n',
  ĸ: 'k',
  ſ: 's',
  Ŧ: 'T',
  ŧ: 't',
  '‘': "'",
  '’': "'",
  '‚': ',',
  '“': '"',
  '”': '"',
  '„': '"',
  '–': '-',
  '—': '-',
  '…': '...',
  '€': 'EUR',
  '\u00a0': ' ',
}

/**
 * Text as the PDF standard fonts can show it (Latin-1): accented letters outside Latin-1 lose
 * their accents (`Ś` → `S`, `ő` → `o`), a few letters become their look-alike (`Ł` → `L`, `Œ` →
 * `OE`), and anything else (Cyrillic, CJK, emoji) becomes `?`, so a label never prints garbled
 * glyphs. Labels embed a TrueType font instead when given one ({@link ManualCarrierOptions.font}).
 *
 * @example
 * ```ts
 * toLatin1('Łódź, ulica Świętokrzyska') // 'Lódz, ulica Swietokrzyska': ó is Latin-1
 * toLatin1('Zürich') // 'Zürich': Latin-1 already
 * ```
 */
export function toLatin1(text: string): string {
  let out = ''
  for (const ch of text) {
    const code = ch.codePointAt(0)!
    if (code < 0x20 || code === 0x7f) out += ' '
    else if (code <= 0xff) out += ch
    else if (LOOKALIKES[ch] !== undefined) out += LOOKALIKES[ch]
    else {
      const stripped = ch.normalize('NFKD').replace(/\p{M}/gu, '')
      out += stripped.length > 0 && [...stripped].every((c) => c.codePointAt(0)! <= 0xff) ? stripped : '?'
    }
  }
  return out
}
