/**
 * UUIDs as libvirt accepts them: 32 hex digits, optionally split by dashes anywhere (libvirt's
 * virUUIDParse skips '-' and surrounding spaces); always written in canonical lower-case form.
 */
import { randomUUID } from 'node:crypto';

/** Canonical lower-case form, or undefined when the text is not a UUID. */
export function canonicalUuid(text: string): string | undefined {
  const hex = text.trim().replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A fresh random (version 4) UUID in canonical form. */
export function generateUuid(): string {
  return randomUUID();
}

/** The 16 raw bytes of a canonical UUID. */
export function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}
