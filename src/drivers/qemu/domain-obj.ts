/** A QEMU domain as the driver tracks it in memory. */
import type { DomainDef } from '../../conf/domain-xml';
import type { ActiveJob } from '../common/domain-job';
import type { QmpClient } from './qmp';
import type { DomainState } from '../types';
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
}

/** One domain. */
export interface QemuDomain {
  /** The running definition when active, else the persistent one. */
  def: DomainDef;
  /** The persistent definition to apply when a running domain stops (define while running). */
  nextDef?: DomainDef;
  persistent: boolean;
  state: DomainState;
  reason: number;
  /** Runtime id, -1 when inactive. */
  id: number;
  proc?: QemuProcess;
  /** The running job of this process on the domain, if any. */
  job?: ActiveJob;
  /** Set while a save runs (also kept in the status file). */
  save?: SaveInProgress;
}
