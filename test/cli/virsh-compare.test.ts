/**
 * tsvirsh side by side with stock virsh on test:///default: for every command both have and
 * virsh's test driver supports, the same command string run in a fresh process of each must
 * print the same stdout and stderr and exit with the same status. Both run in one scratch
 * directory, so relative paths in messages agree.
 *
 * Not compared, because libvirt's test driver does not support them (virsh fails with
 * NO_SUPPORT or unsupported flags where tsvirt works): domjobinfo, domjobabort,
 * save --running/--paused, create --paused, shutdown --mode (flags); capabilities (the
 * drivers describe different hosts), shutdown of a shut-off domain (libvirt's test driver says
 * INTERNAL_ERROR, tsvirt OPERATION_INVALID as libvirt's QEMU driver),
 * save-image-verify (tsvirt's own), managedsave-dumpxml / managedsave-define of an existing
 * image (tsvirt's test driver has the APIs, libvirt's 9.0 has not; test/cli/managed-save-xml.test.ts
 * compares them with virsh through tsvirtd). dominfo is compared whole (Autostart and Security
 * lines included) except the CPU time value (a clock reading), and OS Type normalized: libvirt's
 * test driver reports "linux" whatever the XML says, tsvirt reports the XML's os type ("hvm") as
 * libvirt's QEMU driver does. `event` runs one command string per process, so only what ends on
 * its own is compared here (--list, --timeout, errors); events during a wait are compared in
 * test/remote/events-interop.test.ts.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, requireBuild, type CliResult } from './run-cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirsh-cmp-'));

const DOM_XML = `<domain type='test'>
  <name>cmp1</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/var/tmp/cmp1.img'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>
  </devices>
</domain>
`;

beforeAll(() => {
  requireBuild();
  fs.writeFileSync(path.join(dir, 'dom.xml'), DOM_XML);
  // The test domain's own XML with a new description: a valid replacement for its save image.
  const xml = execFileSync('virsh', ['-c', 'test:///default', 'dumpxml', 'test'], { encoding: 'utf8' });
  fs.writeFileSync(path.join(dir, 'test-new.xml'), xml.replace('</name>', '</name>\n  <description>updated</description>'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A run that did not end within RUN_TIMEOUT_MS (killed). */
const HUNG = -999;
const RUN_TIMEOUT_MS = 5000;

function run(cmd: string, args: readonly string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: dir };
    for (const k of ['LIBVIRT_DEFAULT_URI', 'VIRSH_DEFAULT_CONNECT_URI', 'TSVIRT_DEFAULT_URI']) delete env[k];
    const child = spawn(cmd, args, { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    // A command string given on the command line reads no stdin; an empty one ends at once. A
    // process that exits first closes the pipe under us (EPIPE): not an error of the command.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: signal === 'SIGKILL' ? HUNG : code });
    });
  });
}

/** Runs the command string in virsh, then in tsvirsh (each on a fresh test:///default). */
async function both(command: string, globals: readonly string[] = []): Promise<[CliResult, CliResult]> {
  const clean = (): void => {
    for (const f of fs.readdirSync(dir)) if (f.startsWith('S.img')) fs.rmSync(path.join(dir, f), { force: true });
  };
  // Stock virsh 9.0 on test:///default now and then hangs after a save (about 1 run in 6 on
  // this machine, never tsvirsh); such a run is repeated rather than compared.
  let v: CliResult = { stdout: '', stderr: '', code: HUNG };
  for (let attempt = 0; attempt < 4 && v.code === HUNG; attempt++) {
    clean();
    v = await run('virsh', [...globals, '-c', 'test:///default', command]);
  }
  clean();
  const t = await run(process.execPath, [BIN, ...globals, '-c', 'test:///default', command]);
  return [v, t];
}

