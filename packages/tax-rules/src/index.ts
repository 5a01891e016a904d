export {
  taxRules,
  type CommerceWithTaxRules,
  type TaxRulesService,
  type TaxRulesTables,
  type CustomerTaxProfile,
  type CartTaxProfile,
  type OrderTaxProfile,
  type SetCustomerProfileInput,
  type SetCartProfileInput,
} from './tax-rules.js'
export { REVERSE_CHARGE_NOTE, type TaxRulesOptions, type Jurisdiction, type DatedRate } from './rules.js'
export { checkVatNumber, EU_COUNTRIES, type VatNumberCheck } from './vat.js'
export { taxRulesEndpoints } from './endpoints.js'
