/**
 * What a driver offers the shared conformance suite. Each driver's test file builds one of these;
 * the suite itself never asks which driver it runs against.
 */
export interface ConformanceTarget {
  /** Label for test names. */
  readonly name: string;
  /** URI to open for ordinary calls. */
  readonly uri: string;
  /** URI on which saves are slow enough to watch progress and abort (may equal `uri`). */
  readonly slowUri: string;
  /** XML of a small domain the driver can define and start. */
  domainXML(name: string): string;
  /** XML of a domain whose save on `slowUri` lasts at least a second. */
  slowDomainXML(name: string): string;
  /** A scratch directory for images; removed by the target's own teardown. */
  readonly workDir: string;
  /** Upper bound for one save or restore, in ms (real hypervisors are slower than the test driver). */
  readonly opTimeoutMs: number;
}
