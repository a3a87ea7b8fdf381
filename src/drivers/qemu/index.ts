/**
 * The QEMU connection driver: `qemu:///session` (the user's XDG directories) and
 * `qemu:///system` (root only). Each open reconciles the process-wide state with the config and
 * status files on disk, so guests started by other (or dead) tsvirt processes are found again.
 *
 * The first open of a boot starts the autostart domains (autostart.ts).
 *
 * URI query options: `save_max_bandwidth=BYTES` caps QEMU's migration bandwidth during saves
 * (a test aid: it makes the save of a small guest slow enough to watch and abort).
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ConnectionDriver, OpenResult } from '../connection-driver';
import { autostartOnce } from './autostart';
import { createQemuDriver, startDomain } from './driver';
import { sessionPaths, systemPaths } from './paths';
import { reconcileRunDir } from './reconnect';
import { releaseState, sharedState } from './state';

/** The registered connection driver for `qemu://` URIs. */
export const qemuConnectionDriver: ConnectionDriver = {
  name: 'qemu',
  uriSchemes: ['qemu'],
  localOnly: true,
  async open(uri): Promise<OpenResult> {
    if (!uri) return { status: 'declined' };
    let paths;
    if (uri.path === '/session') paths = sessionPaths();
    else if (uri.path === '/system') {
      if (process.getuid?.() !== 0) {
        throw VirError.report(ErrorCode.OPERATION_DENIED, ErrorDomain.QEMU, 'qemu:///system needs root privileges');
      }
      paths = systemPaths();
    } else {
      const hint = process.getuid?.() === 0 ? 'qemu:///system' : 'qemu:///session';
      throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `unexpected QEMU URI path '${uri.path}', try ${hint}`);
    }
    const bw = uri.query.save_max_bandwidth;
    let saveMaxBandwidth: number | undefined;
    if (bw !== undefined) {
      saveMaxBandwidth = Number(bw);
      if (!Number.isSafeInteger(saveMaxBandwidth) || saveMaxBandwidth <= 0) {
        throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `invalid save_max_bandwidth '${bw}'`);
      }
    }
    const { state, fresh } = sharedState(paths);
    try {
      if (fresh) state.loadConfigs();
      await reconcileRunDir(state);
      if (fresh) await autostartOnce(state, (ref) => startDomain(state, ref, 0));
    } catch (err) {
      await releaseState(state);
      throw err;
    }
    return { status: 'success', driver: createQemuDriver(state, { uri: `qemu://${uri.path}`, saveMaxBandwidth }) };
  },
};

export { qemuMonitorCommand, qemuPidOf } from './monitor-command';
