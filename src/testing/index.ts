/**
 * `tsvirt/testing`: the driver conformance suite and its helpers, for authors of third-party
 * drivers. Call `conformanceSuite(() => target)` inside a jest test file (it uses jest's
 * `describe`, `test`, `expect`, `beforeAll` and `afterAll` globals).
 */
export { conformanceSuite } from './conformance-suite';
export type { ConformanceTarget } from './conformance-target';
export { virErrorOf, waitFor } from './wait';
