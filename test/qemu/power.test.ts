/**
 * Shutdown, reboot, reset and capabilities on real QEMU (one 64 MiB TCG guest). The guest has no
 * OS, so nothing answers the ACPI power button: these cases check what the driver itself does
 * (QMP commands accepted, flags checked, the domain and its process kept through reboot and
 * reset), not a guest's reaction to them.
 */
import fs from 'node:fs';
import { Connect, DomainState, ErrorCode, type Domain } from '../../src';
import { qemuPidOf } from '../../src/drivers/qemu';
import { virErrorOf } from '../conformance/helpers';
import { qemuPidsUnder, setupQemuEnv, smallGuestXML, teardownQemuEnv, type QemuTestEnv } from '../helpers/qemu-env';

let env: QemuTestEnv;
let conn: Connect;
let dom: Domain;

beforeAll(async () => {
  env = setupQemuEnv('power');
  conn = await Connect.open('qemu:///session');
  dom = await conn.defineXML(smallGuestXML(`power-${process.pid}`, 64));
  await dom.create();
}, 60000);

afterAll(async () => {
  await conn?.close().catch(() => undefined);
  teardownQemuEnv(env);
});

describe('QEMU power and capabilities', () => {
  it('reports capabilities from the emulators it finds', async () => {
    const caps = await conn.getCapabilities();
    expect(caps).toContain('<emulator>/usr/bin/qemu-system-x86_64</emulator>');
    // libvirt's form: the machine types with their vCPU limit, the alias naming its type.
    expect(caps).toMatch(/<machine maxCpus='\d+'>pc-i440fx-[0-9.]+<\/machine>/);
    expect(caps).toMatch(/<machine canonical='pc-i440fx-[0-9.]+' maxCpus='\d+'>pc<\/machine>/);
    expect(caps).toContain("<domain type='qemu'/>");
    expect(caps.includes("<domain type='kvm'/>")).toBe(fs.existsSync('/dev/kvm'));
    expect(caps).toContain('<arch>x86_64</arch>');
  });

  it('reset and reboot keep the domain, its id and its QEMU process', async () => {
    const pid = qemuPidOf(dom.uuid);
    const id = await dom.getID();
    await dom.reset();
    await dom.reboot();
    await dom.reboot(1 /* ACPI_POWER_BTN */);
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    expect(await dom.getID()).toBe(id);
    expect(qemuPidOf(dom.uuid)).toBe(pid);
    expect((await virErrorOf(dom.reset(1))).code).toBe(ErrorCode.INVALID_ARG);
  });

  it('shutdown presses the power button; guest-agent and unknown methods are refused', async () => {
    await dom.shutdown();
    await dom.shutdownFlags(1);
    expect((await virErrorOf(dom.shutdownFlags(2))).code).toBe(ErrorCode.ARGUMENT_UNSUPPORTED);
    expect((await virErrorOf(dom.shutdownFlags(1 << 5))).code).toBe(ErrorCode.INVALID_ARG);
    expect((await virErrorOf(dom.reboot(2))).code).toBe(ErrorCode.ARGUMENT_UNSUPPORTED);
    // A guest with no OS ignores the button: it is still running, and destroy still works.
    expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    await dom.destroy();
    for (const call of [() => dom.shutdown(), () => dom.reboot(), () => dom.reset()]) {
      expect((await virErrorOf(call())).code).toBe(ErrorCode.OPERATION_INVALID);
    }
    expect(qemuPidsUnder(env.root)).toEqual([]);
  });
});
