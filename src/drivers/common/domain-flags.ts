/**
 * Domain flag constants with libvirt's names and values, shared by the drivers and re-exported
 * by the public layer, and the checks that go with them.
 */
import type { DomainDef } from '../../conf/domain-xml';
import { attr, child } from '../../conf/xml-tree';
import { ErrorCode, type ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';

/** virConnectListAllDomainsFlags (the filters tsvirt's drivers understand). */
export const ListAllDomainsFlags = {
  ACTIVE: 1 << 0,
  INACTIVE: 1 << 1,
  PERSISTENT: 1 << 2,
  TRANSIENT: 1 << 3,
  RUNNING: 1 << 4,
  PAUSED: 1 << 5,
  SHUTOFF: 1 << 6,
  OTHER: 1 << 7,
  MANAGEDSAVE: 1 << 8,
  NO_MANAGEDSAVE: 1 << 9,
  AUTOSTART: 1 << 10,
  NO_AUTOSTART: 1 << 11,
} as const;

/** virDomainXMLFlags. */
export const DomainXMLFlags = { SECURE: 1 << 0, INACTIVE: 1 << 1, UPDATE_CPU: 1 << 2, MIGRATABLE: 1 << 3 } as const;

/** virDomainUndefineFlagsValues. */
export const UndefineFlags = { MANAGED_SAVE: 1 << 0, SNAPSHOTS_METADATA: 1 << 1, NVRAM: 1 << 2, KEEP_NVRAM: 1 << 3 } as const;

/** virDomainCreateFlags. */
export const CreateFlags = { START_PAUSED: 1 << 0, START_AUTODESTROY: 1 << 1, START_BYPASS_CACHE: 1 << 2, START_FORCE_BOOT: 1 << 3 } as const;

/** virDomainGetJobStatsFlags. */
export const JobStatsFlags = { COMPLETED: 1 << 0, KEEP_COMPLETED: 1 << 1 } as const;

/** True when the domain has UEFI variable storage: `<os><nvram>`, or `<os firmware='efi'>` (which implies one). */
export function domainHasNvram(def: DomainDef): boolean {
  const os = child(def.tree, 'os');
  return os !== undefined && (child(os, 'nvram') !== undefined || attr(os, 'firmware') === 'efi');
}

/**
 * VIR_DOMAIN_SAVE_RESET_NVRAM (restore) on a domain without NVRAM: OPERATION_UNSUPPORTED, before
 * anything starts. Accepting it and doing nothing would let a caller believe the guest's UEFI
 * variables were reset.
 */
export function requireNvramForReset(def: DomainDef, domain: ErrorDomain): void {
  if (domainHasNvram(def)) return;
  throw VirError.report(ErrorCode.OPERATION_UNSUPPORTED, domain, `cannot reset NVRAM of domain '${def.name}': it has no NVRAM`);
}

/** virDomainShutdownFlagValues / virDomainRebootFlagValues (the same bits for both calls). */
export const PowerFlags = {
  ACPI_POWER_BTN: 1 << 0,
  GUEST_AGENT: 1 << 1,
  INITCTL: 1 << 2,
  SIGNAL: 1 << 3,
  PARAVIRT: 1 << 4,
} as const;
