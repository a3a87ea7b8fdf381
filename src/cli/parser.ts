/**
 * Binds words to command definitions the way virsh's vshCommandParse does: `--opt value`,
 * `--opt=value`, bare words filling the not-yet-seen value options in table order, `--` making
 * every later word positional, and virsh's error texts for each mistake.
 */
import { ParseError } from './errors';
import type { CommandDef, OptDef, ParsedCommand } from './types';

/** Finds a command by name. */
export function findCommand(commands: readonly CommandDef[], name: string): CommandDef | undefined {
  return commands.find((c) => c.name === name);
}

/** Parses one command's words (the first is the command name). */
export function parseCommand(commands: readonly CommandDef[], words: readonly string[]): ParsedCommand {
  const def = findCommand(commands, words[0]);
  if (!def) throw new ParseError(`unknown command: '${words[0]}'`);
  const opts = new Map<string, string | true>();
  const seen = new Set<string>();
  let dataOnly = false;

  const argv: string[] = [];
  const argvOpt = def.opts.find((o) => o.type === 'argv');
  const nextPositional = (): OptDef | undefined =>
    def.opts.find((o) => o.type !== 'bool' && o.type !== 'argv' && !o.namedOnly && !seen.has(o.name));

  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (!dataOnly && w === '--') {
      dataOnly = true;
      continue;
    }
    if (!dataOnly && w.startsWith('--') && w.length > 2) {
      const eq = w.indexOf('=');
      const name = eq < 0 ? w.slice(2) : w.slice(2, eq);
      const opt = def.opts.find((o) => o.name === name && o.type !== 'argv');
      if (!opt) throw new ParseError(`command '${def.name}' doesn't support option --${name}`);
      if (seen.has(name)) throw new ParseError(`option --${name} already seen`);
      seen.add(name);
      if (opt.type === 'bool') {
        if (eq >= 0) throw new ParseError(`invalid '=' after option --${name}`);
        opts.set(name, true);
        continue;
      }
      if (eq >= 0) {
        opts.set(name, w.slice(eq + 1));
      } else {
        if (i + 1 >= words.length) throw new ParseError(`expected syntax: --${name} <${opt.type === 'int' ? 'number' : 'string'}>`);
        opts.set(name, words[++i]);
      }
      continue;
    }
    const opt = nextPositional();
    if (!opt && argvOpt) {
      argv.push(w);
      continue;
    }
    if (!opt) throw new ParseError(`unexpected data '${w}'`);
    seen.add(opt.name);
    opts.set(opt.name, w);
  }

  const missing = def.opts
    .filter((o) => (o.type === 'data' || o.required) && o.type !== 'argv' && !opts.has(o.name))
    .map((o) => (o.type === 'data' ? `command '${def.name}' requires <${o.name}> option` : `command '${def.name}' requires --${o.name} option`));
  if (missing.length > 0) throw new ParseError(missing);
  if (argvOpt?.required && argv.length === 0) throw new ParseError(`command '${def.name}' requires <${argvOpt.name}> option`);
  return { def, opts, argv };
}

/** Parses a list of tokenized commands; any error rejects the whole list, as virsh does. */
export function parseChain(commands: readonly CommandDef[], chain: readonly (readonly string[])[]): ParsedCommand[] {
  return chain.map((words) => parseCommand(commands, words));
}
