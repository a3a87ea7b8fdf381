/**
 * libvirt's scaled integers (virScaleInteger): "b"/"bytes", then k/M/G/T/P/E with an optional
 * "iB" (powers of 1024) or "B" (powers of 1000). Memory elements are stored in KiB, rounded up.
 */
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';

const LLONG_MAX = 2n ** 63n - 1n;
const POWERS: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5, e: 6 };

/**
 * Multiplier for a unit suffix; an empty suffix means `defaultScale`. Unknown suffixes raise
 * INVALID_ARG "unknown suffix 'X'" as libvirt does.
 */
export function unitScale(suffix: string | undefined, defaultScale: bigint): bigint {
  if (suffix === undefined || suffix === '') return defaultScale;
  const s = suffix.toLowerCase();
  if (s === 'b' || s === 'byte' || s === 'bytes') return 1n;
  const power = POWERS[s[0]];
  let base: bigint | undefined;
  if (power !== undefined) {
    const rest = s.slice(1);
    if (rest === '' || rest === 'ib') base = 1024n;
    else if (rest === 'b') base = 1000n;
  }
  if (power === undefined || base === undefined) {
    throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `unknown suffix '${suffix}'`);
  }
  return base ** BigInt(power);
}

/**
 * Parses the text and unit of a memory element (e.g. `<memory unit='GiB'>8</memory>`) into KiB,
 * rounding up as libvirt's virDomainParseMemory does. `what` names the element in messages
 * ("./memory[1]").
 */
export function parseMemoryKiB(text: string, unit: string | undefined, what: string): number {
  const trimmed = text.trim();
  if (!/^\+?[0-9]+$/.test(trimmed)) {
    throw VirError.report(
      ErrorCode.XML_ERROR,
      ErrorDomain.DOMAIN,
      `Invalid value '${text}' for element or attribute '${what}'`,
    );
  }
  const value = BigInt(trimmed);
  const scale = unitScale(unit, 1024n);
  if (value > 0n && value > LLONG_MAX / scale) {
    throw VirError.report(ErrorCode.OVERFLOW, ErrorDomain.DOMAIN, `${value}${unit ?? ''}`);
  }
  const kib = (value * scale + 1023n) / 1024n;
  if (kib > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw VirError.report(ErrorCode.OVERFLOW, ErrorDomain.DOMAIN, `${value}${unit ?? ''}`);
  }
  return Number(kib);
}
