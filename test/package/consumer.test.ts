/**
 * The package as a user gets it: `npm pack`, then fresh consumer projects (CommonJS and ES
 * module, strict TypeScript with skipLibCheck off) install the tarball. The README's example is
 * compiled both ways and run; a misspelled typed-parameter field must not compile; the
 * subpath `tsvirt/testing`, the bins and the shipped files are checked.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvirt-pkg-'));
let tarball = '';
let files: string[] = [];

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The README's first ```ts block (the library example). */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no ```ts example');
  return m[1];
}

function project(kind: 'cjs' | 'esm'): string {
  return path.join(work, kind);
}

/** Compiles `project`'s sources with its tsconfig; the result has tsc's output and status. */
function tsc(dir: string, tsconfig = 'tsconfig.json'): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [TSC, '-p', path.join(dir, tsconfig)], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function node(dir: string, file: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', env: { ...process.env, TSVIRT_DEFAULT_URI: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'))) throw new Error('run `npm run build` (npm test does) first');
  // Packed from a copy of the sources: `prepack` builds dist/ from scratch there (so nothing
  // compiled from a removed source is shipped), without touching the dist/ other tests use.
  const copy = path.join(work, 'source');
  fs.mkdirSync(copy);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'typedoc.json', 'src', 'bin', 'docs', 'schemas']) {
    fs.cpSync(path.join(ROOT, f), path.join(copy, f), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: copy, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(work, packed[0].filename);
  files = packed[0].files.map((f) => f.path);
  const scratch = path.join(work, 'images');
  fs.mkdirSync(scratch);
  for (const kind of ['cjs', 'esm'] as const) {
    const dir = project(kind);
    fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${kind}`, version: '1.0.0', private: true, type: kind === 'esm' ? 'module' : 'commonjs' }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball], { cwd: dir, stdio: 'pipe' });
    const compilerOptions =
      kind === 'esm'
        ? { module: 'nodenext', moduleResolution: 'nodenext' }
        : { module: 'commonjs', moduleResolution: 'node10' };
    const tsconfig = { compilerOptions: { ...compilerOptions, target: 'ES2022', strict: true, skipLibCheck: false, outDir: 'out', rootDir: 'src', types: ['node'] }, include: ['src/*.ts'] };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    fs.writeFileSync(path.join(dir, 'tsconfig.bad.json'), JSON.stringify({ ...tsconfig, compilerOptions: { ...tsconfig.compilerOptions, noEmit: true, rootDir: 'bad' }, include: ['bad/*.ts'] }));
    const example = readmeExample();
    fs.writeFileSync(path.join(dir, 'src', 'readme.ts'), example);
    // The same example writing into this test's scratch directory, to be run.
    fs.writeFileSync(path.join(dir, 'src', 'run.ts'), example.replaceAll('/var/tmp/', `${scratch}/${kind}-`));
    fs.writeFileSync(
      path.join(dir, 'src', 'testing.ts'),
      "import { conformanceSuite, virErrorOf, waitFor, type ConformanceTarget } from 'tsvirt/testing';\n" +
        "import { Connect, ErrorCode, registerDriver, type ConnectionDriver, type DomainSaveParams } from 'tsvirt';\n" +
        "const t: Partial<ConformanceTarget> = { name: 'x' };\n" +
        "const p: DomainSaveParams = { file: '/x', 'parallel.mode': 'region' };\n" +
        "const d: ConnectionDriver | undefined = undefined;\n" +
        'void d; void registerDriver;\n' +
        "virErrorOf(Connect.open('nosuch:///')).then((e) => {\n" +
        "  console.log(JSON.stringify({ suite: typeof conformanceSuite, waitFor: typeof waitFor, code: e.code === ErrorCode.NO_CONNECT, t: t.name, p: p['parallel.mode'] }));\n" +
        '});\n',
    );
    fs.mkdirSync(path.join(dir, 'bad'));
    fs.writeFileSync(
      path.join(dir, 'bad', 'misspelled.ts'),
      "import { Connect } from 'tsvirt';\n" +
        'export async function f(): Promise<void> {\n' +
        "  const dom = await (await Connect.open('test:///default')).lookupDomainByName('test');\n" +
        "  await dom.saveParams({ file: '/x', 'parallel.channel': 4 });\n" +
        "  await dom.saveParams({ file: '/x', 'parallel.mode': 'regions' });\n" +
        "  await dom.saveParams([{ field: 'parallel.channel', type: 1, value: 4 }]);\n" +
        '}\n',
    );
  }
}, 240000);

