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

/** Details used by save/restore (virDomainEvent*DetailType). */
export const EventDetail = {
  defined: { ADDED: 0, UPDATED: 1 },
  undefined: { REMOVED: 0 },
  started: { BOOTED: 0, MIGRATED: 1, RESTORED: 2 },
  suspended: { PAUSED: 0, MIGRATED: 1, RESTORED: 5 },
  resumed: { UNPAUSED: 0, MIGRATED: 1 },
  stopped: { SHUTDOWN: 0, DESTROYED: 1, CRASHED: 2, MIGRATED: 3, SAVED: 4, FAILED: 5 },
} as const;

/** A lifecycle event as drivers emit it. */
export interface DomainLifecycleEvent {
  domain: DomainRef;
  event: DomainEventType;
  detail: number;
}

/** A callback registered for lifecycle events. */
export type DomainEventCallback = (ev: DomainLifecycleEvent) => void;
