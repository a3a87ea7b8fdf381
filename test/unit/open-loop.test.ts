import {
  Connect,
  ErrorCode,
  ErrorDomain,
  VirError,
  registerDriver,
  registeredDrivers,
  unregisterDriver,
  type ConnectionDriver,
  type HypervisorDriver,
} from '../../src';
import { virErrorOf as errorOf } from '../helpers/vir-error-of';

const opened: string[] = [];

function fake(name: string, opts: Partial<ConnectionDriver> & { answer?: 'success' | 'declined' | 'error' }): ConnectionDriver {
  const hv: HypervisorDriver = { name: name.toUpperCase(), connectGetType: async () => name.toUpperCase() };
  return {
    name,
    uriSchemes: opts.uriSchemes,
    localOnly: opts.localOnly,
    remoteOnly: opts.remoteOnly,
    async open(uri) {
      opened.push(`${name}:${uri?.raw ?? '-'}`);
      if (opts.answer === 'error') throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.NONE, `${name} refused`);
      return opts.answer === 'declined' ? { status: 'declined' } : { status: 'success', driver: hv };
    },
  };
}


describe('the open loop', () => {
  // Catch-all drivers of the build (the remote driver) would claim every URI; set them aside so
  // the loop's rules can be observed on fake drivers alone, and put them back afterwards.
  const setAside = registeredDrivers().filter((d) => d.uriSchemes === undefined);
  beforeAll(() => {
    for (const d of setAside) unregisterDriver(d.name);
    registerDriver(fake('catchall', { answer: 'success' }));
    registerDriver(fake('decliner', { uriSchemes: ['multi'], answer: 'declined' }));
    registerDriver(fake('second', { uriSchemes: ['multi'], answer: 'success' }));
    registerDriver(fake('local', { uriSchemes: ['loc'], localOnly: true, answer: 'success' }));
    registerDriver(fake('broken', { uriSchemes: ['broken'], answer: 'error' }));
    registerDriver(fake('nobody', { uriSchemes: ['none'], answer: 'declined' }));
  });
  afterAll(() => {
    for (const n of ['catchall', 'decliner', 'second', 'local', 'broken', 'nobody']) unregisterDriver(n);
    for (const d of setAside) registerDriver(d);
  });
  beforeEach(() => (opened.length = 0));

  it('probes catch-all drivers last', () => {
    const names = registeredDrivers().map((d) => d.name);
    expect(names[names.length - 1]).toBe('catchall');
  });

  it('goes past a declining driver to the next that accepts the scheme', async () => {
    const c = await Connect.open('multi:///x');
    expect(await c.getType()).toBe('SECOND');
    expect(opened).toEqual(['decliner:multi:///x', 'second:multi:///x']);
  });

  it('skips local-only drivers for URIs with a host or transport, leaving them to the catch-all', async () => {
    expect(await (await Connect.open('loc:///x')).getType()).toBe('LOCAL');
    expect(await (await Connect.open('loc+unix:///x')).getType()).toBe('CATCHALL');
    expect(await (await Connect.open('loc://h/x')).getType()).toBe('CATCHALL');
  });

  it('stops at the first error', async () => {
    const e = await errorOf(Connect.open('broken:///'));
    expect(e.message).toBe('operation failed: broken refused');
    expect(opened).toEqual(['broken:broken:///']);
  });

  it('answers NO_CONNECT when every driver declines', async () => {
    unregisterDriver('catchall');
    try {
      const e = await errorOf(Connect.open('none:///x'));
      expect(e.code).toBe(ErrorCode.NO_CONNECT);
      expect(e.message).toBe('no connection driver available for none:///x');
    } finally {
      registerDriver(fake('catchall', { answer: 'success' }));
    }
  });

  it('rejects a malformed URI before any driver is asked', async () => {
    expect((await errorOf(Connect.open('not a uri'))).code).toBe(ErrorCode.INVALID_ARG);
    expect(opened).toEqual([]);
  });

  it('uses TSVIRT_DEFAULT_URI when no URI is given', async () => {
    process.env.TSVIRT_DEFAULT_URI = 'multi:///default';
    try {
      await Connect.open();
      expect(opened).toContain('second:multi:///default');
    } finally {
      delete process.env.TSVIRT_DEFAULT_URI;
    }
  });

  it('refuses to register two drivers with one name', () => {
    expect(() => registerDriver(fake('second', { uriSchemes: ['x'] }))).toThrow(/already registered/);
  });
});
