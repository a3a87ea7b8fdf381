import { xdrError } from '../xdr/errors';
import { VIR_UUID_BUFLEN } from './constants';

const HEX32 = /^[0-9a-fA-F]{32}$/;

/**
 * UUID string -> the 16 raw bytes of remote_uuid. Accepts the canonical dashed form (any case)
 * or 32 bare hex digits, as libvirt's virUUIDParse does for the common spellings.
 */
export function uuidToBytes(uuid: string): Buffer {
  const hex = typeof uuid === 'string' ? uuid.replace(/-/g, '') : '';
  if (!HEX32.test(hex)) throw xdrError(`XDR: '${String(uuid)}' is not a valid UUID`);
  return Buffer.from(hex, 'hex');
}

/** The 16 raw bytes of remote_uuid -> canonical lower-case 8-4-4-4-12 string. */
export function bytesToUuid(bytes: Uint8Array): string {
  if (bytes.length !== VIR_UUID_BUFLEN) throw xdrError(`XDR: UUID needs ${VIR_UUID_BUFLEN} bytes, got ${bytes.length}`);
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
