import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';
import {
  monitorConnectError,
  monitorReadError,
  monitorWriteError,
  qmpCommandError,
  QmpCommandError,
} from '../../src/drivers/qemu/qmp/errors';
import { QmpClient } from '../../src/drivers/qemu/qmp';
import { FakeQmpServer, SILENT } from '../helpers/fake-qmp-server';

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall });
}

describe('QMP error mapping', () => {
  it('formats QMP errors as libvirt does, keeping class and description', () => {
    const e = qmpCommandError('cont', { class: 'GenericError', desc: 'Resetting the Virtual Machine is required' });
    expect(e).toBeInstanceOf(VirError);
    expect(e).toBeInstanceOf(QmpCommandError);
    expect(e.toFields()).toMatchObject({
      code: ErrorCode.INTERNAL_ERROR,
      domain: ErrorDomain.QEMU,
      message: "internal error: unable to execute QEMU command 'cont': Resetting the Virtual Machine is required",
      str1: 'internal error: %s',
      str2: "unable to execute QEMU command 'cont': Resetting the Virtual Machine is required",
    });
    expect(e.qmpClass).toBe('GenericError');
  });

  it('falls back to a generic description when QEMU gave none', () => {
    const e = qmpCommandError('stop', { class: 'GenericError' });
    expect(e.message).toBe("internal error: unable to execute QEMU command 'stop': unknown QEMU command error");
    expect(qmpCommandError('stop', null).qmpClass).toBeNull();
  });

  it('reports socket failures as SYSTEM_ERROR with strerror text', () => {
    expect(monitorReadError(errno('ECONNRESET', 'read'))).toMatchObject({
      code: ErrorCode.SYSTEM_ERROR,
      domain: ErrorDomain.QEMU,
      message: 'Unable to read from monitor: Connection reset by peer',
    });
    expect(monitorWriteError(errno('EPIPE', 'write')).message).toBe('Unable to write to monitor: Broken pipe');
    expect(monitorConnectError(errno('ECONNREFUSED', 'connect')).message).toBe(
      'failed to connect to monitor socket: Connection refused',
    );
    expect(monitorReadError(errno('EWEIRD', 'read')).message).toBe('Unable to read from monitor: read EWEIRD');
  });
});

describe('QmpClient when QEMU crashes mid-command', () => {
  let server: FakeQmpServer;
  afterEach(async () => server.stop());

  it('fails pending commands with libvirt\'s connection-reset error and emits closed', async () => {
    server = await FakeQmpServer.start({ script: { hang: SILENT } });
    const client = await QmpClient.connect(server.socketPath);
    const closed = new Promise<VirError>((resolve) => client.once('closed', resolve));
    const got = server.waitForCommand('hang');
    const first = client.execute('hang').catch((e: unknown) => e);
    await got;
    const reset = server.resetConnection(30);
    // More than Node buffers for a paused stream, so bytes stay unread in the kernel and closing
    // the server's end makes Linux report ECONNRESET to us, as when QEMU dies with input pending.
    const second = client.execute('hang', { blob: 'x'.repeat(512 * 1024) }).catch((e: unknown) => e);
    await reset;
    const err = await closed;
    expect(await first).toBe(err);
    expect(await second).toBe(err);
    // libuv may notice the reset on the read side (usual) or on the pending write first.
    expect(err.message).toMatch(/^Unable to (read from monitor: Connection reset by peer|write to monitor: Broken pipe)$/);
    expect(err).toMatchObject({ code: ErrorCode.SYSTEM_ERROR, domain: ErrorDomain.QEMU });
    await client.close();
  });
});
