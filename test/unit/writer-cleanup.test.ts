/**
 * The cleanup of a failed single-stream save when its writer is still running (its stdin still
 * open, as with a compressor draining a long tail or a QEMU that stopped sending): the writer
 * script and every process it started are killed, and no scratch file appears in the run dir
 * afterwards. Before, the cleanup waited 2 s and left the writer running, which then wrote its
 * hash and status files after the save had answered.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SaveImageFormat } from '../../src/conf/save-image';
import { createSavePipeline } from '../../src/drivers/qemu/save-pipeline';
import { groupMembers } from '../../src/util/proc';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'writer-cleanup-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a writer still running at cleanup is killed with its pipeline, and leaves nothing behind', async () => {
  const run = path.join(dir, 'run');
  fs.mkdirSync(run);
  const file = path.join(dir, 'img');
  fs.writeFileSync(file, Buffer.alloc(4096));
  const pipeline = createSavePipeline({
    file,
    streamOffset: 4096,
    options: {
      imageFormat: SaveImageFormat.GZIP,
      channels: 1,
      channelsRequested: false,
      compression: 'none',
      mode: 'single',
      bypassCache: false,
      resetNvram: false,
      instant: false,
      runningOverride: undefined,
    },
    doneFile: path.join(run, 'uuid.done'),
    qemuCapabilities: [],
    qemuParameters: [],
    fh: null as unknown as FileHandle,
    socketPath: path.join(run, 'sock'),
    pid: 0,
    isRam: () => false,
    ramBytes: 0,
  });
  // As QEMU runs an exec: URI: through sh -c, its stdin the stream.
  const cmd = pipeline.uri.replace(/^exec:/, '');
  const writer = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'ignore', 'ignore'] });
  writer.stdin.on('error', () => undefined);
  writer.stdin.write(Buffer.alloc(1 << 20, 7));
  pipeline.started?.();
  // The script and its pipeline members are up.
  let tree: number[] = [];
  for (let i = 0; i < 200 && tree.length < 3; i++) {
    await new Promise((r) => setTimeout(r, 10));
    // setsid makes the script its own process group, named by its pid.
    tree = groupMembers(writer.pid!);
  }
  expect(tree.length).toBeGreaterThanOrEqual(3);

  try {
    const t0 = Date.now();
    await pipeline.cleanup();
    expect(Date.now() - t0).toBeLessThan(10000);
    expect(groupMembers(writer.pid!)).toEqual([]);
    await new Promise<void>((r) => (writer.exitCode !== null || writer.signalCode !== null ? r() : writer.once('exit', () => r())));
    writer.stdin.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.readdirSync(run)).toEqual([]);
  } finally {
    // A failed run must not leave the writer behind for the rest of the suite.
    for (const p of tree) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    writer.stdin.destroy();
  }
}, 20000);
