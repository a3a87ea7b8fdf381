/**
 * Values that cross the driver table: plain data, so that a driver in another process (the
 * remote driver) can carry them unchanged.
 */
import type { TypedParameter } from '../util/typed-params';

/** What identifies a domain to a driver (libvirt's virDomainPtr contents). */
export interface DomainRef {
  readonly name: string;
  /** Lower-case canonical UUID string. */
  readonly uuid: string;
  /** Runtime id, -1 when inactive. */
  readonly id: number;
}

/** A storage pool as the wire names it (remote_nonnull_storage_pool). */
export interface StoragePoolRef {
  readonly name: string;
  /** Lower-case canonical UUID string. */
  readonly uuid: string;
}

/** virDomainState. */
export enum DomainState {
  NOSTATE = 0,
  RUNNING = 1,
  BLOCKED = 2,
  PAUSED = 3,
  SHUTDOWN = 4,
  SHUTOFF = 5,
  CRASHED = 6,
  PMSUSPENDED = 7,
}

/** virDomainRunningReason. */
export enum RunningReason {
  UNKNOWN = 0,
  BOOTED = 1,
  MIGRATED = 2,
  RESTORED = 3,
  FROM_SNAPSHOT = 4,
  UNPAUSED = 5,
  MIGRATION_CANCELED = 6,
  SAVE_CANCELED = 7,
  WAKEUP = 8,
  CRASHED = 9,
  POSTCOPY = 10,
}

/** virDomainPausedReason. */
export enum PausedReason {
  UNKNOWN = 0,
  USER = 1,
  MIGRATION = 2,
  SAVE = 3,
  DUMP = 4,
  IOERROR = 5,
  WATCHDOG = 6,
  FROM_SNAPSHOT = 7,
  SHUTTING_DOWN = 8,
  SNAPSHOT = 9,
  CRASHED = 10,
  STARTING_UP = 11,
}

/** virDomainShutoffReason. */
export enum ShutoffReason {
  UNKNOWN = 0,
  SHUTDOWN = 1,
  DESTROYED = 2,
  CRASHED = 3,
  MIGRATED = 4,
  SAVED = 5,
  FAILED = 6,
  FROM_SNAPSHOT = 7,
  DAEMON = 8,
}

/** State plus reason, as virDomainGetState returns them. */
export interface DomainStateInfo {
  state: DomainState;
  reason: number;
}

/** virDomainInfo; memory in KiB, cpuTime in nanoseconds. */
export interface DomainInfo {
  state: DomainState;
  maxMem: number;
  memory: number;
  nrVirtCpu: number;
  cpuTime: bigint;
}

/** virNodeInfo. */
export interface NodeInfo {
  model: string;
  /** KiB. */
  memory: number;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

/** virSecurityModel. */
export interface SecurityModel {
  model: string;
  doi: string;
}

/** virSecurityLabel. */
export interface SecurityLabel {
  label: string;
  enforcing: boolean;
}

/** virDomainJobType. */
export enum JobType {
  NONE = 0,
  BOUNDED = 1,
  UNBOUNDED = 2,
  COMPLETED = 3,
  FAILED = 4,
  CANCELLED = 5,
}

/** virDomainJobOperation. */
export enum JobOperation {
  UNKNOWN = 0,
  START = 1,
  SAVE = 2,
  RESTORE = 3,
  MIGRATION_IN = 4,
  MIGRATION_OUT = 5,
  SNAPSHOT = 6,
  SNAPSHOT_REVERT = 7,
  DUMP = 8,
  BACKUP = 9,
}

/** virDomainJobInfo; byte counts and milliseconds. */
export interface JobInfo {
  type: JobType;
  timeElapsed: number;
  timeRemaining: number;
  dataTotal: number;
  dataProcessed: number;
  dataRemaining: number;
  memTotal: number;
  memProcessed: number;
  memRemaining: number;
  fileTotal: number;
  fileProcessed: number;
  fileRemaining: number;
}

/** virDomainGetJobStats result. */
export interface JobStats {
  type: JobType;
  params: TypedParameter[];
}

/** virDomainEventType. */
export enum DomainEventType {
  DEFINED = 0,
  UNDEFINED = 1,
  STARTED = 2,
  SUSPENDED = 3,
  RESUMED = 4,
  STOPPED = 5,
  SHUTDOWN = 6,
  PMSUSPENDED = 7,
  CRASHED = 8,
}

/** The event details tsvirt's drivers raise (virDomainEvent*DetailType). */
export const EventDetail = {
  defined: { ADDED: 0, UPDATED: 1 },
  undefined: { REMOVED: 0 },
  started: { BOOTED: 0, MIGRATED: 1, RESTORED: 2 },
  suspended: { PAUSED: 0, MIGRATED: 1, RESTORED: 5 },
  resumed: { UNPAUSED: 0, MIGRATED: 1 },
  stopped: { SHUTDOWN: 0, DESTROYED: 1, CRASHED: 2, MIGRATED: 3, SAVED: 4, FAILED: 5 },
  shutdown: { FINISHED: 0, GUEST: 1, HOST: 2 },
} as const;

/** A lifecycle event as drivers emit it. */
export interface DomainLifecycleEvent {
  domain: DomainRef;
  event: DomainEventType;
  detail: number;
}

/**
 * virDomainEventID: what a callback registers for. The numbering is libvirt's (append-only), so
 * every id a libvirt client may send is known here, even those no tsvirt driver raises.
 */
export enum DomainEventId {
  LIFECYCLE = 0,
  REBOOT = 1,
  RTC_CHANGE = 2,
  WATCHDOG = 3,
  IO_ERROR = 4,
  GRAPHICS = 5,
  IO_ERROR_REASON = 6,
  CONTROL_ERROR = 7,
  BLOCK_JOB = 8,
  DISK_CHANGE = 9,
  TRAY_CHANGE = 10,
  PMWAKEUP = 11,
  PMSUSPEND = 12,
  BALLOON_CHANGE = 13,
  PMSUSPEND_DISK = 14,
  DEVICE_REMOVED = 15,
  BLOCK_JOB_2 = 16,
  TUNABLE = 17,
  AGENT_LIFECYCLE = 18,
  DEVICE_ADDED = 19,
  MIGRATION_ITERATION = 20,
  JOB_COMPLETED = 21,
  DEVICE_REMOVAL_FAILED = 22,
  METADATA_CHANGE = 23,
  BLOCK_THRESHOLD = 24,
  MEMORY_FAILURE = 25,
  MEMORY_DEVICE_SIZE_CHANGE = 26,
}

/** VIR_DOMAIN_EVENT_ID_LAST: one past the highest id libvirt 9 knows. */
export const DOMAIN_EVENT_ID_LAST = 27;

/**
 * An event of any kind the drivers raise. Only the kinds some driver really produces have a
 * shape here: lifecycle, reboot (QEMU's RESET) and job-completed (a finished save job).
 */
export type DomainEvent =
  | ({ eventId: DomainEventId.LIFECYCLE } & DomainLifecycleEvent)
  | { eventId: DomainEventId.REBOOT; domain: DomainRef }
  | {
      eventId: DomainEventId.JOB_COMPLETED;
      domain: DomainRef;
      /** The finished job's statistics, as virDomainGetJobStats with COMPLETED returns them. */
      params: TypedParameter[];
    };

/** A callback registered for one event id; it receives only events of that id. */
export type DomainEventCallback = (ev: DomainEvent) => void;
