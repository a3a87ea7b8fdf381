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
  const opts: GlobalOptions = { readOnly: false, quiet: false, help: false, rest: [] };
  const apply = (letter: string, value?: string): void => {
    switch (letter) {
      case 'c':
        opts.uri = value;
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
        // -d, -e, -k, -K, -l, -t are accepted for virsh compatibility and have no effect here.
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
