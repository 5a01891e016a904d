// The storefront's texts in English and German. Product, option and category texts come
// translated from the Store API (`locale`); these are the page's own.

export type Locale = 'en' | 'de'
export const LOCALES: Record<Locale, string> = { en: 'English', de: 'Deutsch' }

const de: Record<string, string> = {
  'Shoes for trails, roads and town.': 'Schuhe für Pfade, Straßen und die Stadt.',
  Categories: 'Kategorien',
  Products: 'Produkte',
  'Demo shortcuts': 'Demo-Abkürzungen',
  'Reviews': 'Bewertungen',
  'No reviews yet.': 'Noch keine Bewertungen.',
  'Write a review': 'Bewertung schreiben',
  'In stock': 'Auf Lager',
  'Sold out': 'Ausverkauft',
  left: 'verfügbar',
  'Product not found': 'Produkt nicht gefunden',
  'Your cart is empty.': 'Ihr Warenkorb ist leer.',
  'Continue shopping': 'Weiter einkaufen',
  Remove: 'Entfernen',
  Update: 'Aktualisieren',
  Pictures: 'Bilder',
  results: 'Treffer',
  'No shoes match.': 'Keine Schuhe gefunden.',
  'Skip to content': 'Zum Inhalt springen',
}

/** The text in the shopper's language (English when there is no German one). */
export const translate = (locale: Locale, text: string) => (locale === 'de' ? (de[text] ?? text) : text)
