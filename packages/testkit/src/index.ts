export { storageConformance, type StorageConformanceOptions, type StorageTarget } from './storage-conformance.js'
export { numberedParameters, type Backdoor, type BackdoorRow } from './backdoor.js'
export type { ConformanceCase, ConformanceSkip, ConformanceSuite } from './conformance-suite.js'
export type { TestFunction, TestRunner } from './test-runner.js'
