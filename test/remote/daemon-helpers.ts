/** Shared by the remote tests: an in-process tsvirtd on a temporary socket directory. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Daemon, type DaemonOptions } from '../../src/daemon/server';

/** A running in-process daemon and its scratch directory. */
export interface TestDaemon {
  daemon: Daemon;
  dir: string;
  rw: string;
  ro: string;
  stop(): Promise<void>;
}

/** Starts tsvirtd in this process on `<tmp>/sock`; stop() also removes the directory. */
export async function startTestDaemon(opts: Partial<DaemonOptions> = {}): Promise<TestDaemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirtd-'));
  const daemon = await Daemon.start({ socketDir: path.join(dir, 'sock'), ...opts });
  return {
    daemon,
    dir,
    rw: daemon.addresses.rwSocket as string,
    ro: daemon.addresses.roSocket as string,
    async stop() {
      await daemon.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
