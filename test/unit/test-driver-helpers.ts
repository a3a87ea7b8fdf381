/** Shared helpers of the test driver's unit tests (not a test file itself). */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HypervisorDriver } from '../../src/drivers/driver-table';
import { testConnectionDriver } from '../../src/drivers/test';
import { parseUri } from '../../src/util/uri';

/** Opens a test driver connection on `uri` and returns its driver table. */
export async function openTest(uri = 'test:///default'): Promise<Required<HypervisorDriver>> {
  const res = await testConnectionDriver.open(parseUri(uri), { readOnly: false });
  if (res.status !== 'success') throw new Error(`declined ${uri}`);
  return res.driver as Required<HypervisorDriver>;
}

/** The VirError a promise rejects with. */

/** A fresh temporary directory. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tsvirt-${prefix}-`));
}

/** Sorted file names of a directory. */
export async function ls(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** Removes a directory tree. */
export function rmrf(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** Resolves after the pending event callbacks ran. */
export function flushEvents(): Promise<void> {
  return new Promise((r) => setImmediate(() => setImmediate(r)));
}

/** Polls `cond` every few ms until true (or fails after `ms`). */
export async function waitFor(cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export { virErrorOf as rejection } from '../helpers/vir-error-of';
