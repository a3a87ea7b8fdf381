import { Connect, ErrorCode, VirError, registerDriver, registeredDrivers, unregisterDriver } from 'tsvirt';
import { minimalDriver } from './index';

async function errorOf(p: Promise<unknown>): Promise<VirError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VirError) return e;
    throw e;
  }
  throw new Error('expected a VirError');
}

describe('an out-of-tree driver', () => {
  beforeAll(() => registerDriver(minimalDriver));
  afterAll(() => unregisterDriver('minimal'));

  it('plugs in with one registration call', async () => {
    expect(registeredDrivers().map((d) => d.name)).toContain('minimal');
    const conn = await Connect.open('minimal:///');
    expect(await conn.getType()).toBe('MINIMAL');
    expect(await conn.getVersion()).toBe(1002003);
    const dom = await conn.lookupDomainByName('only');
    expect((await dom.getInfo()).nrVirtCpu).toBe(1);
    expect((await conn.listAllDomains()).map((d) => d.name)).toEqual(['only']);
    await conn.close();
  });

  it('answers NO_SUPPORT for the slots it lacks, naming the public function', async () => {
    const conn = await Connect.open('minimal:///');
    const dom = await conn.lookupDomainByName('only');
    const e = await errorOf(dom.saveParametersFlags({ file: '/tmp/x.img' }, 0));
    expect(e.code).toBe(ErrorCode.NO_SUPPORT);
    expect(e.message).toBe('this function is not supported by the connection driver: virDomainSaveParametersFlags');
    expect((await errorOf(dom.saveParams({ file: '/tmp/x.img' }))).message).toBe(
      'this function is not supported by the connection driver: virDomainSaveParams',
    );
    expect((await errorOf(conn.restore('/tmp/x.img'))).code).toBe(ErrorCode.NO_SUPPORT);
    expect((await errorOf(dom.getJobInfo())).code).toBe(ErrorCode.NO_SUPPORT);
    expect((await errorOf(dom.destroy())).code).toBe(ErrorCode.NO_SUPPORT);
    await conn.close();
  });

  it('still gets the public layer checks before NO_SUPPORT', async () => {
    const conn = await Connect.open('minimal:///');
    const dom = await conn.lookupDomainByName('only');
    // @ts-expect-error a field the API does not have is a compile error; at run time it is refused
    expect((await errorOf(dom.saveParams({ file: '/tmp/x', nope: 1 }))).code).toBe(ErrorCode.ARGUMENT_UNSUPPORTED);
    expect((await errorOf(dom.saveFlags('/tmp/x', null, 6))).code).toBe(ErrorCode.INVALID_ARG);
    await conn.close();
    const ro = await Connect.openReadOnly('minimal:///');
    expect((await errorOf((await ro.lookupDomainByName('only')).save('/tmp/x'))).code).toBe(ErrorCode.OPERATION_DENIED);
    await ro.close();
  });

  it('reports its own open errors', async () => {
    expect((await errorOf(Connect.open('minimal:///nope'))).code).toBe(ErrorCode.INVALID_ARG);
  });
});
