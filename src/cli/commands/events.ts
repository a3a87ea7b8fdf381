/**
 * The `event` command as virsh 9 has it: waits for domain events (one, or with --loop until
 * --timeout or Ctrl-C) and prints each as virsh does, then "events received: N". It fails (exit 1)
 * when no event arrived, as virsh's does.
 */
import { DomainEventId, DomainEventType, DOMAIN_EVENT_ID_LAST } from '../../drivers/types';
import type { DomainEventInfo } from '../../public/connect';
import type { Domain } from '../../public/domain';
import { ReportedError } from '../errors';
import { typedParamText } from '../format';
import { optInt, optStringReq } from '../options';
import { optBool, type CommandContext, type CommandDef } from '../types';

/** virsh's event names, indexed by event id (VIR_DOMAIN_EVENT_ID_*). */
export const EVENT_NAMES: readonly string[] = [
  'lifecycle',
  'reboot',
  'rtc-change',
  'watchdog',
  'io-error',
  'graphics',
  'io-error-reason',
  'control-error',
  'block-job',
  'disk-change',
  'tray-change',
  'pm-wakeup',
  'pm-suspend',
  'balloon-change',
  'pm-suspend-disk',
  'device-removed',
  'block-job-2',
  'tunable',
  'agent-lifecycle',
  'device-added',
  'migration-iteration',
  'job-completed',
  'device-removal-failed',
  'metadata-change',
  'block-threshold',
  'memory-failure',
  'memory-device-size-change',
];

const EVENT_TYPE_TEXT = ['Defined', 'Undefined', 'Started', 'Suspended', 'Resumed', 'Stopped', 'Shutdown', 'PMSuspended', 'Crashed'];

/** The detail words virsh prints after each lifecycle event type. */
const DETAIL_TEXT: Record<number, readonly string[]> = {
  [DomainEventType.DEFINED]: ['Added', 'Updated', 'Renamed', 'Snapshot'],
  [DomainEventType.UNDEFINED]: ['Removed', 'Renamed'],
  [DomainEventType.STARTED]: ['Booted', 'Migrated', 'Restored', 'Snapshot', 'Event wakeup'],
  [DomainEventType.SUSPENDED]: ['Paused', 'Migrated', 'I/O Error', 'Watchdog', 'Restored', 'Snapshot', 'API error', 'Post-copy', 'Post-copy Error'],
  [DomainEventType.RESUMED]: ['Unpaused', 'Migrated', 'Snapshot', 'Post-copy', 'Post-copy Error'],
  [DomainEventType.STOPPED]: ['Shutdown', 'Destroyed', 'Crashed', 'Migrated', 'Saved', 'Failed', 'Snapshot'],
  [DomainEventType.SHUTDOWN]: ['Finished', 'Finished after guest request', 'Finished after host request'],
  [DomainEventType.PMSUSPENDED]: ['Memory', 'Disk'],
  [DomainEventType.CRASHED]: ['Panicked', 'Crashloaded'],
};

/** The text virsh prints for one event (without the timestamp). */
export function eventText(ev: DomainEventInfo): string {
  const name = ev.domain.name;
  switch (ev.eventId) {
    case DomainEventId.LIFECYCLE: {
      const e = ev as DomainEventInfo<DomainEventId.LIFECYCLE>;
      return `event 'lifecycle' for domain '${name}': ${EVENT_TYPE_TEXT[e.event] ?? 'unknown'} ${DETAIL_TEXT[e.event]?.[e.detail] ?? 'unknown'}\n`;
    }
    case DomainEventId.JOB_COMPLETED: {
      const e = ev as DomainEventInfo<DomainEventId.JOB_COMPLETED>;
      return `event 'job-completed' for domain '${name}':\n${e.params.map((p) => `\t${p.field}: ${typedParamText(p)}\n`).join('')}`;
    }
    default:
      return `event '${EVENT_NAMES[ev.eventId]}' for domain '${name}'\n`;
  }
}

/** virTimeStringNowRaw: "YYYY-MM-DD HH:MM:SS.mmm+0000" in UTC. */
function timestampNow(): string {
  return `${new Date().toISOString().replace('T', ' ').replace('Z', '')}+0000`;
}

