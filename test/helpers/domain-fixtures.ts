/**
 * The domain XML corpus of test/fixtures/domain-xml: each file with its `@NAME@` and `@DIR@`
 * filled in, and the images it names created in DIR (raw files, a real qcow2 from qemu-img,
 * an empty kernel/initrd pair that only the command line, not a boot, needs).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Folder of the corpus. */
export const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures', 'domain-xml');

/** The corpus' file names without `.xml`. */
export function fixtureNames(): string[] {
  return fs.readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -4)).sort();
}

/** Creates the files the corpus names in `dir`. */
export function createFixtureFiles(dir: string): void {
  for (const f of ['data.raw', 'ro.raw', 'scsi.raw', 'scsi2.raw']) fs.writeFileSync(path.join(dir, f), Buffer.alloc(1 << 20));
  fs.writeFileSync(path.join(dir, 'install.iso'), Buffer.alloc(1 << 20));
  for (const f of ['vmlinuz', 'initrd.img']) fs.writeFileSync(path.join(dir, f), '');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, 'sys.qcow2'), '64M']);
}

/** The fixture `name` as XML for a guest called `guest` with its files in `dir`. */
export function fixtureXML(name: string, guest: string, dir: string): string {
  return fs.readFileSync(path.join(FIXTURE_DIR, `${name}.xml`), 'utf8').replace(/@NAME@/g, guest).replace(/@DIR@/g, dir);
}
