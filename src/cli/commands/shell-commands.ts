/**
 * Commands about tsvirsh itself: help, quit, exit, echo, pwd, cd.
 */
import os from 'node:os';
import { ReportedError } from '../errors';
import { errnoText } from '../options';
import { allHelp, commandHelp, groupHelp, GROUPS } from '../help';
import { findCommand } from '../parser';
import { optBool, optString, type CommandDef } from '../types';

const help: CommandDef = {
  name: 'help',
  group: 'virsh',
  help: 'print help',
  desc: 'Prints global help, command specific help, or help for a\n    group of related commands',
  opts: [{ name: 'command', type: 'string', help: 'Prints global help, command specific help, or help for a group of related commands' }],
  async handler(ctx, cmd) {
    const name = optString(cmd, 'command');
    if (name === undefined) {
      ctx.print(allHelp(ctx.commands));
      return;
    }
    const def = findCommand(ctx.commands, name);
    if (def) {
      ctx.print(commandHelp(def));
      return;
    }
    const group = GROUPS.find(([g]) => g === name);
    if (group) {
      ctx.print(groupHelp(ctx.commands, group[0]));
      return;
    }
    ctx.error(`command or command group '${name}' doesn't exist`);
    throw new ReportedError();
  },
};

function quitCommand(name: string): CommandDef {
  return {
    name,
    group: 'virsh',
    help: 'quit this interactive terminal',
    opts: [],
    async handler(ctx) {
      ctx.requestQuit();
    },
  };
}

/** Characters that make virsh's echo --shell quote a word (virBufferEscapeShell). */
const SHELL_SPECIAL = /[|&;()<>{}[\]*?$`'"\\ \t\n~!^#]/;

function shellQuote(s: string): string {
  if (s.length === 0) return "''";
  if (!SHELL_SPECIAL.test(s)) return s;
  return `'${s.replace(/'/g, "'\\''")}'`;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Splits on ',' where ',,' stands for a literal comma. */
function splitCommas(s: string): string[] {
  if (s.length === 0) return [];
  const out: string[] = [''];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ',' && s[i + 1] === ',') {
      out[out.length - 1] += ',';
      i++;
    } else if (s[i] === ',') out.push('');
    else out[out.length - 1] += s[i];
  }
  return out;
}

const echo: CommandDef = {
  name: 'echo',
  group: 'virsh',
  help: 'echo arguments. Used for internal testing.',
  desc: 'Echo back arguments, possibly with quoting. Used for internal testing.',
  opts: [
    { name: 'shell', type: 'bool', help: 'escape for shell use' },
    { name: 'xml', type: 'bool', help: 'escape for XML use' },
    { name: 'split', type: 'bool', help: "split each argument on ','; ',,' is an escape sequence" },
    { name: 'err', type: 'bool', help: 'output to stderr' },
    { name: 'string', type: 'argv', help: 'arguments to echo' },
  ],
  async handler(ctx, cmd) {
    const escape = (w: string): string => {
      let v = optBool(cmd, 'xml') ? xmlEscape(w) : w;
      if (optBool(cmd, 'shell')) v = shellQuote(v);
      return v;
    };
    // As virsh: words are joined by blanks; with --split each piece ends with a newline.
    let out = '';
    cmd.argv.forEach((w, i) => {
      if (i > 0) out += ' ';
      if (optBool(cmd, 'split')) for (const piece of splitCommas(w)) out += `${escape(piece)}\n`;
      else out += escape(w);
    });
    if (optBool(cmd, 'err')) ctx.error(out);
    else ctx.print(out);
  },
};

const pwd: CommandDef = {
  name: 'pwd',
  group: 'virsh',
  help: 'print the current directory',
  desc: 'Print the current directory.',
  opts: [],
  async handler(ctx) {
    ctx.print(`${process.cwd()}\n`);
  },
};

const cd: CommandDef = {
  name: 'cd',
  group: 'virsh',
  help: 'change the current directory',
  desc: 'Change the current directory.',
  opts: [{ name: 'dir', type: 'string', help: 'directory to switch to (default: home or else root)' }],
  async handler(ctx, cmd) {
    if (!ctx.interactive) {
      ctx.error('cd: command valid only in interactive mode');
      throw new ReportedError();
    }
    const dir = optString(cmd, 'dir') ?? (os.homedir() || '/');
    try {
      process.chdir(dir);
    } catch (err) {
      ctx.error(`cd: ${errnoText(err)}: ${dir}`);
      throw new ReportedError();
    }
  },
};

/** help, quit, exit, echo, pwd and cd. */
export const shellCommands: readonly CommandDef[] = [help, quitCommand('quit'), quitCommand('exit'), echo, pwd, cd];
