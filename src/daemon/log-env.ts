/**
 * Imported first by the daemon's entry point: the logger reads its level when it loads, so the
 * command line's `--log-level`, `--verbose` and `--log-file` must reach the environment before
 * any other module does.
 */
const argv = process.argv.slice(2);
const valueOf = (flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
};
const level = valueOf('--log-level') ?? (argv.includes('--verbose') || argv.includes('-v') ? 'info' : undefined);
if (level) process.env.TSVIRT_LOG_LEVEL = level;
else if (!process.env.TSVIRT_LOG_LEVEL) process.env.TSVIRT_LOG_LEVEL = 'warn';
const file = valueOf('--log-file');
if (file) process.env.TSVIRT_LOG_FILE = file;

export {};
