/**
 * Every tsvirsh command, in one table.
 */
import type { CommandDef } from '../types';
import { autostartCommands } from './autostart';
import { capabilityCommands } from './capabilities';
import { consoleCommands } from './console';
import { deviceCommands } from './devices';
import { eventCommands } from './events';
import { lifecycleCommands } from './domain-lifecycle';
import { powerCommands } from './power';
import { hostCommands } from './host';
import { infoCommands } from './info';
import { jobCommands } from './jobs';
import { saveCommands } from './save';
import { shellCommands } from './shell-commands';

/** All commands tsvirsh knows. */
export const ALL_COMMANDS: readonly CommandDef[] = [
  ...lifecycleCommands,
  ...autostartCommands,
  ...powerCommands,
  ...consoleCommands,
  ...saveCommands,
  ...jobCommands,
  ...infoCommands,
  ...eventCommands,
  ...deviceCommands,
  ...hostCommands,
  ...capabilityCommands,
  ...shellCommands,
];
