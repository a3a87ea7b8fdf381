/**
 * In-process unit tests of tsvirsh's pieces: tokenizer, option binding, virsh number and table
 * formats, progress text and the domjobinfo layout.
 */
import { parseArgv } from '../../src/cli/argv';
import { ALL_COMMANDS } from '../../src/cli/commands';
import { formatJob } from '../../src/cli/commands/jobs';
import { ParseError } from '../../src/cli/errors';
import { formatTable, prettyCapacity, reasonName, stateName, versionString } from '../../src/cli/format';
import { commandHelp } from '../../src/cli/help';
import { parseCommand } from '../../src/cli/parser';
import { jobPercent, progressText } from '../../src/cli/progress';
import { tokenize } from '../../src/cli/tokenizer';
import { DomainState, JobType } from '../../src/index';

function parseError(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParseError) return [...err.lines];
    throw err;
  }
  throw new Error('no parse error');
}

describe('tokenize', () => {
  test('separators, quotes, escapes and comments', () => {
    expect(tokenize(`save test /tmp/t.img --parallel-channels 4 --verbose; list --all;restore '/tmp/a b'`)).toEqual([
      ['save', 'test', '/tmp/t.img', '--parallel-channels', '4', '--verbose'],
      ['list', '--all'],
      ['restore', '/tmp/a b'],
    ]);
    expect(tokenize(`domstate "te"st\\ x "a\\"b" ''`)).toEqual([['domstate', 'test x', 'a"b', '']]);
    expect(tokenize('uri # comment; list\nlist\n\n;;')).toEqual([['uri'], ['list']]);
    expect(tokenize("domstate 'test")).toEqual([['domstate', 'test']]);
    expect(tokenize('a#b')).toEqual([['a#b']]);
    expect(parseError(() => tokenize('domstate "test'))).toEqual(['missing "']);
    expect(parseError(() => tokenize('domstate test\\'))).toEqual(['dangling \\']);
  });
});

describe('parseCommand', () => {
  const parse = (line: string) => parseCommand(ALL_COMMANDS, tokenize(line)[0]);

  test('positional words fill value options in table order; named-only options never do', () => {
    const c = parse('save test /tmp/x /tmp/x.xml --parallel-channels=3 --verbose');
    expect(Object.fromEntries(c.opts)).toEqual({ domain: 'test', file: '/tmp/x', xml: '/tmp/x.xml', 'parallel-channels': '3', verbose: true });
    expect(parseError(() => parse('save test /tmp/x /tmp/x.xml 4'))).toEqual(["unexpected data '4'"]);
    expect(Object.fromEntries(parse('save --file /tmp/f test').opts)).toEqual({ file: '/tmp/f', domain: 'test' });
    expect(Object.fromEntries(parse('domstate -- --reason').opts)).toEqual({ domain: '--reason' });
  });

  test("virsh's parse error texts", () => {
    expect(parseError(() => parse('bogus'))).toEqual(["unknown command: 'bogus'"]);
    expect(parseError(() => parse('save'))).toEqual(["command 'save' requires <domain> option", "command 'save' requires <file> option"]);
    expect(parseError(() => parse('domstate --reason=1 test'))).toEqual(["invalid '=' after option --reason"]);
    expect(parseError(() => parse('save t f --parallel-channels'))).toEqual(['expected syntax: --parallel-channels <number>']);
    expect(parseError(() => parse('list --all --all'))).toEqual(['option --all already seen']);
  });
});

describe('argv', () => {
  test('global options end at the first command word', () => {
    expect(parseArgv(['-rqc', 'test:///default', 'list', '-r'])).toEqual({
      uri: 'test:///default',
      readOnly: true,
      quiet: true,
      help: false,
      timing: false,
      warnings: [],
      drivers: [],
      rest: ['list', '-r'],
    });
    expect(parseArgv(['--connect=test:///x', '--readonly', 'uri']).uri).toBe('test:///x');
    expect(parseArgv(['--version']).version).toBe('short');
  });
});

describe('formats', () => {
  test('vshPrettyCapacity', () => {
    expect(prettyCapacity(0)).toBe('0.000 B');
    expect(prettyCapacity(1023)).toBe('1023.000 B');
    expect(prettyCapacity(1024)).toBe('1.000 KiB');
    expect(prettyCapacity(1536 * 1024)).toBe('1.500 MiB');
    expect(prettyCapacity(3 * 1024 ** 3)).toBe('3.000 GiB');
  });

  test('vshTable with and without header', () => {
    expect(formatTable(['Id', 'Name', 'State'], [['1', 'test', 'running'], ['-', 'longer', 'shut off']])).toBe(
      ' Id   Name     State\n-------------------------\n 1    test     running\n -    longer   shut off\n',
    );
    expect(formatTable(null, [['1', 'test', 'running']])).toBe(' 1   test   running\n');
  });

  test('state and reason names, versions', () => {
    expect(`${stateName(DomainState.SHUTOFF)} (${reasonName(DomainState.SHUTOFF, 5)})`).toBe('shut off (saved)');
    expect(`${stateName(DomainState.RUNNING)} (${reasonName(DomainState.RUNNING, 3)})`).toBe('running (restored)');
    expect(reasonName(DomainState.PAUSED, 2)).toBe('migrating');
    expect(reasonName(DomainState.RUNNING, 99)).toBe('unknown');
    expect(versionString(9_000_000)).toBe('9.0.0');
    expect(versionString(1_002_003)).toBe('1.2.3');
  });

  test('progress text and percent', () => {
    expect(progressText('Save', 41, false)).toBe('Save: [ 41 %]');
    expect(progressText('Save', 100, false)).toBe('Save: [100 %]');
    expect(progressText('Save', 45, true)).toBe('Save: [#########           ]  45 %');
    expect(jobPercent(1, 3)).toBe(33);
    expect(jobPercent(10, 10)).toBe(99);
    expect(jobPercent(5, 0)).toBe(0);
  });

  test('domjobinfo layout', () => {
    const stats = new Map<string, number | string | boolean>([
      ['operation', 2],
      ['time_elapsed', 123],
      ['data_total', 3 * 1024 * 1024],
      ['data_processed', 1024 * 1024],
      ['data_remaining', 2 * 1024 * 1024],
      ['parallel.channel.2.data_processed', 512 * 1024],
      ['parallel.channel.1.data_processed', 512 * 1024],
    ]);
    expect(formatJob({ type: JobType.UNBOUNDED, stats, raw: [] }, false)).toBe(
      'Job type:         Unbounded   \n' +
        'Operation:        Save        \n' +
        'Time elapsed:     123          ms\n' +
        'Data processed:   1.000 MiB\n' +
        'Data remaining:   2.000 MiB\n' +
        'Data total:       3.000 MiB\n' +
        'Channel 1 processed: 512.000 KiB\n' +
        'Channel 2 processed: 512.000 KiB\n',
    );
    expect(formatJob({ type: JobType.NONE, stats, raw: [] }, false)).toBe('Job type:         None        \n');
  });

  test('help synopsis and options come from the table', () => {
    const def = ALL_COMMANDS.find((c) => c.name === 'restore')!;
    const text = commandHelp(def);
    expect(text).toContain('    restore <file> [--bypass-cache] [--xml <string>] [--running] [--paused] [--reset-nvram] [--parallel-channels <number>]\n');
    expect(text).toContain('    [--file] <string>  the state to restore\n');
    expect(text).toContain('    --bypass-cache   avoid file system cache when restoring\n');
  });
});
