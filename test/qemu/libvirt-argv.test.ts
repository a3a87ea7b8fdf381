/**
 * tsvirt's QEMU command line against libvirt 9.0's for the same XML, for every file of the
 * corpus: `virsh domxml-to-native qemu-argv` on a private libvirtd (QEMU driver) is the oracle.
 * What may differ, and why, is removed by `comparable` below and nothing else:
 * - libvirt's master-key secret, `-overcommit mem-lock=off`, `-sandbox`, `-msg timestamp=on` and
 *   the environment before the binary: host-side settings that never reach the guest;
 * - the monitor: libvirt's `-chardev socket,id=charmonitor` + `-mon`, tsvirt's `-qmp unix:`;
 * - guest RAM: libvirt always names a `memory-backend-ram` "pc.ram"; tsvirt adds a backend only
 *   for `<memoryBacking>` (its RAM block is called pc.ram either way, which is what migration sees);
 * - NICs: domxml-to-native turns every interface into a tap fd (`{"type":"tap","fd":"N"}`);
 *   libvirt runs `type='user'` as `{"type":"user"}`, which tsvirt writes;
 * - VNC autoport: libvirt probes a free port itself, tsvirt lets QEMU take one (`,to=99`);
 * - `<on_reboot>destroy`: libvirt acts on QEMU's reset event itself, tsvirt has QEMU do it
 *   (`-action reboot=shutdown`); neither changes the device model;
 * - the directory of a unix channel's socket when the XML gives none (libvirt's
 *   channel/target/domain-N-NAME, tsvirt's run dir): the socket's name is compared.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatDomainXML, parseDomainXML } from '../../src/conf/domain-xml';
import { buildQemuCommand } from '../../src/drivers/qemu/command-line';
import { applyQemuDefaults } from '../../src/drivers/qemu/domain-defaults';
import { startQemuLibvirtd, type QemuLibvirtd } from '../helpers/libvirtd-qemu';
import { createFixtureFiles, fixtureNames, fixtureXML } from '../helpers/domain-fixtures';
import { setupQemuEnv, teardownQemuEnv } from '../helpers/qemu-env';
import { runTool } from '../remote/run-tool';

const env = setupQemuEnv('libvirt-argv');
/** Where tsvirt puts the sockets of unix channels without a path (runFiles().channels). */
const CHANNEL_DIR = path.join(env.runDir, 'ch-test');
let lv: QemuLibvirtd;

beforeAll(async () => {
  lv = await startQemuLibvirtd();
  createFixtureFiles(env.workDir);
}, 60000);
afterAll(async () => {
  await lv?.stop();
  teardownQemuEnv(env);
});

/** Splits libvirt's shell-quoted command line (single quotes around JSON) into words. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (ch === ' ' || ch === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

type Opt = [string, unknown];

/** Pairs each option with its value (JSON values parsed) and drops the named differences. */
function comparable(args: string[], nicTypes: string[]): Opt[] {
  const out: Opt[] = [];
  const flagsWithoutValue = new Set(['-S', '-no-user-config', '-nodefaults', '-no-shutdown', '-no-acpi', '-no-hpet']);
  let nic = 0;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (flagsWithoutValue.has(flag)) {
      if (flag !== '-no-shutdown') out.push([flag, null]);
      continue;
    }
    const raw = args[++i];
    let value: unknown = raw.startsWith('{') ? JSON.parse(raw) : raw;
    if (['-overcommit', '-sandbox', '-msg', '-mon', '-qmp', '-action'].includes(flag)) continue;
    if (flag === '-chardev' && raw.includes('id=charmonitor')) continue;
    const obj = value as Record<string, unknown>;
    if (flag === '-object' && (obj['qom-type'] === 'secret' || obj.id === 'pc.ram')) continue;
    if (flag === '-machine') value = raw.replace(',memory-backend=pc.ram', '');
    if (flag === '-vnc') value = raw.replace(',to=99', '');
    if (flag === '-chardev') value = raw.replace(/path=\/var\/lib\/libvirt\/qemu\/channel\/target\/domain--1-[^/,]+\//, 'path=CHANNELS/').replace(`path=${CHANNEL_DIR}/`, 'path=CHANNELS/');
    if (flag === '-netdev') {
      const type = nicTypes[nic++];
      value = obj.type === 'tap' && 'fd' in obj && type === 'user' ? { type: 'user', id: obj.id } : obj;
    }
    out.push([flag, value]);
  }
  return out;
}

/** libvirt's argv for `xml` (the words after the emulator). */
async function libvirtArgv(xmlFile: string): Promise<string[]> {
  const r = await runTool('virsh', ['-c', lv.uri, 'domxml-to-native', 'qemu-argv', '--xml', xmlFile], { timeoutMs: 30000 });
  expect(r.stderr).toBe('');
  const words = shellWords(r.stdout.trim());
  return words.slice(words.findIndex((w) => w.startsWith('/') && w.includes('qemu-system')) + 1);
}

function tsvirtArgv(xml: string): string[] {
  const def = applyQemuDefaults(parseDomainXML(xml));
  return buildQemuCommand(def, { monitorPath: '/unused', memoryDir: env.runDir, kvmAvailable: false, channelDir: CHANNEL_DIR }).args;
}

function nicTypesOf(xml: string): string[] {
  return [...xml.matchAll(/<interface type='([^']+)'/g)].map((m) => m[1]);
}

describe('QEMU command line: tsvirt and libvirt 9.0 for the same XML', () => {
  it.each(fixtureNames())('%s', async (name) => {
    const xml = fixtureXML(name, `tsv-argv-${name}`, env.workDir);
    const file = path.join(env.workDir, `${name}.xml`);
    fs.writeFileSync(file, xml);
    const theirs = comparable(await libvirtArgv(file), nicTypesOf(xml));
    const ours = comparable(tsvirtArgv(xml), nicTypesOf(xml));
    expect(ours).toEqual(theirs);
    // The XML tsvirt writes back (defaults filled in) runs the same guest again: what a save
    // image carries must restore into the same device model.
    const again = applyQemuDefaults(parseDomainXML(formatDomainXML(applyQemuDefaults(parseDomainXML(xml)), { inactive: true })));
    expect(comparable(buildQemuCommand(again, { monitorPath: '/unused', memoryDir: env.runDir, kvmAvailable: false, channelDir: CHANNEL_DIR }).args, nicTypesOf(xml))).toEqual(ours);
  }, 60000);

  it('libvirt\'s own dumpxml of a defined guest gives tsvirt the same command line as the original XML', async () => {
    const xml = fixtureXML('devices', 'tsv-argv-roundtrip', env.workDir);
    const file = path.join(env.workDir, 'roundtrip.xml');
    fs.writeFileSync(file, xml);
    expect((await runTool('virsh', ['-c', lv.uri, 'define', file])).code).toBe(0);
    const dumped = (await runTool('virsh', ['-c', lv.uri, 'dumpxml', '--inactive', 'tsv-argv-roundtrip'])).stdout;
    expect(comparable(tsvirtArgv(dumped), nicTypesOf(xml))).toEqual(comparable(tsvirtArgv(xml), nicTypesOf(xml)));
    expect((await runTool('virsh', ['-c', lv.uri, 'undefine', 'tsv-argv-roundtrip'])).code).toBe(0);
  }, 60000);
});
