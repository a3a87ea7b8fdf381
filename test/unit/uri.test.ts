import { ErrorCode, VirError, defaultUri, effectiveTransport, parseUri } from '../../src';

describe('parseUri', () => {
  it('parses local URIs', () => {
    const u = parseUri('test:///default');
    expect(u).toMatchObject({ scheme: 'test', driver: 'test', path: '/default', host: undefined, transport: undefined });
    expect(u.nameForDaemon).toBe('test:///default');
    expect(parseUri('qemu:///session').path).toBe('/session');
    expect(parseUri('test:///tmp/my%20fixture.xml').path).toBe('/tmp/my fixture.xml');
  });

  it('parses transports, users, hosts, ports and queries', () => {
    const u = parseUri('qemu+ssh://root@example.com:2222/system?socket=/run/x%20y.sock&keyfile=%2Fk&no_verify=1');
    expect(u).toMatchObject({
      scheme: 'qemu+ssh',
      driver: 'qemu',
      transport: 'ssh',
      user: 'root',
      host: 'example.com',
      port: 2222,
      path: '/system',
      socket: '/run/x y.sock',
    });
    expect(u.query).toMatchObject({ keyfile: '/k', no_verify: '1' });
    expect(u.nameForDaemon).toBe('qemu://root@example.com:2222/system');
    expect(effectiveTransport(u)).toBe('ssh');
    const v6 = parseUri('test+tcp://[::1]:16509/default');
    expect(v6.host).toBe('::1');
    expect(v6.port).toBe(16509);
    expect(v6.nameForDaemon).toBe('test://[::1]:16509/default');
  });

  it('drops transport and query from the name sent to a daemon', () => {
    expect(parseUri('test+unix:///default?socket=/tmp/s').nameForDaemon).toBe('test:///default');
    expect(effectiveTransport(parseUri('test+unix:///default'))).toBe('unix');
    expect(effectiveTransport(parseUri('qemu://host/system'))).toBe('tls');
    expect(effectiveTransport(parseUri('qemu:///system'))).toBe('unix');
  });

  it('keeps repeated query parameters in order', () => {
    expect(parseUri('test:///default?a=1&a=2').params).toEqual([
      ['a', '1'],
      ['a', '2'],
    ]);
  });

  it.each([
    '',
    'default',
    '://x',
    '1abc:///x',
    'qemu+bogus:///system',
    'test:///a b',
    'qemu://host:99999/system',
    'qemu://host:12ab/system',
    'qemu://[::1/system',
    'test:///%zz',
    'test:///x?%zz=1',
    'qemu://user@/system?x',
    'test:relative',
    'qemu://:22/system',
  ])('rejects %p with INVALID_ARG', (raw) => {
    let err: unknown;
    try {
      parseUri(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VirError);
    expect((err as VirError).code).toBe(ErrorCode.INVALID_ARG);
  });

  it('names the transports it knows when one is wrong', () => {
    expect(() => parseUri('qemu+bogus:///system')).toThrow(/transport in URL not recognised/);
  });

  it('reads the default URI from TSVIRT_DEFAULT_URI', () => {
    expect(defaultUri({ TSVIRT_DEFAULT_URI: 'test:///default' })).toBe('test:///default');
    expect(defaultUri({})).toBeUndefined();
    expect(defaultUri({ TSVIRT_DEFAULT_URI: '' })).toBeUndefined();
  });
});
