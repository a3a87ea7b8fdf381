/**
 * Tab completion (completion.ts) and the new global options (argv.ts), checked without a
 * terminal; the terminal itself is exercised by interactive.test.ts.
 */
import { ArgvError, isEscapeSequence, parseArgv } from '../../src/cli/argv';
import { ALL_COMMANDS } from '../../src/cli/commands';
import { escapeByte } from '../../src/cli/commands/console';
import { complete } from '../../src/cli/completion';
import { historyFile } from '../../src/cli/history';

const src = { commands: ALL_COMMANDS, domainNames: async () => ['test', 'web1', 'web2'] };

describe('completion', () => {
  test('command names at the start of a command, after ; too', async () => {
    expect(await complete(src, 'doms')).toEqual([['domstate '], 'doms']);
    expect(await complete(src, 'uri; managedsave-r')).toEqual([['managedsave-remove '], 'managedsave-r']);
    expect((await complete(src, ''))[0]).toContain('list ');
  });

  test("options of the command, without those already given", async () => {
    expect(await complete(src, 'domstate test --r')).toEqual([['--reason '], '--r']);
    expect((await complete(src, 'list --all --a'))[0]).toEqual(['--autostart ']);
    expect((await complete(src, 'save test f --parallel-c'))[0]).toEqual(['--parallel-channels ', '--parallel-compression ']);
  });

  test('domain names where the domain goes, not elsewhere', async () => {
    expect(await complete(src, 'dominfo we')).toEqual([['web1 ', 'web2 '], 'we']);
    expect(await complete(src, 'save --verbose t')).toEqual([['test '], 't']);
    expect(await complete(src, 'save test ')).toEqual([[], '']);
    expect(await complete(src, 'save --file x.img ')).toEqual([['test ', 'web1 ', 'web2 '], '']);
    expect(await complete(src, 'save --domain w')).toEqual([['web1 ', 'web2 '], 'w']);
    expect(await complete(src, 'uri ')).toEqual([[], '']);
    expect(await complete(src, 'nosuch t')).toEqual([[], 't']);
  });
});

describe('global options', () => {
  test('values and virsh texts', () => {
    const o = parseArgv(['-t', '-d', '2', '-e', '^a', '-k', '0', '-K', '3', '-l', '/tmp/x.log', '--driver', 'a.js', '--driver=b', 'uri']);
    expect(o).toMatchObject({ timing: true, debugLevel: 2, escape: '^a', keepaliveInterval: 0, keepaliveCount: 3, logFile: '/tmp/x.log', drivers: ['a.js', 'b'], rest: ['uri'] });
    expect(parseArgv(['-d', '9']).warnings).toEqual(['ignoring debug level 9 out of range [0-4]']);
    expect(() => parseArgv(['-d', 'x'])).toThrow(new ArgvError('option -d takes a numeric argument'));
    expect(() => parseArgv(['-k', '-1'])).toThrow(new ArgvError('option -k requires a positive integer argument'));
    expect(() => parseArgv(['-K', 'x'])).toThrow(new ArgvError('Invalid value for option -K'));
    expect(() => parseArgv(['--driver'])).toThrow(ArgvError);
  });

  test('escape sequences as virsh allows them', () => {
    for (const ok of ['^]', '^a', '^Z', '^@', '^_', '~', 'x']) expect(isEscapeSequence(ok)).toBe(true);
    for (const bad of ['', 'xx', '^1', '^', '^ab', '\t']) expect(isEscapeSequence(bad)).toBe(false);
  });

  test("-e's sequence as the byte the console leaves on", () => {
    expect([escapeByte('^]'), escapeByte('^a'), escapeByte('^A'), escapeByte('^@'), escapeByte('~')]).toEqual([0x1d, 1, 1, 0, 0x7e]);
  });

  test('history lives under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(historyFile({ XDG_CACHE_HOME: '/c' })).toBe('/c/tsvirsh/history');
    expect(historyFile({ HOME: '/h' })).toBe('/h/.cache/tsvirsh/history');
  });
});
