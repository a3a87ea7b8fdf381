/**
 * The shared conformance suite over the wire: tsvirt's remote driver -> tsvirtd (in this
 * process, on a temporary socket directory) -> the test driver. Query parameters the remote
 * driver does not consume travel to the daemon in the CONNECT_OPEN name, as libvirt's remote
 * driver passes them, so the slow URI's `chunk_delay_ms` reaches the test driver.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startTestDaemon, type TestDaemon } from '../remote/daemon-helpers';
import { conformanceSuite } from '../../src/testing';

let d: TestDaemon;
let workDir: string;
beforeAll(async () => {
  d = await startTestDaemon();
  workDir = path.join(d.dir, 'images');
  fs.mkdirSync(workDir);
});
afterAll(async () => {
  await d.stop();
});

const xml = (name: string, mib: number): string =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>${mib}</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`;

describe('conformance: remote driver -> tsvirtd -> test driver', () => {
  conformanceSuite(() => ({
    name: 'remote',
    uri: `test+unix:///default?socket=${d.rw}`,
    slowUri: `test+unix:///default?socket=${d.rw}&chunk_delay_ms=40`,
    domainXML: (name) => xml(name, 64),
    slowDomainXML: (name) => xml(name, 2048),
    workDir,
    opTimeoutMs: 10000,
  }));
});