const CASES: readonly string[] = [
  // monitoring
  'list', 'list --all', 'list --inactive', 'list --name', 'list --uuid', 'list --id', 'list --all --name --uuid', 'list --table',
  'list --persistent', 'list --transient', 'list --state-running', 'list --state-paused --all', 'list --state-shutoff --all',
  'list --title', 'managedsave test; list --all --managed-save; list --all --with-managed-save; list --all --without-managed-save',
  'domstate test', 'domstate test --reason', 'domstate 1', 'domstate 6695eb01-f6a4-8304-79aa-97f2502e193f', 'domstate nosuch',
  'domid test', 'domid 6695eb01-f6a4-8304-79aa-97f2502e193f', 'domname 1', 'domuuid test', 'domuuid 1',
  'dumpxml test', 'dumpxml test --inactive', 'dumpxml --domain test --security-info',
  'domblklist test', 'domblklist test --details', 'domblklist test --inactive', 'domiflist test', 'domiflist test --inactive',
  // lifecycle
  'destroy test; domstate test --reason; list --all',
  'suspend test; domstate test --reason; resume test; domstate test --reason',
  'destroy test; start test; domstate test --reason', 'start test', 'destroy test; destroy test',
  'suspend test; suspend test', 'resume test', 'undefine test; list --all',
  'shutdown test; domstate test --reason; start test; reboot test; domstate test; reset test; domstate test',
  'undefine test --nvram --keep-nvram', 'destroy test --graceful', 'destroy test; undefine test --keep-nvram',
  'destroy test; undefine test --snapshots-metadata; list --all',
  'reboot test --mode acpi,agent', 'shutdown test --mode bogus', 'shutdown nosuch', 'reset nosuch',
  'define dom.xml; list --all; undefine cmp1; list --all', 'define nonexist.xml',
  'create dom.xml; list; domblklist cmp1; domblklist cmp1 --details; destroy cmp1; list --all',
  'create dom.xml; create dom.xml',
  // save / restore
  'save test S.img; domstate test --reason; restore S.img; domstate test --reason',
  'save test S.img; save-image-dumpxml S.img', 'save test S.img; save-image-define S.img test-new.xml',
  'save test S.img; restore nonexist.img', 'save nosuch S.img',
  // (the state reason after that start is not compared: libvirt's test driver says 'booted',
  // tsvirt's says 'restored' as libvirt's QEMU driver does)
  'managedsave test; domstate test --reason; start test; domstate test',
  'managedsave test; managedsave-remove test; managedsave-remove test; domstate test --reason', 'managedsave-remove test',
  // autostart
  'autostart test; list --all --autostart; list --all --no-autostart; autostart --disable test; list --autostart --all --name',
  'autostart --disable test; list --no-autostart', 'autostart nosuch', 'autostart', 'autostart test --bogus',
  'create dom.xml; autostart cmp1; list --autostart; destroy cmp1', 'connect --name test:///default --readonly; autostart test',
  // events (only what ends by itself: see the file comment)
  'event --list', 'event --all --timeout 1', 'event', 'event --event bogus', 'event --all --event lifecycle', 'event --list --event reboot',
  'event --all --timeout 0', 'event --domain nosuch --all', 'event --event reboot --timeout 1 --domain test --timestamp',
  'event --all --timeout 1; list',
  // managed-save XML: libvirt's test driver lacks the APIs, so only what virsh checks itself
  'managedsave-define test test-new.xml --running --paused', 'managedsave-define test', 'managedsave-define nosuch test-new.xml',
  'managedsave-dumpxml nosuch', 'managedsave-dumpxml',
  // domain capabilities: libvirt's test driver has none (NO_SUPPORT), whatever the arguments
  'domcapabilities', 'domcapabilities --arch x86_64 --machine pc', 'domcapabilities --virttype kvm --emulatorbin /usr/bin/qemu-system-x86_64',
  'domcapabilities --arch ""',
  // host
  'uri', 'hostname', 'version', 'nodeinfo',
  // virsh itself
  'connect test:///default; uri', 'connect --name test:///default --readonly; destroy test',
  'echo hello world', `echo --shell a 'b c' "it's" ''`, "echo --xml '<a>&'", 'echo --split a,,b,c d,e', 'echo --err oops', 'echo',
  'pwd', 'cd /tmp', 'quit', 'exit', 'uri; quit; uri',
  ...['cd', 'connect', 'domblklist', 'domid', 'domiflist', 'dominfo', 'domname', 'domstate', 'domuuid', 'echo', 'help', 'hostname',
    'managedsave', 'managedsave-remove', 'nodeinfo', 'pwd', 'quit', 'resume', 'save-image-define', 'suspend', 'uri', 'version',
    'shutdown', 'reboot', 'reset', 'capabilities', 'destroy', 'domcapabilities', 'autostart', 'event'].map((c) => `help ${c}`),
  'help nosuch',
  // parse errors
  'nosuch', 'domstate', 'domstate test --bogus', 'domstate test extra', 'list --all --all', 'domstate --domain', 'uri; nosuch',
];

