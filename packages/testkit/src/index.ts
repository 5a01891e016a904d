export { storageConformance, type StorageConformanceOptions, type StorageTarget } from './storage-conformance.js'
export { numberedParameters, type Backdoor, type BackdoorRow } from './backdoor.js'
export type { ConformanceCase, ConformanceSkip, ConformanceSuite } from './conformance-suite.js'
export type { TestFunction, TestRunner } from './test-runner.js'
export {
  testGateway,
  type TestGateway,
  type TestGatewayOptions,
  type GatewayBehaviour,
  type GatewayCall,
  type GatewayCharge,
  type GatewayOperation,
} from './payments/test-gateway.js'
export {
  runPaymentRounds,
  checkPaymentBooks,
  randomPaymentRounds,
  type PaymentRound,
  type PaymentStep,
  type StepKey,
  type StepOutcome,
} from './payments/payment-scenario.js'
export { seededIds } from './deterministic/seeded-ids.js'
export { seededBytes } from './deterministic/seeded-bytes.js'
export { virtualClock, type VirtualClock, type VirtualClockOptions } from './deterministic/virtual-clock.js'
export {
  paymentConformance,
  type PaymentConformanceTarget,
  type PaymentHarness,
  type PaymentDriver,
  type PaymentLedgerEntry,
  type AuthorizationOutcome,
  type GatewayNotification,
} from './payments/conformance.js'
export { taxConformance, type TaxConformanceTarget } from './tax/conformance.js'
export { withChaos, type ChaosProvider, type ChaosScript, type ChaosFault, type ChaosOperation, type ChaosCall } from './payments/chaos.js'
export { simulate, formatSimulation, paymentInterleavings } from './simulation/simulate.js'
export { interceptStatements, type InterceptedStatement, type StatementInterceptor } from './simulation/intercept.js'
export type {
  SimulationOptions,
  SimulationResult,
  SimulationViolation,
  SimulationContext,
  SimulationOperation,
  SimulationInvariant,
  SimulationRandom,
  SimulationCatalog,
  CoreOperationName,
} from './simulation/types.js'
export { shippingConformance, SAMPLE_QUOTE_INPUTS, type ShippingConformanceTarget } from './shipping/conformance.js'
export { carrierConformance, sampleShipmentRequest, type CarrierConformanceTarget } from './carrier/conformance.js'
