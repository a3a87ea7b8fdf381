/**
 * Third-party drivers in the tools (`--driver MODULE` for tsvirsh and tsvirtd, CommonJS and ES
 * modules), and tsvirtd as people start it: `--help` on stdout, and `npx tsvirtd & kill $!`
 * ending the daemon (npm exec does not pass the signal on).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, ROOT, requireBuild, tsvirsh } from './run-cli';

const TSVIRTD = path.join(ROOT, 'bin', 'tsvirtd.js');
const MINIMAL = path.join(ROOT, 'dist', 'examples', 'minimal-driver', 'index.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-drv-'));

/** An ES module driver that needs nothing from tsvirt: one domain, a handful of slots. */
const ESM_DRIVER = `
const dom = { name: 'esm-only', uuid: '11111111-2222-4333-8444-555555555555', id: 7 };
export default {
  name: 'esmdrv',
  uriSchemes: ['esmdrv'],
  localOnly: true,
  async open(uri) {
    if (!uri) return { status: 'declined' };
    return { status: 'success', driver: {
      name: 'ESMDRV',
      connectGetURI: async () => 'esmdrv:///',
      connectListAllDomains: async () => [dom],
      domainLookupByName: async () => dom,
      domainGetState: async () => ({ state: 1, reason: 1 }),
    } };
  },
};
`;

beforeAll(() => {
  requireBuild();
  if (!fs.existsSync(MINIMAL)) throw new Error(`${MINIMAL} is missing: run npm run build`);
  fs.writeFileSync(path.join(dir, 'esm-driver.mjs'), ESM_DRIVER);
  fs.writeFileSync(path.join(dir, 'not-a-driver.js'), 'module.exports = { answer: 42 };\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Pids of processes whose command line mentions `needle` (our unique socket directory). */
function pidsWith(needle: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle)) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('tsvirsh --driver', () => {
  test('a CommonJS driver module (the minimal example) serves its URI', async () => {
    const r = await tsvirsh(['--driver', MINIMAL, '-c', 'minimal:///', 'uri; list --name; domstate only']);
    expect(r).toEqual({ code: 0, stdout: 'minimal:///\n\nonly\n\nrunning\n\n', stderr: '' });
  });

  test('an ES module driver, named relative to the current directory', () => {
    const r = spawnSync(process.execPath, [BIN, '--driver=./esm-driver.mjs', '-c', 'esmdrv:///', 'uri; list'], { cwd: dir, encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toBe('esmdrv:///\n\n Id   Name       State\n--------------------------\n 7    esm-only   running\n\n');
  });

  test('a module that is missing or registers no driver: a clear error, exit 1', async () => {
    const missing = await tsvirsh(['--driver', path.join(dir, 'nope.js'), '-c', 'test:///default', 'uri']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(new RegExp(`^error: internal error: failed to load driver module '${dir}/nope.js': Cannot find module`));
    const none = await tsvirsh(['--driver', path.join(dir, 'not-a-driver.js'), '-c', 'test:///default', 'uri']);
    expect(none).toEqual({ code: 1, stdout: '', stderr: `error: internal error: driver module '${dir}/not-a-driver.js' neither registers nor exports a connection driver\n` });
  });
});

describe('tsvirtd', () => {
  test('--help prints the usage on stdout and exits 0', () => {
    const r = spawnSync(process.execPath, [TSVIRTD, '--help'], { encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Usage: tsvirtd \[options\]\n/);
    expect(r.stdout).toContain('--driver MODULE');
  });

  test('--driver MODULE: tsvirsh and stock virsh reach the third-party driver through the daemon', async () => {
    const sock = path.join(dir, 'd1');
    const d = spawn(process.execPath, [TSVIRTD, '--socket-dir', sock, '--driver', MINIMAL], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    d.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const exited = new Promise<number | null>((r) => d.once('exit', (c) => r(c)));
    try {
      await waitFor(() => err.includes('tsvirtd: listening') || d.exitCode !== null, 20000, 'tsvirtd to listen');
      const uri = `minimal+unix:///?socket=${sock}/libvirt-sock`;
      const r = await tsvirsh(['-c', uri, 'list --name; domstate only']);
      expect(r).toEqual({ code: 0, stdout: 'only\n\nrunning\n\n', stderr: '' });
      const v = execFileSync('virsh', ['-c', uri, 'list', '--name'], { encoding: 'utf8' });
      expect(v).toBe('only\n\n');
    } finally {
      d.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(sock, 'libvirt-sock'))).toBe(false);
  });

  test('`npx tsvirtd &` then a SIGTERM to npm ends the daemon and removes its sockets', async () => {
    const sock = path.join(dir, 'npx-sock');
    // Its own process group, so that whatever happens nothing outlives the test.
    const npx = spawn('npx', ['--yes', 'tsvirtd', '--socket-dir', sock], { cwd: ROOT, detached: true, stdio: 'ignore' });
    const npxExit = new Promise<void>((r) => npx.once('exit', () => r()));
    try {
      await waitFor(() => fs.existsSync(path.join(sock, 'libvirt-sock')), 60000, 'the daemon started by npx to listen');
      const daemons = pidsWith(sock).filter((p) => p !== npx.pid);
      expect(daemons.length).toBeGreaterThan(0);
      process.kill(npx.pid!, 'SIGTERM');
      await npxExit;
      await waitFor(() => pidsWith(sock).length === 0, 15000, 'the daemon to exit after npm did');
      expect(fs.existsSync(path.join(sock, 'libvirt-sock'))).toBe(false);
      expect(fs.existsSync(path.join(sock, 'libvirt-sock-ro'))).toBe(false);
    } finally {
      for (const p of pidsWith(sock)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }, 90000);
});
