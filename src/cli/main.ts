/**
 * tsvirsh: virsh's command-line interface over tsvirt. `tsvirsh [options] CMD ARGS...` runs
 * one command, `tsvirsh [options] 'CMD1; CMD2 ...'` runs a command string on one connection (the
 * test driver's state lives in the process), and with no command the commands are read from
 * stdin, one line at a time.
 *
 * Only the option parser is loaded up front: the library, the command table and the drivers
 * load after the options are known (so `-d` can set the log level first, and `--help` or
 * `--version` load nothing else), and each driver loads on its first open.
 */
import { ArgvError, parseArgv, type GlobalOptions } from './argv';

/** The streams and environment tsvirsh runs with (replaceable for embedding). */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

const USAGE = `
tsvirsh [options]... [<command_string>]
tsvirsh [options]... <command> [args...]

  options:
    -c | --connect=URI      hypervisor connection URI
    -d | --debug=NUM        debug level [0-4]
    -e | --escape <char>    set escape sequence for console
    -h | --help             this help
    -k | --keepalive-interval=NUM
                            keepalive interval in seconds, 0 for disable
    -K | --keepalive-count=NUM
                            number of possible missed keepalive messages
    -l | --log=FILE         output logging to file
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -t | --timing           print timing information
    -v                      short version
    -V                      long version
         --version[=TYPE]   version, TYPE is short or long (default short)
         --driver=MODULE    load a third-party driver module (may be repeated)

  The connection URI defaults to $VIRSH_DEFAULT_CONNECT_URI, then $TSVIRT_DEFAULT_URI,
  then $LIBVIRT_DEFAULT_URI.
  Run 'tsvirsh help' for the list of commands, 'tsvirsh help <command>' for one command.

`;

/** virsh's debug levels (0 = debug ... 4 = error) as the library's log levels. */
const LOG_LEVELS = ['debug', 'info', 'info', 'warn', 'error'];

/** The URI tsvirsh opens: -c, then VIRSH_DEFAULT_CONNECT_URI, then the library's default. */
export function cliUri(opts: Pick<GlobalOptions, 'uri'>, env: NodeJS.ProcessEnv, libraryDefault: (env: NodeJS.ProcessEnv) => string | undefined): string | undefined {
  if (opts.uri !== undefined) return opts.uri;
  const v = env.VIRSH_DEFAULT_CONNECT_URI;
  return v && v.length > 0 ? v : libraryDefault(env);
}

/** Runs tsvirsh with `argv` (without node and the script) and resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  let opts: GlobalOptions;
  try {
    opts = parseArgv(argv);
  } catch (err) {
    if (!(err instanceof ArgvError)) throw err;
    io.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  for (const w of opts.warnings) io.stderr.write(`error: ${w}\n`);
  if (opts.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (opts.version !== undefined) {
    const { packageVersion } = await import('../util/package-version');
    io.stdout.write(opts.version === 'short' ? `${packageVersion()}\n` : `tsvirsh command line tool of tsvirt ${packageVersion()}\n`);
    return 0;
  }
  // The library reads its log level when it loads, which is why it is loaded only now.
  if (opts.debugLevel !== undefined && !process.env.TSVIRT_LOG_LEVEL) process.env.TSVIRT_LOG_LEVEL = LOG_LEVELS[opts.debugLevel];

  const { loadDriverModules } = await import('../drivers/driver-modules');
  try {
    await loadDriverModules(opts.drivers);
  } catch (err) {
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const [{ defaultUri }, { ALL_COMMANDS }, { Shell }] = await Promise.all([import('../util/uri'), import('./commands'), import('./shell')]);
  const interactive = opts.rest.length === 0;
  const shell = new Shell(
    {
      uri: cliUri(opts, io.env, defaultUri),
      readOnly: opts.readOnly,
      quiet: opts.quiet,
      timing: opts.timing,
      logFile: opts.logFile,
      keepaliveInterval: opts.keepaliveInterval,
      escape: opts.escape,
      interactive,
      stdout: io.stdout,
      stderr: io.stderr,
    },
    ALL_COMMANDS,
  );
  // Ctrl-C as a signal (stdin not a terminal, or one-shot mode): abort the running job and let
  // its command fail, as virsh does; with nothing to abort, end as an interrupted process.
  const onSigint = (): void => {
    if (!shell.interrupt()) process.exit(130);
  };
  process.on('SIGINT', onSigint);
  try {
    // As virsh: a URI that was named is connected to before any command runs, and a failure
    // ends tsvirsh (status 1) with nothing run. Without one, commands that need no hypervisor
    // (help, save-image-verify) still work.
    if (!interactive && shell.hasUri && !(await shell.connectFirst())) return 1;
    if (opts.rest.length === 1) return (await shell.runString(opts.rest[0])) ? 0 : 1;
    if (opts.rest.length > 1) return (await shell.runWords([opts.rest])) ? 0 : 1;
    const { runInteractive } = await import('./interactive');
    return await runInteractive(shell, io);
  } finally {
    process.off('SIGINT', onSigint);
    await shell.close();
  }
}

function defaultIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** The `tsvirsh` executable's entry point: runs main on process.argv and exits with its status. */
export function run(): void {
  // A reader that went away (`tsvirsh list | head -1`) is not an error worth a stack trace.
  process.stdout.on('error', () => undefined);
  main(process.argv.slice(2)).then(
    (code) => process.stdout.write('', () => process.exit(code)),
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
