/**
 * The shared conformance suite against `qemu:///session` with small TCG guests. XDG dirs point at
 * a private temp dir. Slow saves (to watch progress and abort) use the driver's documented URI
 * option `save_max_bandwidth=262144` (256 KiB/s of migration bandwidth) on a 256 MiB guest.
 */
import { setupQemuEnv, smallGuestXML, teardownQemuEnv } from '../helpers/qemu-env';
import { conformanceSuite } from '../../src/testing';

const env = setupQemuEnv('conf-qemu');
afterAll(() => teardownQemuEnv(env));

describe('conformance: qemu driver', () => {
  conformanceSuite(() => ({
    name: 'qemu',
    uri: 'qemu:///session',
    slowUri: 'qemu:///session?save_max_bandwidth=262144',
    domainXML: (name) => smallGuestXML(name, 64),
    slowDomainXML: (name) => smallGuestXML(name, 256),
    workDir: env.workDir,
    opTimeoutMs: 30000,
  }));
});
