/**
 * tsvirsh command formats, errors and exit codes, matched against virsh 9.0's output on
 * libvirt's test:///default. Runs the built CLI as a child process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTest, requireBuild, tsvirsh } from './run-cli';

let dir: string;
beforeAll(() => {
  requireBuild();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirsh-cmd-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

describe('tsvirsh output formats', () => {
  test('list, list --all after destroy, --name, --uuid', async () => {
    const r = await onTest('list; destroy test; list; list --all; list --all --name; list --all --uuid');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      ' Id   Name   State\n----------------------\n 1    test   running\n\n' +
        "Domain 'test' destroyed\n\n" +
        ' Id   Name   State\n--------------------\n\n' +
        ' Id   Name   State\n-----------------------\n -    test   shut off\n\n' +
        'test\n\n' +
        `${UUID}\n\n`,
    );
  });

  test('quiet mode drops the header and the blank lines', async () => {
    const r = await tsvirsh(['-q', '-c', 'test:///default', 'list; destroy test; domstate test']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(' 1   test   running\nshut off\n');
  });

  test('dominfo', async () => {
    const r = await onTest('dominfo test');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'Id:             1',
      'Name:           test',
      `UUID:           ${UUID}`,
      'OS Type:        hvm',
      'State:          running',
      'CPU(s):         2',
    ]);
    expect(lines).toContain('Max memory:     8388608 KiB');
    expect(lines).toContain('Used memory:    2097152 KiB');
    expect(lines).toContain('Persistent:     yes');
    expect(lines).toContain('Managed save:   no');
    expect(r.stdout.endsWith('\n\n')).toBe(true);
  });

  test('domstate, suspend / resume reasons', async () => {
    const r = await onTest('domstate test; suspend test; domstate test --reason; resume test; domstate test --reason; destroy test; domstate test --reason');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'running\n\n' +
        "Domain 'test' suspended\n\npaused (user)\n\n" +
        "Domain 'test' resumed\n\nrunning (unpaused)\n\n" +
        "Domain 'test' destroyed\n\nshut off (destroyed)\n\n",
    );
  });

  test('domid, domname, domuuid resolve names, ids and uuids', async () => {
    const r = await onTest(`domid test; domid ${UUID}; domname 1; domname ${UUID}; domuuid test; domuuid 1; destroy test; domid test`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`1\n\n1\n\ntest\n\ntest\n\n${UUID}\n\n${UUID}\n\nDomain 'test' destroyed\n\n-\n\n`);
  });

  test('uri, hostname and version', async () => {
    const r = await onTest('uri; hostname; version');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^test:\/\/\/default\n\n\S+\n\nCompiled against library: libvirt \d+\.\d+\.\d+\nUsing library: libvirt \d+\.\d+\.\d+\nUsing API: TEST \d+\.\d+\.\d+\nRunning hypervisor: TEST \d+\.\d+\.\d+\n\n$/,
    );
  });

  test('dumpxml and start of an active domain', async () => {
    const r = await onTest('dumpxml test --inactive; start test');
    expect(r.code).toBe(1);
    expect(r.stdout.startsWith("<domain type='test'>\n  <name>test</name>\n")).toBe(true);
    expect(r.stderr).toBe('error: Domain is already active\n');
  });

  test('define and undefine with a temporary XML file', async () => {
    const xml = (await onTest('dumpxml test --inactive')).stdout.trimEnd();
    const file = path.join(dir, 't2.xml');
    writeFileSync(file, xml.replace('<name>test</name>', '<name>t2</name>').replace(/\s*<uuid>.*<\/uuid>/, ''));
    const r = await onTest(`define ${file}; list --all --name; start t2; destroy t2; undefine t2; list --all --name`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `Domain 't2' defined from ${file}\n\ntest\nt2\n\n` +
        "Domain 't2' started\n\nDomain 't2' destroyed\n\nDomain 't2' has been undefined\n\ntest\n\n",
    );
    const missing = path.join(dir, 'nonexistent.xml');
    const m = await onTest(`define ${missing}`);
    expect(m.code).toBe(1);
    expect(m.stderr).toBe(`error: Failed to open file '${missing}': No such file or directory\n`);
  });

  test('help for one command is derived from its option table', async () => {
    const r = await onTest('help domstate');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '  NAME\n    domstate - domain state\n\n' +
        '  SYNOPSIS\n    domstate <domain> [--reason]\n\n' +
        '  DESCRIPTION\n    Returns state about a domain.\n\n' +
        '  OPTIONS\n    [--domain] <string>  domain name, id or uuid\n    --reason         also print reason for the state\n\n\n',
    );
    const s = await tsvirsh(['help', 'save']);
    expect(s.stdout).toContain('    save <domain> <file> [--bypass-cache] [--xml <string>] [--running] [--paused] [--verbose]');
    expect(s.stdout).toContain('    --parallel-channels <number>  number of extra IO channels to use for parallel save\n');
    const bad = await tsvirsh(['help', 'bogus']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("error: command or command group 'bogus' doesn't exist\n");
  });
});

describe('tsvirsh errors and exit codes', () => {
  test('an unknown domain', async () => {
    const r = await onTest('domstate nosuch');
    expect(r).toEqual({ code: 1, stdout: '\n', stderr: "error: failed to get domain 'nosuch'\n" });
  });

  test('the status of a chain is the status of its last command, as in virsh', async () => {
    const failedFirst = await onTest('domstate nosuch; domstate test');
    expect(failedFirst.code).toBe(0);
    expect(failedFirst.stdout).toBe('\nrunning\n\n');
    const failedLast = await onTest('domstate test; domstate nosuch');
    expect(failedLast.code).toBe(1);
  });

  test('parse errors stop the whole line before anything runs', async () => {
    expect(await onTest('list; bogus')).toEqual({ code: 1, stdout: '', stderr: "error: unknown command: 'bogus'\n" });
    expect(await onTest('destroy test; save test')).toEqual({ code: 1, stdout: '', stderr: "error: command 'save' requires <file> option\n" });
    const both = await onTest('save');
    expect(both.stderr).toBe("error: command 'save' requires <domain> option\nerror: command 'save' requires <file> option\n");
    expect((await onTest('list --bogus')).stderr).toBe("error: command 'list' doesn't support option --bogus\n");
    expect((await onTest('domstate test extra')).stderr).toBe("error: unexpected data 'extra'\n");
    expect((await onTest('domstate test --reason --reason')).stderr).toBe('error: option --reason already seen\n');
    expect((await onTest('domid --domain')).stderr).toBe('error: expected syntax: --domain <string>\n');
    expect((await onTest('domstate "test')).stderr).toBe('error: missing "\n');
  });

  test('read-only connections refuse mutating commands', async () => {
    const r = await tsvirsh(['-r', '-c', 'test:///default', 'destroy test; domstate test']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('\nrunning\n\n');
    expect(r.stderr).toMatch(/^error: Failed to destroy domain 'test'\nerror: operation forbidden: read only access prevents virDomainDestroy\n$/);
  });

  test('no URI: the drivers are probed; VIRSH_DEFAULT_CONNECT_URI, TSVIRT_DEFAULT_URI, LIBVIRT_DEFAULT_URI in that order', async () => {
    const unset = { TSVIRT_DEFAULT_URI: undefined, LIBVIRT_DEFAULT_URI: undefined, VIRSH_DEFAULT_CONNECT_URI: undefined };
    const none = await tsvirsh(['list'], { env: unset });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('error: failed to connect to the hypervisor\nerror: no connection driver available for the default URI\n');
    for (const name of ['TSVIRT_DEFAULT_URI', 'LIBVIRT_DEFAULT_URI', 'VIRSH_DEFAULT_CONNECT_URI']) {
      const env = await tsvirsh(['domstate', 'test'], { env: { ...unset, [name]: 'test:///default' } });
      expect(env).toEqual({ code: 0, stdout: 'running\n\n', stderr: '' });
    }
    // virsh's own variable wins over the library's, and -c over both.
    const both = await tsvirsh(['uri'], { env: { ...unset, VIRSH_DEFAULT_CONNECT_URI: 'test:///default', LIBVIRT_DEFAULT_URI: 'qemu:///nonsense' } });
    expect(both.stdout).toBe('test:///default\n\n');
    const dashC = await tsvirsh(['-c', 'test:///default', 'uri'], { env: { ...unset, VIRSH_DEFAULT_CONNECT_URI: 'qemu:///nonsense' } });
    expect(dashC.stdout).toBe('test:///default\n\n');
  });

  test('global option errors and versions', async () => {
    expect(await tsvirsh(['--bogus'])).toEqual({ code: 1, stdout: '', stderr: "error: unsupported option '--bogus'. See --help.\n" });
    expect(await tsvirsh(['-c'])).toEqual({ code: 1, stdout: '', stderr: "error: option '-c'/'--connect' requires an argument\n" });
    const v = await tsvirsh(['-v']);
    expect(v.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  test('commands read from stdin share one connection; quit stops', async () => {
    const r = await tsvirsh(['-c', 'test:///default'], { input: 'domstate nosuch\ndestroy test\n\n# comment\ndomstate test\nquit\nuri\n' });
    expect(r.code).toBe(0);
    const banner = "Welcome to tsvirsh, the virtualization interactive terminal.\n\nType:  'help' for help with commands\n       'quit' to quit\n\n";
    expect(r.stdout).toBe(
      `${banner}tsvirsh # domstate nosuch\n\ntsvirsh # destroy test\nDomain 'test' destroyed\n\ntsvirsh # \ntsvirsh # # comment\n` +
        'tsvirsh # domstate test\nshut off\n\ntsvirsh # quit\n\n',
    );
    expect(r.stderr).toBe("error: failed to get domain 'nosuch'\n");
  });
});

describe('global options that change the session', () => {
  test('-d 0 turns on the library log on stderr (debug), -d 4 keeps it to errors', async () => {
    const debug = await tsvirsh(['-d', '0', '-c', 'test:///default', 'uri'], { env: { TSVIRT_LOG_LEVEL: undefined } });
    expect(debug.stdout).toBe('test:///default\n\n');
    const records = debug.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: number; fn?: string });
    expect(records.some((r) => r.level === 20 && r.fn === 'virConnectOpen')).toBe(true);
    const quiet = await tsvirsh(['-d', '4', '-c', 'test:///default', 'uri'], { env: { TSVIRT_LOG_LEVEL: undefined } });
    expect(quiet).toEqual({ code: 0, stdout: 'test:///default\n\n', stderr: '' });
  });
});