describe('the packed tarball', () => {
  test('ships LICENSE, README, docs, bins, schemas once, no tests and no sources', () => {
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'bin/tsvirsh.js', 'bin/tsvirtd.js', 'docs/parallel-save.md', 'docs/api/index.html', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/testing/index.js', 'dist/schemas/domain-save-params.json']));
    expect(files.filter((f) => /^(src|test|schemas|bench|examples)\/|^dist\/(test|bench|examples)\//.test(f))).toEqual([]);
    expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toContain('GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 2.1');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.license).toBe('LGPL-2.1-or-later');
    expect((pkg.dependencies as Record<string, string>)['@types/node']).toBeDefined();
  });

  test("every README link to a file resolves inside the package", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) expect({ link: l, shipped: files.includes(l) }).toEqual({ link: l, shipped: true });
  });

  test('every source map carries its sources and every referenced map is shipped', () => {
    const installed = path.join(project('cjs'), 'node_modules', 'tsvirt');
    const js = files.filter((f) => f.endsWith('.js') && f.startsWith('dist/'));
    for (const f of js) {
      const ref = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(path.join(installed, f), 'utf8'))?.[1];
      if (!ref) continue;
      const mapFile = path.join(path.dirname(f), ref);
      expect({ f, shipped: files.includes(mapFile) }).toEqual({ f, shipped: true });
      const map = JSON.parse(fs.readFileSync(path.join(installed, mapFile), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      expect({ f, withContent: map.sourcesContent?.length }).toEqual({ f, withContent: map.sources.length });
    }
  });
});

describe.each(['cjs', 'esm'] as const)('a %s consumer in strict TypeScript', (kind) => {
  test("compiles the README example, tsvirt/testing and the typed APIs, with the package's own types checked", () => {
    const r = tsc(project(kind));
    expect(r).toEqual({ status: 0, out: '' });
  });

  test('runs the README example against test:///default', () => {
    const r = node(project(kind), path.join('out', 'run.js'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('4 channels, 5 pieces checked\n');
    expect(r.status).toBe(0);
  });

  test('tsvirt/testing and the error model at run time', () => {
    const r = node(project(kind), path.join('out', 'testing.js'));
    expect(JSON.parse(r.stdout)).toEqual({ suite: 'function', waitFor: 'function', code: true, t: 'x', p: 'region' });
  });

  test('a misspelled field or value does not compile; the list form stays open', () => {
    const r = tsc(project(kind), 'tsconfig.bad.json');
    expect(r.status).not.toBe(0);
    const errors = r.out.split('\n').filter((l) => l.includes('error TS'));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/misspelled\.ts\(4,.*'parallel\.channel'/);
    expect(errors[1]).toMatch(/misspelled\.ts\(5,.*"regions"/);
  });
});

test('the installed bins run: tsvirsh and tsvirtd --help', () => {
  const bin = path.join(project('cjs'), 'node_modules', '.bin');
  expect(execFileSync(path.join(bin, 'tsvirsh'), ['-c', 'test:///default', 'uri; list --name'], { encoding: 'utf8' })).toBe('test:///default\n\ntest\n\n');
  const help = spawnSync(path.join(bin, 'tsvirtd'), ['--help'], { encoding: 'utf8' });
  expect({ status: help.status, stderr: help.stderr }).toEqual({ status: 0, stderr: '' });
  expect(help.stdout).toMatch(/^Usage: tsvirtd/);
});
