/**
 * `npx tsvirtd &` then `kill $!` signals `npm exec`, which dies without passing the signal on
 * through the `sh -c tsvirtd` it started: the daemon would keep running, orphaned. So when
 * tsvirtd finds that it was launched by npm (directly or through that shell), it watches the
 * launcher and shuts down, as on SIGTERM, once the launcher is gone. A daemon started any
 * other way (a shell, systemd, nohup) is not tied to its parent.
 */
import { cmdline, isAlive, parentOf } from '../util/proc';

/** True for npm's exec/npx process (its title is `npm exec ...`, or node running npx-cli.js). */
function isNpmExec(argv: readonly string[]): boolean {
  const joined = argv.join(' ');
  return /^(npm|npx)( exec)?( |$)/.test(joined) || /\bnpx-cli\.js\b/.test(joined) || /\bnpm-cli\.js\b.*\b(exec|x)\b/.test(joined);
}

/** True for the `sh -c ...` npm runs a bin through. */
function isShell(argv: readonly string[]): boolean {
  return argv.length >= 2 && /(^|\/)(sh|bash|dash)$/.test(argv[0]) && argv[1] === '-c';
}

/** The pid of the npm process that launched this one, or undefined when npm did not. */
export function npmLauncherPid(start = process.ppid): number | undefined {
  let pid: number | undefined = start;
  for (let depth = 0; depth < 3 && pid !== undefined && pid > 1; depth++) {
    const argv = cmdline(pid);
    if (!argv) return undefined;
    if (isNpmExec(argv)) return pid;
    if (!isShell(argv)) return undefined;
    pid = parentOf(pid);
  }
  return undefined;
}

/**
 * Calls `onGone` once when the npm launcher of this process exits (polled every `periodMs`);
 * does nothing when npm did not launch it. The timer never keeps the process alive.
 */
export function watchNpmLauncher(onGone: () => void, periodMs = 500): void {
  const launcher = npmLauncherPid();
  if (launcher === undefined) return;
  const timer = setInterval(() => {
    if (isAlive(launcher)) return;
    clearInterval(timer);
    onGone();
  }, periodMs);
  timer.unref();
}
