import bwipjs from 'bwip-js'
import PDFDocument from 'pdfkit'
import type { Address, LabelParty, ShipmentRequest } from '@cartwright/core'
import { toLatin1 } from './latin1.js'

/** Label page sizes in PDF points (1/72 inch). */
export const LABEL_SIZES = {
  /** 4 × 6 inches, the common thermal label. */
  '4x6': [288, 432],
  /** A6, 105 × 148 mm. */
  A6: [297.64, 419.53],
} as const

/** @internal What a label shows. */
export interface LabelContent {
  request: ShipmentRequest
  trackingNumber: string
  carrierName: string
  size: keyof typeof LABEL_SIZES
  /** A TrueType font (path or bytes), or null for the built-in Helvetica with Latin-1 text. */
  font: string | Uint8Array | null
  /** When the label was made: written as the PDF's creation date. */
  createdAt: Date
}

/** @internal Renders a shipping label as a PDF: ship-from, ship-to, order, lines and the tracking number as a Code 128 barcode. */
export async function renderLabel(content: LabelContent): Promise<Uint8Array> {
  const { request, trackingNumber } = content
  const barcode = await bwipjs.toBuffer({ bcid: 'code128', text: trackingNumber, scale: 3, height: 14, includetext: false })
  const [width, height] = LABEL_SIZES[content.size]
  const doc = new PDFDocument({
    size: [width, height],
    margin: 14,
    info: { Title: `Shipping label ${trackingNumber}`, Creator: 'Cartwright', CreationDate: content.createdAt },
  })
  const chunks: Buffer[] = []
  doc.on('data', (chunk: Buffer) => chunks.push(chunk))
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve)
    doc.on('error', reject)
  })

  const regular = content.font ? 'label' : 'Helvetica'
  const bold = content.font ? 'label' : 'Helvetica-Bold'
  if (content.font) doc.registerFont('label', typeof content.font === 'string' ? content.font : Buffer.from(content.font))
  // The standard fonts show Latin-1 only: anything else would be garbled silently.
  const t = content.font ? (s: string) => s : toLatin1
  const inner = width - 28
  const rule = () => {
    doc.moveDown(0.3)
    doc.moveTo(14, doc.y).lineTo(width - 14, doc.y).lineWidth(0.75).stroke()
    doc.moveDown(0.4)
  }

  doc.font(bold).fontSize(8).text(t(`FROM${' '.repeat(4)}${content.carrierName}`), { width: inner })
  doc.font(regular).fontSize(8).text(t(partyLines(request.from).join('\n')), { width: inner })
  rule()
  doc.font(bold).fontSize(9).text('SHIP TO', { width: inner })
  doc.font(bold).fontSize(14).text(t(request.to.name), { width: inner })
  doc.font(regular).fontSize(12).text(t(addressLines(request.to.address, request.to.name).join('\n')), { width: inner })
  rule()
  doc.font(bold).fontSize(9).text(t(`Order #${request.orderNumber}${request.service ? `   Service: ${request.service}` : ''}`), { width: inner })
  const weight = request.parcels.reduce((sum, p) => sum + p.weightGrams, 0)
  doc.font(regular).fontSize(8).text(t(`${request.parcels.length} parcel${request.parcels.length === 1 ? '' : 's'}, ${(weight / 1000).toFixed(3)} kg`), { width: inner })
  doc.moveDown(0.3)
  const barcodeHeight = 70
  doc.image(barcode, 14, doc.y, { fit: [inner, barcodeHeight], align: 'center' })
  doc.y += barcodeHeight + 4
  doc.font(bold).fontSize(12).text(trackingNumber, 14, doc.y, { width: inner, align: 'center' })
  rule()
  // The line summary fills what is left of the page; lines that do not fit are counted.
  doc.font(regular).fontSize(7)
  const lineHeight = doc.currentLineHeight(true)
  const room = Math.max(0, Math.floor((height - 14 - doc.y) / lineHeight) - 1)
  const shown = request.lines.length <= room ? request.lines : request.lines.slice(0, Math.max(0, room - 1))
  for (const line of shown) doc.text(t(`${line.quantity} × ${line.sku}  ${line.title}`), { width: inner, lineBreak: false, ellipsis: true })
  if (shown.length < request.lines.length) doc.text(`+ ${request.lines.length - shown.length} more lines`, { width: inner })
  doc.end()
  await ended
  return new Uint8Array(Buffer.concat(chunks))
}

function partyLines(party: LabelParty): string[] {
  return [party.name, ...addressLines(party.address, party.name)]
}

/** An address as label lines, without repeating the party's name. */
export function addressLines(address: Address, partyName: string): string[] {
  const person = [address.firstName, address.lastName].filter(Boolean).join(' ')
  const lines = [person !== partyName ? person : '', address.company ?? '', address.line1, address.line2 ?? '']
  const cityLine = [address.postalCode, address.city].filter(Boolean).join(' ')
  lines.push(address.region ? `${cityLine}, ${address.region}` : cityLine, address.country)
  if (address.phone) lines.push(`Tel. ${address.phone}`)
  return lines.filter((l) => l.trim() !== '')
}
