/**
 * `npm run bench`: runs every benchmark one after another (never together: they would compete
 * for the machine's two cores), each as its own process so one's memory does not skew another's
 * RSS figures. Each prints its table and writes bench/results/<name>.md. Pass names to run a subset.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ALL = ['qemu-save', 'parallel-save', 'remote-calls'];

function main(): void {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : ALL;
  let failed = 0;
  for (const name of names) {
    const script = path.join(__dirname, `${name}.js`);
    if (!fs.existsSync(script)) {
      console.error(`bench: no benchmark '${name}' (${script})`);
      failed++;
      continue;
    }
    console.log(`\n=== ${name} ===`);
    const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
    if (r.status !== 0) failed++;
  }
  process.exit(failed ? 1 : 0);
}

main();
