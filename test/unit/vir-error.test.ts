import { ErrorCode, ErrorDomain, ErrorLevel, VirError, isVirError } from '../../src';

describe('VirError', () => {
  it('builds messages from libvirt templates and keeps wire fields', () => {
    const e = VirError.report(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, 'virDomainSaveParametersFlags');
    expect(e.message).toBe('this function is not supported by the connection driver: virDomainSaveParametersFlags');
    expect(e.code).toBe(3);
    expect(e.level).toBe(ErrorLevel.ERROR);
    expect(e.str1).toBe('this function is not supported by the connection driver: %s');
    expect(e.str2).toBe('virDomainSaveParametersFlags');
    expect(e.str3).toBeNull();
    expect([e.int1, e.int2]).toEqual([-1, -1]);
    expect(e).toBeInstanceOf(Error);
    expect(isVirError(e, ErrorCode.NO_SUPPORT)).toBe(true);
    expect(isVirError(e, ErrorCode.INVALID_ARG)).toBe(false);
  });

  it('matches the observed NO_DOMAIN error of libvirtd', () => {
    const e = VirError.report(ErrorCode.NO_DOMAIN, ErrorDomain.QEMU, "no domain with matching name 'nonexistent'");
    expect(e.toFields()).toEqual({
      code: 42,
      domain: 10,
      message: "Domain not found: no domain with matching name 'nonexistent'",
      level: 2,
      str1: 'Domain not found: %s',
      str2: "no domain with matching name 'nonexistent'",
      str3: null,
      int1: -1,
      int2: -1,
    });
  });

  it('uses the bare template without detail', () => {
    expect(VirError.report(ErrorCode.NO_CONNECT, ErrorDomain.NONE).message).toBe('no connection driver available');
  });

  it('turns system errors into SYSTEM_ERROR with strerror text', () => {
    const errno = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', syscall: 'open' });
    const e = VirError.system(ErrorDomain.DOMAIN, "cannot read domain image '/x'", errno);
    expect(e.code).toBe(ErrorCode.SYSTEM_ERROR);
    expect(e.message).toBe("cannot read domain image '/x': No such file or directory");
    expect(VirError.from(errno).code).toBe(ErrorCode.SYSTEM_ERROR);
  });

  it('wraps foreign exceptions as INTERNAL_ERROR and keeps VirErrors', () => {
    const e = VirError.from(new TypeError('boom'));
    expect(e.code).toBe(ErrorCode.INTERNAL_ERROR);
    expect(e.message).toBe('internal error: boom');
    expect(VirError.from(e)).toBe(e);
  });
});
