/**
 * The `autostart [--disable] DOMAIN` command, with virsh's messages.
 */
import { optBool, type CommandDef } from '../types';
import { DOMAIN_OPT } from './common';

const autostart: CommandDef = {
  name: 'autostart',
  group: 'domain',
  help: 'autostart a domain',
  desc: 'Configure a domain to be automatically started at boot.',
  opts: [DOMAIN_OPT, { name: 'disable', type: 'bool', help: 'disable autostarting' }],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    const on = !optBool(cmd, 'disable');
    const verb = on ? 'mark' : 'unmark';
    await ctx.attempt(`Failed to ${verb} domain '${dom.name}' as autostarted`, () => dom.setAutostart(on));
    ctx.printExtra(`Domain '${dom.name}' ${verb}ed as autostarted\n`);
  },
};

/** The autostart command. */
export const autostartCommands: readonly CommandDef[] = [autostart];
