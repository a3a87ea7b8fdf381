import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeManifest,
  decodeSaveHeader,
  encodeManifest,
  encodeSaveHeader,
  finalizeSaveImage,
  MANIFEST_FOOTER_SIZE,
  readSaveImageHeader,
  rewriteSaveImage,
  SAVE_HEADER_SIZE,
  SAVE_MAGIC,
  SAVE_PADDING,
  SaveImageFormat,
  writeSaveImageManifest,
  writeSaveImageStart,
  type SaveManifest,
} from '../../src/conf/save-image';
import { ErrorCode } from '../../src/util/error-codes';
import { virErrorOf as rejection } from '../helpers/vir-error-of';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsvirt-conf-save-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


const XML = "<domain type='test'>\n  <name>t</name>\n</domain>\n";
const MANIFEST: SaveManifest = {
  version: 1,
  mode: 'files',
  channels: 2,
  compression: 'none',
  uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f',
  files: [{ name: '.1', channel: 1, offset: 0, length: 10, sha256: 'ab'.repeat(32) }],
};

/** An image as libvirt lays it out, built byte by byte from the documented layout. */
function libvirtImage(opts: { magic?: string; version?: number; format?: number; dataLen?: number; bigEndian?: boolean; cookie?: string }): Buffer {
  const xml = Buffer.from(`${XML}\0`);
  const cookie = opts.cookie !== undefined ? Buffer.from(`${opts.cookie}\0`) : Buffer.alloc(0);
  const dataLen = opts.dataLen ?? xml.length + cookie.length + 65536;
  const h = Buffer.alloc(92);
  h.write(opts.magic ?? 'LibvirtQemudSave', 0, 'latin1');
  const w = (v: number, off: number): void => {
    if (opts.bigEndian) h.writeUInt32BE(v, off);
    else h.writeUInt32LE(v, off);
  };
  w(opts.version ?? 2, 16);
  w(dataLen, 20);
  w(1, 24);
  w(opts.format ?? 0, 28);
  w(cookie.length ? xml.length : 0, 32);
  const pad = Buffer.alloc(Math.max(0, dataLen - xml.length - cookie.length));
  return Buffer.concat([h, xml, cookie, pad, Buffer.from('QEVM\0\0\0\x03')]);
}

async function put(name: string, data: Buffer): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, data);
  return p;
}

describe('save image header', () => {
  test('encode/decode round trip is 92 bytes little-endian', () => {
    const h = { magic: SAVE_MAGIC, version: 2, dataLen: 1234, wasRunning: true, format: SaveImageFormat.ZSTD, cookieOffset: 99 };
    const b = encodeSaveHeader(h);
    expect(b.length).toBe(SAVE_HEADER_SIZE);
    expect(b.readUInt32LE(20)).toBe(1234);
    expect(b.subarray(36).equals(Buffer.alloc(56))).toBe(true);
    expect(decodeSaveHeader(b)).toEqual(h);
  });

  test('a libvirt-written image (built from the layout, with a cookie) is accepted', async () => {
    const p = await put('libvirt.img', libvirtImage({ cookie: '<cookie><cpu/></cookie>' }));
    const info = await readSaveImageHeader(p);
    expect(info.xml).toBe(XML);
    expect(info.cookie).toBe('<cookie><cpu/></cookie>');
    expect(info.header.wasRunning).toBe(true);
    expect(info.manifest).toBeNull();
    const streamAt = info.streamOffset;
    expect((await readFile(p)).toString('latin1', streamAt, streamAt + 4)).toBe('QEVM');
  });

  test('a byte-swapped (big-endian) header is read after a retry', async () => {
    const p = await put('be.img', libvirtImage({ bigEndian: true }));
    const info = await readSaveImageHeader(p);
    expect(info.header.version).toBe(2);
    expect(info.xml).toBe(XML);
  });

  test.each([
    ['partial', { magic: 'LibvirtQemudPart' }, 'operation failed: save image is incomplete'],
    ['bad magic', { magic: 'NotLibvirtAtAll!' }, 'operation failed: image magic is incorrect'],
    ['bad version', { version: 3 << 24 | 3 }, 'operation failed: image version is not supported (50331651 > 2)'],
    ['bad format', { format: 7 }, 'operation failed: unsupported save image format: 7'],
    ['parallel format without a manifest', { format: SaveImageFormat.TSVIRT_PARALLEL }, 'operation failed: unsupported save image format: 1414747728'],
    ['zero data length', { dataLen: 0 }, 'operation failed: invalid header data length: 0'],
  ])('%s -> OPERATION_FAILED', async (_n, opts, message) => {
    const p = await put(`bad-${_n}.img`, libvirtImage(opts));
    const e = await rejection(readSaveImageHeader(p));
    expect(e.code).toBe(ErrorCode.OPERATION_FAILED);
    expect(e.message).toBe(message);
  });

  test('a short file and a missing file', async () => {
    const p = await put('short.img', Buffer.from('LibvirtQemudSave'));
    expect((await rejection(readSaveImageHeader(p))).message).toBe('operation failed: failed to read qemu header');
    const missing = join(dir, 'nonexist');
    const e = await rejection(readSaveImageHeader(missing));
    expect(e.code).toBe(ErrorCode.SYSTEM_ERROR);
    expect(e.message).toBe(`cannot read domain image '${missing}': No such file or directory`);
  });
});