function exclusive(ctx: CommandContext, a: boolean, b: boolean, aName: string, bName: string): void {
  if (a && b) {
    ctx.error(`Options --${aName} and --${bName} are mutually exclusive`);
    throw new ReportedError();
  }
}

type Ending = 'done' | 'timeout' | 'interrupt';

const event: CommandDef = {
  name: 'event',
  group: 'domain',
  help: 'Domain Events',
  desc: 'List event types, or wait for domain events to occur',
  opts: [
    { name: 'domain', type: 'string', help: 'filter by domain name, id or uuid' },
    { name: 'event', type: 'string', help: 'which event type to wait for' },
    { name: 'all', type: 'bool', help: 'wait for all events instead of just one type' },
    { name: 'loop', type: 'bool', help: 'loop until timeout or interrupt, rather than one-shot' },
    { name: 'timeout', type: 'int', help: 'timeout seconds' },
    { name: 'list', type: 'bool', help: 'list valid event types' },
    { name: 'timestamp', type: 'bool', help: 'show timestamp for each printed event' },
  ],
  async handler(ctx, cmd) {
    const all = optBool(cmd, 'all');
    const list = optBool(cmd, 'list');
    const hasEvent = cmd.opts.has('event');
    exclusive(ctx, all, hasEvent, 'all', 'event');
    exclusive(ctx, list, all, 'list', 'all');
    exclusive(ctx, list, hasEvent, 'list', 'event');
    if (list) {
      for (const n of EVENT_NAMES) ctx.print(`${n}\n`);
      return;
    }
    const name = optStringReq(ctx, cmd, 'event');
    if (name === undefined && !all) {
      ctx.error('one of --list, --all, or --event <type> is required');
      throw new ReportedError();
    }
    const ids = name === undefined ? EVENT_NAMES.map((_, i) => i) : EVENT_NAMES.flatMap((n, i) => (n === name ? [i] : []));
    if (ids.length === 0) {
      ctx.error(`unknown event type ${name}`);
      throw new ReportedError();
    }
    const timeout = optInt(ctx, cmd, 'timeout');
    // virsh 9 reports a zero or too large (ms overflow) timeout as a malformed number.
    if (timeout !== undefined && (timeout <= 0 || timeout > 2147483)) {
      ctx.error(`Numeric value '${optStringReq(ctx, cmd, 'timeout')}' for <timeout> option is malformed or out of range`);
      throw new ReportedError();
    }
    const dom: Domain | null = cmd.opts.has('domain') ? await ctx.domain(cmd) : null;
    const conn = await ctx.connection();
    const loop = optBool(cmd, 'loop');
    const stamp = optBool(cmd, 'timestamp');
    let count = 0;
    let finish!: (how: Ending) => void;
    const ended = new Promise<Ending>((resolve) => (finish = resolve));
    const onEvent = (ev: DomainEventInfo): void => {
      if (!loop && count > 0) return;
      ctx.print(stamp ? `${timestampNow()}: ${eventText(ev)}` : eventText(ev));
      count++;
      if (!loop) finish('done');
    };
    const registered: number[] = [];
    const releaseInterrupt = ctx.onInterrupt(() => finish('interrupt'));
    const timer = timeout !== undefined ? setTimeout(() => finish('timeout'), timeout * 1000) : undefined;
    let ok = false;
    try {
      for (const [i, id] of ids.entries()) {
        try {
          registered.push(await conn.domainEventRegisterAny(id as DomainEventId, onEvent, dom));
        } catch (err) {
          // As virsh: after a first success, later ids an older server does not know are skipped.
          if (i === 0) throw err;
        }
      }
      const how = await ended;
      if (how === 'interrupt') ctx.print('event loop interrupted\n');
      if (how === 'timeout') ctx.print('event loop timed out\n');
      ctx.print(`events received: ${count}\n`);
      ok = count > 0;
    } finally {
      if (timer) clearTimeout(timer);
      releaseInterrupt();
      for (const id of registered) {
        await conn.domainEventDeregisterAny(id).catch(() => {
          ok = false;
        });
      }
    }
    if (!ok) throw new ReportedError();
  },
};

/** Checked at load: one name per event id libvirt 9 defines. */
if (EVENT_NAMES.length !== DOMAIN_EVENT_ID_LAST) throw new Error('event name table out of date');

/** The event command. */
export const eventCommands: readonly CommandDef[] = [event];
