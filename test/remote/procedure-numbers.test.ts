/**
 * Every procedure tsvirt declares has libvirt's number and name, checked against
 * `shared/reference/remote-procedures.txt` (libvirt's whole list, one `NUMBER REMOTE_PROC_NAME`
 * a line). The shared directory sits beside the checkout (`../shared` from the repository root,
 * in CI and on developer machines); TSVIRT_SHARED_DIR names another place. A missing list fails
 * the test rather than skipping it, so the check cannot silently stop running.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROCEDURE_TABLE, procedureByName, procedureByNumber } from '../../src/remote/protocol/table';
import { REMOTE_PROGRAM } from '../../src/remote/rpc/message';

const REPO_ROOT = path.resolve(__dirname, '../..');

/** Where remote-procedures.txt is expected, in order of preference. */
function listCandidates(): string[] {
  const rel = path.join('reference', 'remote-procedures.txt');
  const dirs = [process.env.TSVIRT_SHARED_DIR, path.resolve(REPO_ROOT, '../shared'), path.resolve(REPO_ROOT, 'shared')];
  return dirs.filter((d): d is string => typeof d === 'string' && d.length > 0).map((d) => path.join(d, rel));
}

/** libvirt's procedure list: number -> name without the REMOTE_PROC_ prefix. */
function parseList(text: string): Map<number, string> {
  const out = new Map<number, string>();
  const names = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\d+)\s+REMOTE_PROC_([A-Z0-9_]+)$/.exec(line);
    if (!m) throw new Error(`remote-procedures.txt line ${i + 1} is not 'NUMBER REMOTE_PROC_NAME': ${line}`);
    const n = Number(m[1]);
    if (out.has(n) || names.has(m[2])) throw new Error(`remote-procedures.txt line ${i + 1} repeats ${line}`);
    out.set(n, m[2]);
    names.add(m[2]);
  });
  return out;
}

const listFile = listCandidates().find((f) => fs.existsSync(f));

describe('procedure numbers and names match libvirt', () => {
  it('finds libvirt procedure list beside the checkout', () => {
    expect(listFile ?? `not found; looked at ${listCandidates().join(', ')}`).toMatch(/remote-procedures\.txt$/);
  });

  const libvirt = listFile ? parseList(fs.readFileSync(listFile, 'utf8')) : new Map<number, string>();

  it('the list is for the remote program and is complete enough to judge by', () => {
    expect(listFile && fs.readFileSync(listFile, 'utf8')).toContain(`0x${REMOTE_PROGRAM.toString(16)}`);
    // libvirt 9.0 already had 440+ procedures; a truncated copy would pass anything unlisted.
    expect(libvirt.size).toBeGreaterThanOrEqual(440);
    expect(libvirt.get(1)).toBe('CONNECT_OPEN');
  });

  it('every declared procedure has libvirt number for its name', () => {
    const wrong = PROCEDURE_TABLE.filter((p) => libvirt.get(p.number) !== p.name).map(
      (p) => `${p.name} declared as ${p.number}, which libvirt calls ${libvirt.get(p.number) ?? 'nothing'}`,
    );
    expect(wrong).toEqual([]);
  });

  it('lookups by number and by name agree with the list', () => {
    for (const p of PROCEDURE_TABLE) {
      expect(procedureByNumber(p.number)).toBe(p);
      expect(procedureByName(p.name)).toBe(p);
    }
    // The number the issue found wrong: 193 is libvirt's DOMAIN_SNAPSHOT_DELETE.
    expect(procedureByName('DOMAIN_DESTROY_FLAGS')?.number).toBe(234);
    expect(libvirt.get(193)).toBe('DOMAIN_SNAPSHOT_DELETE');
  });
});