describe('tsvirsh and virsh on test:///default: same output and exit status', () => {
  test.each(CASES)('%s', async (command) => {
    const [v, t] = await both(command);
    expect(t).toEqual(v);
  });

  test.each([[['-q']], [['-r']], [['-q', '-r']]])('global options %j', async (globals) => {
    for (const command of ['list --all', 'destroy test; list', 'save test S.img; restore S.img', 'uri']) {
      const [v, t] = await both(command, globals);
      expect({ command, ...t }).toEqual({ command, ...v });
    }
  }, 180000);

  test('global option errors', async () => {
    for (const globals of [['-d', 'x'], ['-d', '9'], ['-k', '-1'], ['-k', 'x'], ['-K', 'x'], ['-e', 'xx'], ['-e', '^1'], ['-e', '^'], ['-e', ' '], ['-e', '^a'], ['-k', '5'], ['-k', '0', '-K', '3']]) {
      const [v, t] = await both('uri', globals);
      expect({ globals, ...t }).toEqual({ globals, ...v });
    }
  }, 180000);

  test.each([
    ['quit', [], 'uri\ndomstate nosuch\n\n# comment\ndestroy test; domstate test\nquit\nuri\n'],
    ['end of input', [], 'uri\nlist --all\n'],
    ['-q', ['-q'], 'uri\nlist --all\n'],
  ])('commands on stdin (no terminal), ending with %s: the same transcript', async (_what, globals, input) => {
    const v = await run('virsh', [...globals, '-c', 'test:///default'], input);
    const t = await run(process.execPath, [BIN, ...globals, '-c', 'test:///default'], input);
    // The program's name, in the banner and the prompt, is the one difference.
    expect({ ...t, stdout: t.stdout.replaceAll('tsvirsh', 'virsh') }).toEqual(v);
  });

  test('-t prints each command time as virsh does', async () => {
    const [v, t] = await both('uri; echo a', ['-t']);
    const blank = (s: string): string => s.replace(/\(Time: \d+\.\d{3} ms\)/g, '(Time: X ms)');
    expect({ ...t, stdout: blank(t.stdout) }).toEqual({ ...v, stdout: blank(v.stdout) });
    expect(t.stdout).toMatch(/^test:\/\/\/default\n\n\(Time: \d+\.\d{3} ms\)\n\na\n\(Time: \d+\.\d{3} ms\)\n\n$/);
  });

  test('-l FILE logs errors in virsh\'s format', async () => {
    const log = path.join(dir, 'tsvirsh.log');
    const t = await run(process.execPath, [BIN, '-l', log, '-c', 'test:///default', 'uri; dominfo nosuch']);
    expect(t.code).toBe(1);
    expect(fs.readFileSync(log, 'utf8')).toMatch(/^\[\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d tsvirsh \d+\] ERROR failed to get domain 'nosuch'\n$/);
  });

  test.each([
    'dominfo test',
    'dominfo 1',
    'dominfo nosuch',
    'destroy test; dominfo test',
    'managedsave test; dominfo test',
    'autostart test; dominfo test; autostart --disable test; dominfo test',
    'create dom.xml; autostart cmp1; dominfo cmp1',
  ])(
    'dominfo: %s (CPU time and OS Type normalized, see the file comment)',
    async (command) => {
      const [v, t] = await both(command);
      const normalize = (s: string): string =>
        s
          .split('\n')
          .filter((l) => !l.startsWith('CPU time:'))
          .map((l) => (l.startsWith('OS Type:') ? 'OS Type:        (os type)' : l))
          .join('\n');
      expect({ ...t, stdout: normalize(t.stdout) }).toEqual({ ...v, stdout: normalize(v.stdout) });
      if (t.code === 0) expect(t.stdout).toContain('OS Type:        hvm\n');
    },
  );
});
