/**
 * Commands about tsvirsh itself: help, quit, exit.
 */
import { ReportedError } from '../errors';
import { allHelp, commandHelp, groupHelp, GROUPS } from '../help';
import { findCommand } from '../parser';
import { optString, type CommandDef } from '../types';

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

/** help, quit and exit. */
export const shellCommands: readonly CommandDef[] = [help, quitCommand('quit'), quitCommand('exit')];
