/**
 * The declarative command model of tsvirsh, after virsh's vshCmdDef / vshCmdOptDef: every
 * command is a table of options plus a handler, so parsing, `help CMD` and error texts are all
 * derived from the same description.
 */
import type { Connect } from '../public/connect';
import type { Domain } from '../public/domain';

/**
 * Option kinds. `data` is virsh's VSH_OT_DATA (a required positional argument shown as
 * `<name>` in the synopsis); `string` and `int` take a value; `bool` takes none; `argv` is
 * virsh's VSH_OT_ARGV, every remaining positional word (at most one per command, last).
 */
export type OptType = 'bool' | 'string' | 'int' | 'data' | 'argv';

/** One option of a command (virsh's vshCmdOptDef). */
export interface OptDef {
  readonly name: string;
  readonly type: OptType;
  readonly help: string;
  /** The command cannot run without it. `data` options are always required. */
  readonly required?: boolean;
  /**
   * Only accepted as `--name value`, never filled from a bare positional argument (virsh's
   * VSH_OFLAG_REQ_OPT); used for options newer than virsh 9's positional order.
   */
  readonly namedOnly?: boolean;
}

/** The help group a command is listed under by `help`. */
export type CommandGroup = 'domain' | 'monitor' | 'host' | 'virsh';

/** One command (virsh's vshCmdDef). */
export interface CommandDef {
  readonly name: string;
  readonly group: CommandGroup;
  /** One-line summary (virsh's info "help"). */
  readonly help: string;
  /** Longer description (virsh's info "desc"); omitted from `help CMD` when absent. */
  readonly desc?: string;
  readonly opts: readonly OptDef[];
  /**
   * Runs the command. Returns normally on success; throws on failure after (or instead of)
   * printing virsh's context line with `ctx.error`.
   */
  readonly handler: (ctx: CommandContext, cmd: ParsedCommand) => Promise<void>;
}

/** A command line bound to its definition. */
export interface ParsedCommand {
  readonly def: CommandDef;
  /** Option values by name: `true` for bools, the raw string otherwise. */
  readonly opts: ReadonlyMap<string, string | true>;
  /** The words of the command's `argv` option, in order (empty when it has none). */
  readonly argv: readonly string[];
}

/** What handlers may use: output, the connection and virsh's domain lookup. */
export interface CommandContext {
  /** Prints to stdout (virsh's vshPrint). */
  print(text: string): void;
  /** Prints to stdout unless --quiet (virsh's vshPrintExtra). */
  printExtra(text: string): void;
  /** Prints `error: <msg>` to stderr (virsh's vshError). */
  error(msg: string): void;
  /** True with -q / --quiet. */
  readonly quiet: boolean;
  /** Where job progress goes (stderr, as virsh). */
  readonly progressStream: NodeJS.WritableStream & { isTTY?: boolean };
  /** The open connection, opening it on first use. */
  connection(): Promise<Connect>;
  /**
   * Resolves the `domain` option as virsh does: id, then UUID, then name (each step optional
   * via `by`). Prints "failed to get domain 'X'" and throws on failure.
   */
  domain(cmd: ParsedCommand, by?: { id?: boolean; uuid?: boolean; name?: boolean }): Promise<Domain>;
  /** Runs `op`; on failure prints `error: <context>` and rethrows (the runner prints the cause). */
  attempt<T>(context: string, op: () => Promise<T>): Promise<T>;
  /** Asks the shell to stop after this command (quit / exit). */
  requestQuit(): void;
  /** Closes the connection and opens `uri` (undefined: the current one) instead (virsh's connect). */
  reconnect(uri: string | undefined, readOnly: boolean): Promise<void>;
  /** True in the interactive shell (commands read from a terminal or stdin), as virsh's cd needs. */
  readonly interactive: boolean;
  /**
   * Registers what Ctrl-C does while the current command runs (abort its job); the returned
   * function unregisters it. Without one, Ctrl-C in the shell just interrupts the prompt.
   */
  onInterrupt(handler: () => void): () => void;
  /** The console escape sequence (-e; `^]` by default). */
  readonly escapeSequence: string;
  /** Prints to stderr without the `error: ` prefix (echo --err). */
  printErr(text: string): void;
  /** All command definitions (for help). */
  readonly commands: readonly CommandDef[];
}

/** An option's value as a string, or undefined when not given. */
export function optString(cmd: ParsedCommand, name: string): string | undefined {
  const v = cmd.opts.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** True when a bool option was given. */
export function optBool(cmd: ParsedCommand, name: string): boolean {
  return cmd.opts.has(name);
}
