/** A QEMU domain as the driver tracks it in memory. */
import type { DomainObj } from '../common/domain-registry';
import type { ActiveJob } from '../common/domain-job';
import type { QmpClient } from './qmp';
import type { ProcessIdentity } from './process';
import type { SaveInProgress } from './status-file';

/** The QEMU process behind an active domain. */
export interface QemuProcess {
  pid: number;
  monitorPath: string;
  emulator: string;
  /** The QMP session; null while another tsvirt process holds the monitor. */
  qmp: QmpClient | null;
  /** True once the driver itself decided to stop this process (no "crashed" report then). */
  stopping: boolean;
  /** A reboot is under way: the guest's next power-off is a reset, not the end (see power.ts). */
  fakeReboot?: boolean;
  /**
   * stop/cont commands of the driver in flight: their STOP/RESUME events are the driver's own
   * (it reports the state change itself), any other STOP/RESUME came from elsewhere.
   */
  cpuCommands?: number;
}

/** One domain: what every driver tracks, plus its QEMU process and running job. */
export interface QemuDomain extends DomainObj {
  proc?: QemuProcess;
  /** The running job of this process on the domain, if any. */
  job?: ActiveJob;
  /** Set while a save runs (also kept in the status file). */
  save?: SaveInProgress;
  /** Set while a connection that asked for START_AUTODESTROY owns the guest (status file too). */
  autoDestroyOwner?: ProcessIdentity;
}
