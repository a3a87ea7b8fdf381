/**
 * The interactive shell: commands read from stdin one line at a time, with a prompt, tab
 * completion and persistent history on a terminal. As in virsh, a failing line does not end
 * the session, and Ctrl-C aborts the running command's job (a save, say) and the shell stays.
 */
import { createInterface, type Interface } from 'node:readline';
import { complete } from './completion';
import { historyFile, loadHistory, saveHistory, HISTORY_SIZE } from './history';
import type { Shell } from './shell';

/** The streams the interactive shell runs on. */
export interface InteractiveIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const BANNER = "Welcome to tsvirsh, the virtualization interactive terminal.\n\nType:  'help' for help with commands\n       'quit' to quit\n\n";

/**
 * Reads and runs command lines until end of input or quit; the exit status is 0, as virsh's.
 * Without a terminal the session looks as virsh's does then: the banner (unless -q), and each
 * line echoed after the prompt, so a transcript shows what ran.
 */
export async function runInteractive(shell: Shell, io: InteractiveIo): Promise<number> {
  const tty = !!io.stdin.isTTY;
  const PROMPT = 'tsvirsh # ';
  const file = historyFile(io.env);
  const rl: Interface = createInterface({
    input: io.stdin,
    output: tty ? io.stdout : undefined,
    terminal: tty,
    history: tty ? loadHistory(file) : [],
    historySize: HISTORY_SIZE,
    completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => {
      complete(shell, line).then(
        (r) => cb(null, r),
        () => cb(null, [[], '']),
      );
    },
  });
  if (tty) {
    // readline turns Ctrl-C into this event in raw mode; without a listener it would pause
    // the input and end the shell.
    rl.on('SIGINT', () => {
      if (shell.interrupt()) return;
      io.stdout.write('^C\n');
      rl.write(null, { ctrl: true, name: 'u' });
      rl.prompt();
    });
    if (!shell.quiet) io.stdout.write(BANNER);
    // As virsh, the connection is opened when the shell starts (its errors shown once, the
    // shell still runs), so completion can offer domain names at once.
    await shell.connection().catch(() => undefined);
    rl.setPrompt(PROMPT);
    rl.prompt();
  } else if (!shell.quiet) {
    io.stdout.write(BANNER);
  }
  try {
    for await (const line of rl) {
      if (!tty) io.stdout.write(`${PROMPT}${line}\n`);
      if (line.trim().length > 0) await shell.runString(line);
      if (shell.quitRequested) break;
      if (tty) rl.prompt();
    }
    // virsh ends the session with a newline: after the last prompt at end of input, or after quit.
    if (!tty && !shell.quitRequested) io.stdout.write(PROMPT);
    io.stdout.write('\n');
  } finally {
    if (tty) saveHistory(file, (rl as unknown as { history: string[] }).history);
    rl.close();
  }
  return 0;
}
