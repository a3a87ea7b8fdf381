/**
 * Save images crossing between libvirt 11.3 and tsvirt on QEMU 10, both ways: libvirt's own
 * parallel format (`--image-format sparse --parallel-channels N`, QEMU's mapped-ram) and the
 * plain single stream. libvirt 11.3 (unpacked from bookworm-backports) runs in a private mount
 * namespace where the unpacked QEMU 10 and its firmware sit at the system paths; both sides
 * name that QEMU 10 binary in `<emulator>`, so they run the same emulator with the same ROMs.
 * The guest is the counter disk of the 9.0 interop test: its memory region must read back
 * identical from the other side's QEMU and its counter keep counting.
 */
import path from 'node:path';
import { Connect, DomainState, type Domain } from '../../src';
import { SaveImageFormat } from '../../src/conf/save-image';
import { qemuPidOf } from '../../src/drivers/qemu';
import { counterDisk, expectContinued, expectCounting, fillWhilePaused, headerFormat, interopGuestXML, libvirtQemuPid, libvirtSavedGuest, removeRestored, virshOf } from '../helpers/interop-guest';
import { libvirt11Root, qemu10Root } from '../helpers/libvirt11';
import { startQemuLibvirtd, type QemuLibvirtd } from '../helpers/libvirtd-qemu';
import { qemu10Binary } from '../helpers/qemu10';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { runTool } from '../remote/run-tool';

const env = setupQemuEnv('libvirt11-interop');
let lv: QemuLibvirtd;
let conn: Connect;
let disk: string;
let emulator: string;
const guestXML = (name: string) => interopGuestXML(name, disk, { emulator });

beforeAll(async () => {
  emulator = qemu10Binary();
  lv = await startQemuLibvirtd({ libvirtRoot: libvirt11Root(), qemuRoot: qemu10Root() });
  expect(await virshOf(lv, 'version', '--daemon')).toMatch(/Running against daemon: 11\.3\./);
  conn = await Connect.open('qemu:///session');
  disk = counterDisk(env.workDir);
}, 360000);

afterAll(async () => {
  await conn?.close();
  await lv?.stop();
  teardownQemuEnv(env);
});

/** How each side saves and restores, as virsh options and as tsvirt's typed parameters. */
const LAYOUTS = [
  { label: 'raw single stream', virshSave: [] as string[], virshRestore: [] as string[], params: {}, format: SaveImageFormat.RAW },
  { label: 'sparse, 4 channels', virshSave: ['--image-format', 'sparse', '--parallel-channels', '4'], virshRestore: ['--parallel-channels', '4'], params: { image_format: 'sparse', 'parallel.channels': 4 } as const, format: SaveImageFormat.SPARSE },
  { label: 'sparse, 2 channels, bypass cache', virshSave: ['--image-format', 'sparse', '--parallel-channels', '2', '--bypass-cache'], virshRestore: ['--parallel-channels', '2', '--bypass-cache'], params: { image_format: 'sparse', 'parallel.channels': 2 } as const, format: SaveImageFormat.SPARSE, bypass: true },
];

describe('libvirt 11.3 saves, tsvirt restores (QEMU 10)', () => {
  for (const l of LAYOUTS) {
    it(`${l.label}: the guest continues in tsvirt with its memory`, async () => {
      const name = `lv11ts-${LAYOUTS.indexOf(l)}`;
      let dom: Domain | undefined;
      try {
        const { file, before } = await libvirtSavedGuest(lv, env.workDir, name, guestXML(name), l.virshSave);
        expect(headerFormat(file)).toBe(l.format);

        const { 'parallel.channels': channels } = l.params as { 'parallel.channels'?: number };
        await conn.restoreParams(channels ? { file, 'parallel.channels': channels } : { file }, l.bypass ? 1 : 0);
        dom = await conn.lookupDomainByName(name);
        expect((await dom.getState()).state).toBe(DomainState.RUNNING);
        await expectContinued(qemuPidOf(dom.uuid)!, before);
      } finally {
        if (dom) await removeRestored(dom);
        await virshOf(lv, 'destroy', name).catch(() => undefined);
        await virshOf(lv, 'undefine', name).catch(() => undefined);
      }
    }, 240000);
  }
});

describe('tsvirt saves, libvirt 11.3 restores (QEMU 10)', () => {
  for (const l of LAYOUTS) {
    it(`${l.label}: the guest continues in libvirt with its memory`, async () => {
      const name = `ts2lv11-${LAYOUTS.indexOf(l)}`;
      const dom = await conn.defineXML(guestXML(name));
      try {
        await dom.create();
        const pid = qemuPidOf(dom.uuid)!;
        await expectCounting(pid, 0);
        const before = await fillWhilePaused(() => dom.suspend(), () => dom.resume(), pid);
        const file = path.join(env.workDir, `${name}.save`);
        await dom.saveParams({ file, ...l.params }, l.bypass ? 1 : 0);
        expect(headerFormat(file)).toBe(l.format);

        await virshOf(lv, 'restore', file, ...l.virshRestore);
        expect((await virshOf(lv, 'domstate', name)).trim()).toBe('running');
        await expectContinued(libvirtQemuPid(name), before);
      } finally {
        await virshOf(lv, 'destroy', name).catch(() => undefined);
        if (await dom.isActive()) await dom.destroy();
        await dom.undefine();
      }
    }, 240000);
  }
});

describe("tsvirt's own parallel layout and libvirt 11.3", () => {
  it('libvirt 11.3 refuses a files image and starts nothing', async () => {
    const name = 'ts2lv11-files';
    const dom = await conn.defineXML(guestXML(name));
    try {
      await dom.create();
      const file = path.join(env.workDir, `${name}.save`);
      await dom.saveParams({ file, 'parallel.channels': 2 });
      const r = await runTool(lv.virsh.path, ['-c', lv.uri, 'restore', file], { env: lv.virsh.env, timeoutMs: 60000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`unsupported save image format: ${SaveImageFormat.TSVIRT_PARALLEL}`);
      expect((await virshOf(lv, 'list', '--all', '--name')).trim()).toBe('');
    } finally {
      if (await dom.isActive()) await dom.destroy();
      await dom.undefine();
    }
  }, 120000);
});
