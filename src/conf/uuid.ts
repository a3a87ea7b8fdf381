/**
 * UUIDs as libvirt accepts them: 32 hex digits, optionally split by dashes anywhere (libvirt's
 * virUUIDParse skips '-' and surrounding spaces); always written in canonical lower-case form.
 */

/** Canonical lower-case form, or undefined when the text is not a UUID. */
export function canonicalUuid(text: string): string | undefined {
  const hex = text.trim().replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A fresh random (version 4) UUID in canonical form. */
export function generateUuid(): string {
  // Required here: node:crypto costs ~5 ms of start-up, and most processes never make a UUID.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:crypto') as typeof import('node:crypto')).randomUUID();
}

/** The 16 raw bytes of a canonical UUID. */
export function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}
