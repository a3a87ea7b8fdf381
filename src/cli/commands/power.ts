/**
 * Power commands: shutdown, reboot (with virsh's --mode list) and reset.
 * shutdown uses virDomainShutdown without a mode and virDomainShutdownFlags with one, as virsh.
 */
import { ReportedError } from '../errors';
import { optStringReq } from '../options';
import type { Domain } from '../../public/domain';
import { type CommandContext, type CommandDef, type OptDef, type ParsedCommand } from '../types';
import { DOMAIN_OPT } from './common';

/** VIR_DOMAIN_SHUTDOWN_* / VIR_DOMAIN_REBOOT_* (the same values for both). */
const MODES: Record<string, number> = { acpi: 1 << 0, agent: 1 << 1, initctl: 1 << 2, signal: 1 << 3, paravirt: 1 << 4 };

const MODE_OPT: OptDef = { name: 'mode', type: 'string', help: 'shutdown mode: acpi|agent|initctl|signal|paravirt' };

/** The flags of a comma-separated --mode list, or undefined without --mode. */
function modeFlags(ctx: CommandContext, cmd: ParsedCommand): number | undefined {
  const mode = optStringReq(ctx, cmd, 'mode');
  if (mode === undefined) return undefined;
  let flags = 0;
  for (const m of mode.split(',')) {
    if (!(m in MODES)) {
      ctx.error(`Unknown mode ${m} value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'`);
      throw new ReportedError();
    }
    flags |= MODES[m];
  }
  return flags;
}

/** A power command: look up, run, print virsh's success line (or its failure context). */
function powerCommand(name: string, help: string, desc: string, withMode: boolean, failVerb: string, done: string, run: (d: Domain, flags: number | undefined) => Promise<void>): CommandDef {
  return {
    name,
    group: 'domain',
    help,
    desc,
    opts: withMode ? [DOMAIN_OPT, MODE_OPT] : [DOMAIN_OPT],
    async handler(ctx, cmd) {
      const dom = await ctx.domain(cmd);
      const flags = withMode ? modeFlags(ctx, cmd) : undefined;
      await ctx.attempt(`Failed to ${failVerb} domain '${dom.name}'`, () => run(dom, flags));
      ctx.printExtra(`Domain '${dom.name}' ${done}\n`);
    },
  };
}

const shutdown = powerCommand('shutdown', 'gracefully shutdown a domain', 'Run shutdown in the target domain.', true, 'shutdown', 'is being shutdown', (d, flags) =>
  flags === undefined ? d.shutdown() : d.shutdownFlags(flags),
);
const reboot = powerCommand('reboot', 'reboot a domain', 'Run a reboot command in the target domain.', true, 'reboot', 'is being rebooted', (d, flags) => d.reboot(flags ?? 0));
const reset = powerCommand('reset', 'reset a domain', 'Reset the target domain as if by power button', false, 'reset', 'was reset', (d) => d.reset());

/** shutdown, reboot and reset. */
export const powerCommands: readonly CommandDef[] = [shutdown, reboot, reset];
