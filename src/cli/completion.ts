/**
 * Tab completion for the interactive shell, as virsh's: the first word of a command completes
 * to command names, `--x` to the options of that command not given yet, and a word in the
 * position of a `domain` option to the connection's domain names.
 */
import type { CommandDef } from './types';

/** What completion needs from the session: the command table and the domain names. */
export interface CompletionSource {
  readonly commands: readonly CommandDef[];
  /** Names of the connection's domains (an empty list when no connection can be opened). */
  domainNames(): Promise<string[]>;
}

/**
 * Completes `line` (the text before the cursor) as readline's completer expects:
 * `[candidates, the word being completed]`. Quotes are not interpreted: completion works on
 * blank-separated words of the last command of the line.
 */
export async function complete(src: CompletionSource, line: string): Promise<[string[], string]> {
  const current = line.slice(Math.max(line.lastIndexOf(';'), line.lastIndexOf('\n')) + 1);
  const words = current.split(/[ \t]+/).filter((w, i, all) => w.length > 0 || i === all.length - 1);
  const word = words.length === 0 ? '' : words[words.length - 1];
  const before = words.slice(0, -1);
  if (before.length === 0) {
    const names = src.commands.map((c) => c.name).filter((n) => n.startsWith(word)).sort();
    return [names.map((n) => `${n} `), word];
  }
  const def = src.commands.find((c) => c.name === before[0]);
  if (!def) return [[], word];
  const given = new Set(before.filter((w) => w.startsWith('--')).map((w) => w.slice(2).split('=')[0]));
  if (word.startsWith('-')) {
    const opts = def.opts.filter((o) => o.type !== 'argv' && !given.has(o.name)).map((o) => `--${o.name}`);
    return [opts.filter((o) => o.startsWith(word)).sort().map((o) => `${o} `), word];
  }
  if (wantsDomain(def, before)) {
    const names = (await src.domainNames()).filter((n) => n.startsWith(word)).sort();
    return [names.map((n) => `${n} `), word];
  }
  return [[], word];
}

/** True when the word after `before` fills the command's `domain` option. */
function wantsDomain(def: CommandDef, before: readonly string[]): boolean {
  const last = before[before.length - 1];
  if (last === '--domain') return true;
  const domainOpt = def.opts.find((o) => o.name === 'domain');
  if (!domainOpt || before.includes('--domain')) return false;
  // The domain is filled by the first positional word unless an option's value came first.
  const positional = def.opts.filter((o) => o.type !== 'bool' && o.type !== 'argv' && !o.namedOnly);
  let filled = 0;
  for (let i = 1; i < before.length; i++) {
    const w = before[i];
    if (w.startsWith('--')) {
      const o = def.opts.find((x) => x.name === w.slice(2));
      if (o && o.type !== 'bool' && !w.includes('=')) i++;
      continue;
    }
    filled++;
  }
  return positional[filled]?.name === 'domain';
}
