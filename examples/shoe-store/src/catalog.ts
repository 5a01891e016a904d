// The demo catalog's data: products, their colours (each with its own picture) and categories, in
// English with German texts.

/** A colour a shoe comes in, with its picture's fill and its German name. */
export interface Colour {
  name: string
  de: string
  hex: string
}

export const COLOURS: Record<string, Colour> = {
  Red: { name: 'Red', de: 'Rot', hex: '#c62828' },
  Blue: { name: 'Blue', de: 'Blau', hex: '#1565c0' },
  Black: { name: 'Black', de: 'Schwarz', hex: '#212121' },
  Green: { name: 'Green', de: 'Grün', hex: '#2e7d32' },
  Grey: { name: 'Grey', de: 'Grau', hex: '#757575' },
  White: { name: 'White', de: 'Weiß', hex: '#eeeeee' },
  Brown: { name: 'Brown', de: 'Braun', hex: '#6d4c41' },
}

/** Sizes 38–46 (EU). */
export const SIZES = ['38', '39', '40', '41', '42', '43', '44', '45', '46'] as const

export interface ShoeData {
  handle: string
  title: string
  description: string
  de: { title: string; description: string }
  price: number
  colours: Array<keyof typeof COLOURS>
  categories: string[]
  tags: string[]
  weightGrams: number
}

export const CATEGORIES = [
  { handle: 'running', title: 'Running', de: 'Laufen', description: 'Shoes for roads and trails.' },
  { handle: 'hiking', title: 'Hiking', de: 'Wandern', description: 'Boots and shoes for long days outside.' },
  { handle: 'everyday', title: 'Everyday', de: 'Alltag', description: 'Sneakers for the city.' },
]

export const SHOES: ShoeData[] = [
  {
    handle: 'trail-runner',
    title: 'Trail Runner',
    description: 'A light shoe for rough ground, with a grippy sole and a rock plate.',
    de: { title: 'Trail Runner', description: 'Ein leichter Schuh für raues Gelände, mit griffiger Sohle und Steinschutzplatte.' },
    price: 12900,
    colours: ['Red', 'Blue', 'Black'],
    categories: ['running', 'hiking'],
    tags: ['trail', 'running'],
    weightGrams: 620,
  },
  {
    handle: 'road-racer',
    title: 'Road Racer',
    description: 'A fast, cushioned shoe for tarmac and race day.',
    de: { title: 'Road Racer', description: 'Ein schneller, gedämpfter Schuh für Asphalt und Wettkampftage.' },
    price: 14900,
    colours: ['White', 'Blue'],
    categories: ['running'],
    tags: ['road', 'running'],
    weightGrams: 540,
  },
  {
    handle: 'summit-boot',
    title: 'Summit Boot',
    description: 'A waterproof leather boot for alpine trails.',
    de: { title: 'Gipfelstiefel', description: 'Ein wasserdichter Lederstiefel für alpine Wege.' },
    price: 18900,
    colours: ['Brown', 'Black'],
    categories: ['hiking'],
    tags: ['boot', 'waterproof'],
    weightGrams: 980,
  },
  {
    handle: 'forest-walker',
    title: 'Forest Walker',
    description: 'A breathable hiking shoe for day walks.',
    de: { title: 'Waldläufer', description: 'Ein atmungsaktiver Wanderschuh für Tagestouren.' },
    price: 11900,
    colours: ['Green', 'Grey'],
    categories: ['hiking'],
    tags: ['hiking'],
    weightGrams: 760,
  },
  {
    handle: 'city-sneaker',
    title: 'City Sneaker',
    description: 'A clean leather sneaker that goes with everything.',
    de: { title: 'Stadt-Sneaker', description: 'Ein schlichter Ledersneaker, der zu allem passt.' },
    price: 9900,
    colours: ['White', 'Black', 'Red'],
    categories: ['everyday'],
    tags: ['sneaker'],
    weightGrams: 700,
  },
  {
    handle: 'canvas-low',
    title: 'Canvas Low',
    description: 'A light canvas shoe for summer days.',
    de: { title: 'Canvas Low', description: 'Ein leichter Stoffschuh für Sommertage.' },
    price: 5900,
    colours: ['Blue', 'Grey', 'White'],
    categories: ['everyday'],
    tags: ['canvas', 'summer'],
    weightGrams: 480,
  },
]

/** The picture of a shoe in a colour: its file name in `assets/`. */
export const pictureOf = (handle: string, colour: string) => `${handle}-${colour.toLowerCase()}.svg`

/** A simple side view of a shoe, in a colour. */
export function shoeSvg(title: string, colour: Colour): string {
  const sole = colour.name === 'White' ? '#9e9e9e' : '#fafafa'
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 200" width="320" height="200" role="img" aria-label="${title}, ${colour.name}">
<rect width="320" height="200" fill="#f5f5f0"/>
<path d="M40 140 C40 110 60 90 90 88 L150 60 C165 54 180 60 185 75 L200 100 C230 104 270 112 285 130 L285 150 L40 150 Z" fill="${colour.hex}" stroke="#333" stroke-width="3"/>
<rect x="36" y="148" width="254" height="16" rx="6" fill="${sole}" stroke="#333" stroke-width="3"/>
<path d="M120 80 L135 100 M135 72 L150 92 M150 66 L165 86" stroke="${sole}" stroke-width="5" stroke-linecap="round"/>
</svg>
`
}
