/**
 * What pty-driver.py takes and reports: the steps of a person at a terminal (text to type,
 * output to wait for) and the transcript and exit status of the program it ran.
 */
import path from 'node:path';

/** The driver script. */
export const PTY_DRIVER = path.join(__dirname, 'pty-driver.py');

/** One step: type `send` (then wait `pause` s), or wait up to `timeout` s for output matching `expect`. */
export type PtyStep = { send: string; pause?: number } | { expect: string; timeout?: number };

/** The driver's report. */
export interface PtyReport {
  ok: boolean;
  failed_step: number | null;
  transcript: string;
  status: number | null;
}
