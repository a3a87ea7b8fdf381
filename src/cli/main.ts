/**
 * tsvirsh: virsh's command-line interface over tsvirt. `tsvirsh [options] CMD ARGS...` runs
 * one command, `tsvirsh [options] 'CMD1; CMD2 ...'` runs a command string on one connection (the
 * test driver's state lives in the process), and with no command the commands are read from
 * stdin, one line at a time.
 */
import { createInterface } from 'node:readline';
import { packageVersion } from '../util/package-version';
import { defaultUri } from '../index';
import { ArgvError, parseArgv } from './argv';
import { ALL_COMMANDS } from './commands';
import { Shell } from './shell';

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
    -h | --help             this help
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -v                      short version
    -V                      long version
         --version[=TYPE]   version, TYPE is short or long (default short)

  The connection URI defaults to $TSVIRT_DEFAULT_URI.
  Run 'tsvirsh help' for the list of commands, 'tsvirsh help <command>' for one command.

`;

/** Runs tsvirsh with `argv` (without node and the script) and resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  let opts;
  try {
    opts = parseArgv(argv);
  } catch (err) {
    if (!(err instanceof ArgvError)) throw err;
    io.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  if (opts.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (opts.version === 'short') {
    io.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (opts.version === 'long') {
    io.stdout.write(`tsvirsh command line tool of tsvirt ${packageVersion()}\n`);
    return 0;
  }

  const shell = new Shell(
    { uri: opts.uri ?? defaultUri(io.env), readOnly: opts.readOnly, quiet: opts.quiet, stdout: io.stdout, stderr: io.stderr },
    ALL_COMMANDS,
  );
  try {
    if (opts.rest.length === 1) return (await shell.runString(opts.rest[0])) ? 0 : 1;
    if (opts.rest.length > 1) return (await shell.runWords([opts.rest])) ? 0 : 1;
    return await runLines(shell, io);
  } finally {
    await shell.close();
  }
}

/**
 * Reads commands from stdin line by line (with a prompt on a terminal). As in virsh's
 * interactive mode, a failing line does not end the session and the exit status is 0.
 */
async function runLines(shell: Shell, io: CliIo): Promise<number> {
  const tty = !!io.stdin.isTTY;
  const rl = createInterface({ input: io.stdin, output: tty ? io.stdout : undefined, terminal: tty });
  if (tty) {
    io.stdout.write("Welcome to tsvirsh, the virtualization interactive terminal.\n\nType:  'help' for help with commands\n       'quit' to quit\n\n");
    rl.setPrompt('tsvirsh # ');
    rl.prompt();
  }
  for await (const line of rl) {
    if (line.trim().length > 0) await shell.runString(line);
    if (shell.quitRequested) break;
    if (tty) rl.prompt();
  }
  rl.close();
  return 0;
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