describe('writing, manifest and in-place rewrite', () => {
  async function writeImage(name: string, withManifest: boolean): Promise<string> {
    const p = join(dir, name);
    const fh = await open(p, 'w');
    const h = await writeSaveImageStart(fh, { xml: XML, wasRunning: true });
    expect(h.magic).toBe('LibvirtQemudPart');
    expect(h.dataLen).toBe(Buffer.byteLength(XML) + 1 + SAVE_PADDING);
    await fh.write(Buffer.from('STREAM'), 0, 6, SAVE_HEADER_SIZE + h.dataLen);
    if (withManifest) await writeSaveImageManifest(fh, h, Buffer.byteLength(XML) + 1, MANIFEST);
    // still incomplete until finalized
    await expect(readSaveImageHeader(p)).rejects.toThrow('save image is incomplete');
    await finalizeSaveImage(fh, h);
    await fh.close();
    return p;
  }

  test('a plain image is byte-compatible with libvirt: only zeros after the XML', async () => {
    const p = await writeImage('plain.img', false);
    const b = await readFile(p);
    const xmlEnd = SAVE_HEADER_SIZE + Buffer.byteLength(XML) + 1;
    const dataEnd = SAVE_HEADER_SIZE + b.readUInt32LE(20);
    expect(b.subarray(xmlEnd, dataEnd).equals(Buffer.alloc(dataEnd - xmlEnd))).toBe(true);
    expect(b.toString('latin1', 0, 16)).toBe(SAVE_MAGIC);
    expect(b.toString('latin1', dataEnd)).toBe('STREAM');
  });

  test('the manifest sits at the end of the data area and is found from the footer', async () => {
    const p = await writeImage('manifest.img', true);
    const info = await readSaveImageHeader(p);
    expect(info.manifest).toEqual(MANIFEST);
    const b = await readFile(p);
    const footer = b.subarray(info.streamOffset - MANIFEST_FOOTER_SIZE, info.streamOffset);
    expect(footer.toString('latin1', 0, 8)).toBe('TSVIRTX\0');
    // Nothing of version 2 is used: version 1, readable by an earlier tsvirt.
    expect(footer.readUInt32LE(8)).toBe(1);
    expect(decodeManifest(b.subarray(SAVE_HEADER_SIZE, info.streamOffset))).toEqual(MANIFEST);
    const area = Buffer.from(b.subarray(SAVE_HEADER_SIZE, info.streamOffset));
    area.writeUInt32LE(2, area.length - MANIFEST_FOOTER_SIZE + 8);
    expect(decodeManifest(area)).toEqual(MANIFEST);
    area.writeUInt32LE(3, area.length - MANIFEST_FOOTER_SIZE + 8);
    expect(() => decodeManifest(area)).toThrow('save image extension version is not supported (3 > 2)');
  });

  test('was_running and the XML are rewritten in place, keeping the manifest and stream', async () => {
    const p = await writeImage('rewrite.img', true);
    const before = await readFile(p);
    await rewriteSaveImage(p, { wasRunning: false });
    let info = await readSaveImageHeader(p);
    expect(info.header.wasRunning).toBe(false);
    const bigger = XML.replace('<name>t</name>', `<name>t</name>\n  <description>${'d'.repeat(5000)}</description>`);
    await rewriteSaveImage(p, { xml: bigger, wasRunning: true });
    info = await readSaveImageHeader(p);
    expect(info.xml).toBe(bigger);
    expect(info.header.wasRunning).toBe(true);
    expect(info.manifest).toEqual(MANIFEST);
    const after = await readFile(p);
    expect(after.length).toBe(before.length);
    expect(after.subarray(info.streamOffset).equals(before.subarray(info.streamOffset))).toBe(true);
  });

  test('an XML that would reach the manifest is refused', async () => {
    const p = await writeImage('toolarge.img', true);
    const before = await readFile(p);
    const ext = encodeManifest(MANIFEST).length;
    // exactly fills the room: accepted
    const room = before.readUInt32LE(20) - ext - 1;
    const fits = 'x'.repeat(room);
    await rewriteSaveImage(p, { xml: fits });
    expect((await readSaveImageHeader(p)).manifest).toEqual(MANIFEST);
    const e = await rejection(rewriteSaveImage(p, { xml: `${fits}y` }));
    expect(e.code).toBe(ErrorCode.OPERATION_FAILED);
    expect(e.message).toBe('operation failed: new xml too large to fit in file');
    expect((await readSaveImageHeader(p)).xml).toBe(fits);
  });

  test('a libvirt image without manifest can use its whole padding for the XML', async () => {
    const p = await put('lv-rewrite.img', libvirtImage({}));
    const dataLen = (await readFile(p)).readUInt32LE(20);
    await rewriteSaveImage(p, { xml: 'x'.repeat(dataLen - 1) });
    await expect(rewriteSaveImage(p, { xml: 'x'.repeat(dataLen) })).rejects.toThrow('new xml too large to fit in file');
  });

  test('a damaged manifest is reported', () => {
    const data = Buffer.alloc(1000);
    const ext = encodeManifest(MANIFEST);
    ext.copy(data, data.length - ext.length);
    data[data.length - ext.length] ^= 0xff;
    expect(() => decodeManifest(data)).toThrow('operation failed: save image extension is corrupt');
  });
});
