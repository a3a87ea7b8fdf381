/**
 * `npm run bench`: runs every benchmark one after another (never together: they would compete
 * for the machine's two cores), each as its own process so one's memory does not skew another's
 * RSS figures. Each prints its table and writes bench/results/<name>.md. Pass names to run a subset.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ALL = ['qemu-save', 'parallel-save', 'parallel-save-qemu10', 'libvirt11-save', 'remote-calls'];

/** Last line of a setup script's output (the path it unpacked), run from the repository. */
function setupOutput(script: string): string {
  const setup = spawnSync('bash', [path.join(__dirname, '..', '..', 'scripts', script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const out = setup.stdout.trim().split('\n').pop() ?? '';
  if (setup.status !== 0 || !out) throw new Error(`bench: scripts/${script} failed`);
  return out;
}

/**
 * Benchmarks that need unpacked software, found here (the compiled test helpers would look for
 * the scripts under dist/): the parallel-save bench on bookworm-backports' QEMU 10 (chosen by
 * TSVIRT_QEMU), and libvirt11-save, which also needs libvirt 11.3 (TSVIRT_LIBVIRT11_ROOT).
 */
function variant(name: string): { script: string; env: NodeJS.ProcessEnv } | null {
  if (name === 'parallel-save-qemu10') return { script: 'parallel-save', env: { ...process.env, TSVIRT_QEMU: setupOutput('setup-qemu10.sh'), BENCH_QEMU_LABEL: 'qemu10' } };
  if (name === 'libvirt11-save') {
    const qemu = setupOutput('setup-qemu10.sh');
    return { script: name, env: { ...process.env, TSVIRT_QEMU: qemu, TSVIRT_QEMU10: qemu, TSVIRT_LIBVIRT11_ROOT: setupOutput('setup-libvirt11.sh') } };
  }
  return null;
}

function main(): void {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : ALL;
  let failed = 0;
  for (const name of names) {
    const v = variant(name);
    const script = path.join(__dirname, `${v?.script ?? name}.js`);
    if (!fs.existsSync(script)) {
      console.error(`bench: no benchmark '${name}' (${script})`);
      failed++;
      continue;
    }
    console.log(`\n=== ${name} ===`);
    const r = spawnSync(process.execPath, [script], { stdio: 'inherit', env: v?.env ?? process.env });
    if (r.status !== 0) failed++;
  }
  process.exit(failed ? 1 : 0);
}

main();
