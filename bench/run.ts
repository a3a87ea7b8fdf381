/**
 * `npm run bench`: runs every benchmark one after another (never together: they would compete
 * for the machine's two cores), each as its own process so one's memory does not skew another's
 * RSS figures. Each prints its table and writes bench/results/<name>.md. Pass names to run a subset.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ALL = ['qemu-save', 'parallel-save', 'parallel-save-qemu10', 'remote-calls'];

/**
 * Benchmarks that are another one run with a different environment: the parallel-save bench on
 * bookworm-backports' QEMU 10 (unpacked by scripts/setup-qemu10.sh, chosen by TSVIRT_QEMU).
 */
function variant(name: string): { script: string; env: NodeJS.ProcessEnv } | null {
  if (name !== 'parallel-save-qemu10') return null;
  const setup = spawnSync('bash', [path.join(__dirname, '..', '..', 'scripts', 'setup-qemu10.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const binary = setup.stdout.trim().split('\n').pop() ?? '';
  if (setup.status !== 0 || !binary) throw new Error('bench: scripts/setup-qemu10.sh failed');
  return { script: 'parallel-save', env: { ...process.env, TSVIRT_QEMU: binary, BENCH_QEMU_LABEL: 'qemu10' } };
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
