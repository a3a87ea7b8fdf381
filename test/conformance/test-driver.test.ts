import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { conformanceSuite } from '../../src/testing';

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-conf-test-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

const xml = (name: string, mib: number): string =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>${mib}</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`;

describe('conformance: test driver', () => {
  conformanceSuite(() => ({
    name: 'test',
    uri: 'test:///default',
    slowUri: 'test:///default?chunk_delay_ms=40',
    domainXML: (name) => xml(name, 64),
    slowDomainXML: (name) => xml(name, 2048),
    workDir,
    opTimeoutMs: 10000,
  }));
});
