import { createHash } from 'node:crypto';
import { copyFile, readFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeManifest, readSaveImageHeader } from '../../src/conf/save-image';
import { DEFAULT_DOMAIN_XML } from '../../src/drivers/test/default-fixture';
import { DomainState, type DomainRef } from '../../src/drivers/types';
import type { HypervisorDriver } from '../../src/drivers/driver-table';
import { ErrorCode } from '../../src/util/error-codes';
import { TypedParamType, type TypedParameter } from '../../src/util/typed-params';
import { openTest, rejection, rmrf, tempDir } from './test-driver-helpers';

const s = (field: string, value: string): TypedParameter => ({ field, type: TypedParamType.STRING, value });
const i = (field: string, value: number): TypedParameter => ({ field, type: TypedParamType.INT, value });

let dir: string;
let pristine: string;
let pristineSingle: string;
let c: Required<HypervisorDriver>;
let dom: DomainRef;
let n = 0;

async function copyImage(src: string, channels: number): Promise<string> {
  const dst = join(dir, `case-${++n}`);
  await copyFile(src, dst);
  for (let k = 1; k <= channels; k++) await copyFile(`${src}.${k}`, `${dst}.${k}`);
  return dst;
}

/** SHA-256 of the image's files ('absent' for a missing one): cheap to compare. */
async function snapshot(path: string, channels: number): Promise<string[]> {
  const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const out = [digest(await readFile(path))];
  for (let k = 1; k <= channels; k++) out.push(await readFile(`${path}.${k}`).then(digest, () => 'absent'));
  return out;
}

/** A failed restore: OPERATION_FAILED with `pattern`, domain still shut off, files untouched. */
async function expectRestoreFailure(path: string, channels: number, pattern: RegExp): Promise<void> {
  const before = await snapshot(path, channels);
  const e = await rejection(c.domainRestore(path));
  expect(e.code).toBe(ErrorCode.OPERATION_FAILED);
  expect(e.message).toMatch(pattern);
  expect((await c.domainGetState(dom, 0)).state).toBe(DomainState.SHUTOFF);
  expect(await snapshot(path, channels)).toEqual(before);
}

beforeAll(async () => {
  dir = await tempDir('tdrv-corrupt');
  const fixture = join(dir, 'fixture.xml');
  await writeFile(fixture, `<node>${DEFAULT_DOMAIN_XML}</node>`);
  c = await openTest(`test://${fixture}`);
  dom = await c.domainLookupByName('test');
  pristine = join(dir, 'pristine');
  await c.domainSaveParams(dom, [s('file', pristine), i('parallel.channels', 3)], 0);
  await c.domainRestore(pristine);
  pristineSingle = join(dir, 'single');
  await c.domainSave(dom, pristineSingle);
});
afterAll(async () => {
  await c.connectClose();
  await rmrf(dir);
});

describe('corrupt images are refused with the file named, and left alone', () => {
  test('header: Part magic, bad magic, bad version, bad format', async () => {
    const cases: Array<[(b: Buffer) => void, string]> = [
      [(b) => b.write('LibvirtQemudPart', 0, 'latin1'), 'operation failed: save image is incomplete'],
      [(b) => b.write('Garbage!Garbage!', 0, 'latin1'), 'operation failed: image magic is incorrect'],
      [(b) => b.writeUInt32LE(7, 16), 'operation failed: image version is not supported (117440512 > 2)'],
      [(b) => b.writeUInt32LE(9, 28), 'operation failed: unsupported save image format: 9'],
    ];
    for (const [mutate, message] of cases) {
      const p = await copyImage(pristineSingle, 0);
      const b = await readFile(p);
      mutate(b);
      await writeFile(p, b);
      await expectRestoreFailure(p, 0, new RegExp(`^${message.replace(/[()]/g, '\\$&')}$`));
      expect((await rejection(c.domainSaveImageGetXMLDesc(p, 0))).message).toBe(message);
    }
  });

  test('main file truncated (single stream and multi-channel)', async () => {
    const single = await copyImage(pristineSingle, 0);
    await truncate(single, (await readFile(single)).length - 1000);
    await expectRestoreFailure(single, 0, new RegExp(`save image file '${single}' has \\d+ bytes, expected \\d+`));
    const multi = await copyImage(pristine, 3);
    await truncate(multi, (await readFile(multi)).length - 10);
    await expectRestoreFailure(multi, 3, new RegExp(`'${multi}'`));
  });

  test('a channel file deleted, truncated, swapped or bit-flipped', async () => {
    const deleted = await copyImage(pristine, 3);
    await unlink(`${deleted}.2`);
    await expectRestoreFailure(deleted, 3, new RegExp(`save image file '${deleted}\\.2' is missing`));

    const truncated = await copyImage(pristine, 3);
    await truncate(`${truncated}.3`, 5000);
    await expectRestoreFailure(truncated, 3, new RegExp(`save image file '${truncated}\\.3' has 5000 bytes`));

    const swapped = await copyImage(pristine, 3);
    // channels 1 and 2 carry the same number of bytes here, so only their content tells them apart
    await rename(`${swapped}.1`, `${swapped}.tmp`);
    await rename(`${swapped}.2`, `${swapped}.1`);
    await rename(`${swapped}.tmp`, `${swapped}.2`);
    await expectRestoreFailure(swapped, 3, new RegExp(`save image file '${swapped}\\.[12]' carries channel [12] of 3, expected channel [12] of 3`));

    const flipped = await copyImage(pristine, 3);
    const b = await readFile(`${flipped}.2`);
    b[b.length - 7] ^= 0x10;
    await writeFile(`${flipped}.2`, b);
    await expectRestoreFailure(flipped, 3, new RegExp(`save image file '${flipped}\\.2' is corrupt`));
  });

  test('a manifest tampered to match a flipped file still fails: memory must regenerate from the uuid', async () => {
    const p = await copyImage(pristineSingle, 0);
    const b = await readFile(p);
    b[b.length - 1] ^= 0xff; // last payload byte
    const info = await readSaveImageHeader(p);
    const manifest = info.manifest!;
    const main = manifest.files[0];
    main.sha256 = createHash('sha256').update(b.subarray(main.offset, main.offset + main.length)).digest('hex');
    const ext = encodeManifest(manifest);
    ext.copy(b, info.streamOffset - ext.length);
    await writeFile(p, b);
    expect((await readSaveImageHeader(p)).manifest?.files[0].sha256).toBe(main.sha256);
    await expectRestoreFailure(p, 0, new RegExp(`save image file '${p}' is corrupt: guest memory does not match the domain`));
  });

  test('the pristine images still restore', async () => {
    await c.domainRestore(pristine);
    expect((await c.domainGetState(dom, 0)).state).toBe(DomainState.RUNNING);
    await c.domainDestroy(dom, 0);
    await c.domainRestore(pristineSingle);
    expect((await c.domainGetState(dom, 0)).state).toBe(DomainState.RUNNING);
    await c.domainDestroy(dom, 0);
  });
});
