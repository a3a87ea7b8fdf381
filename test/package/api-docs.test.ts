/**
 * The API reference: TypeDoc builds it from the TSDoc of every export of `tsvirt` and
 * `tsvirt/testing`, and refuses (typedoc.json: treatWarningsAsErrors with notDocumented) an
 * export without documentation or a broken `{@link}`, so an undocumented public function fails
 * this test.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
let out: string;
beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-apidocs-'));
});
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

it('typedoc builds the reference with no warning, with the public classes and their TSDoc', async () => {
  const r = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: root, env: process.env, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  expect(r.output).not.toMatch(/\[warning\]|\[error\]/);
  expect(r.code).toBe(0);
  const domain = fs.readFileSync(path.join(out, 'classes', 'index.Domain.html'), 'utf8');
  expect(domain).toContain('saveParams');
  expect(fs.existsSync(path.join(out, 'classes', 'index.Connect.html'))).toBe(true);
  expect(fs.existsSync(path.join(out, 'classes', 'index.VirError.html'))).toBe(true);
  // The testing entry point: the conformance suite.
  expect(fs.readdirSync(path.join(out, 'functions')).some((f) => f.startsWith('testing.'))).toBe(true);
}, 120000);
