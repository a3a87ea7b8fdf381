/**
 * tsvirsh's global options, parsed like virsh's getopt_long("+c:d:e:hk:K:l:qrtvV"): options end
 * at the first word that is not one, short options may be bundled (`-rq`, `-cURI`), long ones
 * take `--opt=value` or `--opt value`.
 */

/** The parsed global options. */
export interface GlobalOptions {
  uri?: string;
  readOnly: boolean;
  quiet: boolean;
  help: boolean;
  /** -v / --version[=short]: print the short version. */
  version?: 'short' | 'long';
  /** -d / --debug LEVEL (0-4): library log level for the session; out-of-range levels are ignored. */
  debugLevel?: number;
  /** -e / --escape: the console escape sequence (`^]` by default); validated like virsh's. */
  escape?: string;
  /** -k / --keepalive-interval: seconds between keepalive messages (0 disables). */
  keepaliveInterval?: number;
  /** -K / --keepalive-count: unanswered keepalives before the connection is closed. */
  keepaliveCount?: number;
  /** -l / --log FILE: append errors and command results to FILE, in virsh's format. */
  logFile?: string;
  /** -t / --timing: print how long each command took. */
  timing: boolean;
  /** Warnings virsh prints and goes on (an ignored debug level). */
  warnings: string[];
  /** --driver MODULE (repeatable): third-party driver modules to load before connecting. */
  drivers: string[];
  /** The command words after the options. */
  rest: string[];
}

/** A global option mistake, printed as `error: <message>` with exit status 1. */
export class ArgvError extends Error {}

const LONG_WITH_ARG: Record<string, string> = { connect: 'c', debug: 'd', escape: 'e', 'keepalive-interval': 'k', 'keepalive-count': 'K', log: 'l' };
const LONG_FLAGS: Record<string, string> = { help: 'h', quiet: 'q', readonly: 'r', timing: 't' };
const SHORT_WITH_ARG = new Set(['c', 'd', 'e', 'k', 'K', 'l']);
const SHORT_FLAGS = new Set(['h', 'q', 'r', 't', 'v', 'V']);
const LONG_NAME_OF: Record<string, string> = { c: 'connect', d: 'debug', e: 'escape', k: 'keepalive-interval', K: 'keepalive-count', l: 'log' };

/** Parses argv (without node and script). */
export function parseArgv(argv: readonly string[]): GlobalOptions {
  const opts: GlobalOptions = { readOnly: false, quiet: false, help: false, timing: false, warnings: [], drivers: [], rest: [] };
  const apply = (letter: string, value = ''): void => {
    switch (letter) {
      case 'c':
        opts.uri = value;
        break;
      case 'd': {
        if (!/^[+-]?\d+$/.test(value.trim())) throw new ArgvError('option -d takes a numeric argument');
        const level = Number(value);
        if (level < 0 || level > 4) opts.warnings.push(`ignoring debug level ${level} out of range [0-4]`);
        else opts.debugLevel = level;
        break;
      }
      case 'e':
        if (!isEscapeSequence(value)) throw new ArgvError(`Invalid string '${value}' for escape sequence`);
        opts.escape = value;
        break;
      case 'k':
        opts.keepaliveInterval = keepaliveValue('k', value);
        break;
      case 'K':
        opts.keepaliveCount = keepaliveValue('K', value);
        break;
      case 'l':
        opts.logFile = value;
        break;
      case 't':
        opts.timing = true;
        break;
      case 'r':
        opts.readOnly = true;
        break;
      case 'q':
        opts.quiet = true;
        break;
      case 'h':
        opts.help = true;
        break;
      case 'v':
        opts.version = 'short';
        break;
      case 'V':
        opts.version = 'long';
        break;
      default:
        break;
    }
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (name === 'version') {
        const v = eq < 0 ? 'short' : a.slice(eq + 1);
        if (v !== 'short' && v !== 'long') throw new ArgvError(`unknown version type '${v}'`);
        opts.version = v;
        continue;
      }
      if (name === 'driver') {
        const value: string | undefined = eq < 0 ? argv[++i] : a.slice(eq + 1);
        if (value === undefined || value.length === 0) throw new ArgvError("option '--driver' requires an argument");
        opts.drivers.push(value);
        continue;
      }
      if (name in LONG_FLAGS) {
        if (eq >= 0) throw new ArgvError(`option '--${name}' doesn't allow an argument`);
        apply(LONG_FLAGS[name]);
        continue;
      }
      if (name in LONG_WITH_ARG) {
        const letter = LONG_WITH_ARG[name];
        const value: string | undefined = eq < 0 ? argv[++i] : a.slice(eq + 1);
        if (value === undefined) throw new ArgvError(`option '-${letter}'/'--${name}' requires an argument`);
        apply(letter, value);
        continue;
      }
      throw new ArgvError(`unsupported option '${a}'. See --help.`);
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const letter = a[k];
        if (SHORT_WITH_ARG.has(letter)) {
          const value = k + 1 < a.length ? a.slice(k + 1) : argv[++i];
          if (value === undefined) throw new ArgvError(`option '-${letter}'/'--${LONG_NAME_OF[letter]}' requires an argument`);
          apply(letter, value);
          break;
        }
        if (!SHORT_FLAGS.has(letter)) throw new ArgvError(`unsupported option '-${letter}'. See --help.`);
        apply(letter);
      }
      continue;
    }
    break;
  }
  opts.rest = argv.slice(i);
  return opts;
}

/** virsh's vshAllowedEscapeChar: one printable character but `^`, or `^` and a letter or one of `@[\\]^_`. */
export function isEscapeSequence(s: string): boolean {
  if (s.length === 1) return s >= ' ' && s <= '~' && s !== '^';
  return s.length === 2 && s[0] === '^' && /^[A-Za-z@[\\\]^_]$/.test(s[1]);
}

/** A keepalive option's value: a non-negative int, with virsh's two error texts. */
function keepaliveValue(letter: 'k' | 'K', value: string): number {
  if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value)) || Math.abs(Number(value)) > 2147483647) {
    throw new ArgvError(`Invalid value for option -${letter}`);
  }
  const n = Number(value);
  if (n < 0) throw new ArgvError(`option -${letter} requires a positive integer argument`);
  return n;
}
